//! The seed's send and receive options, checked once on the host thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use natsbridge::store::{HttpFetcher, PlikUploader, RetryPolicy};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::convert::py_to_map;
use crate::errors::invalid_argument;
use crate::handlers::{PyDownloader, PyUploader};
use crate::host::{CallCtx, Slot};

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

pub(crate) fn string(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    match v.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(invalid_argument(py, format!("{name} must be a str, got {}", type_name(v)))),
    }
}

pub(crate) fn opt_string(py: Python<'_>, v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => string(py, v, name).map(Some),
    }
}

pub(crate) fn non_negative(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid_argument(py, format!("{name} must be an int, got bool")));
    }
    match v.extract::<i64>() {
        Ok(n) if n >= 0 => Ok(n as u64),
        Ok(n) => Err(invalid_argument(py, format!("{name} must be >= 0, got {n}"))),
        Err(_) => Err(invalid_argument(py, format!("{name} must be an int, got {}", type_name(v)))),
    }
}

pub(crate) fn seconds(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    match v.extract::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(invalid_argument(py, format!("{name} must be a number of seconds >= 0, got {}", v.repr()?))),
    }
}

fn handler(py: Python<'_>, v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Arc<Py<PyAny>>>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) if v.is_callable() => Ok(Some(Arc::new(v.clone().unbind()))),
        Some(v) => Err(invalid_argument(py, format!("{name} must be callable, got {}", type_name(v)))),
    }
}

fn bool_arg(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    match v.cast::<pyo3::types::PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(invalid_argument(py, format!("{name} must be a bool, got {}", type_name(v)))),
    }
}

/// `smartsend`'s options. `fileserver_upload_handler=None` uses the engine's Plik uploader.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct SendOptions {
    template: natsbridge::SendOptions,
    upload_handler: Option<Arc<Py<PyAny>>>,
}

#[pymethods]
impl SendOptions {
    #[new]
    #[pyo3(signature = (
        *, broker_url, fileserver_url, fileserver_upload_handler, size_threshold, correlation_id,
        msg_purpose, sender_name, receiver_name, receiver_id, reply_to, reply_to_msg_id, is_publish,
        msg_id, sender_id, metadata = None, max_payload = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        broker_url: &Bound<'_, PyAny>,
        fileserver_url: &Bound<'_, PyAny>,
        fileserver_upload_handler: Option<&Bound<'_, PyAny>>,
        size_threshold: &Bound<'_, PyAny>,
        correlation_id: Option<&Bound<'_, PyAny>>,
        msg_purpose: &Bound<'_, PyAny>,
        sender_name: &Bound<'_, PyAny>,
        receiver_name: &Bound<'_, PyAny>,
        receiver_id: &Bound<'_, PyAny>,
        reply_to: &Bound<'_, PyAny>,
        reply_to_msg_id: &Bound<'_, PyAny>,
        is_publish: &Bound<'_, PyAny>,
        msg_id: Option<&Bound<'_, PyAny>>,
        sender_id: Option<&Bound<'_, PyAny>>,
        metadata: Option<&Bound<'_, PyAny>>,
        max_payload: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let template = natsbridge::SendOptions {
            broker_url: string(py, broker_url, "broker_url")?,
            fileserver_url: string(py, fileserver_url, "fileserver_url")?,
            uploader: Arc::new(PlikUploader),
            size_threshold: non_negative(py, size_threshold, "size_threshold")?,
            correlation_id: opt_string(py, correlation_id, "correlation_id")?,
            msg_purpose: string(py, msg_purpose, "msg_purpose")?,
            sender_name: string(py, sender_name, "sender_name")?,
            receiver_name: string(py, receiver_name, "receiver_name")?,
            receiver_id: string(py, receiver_id, "receiver_id")?,
            reply_to: string(py, reply_to, "reply_to")?,
            reply_to_msg_id: string(py, reply_to_msg_id, "reply_to_msg_id")?,
            is_publish: bool_arg(py, is_publish, "is_publish")?,
            msg_id: opt_string(py, msg_id, "msg_id")?,
            sender_id: opt_string(py, sender_id, "sender_id")?,
            metadata: match metadata {
                Some(m) if !m.is_none() => py_to_map(py, m, "metadata")?,
                _ => Default::default(),
            },
            max_payload: match max_payload {
                Some(m) if !m.is_none() => Some(non_negative(py, m, "max_payload")? as usize),
                _ => None,
            },
        };
        let upload_handler = handler(py, fileserver_upload_handler, "fileserver_upload_handler")?;
        Ok(SendOptions { template, upload_handler })
    }

    #[getter]
    fn is_publish(&self) -> bool {
        self.template.is_publish
    }

    #[getter]
    fn broker_url(&self) -> &str {
        &self.template.broker_url
    }
}

