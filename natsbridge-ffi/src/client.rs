//! The client: connecting, sending, request-reply, publishing, and the store helpers.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use natsbridge::store::UploadBody;
use natsbridge::{Client, ConnectOptions, Envelope, Error, ErrorKind};

use crate::alloc::give_to;
use crate::envelope::nb_envelope_t;
use crate::error::{arg, cstr, guard, nb_result_t, opt_cstr, out, slice, R};
use crate::handle::{self, get, get_opt, handle};
use crate::options::{nb_connect_options_t, nb_receive_options_t, nb_send_options_t, receive_opts, send_opts};
use crate::payloads::nb_payloads_t;
use crate::runtime::{block_on, block_on_timeout, duration};

/// A connection to NATS (with the options it was made with). Create with `nb_client_connect`,
/// close with `nb_client_close`, free with `nb_client_free` (safe on NULL and twice). One client
/// may be used from several threads at once. Subscriptions and consumers made from it are handles
/// of their own: freeing the client does not end them, closing it does.
pub struct nb_client_t {
    pub(crate) client: Client,
    closed: AtomicBool,
}
handle!(nb_client_t, 0x6e62_636c_6e74_0001, "nb_client_t");

impl nb_client_t {
    /// The engine client, unless this client has been closed.
    pub(crate) fn live(&self) -> R<&Client> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the client has been closed (nb_client_close)"));
        }
        Ok(&self.client)
    }
}

pub(crate) unsafe fn live_client<'a>(c: *const nb_client_t) -> R<&'a Client> {
    unsafe { get(c, "client") }?.live()
}

fn connect(opts: ConnectOptions, out_client: *mut *mut nb_client_t) -> R {
    // The connect timeout bounds each attempt; the whole call gets a little more.
    let limit = opts.connect_timeout.saturating_mul(2).saturating_add(Duration::from_secs(1));
    let retry = opts.retry_on_initial_connect;
    let fut = Client::connect(opts);
    let client = if retry { block_on(fut)? } else { block_on_timeout(Some(limit), "connecting to NATS", fut)? };
    unsafe { handle::give(out_client, nb_client_t { client, closed: AtomicBool::new(false) }) };
    Ok(())
}

/// Connects with `options` (NULL: `nats://localhost:4222` with the defaults). Fails with
/// `NB_ERR_CONNECTION` when the server cannot be reached, `NB_ERR_INVALID_ARGUMENT` for bad
/// options. On success `*client` is a new client the caller frees; on failure NULL.
#[no_mangle]
pub unsafe extern "C" fn nb_client_connect(
    options: *const nb_connect_options_t,
    client: *mut *mut nb_client_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(client, "client")? = std::ptr::null_mut();
        let opts = get_opt(options, "options")?.map(|o| o.inner.clone()).unwrap_or_default();
        connect(opts, client)
    })
}

/// Connects to `servers` (one URL or several separated by commas) with the default options.
#[no_mangle]
pub unsafe extern "C" fn nb_client_connect_url(servers: *const c_char, client: *mut *mut nb_client_t) -> nb_result_t {
    guard(|| unsafe {
        *out(client, "client")? = std::ptr::null_mut();
        connect(ConnectOptions::new(cstr(servers, "servers")?), client)
    })
}

/// Flushes what was published, unsubscribes everything and closes the connection (waiting up to
/// 10 s). Afterwards every call with this client fails with `NB_ERR_CLOSED`, and its
/// subscriptions end (`nb_subscription_next` answers `NB_ERR_CLOSED`). Closing twice is fine.
/// The handle stays allocated until `nb_client_free`.
#[no_mangle]
pub unsafe extern "C" fn nb_client_close(client: *const nb_client_t) -> nb_result_t {
    guard(|| unsafe {
        let c = get(client, "client")?;
        if c.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let inner = c.client.clone();
        block_on_timeout(Some(Duration::from_secs(10)), "closing the client", async move { inner.close().await })
    })
}

/// Frees a client and sets `*client` to NULL. Safe on NULL and twice. Does not wait: close first
/// to be sure everything published has left.
#[no_mangle]
pub unsafe extern "C" fn nb_client_free(client: *mut *mut nb_client_t) {
    crate::error::guard_void(|| unsafe { handle::free(client) })
}

