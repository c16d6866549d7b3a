//! User handlers written in C: upload and download handlers (the engine's `Uploader` and
//! `Downloader`), and the output buffer they answer through.

use std::ffi::{c_char, c_void, CString};

use bytes::Bytes;
use futures::future::BoxFuture;
use natsbridge::store::{ByteStream, DownloadRequest, Downloader, UploadBody, Uploader};
use natsbridge::{Error, ErrorKind};

use crate::error::{guard, nb_result_t, slice, NB_OK, R};
use crate::handle::{get_mut, handle};
use crate::runtime::call_out;

/// Where a handler writes its answer (a URL, downloaded bytes, or an error message). It belongs
/// to the library and lives only during the handler call: never keep it, never free it.
pub struct nb_out_t {
    buf: Vec<u8>,
}
handle!(nb_out_t, 0x6e62_6f75_7400_0001, "nb_out_t");

/// Runs `f` with a registered output buffer and returns what `f` returned and what was written.
fn with_out<T>(f: impl FnOnce(*mut nb_out_t) -> T) -> (T, Vec<u8>) {
    struct Registered(Box<nb_out_t>);
    impl Drop for Registered {
        fn drop(&mut self) {
            crate::handle::unregister(&*self.0 as *const nb_out_t as usize);
        }
    }
    let mut out = Registered(Box::new(nb_out_t { buf: Vec::new() }));
    let p: *mut nb_out_t = &mut *out.0;
    crate::handle::register(p as usize, <nb_out_t as crate::handle::Handle>::TAG);
    let r = f(p);
    let buf = std::mem::take(&mut out.0.buf);
    drop(out);
    (r, buf)
}

/// Replaces the contents of `out` with a copy of `len` bytes at `data` (NULL only with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn nb_out_set(out: *mut nb_out_t, data: *const u8, len: usize) -> nb_result_t {
    guard(|| unsafe {
        let o = get_mut(out, "out")?;
        let d = slice(data, len, "data")?;
        o.buf.clear();
        o.buf.extend_from_slice(d);
        Ok(())
    })
}

/// Appends a copy of `len` bytes at `data` to `out` (for handlers that receive in chunks).
#[no_mangle]
pub unsafe extern "C" fn nb_out_append(out: *mut nb_out_t, data: *const u8, len: usize) -> nb_result_t {
    guard(|| unsafe {
        let o = get_mut(out, "out")?;
        o.buf.extend_from_slice(slice(data, len, "data")?);
        Ok(())
    })
}

/// A user upload handler: stores a payload's serialized bytes somewhere and answers the URL they
/// can be fetched from. Set it with `nb_send_options_set_uploader`.
///
/// `call(context, fileserver_url, dataname, data, len, url_out)` must write the URL into
/// `url_out` with `nb_out_set` and return `NB_OK`. To fail, return any other value (an `NB_ERR_*`
/// code is kept as the error's kind, anything else becomes `NB_ERR_HANDLER`) and optionally
/// write an error message into `url_out`. The strings and bytes are valid only during the call.
/// File payloads are read into memory before the call.
///
/// Thread: `call` runs on the thread that called the sending function (`nb_smartsend`,
/// `nb_smartrequest`, `nb_reply`, `nb_jetstream_publish`), one upload after another. It may call
/// other `nb_*` functions (`nb_plik_upload` to wrap the default store, say); those run on a helper
/// thread while the handler waits. `drop(context)`, when not NULL, runs exactly once, when the
/// last send options holding the handler are freed (or at once when setting the handler fails).
#[repr(C)]
pub struct nb_upload_handler_t {
    pub context: *mut c_void,
    pub call: Option<
        unsafe extern "C" fn(
            context: *mut c_void,
            fileserver_url: *const c_char,
            dataname: *const c_char,
            data: *const u8,
            len: usize,
            url_out: *mut nb_out_t,
        ) -> nb_result_t,
    >,
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// A user download handler: fetches the bytes of a link payload. Set it with
/// `nb_receive_options_set_downloader`.
///
/// `call(context, url, size, max_retries, base_delay_ms, max_delay_ms, bytes_out)` must write
/// the bytes into `bytes_out` (`nb_out_set`, or `nb_out_append` chunk by chunk) and return
/// `NB_OK`. The retry settings are the receive options' (the handler retries as it sees fit);
/// `size` is the payload's announced size. To fail, return any other value (an `NB_ERR_*` code
/// such as `NB_ERR_PAYLOAD_NOT_FOUND` is kept, anything else becomes `NB_ERR_HANDLER`) and
/// optionally write an error message into `bytes_out`. The library checks the origin before the
/// call, and the size and digest of what the handler answers.
///
/// Thread: `call` runs on the thread that called the receiving function (`nb_smartreceive`,
/// `nb_subscription_next`, `nb_js_consumer_next`, `nb_smartrequest`), or on the subscription's
/// own thread for `nb_subscribe_callback`. It may call other `nb_*` functions (`nb_http_fetch` to
/// wrap the default fetcher, say); those run on a helper thread while the handler waits.
/// `drop(context)`, when not NULL, runs exactly once, when the last receive options holding the
/// handler are freed (or at once when setting the handler fails).
#[repr(C)]
pub struct nb_download_handler_t {
    pub context: *mut c_void,
    pub call: Option<
        unsafe extern "C" fn(
            context: *mut c_void,
            url: *const c_char,
            size: u64,
            max_retries: u32,
            base_delay_ms: u64,
            max_delay_ms: u64,
            bytes_out: *mut nb_out_t,
        ) -> nb_result_t,
    >,
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// The context and drop function of a C closure; runs `drop` exactly once.
pub(crate) struct Owned {
    context: *mut c_void,
    drop: Option<unsafe extern "C" fn(*mut c_void)>,
}

// The C side promises (header docs) that its context may be used from the library's threads.
unsafe impl Send for Owned {}
unsafe impl Sync for Owned {}

impl Owned {
    pub fn new(context: *mut c_void, drop: Option<unsafe extern "C" fn(*mut c_void)>) -> Self {
        Owned { context, drop }
    }

