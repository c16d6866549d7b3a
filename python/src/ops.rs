//! The calls Python makes. Each converts its arguments on the calling thread, then hands the
//! engine's future to [`host::start`]: the result is an [`Outcome`] (finished inline) or a token
//! whose `Outcome` arrives on the host.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use natsbridge::store::{RetryPolicy, UploadBody};
use natsbridge::{
    AckMode, Client, ConnectOptions, ConsumerOptions, Envelope, Error, ErrorKind, Header, JetStreamConsumer,
    JsDelivery, Payload, PublishAck, Sent, SentEnvelope, Subscription, Value,
};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use tokio::sync::Mutex as AsyncMutex;

use crate::convert::{self, envelope_to_py, extract_bytes, extract_payloads, sent_to_py, Keepalive, TableMode};
use crate::errors::{invalid_argument, to_py};
use crate::host::{self, set_slot, CallCtx, Host, Slot};
use crate::options::{non_negative, opt_string, seconds, string, ReceiveOptions, SendOptions};
use crate::publish::{self, Flush};

/// Async calls whose inputs are larger than this run on the runtime from the start rather than
/// partly on the event loop's thread (serializing them would hold up the loop).
const INLINE_LIMIT: usize = 4 << 20;

/// What a finished call produced.
pub(crate) enum Done {
    /// A sent envelope and its JSON.
    Sent(SentEnvelope, Arc<String>),
    Envelope(Envelope),
    /// `None`: no message within the timeout.
    MaybeEnvelope(Option<Envelope>),
    Upload(natsbridge::store::PlikUpload),
    Bytes(Bytes),
    Client(Client),
    Subscription(Subscription, Slot),
    Message(Option<natsbridge::async_nats::Message>),
    JsPublished(Sent, PublishAck),
    Consumer(JetStreamConsumer, Slot),
    Delivery(Option<JsDelivery>),
    Unit,
}

/// The result of a call, converted to Python on the host thread by `take`.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct Outcome {
    result: Mutex<Option<Result<Done, Error>>>,
    /// The flush of what the call published, still running.
    flush: Mutex<Option<Flush>>,
    ctx: Option<Arc<CallCtx>>,
    /// Released with the outcome, on the host thread.
    _keep: Keepalive,
}

impl Outcome {
    pub(crate) fn new(result: Result<Done, Error>, ctx: Option<Arc<CallCtx>>, keep: Keepalive) -> Outcome {
        Outcome { result: Mutex::new(Some(result)), flush: Mutex::new(None), ctx, _keep: keep }
    }

    /// The outcome of a call that runs no handler and keeps nothing alive.
    fn plain(result: Result<Done, Error>) -> Outcome {
        Outcome::new(result, None, Keepalive::new())
    }

    /// `plain` for a call whose value Python does not get (it gets `None`).
    fn unit<T>(result: Result<T, Error>) -> Outcome {
        Outcome::plain(result.map(|_| Done::Unit))
    }

    fn flushing(self, flush: Option<Flush>) -> Outcome {
        *self.flush.lock().unwrap_or_else(|e| e.into_inner()) = flush;
        self
    }
}

