//! Options: connecting, sending (every seed option), receiving (the download options).

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use natsbridge::{ConnectOptions, ReceiveOptions, SendOptions};

use crate::error::{arg, cstr, guard, nb_result_t, opt_cstr, out, text};
use crate::handle::{self, get_mut, handle};
use crate::handlers::{nb_download_handler_t, nb_upload_handler_t, CDownloader, CUploader};

// ---------------------------------------------------------------------------------------------
// Connect options
// ---------------------------------------------------------------------------------------------

/// How to reach NATS: servers, credentials, TLS, reconnects. Create with
/// `nb_connect_options_new`, free with `nb_connect_options_free` (safe on NULL and twice).
/// `nb_client_connect` copies what it needs: free the options whenever you like.
pub struct nb_connect_options_t {
    pub(crate) inner: ConnectOptions,
}
handle!(nb_connect_options_t, 0x6e62_636f_7074_0001, "nb_connect_options_t");

/// New connect options for `servers`: one `nats://host:port` URL or several separated by commas;
/// NULL means `nats://localhost:4222`. Defaults: no credentials, no TLS, 60 reconnect attempts,
/// 5000 ms connect timeout, fail at once when the first connect fails.
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_new(
    servers: *const c_char,
    options: *mut *mut nb_connect_options_t,
) -> nb_result_t {
    guard(|| unsafe {
        let o = out(options, "options")?;
        *o = std::ptr::null_mut();
        let mut inner = ConnectOptions::default();
        if let Some(s) = opt_cstr(servers, "servers")? {
            inner.servers = vec![s.to_owned()];
        }
        handle::give(options, nb_connect_options_t { inner });
        Ok(())
    })
}

/// Frees connect options and sets `*options` to NULL. Safe on NULL and twice.
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_free(options: *mut *mut nb_connect_options_t) {
    crate::error::guard_void(|| unsafe { handle::free(options) })
}

unsafe fn with_connect(
    o: *mut nb_connect_options_t,
    f: impl FnOnce(&mut ConnectOptions) -> crate::error::R,
) -> nb_result_t {
    guard(|| unsafe { f(&mut get_mut(o, "options")?.inner) })
}

/// Adds one more server URL (or a comma-separated list).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_add_server(
    options: *mut nb_connect_options_t,
    server: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.servers.push(cstr(server, "server")?.to_owned());
            Ok(())
        })
    }
}

/// The connection name the server shows (NULL: none).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_name(
    options: *mut nb_connect_options_t,
    name: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.name = opt_cstr(name, "name")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// Token authentication (NULL: none).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_token(
    options: *mut nb_connect_options_t,
    token: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.token = opt_cstr(token, "token")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// User and password authentication: both or neither (NULL, NULL).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_user_password(
    options: *mut nb_connect_options_t,
    user: *const c_char,
    password: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            let u = opt_cstr(user, "user")?;
            let p = opt_cstr(password, "password")?;
            if u.is_some() != p.is_some() {
                return Err(arg("user and password must be given together (or both NULL)"));
            }
            o.user = u.map(str::to_owned);
            o.password = p.map(str::to_owned);
            Ok(())
        })
    }
}

/// NKey authentication with this seed (`SU...`; NULL: none).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_nkey_seed(
    options: *mut nb_connect_options_t,
    seed: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.nkey_seed = opt_cstr(seed, "seed")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// A `.creds` file (JWT + NKey seed) to authenticate with (NULL: none).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_creds_file(
    options: *mut nb_connect_options_t,
    path: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.creds_file = opt_cstr(path, "path")?.map(PathBuf::from);
            Ok(())
        })
    }
}

/// A PEM file of root certificates to trust for TLS (NULL: the system's).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_tls_ca(
    options: *mut nb_connect_options_t,
    path: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.tls_ca = opt_cstr(path, "path")?.map(PathBuf::from);
            Ok(())
        })
    }
}

/// A TLS client certificate and its key (PEM files): both or neither (NULL, NULL).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_tls_client_cert(
    options: *mut nb_connect_options_t,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            let c = opt_cstr(cert_path, "cert_path")?;
            let k = opt_cstr(key_path, "key_path")?;
            if c.is_some() != k.is_some() {
                return Err(arg("cert_path and key_path must be given together (or both NULL)"));
            }
            o.tls_cert = c.map(PathBuf::from);
            o.tls_key = k.map(PathBuf::from);
            Ok(())
        })
    }
}

