//! A NATS connection that speaks NATSBridge: smartsend, request-reply, subscriptions. Connections
//! made for a bare `broker_url` are kept and reused, so repeated calls do not reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::ServerAddr;
use bytes::Bytes;
use futures::future::BoxFuture;

use crate::envelope::{Envelope, Header, SentEnvelope};
use crate::error::{Error, ErrorKind, Result};
use crate::inbox::Inbox;
use crate::options::{ConnectOptions, ReceiveOptions, SendOptions, DEFAULT_MAX_PAYLOAD};
use crate::outgoing::Outgoing;
use crate::payload::Payload;
use crate::send::{self, Sent};
use crate::subscription::{self, Subscription};

/// A connection to NATS. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    nats: async_nats::Client,
    broker_url: String,
    inbox: Arc<tokio::sync::OnceCell<Inbox>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("broker_url", &self.broker_url).finish_non_exhaustive()
    }
}

impl Client {
    /// Connects with the given options.
    pub async fn connect(opts: ConnectOptions) -> Result<Client> {
        let servers: Vec<ServerAddr> = opts
            .servers
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<ServerAddr>().map_err(|e| Error::argument(format!("invalid server URL {s:?}: {e}"))))
            .collect::<Result<_>>()?;
        if servers.is_empty() {
            return Err(Error::argument("no NATS server URL given"));
        }
        let mut o = async_nats::ConnectOptions::new()
            .connection_timeout(opts.connect_timeout)
            .max_reconnects(opts.max_reconnects)
            .require_tls(opts.tls_required);
        if let Some(name) = &opts.name {
            o = o.name(name);
        }
        if let Some(token) = &opts.token {
            o = o.token(token.clone());
        }
        match (&opts.user, &opts.password) {
            (Some(u), Some(p)) => o = o.user_and_password(u.clone(), p.clone()),
            (None, None) => {}
            _ => return Err(Error::argument("user and password must be given together")),
        }
        if let Some(seed) = &opts.nkey_seed {
            o = o.nkey(seed.clone());
        }
        if let Some(creds) = &opts.creds_file {
            o = o
                .credentials_file(creds)
                .await
                .map_err(|e| Error::argument(format!("cannot use credentials file {}: {e}", creds.display())))?;
        }
        if let Some(ca) = &opts.tls_ca {
            o = o.add_root_certificates(ca.clone());
        }
        match (&opts.tls_cert, &opts.tls_key) {
            (Some(c), Some(k)) => o = o.add_client_certificate(c.clone(), k.clone()),
            (None, None) => {}
            _ => return Err(Error::argument("tls_cert and tls_key must be given together")),
        }
        if opts.retry_on_initial_connect {
            o = o.retry_on_initial_connect();
        }
        let broker_url = opts.servers.join(",");
        let nats = o
            .connect(servers)
            .await
            .map_err(|e| Error::new(ErrorKind::Connection, format!("cannot connect to NATS at {broker_url}: {e}")))?;
        Ok(Client { nats, broker_url, inbox: Arc::default() })
    }

    /// The connection for `broker_url`, made once and then reused by every call in this process.
    pub async fn shared(broker_url: &str) -> Result<Client> {
        if let Some(c) = cache().lock().expect("cache lock").get(broker_url).and_then(CachedClient::live) {
            return Ok(c);
        }
        let client = Client::connect(ConnectOptions::new(broker_url)).await?;
        let (alive_tx, alive_rx) = tokio::sync::oneshot::channel::<()>();
        // Dropped with the runtime that drives this connection: a cached client is only reused
        // while that runtime is alive.
        tokio::spawn(async move {
            let _alive = alive_tx;
            futures::future::pending::<()>().await
        });
        cache().lock().expect("cache lock").insert(
            broker_url.to_owned(),
            CachedClient { client: client.clone(), alive: alive_rx, pid: std::process::id() },
        );
        Ok(client)
    }

    /// The underlying async-nats client.
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// The server URL(s) this client was made for.
    pub fn broker_url(&self) -> &str {
        &self.broker_url
    }

    /// The largest message the server accepts.
    pub fn max_payload(&self) -> usize {
        // An atomic read: `server_info()` clones the whole INFO, a visible cost per small message.
        match self.nats.max_payload() {
            0 => DEFAULT_MAX_PAYLOAD,
            n => n,
        }
    }

    /// Builds the envelope (uploading link payloads) and, when `opts.is_publish`, publishes it.
    pub async fn smartsend(&self, subject: &str, payloads: Vec<Payload>, opts: &SendOptions) -> Result<Sent> {
        let mut sent = self.build(subject, payloads, opts).await?;
        if opts.is_publish {
            sent.json = self.publish_owned(subject, sent.json, None).await?;
        }
        Ok(sent)
    }

    /// `smartsend` that returns as soon as the connection has the envelope, with its flush still
    /// to await and the JSON shared with the message being written: a binding converts the
    /// result for its language while the envelope goes out. Always publishes.
    pub async fn smartsend_unflushed(
        &self,
        subject: &str,
        payloads: Vec<Payload>,
        opts: &SendOptions,
    ) -> Result<(SentEnvelope, Arc<String>, BoxFuture<'static, Result<()>>)> {
        let sent = self.build(subject, payloads, opts).await?;
        let out = Outgoing::new(sent.json);
        self.nats
            .publish(subject.to_owned(), out.payload())
            .await
            .map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
        let client = self.clone();
        Ok((sent.envelope, out.shared(), Box::pin(async move { client.flush().await })))
    }

    pub(crate) async fn build(&self, subject: &str, payloads: Vec<Payload>, opts: &SendOptions) -> Result<Sent> {
        check_subject(subject)?;
        self.build_with(send::header(subject, opts), payloads, opts).await
    }

    /// `build` with a header the caller has adjusted (a request's or reply's fields).
    async fn build_with(&self, header: Header, payloads: Vec<Payload>, opts: &SendOptions) -> Result<Sent> {
        let server = self.max_payload();
        let max_payload = opts.max_payload.map_or(server, |m| m.min(server));
        send::build(header, payloads, opts, max_payload).await
    }

    /// Publishes envelope JSON (with an optional NATS reply subject) and flushes it.
    pub async fn publish_json(&self, subject: &str, json: &str, reply: Option<String>) -> Result<()> {
        self.publish_owned(subject, json.to_owned(), reply).await.map(drop)
    }

    /// `publish_json` for JSON the caller owns: published without a copy, and handed back.
    async fn publish_owned(&self, subject: &str, json: String, reply: Option<String>) -> Result<String> {
        let out = Outgoing::new(json);
        let subject = subject.to_owned();
        let result = match reply {
            Some(r) => self.nats.publish_with_reply(subject, r, out.payload()).await,
            None => self.nats.publish(subject, out.payload()).await,
        };
        result.map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
        self.flush().await?;
        Ok(out.into_string())
    }

    /// Waits until the server has processed everything this client sent so far (subscriptions
    /// included): a message to our own reply inbox comes back only after the server has handled
    /// every earlier command of this connection. A plain flush only empties the socket.
    pub async fn sync_with_server(&self) -> Result<()> {
        let inbox = self.inbox().await?;
        let mut probe = inbox.register();
        self.nats
            .publish(probe.subject.clone(), Bytes::new())
            .await
            .map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
        tokio::time::timeout(Duration::from_secs(10), probe.wait())
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, "the server did not answer within 10 s"))?
            .ok_or_else(|| Error::new(ErrorKind::Closed, "the connection closed"))?;
        Ok(())
    }

    /// The reply inbox, subscribed on first use (boxed: that code stays out of each request's).
    async fn inbox(&self) -> Result<&Inbox> {
        match self.inbox.get() {
            Some(inbox) => Ok(inbox),
            None => Box::pin(self.inbox.get_or_try_init(|| Inbox::start(&self.nats))).await,
        }
    }

    /// Waits until everything published so far has reached the server.
    pub async fn flush(&self) -> Result<()> {
        self.nats.flush().await.map_err(|e| Error::new(ErrorKind::Connection, format!("flush failed: {e}")))
    }

    /// Sends `payloads` with `reply_to` set to a fresh inbox and waits up to `timeout` for the
    /// decoded reply. The NATS reply subject is set too, so plain NATS responders can answer.
    pub async fn smartrequest(
        &self,
        subject: &str,
        payloads: Vec<Payload>,
        opts: &SendOptions,
        receive: &ReceiveOptions,
        timeout: Duration,
    ) -> Result<Envelope> {
        check_subject(subject)?;
        let inbox = self.inbox().await?;
        let mut pending = inbox.register();
        let header = Header { reply_to: pending.subject.clone(), ..send::header(subject, opts) };
        let sent = self.build_with(header, payloads, opts).await?;
        let reply_to = sent.envelope.header.reply_to;
        self.nats
            .publish_with_reply(subject.to_owned(), reply_to, Bytes::from(sent.json.into_bytes()))
            .await
            .map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
        let timed_out =
            || Error::new(ErrorKind::Timeout, format!("no reply on {subject:?} within {} ms", timeout.as_millis()));
        let msg = tokio::time::timeout(timeout, pending.wait())
            .await
            .map_err(|_| timed_out())?
            .ok_or_else(|| Error::new(ErrorKind::Closed, "the connection closed while waiting for a reply"))?;
        subscription::decode_message(msg, receive).await
    }

    /// Answers a received envelope: sends to its `reply_to` with `reply_to_msg_id` set to its
    /// `msg_id` and the same `correlation_id`.
    pub async fn reply(&self, to: &Envelope, payloads: Vec<Payload>, opts: &SendOptions) -> Result<Sent> {
        if to.header.reply_to.is_empty() {
            return Err(Error::argument("the envelope has no reply_to to answer"));
        }
        check_subject(&to.header.reply_to)?;
        let header = Header {
            reply_to_msg_id: to.header.msg_id.clone(),
            correlation_id: to.header.correlation_id.clone(),
            ..send::header(&to.header.reply_to, opts)
        };
        let sent = self.build_with(header, payloads, opts).await?;
        if opts.is_publish {
            // No flush: the requester is waiting, and the connection writes it out at once.
            self.nats
                .publish(to.header.reply_to.clone(), Bytes::copy_from_slice(sent.json.as_bytes()))
                .await
                .map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
        }
        Ok(sent)
    }

    /// Subscribes to `subject`; every message is decoded with `receive`.
    pub async fn subscribe(&self, subject: &str, receive: ReceiveOptions) -> Result<Subscription> {
        check_subject(subject)?;
        let sub = self
            .nats
            .subscribe(subject.to_owned())
            .await
            .map_err(|e| Error::new(ErrorKind::Connection, format!("cannot subscribe to {subject:?}: {e}")))?;
        self.sync_with_server().await?;
        Ok(subscription::new(sub, receive))
    }

    /// Subscribes as a member of a queue group (each message goes to one member).
    pub async fn queue_subscribe(&self, subject: &str, queue: &str, receive: ReceiveOptions) -> Result<Subscription> {
        check_subject(subject)?;
        let sub = self
            .nats
            .queue_subscribe(subject.to_owned(), queue.to_owned())
            .await
            .map_err(|e| Error::new(ErrorKind::Connection, format!("cannot subscribe to {subject:?}: {e}")))?;
        self.sync_with_server().await?;
        Ok(subscription::new(sub, receive))
    }

    /// Flushes and closes the connection.
    pub async fn close(&self) -> Result<()> {
        // Drain stops subscriptions; the flush makes sure replies published without one have left.
        self.flush().await?;
        self.nats.drain().await.map_err(|e| Error::new(ErrorKind::Connection, format!("close failed: {e}")))
    }
}

