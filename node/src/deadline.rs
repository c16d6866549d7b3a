//! Request deadlines that do not wake the timer driver.
//!
//! Every `smartrequest` arms a timer for its timeout (the engine's `tokio::time::timeout`). Tokio
//! wakes its timer driver (an eventfd write on the JS thread, and a runtime thread that wakes
//! only to go back to sleep) whenever a new timer is due before the earliest one the driver knew
//! of when it went to sleep; with no other timer pending, that is every request. While requests
//! are being made, [`note_request`] keeps one timer pending that is always due within [`AHEAD`],
//! so a request's deadline (seconds away) is never the earliest and arming it wakes nobody. It
//! costs a runtime thread one wake per [`AHEAD`], and stops after [`IDLE_TICKS`] of them without
//! a request. Only time: a request's timeout is the engine's, unchanged.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How far ahead the pending timer is due at most.
const AHEAD: Duration = Duration::from_millis(500);

/// Ticks of [`AHEAD`] without a request after which the timer stops.
const IDLE_TICKS: u32 = 20;

static RUNNING: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Called for each request, before its timer is armed (in the runtime's context).
pub fn note_request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    if RUNNING.load(Ordering::Relaxed) || RUNNING.swap(true, Ordering::AcqRel) {
        return;
    }
    napi::bindgen_prelude::spawn(async {
        let mut seen = REQUESTS.load(Ordering::Relaxed);
        let mut idle = 0;
        loop {
            tokio::time::sleep(AHEAD).await;
            let now = REQUESTS.load(Ordering::Relaxed);
            if now != seen {
                seen = now;
                idle = 0;
                continue;
            }
            idle += 1;
            if idle >= IDLE_TICKS {
                // A request racing this only arms its timer the ordinary way.
                RUNNING.store(false, Ordering::Release);
                return;
            }
        }
    });
}
