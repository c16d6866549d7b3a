//! JetStream: publish with an ack and de-duplication by `msg_id`, and a durable pull consumer that
//! acks an envelope once it is completely received, naks it when a claim-check fetch fails (so it
//! is redelivered) and terminates one that can never be decoded.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures::StreamExt;

use crate::client::Client;
use crate::envelope::Envelope;
use crate::error::{Error, ErrorKind, Result};
use crate::options::{ReceiveOptions, SendOptions};
use crate::outgoing::Outgoing;
use crate::payload::Payload;
use crate::receive::smartreceive;
use crate::send::Sent;

/// The stream's answer to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAck {
    pub stream: String,
    pub sequence: u64,
    /// True when the stream already had a message with this `msg_id` (not stored again).
    pub duplicate: bool,
}

/// Who acknowledges a delivered envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// Acked as soon as it has been received completely.
    #[default]
    Auto,
    /// The caller acks (or naks) each delivery.
    Manual,
}

/// Options of a durable consumer.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Only messages on this subject (all of the stream's when `None`).
    pub filter_subject: Option<String>,
    pub ack_mode: AckMode,
    /// How long the server waits for an ack before redelivering.
    pub ack_wait: Duration,
    /// Delay asked for when a claim-check download fails.
    pub nak_delay: Duration,
    /// Deliveries before the server gives up on a message (-1: unlimited).
    pub max_deliver: i64,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            filter_subject: None,
            ack_mode: AckMode::Auto,
            ack_wait: Duration::from_secs(30),
            nak_delay: Duration::from_secs(1),
            max_deliver: -1,
        }
    }
}

fn js_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::JetStream, format!("{what}: {e}"))
}

impl Client {
    /// The JetStream context of this connection.
    pub fn jetstream(&self) -> jetstream::Context {
        jetstream::new(self.nats().clone())
    }

    /// Creates the stream `name` over `subjects` unless it exists.
    pub async fn ensure_stream(&self, name: &str, subjects: Vec<String>) -> Result<()> {
        self.jetstream()
            .get_or_create_stream(jetstream::stream::Config { name: name.to_owned(), subjects, ..Default::default() })
            .await
            .map_err(|e| js_error(&format!("cannot create stream {name:?}"), e))?;
        Ok(())
    }

    /// Builds the envelope and publishes it to JetStream with `Nats-Msg-Id` = `msg_id`, waiting
    /// for the stream's ack.
    pub async fn jetstream_publish(
        &self,
        subject: &str,
        payloads: Vec<Payload>,
        opts: &SendOptions,
    ) -> Result<(Sent, PublishAck)> {
        let mut sent = self.build(subject, payloads, opts).await?;
        let (json, ack) = self.jetstream_publish_owned(subject, &sent.envelope.header.msg_id, sent.json).await?;
        sent.json = json;
        Ok((sent, ack))
    }

    /// Publishes envelope JSON to JetStream (again, say, after a lost ack: the stream de-duplicates it).
    pub async fn jetstream_publish_json(&self, subject: &str, msg_id: &str, json: &str) -> Result<PublishAck> {
        Ok(self.jetstream_publish_owned(subject, msg_id, json.to_owned()).await?.1)
    }

    /// `jetstream_publish_json` for JSON the caller owns: published without a copy, and handed back.
    async fn jetstream_publish_owned(&self, subject: &str, msg_id: &str, json: String) -> Result<(String, PublishAck)> {
        let out = Outgoing::new(json);
        let publish = jetstream::message::PublishMessage::build().payload(out.payload()).message_id(msg_id);
        let ack = self
            .jetstream()
            .send_publish(subject.to_owned(), publish)
            .await
            .map_err(|e| js_error("JetStream publish failed", e))?
            .await
            .map_err(|e| js_error("JetStream publish was not acknowledged", e))?;
        Ok((out.into_string(), PublishAck { stream: ack.stream, sequence: ack.sequence, duplicate: ack.duplicate }))
    }

    /// A durable pull consumer `durable` on `stream` (created unless it exists).
    pub async fn jetstream_consumer(
        &self,
        stream: &str,
        durable: &str,
        receive: ReceiveOptions,
        opts: ConsumerOptions,
    ) -> Result<JetStreamConsumer> {
        let js = self.jetstream();
        let stream_handle =
            js.get_stream(stream).await.map_err(|e| js_error(&format!("cannot find stream {stream:?}"), e))?;
        let consumer: jetstream::consumer::PullConsumer = stream_handle
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    filter_subject: opts.filter_subject.clone().unwrap_or_default(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: opts.ack_wait,
                    max_deliver: opts.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| js_error(&format!("cannot create consumer {durable:?}"), e))?;
        let messages = consumer.messages().await.map_err(|e| js_error("cannot start consuming", e))?;
        Ok(JetStreamConsumer { messages, receive, opts })
    }
}

/// A durable pull consumer that yields decoded envelopes.
pub struct JetStreamConsumer {
    messages: pull::Stream,
    receive: ReceiveOptions,
    opts: ConsumerOptions,
}

/// A delivered envelope. In [`AckMode::Auto`] it has been acked already.
pub struct JsDelivery {
    pub envelope: Envelope,
    /// How many times the server has delivered this message (1 on the first delivery).
    pub delivered: i64,
    message: jetstream::Message,
    acked: bool,
}

impl JsDelivery {
    pub async fn ack(&mut self) -> Result<()> {
        if !self.acked {
            self.message.ack().await.map_err(|e| js_error("ack failed", e))?;
            self.acked = true;
        }
        Ok(())
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(&mut self, delay: Option<Duration>) -> Result<()> {
        if self.acked {
            return Err(Error::argument("this delivery has been acked already"));
        }
        self.message.ack_with(AckKind::Nak(delay)).await.map_err(|e| js_error("nak failed", e))?;
        self.acked = true;
        Ok(())
    }
}

/// Whether a failed receive may succeed on redelivery (a store that was down) or never will.
fn is_transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::DownloadFailed | ErrorKind::Handler | ErrorKind::Io | ErrorKind::Timeout | ErrorKind::Connection
    )
}

impl JetStreamConsumer {
    /// The next delivery, waiting at most `timeout` (forever when `None`). `Ok(None)` on timeout.
    /// A message whose link payload cannot be fetched now is naked (redelivered after
    /// `nak_delay`) and its error returned; one that can never decode is terminated.
    pub async fn next(&mut self, timeout: Option<Duration>) -> Result<Option<JsDelivery>> {
        let next = match timeout {
            Some(t) => match tokio::time::timeout(t, self.messages.next()).await {
                Ok(n) => n,
                Err(_) => return Ok(None),
            },
            None => self.messages.next().await,
        };
        let message = match next {
            None => return Err(Error::new(ErrorKind::Closed, "the consumer's message stream ended")),
            Some(m) => m.map_err(|e| js_error("receiving from the consumer failed", e))?,
        };
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        match smartreceive(&message.payload, &self.receive).await {
            Ok(envelope) => {
                let mut d = JsDelivery { envelope, delivered, message, acked: false };
                if self.opts.ack_mode == AckMode::Auto {
                    d.ack().await?;
                }
                Ok(Some(d))
            }
            Err(e) => {
                let kind = if is_transient(e.kind()) { AckKind::Nak(Some(self.opts.nak_delay)) } else { AckKind::Term };
                message.ack_with(kind).await.map_err(|e| js_error("nak/term failed", e))?;
                Err(e)
            }
        }
    }
}
