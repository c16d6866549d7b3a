//! `Bridge`: one NATS connection with smartsend, request-reply, subscriptions and JetStream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use natsbridge::{Client, Envelope, ErrorKind, Header};
use tokio::sync::{watch, Mutex};

use crate::error::{argument, err, guard};
use crate::options::{receive_config, ConnectOptions, ConsumerOptions, ReceiveOptions, SendOptions};
use crate::receive::{envelope_out, EnvelopeOut, ReceiveConfig};
use crate::send::{payloads, sent_out, PayloadsIn, SentOut};

/// A connection to NATS that speaks NATSBridge. Close it with `close()`; the process then exits
/// normally once nothing else is pending.
#[napi]
pub struct Bridge {
    client: Client,
    closed: Arc<AtomicBool>,
}

/// The stream's answer to a JetStream publish.
#[napi(object, object_from_js = false)]
pub struct PublishAck {
    pub stream: String,
    pub sequence: f64,
    /// True when the stream already held a message with this `msg_id` (not stored again).
    pub duplicate: bool,
}

/// A JetStream publish on its way to JS.
pub struct PublishedOut {
    pub sent: SentOut,
    pub ack: PublishAck,
}

crate::js::to_js_object!(PublishedOut { sent: "sent", ack: "ack" });

#[napi]
impl Bridge {
    /// Connects to NATS.
    #[napi(ts_args_type = "options?: ConnectOptions | string | string[]", ts_return_type = "Promise<Bridge>")]
    pub async fn connect(options: Option<ConnectOptions>) -> Result<Bridge> {
        guard(async move {
            let opts = match options {
                Some(o) => o.into_engine()?,
                None => ConnectOptions::default_engine(),
            };
            Ok(Bridge { client: Client::connect(opts).await?, closed: Arc::new(AtomicBool::new(false)) })
        })
        .await
    }

    /// The server URL(s) this bridge was made for.
    #[napi(getter, catch_unwind)]
    pub fn broker_url(&self) -> String {
        self.client.broker_url().to_owned()
    }

    /// The largest message the server accepts, in bytes.
    #[napi(getter, catch_unwind)]
    pub fn max_payload(&self) -> u32 {
        u32::try_from(self.client.max_payload()).unwrap_or(u32::MAX)
    }

