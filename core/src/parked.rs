//! For bindings: a call polled once on the caller's thread and, when still pending, parked with
//! no task until what it waits for (a reply, the next message, a flush, a timer) wakes it. That
//! wake starts it, usually on a runtime thread, where it then runs at once. Spawning a task right
//! away instead wakes a runtime thread only to poll the future again and register its waker: a
//! visible share of a small request-reply.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};

/// Being polled on the caller's thread.
const INLINE: u8 = 0;
/// Woken while still being polled there.
const WOKEN: u8 = 1;
/// Parked, waiting for a wake.
const PARKED: u8 = 2;
/// Started (or cancelled); later wakes go to its task.
const STARTED: u8 = 3;

/// The waker of one inline poll, holding what `start` needs once the call is parked (the future,
/// and whatever settles its result).
pub struct Parked<P> {
    state: AtomicU8,
    slot: Mutex<Option<P>>,
    start: Box<dyn Fn(P) + Send + Sync>,
}

impl<P: Send + 'static> Parked<P> {
    /// `start` runs a parked call to its end (spawns its task); it is called at most once.
    pub fn new(start: impl Fn(P) + Send + Sync + 'static) -> Arc<Parked<P>> {
        Arc::new(Parked { state: AtomicU8::new(INLINE), slot: Mutex::new(None), start: Box::new(start) })
    }

    /// The waker to poll the call with on the caller's thread.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }

    /// Parks the call after its inline poll left it pending; starts it at once when it was woken
    /// during that poll.
    pub fn park(&self, call: P) {
        *self.slot() = Some(call);
        if self.state.compare_exchange(INLINE, PARKED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            self.state.store(STARTED, Ordering::Release);
            self.start_parked();
        }
    }

    /// Drops the parked call (it was cancelled) unless a wake has started it already.
    pub fn cancel(&self) {
        self.state.store(STARTED, Ordering::Release);
        let call = self.slot().take();
        drop(call);
    }

    fn start_parked(&self) {
        let call = self.slot().take();
        if let Some(call) = call {
            (self.start)(call);
        }
    }

    fn slot(&self) -> MutexGuard<'_, Option<P>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<P: Send + 'static> Wake for Parked<P> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                INLINE => WOKEN,
                PARKED => STARTED,
                _ => return,
            };
            match self.state.compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if next == STARTED => return self.start_parked(),
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> (Arc<Parked<u32>>, Arc<Mutex<Vec<u32>>>) {
        let started = Arc::new(Mutex::new(Vec::new()));
        let log = started.clone();
        (Parked::new(move |n| log.lock().unwrap().push(n)), started)
    }

    #[test]
    fn a_wake_after_parking_starts_the_call_once() {
        let (parked, started) = recorder();
        let waker = parked.waker();
        parked.park(1);
        assert!(started.lock().unwrap().is_empty(), "parked calls wait for a wake");
        waker.wake_by_ref();
        waker.wake_by_ref();
        assert_eq!(*started.lock().unwrap(), [1]);
    }

    #[test]
    fn a_wake_during_the_inline_poll_starts_it_when_parked() {
        let (parked, started) = recorder();
        parked.waker().wake();
        parked.park(2);
        assert_eq!(*started.lock().unwrap(), [2]);
    }

    #[test]
    fn a_cancelled_call_never_starts() {
        let (parked, started) = recorder();
        let waker = parked.waker();
        parked.park(3);
        parked.cancel();
        waker.wake();
        assert!(started.lock().unwrap().is_empty());
    }
}
