//! A subscription that yields decoded envelopes; a message that fails to decode yields an error
//! for that message and the stream goes on.

use futures::StreamExt;

use crate::envelope::Envelope;
use crate::error::{Error, ErrorKind, Result};
use crate::options::ReceiveOptions;
use crate::receive::smartreceive;

pub struct Subscription {
    inner: async_nats::Subscriber,
    receive: ReceiveOptions,
}

pub(crate) fn new(inner: async_nats::Subscriber, receive: ReceiveOptions) -> Subscription {
    Subscription { inner, receive }
}

impl Subscription {
    /// The next decoded envelope; `None` once the subscription or connection has closed.
    /// When the envelope's `reply_to` is empty but the NATS message has a reply subject (a plain
    /// NATS request), `reply_to` is set to that subject so `Client::reply` can answer it.
    pub async fn next(&mut self) -> Option<Result<Envelope>> {
        let msg = self.inner.next().await?;
        Some(decode_message(msg, &self.receive).await)
    }

    /// The next raw NATS message, undecoded (decode it with [`decode_message`]). Unlike
    /// [`Subscription::next`], cancelling this (a timeout) never loses a message mid-download.
    pub async fn next_message(&mut self) -> Option<async_nats::Message> {
        self.inner.next().await
    }

    /// The options messages are decoded with.
    pub fn receive_options(&self) -> &ReceiveOptions {
        &self.receive
    }

    pub async fn unsubscribe(&mut self) {
        let _ = self.inner.unsubscribe().await;
    }
}

/// Decodes a NATS message as subscriptions do: a no-responders status is `NoResponders`, and an
/// empty `reply_to` is filled from the message's reply subject.
pub async fn decode_message(msg: async_nats::Message, receive: &ReceiveOptions) -> Result<Envelope> {
    if msg.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
        return Err(Error::new(ErrorKind::NoResponders, format!("no subscriber is listening on {}", msg.subject)));
    }
    let mut env = smartreceive(&msg.payload, receive).await?;
    if env.header.reply_to.is_empty() {
        if let Some(reply) = msg.reply {
            env.header.reply_to = reply.to_string();
        }
    }
    Ok(env)
}