impl SendOptions {
    /// The engine's options for one call; a Python uploader sends its requests to `ctx`'s host.
    pub(crate) fn build(&self, ctx: &Arc<CallCtx>) -> natsbridge::SendOptions {
        let mut o = self.template.clone();
        if let Some(h) = &self.upload_handler {
            o.uploader = Arc::new(PyUploader { handler: h.clone(), slot: Arc::new(Mutex::new(Some(ctx.clone()))) });
        }
        o
    }
}

/// `smartreceive`'s options. `fileserver_download_handler=None` uses the engine's fetcher.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct ReceiveOptions {
    retry: RetryPolicy,
    download_handler: Option<Arc<Py<PyAny>>>,
    allowed_origins: Option<Vec<String>>,
    max_in_memory: Option<u64>,
    save_dir: Option<PathBuf>,
}

#[pymethods]
impl ReceiveOptions {
    #[new]
    #[pyo3(signature = (
        *, fileserver_download_handler, max_retries, base_delay, max_delay,
        allowed_origins = None, max_in_memory = None, save_dir = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        fileserver_download_handler: Option<&Bound<'_, PyAny>>,
        max_retries: &Bound<'_, PyAny>,
        base_delay: &Bound<'_, PyAny>,
        max_delay: &Bound<'_, PyAny>,
        allowed_origins: Option<&Bound<'_, PyAny>>,
        max_in_memory: Option<&Bound<'_, PyAny>>,
        save_dir: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let max_retries = non_negative(py, max_retries, "max_retries")?;
        let retry = RetryPolicy {
            max_retries: u32::try_from(max_retries).map_err(|_| invalid_argument(py, "max_retries is too large"))?,
            base_delay: Duration::from_millis(non_negative(py, base_delay, "base_delay")?),
            max_delay: Duration::from_millis(non_negative(py, max_delay, "max_delay")?),
        };
        let allowed_origins = match allowed_origins {
            Some(a) if !a.is_none() => {
                let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = a.cast::<PyList>() {
                    l.iter().collect()
                } else if let Ok(t) = a.cast::<PyTuple>() {
                    t.iter().collect()
                } else {
                    return Err(invalid_argument(
                        py,
                        "allowed_origins must be a list of origins (\"http://host:port\")",
                    ));
                };
                Some(items.iter().map(|x| string(py, x, "allowed_origins[...]")).collect::<PyResult<Vec<_>>>()?)
            }
            _ => None,
        };
        let max_in_memory = match max_in_memory {
            Some(m) if !m.is_none() => Some(non_negative(py, m, "max_in_memory")?),
            _ => None,
        };
        let save_dir = match save_dir {
            Some(d) if !d.is_none() => Some(
                d.extract::<PathBuf>()
                    .map_err(|_| invalid_argument(py, format!("save_dir must be a path, got {}", type_name(d))))?,
            ),
            _ => None,
        };
        let download_handler = handler(py, fileserver_download_handler, "fileserver_download_handler")?;
        Ok(ReceiveOptions { retry, download_handler, allowed_origins, max_in_memory, save_dir })
    }
}

impl ReceiveOptions {
    /// The engine's options; a Python downloader sends its requests to the call in `slot`.
    pub(crate) fn build(&self, slot: &Slot) -> natsbridge::ReceiveOptions {
        let mut o = natsbridge::ReceiveOptions {
            retry: self.retry,
            allowed_origins: self.allowed_origins.clone(),
            save_dir: self.save_dir.clone(),
            ..Default::default()
        };
        if let Some(m) = self.max_in_memory {
            o.max_in_memory = m;
        }
        o.downloader = match &self.download_handler {
            Some(h) => Arc::new(PyDownloader { handler: h.clone(), slot: slot.clone() }),
            None => Arc::new(HttpFetcher),
        };
        o
    }
}