/// Require TLS (default false; `tls://` URLs require it too).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_tls_required(
    options: *mut nb_connect_options_t,
    required: bool,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.tls_required = required;
            Ok(())
        })
    }
}

/// Reconnect attempts after a lost connection; a negative number reconnects forever (default 60).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_max_reconnects(
    options: *mut nb_connect_options_t,
    max_reconnects: i64,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.max_reconnects = usize::try_from(max_reconnects).ok();
            Ok(())
        })
    }
}

/// How long one connect attempt may take, in milliseconds (default 5000; must be > 0).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_connect_timeout_ms(
    options: *mut nb_connect_options_t,
    timeout_ms: u64,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            if timeout_ms == 0 {
                return Err(arg("connect timeout must be > 0 ms"));
            }
            o.connect_timeout = Duration::from_millis(timeout_ms);
            Ok(())
        })
    }
}

/// Keep retrying in the background when the first connect fails, instead of failing at once
/// (default false).
#[no_mangle]
pub unsafe extern "C" fn nb_connect_options_set_retry_on_initial_connect(
    options: *mut nb_connect_options_t,
    retry: bool,
) -> nb_result_t {
    unsafe {
        with_connect(options, |o| {
            o.retry_on_initial_connect = retry;
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Send options
// ---------------------------------------------------------------------------------------------

/// Options of sending (`nb_smartsend`, `nb_smartrequest`, `nb_reply`, `nb_jetstream_publish`),
/// with the original design's names and defaults: broker_url `nats://localhost:4222`,
/// fileserver_url `http://localhost:8080`, the Plik uploader, size_threshold 1000000,
/// msg_purpose `chat`, sender_name `NATSBridge`, is_publish true, generated ids, no metadata, no
/// timeout. Create with `nb_send_options_new`, free with `nb_send_options_free` (safe on NULL
/// and twice). Functions that take send options copy them: NULL means the defaults.
pub struct nb_send_options_t {
    pub(crate) inner: SendOptions,
    pub(crate) timeout_ms: i64,
}
handle!(nb_send_options_t, 0x6e62_736f_7074_0001, "nb_send_options_t");

pub(crate) static DEFAULT_SEND: std::sync::LazyLock<nb_send_options_t> =
    std::sync::LazyLock::new(|| nb_send_options_t { inner: SendOptions::default(), timeout_ms: -1 });

/// New send options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_new(options: *mut *mut nb_send_options_t) -> nb_result_t {
    guard(|| unsafe {
        let o = out(options, "options")?;
        *o = std::ptr::null_mut();
        handle::give(options, nb_send_options_t { inner: SendOptions::default(), timeout_ms: -1 });
        Ok(())
    })
}

/// Frees send options and sets `*options` to NULL. Safe on NULL and twice. A handler set on them
/// is dropped once no send that uses it is running.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_free(options: *mut *mut nb_send_options_t) {
    crate::error::guard_void(|| unsafe { handle::free(options) })
}

unsafe fn with_send(
    o: *mut nb_send_options_t,
    f: impl FnOnce(&mut nb_send_options_t) -> crate::error::R,
) -> nb_result_t {
    guard(|| unsafe { f(get_mut(o, "options")?) })
}

/// The `broker_url` written into the envelope (and the server used when sending without a client).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_broker_url(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.broker_url = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// The claim-check store link payloads are uploaded to (`http://...`).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_fileserver_url(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.fileserver_url = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `msg_purpose`: `chat` (default), `ACK`, `NACK`, `updateStatus`, `shutdown`, ...
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_msg_purpose(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.msg_purpose = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `sender_name` (default `NATSBridge`).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_sender_name(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.sender_name = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `receiver_name` (default empty).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_receiver_name(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.receiver_name = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `receiver_id` (default empty).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_receiver_id(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.receiver_id = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `reply_to`: the subject the receiver should answer on (default empty).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_reply_to(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.reply_to = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `reply_to_msg_id`: the `msg_id` this message answers (default empty).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_reply_to_msg_id(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.reply_to_msg_id = cstr(value, "value")?.to_owned();
            Ok(())
        })
    }
}

/// `correlation_id` (NULL: a new UUID v4 per message, the default).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_correlation_id(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.correlation_id = opt_cstr(value, "value")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// `msg_id` (NULL: a new UUID v4 per message, the default). JetStream de-duplicates by it.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_msg_id(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.msg_id = opt_cstr(value, "value")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// `sender_id` (NULL: a new UUID v4 per message, the default).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_sender_id(
    options: *mut nb_send_options_t,
    value: *const c_char,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.sender_id = opt_cstr(value, "value")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// Payloads of at least this many serialized bytes go by link (default 1000000). Smaller ones go
/// direct unless the envelope would not fit the server's `max_payload`.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_size_threshold(
    options: *mut nb_send_options_t,
    bytes: u64,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.size_threshold = bytes;
            Ok(())
        })
    }
}

