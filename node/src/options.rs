//! The option objects JavaScript passes in, named as the seed names them (snake_case), and their
//! translation into the engine's options. The interfaces in `index.d.ts` are generated from these.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use natsbridge::store::RetryPolicy;

use crate::error::argument;
use crate::handlers::{DownloadTsfn, JsUploader, UploadTsfn};
use crate::receive::{ReceiveConfig, TableFormat};

/// Accepts any value and keeps nothing: for options the JS layer consumes itself.
pub struct Ignored;

impl TypeName for Ignored {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for Ignored {}

impl FromNapiValue for Ignored {
    unsafe fn from_napi_value(_env: napi::sys::napi_env, _value: napi::sys::napi_value) -> Result<Self> {
        Ok(Ignored)
    }
}

/// Options of `smartsend` (the seed's names and defaults).
#[napi(object, object_to_js = false)]
pub struct SendOptions {
    /// The broker to publish to (and the envelope's `broker_url`). Default `nats://localhost:4222`.
    #[napi(js_name = "broker_url")]
    pub broker_url: Option<String>,
    /// The claim-check store for link payloads. Default `http://localhost:8080`.
    #[napi(js_name = "fileserver_url")]
    pub fileserver_url: Option<String>,
    /// Uploads a link payload and returns its URL; default `plikOneshotUpload`.
    #[napi(js_name = "fileserver_upload_handler", ts_type = "UploadHandler")]
    pub fileserver_upload_handler: Option<UploadTsfn>,
    /// Payloads of at least this many serialized bytes go by link. Default 1_000_000.
    #[napi(js_name = "size_threshold")]
    pub size_threshold: Option<f64>,
    #[napi(js_name = "correlation_id")]
    pub correlation_id: Option<String>,
    /// Default `chat`.
    #[napi(js_name = "msg_purpose")]
    pub msg_purpose: Option<String>,
    /// Default `NATSBridge`.
    #[napi(js_name = "sender_name")]
    pub sender_name: Option<String>,
    #[napi(js_name = "receiver_name")]
    pub receiver_name: Option<String>,
    #[napi(js_name = "receiver_id")]
    pub receiver_id: Option<String>,
    #[napi(js_name = "reply_to")]
    pub reply_to: Option<String>,
    #[napi(js_name = "reply_to_msg_id")]
    pub reply_to_msg_id: Option<String>,
    /// `false` builds the envelope (uploading link payloads) without publishing it. Default `true`.
    #[napi(js_name = "is_publish")]
    pub is_publish: Option<bool>,
    /// Publish through this connection instead of one made for `broker_url`: a nats.js
    /// connection (the envelope is built to fit its `max_payload`, then published with it) or a
    /// `Bridge`.
    #[napi(js_name = "nats_connection", ts_type = "NatsConnectionLike | Bridge | null")]
    pub nats_connection: Option<Ignored>,
    #[napi(js_name = "msg_id")]
    pub msg_id: Option<String>,
    #[napi(js_name = "sender_id")]
    pub sender_id: Option<String>,
    /// The envelope's `metadata` object.
    #[napi(ts_type = "Record<string, unknown>")]
    pub metadata: Option<String>,
    /// Bound on the envelope's size when no connection tells it (`is_publish: false`).
    /// Default 1 MiB, nats-server's default.
    #[napi(js_name = "max_payload")]
    pub max_payload: Option<f64>,
}

fn non_negative(name: &str, v: f64) -> natsbridge::Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(argument(format!("{name} must be a non-negative number, got {v}")))
    }
}

fn millis(name: &str, v: f64) -> natsbridge::Result<Duration> {
    Ok(Duration::from_secs_f64(non_negative(name, v)? / 1000.0))
}

impl SendOptions {
    /// The engine's options; `default_broker` is the envelope's `broker_url` when none is given.
    pub(crate) fn into_engine(self, default_broker: Option<&str>) -> natsbridge::Result<natsbridge::SendOptions> {
        let mut o = natsbridge::SendOptions::default();
        if let Some(b) = default_broker {
            o.broker_url = b.to_owned();
        }
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { o.$field = v; } )* };
        }
        set!(
            broker_url,
            fileserver_url,
            msg_purpose,
            sender_name,
            receiver_name,
            receiver_id,
            reply_to,
            reply_to_msg_id
        );
        if let Some(v) = self.is_publish {
            o.is_publish = v;
        }
        o.correlation_id = self.correlation_id;
        o.msg_id = self.msg_id;
        o.sender_id = self.sender_id;
        if let Some(t) = self.size_threshold {
            o.size_threshold = non_negative("size_threshold", t)? as u64;
        }
        if let Some(m) = self.max_payload {
            o.max_payload = Some(non_negative("max_payload", m)? as usize);
        }
        if let Some(meta) = self.metadata {
            o.metadata = match serde_json::from_str(&meta) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => return Err(argument("metadata must be a plain JSON object")),
            };
        }
        if let Some(tsfn) = self.fileserver_upload_handler {
            o.uploader = Arc::new(JsUploader::new(tsfn));
        }
        Ok(o)
    }
}

