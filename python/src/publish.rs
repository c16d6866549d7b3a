//! `smartsend` with publishing: the envelope comes back to the host as soon as the connection
//! has it, and the flush runs alongside. The host converts the envelope to Python (two copies of
//! several hundred kB for large payloads) while the connection writes it, then waits for the flush
//! (`Outcome.flushed`), so the call still returns only once the envelope has left.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use natsbridge::{Client, Error, ErrorKind, Payload, SendOptions, SentEnvelope};

/// The envelope JSON, shared by the message being written and the call's result.
struct SharedJson(Arc<String>);

impl AsRef<[u8]> for SharedJson {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The flush of a publish, already requested from the connection (polled once).
pub(crate) type Flush = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Builds the envelope as `Client::smartsend` does (within the connection's `max_payload`),
/// publishes it without a copy and asks for the flush without waiting for it.
pub(crate) async fn publish(
    client: &Client,
    subject: &str,
    payloads: Vec<Payload>,
    opts: &SendOptions,
) -> Result<(SentEnvelope, Arc<String>, Option<Flush>), Error> {
    let limit = client.max_payload();
    let build = SendOptions {
        is_publish: false,
        max_payload: Some(opts.max_payload.map_or(limit, |m| m.min(limit))),
        ..opts.clone()
    };
    let sent = natsbridge::smartsend(subject, payloads, &build).await?;
    let json = Arc::new(sent.json);
    client
        .nats()
        .publish(subject.to_owned(), Bytes::from_owner(SharedJson(json.clone())))
        .await
        .map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
    let flusher = client.clone();
    let mut flush: Flush = Box::pin(async move { flusher.flush().await });
    // The first poll queues the flush right behind the message; `flushed` polls it again later.
    let pending = match (&mut flush).now_or_never() {
        None => Some(flush),
        Some(done) => done.map(|()| None)?,
    };
    Ok((sent.envelope, json, pending))
}

/// Waits for a flush asked for by [`publish`].
pub(crate) async fn flushed(flush: Option<Flush>) -> Result<(), Error> {
    match flush {
        Some(f) => f.await,
        None => Ok(()),
    }
}
