"""The bodies of the seed's functions and of the subscription and consumer calls, shared by the
asyncio API and the blocking one (see ``_steps``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from . import _natsbridge as _nb
from ._common import (
    DownloadHandler,
    Envelope,
    Message,
    Payload,
    UploadHandler,
    check_table_type,
    envelope_dict,
    message_data,
    native_handler,
    native_table_type,
    receive_options,
)
from ._steps import Steps, call, send_steps

if TYPE_CHECKING:
    from ._bridge import BridgeCore


def plik_oneshot_upload(fileserver_url: str, dataname: str, data: bytes) -> Steps[Dict[str, Any]]:
    """Uploads ``data`` to a Plik-compatible file server (Plik itself, or the built-in
    ``natsbridge serve-files``) as a one-shot upload.

    Returns the seed's dict: ``{"status": 200, "uploadid": ..., "fileid": ..., "url": ...}``;
    ``url`` is where the bytes can be fetched. This is the default
    ``fileserver_upload_handler``; when it is passed as such, the engine runs its own native
    uploader instead of calling back into Python.

    Raises:
        UploadFailed: the server cannot be reached or refused the upload.
    """
    uploaded: Dict[str, Any] = yield from call(lambda host: _nb.plik_oneshot_upload(host, fileserver_url, dataname, data))
    return uploaded


def fetch_with_backoff(
    url: str,
    max_retries: int = 5,
    base_delay: int = 100,
    max_delay: int = 5000,
    correlation_id: str = "",
    *,
    max_bytes: Optional[int] = None,
) -> Steps[bytes]:
    """Downloads ``url`` with exponential backoff and jitter: ``max_retries`` attempts in all,
    waiting ``base_delay`` ms doubling up to ``max_delay`` ms between them. Connection errors,
    timeouts, HTTP 5xx and 429 are retried; 404 fails at once.

    This is the default ``fileserver_download_handler``; when it is passed as such, the engine
    fetches natively (and streams, checking size and digest) instead of calling into Python.
    ``correlation_id`` is accepted for the seed's call shape and unused. At most ``max_bytes``
    are read (2 GiB when ``None``; more is ``PayloadTooLarge``).

    Raises:
        PayloadNotFound: the server answered 404.
        DownloadFailed: every attempt failed.
        OriginNotAllowed: the URL is not http(s).
    """
    del correlation_id
    fetched: bytes = yield from call(
        lambda host: _nb.fetch_with_backoff(host, url, max_retries, base_delay, max_delay, max_bytes)
    )
    return fetched


def smartsend(
    subject: str,
    data: Sequence[Payload],
    broker_url: str,
    fileserver_url: str,
    fileserver_upload_handler: UploadHandler,
    size_threshold: int,
    correlation_id: Optional[str],
    msg_purpose: str,
    sender_name: str,
    receiver_name: str,
    receiver_id: str,
    reply_to: str,
    reply_to_msg_id: str,
    is_publish: bool,
    nats_connection: Optional[BridgeCore],
    msg_id: Optional[str],
    sender_id: Optional[str],
    metadata: Optional[Mapping[str, Any]],
    max_payload: Optional[int],
) -> Steps[Tuple[Envelope, str]]:
    """The seed's ``smartsend`` (its arguments in its order), through a Bridge when given."""
    opts = _nb.SendOptions(
        broker_url=broker_url,
        fileserver_url=fileserver_url,
        fileserver_upload_handler=native_handler(fileserver_upload_handler, "upload"),
        size_threshold=size_threshold,
        correlation_id=correlation_id,
        msg_purpose=msg_purpose,
        sender_name=sender_name,
        receiver_name=receiver_name,
        receiver_id=receiver_id,
        reply_to=reply_to,
        reply_to_msg_id=reply_to_msg_id,
        is_publish=is_publish,
        msg_id=msg_id,
        sender_id=sender_id,
        metadata=metadata,
        max_payload=max_payload,
    )
    client = nats_connection._client() if nats_connection is not None else None
    sent: Tuple[Envelope, str] = yield from send_steps(lambda host: _nb.smartsend(host, subject, data, opts, client))
    return sent


def smartreceive(
    msg: Any,
    fileserver_download_handler: DownloadHandler,
    max_retries: int,
    base_delay: int,
    max_delay: int,
    table_type: str,
    allowed_origins: Optional[Sequence[str]],
    max_in_memory: Optional[int],
    save_dir: Union[str, "os.PathLike[str]", None],
) -> Steps[Envelope]:
    """The seed's ``smartreceive`` (its arguments in its order)."""
    check_table_type(table_type)
    opts = receive_options(
        fileserver_download_handler=fileserver_download_handler,
        max_retries=max_retries,
        base_delay=base_delay,
        max_delay=max_delay,
        allowed_origins=allowed_origins,
        max_in_memory=max_in_memory,
        save_dir=save_dir,
    )
    data = message_data(msg)
    outcome = yield lambda host: _nb.smartreceive(host, data, opts)
    return envelope_dict(outcome.take(native_table_type(table_type)), table_type)


def next_envelope(handle: _nb.SubscriptionHandle, timeout: Optional[float], table_type: str) -> Steps[Optional[Envelope]]:
    """A subscription's next envelope, ``None`` after ``timeout`` seconds."""
    outcome = yield lambda host: handle.next(host, timeout)
    result = outcome.take(native_table_type(table_type))
    return None if result is None else envelope_dict(result, table_type)


def next_message(handle: _nb.SubscriptionHandle, timeout: Optional[float]) -> Steps[Optional[Message]]:
    """A raw subscription's next message, ``None`` after ``timeout`` seconds."""
    result = yield from call(lambda host: handle.next_message(host, timeout))
    return None if result is None else Message(*result)


def next_delivery(
    handle: _nb.ConsumerHandle, timeout: Optional[float], table_type: str
) -> Steps[Optional[Tuple[_nb.DeliveryHandle, Envelope, int]]]:
    """A consumer's next ``(handle, envelope, delivered)``, ``None`` after ``timeout`` seconds."""
    outcome = yield lambda host: handle.next(host, timeout)
    result = outcome.take(native_table_type(table_type))
    if result is None:
        return None
    delivery, header, payloads, delivered = result
    return delivery, envelope_dict((header, payloads), table_type), delivered