#[pymethods]
impl Outcome {
    /// The call's Python result, or its error raised (`NATSBridgeError` subclass; a handler's
    /// own exception is the cause). `table_type`: "pyarrow" (or "pandas") or "rows". With
    /// `lean`, a sent envelope comes back as its `msg_id` only (no Python copy of the envelope).
    #[pyo3(signature = (table_type = "pyarrow", lean = false))]
    fn take(&self, py: Python<'_>, table_type: &str, lean: bool) -> PyResult<Py<PyAny>> {
        let mode = TableMode::parse(py, table_type)?;
        let result = self
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| crate::errors::of_kind(py, ErrorKind::Internal, "this outcome was taken already"))?;
        let done = match result {
            Ok(done) => done,
            Err(err) => return Err(self.error(py, &err)),
        };
        let obj: Bound<'_, PyAny> = match done {
            Done::Sent(env, _) if lean => PyString::new(py, &env.header.msg_id).into_any(),
            Done::Sent(env, json) => sent_to_py(py, &env, &json)?.into_any(),
            Done::Envelope(env) => envelope_to_py(py, &env, mode)?.into_any(),
            Done::MaybeEnvelope(None) => py.None().into_bound(py),
            Done::MaybeEnvelope(Some(env)) => envelope_to_py(py, &env, mode)?.into_any(),
            Done::Upload(up) => upload_dict(py, &up)?.into_any(),
            Done::Bytes(b) => PyBytes::new(py, &b).into_any(),
            Done::Client(client) => Bound::new(py, ClientHandle { client })?.into_any(),
            Done::Subscription(sub, slot) => {
                Bound::new(py, SubscriptionHandle { sub: Arc::new(AsyncMutex::new(sub)), slot })?.into_any()
            }
            Done::Message(None) => py.None().into_bound(py),
            Done::Message(Some(m)) => message_to_py(py, &m)?.into_any(),
            Done::JsPublished(sent, ack) => {
                let pair = sent_to_py(py, &sent.envelope, &sent.json)?;
                let ack = (ack.stream, ack.sequence, ack.duplicate).into_pyobject(py)?;
                PyTuple::new(py, [pair.get_item(0)?, pair.get_item(1)?, ack.into_any()])?.into_any()
            }
            Done::Consumer(consumer, slot) => {
                Bound::new(py, ConsumerHandle { consumer: Arc::new(AsyncMutex::new(consumer)), slot })?.into_any()
            }
            Done::Delivery(None) => py.None().into_bound(py),
            Done::Delivery(Some(mut d)) => {
                let env = std::mem::replace(&mut d.envelope, Envelope { header: Header::default(), payloads: vec![] });
                let delivered = d.delivered;
                let (header, payloads) = {
                    let t = envelope_to_py(py, &env, mode)?;
                    (t.get_item(0)?, t.get_item(1)?)
                };
                let handle = Bound::new(py, DeliveryHandle { delivery: Arc::new(AsyncMutex::new(d)) })?;
                PyTuple::new(py, [handle.into_any(), header, payloads, delivered.into_pyobject(py)?.into_any()])?
                    .into_any()
            }
            Done::Unit => py.None().into_bound(py),
        };
        Ok(obj.unbind())
    }

    /// Waits until what the call published has been written to the server (sends convert their
    /// result while that happens); finished at once when there is nothing to wait for.
    #[pyo3(signature = (host))]
    fn flushed(&self, py: Python<'_>, host: &Host) -> PyResult<Py<PyAny>> {
        let flush = self.flush.lock().unwrap_or_else(|e| e.into_inner()).take();
        host::start(py, host, true, async move { Outcome::unit(publish::flushed(flush).await) })
    }
}

impl Outcome {
    fn error(&self, py: Python<'_>, err: &Error) -> PyErr {
        let handler_error = self.ctx.as_ref().and_then(|c| c.take_handler_error());
        match handler_error {
            // KeyboardInterrupt, SystemExit, CancelledError in a handler: re-raised as they are.
            Some(e) if !e.is_instance_of::<PyException>(py) => e,
            Some(cause) => {
                let e = to_py(py, err);
                e.set_cause(py, Some(cause));
                e
            }
            None => to_py(py, err),
        }
    }
}

fn upload_dict<'py>(py: Python<'py>, up: &natsbridge::store::PlikUpload) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("status", up.status)?;
    d.set_item("uploadid", &up.uploadid)?;
    d.set_item("fileid", &up.fileid)?;
    d.set_item("url", &up.url)?;
    Ok(d)
}

fn message_to_py<'py>(py: Python<'py>, m: &natsbridge::async_nats::Message) -> PyResult<Bound<'py, PyTuple>> {
    let headers = match &m.headers {
        Some(h) => {
            let d = PyDict::new(py);
            for (name, values) in h.iter() {
                if let Some(v) = values.last() {
                    d.set_item(name.to_string(), v.as_str())?;
                }
            }
            d.into_any()
        }
        None => py.None().into_bound(py),
    };
    let reply = match &m.reply {
        Some(r) => PyString::new(py, r.as_str()).into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [PyString::new(py, m.subject.as_str()).into_any(), PyBytes::new(py, &m.payload).into_any(), reply, headers],
    )
}

fn weight(payloads: &[Payload]) -> usize {
    payloads
        .iter()
        .map(|p| match &p.value {
            Value::Text(s) => s.len(),
            Value::Dictionary(_) => 0,
            Value::Table(t) => t.batches().iter().map(|b| b.get_array_memory_size()).sum(),
            Value::Image(b) | Value::Audio(b) | Value::Video(b) | Value::Binary(b) => b.len(),
            Value::File { .. } => INLINE_LIMIT,
        })
        .sum()
}

