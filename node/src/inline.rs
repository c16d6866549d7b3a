//! Promises without napi's `async fn` machinery, for the calls on a request-reply's critical path.
//!
//! A napi `async fn` spawns two tasks on the runtime (the future and a panic watcher), waking a
//! runtime thread at once, and settles through a threadsafe function made for it that wakes the
//! JS thread. Here a promise is settled through the JS thread's one long-lived threadsafe
//! function instead (`settle`).
//! For a small request or reply most of the work is an envelope build (microseconds) and a
//! hand-off to the connection's write queue, and the rest is waiting. So [`run`] polls the future
//! once right here on the JS thread; when that finishes it, its value is returned as it is (the
//! JS layer awaits either). Otherwise the future is parked (`natsbridge::parked`): no task exists
//! until something it waits for (the reply, the next message, a timer) wakes it, and that wake
//! spawns its task on the thread that woke it (a runtime thread, where it runs at once).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use napi::bindgen_prelude::*;
use natsbridge::parked::Parked;

use crate::send::{PayloadsIn, ValueIn};
use crate::settle::Pending;

/// Payloads (or a received message) up to this many bytes in all are built (or decoded) on the
/// JS thread: a few microseconds. Larger ones, and files, are left to the runtime's threads.
pub const INLINE_MAX: usize = 16 * 1024;

/// Whether `data` is small enough to build on the JS thread: no files, at most [`INLINE_MAX`]
/// bytes of values.
pub fn fits(data: &PayloadsIn) -> bool {
    let mut total = 0;
    for p in &data.0 {
        total += match &p.value {
            ValueIn::Path(_) => return false,
            ValueIn::Text(s) | ValueIn::Json(s) => s.len(),
            ValueIn::Bytes(b) => b.len(),
        };
    }
    total <= INLINE_MAX
}

type Call<T, F> = (Pin<Box<F>>, Pending<T>);

/// Drives a call to its end on the runtime and settles its promise.
fn settle_on_runtime<T, F>((fut, pending): Call<T, F>)
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    spawn(async move { pending.settle(fut.await) });
}

/// `fut`'s value when one poll on this (the JS) thread, in the runtime's context, finishes it
/// (only with `here`: the caller knows that poll is cheap); otherwise a Promise of it.
pub fn run<'env, T, F>(env: &'env Env, here: bool, fut: F) -> Result<Either<T, Object<'env>>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    if !here {
        let (pending, promise) = Pending::new(env)?;
        settle_on_runtime((fut, pending));
        return Ok(Either::B(promise));
    }
    let parked = Parked::new(settle_on_runtime::<T, F>);
    let waker = parked.waker();
    if let Poll::Ready(v) = within_runtime_if_available(|| fut.as_mut().poll(&mut Context::from_waker(&waker))) {
        return v.map(Either::A);
    }
    let (pending, promise) = Pending::new(env)?;
    // Started at once if woken during the poll; otherwise by the first wake.
    parked.park((fut, pending));
    Ok(Either::B(promise))
}
