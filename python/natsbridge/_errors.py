"""The exceptions NATSBridge raises.

Every error is a :class:`NATSBridgeError`; its subclass names the engine's error kind, and
``code`` / ``kind`` carry the engine's stable numeric code and name (the same in every language
NATSBridge serves: the C ABI returns the code, Node sets ``err.code`` to the name).
"""

from __future__ import annotations

from typing import ClassVar, Dict, Type

__all__ = [
    "NATSBridgeError",
    "InvalidEnvelope",
    "UnknownPayloadType",
    "BadEncoding",
    "SizeMismatch",
    "DigestMismatch",
    "EnvelopeTooLarge",
    "UploadFailed",
    "DownloadFailed",
    "PayloadNotFound",
    "OriginNotAllowed",
    "PayloadTooLarge",
    "Connection",
    "Timeout",
    "InvalidArgument",
    "JetStream",
    "Io",
    "Closed",
    "NoResponders",
    "Handler",
    "Publish",
    "Internal",
    "CLASSES_BY_KIND",
    "CLASSES_BY_CODE",
]


class NATSBridgeError(Exception):
    """Base class of every NATSBridge error.

    Attributes:
        code: the engine's stable numeric error code (0 for this base class).
        kind: the engine's error kind name, e.g. ``"EnvelopeTooLarge"``.
        message: what happened and, where it helps, what to do.
    """

    code: ClassVar[int] = 0
    kind: ClassVar[str] = "NATSBridgeError"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class InvalidEnvelope(NATSBridgeError):
    """The message is not a valid envelope (bad JSON, missing or wrongly typed fields)."""

    code: ClassVar[int] = 1
    kind: ClassVar[str] = "InvalidEnvelope"


class UnknownPayloadType(NATSBridgeError):
    """A payload type that is not one of the seven known ones."""

    code: ClassVar[int] = 2
    kind: ClassVar[str] = "UnknownPayloadType"


class BadEncoding(NATSBridgeError):
    """A payload's bytes do not decode as its type and encoding say (base64, UTF-8, JSON, Arrow)."""

    code: ClassVar[int] = 3
    kind: ClassVar[str] = "BadEncoding"


class SizeMismatch(NATSBridgeError):
    """The decoded or fetched byte count differs from the payload's ``size``."""

    code: ClassVar[int] = 4
    kind: ClassVar[str] = "SizeMismatch"


class DigestMismatch(NATSBridgeError):
    """The fetched bytes do not match the payload's ``sha256``."""

    code: ClassVar[int] = 5
    kind: ClassVar[str] = "DigestMismatch"


class EnvelopeTooLarge(NATSBridgeError):
    """The envelope cannot be made to fit the server's ``max_payload``."""

    code: ClassVar[int] = 6
    kind: ClassVar[str] = "EnvelopeTooLarge"


class UploadFailed(NATSBridgeError):
    """Uploading a payload to the claim-check store failed."""

    code: ClassVar[int] = 7
    kind: ClassVar[str] = "UploadFailed"


class DownloadFailed(NATSBridgeError):
    """Downloading a link payload failed after all retries."""

    code: ClassVar[int] = 8
    kind: ClassVar[str] = "DownloadFailed"


class PayloadNotFound(NATSBridgeError):
    """The claim-check store answered 404 for a link payload."""

    code: ClassVar[int] = 9
    kind: ClassVar[str] = "PayloadNotFound"


class OriginNotAllowed(NATSBridgeError):
    """A link URL outside the allow-list or with a scheme other than http(s)."""

    code: ClassVar[int] = 10
    kind: ClassVar[str] = "OriginNotAllowed"


class PayloadTooLarge(NATSBridgeError):
    """A payload is larger than the receiver's configured cap."""

    code: ClassVar[int] = 11
    kind: ClassVar[str] = "PayloadTooLarge"


class Connection(NATSBridgeError):
    """Connecting to NATS failed or the connection is unusable."""

    code: ClassVar[int] = 12
    kind: ClassVar[str] = "Connection"


class Timeout(NATSBridgeError, TimeoutError):
    """An operation did not complete in time."""

    code: ClassVar[int] = 13
    kind: ClassVar[str] = "Timeout"


class InvalidArgument(NATSBridgeError, ValueError):
    """An argument given by the caller is invalid."""

    code: ClassVar[int] = 14
    kind: ClassVar[str] = "InvalidArgument"


class JetStream(NATSBridgeError):
    """A JetStream operation failed."""

    code: ClassVar[int] = 15
    kind: ClassVar[str] = "JetStream"


class Io(NATSBridgeError):
    """A local file could not be read or written."""

    code: ClassVar[int] = 16
    kind: ClassVar[str] = "Io"


class Closed(NATSBridgeError):
    """The client, subscription or consumer has been closed."""

    code: ClassVar[int] = 17
    kind: ClassVar[str] = "Closed"


class NoResponders(NATSBridgeError):
    """A request found no subscriber on its subject."""

    code: ClassVar[int] = 18
    kind: ClassVar[str] = "NoResponders"


class Handler(NATSBridgeError):
    """A user-supplied upload or download handler failed."""

    code: ClassVar[int] = 19
    kind: ClassVar[str] = "Handler"


class Publish(NATSBridgeError):
    """Publishing to NATS failed."""

    code: ClassVar[int] = 20
    kind: ClassVar[str] = "Publish"


class Internal(NATSBridgeError):
    """A bug in this library; please report it."""

    code: ClassVar[int] = 21
    kind: ClassVar[str] = "Internal"


CLASSES_BY_KIND: Dict[str, Type[NATSBridgeError]] = {
    cls.kind: cls for cls in NATSBridgeError.__subclasses__()
}
"""Error class by kind name."""

CLASSES_BY_CODE: Dict[int, Type[NATSBridgeError]] = {cls.code: cls for cls in CLASSES_BY_KIND.values()}
"""Error class by numeric code."""
