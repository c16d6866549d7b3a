//! The waker of a call polled on the host thread: a future that is still pending after that poll
//! is parked, with no task, until what it waits for (the next message, a flush, a timer) wakes
//! it; that wake spawns its task on the waking thread, usually a runtime thread, where it runs
//! at once. Spawning right away instead would wake a runtime thread only to poll the future again
//! and register its waker, twice per round trip (flush and next message).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::host::{BoxFut, HostInner};

/// Being polled on the host thread.
const INLINE: u8 = 0;
/// Woken while still being polled there.
const WOKEN: u8 = 1;
/// Parked, waiting for a wake.
const PARKED: u8 = 2;
/// Spawned (or cancelled); later wakes go to its task.
const SPAWNED: u8 = 3;

pub(crate) struct Lazy {
    host: Arc<HostInner>,
    token: u64,
    state: AtomicU8,
    fut: Mutex<Option<BoxFut>>,
}

impl Lazy {
    pub(crate) fn new(host: Arc<HostInner>, token: u64) -> Arc<Lazy> {
        Arc::new(Lazy { host, token, state: AtomicU8::new(INLINE), fut: Mutex::new(None) })
    }

    /// Parks `fut` after its inline poll; spawns it at once when it was woken meanwhile.
    pub(crate) fn park(&self, fut: BoxFut) {
        *self.slot() = Some(fut);
        if self.state.compare_exchange(INLINE, PARKED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            self.state.store(SPAWNED, Ordering::Release);
            self.spawn();
        }
    }

    /// Drops the parked future (its call was cancelled) unless a wake has spawned it already.
    pub(crate) fn cancel(&self) {
        self.state.store(SPAWNED, Ordering::Release);
        let fut = self.slot().take();
        drop(fut);
    }

    fn spawn(&self) {
        let fut = self.slot().take();
        if let Some(fut) = fut {
            self.host.run(self.token, fut);
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<BoxFut>> {
        self.fut.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Wake for Lazy {
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
