//! # NATSBridge
//!
//! Typed multi-payload messaging over NATS. One call sends several named payloads (text, JSON
//! dictionaries, Arrow tables, images, audio, video, binary); small ones travel base64 inside the
//! envelope, large ones go through a claim-check store and only their URL travels. The receiver
//! gets native values back. The wire format is envelope v1 (`docs/wire-format.md`), shared by every
//! language this engine serves.
//!
//! ```no_run
//! # async fn demo() -> natsbridge::Result<()> {
//! use natsbridge::{Client, ConnectOptions, Payload, ReceiveOptions, SendOptions};
//! let client = Client::connect(ConnectOptions::new("nats://127.0.0.1:4222")).await?;
//! let mut sub = client.subscribe("chat.room1", ReceiveOptions::default()).await?;
//! client
//!     .smartsend("chat.room1", vec![Payload::text("message", "Hello!")], &SendOptions::default())
//!     .await?;
//! let env = sub.next().await.expect("subscribed")?;
//! println!("{:?}", env.payloads[0].value);
//! # Ok(()) }
//! ```

pub mod b64;
mod client;
mod codec;
mod envelope;
mod error;
mod inbox;
mod jetstream;
mod options;
mod outgoing;
pub mod parked;
mod payload;
mod receive;
mod scan;
mod send;
pub mod store;
mod subscription;
mod table;

pub use client::{smartsend, Client};
pub use envelope::{timestamp_now, Envelope, Header, ReceivedPayload, SentData, SentEnvelope, SentPayload, Transport};
pub use error::{Error, ErrorKind, Result};
pub use jetstream::{AckMode, ConsumerOptions, JetStreamConsumer, JsDelivery, PublishAck};
pub use options::{
    ConnectOptions, ReceiveOptions, SendOptions, DEFAULT_BROKER_URL, DEFAULT_FILESERVER_URL, DEFAULT_MAX_IN_MEMORY,
    DEFAULT_MAX_PAYLOAD, DEFAULT_SIZE_THRESHOLD,
};
pub use payload::{Payload, PayloadType, Value};
pub use receive::smartreceive;
pub use send::Sent;
pub use subscription::{decode_message, Subscription};
pub use table::Table;

/// Re-exported so users build tables with the same Arrow version as the engine.
pub use arrow_array;
pub use arrow_schema;
/// Re-exported for users who need the raw NATS client.
pub use async_nats;
pub use bytes::Bytes;