    /// `smartsend` through this connection (`broker_url` defaults to the bridge's).
    #[napi(
        ts_args_type = "subject: string, data: readonly PayloadItem[], options?: SendOptions",
        ts_return_type = "Promise<[SentEnvelope, string]>"
    )]
    pub async fn smartsend(&self, subject: String, data: PayloadsIn, options: Option<SendOptions>) -> Result<SentOut> {
        let client = self.open()?;
        guard(async move {
            let opts = send_options(options, &client)?;
            let sent = client.smartsend(&subject, payloads(data)?, &opts).await?;
            sent_out(sent, false)
        })
        .await
    }

    /// Sends with `reply_to` set to a fresh inbox and resolves to the decoded reply. `timeout` is
    /// in milliseconds (default 10000); no reply in time rejects with code `Timeout`, no
    /// subscriber at all with `NoResponders`.
    #[napi(
        ts_args_type = "subject: string, data: readonly PayloadItem[], options?: RequestOptions",
        ts_return_type = "Promise<ReceivedEnvelope>"
    )]
    pub fn smartrequest<'env>(
        &self,
        env: &'env Env,
        subject: String,
        data: PayloadsIn,
        send: Option<SendOptions>,
        receive: Option<ReceiveOptions>,
        timeout: Option<f64>,
    ) -> Result<Either<EnvelopeOut, Object<'env>>> {
        // A small request is built and queued on the JS thread (the first poll below); only the
        // wait for the reply and its decoding run on the runtime.
        let small = crate::inline::fits(&data);
        let client = self.open()?;
        crate::deadline::note_request();
        let fut = guard(async move {
            let timeout = match timeout {
                Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t / 1000.0),
                Some(t) => return Err(argument(format!("timeout must be a positive number of milliseconds, got {t}"))),
                None => Duration::from_secs(10),
            };
            let config = receive_config(receive)?;
            let opts = send_options(send, &client)?;
            // The engine's request: one shared reply subscription, reply_to and the NATS reply
            // subject both set. JS download handlers see no correlation id here (none is known
            // before the reply arrives).
            let env = client.smartrequest(&subject, payloads(data)?, &opts, &config.options(), timeout).await?;
            crate::receive::envelope_out(env, config.table_format)
        });
        crate::inline::run(env, small, fut)
    }

    /// Answers a received envelope: sends to its `reply_to` with `reply_to_msg_id` set to its
    /// `msg_id` and the same `correlation_id`.
    #[napi(
        ts_args_type = "env: ReceivedEnvelope | Pick<EnvelopeHeader, 'reply_to' | 'msg_id' | 'correlation_id'>, data: readonly PayloadItem[], options?: SendOptions",
        ts_return_type = "Promise<[SentEnvelope, string]>"
    )]
    pub fn reply<'env>(
        &self,
        env: &'env Env,
        reply_to: String,
        msg_id: Option<String>,
        correlation_id: Option<String>,
        data: PayloadsIn,
        options: Option<SendOptions>,
    ) -> Result<Either<SentOut, Object<'env>>> {
        // The JS layer passes the three fields of the envelope as separate arguments: no property
        // to look up here. A responder's answer is usually small: built and queued on the
        // connection right here, without first waking a runtime thread to do it (the JS layer
        // awaits either result).
        let small = crate::inline::fits(&data);
        let client = self.open()?;
        let fut = guard(async move {
            let to = Envelope {
                header: Header {
                    reply_to,
                    msg_id: msg_id.unwrap_or_default(),
                    correlation_id: correlation_id.unwrap_or_default(),
                    ..Default::default()
                },
                payloads: Vec::new(),
            };
            let opts = send_options(options, &client)?;
            sent_out(client.reply(&to, payloads(data)?, &opts).await?, false)
        });
        crate::inline::run(env, small, fut)
    }

    /// Subscribes to `subject` (as a member of queue group `queue` when given). The subscription
    /// is an async iterable of decoded envelopes.
    #[napi(ts_args_type = "subject: string, options?: SubscribeOptions", ts_return_type = "Promise<Subscription>")]
    pub async fn subscribe(
        &self,
        subject: String,
        options: Option<ReceiveOptions>,
        queue: Option<String>,
    ) -> Result<Subscription> {
        let client = self.open()?;
        guard(async move {
            let config = receive_config(options)?;
            let sub = match &queue {
                Some(q) => client.queue_subscribe(&subject, q, Default::default()).await?,
                None => client.subscribe(&subject, Default::default()).await?,
            };
            let (closed, _) = watch::channel(false);
            Ok(Subscription { inner: Arc::new(Mutex::new(sub)), config: Arc::new(config), closed, subject })
        })
        .await
    }

    /// Creates the JetStream stream `name` over `subjects` unless it exists.
    #[napi]
    pub async fn ensure_stream(&self, name: String, subjects: Vec<String>) -> Result<()> {
        let client = self.open()?;
        guard(async move { client.ensure_stream(&name, subjects).await }).await
    }

    /// Builds the envelope and publishes it to JetStream with `Nats-Msg-Id` = `msg_id` (a second
    /// publish of the same `msg_id` is not stored twice), waiting for the stream's ack.
    #[napi(
        ts_args_type = "subject: string, data: readonly PayloadItem[], options?: SendOptions",
        ts_return_type = "Promise<[SentEnvelope, string, PublishAck]>"
    )]
    pub async fn jetstream_publish(
        &self,
        subject: String,
        data: PayloadsIn,
        options: Option<SendOptions>,
    ) -> Result<PublishedOut> {
        let client = self.open()?;
        guard(async move {
            let opts = send_options(options, &client)?;
            let (sent, ack) = client.jetstream_publish(&subject, payloads(data)?, &opts).await?;
            Ok(PublishedOut {
                sent: sent_out(sent, false)?,
                ack: PublishAck { stream: ack.stream, sequence: ack.sequence as f64, duplicate: ack.duplicate },
            })
        })
        .await
    }

    /// A durable pull consumer `durable` on `stream` (created unless it exists).
    #[napi(
        ts_args_type = "stream: string, durable: string, options?: ReceiveOptions & ConsumerOptions",
        ts_return_type = "Promise<JetStreamConsumer>"
    )]
    pub async fn jetstream_consumer(
        &self,
        stream: String,
        durable: String,
        receive: Option<ReceiveOptions>,
        consumer: Option<ConsumerOptions>,
    ) -> Result<JetStreamConsumer> {
        let client = self.open()?;
        guard(async move {
            let config = receive_config(receive)?;
            let copts = match consumer {
                Some(c) => c.into_engine()?,
                None => Default::default(),
            };
            let inner = client.jetstream_consumer(&stream, &durable, config.options(), copts).await?;
            let (closed, _) = watch::channel(false);
            Ok(JetStreamConsumer { inner: Arc::new(Mutex::new(Some(inner))), config: Arc::new(config), closed })
        })
        .await
    }

    /// Waits until everything published so far has reached the server.
    #[napi]
    pub async fn flush(&self) -> Result<()> {
        let client = self.open()?;
        guard(async move { client.flush().await }).await
    }

    /// Drains and closes the connection; subscriptions end. Closing twice is fine.
    #[napi]
    pub async fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let client = self.client.clone();
        guard(async move { client.close().await }).await
    }

    /// Whether `close()` has been called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Bridge {
    /// The client, unless the bridge has been closed.
    fn open(&self) -> Result<Client> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(crate::error::to_napi(err(ErrorKind::Closed, "this Bridge has been closed")));
        }
        Ok(self.client.clone())
    }
}

