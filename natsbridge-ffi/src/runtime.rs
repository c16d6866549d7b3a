//! The one tokio runtime of the process, and running engine futures from C threads.

use std::cell::Cell;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use natsbridge::{Error, ErrorKind};

use crate::error::R;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The process-wide runtime, made on first use. `NATSBRIDGE_WORKER_THREADS` sets its size
/// (default: the number of cores, at most 4).
pub(crate) fn rt() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        let threads = std::env::var("NATSBRIDGE_WORKER_THREADS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(4));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("natsbridge-worker")
            .enable_all()
            .build()
            .expect("cannot start the natsbridge tokio runtime")
    })
}

thread_local! {
    /// How many `block_on` calls are running on this thread (more than one when a user handler,
    /// called from inside a future, calls back into the library).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

struct Depth;

impl Depth {
    fn enter() -> Depth {
        DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `fut` to completion on the calling thread (futures the engine spawns run on the
/// runtime's workers). User handlers that `fut` calls therefore run on this thread.
///
/// A call made from inside a handler (this thread is already inside `block_on`, suspended in the
/// middle of polling its future) runs on a helper thread instead: blocking this thread on the
/// runtime a second time would consume wake-ups meant for the suspended future and leave it
/// waiting forever.
pub(crate) fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if DEPTH.with(|d| d.get()) == 0 {
        let _depth = Depth::enter();
        rt().block_on(fut)
    } else {
        std::thread::scope(|s| {
            let helper = std::thread::Builder::new()
                .name("natsbridge-nested".to_owned())
                .spawn_scoped(s, || {
                    let _depth = Depth::enter();
                    rt().block_on(fut)
                })
                .expect("cannot start a natsbridge helper thread");
            match helper.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// The runtime, if something has started it.
pub(crate) fn started() -> Option<&'static tokio::runtime::Runtime> {
    RUNTIME.get()
}

/// `None` for a negative number of milliseconds (wait forever).
pub(crate) fn duration(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// Runs `fut` on the calling thread, failing with `Timeout` after `timeout` (never when `None`).
pub(crate) fn block_on_timeout<T: Send>(
    timeout: Option<Duration>,
    what: &str,
    fut: impl Future<Output = R<T>> + Send,
) -> R<T> {
    match timeout {
        None => block_on(fut),
        Some(t) => block_on(async {
            tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::Timeout, format!("{what} did not complete within {} ms", t.as_millis())))
            })
        }),
    }
}

/// Calls user code (a C callback) from inside a future: the runtime is told that this thread
/// blocks, and `nb_*` calls made from the callback may block on the runtime again.
pub(crate) fn call_out<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}