/// `is_publish`: true (default) publishes; false only builds the envelope (uploading link
/// payloads) and hands it back (`nb_envelope_json`), to publish later with `nb_client_publish`
/// or `nb_jetstream_publish_json`.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_is_publish(
    options: *mut nb_send_options_t,
    is_publish: bool,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.is_publish = is_publish;
            Ok(())
        })
    }
}

/// The envelope's `metadata`: `len` bytes of JSON text that must be an object (NULL, 0: `{}`).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_metadata_json(
    options: *mut nb_send_options_t,
    json: *const c_char,
    len: usize,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            let s = text(json, len, "json")?;
            o.inner.metadata = if s.trim().is_empty() {
                Default::default()
            } else {
                match serde_json::from_str::<serde_json::Value>(s) {
                    Ok(serde_json::Value::Object(m)) => m,
                    Ok(_) => return Err(arg("metadata must be a JSON object")),
                    Err(e) => return Err(arg(format!("metadata is not valid JSON: {e}"))),
                }
            };
            Ok(())
        })
    }
}

/// The envelope size bound when no connection tells it (`is_publish` false, or a smaller bound
/// than the server's); 0 means unset (the server's, or 1 MiB without a connection).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_max_payload(options: *mut nb_send_options_t, bytes: usize) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.max_payload = (bytes > 0).then_some(bytes);
            Ok(())
        })
    }
}

/// A time limit for the whole sending call in milliseconds (uploads included); negative means
/// none (the default). On timeout the call fails with `NB_ERR_TIMEOUT`.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_timeout_ms(
    options: *mut nb_send_options_t,
    timeout_ms: i64,
) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.timeout_ms = timeout_ms;
            Ok(())
        })
    }
}

/// Uploads link payloads through `handler` instead of the Plik uploader. Takes ownership of the
/// handler: its `drop` runs exactly once, also when this call fails.
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_uploader(
    options: *mut nb_send_options_t,
    handler: nb_upload_handler_t,
) -> nb_result_t {
    guard(|| unsafe {
        let uploader = CUploader::new(handler)?;
        let o = get_mut(options, "options")?;
        o.inner.uploader = Arc::new(uploader);
        Ok(())
    })
}

/// Back to the default Plik uploader (dropping a user handler once no send uses it).
#[no_mangle]
pub unsafe extern "C" fn nb_send_options_set_plik_uploader(options: *mut nb_send_options_t) -> nb_result_t {
    unsafe {
        with_send(options, |o| {
            o.inner.uploader = Arc::new(natsbridge::store::PlikUploader);
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Receive options
// ---------------------------------------------------------------------------------------------

/// Options of receiving (the download options): max_retries 5, base_delay 100 ms, max_delay
/// 5000 ms, every http(s) origin allowed, 2 GiB in-memory cap, no save directory, the HTTP
/// fetcher, no timeout. Create with `nb_receive_options_new`, free with
/// `nb_receive_options_free` (safe on NULL and twice). Functions that take receive options copy
/// them: NULL means the defaults.
pub struct nb_receive_options_t {
    pub(crate) inner: ReceiveOptions,
    pub(crate) timeout_ms: i64,
}
handle!(nb_receive_options_t, 0x6e62_726f_7074_0001, "nb_receive_options_t");

pub(crate) static DEFAULT_RECEIVE: std::sync::LazyLock<nb_receive_options_t> =
    std::sync::LazyLock::new(|| nb_receive_options_t { inner: ReceiveOptions::default(), timeout_ms: -1 });

/// New receive options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_new(options: *mut *mut nb_receive_options_t) -> nb_result_t {
    guard(|| unsafe {
        let o = out(options, "options")?;
        *o = std::ptr::null_mut();
        handle::give(options, nb_receive_options_t { inner: ReceiveOptions::default(), timeout_ms: -1 });
        Ok(())
    })
}

/// Frees receive options and sets `*options` to NULL. Safe on NULL and twice. A handler set on
/// them is dropped once nothing that copied them (a subscription, a consumer) uses it.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_free(options: *mut *mut nb_receive_options_t) {
    crate::error::guard_void(|| unsafe { handle::free(options) })
}

unsafe fn with_receive(
    o: *mut nb_receive_options_t,
    f: impl FnOnce(&mut nb_receive_options_t) -> crate::error::R,
) -> nb_result_t {
    guard(|| unsafe { f(get_mut(o, "options")?) })
}

/// Download attempts in all for a link payload (default 5; 0 counts as 1).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_max_retries(
    options: *mut nb_receive_options_t,
    max_retries: u32,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.retry.max_retries = max_retries;
            Ok(())
        })
    }
}

