//! Status codes, the thread's last error, and the guard every export runs its body in.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use natsbridge::{Error, ErrorKind};

/// The status every function returns: `NB_OK` (0) or one of the `NB_ERR_*` codes, which are the
/// engine's stable `ErrorKind` numbers (never renumbered). When a function fails,
/// `nb_last_error_message()` on the same thread says what went wrong.
pub type nb_result_t = i32;

/// Success.
pub const NB_OK: nb_result_t = 0;
/// The message is not a valid envelope (bad JSON, missing or wrongly typed fields).
pub const NB_ERR_INVALID_ENVELOPE: nb_result_t = 1;
/// A payload type that is not one of the seven known ones.
pub const NB_ERR_UNKNOWN_PAYLOAD_TYPE: nb_result_t = 2;
/// A payload's bytes do not decode as its type and encoding say (base64, UTF-8, JSON, Arrow).
pub const NB_ERR_BAD_ENCODING: nb_result_t = 3;
/// The decoded or fetched byte count differs from the payload's `size`.
pub const NB_ERR_SIZE_MISMATCH: nb_result_t = 4;
/// The fetched bytes do not match the payload's `sha256`.
pub const NB_ERR_DIGEST_MISMATCH: nb_result_t = 5;
/// The envelope cannot be made to fit the server's `max_payload`.
pub const NB_ERR_ENVELOPE_TOO_LARGE: nb_result_t = 6;
/// Uploading a payload to the claim-check store failed.
pub const NB_ERR_UPLOAD_FAILED: nb_result_t = 7;
/// Downloading a link payload failed after all retries.
pub const NB_ERR_DOWNLOAD_FAILED: nb_result_t = 8;
/// The claim-check store answered 404 for a link payload.
pub const NB_ERR_PAYLOAD_NOT_FOUND: nb_result_t = 9;
/// A link URL outside the allow-list or with a scheme other than http(s).
pub const NB_ERR_ORIGIN_NOT_ALLOWED: nb_result_t = 10;
/// A payload is larger than the receiver's configured cap.
pub const NB_ERR_PAYLOAD_TOO_LARGE: nb_result_t = 11;
/// Connecting to NATS failed or the connection is unusable.
pub const NB_ERR_CONNECTION: nb_result_t = 12;
/// An operation did not complete in time (also: no message arrived within a poll's timeout).
pub const NB_ERR_TIMEOUT: nb_result_t = 13;
/// An argument is invalid: a NULL pointer, text that is not UTF-8, a handle that is not live
/// (freed, or of another type), a value out of range.
pub const NB_ERR_INVALID_ARGUMENT: nb_result_t = 14;
/// A JetStream operation failed.
pub const NB_ERR_JETSTREAM: nb_result_t = 15;
/// A local file could not be read or written.
pub const NB_ERR_IO: nb_result_t = 16;
/// The client, subscription or consumer has been closed.
pub const NB_ERR_CLOSED: nb_result_t = 17;
/// A request found no subscriber on its subject.
pub const NB_ERR_NO_RESPONDERS: nb_result_t = 18;
/// A user-supplied upload or download handler failed.
pub const NB_ERR_HANDLER: nb_result_t = 19;
/// Publishing to NATS failed.
pub const NB_ERR_PUBLISH: nb_result_t = 20;
/// A bug in this library (a caught panic, for one); please report it.
pub const NB_ERR_INTERNAL: nb_result_t = 21;

pub(crate) type R<T = ()> = Result<T, Error>;

thread_local! {
    static LAST_ERROR: RefCell<(nb_result_t, CString)> = RefCell::new((NB_OK, CString::default()));
}

pub(crate) fn set_last_error(code: nb_result_t, message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = (code, text));
}

pub(crate) fn record(e: &Error) -> nb_result_t {
    set_last_error(e.code(), &e.to_string());
    e.code()
}

/// Runs an export's body: errors are recorded and become their code, panics become
/// `NB_ERR_INTERNAL`.
pub(crate) fn guard(f: impl FnOnce() -> R) -> nb_result_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => NB_OK,
        Ok(Err(e)) => record(&e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            set_last_error(NB_ERR_INTERNAL, &format!("Internal: natsbridge panicked: {what}"));
            NB_ERR_INTERNAL
        }
    }
}

/// For functions that return nothing (the `*_free` family): failures only set the last error.
pub(crate) fn guard_void(f: impl FnOnce() -> R) {
    let _ = guard(f);
}

pub(crate) fn arg(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

pub(crate) fn internal(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Internal, message)
}

/// A NUL-terminated UTF-8 argument that must be given.
pub(crate) unsafe fn cstr<'a>(p: *const c_char, what: &str) -> R<&'a str> {
    if p.is_null() {
        return Err(arg(format!("{what} is NULL")));
    }
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|e| arg(format!("{what} is not valid UTF-8: {e}")))
}

/// A NUL-terminated UTF-8 argument that may be NULL.
pub(crate) unsafe fn opt_cstr<'a>(p: *const c_char, what: &str) -> R<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        unsafe { cstr(p, what) }.map(Some)
    }
}

