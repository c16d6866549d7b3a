//! Where calls finish and handlers run: the *host*, never a tokio thread.
//!
//! A [`Host`] is a queue of events that tokio tasks push without the GIL: an operation's outcome
//! (`Done`) or a request to run a user handler (`Call`). The host drains it with the GIL:
//!
//! * asyncio: one `Host` per event loop; a socket pair wakes the loop (`loop.add_reader`), whose
//!   callback (`natsbridge._host`) drains, resolves futures and runs handlers on the loop.
//! * sync calls: one `Host` per call; the calling thread waits on a condition variable with the
//!   GIL released, runs handler requests as they come, and checks for signals (Ctrl-C) every
//!   50 ms, aborting the engine's task when one arrives.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use natsbridge::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyTuple};
use tokio::sync::oneshot;

use crate::convert;
use crate::ops::Outcome;
use crate::runtime::runtime;
use natsbridge::parked::Parked;

pub(crate) type BoxFut = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

pub(crate) enum Event {
    Done(u64, Box<Outcome>),
    Call(Job),
}

/// A call that did not finish in its inline poll.
enum Task {
    Parked(Arc<Parked<BoxFut>>),
    Running(tokio::task::AbortHandle),
}

struct State {
    events: VecDeque<Event>,
    wake_pending: bool,
    tasks: HashMap<u64, Task>,
    next_token: u64,
}

pub(crate) struct HostInner {
    state: Mutex<State>,
    ready: Condvar,
    /// Drained by an event loop (rather than by a thread blocked in a call).
    is_async: bool,
    #[cfg(unix)]
    wake: Option<(std::os::unix::net::UnixStream, std::os::unix::net::UnixStream)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HostInner {
    fn new(wakeup_fd: bool) -> std::io::Result<Self> {
        #[cfg(unix)]
        let wake = if wakeup_fd {
            let (r, w) = std::os::unix::net::UnixStream::pair()?;
            r.set_nonblocking(true)?;
            w.set_nonblocking(true)?;
            Some((r, w))
        } else {
            None
        };
        #[cfg(not(unix))]
        let _ = wakeup_fd;
        Ok(HostInner {
            state: Mutex::new(State {
                events: VecDeque::new(),
                wake_pending: false,
                tasks: HashMap::new(),
                next_token: 0,
            }),
            ready: Condvar::new(),
            is_async: wakeup_fd,
            #[cfg(unix)]
            wake,
        })
    }

    /// Queues an event; callable from any thread, never takes the GIL.
    pub(crate) fn push(&self, event: Event) {
        let write = {
            let mut st = lock(&self.state);
            st.events.push_back(event);
            !std::mem::replace(&mut st.wake_pending, true)
        };
        self.ready.notify_all();
        #[cfg(unix)]
        if write {
            if let Some((_, w)) = &self.wake {
                use std::io::Write;
                let _ = (&*w).write(&[1]);
            }
        }
        #[cfg(not(unix))]
        let _ = write;
    }

    fn take_events(&self) -> Vec<Event> {
        #[cfg(unix)]
        if let Some((r, _)) = &self.wake {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!((&*r).read(&mut buf), Ok(n) if n > 0) {}
        }
        let mut st = lock(&self.state);
        st.wake_pending = false;
        let events: Vec<Event> = st.events.drain(..).collect();
        for e in &events {
            if let Event::Done(token, _) = e {
                st.tasks.remove(token);
            }
        }
        events
    }

    /// Waits up to `timeout` for events (call with the GIL released).
    fn wait_events(&self, timeout: Duration) -> Vec<Event> {
        {
            let st = lock(&self.state);
            if st.events.is_empty() {
                let (st, _) = self
                    .ready
                    .wait_timeout_while(st, timeout, |s| s.events.is_empty())
                    .unwrap_or_else(|e| e.into_inner());
                if st.events.is_empty() {
                    return Vec::new();
                }
            }
        }
        self.take_events()
    }

    fn next_token(&self) -> u64 {
        let mut st = lock(&self.state);
        st.next_token += 1;
        st.next_token
    }

    /// Runs call `token` on the runtime; its outcome arrives as an event.
    pub(crate) fn run(self: &Arc<Self>, token: u64, fut: BoxFut) {
        let me = self.clone();
        let handle = runtime().spawn(async move {
            let outcome = fut.await;
            me.push(Event::Done(token, Box::new(outcome)));
        });
        let mut st = lock(&self.state);
        if !handle.is_finished() {
            st.tasks.insert(token, Task::Running(handle.abort_handle()));
        }
    }

    fn abort(&self, token: u64) {
        let task = lock(&self.state).tasks.remove(&token);
        match task {
            Some(Task::Running(h)) => h.abort(),
            Some(Task::Parked(parked)) => parked.cancel(),
            None => {}
        }
    }
}

/// The queue a host drains: one per asyncio event loop, or one per blocking call.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

impl Host {
    pub(crate) fn is_async(&self) -> bool {
        self.inner.is_async
    }
}

#[pymethods]
impl Host {
    /// `wakeup_fd=True` makes a socket the event loop can watch (`fileno()`).
    #[new]
    #[pyo3(signature = (wakeup_fd = false))]
    fn new(wakeup_fd: bool) -> PyResult<Self> {
        Ok(Host { inner: Arc::new(HostInner::new(wakeup_fd)?) })
    }

