//! Promises without napi's `async fn` machinery, for the calls on a request-reply's critical path.
//!
//! A napi `async fn` spawns two tasks on the runtime (the future and a panic watcher), waking a
//! runtime thread at once, and settles through a threadsafe function that wakes the JS thread.
//! For a small request or reply most of the work is an envelope build (microseconds) and a
//! hand-off to the connection's write queue, and the rest is waiting. So [`run`] polls the future
//! once right here on the JS thread; when that finishes it, its value is returned as it is (the
//! JS layer awaits either). Otherwise the future is parked: no task exists until something it
//! waits for (the reply, the next message, a timer) wakes it, and that wake spawns its task on
//! the thread that woke it (a runtime thread, where it runs at once without waking another).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use napi::bindgen_prelude::*;
use napi::JsDeferred;

use crate::send::PayloadIn;

/// Payloads (or a received message) up to this many bytes in all are built (or decoded) on the
/// JS thread: a few microseconds. Larger ones, and files, are left to the runtime's threads.
pub const INLINE_MAX: usize = 16 * 1024;

/// Whether `data` is small enough to build on the JS thread: no files, at most [`INLINE_MAX`]
/// bytes of values.
pub fn fits(data: &[PayloadIn]) -> bool {
    let mut total = 0;
    for p in data {
        if p.path.is_some() {
            return false;
        }
        total += p.text.as_ref().map_or(0, String::len)
            + p.json.as_ref().map_or(0, String::len)
            + p.bytes.as_ref().map_or(0, |b| b.len());
    }
    total <= INLINE_MAX
}

type Settle<T> = Box<dyn FnOnce(Env) -> Result<T> + Send>;
type Parked<T, F> = (Pin<Box<F>>, JsDeferred<T, Settle<T>>);

/// Being polled on the JS thread, not woken yet.
const INLINE: u8 = 0;
/// Woken while still being polled on the JS thread.
const WOKEN: u8 = 1;
/// Parked, waiting for a wake.
const PARKED: u8 = 2;
/// Its task has been spawned; later wakes go to that task.
const SPAWNED: u8 = 3;

struct Lazy<T: ToNapiValue, F> {
    state: AtomicU8,
    parked: Mutex<Option<Parked<T, F>>>,
}

impl<T, F> Lazy<T, F>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    /// Drives the parked future to its end on the runtime and settles its promise.
    fn spawn(&self) {
        let Some((fut, deferred)) = self.parked.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        spawn(async move {
            match fut.await {
                Ok(v) => deferred.resolve(Box::new(move |_| Ok(v))),
                Err(e) => deferred.reject(e),
            }
        });
    }
}

impl<T, F> Wake for Lazy<T, F>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                INLINE => WOKEN,
                PARKED => SPAWNED,
                _ => return,
            };
            match self.state.compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if next == SPAWNED => return self.spawn(),
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }
}

/// `fut`'s value when one poll on this (the JS) thread, in the runtime's context, finishes it
/// (only with `here`: the caller knows that poll is cheap); otherwise a Promise of it.
pub fn run<'env, T, F>(env: &'env Env, here: bool, fut: F) -> Result<Either<T, Object<'env>>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let lazy =
        Arc::new(Lazy::<T, F> { state: AtomicU8::new(if here { INLINE } else { WOKEN }), parked: Mutex::new(None) });
    let mut fut = Box::pin(fut);
    if here {
        let waker = Waker::from(lazy.clone());
        if let Poll::Ready(v) = within_runtime_if_available(|| fut.as_mut().poll(&mut Context::from_waker(&waker))) {
            return v.map(Either::A);
        }
    }
    let (deferred, promise) = env.create_deferred::<T, Settle<T>>()?;
    *lazy.parked.lock().unwrap_or_else(|p| p.into_inner()) = Some((fut, deferred));
    // Woken already (or never polled here): run it now. Otherwise the first wake spawns it.
    if lazy.state.compare_exchange(INLINE, PARKED, Ordering::AcqRel, Ordering::Acquire).is_err() {
        lazy.state.store(SPAWNED, Ordering::Release);
        lazy.spawn();
    }
    Ok(Either::B(promise))
}