/// Waits until everything published so far has reached the server, at most `timeout_ms`
/// (negative: no limit).
#[no_mangle]
pub unsafe extern "C" fn nb_client_flush(client: *const nb_client_t, timeout_ms: i64) -> nb_result_t {
    guard(|| unsafe {
        let c = live_client(client)?;
        block_on_timeout(duration(timeout_ms), "flush", c.flush())
    })
}

/// The largest message the server accepts (its `max_payload`).
#[no_mangle]
pub unsafe extern "C" fn nb_client_max_payload(client: *const nb_client_t, max_payload: *mut usize) -> nb_result_t {
    guard(|| unsafe {
        *out(max_payload, "max_payload")? = live_client(client)?.max_payload();
        Ok(())
    })
}

/// Publishes `len` raw bytes at `data` on `subject` (with NATS reply subject `reply`, or NULL)
/// and flushes. With an envelope built by `nb_smartsend` with `is_publish` false
/// (`nb_envelope_json`), this is the second half of a two-step send.
#[no_mangle]
pub unsafe extern "C" fn nb_client_publish(
    client: *const nb_client_t,
    subject: *const c_char,
    data: *const u8,
    len: usize,
    reply: *const c_char,
) -> nb_result_t {
    guard(|| unsafe {
        let c = live_client(client)?;
        let subject = check_subject(cstr(subject, "subject")?)?.to_owned();
        let reply = opt_cstr(reply, "reply")?.map(str::to_owned);
        let payload = Bytes::copy_from_slice(slice(data, len, "data")?);
        block_on(async {
            let nats = c.nats();
            let r = match reply {
                Some(r) => nats.publish_with_reply(subject, r, payload).await,
                None => nats.publish(subject, payload).await,
            };
            r.map_err(|e| Error::new(ErrorKind::Publish, format!("publish failed: {e}")))?;
            c.flush().await
        })
    })
}

pub(crate) fn check_subject(s: &str) -> R<&str> {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace()) {
        return Err(arg(format!("{s:?} is not a valid NATS subject (empty or contains whitespace)")));
    }
    Ok(s)
}

unsafe fn give_sent(sent_out: *mut *mut nb_envelope_t, sent: natsbridge::Sent) {
    if !sent_out.is_null() {
        unsafe { handle::give(sent_out, nb_envelope_t::sent(sent)) };
    }
}

/// smartsend: serializes the payloads, sends the large ones (at least `size_threshold` bytes, or
/// whatever the envelope needs to fit the server's `max_payload`) to the claim-check store, and
/// publishes the envelope on `subject` — or, with `is_publish` false, only builds it.
///
/// `client` may be NULL: the library then uses (and keeps) one connection per `broker_url` of
/// the options, or no connection at all when `is_publish` is false. `options` NULL means the
/// defaults. `sent` (may be NULL) receives the envelope as built (`nb_envelope_json` gives its
/// JSON text); the caller frees it. Uploads, and an upload handler, run on the calling thread.
#[no_mangle]
pub unsafe extern "C" fn nb_smartsend(
    client: *const nb_client_t,
    subject: *const c_char,
    payloads: *const nb_payloads_t,
    options: *const nb_send_options_t,
    sent: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        crate::error::put(sent, std::ptr::null_mut());
        let c = get_opt(client, "client")?;
        let subject = cstr(subject, "subject")?;
        let items = get(payloads, "payloads")?.items.clone();
        let o = send_opts(options)?;
        let fut = async {
            match c {
                Some(c) => c.live()?.smartsend(subject, items, &o.inner).await,
                None => natsbridge::smartsend(subject, items, &o.inner).await,
            }
        };
        let result = block_on_timeout(duration(o.timeout_ms), "smartsend", fut)?;
        give_sent(sent, result);
        Ok(())
    })
}

