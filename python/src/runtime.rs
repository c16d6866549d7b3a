//! The one tokio runtime of this process, owned by the binding.

use std::sync::Mutex;

use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The runtime, made on first use. A process forked after that (multiprocessing's `fork`) has
/// none of the parent's runtime threads, so it gets a runtime of its own; the parent's is leaked
/// in the child rather than dropped (dropping it would wait for threads that do not exist there).
pub(crate) fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return rt;
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("natsbridge-tokio")
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    rt
}