/// The first retry's delay in milliseconds (default 100); it doubles per retry, with jitter.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_base_delay_ms(
    options: *mut nb_receive_options_t,
    ms: u64,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.retry.base_delay = Duration::from_millis(ms);
            Ok(())
        })
    }
}

/// The longest delay between retries in milliseconds (default 5000).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_max_delay_ms(
    options: *mut nb_receive_options_t,
    ms: u64,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.retry.max_delay = Duration::from_millis(ms);
            Ok(())
        })
    }
}

/// Allows link URLs from `origin` (`http://host:port`). Once one origin is added, URLs outside
/// the list are refused (`NB_ERR_ORIGIN_NOT_ALLOWED`) before connecting.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_add_allowed_origin(
    options: *mut nb_receive_options_t,
    origin: *const c_char,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            let origin = cstr(origin, "origin")?.to_owned();
            o.inner.allowed_origins.get_or_insert_with(Vec::new).push(origin);
            Ok(())
        })
    }
}

/// Forgets the allow-list: every http(s) origin is fetched again (the default).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_clear_allowed_origins(options: *mut nb_receive_options_t) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.allowed_origins = None;
            Ok(())
        })
    }
}

/// The largest link payload held in memory, in bytes (default 2 GiB). Larger ones fail with
/// `NB_ERR_PAYLOAD_TOO_LARGE` unless a save directory is set.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_max_in_memory(
    options: *mut nb_receive_options_t,
    bytes: u64,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.max_in_memory = bytes;
            Ok(())
        })
    }
}

/// Streams link payloads into files in `dir` (created when missing) instead of memory; such
/// payloads are read with `nb_payload_file_path`. NULL: keep them in memory (the default).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_save_dir(
    options: *mut nb_receive_options_t,
    dir: *const c_char,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.save_dir = opt_cstr(dir, "dir")?.map(PathBuf::from);
            Ok(())
        })
    }
}

/// A time limit for one receiving call (decoding and fetching) in milliseconds; negative means
/// none (the default).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_timeout_ms(
    options: *mut nb_receive_options_t,
    timeout_ms: i64,
) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.timeout_ms = timeout_ms;
            Ok(())
        })
    }
}

/// Fetches link payloads through `handler` instead of the HTTP fetcher. Takes ownership of the
/// handler: its `drop` runs exactly once, also when this call fails.
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_downloader(
    options: *mut nb_receive_options_t,
    handler: nb_download_handler_t,
) -> nb_result_t {
    guard(|| unsafe {
        let downloader = CDownloader::new(handler)?;
        let o = get_mut(options, "options")?;
        o.inner.downloader = Arc::new(downloader);
        Ok(())
    })
}

/// Back to the default HTTP fetcher (dropping a user handler once nothing uses it).
#[no_mangle]
pub unsafe extern "C" fn nb_receive_options_set_http_fetcher(options: *mut nb_receive_options_t) -> nb_result_t {
    unsafe {
        with_receive(options, |o| {
            o.inner.downloader = Arc::new(natsbridge::store::HttpFetcher);
            Ok(())
        })
    }
}

/// Send options given by the caller, or the defaults.
pub(crate) unsafe fn send_opts<'a>(p: *const nb_send_options_t) -> crate::error::R<&'a nb_send_options_t> {
    Ok(unsafe { handle::get_opt(p, "send options")? }.unwrap_or(&DEFAULT_SEND))
}

/// Receive options given by the caller, or the defaults.
pub(crate) unsafe fn receive_opts<'a>(p: *const nb_receive_options_t) -> crate::error::R<&'a nb_receive_options_t> {
    Ok(unsafe { handle::get_opt(p, "receive options")? }.unwrap_or(&DEFAULT_RECEIVE))
}
