//! Subscriptions: drained by polling (`nb_subscription_next`) or delivered to a C callback on a
//! thread of their own.

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use natsbridge::decode_message;
use natsbridge::{Envelope, Error, ErrorKind, ReceiveOptions, Subscription};
use tokio::sync::Notify;

use crate::client::{check_subject, live_client, nb_client_t};
use crate::envelope::nb_envelope_t;
use crate::error::{cstr, guard, nb_result_t, opt_cstr, out, record, NB_OK, R};
use crate::handle::{self, get, handle};
use crate::handlers::Owned;
use crate::options::{nb_receive_options_t, receive_opts};
use crate::runtime::{block_on, block_on_timeout, call_out, duration};

/// A message callback: `call(context, status, envelope)` runs once per message, on the
/// subscription's own thread (one message after another; it may call other `nb_*` functions,
/// including `nb_reply` and `nb_subscription_free` of its own subscription).
///
/// With `status` `NB_OK`, `*envelope` is the decoded envelope, owned by the library and freed when
/// `call` returns; to keep it, take it: copy the pointer and set `*envelope = NULL` (you then free
/// it with `nb_envelope_free`). With any other status the message could not be decoded (the
/// subscription goes on): `*envelope` is NULL and `nb_last_error_message()`, called from inside
/// `call`, says why.
///
/// `drop(context)`, when not NULL, runs exactly once, on the subscription's thread after the last
/// `call` (or at once when subscribing fails).
#[repr(C)]
pub struct nb_envelope_callback_t {
    pub context: *mut c_void,
    pub call:
        Option<unsafe extern "C" fn(context: *mut c_void, status: nb_result_t, envelope: *mut *mut nb_envelope_t)>,
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// A subscription to a subject. Made by `nb_subscribe` (drained with `nb_subscription_next`) or
/// `nb_subscribe_callback` (messages go to a callback). Free with `nb_subscription_free` (safe on
/// NULL and twice), which also unsubscribes.
pub struct nb_subscription_t {
    kind: Kind,
}
handle!(nb_subscription_t, 0x6e62_7375_6273_0001, "nb_subscription_t");

#[allow(clippy::large_enum_variant)] // one per handle, boxed already
enum Kind {
    Polling { sub: tokio::sync::Mutex<Option<Subscription>>, receive: ReceiveOptions, timeout_ms: i64 },
    Callback { stop: Arc<Notify>, thread: Mutex<Option<JoinHandle<()>>>, thread_id: ThreadId },
}

impl Drop for nb_subscription_t {
    fn drop(&mut self) {
        if let Kind::Callback { .. } = self.kind {
            self.stop_callback();
        }
    }
}

impl nb_subscription_t {
    /// Stops a callback subscription's thread and waits for it (unless called from that thread).
    fn stop_callback(&self) {
        if let Kind::Callback { stop, thread, thread_id } = &self.kind {
            stop.notify_one();
            let handle = thread.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(h) = handle {
                if std::thread::current().id() != *thread_id {
                    let _ = call_out(|| h.join());
                }
            }
        }
    }
}

unsafe fn open(
    client: *const nb_client_t,
    subject: *const c_char,
    queue: *const c_char,
    options: *const nb_receive_options_t,
) -> R<(Subscription, ReceiveOptions, i64)> {
    unsafe {
        let c = live_client(client)?;
        let subject = check_subject(cstr(subject, "subject")?)?;
        let queue = opt_cstr(queue, "queue")?;
        let o = receive_opts(options)?;
        let receive = o.inner.clone();
        let sub = block_on_timeout(Some(Duration::from_secs(30)), "subscribe", async {
            match queue {
                Some(q) => c.queue_subscribe(subject, q, receive.clone()).await,
                None => c.subscribe(subject, receive.clone()).await,
            }
        })?;
        Ok((sub, receive, o.timeout_ms))
    }
}

/// Subscribes to `subject` (wildcards allowed) for polling with `nb_subscription_next`; with a
/// `queue` name (NULL: none) as a member of that queue group. Messages are decoded with
/// `options` (NULL: the defaults) when they are taken, on the thread that takes them, so a
/// download handler runs on that thread: the way for hosts whose code must not run on foreign
/// threads. On success `*subscription` is a new handle the caller frees.
#[no_mangle]
pub unsafe extern "C" fn nb_subscribe(
    client: *const nb_client_t,
    subject: *const c_char,
    queue: *const c_char,
    options: *const nb_receive_options_t,
    subscription: *mut *mut nb_subscription_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(subscription, "subscription")? = std::ptr::null_mut();
        let (sub, receive, timeout_ms) = open(client, subject, queue, options)?;
        let kind = Kind::Polling { sub: tokio::sync::Mutex::new(Some(sub)), receive, timeout_ms };
        handle::give(subscription, nb_subscription_t { kind });
        Ok(())
    })
}

struct Callback {
    call: unsafe extern "C" fn(*mut c_void, nb_result_t, *mut *mut nb_envelope_t),
    owned: Owned,
}

impl Callback {
    fn deliver(&self, result: R<Envelope>) {
        let ctx = self.owned.context();
        match result {
            Ok(env) => {
                let mut p = handle::new(nb_envelope_t::received(env));
                unsafe { (self.call)(ctx, NB_OK, &mut p) };
                let _ = unsafe { handle::free(&mut p) };
            }
            Err(e) => {
                let code = record(&e);
                let mut p: *mut nb_envelope_t = std::ptr::null_mut();
                unsafe { (self.call)(ctx, code, &mut p) };
            }
        }
    }
}

