//! `smartsend` with publishing: the envelope comes back to the host as soon as the connection
//! has it, and the flush runs alongside. The host converts the envelope to Python (two copies of
//! several hundred kB for large payloads) while the connection writes it, then waits for the flush
//! (`Outcome.flushed`), so the call still returns only once the envelope has left.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use natsbridge::{Client, Error, Payload, SendOptions, SentEnvelope};

/// The flush of a publish, already requested from the connection (polled once).
pub(crate) type Flush = BoxFuture<'static, Result<(), Error>>;

/// Builds and publishes the envelope (`Client::smartsend_unflushed`) and asks for the flush
/// without waiting for it.
pub(crate) async fn publish(
    client: &Client,
    subject: &str,
    payloads: Vec<Payload>,
    opts: &SendOptions,
) -> Result<(SentEnvelope, Arc<String>, Option<Flush>), Error> {
    let (envelope, json, mut flush) = client.smartsend_unflushed(subject, payloads, opts).await?;
    // The first poll queues the flush right behind the message; `flushed` polls it again later.
    let pending = match (&mut flush).now_or_never() {
        None => Some(flush),
        Some(done) => done.map(|()| None)?,
    };
    Ok((envelope, json, pending))
}

/// Waits for a flush asked for by [`publish`].
pub(crate) async fn flushed(flush: Option<Flush>) -> Result<(), Error> {
    match flush {
        Some(f) => f.await,
        None => Ok(()),
    }
}