fn send_options(options: Option<SendOptions>, client: &Client) -> natsbridge::Result<natsbridge::SendOptions> {
    match options {
        Some(o) => o.into_engine(Some(client.broker_url())),
        None => Ok(natsbridge::SendOptions { broker_url: client.broker_url().to_owned(), ..Default::default() }),
    }
}

/// A raw NATS message, undecoded (`smartreceive` takes it).
#[napi(object, object_from_js = false)]
pub struct RawMessage {
    pub subject: String,
    pub reply: Option<String>,
    pub data: Buffer,
}

/// Messages on a subject, decoded. Async iterable; `next()` resolves to `null` once it is closed.
#[napi]
pub struct Subscription {
    inner: Arc<Mutex<natsbridge::Subscription>>,
    config: Arc<ReceiveConfig>,
    closed: watch::Sender<bool>,
    subject: String,
}

/// Waits for `fut` unless `closed` turns true first.
async fn unless_closed<T>(closed: &watch::Sender<bool>, fut: impl std::future::Future<Output = T>) -> Option<T> {
    let mut rx = closed.subscribe();
    if *rx.borrow() {
        return None;
    }
    tokio::select! {
        v = fut => Some(v),
        _ = rx.wait_for(|c| *c) => None,
    }
}

#[napi]
impl Subscription {
    /// The subject subscribed to.
    #[napi(getter, catch_unwind)]
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    /// The next decoded envelope, or `null` once the subscription or its connection has closed.
    /// A message that cannot be decoded rejects this call only; the subscription goes on.
    #[napi(ts_return_type = "Promise<ReceivedEnvelope | null>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<Either<Option<EnvelopeOut>, Object<'env>>> {
        let (inner, config, closed) = (self.inner.clone(), self.config.clone(), self.closed.clone());
        // Polled here first: a message already waiting, when small, is decoded on the JS thread
        // with no round trip through the runtime; otherwise the wait costs no task until the
        // message arrives (see `inline`).
        let fut = guard(async move {
            let mut sub = inner.lock().await;
            let msg = match unless_closed(&closed, sub.next_message()).await.flatten() {
                Some(m) => m,
                None => return Ok(None),
            };
            drop(sub);
            if msg.payload.len() > crate::inline::INLINE_MAX {
                // Decoding a large message would hold up the JS thread: on to the runtime.
                tokio::task::yield_now().await;
            }
            config.decode_message(msg).await.map(Some)
        });
        crate::inline::run(env, true, fut)
    }

    /// The next raw message (undecoded), or `null` once closed.
    #[napi(ts_return_type = "Promise<RawMessage | null>")]
    pub async fn next_message(&self) -> Result<Option<RawMessage>> {
        let (inner, closed) = (self.inner.clone(), self.closed.clone());
        guard(async move {
            let mut sub = inner.lock().await;
            Ok(unless_closed(&closed, sub.next_message()).await.flatten().map(|m| RawMessage {
                subject: m.subject.to_string(),
                reply: m.reply.map(|r| r.to_string()),
                data: Buffer::from(m.payload.to_vec()),
            }))
        })
        .await
    }

    /// Stops the subscription; pending and later `next()` calls resolve to `null`.
    #[napi]
    pub async fn unsubscribe(&self) -> Result<()> {
        let (inner, closed) = (self.inner.clone(), self.closed.clone());
        guard(async move {
            closed.send_replace(true);
            inner.lock().await.unsubscribe().await;
            Ok(())
        })
        .await
    }
}