fn inline_ok(host: &Host, size: usize) -> bool {
    !host.is_async() || size <= INLINE_LIMIT
}

fn fixed_slot(ctx: &Arc<CallCtx>) -> Slot {
    Arc::new(Mutex::new(Some(ctx.clone())))
}

/// Message bytes: bytes (no copy), bytearray, memoryview or str.
fn message_bytes(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if v.is_instance_of::<PyString>() {
        // str.encode() is a plain copy for ASCII (envelopes are), and the bytes are then borrowed.
        let encoded = v.call_method0(pyo3::intern!(py, "encode"))?;
        let backed: pyo3::pybacked::PyBackedBytes = encoded.extract()?;
        return Ok(Bytes::from_owner(backed));
    }
    extract_bytes(v).ok_or_else(|| {
        invalid_argument(
            py,
            format!(
                "msg must be a NATS message (with .data), bytes, bytearray, memoryview or str, got {}",
                v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ),
        )
    })
}

fn unflushed(sent: Sent) -> (SentEnvelope, Arc<String>, Option<Flush>) {
    (sent.envelope, Arc::new(sent.json), None)
}

/// `smartsend`: builds the envelope and publishes it (through `client`, or the shared connection
/// for `options.broker_url`), or only builds it when `options.is_publish` is false.
#[pyfunction]
#[pyo3(signature = (host, subject, data, options, client = None))]
pub(crate) fn smartsend(
    py: Python<'_>,
    host: &Host,
    subject: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    options: &SendOptions,
    client: Option<&ClientHandle>,
) -> PyResult<Py<PyAny>> {
    let subject = string(py, subject, "subject")?;
    let mut keep = Keepalive::new();
    let payloads = extract_payloads(py, data, &mut keep)?;
    let ctx = CallCtx::new(host);
    let opts = options.build(&ctx);
    let client = client.map(|c| c.client.clone());
    let inline = inline_ok(host, weight(&payloads));
    host::start(py, host, inline, async move {
        let result = match client {
            Some(c) if opts.is_publish => publish::publish(&c, &subject, payloads, &opts).await,
            None if opts.is_publish => match Client::shared(&opts.broker_url).await {
                Ok(c) => publish::publish(&c, &subject, payloads, &opts).await,
                Err(e) => Err(e),
            },
            Some(c) => c.smartsend(&subject, payloads, &opts).await.map(unflushed),
            None => natsbridge::smartsend(&subject, payloads, &opts).await.map(unflushed),
        };
        match result {
            Ok((env, json, flush)) => Outcome::new(Ok(Done::Sent(env, json)), Some(ctx), keep).flushing(flush),
            Err(e) => Outcome::new(Err(e), Some(ctx), keep),
        }
    })
}

/// `smartreceive`: decodes message bytes into `(header, payloads)`.
#[pyfunction]
#[pyo3(signature = (host, msg, options))]
pub(crate) fn smartreceive(
    py: Python<'_>,
    host: &Host,
    msg: &Bound<'_, PyAny>,
    options: &ReceiveOptions,
) -> PyResult<Py<PyAny>> {
    let data = message_bytes(py, msg)?;
    let ctx = CallCtx::new(host);
    let opts = options.build(&fixed_slot(&ctx));
    let inline = inline_ok(host, data.len());
    host::start(py, host, inline, async move {
        let result = natsbridge::smartreceive(&data, &opts).await;
        Outcome::new(result.map(Done::Envelope), Some(ctx), Keepalive::new())
    })
}

/// The seed's `plik_oneshot_upload`: uploads bytes to a Plik-compatible server.
#[pyfunction]
#[pyo3(signature = (host, fileserver_url, dataname, data))]
pub(crate) fn plik_oneshot_upload(
    py: Python<'_>,
    host: &Host,
    fileserver_url: &Bound<'_, PyAny>,
    dataname: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let fileserver_url = string(py, fileserver_url, "fileserver_url")?;
    let dataname = string(py, dataname, "dataname")?;
    let bytes =
        extract_bytes(data).ok_or_else(|| invalid_argument(py, "data must be bytes, bytearray or memoryview"))?;
    host::start(py, host, false, async move {
        let result = natsbridge::store::plik_oneshot_upload(&fileserver_url, &dataname, UploadBody::Bytes(bytes)).await;
        Outcome::plain(result.map(Done::Upload))
    })
}