fn run_callback(mut sub: Subscription, receive: ReceiveOptions, timeout_ms: i64, cb: Callback, stop: Arc<Notify>) {
    loop {
        let next = block_on(async {
            tokio::select! {
                biased;
                _ = stop.notified() => None,
                m = sub.next_message() => m,
            }
        });
        let Some(msg) = next else { break };
        let result = block_on_timeout(duration(timeout_ms), "decoding a message", decode_message(msg, &receive));
        if catch_unwind(AssertUnwindSafe(|| cb.deliver(result))).is_err() {
            break;
        }
    }
    let _ = block_on_timeout(Some(Duration::from_secs(5)), "unsubscribe", async {
        sub.unsubscribe().await;
        Ok(())
    });
    drop(sub);
    drop(cb);
}

/// Subscribes to `subject` (wildcards allowed; `queue` as for `nb_subscribe`) and calls
/// `callback` for every message on a thread the library starts for this subscription. Takes
/// ownership of the callback: its `drop` runs exactly once, also when this call fails.
/// `nb_subscription_free` (or `nb_subscription_unsubscribe`) stops the thread and waits for a
/// `call` in progress, except when called from inside that `call`.
#[no_mangle]
pub unsafe extern "C" fn nb_subscribe_callback(
    client: *const nb_client_t,
    subject: *const c_char,
    queue: *const c_char,
    options: *const nb_receive_options_t,
    callback: nb_envelope_callback_t,
    subscription: *mut *mut nb_subscription_t,
) -> nb_result_t {
    guard(|| unsafe {
        let owned = Owned::new(callback.context, callback.drop);
        let call = callback.call.ok_or_else(|| crate::error::arg("callback.call is NULL"))?;
        let cb = Callback { call, owned };
        *out(subscription, "subscription")? = std::ptr::null_mut();
        let (sub, receive, timeout_ms) = open(client, subject, queue, options)?;
        let stop = Arc::new(Notify::new());
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("natsbridge-sub".to_owned())
            .spawn(move || run_callback(sub, receive, timeout_ms, cb, stop2))
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the subscription thread: {e}")))?;
        let thread_id = thread.thread().id();
        let kind = Kind::Callback { stop, thread: Mutex::new(Some(thread)), thread_id };
        handle::give(subscription, nb_subscription_t { kind });
        Ok(())
    })
}

/// Takes the next message of a polling subscription, waiting at most `timeout_ms` (0: do not
/// wait; negative: no limit), and decodes it on the calling thread. On success `*envelope` is a
/// new envelope the caller frees. Fails with `NB_ERR_TIMEOUT` when no message came in time
/// (nothing is lost: call again), `NB_ERR_CLOSED` when the subscription has ended (unsubscribed,
/// client closed), or the decoding error of that message (it is consumed; the subscription goes
/// on). A callback subscription fails with `NB_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn nb_subscription_next(
    subscription: *const nb_subscription_t,
    timeout_ms: i64,
    envelope: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(envelope, "envelope")? = std::ptr::null_mut();
        let s = get(subscription, "subscription")?;
        let Kind::Polling { sub, receive, timeout_ms: decode_ms } = &s.kind else {
            return Err(crate::error::arg("a callback subscription cannot be polled"));
        };
        let closed =
            || Error::new(ErrorKind::Closed, "the subscription has ended (unsubscribed, or the client closed)");
        let take = async {
            let mut guard = sub.lock().await;
            match guard.as_mut() {
                Some(s) => s.next_message().await.ok_or_else(closed),
                None => Err(closed()),
            }
        };
        let msg = match duration(timeout_ms) {
            None => block_on(take)?,
            Some(t) => block_on(async {
                tokio::time::timeout(t, take).await.unwrap_or_else(|_| {
                    Err(Error::new(ErrorKind::Timeout, format!("no message within {} ms", t.as_millis())))
                })
            })?,
        };
        let env = block_on_timeout(duration(*decode_ms), "decoding a message", decode_message(msg, receive))?;
        handle::give(envelope, nb_envelope_t::received(env));
        Ok(())
    })
}

/// Unsubscribes: no more messages arrive (for a callback subscription: its thread ends, waiting
/// for a `call` in progress unless called from inside it, and the callback's `drop` runs).
/// Afterwards `nb_subscription_next` answers `NB_ERR_CLOSED`. Twice is fine. The handle stays
/// allocated until `nb_subscription_free`.
#[no_mangle]
pub unsafe extern "C" fn nb_subscription_unsubscribe(subscription: *const nb_subscription_t) -> nb_result_t {
    guard(|| unsafe {
        let s = get(subscription, "subscription")?;
        match &s.kind {
            Kind::Polling { sub, .. } => block_on_timeout(Some(Duration::from_secs(10)), "unsubscribe", async {
                let taken = sub.lock().await.take();
                if let Some(mut t) = taken {
                    t.unsubscribe().await;
                }
                Ok(())
            }),
            Kind::Callback { .. } => {
                s.stop_callback();
                Ok(())
            }
        }
    })
}

/// Unsubscribes, frees the subscription and sets `*subscription` to NULL. Safe on NULL and twice.
#[no_mangle]
pub unsafe extern "C" fn nb_subscription_free(subscription: *mut *mut nb_subscription_t) {
    crate::error::guard_void(|| unsafe { handle::free(subscription) })
}