    /// The socket to watch for readability, or -1 when there is none.
    fn fileno(&self) -> i64 {
        #[cfg(unix)]
        if let Some((r, _)) = &self.inner.wake {
            use std::os::fd::AsRawFd;
            return r.as_raw_fd() as i64;
        }
        -1
    }

    /// Takes every queued event: `(token, Outcome)` for a finished call, `HandlerCall` for a
    /// handler to run.
    fn drain(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        let events = self.inner.take_events();
        events.into_iter().map(|e| event_to_py(py, e)).collect()
    }

    /// Blocks (GIL released) until an event is queued or `timeout` seconds pass; True if any is.
    fn wait_ready(&self, py: Python<'_>, timeout: f64) -> bool {
        let inner = self.inner.clone();
        let timeout = Duration::from_secs_f64(timeout.max(0.0));
        py.detach(move || {
            let st = lock(&inner.state);
            let (st, _) =
                inner.ready.wait_timeout_while(st, timeout, |s| s.events.is_empty()).unwrap_or_else(|e| e.into_inner());
            !st.events.is_empty()
        })
    }

    /// Runs the blocking side of a call: waits (GIL released) for `token`'s outcome, running
    /// handler requests on this thread as they arrive and honouring Ctrl-C.
    fn wait(&self, py: Python<'_>, token: u64) -> PyResult<Py<Outcome>> {
        loop {
            let inner = self.inner.clone();
            let events = py.detach(move || inner.wait_events(Duration::from_millis(50)));
            let mut found = None;
            for event in events {
                match event {
                    Event::Done(t, outcome) if t == token => found = Some(*outcome),
                    Event::Done(..) => {}
                    Event::Call(job) => {
                        let call = Py::new(py, HandlerCall::new(py, job)?)?;
                        if let Err(e) = run_handler_sync(py)?.call1((call,)) {
                            self.inner.abort(token);
                            return Err(e);
                        }
                    }
                }
            }
            if let Some(outcome) = found {
                return Py::new(py, outcome);
            }
            if let Err(e) = py.check_signals() {
                self.inner.abort(token);
                return Err(e);
            }
        }
    }

    /// Aborts the engine's task for `token` (its future was cancelled).
    fn cancel(&self, token: u64) {
        self.inner.abort(token);
    }

    /// How many calls of this host are still running.
    fn running(&self) -> usize {
        lock(&self.inner.state).tasks.len()
    }
}

fn run_handler_sync(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static F: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    F.import(py, "natsbridge._host", "run_handler_sync")
}

fn event_to_py(py: Python<'_>, event: Event) -> PyResult<Py<PyAny>> {
    Ok(match event {
        Event::Done(token, outcome) => (token, Py::new(py, *outcome)?).into_pyobject(py)?.into_any().unbind(),
        Event::Call(job) => Py::new(py, HandlerCall::new(py, job)?)?.into_any(),
    })
}

/// Starts an engine future for a Python call. It is polled once right here with the GIL
/// released (`inline`): work that needs no I/O, such as building or decoding a direct-transport
/// envelope, completes in that poll and its `Outcome` is returned at once. Otherwise the future
/// continues on the runtime (once woken, see [`Parked`]) and the call's token is returned; the
/// outcome arrives on `host`.
pub(crate) fn start(
    py: Python<'_>,
    host: &Host,
    inline: bool,
    fut: impl Future<Output = Outcome> + Send + 'static,
) -> PyResult<Py<PyAny>> {
    let mut fut: BoxFut = Box::pin(fut);
    let token = host.inner.next_token();
    if inline {
        let inner = host.inner.clone();
        let parked = Parked::new(move |fut: BoxFut| inner.run(token, fut));
        let waker = parked.waker();
        let polled = py.detach(|| {
            let _guard = runtime().enter();
            fut.as_mut().poll(&mut Context::from_waker(&waker))
        });
        if let Poll::Ready(outcome) = polled {
            return Ok(Py::new(py, outcome)?.into_any());
        }
        lock(&host.inner.state).tasks.insert(token, Task::Parked(parked.clone()));
        parked.park(fut);
    } else {
        host.inner.run(token, fut);
    }
    Ok(token.into_pyobject(py)?.into_any().unbind())
}

/// The context of one call, shared with the handlers it runs: where to send handler requests,
/// and the Python exceptions those handlers raised (chained to the call's error).
pub(crate) struct CallCtx {
    pub(crate) host: Arc<HostInner>,
    pub(crate) errors: Mutex<Vec<PyErr>>,
}

impl CallCtx {
    pub(crate) fn new(host: &Host) -> Arc<CallCtx> {
        Arc::new(CallCtx { host: host.inner.clone(), errors: Mutex::new(Vec::new()) })
    }