/// The seed's `fetch_with_backoff`: GET with exponential backoff, returning the bytes (at most
/// `max_bytes`, 2 GiB when `None`).
#[pyfunction]
#[pyo3(signature = (host, url, max_retries, base_delay, max_delay, max_bytes = None))]
pub(crate) fn fetch_with_backoff(
    py: Python<'_>,
    host: &Host,
    url: &Bound<'_, PyAny>,
    max_retries: &Bound<'_, PyAny>,
    base_delay: &Bound<'_, PyAny>,
    max_delay: &Bound<'_, PyAny>,
    max_bytes: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let url = string(py, url, "url")?;
    let retry = RetryPolicy {
        max_retries: non_negative(py, max_retries, "max_retries")?.min(u32::MAX as u64) as u32,
        base_delay: Duration::from_millis(non_negative(py, base_delay, "base_delay")?),
        max_delay: Duration::from_millis(non_negative(py, max_delay, "max_delay")?),
    };
    let max_bytes = match max_bytes {
        Some(m) if !m.is_none() => non_negative(py, m, "max_bytes")?,
        _ => DEFAULT_FETCH_CAP,
    };
    host::start(py, host, false, async move {
        let result = natsbridge::store::fetch_with_backoff(&url, retry, max_bytes).await;
        Outcome::plain(result.map(Done::Bytes))
    })
}

/// The engine's default in-memory cap for one payload.
const DEFAULT_FETCH_CAP: u64 = 2 * 1024 * 1024 * 1024;

/// One string or a list (or tuple) of them, as a list.
fn strings(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str, one: &str) -> PyResult<Vec<String>> {
    let item = format!("{name}[...]");
    if let Ok(s) = v.cast::<PyString>() {
        Ok(vec![s.to_cow()?.into_owned()])
    } else if let Ok(l) = v.cast::<PyList>() {
        l.iter().map(|x| string(py, &x, &item)).collect()
    } else if let Ok(t) = v.cast::<PyTuple>() {
        t.iter().map(|x| string(py, &x, &item)).collect()
    } else {
        Err(invalid_argument(py, format!("{name} must be {one} or a list of them")))
    }
}

/// Connects to NATS.
#[pyfunction]
#[pyo3(signature = (
    host, servers, *, name = None, token = None, user = None, password = None, nkey_seed = None,
    creds_file = None, tls_ca = None, tls_cert = None, tls_key = None, tls_required = false,
    max_reconnects = None, connect_timeout = 5.0, retry_on_initial_connect = false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn connect(
    py: Python<'_>,
    host: &Host,
    servers: &Bound<'_, PyAny>,
    name: Option<&Bound<'_, PyAny>>,
    token: Option<&Bound<'_, PyAny>>,
    user: Option<&Bound<'_, PyAny>>,
    password: Option<&Bound<'_, PyAny>>,
    nkey_seed: Option<&Bound<'_, PyAny>>,
    creds_file: Option<&Bound<'_, PyAny>>,
    tls_ca: Option<&Bound<'_, PyAny>>,
    tls_cert: Option<&Bound<'_, PyAny>>,
    tls_key: Option<&Bound<'_, PyAny>>,
    tls_required: bool,
    max_reconnects: Option<&Bound<'_, PyAny>>,
    connect_timeout: f64,
    retry_on_initial_connect: bool,
) -> PyResult<Py<PyAny>> {
    let servers = strings(py, servers, "servers", "a URL string")?;
    let path = |v: Option<&Bound<'_, PyAny>>, what: &str| -> PyResult<Option<std::path::PathBuf>> {
        match v {
            Some(v) if !v.is_none() => v
                .extract::<std::path::PathBuf>()
                .map(Some)
                .map_err(|_| invalid_argument(py, format!("{what} must be a path"))),
            _ => Ok(None),
        }
    };
    let opts = ConnectOptions {
        servers,
        name: opt_string(py, name, "name")?,
        token: opt_string(py, token, "token")?,
        user: opt_string(py, user, "user")?,
        password: opt_string(py, password, "password")?,
        nkey_seed: opt_string(py, nkey_seed, "nkeys_seed")?,
        creds_file: path(creds_file, "creds")?,
        tls_ca: path(tls_ca, "tls_ca")?,
        tls_cert: path(tls_cert, "tls_cert")?,
        tls_key: path(tls_key, "tls_key")?,
        tls_required,
        max_reconnects: match max_reconnects {
            Some(m) if !m.is_none() => Some(non_negative(py, m, "max_reconnects")? as usize),
            _ => None,
        },
        connect_timeout: secs(py, connect_timeout, "connect_timeout")?,
        retry_on_initial_connect,
    };
    host::start(py, host, false, async move {
        let result = Client::connect(opts).await;
        Outcome::plain(result.map(Done::Client))
    })
}