fn check_subject(subject: &str) -> Result<()> {
    // Bytes first: a subject is almost always ASCII, and chars cost more to walk.
    let whitespace = match subject.is_ascii() {
        true => subject.bytes().any(|b| b.is_ascii_whitespace() || b == 0x0b),
        false => subject.contains(char::is_whitespace),
    };
    if subject.is_empty() || whitespace {
        return Err(Error::argument(format!("{subject:?} is not a valid NATS subject (empty or contains whitespace)")));
    }
    Ok(())
}

struct CachedClient {
    client: Client,
    alive: tokio::sync::oneshot::Receiver<()>,
    /// A forked child inherits the cache but not the threads that drive the connection.
    pid: u32,
}

impl CachedClient {
    fn live(&self) -> Option<Client> {
        let runtime_alive = !self.alive.is_terminated() && self.pid == std::process::id();
        let state = self.client.nats.connection_state();
        (runtime_alive && state != async_nats::connection::State::Disconnected).then(|| self.client.clone())
    }
}

fn cache() -> &'static Mutex<HashMap<String, CachedClient>> {
    static CACHE: OnceLock<Mutex<HashMap<String, CachedClient>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The seed's `smartsend` without an explicit connection: uses (and keeps) the connection for
/// `opts.broker_url`, or builds without any connection when `opts.is_publish` is false.
pub async fn smartsend(subject: &str, payloads: Vec<Payload>, opts: &SendOptions) -> Result<Sent> {
    if opts.is_publish {
        Client::shared(&opts.broker_url).await?.smartsend(subject, payloads, opts).await
    } else {
        check_subject(subject)?;
        let header = send::header(subject, opts);
        send::build(header, payloads, opts, opts.max_payload.unwrap_or(DEFAULT_MAX_PAYLOAD)).await
    }
}
