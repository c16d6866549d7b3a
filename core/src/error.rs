//! One error type for the whole engine. Every kind has a stable numeric code that the C ABI,
//! Python, Node and Julia bindings expose unchanged, so a failure reads the same everywhere.

use std::fmt;

/// What went wrong, as a stable category. The numbers are part of the public ABI: never reuse or
/// renumber one; add new kinds at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    /// The message is not a valid envelope (bad JSON, missing or wrongly typed fields).
    InvalidEnvelope = 1,
    /// A payload type that is not one of the seven known ones.
    UnknownPayloadType = 2,
    /// A payload's bytes do not decode as its type and encoding say (base64, UTF-8, JSON, Arrow).
    BadEncoding = 3,
    /// The decoded or fetched byte count differs from the payload's `size`.
    SizeMismatch = 4,
    /// The fetched bytes do not match the payload's `sha256`.
    DigestMismatch = 5,
    /// The envelope cannot be made to fit the server's `max_payload`.
    EnvelopeTooLarge = 6,
    /// Uploading a payload to the claim-check store failed.
    UploadFailed = 7,
    /// Downloading a link payload failed after all retries.
    DownloadFailed = 8,
    /// The claim-check store answered 404 for a link payload.
    PayloadNotFound = 9,
    /// A link URL outside the allow-list or with a scheme other than http(s).
    OriginNotAllowed = 10,
    /// A payload is larger than the receiver's configured cap.
    PayloadTooLarge = 11,
    /// Connecting to NATS failed or the connection is unusable.
    Connection = 12,
    /// An operation did not complete in time.
    Timeout = 13,
    /// An argument given by the caller is invalid.
    InvalidArgument = 14,
    /// A JetStream operation failed.
    JetStream = 15,
    /// A local file could not be read or written.
    Io = 16,
    /// The client, subscription or consumer has been closed.
    Closed = 17,
    /// A request found no subscriber on its subject.
    NoResponders = 18,
    /// A user-supplied upload or download handler failed.
    Handler = 19,
    /// Publishing to NATS failed.
    Publish = 20,
    /// A bug in this library; please report it.
    Internal = 21,
}

impl ErrorKind {
    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 21] = [
        ErrorKind::InvalidEnvelope,
        ErrorKind::UnknownPayloadType,
        ErrorKind::BadEncoding,
        ErrorKind::SizeMismatch,
        ErrorKind::DigestMismatch,
        ErrorKind::EnvelopeTooLarge,
        ErrorKind::UploadFailed,
        ErrorKind::DownloadFailed,
        ErrorKind::PayloadNotFound,
        ErrorKind::OriginNotAllowed,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::InvalidArgument,
        ErrorKind::JetStream,
        ErrorKind::Io,
        ErrorKind::Closed,
        ErrorKind::NoResponders,
        ErrorKind::Handler,
        ErrorKind::Publish,
        ErrorKind::Internal,
    ];

    /// The stable numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The kind for a code, if there is one.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The stable name, as the golden vectors and every binding spell it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidEnvelope => "InvalidEnvelope",
            ErrorKind::UnknownPayloadType => "UnknownPayloadType",
            ErrorKind::BadEncoding => "BadEncoding",
            ErrorKind::SizeMismatch => "SizeMismatch",
            ErrorKind::DigestMismatch => "DigestMismatch",
            ErrorKind::EnvelopeTooLarge => "EnvelopeTooLarge",
            ErrorKind::UploadFailed => "UploadFailed",
            ErrorKind::DownloadFailed => "DownloadFailed",
            ErrorKind::PayloadNotFound => "PayloadNotFound",
            ErrorKind::OriginNotAllowed => "OriginNotAllowed",
            ErrorKind::PayloadTooLarge => "PayloadTooLarge",
            ErrorKind::Connection => "Connection",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::JetStream => "JetStream",
            ErrorKind::Io => "Io",
            ErrorKind::Closed => "Closed",
            ErrorKind::NoResponders => "NoResponders",
            ErrorKind::Handler => "Handler",
            ErrorKind::Publish => "Publish",
            ErrorKind::Internal => "Internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An engine error: a stable kind and a message that says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidEnvelope, message)
    }

    pub(crate) fn encoding(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadEncoding, message)
    }

    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn io(context: &str, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {err}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_round_trip() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code(), i as i32 + 1);
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::EnvelopeTooLarge.code(), 6);
    }
}