/// A connection (`natsbridge.Bridge` holds one).
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct ClientHandle {
    client: Client,
}

#[pymethods]
impl ClientHandle {
    /// The server URL(s) this connection was made for.
    #[getter]
    fn broker_url(&self) -> &str {
        self.client.broker_url()
    }

    /// The largest message the server accepts.
    #[getter]
    fn max_payload(&self) -> usize {
        self.client.max_payload()
    }

    #[pyo3(signature = (host, subject, data, options))]
    fn smartsend(
        &self,
        py: Python<'_>,
        host: &Host,
        subject: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        options: &SendOptions,
    ) -> PyResult<Py<PyAny>> {
        smartsend(py, host, subject, data, options, Some(self))
    }

    #[pyo3(signature = (host, subject, data, send_options, receive_options, timeout))]
    #[allow(clippy::too_many_arguments)]
    fn smartrequest(
        &self,
        py: Python<'_>,
        host: &Host,
        subject: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        send_options: &SendOptions,
        receive_options: &ReceiveOptions,
        timeout: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let subject = string(py, subject, "subject")?;
        let timeout = seconds(py, timeout, "timeout")?;
        let mut keep = Keepalive::new();
        let payloads = extract_payloads(py, data, &mut keep)?;
        let ctx = CallCtx::new(host);
        let sopts = send_options.build(&ctx);
        let ropts = receive_options.build(&fixed_slot(&ctx));
        let client = self.client.clone();
        let inline = inline_ok(host, weight(&payloads));
        host::start(py, host, inline, async move {
            let result = client.smartrequest(&subject, payloads, &sopts, &ropts, timeout).await;
            Outcome::new(result.map(Done::Envelope), Some(ctx), keep)
        })
    }

    /// Answers a received envelope (`to`: its header dict).
    #[pyo3(signature = (host, to, data, options))]
    fn reply(
        &self,
        py: Python<'_>,
        host: &Host,
        to: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        options: &SendOptions,
    ) -> PyResult<Py<PyAny>> {
        let to = to
            .cast::<PyDict>()
            .map_err(|_| invalid_argument(py, "reply needs the received envelope (a dict with reply_to and msg_id)"))?;
        let field = |k: &str| -> PyResult<String> {
            match to.get_item(k)? {
                Some(v) if !v.is_none() => string(py, &v, k),
                _ => Ok(String::new()),
            }
        };
        let header = Header {
            reply_to: field("reply_to")?,
            msg_id: field("msg_id")?,
            correlation_id: field("correlation_id")?,
            ..Header::default()
        };
        let to = Envelope { header, payloads: vec![] };
        let mut keep = Keepalive::new();
        let payloads = extract_payloads(py, data, &mut keep)?;
        let ctx = CallCtx::new(host);
        let opts = options.build(&ctx);
        let client = self.client.clone();
        let inline = inline_ok(host, weight(&payloads));
        host::start(py, host, inline, async move {
            let result = client.reply(&to, payloads, &opts).await;
            Outcome::new(result.map(|s| Done::Sent(s.envelope, Arc::new(s.json))), Some(ctx), keep)
        })
    }

    #[pyo3(signature = (host, subject, queue, options))]
    fn subscribe(
        &self,
        py: Python<'_>,
        host: &Host,
        subject: &Bound<'_, PyAny>,
        queue: Option<&Bound<'_, PyAny>>,
        options: &ReceiveOptions,
    ) -> PyResult<Py<PyAny>> {
        let subject = string(py, subject, "subject")?;
        let queue = opt_string(py, queue, "queue")?;
        let slot: Slot = Arc::new(Mutex::new(None));
        let ropts = options.build(&slot);
        let client = self.client.clone();
        host::start(py, host, false, async move {
            let result = match queue {
                Some(q) => client.queue_subscribe(&subject, &q, ropts).await,
                None => client.subscribe(&subject, ropts).await,
            };
            Outcome::plain(result.map(|s| Done::Subscription(s, slot)))
        })
    }