    /// The first exception a handler raised during this call.
    pub(crate) fn take_handler_error(&self) -> Option<PyErr> {
        let mut errors = lock(&self.errors);
        if errors.is_empty() {
            None
        } else {
            Some(errors.remove(0))
        }
    }
}

/// The call a long-lived handler (a subscription's downloader) currently serves.
pub(crate) type Slot = Arc<Mutex<Option<Arc<CallCtx>>>>;

pub(crate) fn set_slot(slot: &Slot, ctx: &Arc<CallCtx>) {
    *lock(slot) = Some(ctx.clone());
}

/// What a handler is asked to do.
pub(crate) enum Request {
    Upload { fileserver_url: String, dataname: String, bytes: Bytes },
    Download { url: String, max_retries: u32, base_delay_ms: u64, max_delay_ms: u64 },
}

/// A handler's answer, converted on the host thread.
pub(crate) enum Answer {
    Url(String),
    Bytes(Bytes),
}

pub(crate) struct Job {
    handler: Arc<Py<PyAny>>,
    request: Request,
    reply: oneshot::Sender<Result<Answer, Error>>,
    ctx: Arc<CallCtx>,
}

/// Sends a handler request to the host serving `slot` and waits for the answer.
pub(crate) async fn call_handler(handler: &Arc<Py<PyAny>>, slot: &Slot, request: Request) -> Result<Answer, Error> {
    let ctx = lock(slot)
        .clone()
        .ok_or_else(|| Error::new(ErrorKind::Internal, "a handler was called outside of any Python call"))?;
    let (reply, answer) = oneshot::channel();
    ctx.host.push(Event::Call(Job { handler: handler.clone(), request, reply, ctx: ctx.clone() }));
    answer.await.unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Handler,
            "the handler call was abandoned before it answered (its event loop stopped?)",
        ))
    })
}

/// A request to run a user handler on this (the host's) thread; `natsbridge._host` runs it and
/// answers with `resolve` or `reject`.
#[pyclass(frozen, module = "natsbridge._natsbridge")]
pub struct HandlerCall {
    job: Mutex<Option<Job>>,
    #[pyo3(get)]
    handler: Py<PyAny>,
    #[pyo3(get)]
    args: Py<PyTuple>,
    #[pyo3(get)]
    kind: &'static str,
}

impl HandlerCall {
    fn new(py: Python<'_>, job: Job) -> PyResult<Self> {
        let handler = job.handler.clone_ref(py);
        let (args, kind) = match &job.request {
            Request::Upload { fileserver_url, dataname, bytes } => {
                ((fileserver_url.as_str(), dataname.as_str(), PyBytes::new(py, bytes)).into_pyobject(py)?, "upload")
            }
            Request::Download { url, max_retries, base_delay_ms, max_delay_ms } => {
                ((url.as_str(), *max_retries, *base_delay_ms, *max_delay_ms).into_pyobject(py)?, "download")
            }
        };
        Ok(HandlerCall { job: Mutex::new(Some(job)), handler, args: args.unbind(), kind })
    }

    fn take(&self) -> Option<Job> {
        lock(&self.job).take()
    }
}

#[pymethods]
impl HandlerCall {
    /// Answers with the handler's return value (upload: a dict with `url` or a URL string;
    /// download: bytes). A value of the wrong shape fails the call with a `Handler` error.
    fn resolve(&self, value: &Bound<'_, PyAny>) {
        let Some(job) = self.take() else { return };
        let answer = match job.request {
            Request::Upload { .. } => convert::upload_answer(value).map(Answer::Url),
            Request::Download { .. } => convert::download_answer(value).map(Answer::Bytes),
        };
        let _ = job.reply.send(answer);
    }

    /// Fails the call with the exception the handler raised (chained as the error's cause).
    fn reject(&self, exc: &Bound<'_, PyAny>) {
        let Some(job) = self.take() else { return };
        let py = exc.py();
        let type_name = exc.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "exception".into());
        let text = exc.str().map(|s| s.to_string()).unwrap_or_default();
        let what = match job.request {
            Request::Upload { .. } => "fileserver_upload_handler",
            Request::Download { .. } => "fileserver_download_handler",
        };
        let message = if text.is_empty() {
            format!("{what} raised {type_name}")
        } else {
            format!("{what} raised {type_name}: {text}")
        };
        let err = PyErr::from_value(exc.clone());
        lock(&job.ctx.errors).push(err.clone_ref(py));
        let _ = job.reply.send(Err(Error::new(ErrorKind::Handler, message)));
    }

    /// True once answered.
    #[getter]
    fn done(&self) -> bool {
        lock(&self.job).is_none()
    }
}