/// Options of `smartreceive` (the seed's names and defaults) and of everything that decodes.
#[napi(object, object_to_js = false)]
pub struct ReceiveOptions {
    /// Fetches a link payload's bytes; default `fetchWithBackoff`.
    #[napi(js_name = "fileserver_download_handler", ts_type = "DownloadHandler")]
    pub fileserver_download_handler: Option<DownloadTsfn>,
    /// Download attempts per link payload. Default 5.
    #[napi(js_name = "max_retries")]
    pub max_retries: Option<u32>,
    /// First retry delay in milliseconds (doubles each retry, with jitter). Default 100.
    #[napi(js_name = "base_delay")]
    pub base_delay: Option<f64>,
    /// Longest retry delay in milliseconds. Default 5000.
    #[napi(js_name = "max_delay")]
    pub max_delay: Option<f64>,
    /// When set, link URLs outside these origins (`http://host:port`) are refused before any I/O.
    #[napi(js_name = "allowed_origins")]
    pub allowed_origins: Option<Vec<String>>,
    /// Largest link payload held in memory, in bytes. Default 2 GiB.
    #[napi(js_name = "max_in_memory")]
    pub max_in_memory: Option<f64>,
    /// Stream link payloads into files in this directory; they arrive as `{ path }`.
    #[napi(js_name = "save_dir")]
    pub save_dir: Option<String>,
    /// How tables arrive: `'rows'` (an array of row objects, the default, as in the seed),
    /// `'arrow'` (an apache-arrow `Table`) or `'ipc'` (a `Buffer` holding the Arrow IPC stream).
    #[napi(js_name = "table_format", ts_type = "'rows' | 'arrow' | 'ipc'")]
    pub table_format: Option<String>,
}

impl ReceiveOptions {
    pub(crate) fn into_config(self) -> natsbridge::Result<ReceiveConfig> {
        let mut base = natsbridge::ReceiveOptions::default();
        let mut retry = RetryPolicy::default();
        if let Some(n) = self.max_retries {
            retry.max_retries = n;
        }
        if let Some(d) = self.base_delay {
            retry.base_delay = millis("base_delay", d)?;
        }
        if let Some(d) = self.max_delay {
            retry.max_delay = millis("max_delay", d)?;
        }
        base.retry = retry;
        base.allowed_origins = self.allowed_origins;
        if let Some(m) = self.max_in_memory {
            base.max_in_memory = non_negative("max_in_memory", m)? as u64;
        }
        base.save_dir = self.save_dir.map(PathBuf::from);
        let table_format = match self.table_format.as_deref() {
            None | Some("rows") => TableFormat::Rows,
            Some("ipc") | Some("arrow") => TableFormat::Ipc,
            Some(other) => {
                return Err(argument(format!("table_format must be 'rows', 'arrow' or 'ipc', got {other:?}")))
            }
        };
        Ok(ReceiveConfig::new(base, self.fileserver_download_handler, table_format))
    }
}

pub(crate) fn receive_config(opts: Option<ReceiveOptions>) -> natsbridge::Result<ReceiveConfig> {
    match opts {
        Some(o) => o.into_config(),
        None => Ok(ReceiveConfig::new(Default::default(), None, TableFormat::Rows)),
    }
}

/// Client certificates and trust roots for TLS (file paths, PEM).
#[napi(object, object_to_js = false)]
pub struct TlsOptions {
    /// CA certificate(s) to trust.
    pub ca: Option<String>,
    /// Client certificate (with `key`).
    pub cert: Option<String>,
    /// Client private key (with `cert`).
    pub key: Option<String>,
}