    /// Publishes raw bytes (no envelope) and flushes.
    #[pyo3(signature = (host, subject, payload, reply = None))]
    fn publish(
        &self,
        py: Python<'_>,
        host: &Host,
        subject: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
        reply: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let subject = string(py, subject, "subject")?;
        let reply = opt_string(py, reply, "reply")?;
        let payload = message_bytes(py, payload)?;
        let client = self.client.clone();
        host::start(py, host, true, async move {
            let nats = client.nats();
            let sent = match reply {
                Some(r) => nats.publish_with_reply(subject, r, payload).await,
                None => nats.publish(subject, payload).await,
            };
            let result = match sent {
                Ok(()) => client.flush().await,
                Err(e) => Err(Error::new(ErrorKind::Publish, format!("publish failed: {e}"))),
            };
            Outcome::unit(result)
        })
    }

    #[pyo3(signature = (host))]
    fn flush(&self, py: Python<'_>, host: &Host) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        host::start(py, host, true, async move { Outcome::unit(client.flush().await) })
    }

    #[pyo3(signature = (host))]
    fn close(&self, py: Python<'_>, host: &Host) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        host::start(py, host, false, async move { Outcome::unit(client.close().await) })
    }

    #[pyo3(signature = (host, name, subjects))]
    fn ensure_stream(
        &self,
        py: Python<'_>,
        host: &Host,
        name: &Bound<'_, PyAny>,
        subjects: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let name = string(py, name, "name")?;
        let subjects = strings(py, subjects, "subjects", "a subject string")?;
        let client = self.client.clone();
        host::start(py, host, false, async move { Outcome::unit(client.ensure_stream(&name, subjects).await) })
    }

    #[pyo3(signature = (host, subject, data, options))]
    fn jetstream_publish(
        &self,
        py: Python<'_>,
        host: &Host,
        subject: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        options: &SendOptions,
    ) -> PyResult<Py<PyAny>> {
        let subject = string(py, subject, "subject")?;
        let mut keep = Keepalive::new();
        let payloads = extract_payloads(py, data, &mut keep)?;
        let ctx = CallCtx::new(host);
        let opts = options.build(&ctx);
        let client = self.client.clone();
        let inline = inline_ok(host, weight(&payloads));
        host::start(py, host, inline, async move {
            let result = client.jetstream_publish(&subject, payloads, &opts).await;
            Outcome::new(result.map(|(s, a)| Done::JsPublished(s, a)), Some(ctx), keep)
        })
    }

    #[pyo3(signature = (
        host, stream, durable, options, *, filter_subject = None, manual_ack = false,
        ack_wait = 30.0, nak_delay = 1.0, max_deliver = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn jetstream_consumer(
        &self,
        py: Python<'_>,
        host: &Host,
        stream: &Bound<'_, PyAny>,
        durable: &Bound<'_, PyAny>,
        options: &ReceiveOptions,
        filter_subject: Option<&Bound<'_, PyAny>>,
        manual_ack: bool,
        ack_wait: f64,
        nak_delay: f64,
        max_deliver: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let stream = string(py, stream, "stream")?;
        let durable = string(py, durable, "durable")?;
        let copts = ConsumerOptions {
            filter_subject: opt_string(py, filter_subject, "filter_subject")?,
            ack_mode: if manual_ack { AckMode::Manual } else { AckMode::Auto },
            ack_wait: secs(py, ack_wait, "ack_wait")?,
            nak_delay: secs(py, nak_delay, "nak_delay")?,
            max_deliver: max_deliver.unwrap_or(-1),
        };
        let slot: Slot = Arc::new(Mutex::new(None));
        let ropts = options.build(&slot);
        let client = self.client.clone();
        host::start(py, host, false, async move {
            let result = client.jetstream_consumer(&stream, &durable, ropts, copts).await;
            Outcome::plain(result.map(|c| Done::Consumer(c, slot)))
        })
    }
}

fn secs(py: Python<'_>, s: f64, name: &str) -> PyResult<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(invalid_argument(py, format!("{name} must be a number of seconds >= 0, got {s}")))
    }
}

fn opt_timeout(py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    match timeout {
        Some(t) if !t.is_none() => seconds(py, t, "timeout").map(Some),
        _ => Ok(None),
    }
}

