//! Promises settled from the runtime's threads through one long-lived threadsafe function per JS
//! thread, instead of the one napi's `JsDeferred` creates (and tears down) for every call.
//!
//! Making a threadsafe function costs an async handle, an async resource and a cleanup hook, and
//! closing it an extra turn of the event loop (the handle closes on the next one); on a small
//! request-reply that was a visible share of the JS thread's time. Here a call's promise is a
//! plain `napi_create_promise`, and settling it queues a job on the thread's one threadsafe
//! function. That function is unreferenced while no promise of ours is pending and referenced
//! while one is, so a pending call keeps the process alive exactly as before, and an idle
//! addon never does.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::sys;

/// A job run on the JS thread: `Some(env)` normally, `None` when the environment is going away
/// (the job then only frees what it holds).
type Job = Box<dyn FnOnce(Option<sys::napi_env>) + Send>;

/// The threadsafe function, shared with the threads that queue jobs on it.
struct Queue {
    /// `None` once the environment has started tearing down: nothing may call it then.
    tsfn: Mutex<Option<Tsfn>>,
}

struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: a threadsafe function is made to be called from any thread; the mutex in `Queue`
// keeps calls from racing its release at teardown.
unsafe impl Send for Tsfn {}

impl Queue {
    /// Queues `job` for the JS thread; when the environment is gone, drops it here instead.
    fn push(&self, job: Job) {
        let data = Box::into_raw(Box::new(job));
        let status = {
            let tsfn = self.tsfn.lock().unwrap_or_else(|e| e.into_inner());
            match &*tsfn {
                // SAFETY: the function is alive while it is in the slot (teardown empties the
                // slot, under this lock, before releasing it); `data` is handed over.
                Some(f) => unsafe {
                    sys::napi_call_threadsafe_function(f.0, data.cast(), sys::ThreadsafeFunctionCallMode::nonblocking)
                },
                None => sys::Status::napi_closing,
            }
        };
        if status != sys::Status::napi_ok {
            // Not queued: the job is still ours to free.
            // SAFETY: `data` came from `Box::into_raw` above and nobody else took it.
            let job = unsafe { Box::from_raw(data) };
            job(None);
        }
    }
}

/// The JS thread's side: the queue and how many of our promises are pending.
struct Local {
    env: sys::napi_env,
    queue: Arc<Queue>,
    tsfn: sys::napi_threadsafe_function,
    pending: std::cell::Cell<usize>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// Runs a queued job on the JS thread (or drops it, without `env`, at teardown).
unsafe extern "C" fn run_job(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    if data.is_null() {
        return;
    }
    // SAFETY: every item queued is a `Box<Job>` made by `Queue::push`, handed over once.
    let job = unsafe { Box::from_raw(data.cast::<Job>()) };
    // No panic may cross into Node (it would abort the process).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job((!env.is_null()).then_some(env))));
}

/// The environment is tearing down: no more calls into the threadsafe function, which is
/// released (queued jobs are then dropped by `run_job` without an env).
unsafe extern "C" fn teardown(arg: *mut c_void) {
    // SAFETY: `arg` is the `Arc<Queue>` leaked when the hook was added, handed back once.
    let queue = unsafe { Arc::from_raw(arg.cast::<Queue>()) };
    let taken = queue.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(f) = taken {
        // SAFETY: the function is alive and no other thread can reach it any more.
        unsafe { sys::napi_release_threadsafe_function(f.0, sys::ThreadsafeFunctionReleaseMode::abort) };
    }
    let _ = LOCAL.try_with(|l| {
        let mut l = l.borrow_mut();
        if l.as_ref().is_some_and(|local| Arc::ptr_eq(&local.queue, &queue)) {
            *l = None;
        }
    });
}

/// This thread's queue, made on first use.
fn local(env: sys::napi_env) -> Result<Rc<Local>> {
    if let Some(l) = LOCAL.with(|l| l.borrow().clone()) {
        if l.env == env {
            return Ok(l);
        }
    }
    let mut name = ptr::null_mut();
    let mut tsfn = ptr::null_mut();
    // SAFETY: plain Node-API calls on the JS thread with its env.
    unsafe {
        check_status!(sys::napi_create_string_utf8(env, c"natsbridge".as_ptr(), 10, &mut name))?;
        check_status!(sys::napi_create_threadsafe_function(
            env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            ptr::null_mut(),
            None,
            ptr::null_mut(),
            Some(run_job),
            &mut tsfn,
        ))?;
        check_status!(sys::napi_unref_threadsafe_function(env, tsfn))?;
    }
    let queue = Arc::new(Queue { tsfn: Mutex::new(Some(Tsfn(tsfn))) });
    let hook = Arc::into_raw(queue.clone());
    // SAFETY: the hook gets back the `Arc` leaked for it.
    let status = unsafe { sys::napi_add_env_cleanup_hook(env, Some(teardown), hook.cast_mut().cast()) };
    if status != sys::Status::napi_ok {
        // SAFETY: not registered: release what was made for it.
        unsafe {
            drop(Arc::from_raw(hook));
            sys::napi_release_threadsafe_function(tsfn, sys::ThreadsafeFunctionReleaseMode::abort);
        }
        check_status!(status)?;
    }
    let l = Rc::new(Local { env, queue, tsfn, pending: std::cell::Cell::new(0) });
    LOCAL.with(|slot| *slot.borrow_mut() = Some(l.clone()));
    Ok(l)
}

impl Local {
    fn add_pending(&self) {
        let n = self.pending.get();
        if n == 0 {
            // SAFETY: on the JS thread with the env the function was made in.
            unsafe { sys::napi_ref_threadsafe_function(self.env, self.tsfn) };
        }
        self.pending.set(n + 1);
    }