    pub fn context(&self) -> *mut c_void {
        self.context
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(d) = self.drop.take() {
            let ctx = self.context;
            call_out(|| unsafe { d(ctx) });
        }
    }
}

/// What a handler returned, as an engine error when it failed.
fn handler_result(what: &str, code: nb_result_t, out: &[u8]) -> R {
    if code == NB_OK {
        return Ok(());
    }
    let kind = ErrorKind::from_code(code).unwrap_or(ErrorKind::Handler);
    let detail = String::from_utf8_lossy(out);
    let message = if detail.is_empty() {
        format!("the {what} handler failed (returned {code})")
    } else {
        format!("the {what} handler failed (returned {code}): {detail}")
    };
    Err(Error::new(kind, message))
}

fn c_string(s: &str, what: &str) -> R<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorKind::Handler, format!("{what} contains a NUL byte")))
}

pub(crate) struct CUploader {
    call:
        unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *const u8, usize, *mut nb_out_t) -> nb_result_t,
    owned: Owned,
}

impl CUploader {
    /// Takes ownership of `h` (its drop runs once, also when this fails).
    pub fn new(h: nb_upload_handler_t) -> R<Self> {
        let owned = Owned::new(h.context, h.drop);
        let call = h.call.ok_or_else(|| crate::error::arg("the upload handler's call is NULL"))?;
        Ok(CUploader { call, owned })
    }
}

impl Uploader for CUploader {
    fn upload<'a>(
        &'a self,
        fileserver_url: &'a str,
        dataname: &'a str,
        body: UploadBody,
    ) -> BoxFuture<'a, natsbridge::Result<String>> {
        Box::pin(async move {
            let bytes = body.into_bytes().await?;
            let url = c_string(fileserver_url, "fileserver_url")?;
            let name = c_string(dataname, "dataname")?;
            let ctx = self.owned.context();
            let (code, buf) = with_out(|out| {
                call_out(|| unsafe { (self.call)(ctx, url.as_ptr(), name.as_ptr(), bytes.as_ptr(), bytes.len(), out) })
            });
            handler_result("upload", code, &buf)?;
            String::from_utf8(buf)
                .map_err(|_| Error::new(ErrorKind::Handler, "the upload handler's URL is not valid UTF-8"))
        })
    }
}

pub(crate) struct CDownloader {
    call: unsafe extern "C" fn(*mut c_void, *const c_char, u64, u32, u64, u64, *mut nb_out_t) -> nb_result_t,
    owned: Owned,
}

impl CDownloader {
    /// Takes ownership of `h` (its drop runs once, also when this fails).
    pub fn new(h: nb_download_handler_t) -> R<Self> {
        let owned = Owned::new(h.context, h.drop);
        let call = h.call.ok_or_else(|| crate::error::arg("the download handler's call is NULL"))?;
        Ok(CDownloader { call, owned })
    }
}

impl Downloader for CDownloader {
    fn download<'a>(&'a self, req: &'a DownloadRequest) -> BoxFuture<'a, natsbridge::Result<ByteStream>> {
        Box::pin(async move {
            let url = c_string(&req.url, "url")?;
            let ctx = self.owned.context();
            let retry = req.retry;
            let (code, buf) = with_out(|out| {
                call_out(|| unsafe {
                    (self.call)(
                        ctx,
                        url.as_ptr(),
                        req.size,
                        retry.max_retries,
                        retry.base_delay.as_millis() as u64,
                        retry.max_delay.as_millis() as u64,
                        out,
                    )
                })
            });
            handler_result("download", code, &buf)?;
            let bytes = Bytes::from(buf);
            let stream: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
            Ok(stream)
        })
    }
}