/// A `next` call's timeout, and its context, put in the slot where the receive options' handlers
/// find it.
fn next_ctx(
    py: Python<'_>,
    host: &Host,
    slot: &Slot,
    timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<Duration>, Arc<CallCtx>)> {
    let timeout = opt_timeout(py, timeout)?;
    let ctx = CallCtx::new(host);
    set_slot(slot, &ctx);
    Ok((timeout, ctx))
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the subscription has ended")
}

/// A subscription yielding decoded envelopes.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct SubscriptionHandle {
    sub: Arc<AsyncMutex<Subscription>>,
    slot: Slot,
}

#[pymethods]
impl SubscriptionHandle {
    /// The next envelope; `None` after `timeout` seconds; `Closed` once the subscription ends.
    #[pyo3(signature = (host, timeout = None))]
    fn next(&self, py: Python<'_>, host: &Host, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let (timeout, ctx) = next_ctx(py, host, &self.slot, timeout)?;
        let sub = self.sub.clone();
        host::start(py, host, true, async move {
            let mut sub = sub.lock().await;
            // Wait for the message, then decode it: a timeout never cuts a download short.
            let next = match timeout {
                Some(t) => tokio::time::timeout(t, sub.next_message()).await.ok(),
                None => Some(sub.next_message().await),
            };
            let result = match next {
                None => Ok(Done::MaybeEnvelope(None)),
                Some(None) => Err(closed()),
                Some(Some(msg)) => {
                    natsbridge::decode_message(msg, sub.receive_options()).await.map(|e| Done::MaybeEnvelope(Some(e)))
                }
            };
            Outcome::new(result, Some(ctx), Keepalive::new())
        })
    }

    /// The next raw message `(subject, data, reply, headers)`, undecoded.
    #[pyo3(signature = (host, timeout = None))]
    fn next_message(&self, py: Python<'_>, host: &Host, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let timeout = opt_timeout(py, timeout)?;
        let sub = self.sub.clone();
        host::start(py, host, true, async move {
            let mut sub = sub.lock().await;
            let result = match timeout {
                Some(t) => match tokio::time::timeout(t, sub.next_message()).await {
                    Ok(Some(m)) => Ok(Done::Message(Some(m))),
                    Ok(None) => Err(closed()),
                    Err(_) => Ok(Done::Message(None)),
                },
                None => match sub.next_message().await {
                    Some(m) => Ok(Done::Message(Some(m))),
                    None => Err(closed()),
                },
            };
            Outcome::plain(result)
        })
    }

    #[pyo3(signature = (host))]
    fn unsubscribe(&self, py: Python<'_>, host: &Host) -> PyResult<Py<PyAny>> {
        let sub = self.sub.clone();
        host::start(py, host, true, async move {
            sub.lock().await.unsubscribe().await;
            Outcome::plain(Ok(Done::Unit))
        })
    }
}

/// A durable JetStream consumer.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct ConsumerHandle {
    consumer: Arc<AsyncMutex<JetStreamConsumer>>,
    slot: Slot,
}

#[pymethods]
impl ConsumerHandle {
    /// The next delivery `(handle, header, payloads, delivered)`, or `None` after `timeout`.
    #[pyo3(signature = (host, timeout = None))]
    fn next(&self, py: Python<'_>, host: &Host, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let (timeout, ctx) = next_ctx(py, host, &self.slot, timeout)?;
        let consumer = self.consumer.clone();
        host::start(py, host, true, async move {
            let result = consumer.lock().await.next(timeout).await;
            Outcome::new(result.map(Done::Delivery), Some(ctx), Keepalive::new())
        })
    }
}

/// One JetStream delivery, for acking it.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct DeliveryHandle {
    delivery: Arc<AsyncMutex<JsDelivery>>,
}

#[pymethods]
impl DeliveryHandle {
    #[pyo3(signature = (host))]
    fn ack(&self, py: Python<'_>, host: &Host) -> PyResult<Py<PyAny>> {
        let d = self.delivery.clone();
        host::start(py, host, true, async move {
            let result = d.lock().await.ack().await;
            Outcome::unit(result)
        })
    }

    #[pyo3(signature = (host, delay = None))]
    fn nak(&self, py: Python<'_>, host: &Host, delay: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let delay = opt_timeout(py, delay)?;
        let d = self.delivery.clone();
        host::start(py, host, true, async move {
            let result = d.lock().await.nak(delay).await;
            Outcome::unit(result)
        })
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send + Sync>() {}
    is_send::<Outcome>();
    let _ = convert::TableMode::Arrow;
}