/// How `Bridge.connect` reaches NATS.
#[napi(object, object_to_js = false)]
pub struct ConnectOptions {
    /// One or more `nats://host:port` URLs. Default `nats://localhost:4222`.
    #[napi(ts_type = "string | string[]")]
    pub servers: Option<Either<String, Vec<String>>>,
    /// Authentication token.
    pub token: Option<String>,
    /// User name (with `pass`).
    pub user: Option<String>,
    /// Password (with `user`).
    pub pass: Option<String>,
    /// NKey seed (`SU...`).
    pub nkey: Option<String>,
    /// Path of a NATS credentials file.
    pub creds: Option<String>,
    /// `true` requires TLS; an object also gives certificates.
    #[napi(ts_type = "boolean | TlsOptions")]
    pub tls: Option<Either<bool, TlsOptions>>,
    /// Connection name shown by the server.
    pub name: Option<String>,
    /// Reconnect attempts before giving up; a negative number reconnects forever. Default 60.
    #[napi(js_name = "max_reconnects")]
    pub max_reconnects: Option<i64>,
    /// Milliseconds to wait for the first connection. Default 5000.
    #[napi(js_name = "connect_timeout")]
    pub connect_timeout: Option<f64>,
    /// Keep retrying the first connect in the background instead of failing at once.
    #[napi(js_name = "retry_on_initial_connect")]
    pub retry_on_initial_connect: Option<bool>,
}

impl ConnectOptions {
    pub(crate) fn into_engine(self) -> natsbridge::Result<natsbridge::ConnectOptions> {
        let mut o = natsbridge::ConnectOptions::default();
        match self.servers {
            Some(Either::A(s)) => o.servers = vec![s],
            Some(Either::B(list)) if !list.is_empty() => o.servers = list,
            Some(Either::B(_)) => return Err(argument("servers must not be empty")),
            None => {}
        }
        o.name = self.name.or_else(|| Some("natsbridge-node".to_owned()));
        o.token = self.token;
        o.user = self.user;
        o.password = self.pass;
        o.nkey_seed = self.nkey;
        o.creds_file = self.creds.map(PathBuf::from);
        match self.tls {
            Some(Either::A(required)) => o.tls_required = required,
            Some(Either::B(tls)) => {
                o.tls_required = true;
                o.tls_ca = tls.ca.map(PathBuf::from);
                o.tls_cert = tls.cert.map(PathBuf::from);
                o.tls_key = tls.key.map(PathBuf::from);
            }
            None => {}
        }
        if let Some(n) = self.max_reconnects {
            o.max_reconnects = usize::try_from(n).ok();
        }
        if let Some(t) = self.connect_timeout {
            o.connect_timeout = millis("connect_timeout", t)?;
        }
        if let Some(r) = self.retry_on_initial_connect {
            o.retry_on_initial_connect = r;
        }
        Ok(o)
    }
}

/// A durable JetStream consumer's settings.
#[napi(object, object_to_js = false)]
pub struct ConsumerOptions {
    /// Only messages on this subject (all of the stream's by default).
    #[napi(js_name = "filter_subject")]
    pub filter_subject: Option<String>,
    /// `'auto'` (default) acks every envelope once it is completely received; with `'manual'` the
    /// caller calls `ack()` or `nak()` on each delivery.
    #[napi(js_name = "ack_mode", ts_type = "'auto' | 'manual'")]
    pub ack_mode: Option<String>,
    /// Milliseconds the server waits for an ack before redelivering. Default 30000.
    #[napi(js_name = "ack_wait")]
    pub ack_wait: Option<f64>,
    /// Milliseconds before redelivery when a claim-check download fails. Default 1000.
    #[napi(js_name = "nak_delay")]
    pub nak_delay: Option<f64>,
    /// Deliveries before the server gives up on a message (-1, the default: unlimited).
    #[napi(js_name = "max_deliver")]
    pub max_deliver: Option<i64>,
}

impl ConsumerOptions {
    pub(crate) fn into_engine(self) -> natsbridge::Result<natsbridge::ConsumerOptions> {
        let mut o = natsbridge::ConsumerOptions { filter_subject: self.filter_subject, ..Default::default() };
        o.ack_mode = match self.ack_mode.as_deref() {
            None | Some("auto") => natsbridge::AckMode::Auto,
            Some("manual") => natsbridge::AckMode::Manual,
            Some(other) => return Err(argument(format!("ack_mode must be 'auto' or 'manual', got {other:?}"))),
        };
        if let Some(w) = self.ack_wait {
            o.ack_wait = millis("ack_wait", w)?;
        }
        if let Some(d) = self.nak_delay {
            o.nak_delay = millis("nak_delay", d)?;
        }
        if let Some(m) = self.max_deliver {
            o.max_deliver = m;
        }
        Ok(o)
    }
}

impl ConnectOptions {
    pub(crate) fn default_engine() -> natsbridge::ConnectOptions {
        natsbridge::ConnectOptions { name: Some("natsbridge-node".to_owned()), ..Default::default() }
    }
}