    fn done_pending(&self) {
        let n = self.pending.get().saturating_sub(1);
        self.pending.set(n);
        if n == 0 {
            // SAFETY: as in `add_pending`.
            unsafe { sys::napi_unref_threadsafe_function(self.env, self.tsfn) };
        }
    }
}

struct Deferred(sys::napi_deferred);

// SAFETY: only ever used on the JS thread (in a job); other threads merely carry it.
unsafe impl Send for Deferred {}

/// A promise handed to JS, to be settled from any thread. Dropped unsettled (its call was
/// cancelled, say at runtime shutdown), it rejects, so that nothing waits for it forever.
pub struct Pending<T: ToNapiValue + Send + 'static> {
    deferred: Option<Deferred>,
    queue: Arc<Queue>,
    _value: std::marker::PhantomData<fn(T)>,
}

impl<T: ToNapiValue + Send + 'static> Pending<T> {
    /// A new promise (on the JS thread) and its settler.
    pub fn new(env: &Env) -> Result<(Pending<T>, Object<'_>)> {
        let raw = env.raw();
        let l = local(raw)?;
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: on the JS thread with its env.
        check_status!(unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) })?;
        l.add_pending();
        let promise = Object::from_raw(raw, promise);
        Ok((
            Pending { deferred: Some(Deferred(deferred)), queue: l.queue.clone(), _value: std::marker::PhantomData },
            promise,
        ))
    }

    /// Settles the promise with `result` (from any thread: the value is made on the JS thread).
    pub fn settle(mut self, result: Result<T>) {
        if let Some(d) = self.deferred.take() {
            self.queue.push(Box::new(move |env| {
                if let Some(env) = env {
                    // SAFETY: a job runs on the JS thread with its env.
                    unsafe { settle_now(env, d, result) }
                }
            }));
        }
    }
}

impl<T: ToNapiValue + Send + 'static> Drop for Pending<T> {
    fn drop(&mut self) {
        if let Some(d) = self.deferred.take() {
            let e = crate::error::to_napi(crate::error::err(
                natsbridge::ErrorKind::Internal,
                "the call was dropped before it finished (is the runtime shutting down?)",
            ));
            self.queue.push(Box::new(move |env| {
                if let Some(env) = env {
                    // SAFETY: as in `settle`.
                    unsafe { settle_now::<T>(env, d, Err(e)) }
                }
            }));
        }
    }
}

/// Resolves or rejects `d` with `result`, on the JS thread.
unsafe fn settle_now<T: ToNapiValue>(env: sys::napi_env, d: Deferred, result: Result<T>) {
    let value = result.and_then(|v| unsafe { T::to_napi_value(env, v) });
    // SAFETY: on the JS thread with its env; `d` is settled exactly once.
    unsafe {
        match value {
            Ok(v) => {
                sys::napi_resolve_deferred(env, d.0, v);
            }
            Err(e) => match ToNapiValue::to_napi_value(env, e) {
                Ok(err) => {
                    sys::napi_reject_deferred(env, d.0, err);
                }
                Err(_) => {
                    let mut msg = ptr::null_mut();
                    let mut err = ptr::null_mut();
                    sys::napi_create_string_utf8(env, c"natsbridge: cannot make the error".as_ptr(), -1, &mut msg);
                    sys::napi_create_error(env, ptr::null_mut(), msg, &mut err);
                    sys::napi_reject_deferred(env, d.0, err);
                }
            },
        }
    }
    let _ = LOCAL.try_with(|l| {
        if let Some(l) = l.borrow().as_ref() {
            if l.env == env {
                l.done_pending();
            }
        }
    });
}