/// smartrequest: sends the payloads with `reply_to` set to a fresh inbox and waits up to
/// `timeout_ms` (negative: no limit) for the decoded reply, which `*reply` receives (the caller
/// frees it). Fails with `NB_ERR_TIMEOUT` when no reply comes in time and `NB_ERR_NO_RESPONDERS`
/// when nobody listens on `subject`. `send_options` and `receive_options` may be NULL (defaults).
#[no_mangle]
pub unsafe extern "C" fn nb_smartrequest(
    client: *const nb_client_t,
    subject: *const c_char,
    payloads: *const nb_payloads_t,
    send_options: *const nb_send_options_t,
    receive_options: *const nb_receive_options_t,
    timeout_ms: i64,
    reply: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        *out(reply, "reply")? = std::ptr::null_mut();
        let c = live_client(client)?;
        let subject = cstr(subject, "subject")?;
        let items = get(payloads, "payloads")?.items.clone();
        let so = send_opts(send_options)?;
        let ro = receive_opts(receive_options)?;
        // The engine needs a finite wait: "no limit" is a very long one.
        let wait = duration(timeout_ms).unwrap_or(Duration::from_secs(365 * 24 * 3600));
        let env = block_on(c.smartrequest(subject, items, &so.inner, &ro.inner, wait))?;
        handle::give(reply, nb_envelope_t::received(env));
        Ok(())
    })
}

/// Answers a received envelope: sends the payloads to its `reply_to`, with `reply_to_msg_id` set
/// to its `msg_id` and the same `correlation_id`. `to` without a `reply_to` fails with
/// `NB_ERR_INVALID_ARGUMENT`. `options` may be NULL; `sent` (may be NULL) as for `nb_smartsend`.
#[no_mangle]
pub unsafe extern "C" fn nb_reply(
    client: *const nb_client_t,
    to: *const nb_envelope_t,
    payloads: *const nb_payloads_t,
    options: *const nb_send_options_t,
    sent: *mut *mut nb_envelope_t,
) -> nb_result_t {
    guard(|| unsafe {
        crate::error::put(sent, std::ptr::null_mut());
        let c = live_client(client)?;
        let to = get(to, "to")?;
        let items = get(payloads, "payloads")?.items.clone();
        let o = send_opts(options)?;
        let env = Envelope { header: to.header.clone(), payloads: Vec::new() };
        let result = block_on_timeout(duration(o.timeout_ms), "reply", c.reply(&env, items, &o.inner))?;
        give_sent(sent, result);
        Ok(())
    })
}

/// Uploads `len` bytes to a Plik-compatible store at `fileserver_url` (the default uploader's
/// one-shot upload) and answers the URL to fetch them from: a new string the caller frees with
/// `nb_string_free` (`*url_len` may be NULL). For upload handlers that wrap the default.
#[no_mangle]
pub unsafe extern "C" fn nb_plik_upload(
    fileserver_url: *const c_char,
    dataname: *const c_char,
    data: *const u8,
    len: usize,
    url: *mut *mut c_char,
    url_len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(url, "url")? = std::ptr::null_mut();
        let base = cstr(fileserver_url, "fileserver_url")?;
        let name = cstr(dataname, "dataname")?;
        let body = UploadBody::Bytes(Bytes::copy_from_slice(slice(data, len, "data")?));
        let u = block_on(natsbridge::store::plik_oneshot_upload(base, name, body))?;
        give_to(u.url.as_bytes(), url.cast(), url_len)
    })
}

/// Fetches `url` with the default downloader (HTTP GET with exponential backoff, using the retry
/// settings of `options`, NULL: the defaults) and answers the bytes: a new buffer the caller
/// frees with `nb_bytes_free`. Refuses non-http(s) URLs (`NB_ERR_ORIGIN_NOT_ALLOWED`) and bodies
/// over the in-memory cap; no size or digest check (nothing to check against). For download
/// handlers that wrap the default.
#[no_mangle]
pub unsafe extern "C" fn nb_http_fetch(
    url: *const c_char,
    options: *const nb_receive_options_t,
    data: *mut *mut u8,
    len: *mut usize,
) -> nb_result_t {
    guard(|| unsafe {
        *out(data, "data")? = std::ptr::null_mut();
        let url = cstr(url, "url")?;
        let o = receive_opts(options)?;
        let fetch = natsbridge::store::fetch_with_backoff(url, o.inner.retry, o.inner.max_in_memory);
        let bytes = block_on_timeout(duration(o.timeout_ms), "fetch", fetch)?;
        give_to(&bytes, data, len)
    })
}