/// A durable JetStream consumer. Async iterable over deliveries.
#[napi]
pub struct JetStreamConsumer {
    inner: Arc<Mutex<Option<natsbridge::JetStreamConsumer>>>,
    config: Arc<ReceiveConfig>,
    closed: watch::Sender<bool>,
}

/// A delivery on its way to JS.
pub struct DeliveryOut {
    pub envelope: EnvelopeOut,
    pub delivered: f64,
    pub handle: Delivery,
}

crate::js::to_js_object!(DeliveryOut { envelope: "envelope", delivered: "delivered", handle: "handle" });

#[napi]
impl JetStreamConsumer {
    /// The next delivery, waiting at most `timeout` milliseconds (forever when omitted);
    /// `null` on timeout or once stopped. A message whose link payload cannot be fetched now is
    /// naked (redelivered later) and rejects this call; one that can never decode is terminated.
    #[napi(ts_args_type = "timeout?: number", ts_return_type = "Promise<Delivery | null>")]
    pub async fn next(&self, timeout: Option<f64>) -> Result<Option<DeliveryOut>> {
        let (inner, config, closed) = (self.inner.clone(), self.config.clone(), self.closed.clone());
        guard(async move {
            let timeout = match timeout {
                Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t / 1000.0)),
                Some(t) => {
                    return Err(argument(format!("timeout must be a non-negative number of milliseconds, got {t}")))
                }
                None => None,
            };
            let mut guard = inner.lock().await;
            let Some(consumer) = guard.as_mut() else { return Ok(None) };
            let delivery = match unless_closed(&closed, consumer.next(timeout)).await {
                None => return Ok(None),
                // The connection closed: the end of the deliveries, as for a subscription.
                Some(Err(e)) if e.kind() == ErrorKind::Closed => return Ok(None),
                Some(d) => d?,
            };
            drop(guard);
            let Some(mut d) = delivery else { return Ok(None) };
            let envelope = std::mem::replace(&mut d.envelope, Envelope { header: Header::default(), payloads: vec![] });
            Ok(Some(DeliveryOut {
                envelope: envelope_out(envelope, config.table_format)?,
                delivered: d.delivered as f64,
                handle: Delivery { inner: Arc::new(Mutex::new(d)) },
            }))
        })
        .await
    }

    /// Stops consuming (messages not yet delivered stay in the stream for the next consumer of
    /// this name); pending and later `next()` calls resolve to `null`.
    #[napi(catch_unwind)]
    pub fn stop(&self) {
        self.closed.send_replace(true);
        let inner = self.inner.clone();
        napi::bindgen_prelude::spawn(async move {
            inner.lock().await.take();
        });
    }
}

/// A delivered envelope. With `ack_mode: 'auto'` it has been acked already.
#[napi]
pub struct Delivery {
    inner: Arc<Mutex<natsbridge::JsDelivery>>,
}

#[napi]
impl Delivery {
    /// Acknowledges the delivery (nothing happens when it is acked already).
    #[napi]
    pub async fn ack(&self) -> Result<()> {
        let inner = self.inner.clone();
        guard(async move { inner.lock().await.ack().await }).await
    }

    /// Asks for redelivery, after `delay` milliseconds when given.
    #[napi(ts_args_type = "delay?: number")]
    pub async fn nak(&self, delay: Option<f64>) -> Result<()> {
        let inner = self.inner.clone();
        guard(async move {
            let delay = match delay {
                Some(d) if d.is_finite() && d >= 0.0 => Some(Duration::from_secs_f64(d / 1000.0)),
                Some(d) => {
                    return Err(argument(format!("delay must be a non-negative number of milliseconds, got {d}")))
                }
                None => None,
            };
            inner.lock().await.nak(delay).await
        })
        .await
    }
}
