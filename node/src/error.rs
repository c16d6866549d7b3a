//! Engine errors as JavaScript errors. A rejected native call carries the engine's stable kind
//! and numeric code in a fixed prefix of its message; the JS layer (`lib/errors.js`) turns that
//! into a `NATSBridgeError` whose `code` is the kind name and `errno` the number.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use napi::Status;
use napi_derive::napi;
use natsbridge::ErrorKind;

/// The stable error codes of the engine, by kind name (`ErrorCode.EnvelopeTooLarge === 6`).
/// `err.code` of a rejected call is the kind's name, `err.errno` its number.
#[napi]
pub enum ErrorCode {
    InvalidEnvelope = 1,
    UnknownPayloadType = 2,
    BadEncoding = 3,
    SizeMismatch = 4,
    DigestMismatch = 5,
    EnvelopeTooLarge = 6,
    UploadFailed = 7,
    DownloadFailed = 8,
    PayloadNotFound = 9,
    OriginNotAllowed = 10,
    PayloadTooLarge = 11,
    Connection = 12,
    Timeout = 13,
    InvalidArgument = 14,
    JetStream = 15,
    Io = 16,
    Closed = 17,
    NoResponders = 18,
    Handler = 19,
    Publish = 20,
    Internal = 21,
}

/// The binding's code for an engine kind. Exhaustive on purpose: a kind added to the engine does
/// not compile here until it has a code above (and the numbers must agree, see the unit test).
pub(crate) fn code_of(kind: ErrorKind) -> ErrorCode {
    match kind {
        ErrorKind::InvalidEnvelope => ErrorCode::InvalidEnvelope,
        ErrorKind::UnknownPayloadType => ErrorCode::UnknownPayloadType,
        ErrorKind::BadEncoding => ErrorCode::BadEncoding,
        ErrorKind::SizeMismatch => ErrorCode::SizeMismatch,
        ErrorKind::DigestMismatch => ErrorCode::DigestMismatch,
        ErrorKind::EnvelopeTooLarge => ErrorCode::EnvelopeTooLarge,
        ErrorKind::UploadFailed => ErrorCode::UploadFailed,
        ErrorKind::DownloadFailed => ErrorCode::DownloadFailed,
        ErrorKind::PayloadNotFound => ErrorCode::PayloadNotFound,
        ErrorKind::OriginNotAllowed => ErrorCode::OriginNotAllowed,
        ErrorKind::PayloadTooLarge => ErrorCode::PayloadTooLarge,
        ErrorKind::Connection => ErrorCode::Connection,
        ErrorKind::Timeout => ErrorCode::Timeout,
        ErrorKind::InvalidArgument => ErrorCode::InvalidArgument,
        ErrorKind::JetStream => ErrorCode::JetStream,
        ErrorKind::Io => ErrorCode::Io,
        ErrorKind::Closed => ErrorCode::Closed,
        ErrorKind::NoResponders => ErrorCode::NoResponders,
        ErrorKind::Handler => ErrorCode::Handler,
        ErrorKind::Publish => ErrorCode::Publish,
        ErrorKind::Internal => ErrorCode::Internal,
    }
}

/// Prefix of every native error message: `NATSBRIDGE[Kind|code] message`.
const PREFIX: &str = "NATSBRIDGE";

pub(crate) fn to_napi(e: natsbridge::Error) -> napi::Error {
    let kind = e.kind();
    debug_assert_eq!(code_of(kind) as i32, kind.code());
    napi::Error::new(Status::GenericFailure, format!("{PREFIX}[{}|{}] {}", kind.name(), kind.code(), e.message()))
}

pub(crate) fn err(kind: ErrorKind, message: impl Into<String>) -> natsbridge::Error {
    natsbridge::Error::new(kind, message)
}

pub(crate) fn argument(message: impl Into<String>) -> natsbridge::Error {
    err(ErrorKind::InvalidArgument, message)
}

fn panic_message(panic: Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// Runs an engine future: its error becomes a coded JS error and a panic an `Internal` one,
/// never an abort and never an uncoded rejection.
pub(crate) async fn guard<T>(fut: impl Future<Output = natsbridge::Result<T>>) -> napi::Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result.map_err(to_napi),
        Err(panic) => Err(to_napi(err(
            ErrorKind::Internal,
            format!("a bug in natsbridge (panic: {}); please report it", panic_message(panic)),
        ))),
    }
}

/// The synchronous counterpart of [`guard`].
pub(crate) fn guard_sync<T>(f: impl FnOnce() -> natsbridge::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(to_napi),
        Err(panic) => Err(to_napi(err(
            ErrorKind::Internal,
            format!("a bug in natsbridge (panic: {}); please report it", panic_message(panic)),
        ))),
    }
}

/// Panics on purpose, so the tests can check that a panic becomes a JS `Error` (code
/// `Internal`) and the process goes on. Not part of the public API.
#[napi(js_name = "__panicForTests", skip_typescript)]
pub fn panic_for_tests() -> napi::Result<()> {
    guard_sync(|| -> natsbridge::Result<()> { panic!("test panic (sync)") })
}

/// The async counterpart of [`panic_for_tests`]: the promise rejects with code `Internal`.
#[napi(js_name = "__panicForTestsAsync", skip_typescript)]
pub async fn panic_for_tests_async() -> napi::Result<()> {
    guard(async {
        if std::hint::black_box(true) {
            panic!("test panic (async)");
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_agree_with_the_engine() {
        for kind in ErrorKind::ALL {
            assert_eq!(code_of(kind) as i32, kind.code(), "{kind}");
        }
    }
}