/// `len` bytes at `p`; NULL is accepted only with `len` 0.
pub(crate) unsafe fn slice<'a>(p: *const u8, len: usize, what: &str) -> R<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(arg(format!("{what} is NULL but its length is {len}")));
    }
    if len > isize::MAX as usize {
        return Err(arg(format!("{what}: length {len} is not a valid buffer length")));
    }
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// UTF-8 text of `len` bytes at `p`.
pub(crate) unsafe fn text<'a>(p: *const c_char, len: usize, what: &str) -> R<&'a str> {
    let bytes = unsafe { slice(p.cast(), len, what) }?;
    std::str::from_utf8(bytes).map_err(|e| arg(format!("{what} is not valid UTF-8: {e}")))
}

/// An out-parameter that must be given.
pub(crate) unsafe fn out<'a, T>(p: *mut T, what: &str) -> R<&'a mut T> {
    if p.is_null() {
        return Err(arg(format!("{what} (an output pointer) is NULL")));
    }
    Ok(unsafe { &mut *p })
}

/// Writes `value` where `p` points when `p` is not NULL.
pub(crate) unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        unsafe { p.write(value) };
    }
}

/// The message of the last failing `nb_*` call on this thread ("" when none has failed). The
/// pointer is owned by the library and stays valid until the next failing call on this thread;
/// copy it if you need it longer. Never NULL.
#[no_mangle]
pub extern "C" fn nb_last_error_message() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST_ERROR.try_with(|e| e.borrow().1.as_ptr()).unwrap_or(EMPTY.as_ptr())
}

/// The code of the last failing `nb_*` call on this thread (`NB_OK` when none has failed).
#[no_mangle]
pub extern "C" fn nb_last_error_code() -> nb_result_t {
    LAST_ERROR.try_with(|e| e.borrow().0).unwrap_or(NB_OK)
}

/// The stable name of a status code, as the golden vectors and every binding spell it:
/// `"Ok"`, `"InvalidEnvelope"`, ..., `"Internal"`; `"Unknown"` for a number that is no code.
/// A static string: never freed, never NULL.
#[no_mangle]
pub extern "C" fn nb_result_name(code: nb_result_t) -> *const c_char {
    const NAMES: [&CStr; 22] = [
        c"Ok",
        c"InvalidEnvelope",
        c"UnknownPayloadType",
        c"BadEncoding",
        c"SizeMismatch",
        c"DigestMismatch",
        c"EnvelopeTooLarge",
        c"UploadFailed",
        c"DownloadFailed",
        c"PayloadNotFound",
        c"OriginNotAllowed",
        c"PayloadTooLarge",
        c"Connection",
        c"Timeout",
        c"InvalidArgument",
        c"JetStream",
        c"Io",
        c"Closed",
        c"NoResponders",
        c"Handler",
        c"Publish",
        c"Internal",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or(c"Unknown").as_ptr()
}

/// The library's version (`"0.1.0"`, ...). A static string: never freed, never NULL.
#[no_mangle]
pub extern "C" fn nb_version() -> *const c_char {
    static VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_engine_codes_and_names() {
        let ours = [
            NB_ERR_INVALID_ENVELOPE,
            NB_ERR_UNKNOWN_PAYLOAD_TYPE,
            NB_ERR_BAD_ENCODING,
            NB_ERR_SIZE_MISMATCH,
            NB_ERR_DIGEST_MISMATCH,
            NB_ERR_ENVELOPE_TOO_LARGE,
            NB_ERR_UPLOAD_FAILED,
            NB_ERR_DOWNLOAD_FAILED,
            NB_ERR_PAYLOAD_NOT_FOUND,
            NB_ERR_ORIGIN_NOT_ALLOWED,
            NB_ERR_PAYLOAD_TOO_LARGE,
            NB_ERR_CONNECTION,
            NB_ERR_TIMEOUT,
            NB_ERR_INVALID_ARGUMENT,
            NB_ERR_JETSTREAM,
            NB_ERR_IO,
            NB_ERR_CLOSED,
            NB_ERR_NO_RESPONDERS,
            NB_ERR_HANDLER,
            NB_ERR_PUBLISH,
            NB_ERR_INTERNAL,
        ];
        assert_eq!(ours.len(), ErrorKind::ALL.len());
        for (code, kind) in ours.iter().zip(ErrorKind::ALL) {
            assert_eq!(*code, kind.code());
            let name = unsafe { CStr::from_ptr(nb_result_name(*code)) }.to_str().unwrap();
            assert_eq!(name, kind.name());
        }
        assert_eq!(unsafe { CStr::from_ptr(nb_result_name(99)) }.to_str().unwrap(), "Unknown");
        assert_eq!(unsafe { CStr::from_ptr(nb_result_name(-1)) }.to_str().unwrap(), "Unknown");
    }

    #[test]
    fn panics_become_internal() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, NB_ERR_INTERNAL);
        assert_eq!(nb_last_error_code(), NB_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(nb_last_error_message()) }.to_str().unwrap();
        assert!(msg.contains("boom"), "{msg}");
    }
}
