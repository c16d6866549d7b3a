"""The blocking twin of every call, for scripts and notebooks: ``from natsbridge import sync``.

Each call blocks with the GIL released while the engine works; Ctrl-C interrupts it
(``KeyboardInterrupt``, the engine's work is aborted). Handlers, sync or async, run on the
calling thread. The names, arguments and results are those of the asyncio API.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _api, _bridge, _calls
from . import _natsbridge as _nb
from ._bridge import BridgeCore
from ._common import (
    DEFAULT_BROKER_URL,
    DEFAULT_FILESERVER_URL,
    DEFAULT_SIZE_THRESHOLD,
    BridgeConfig,
    DownloadHandler,
    Envelope,
    ErrorCallback,
    Message,
    Payload,
    TableType,
    UploadHandler,
)
from ._errors import Closed, InvalidArgument, NATSBridgeError
from ._steps import blocking_twin, call, run_sync

__all__: List[str] = []  # the names of the asyncio API
__all__ += _api.__all__

plik_oneshot_upload = blocking_twin(_calls.plik_oneshot_upload)
setattr(plik_oneshot_upload, "_natsbridge_native", "upload")

fetch_with_backoff = blocking_twin(_calls.fetch_with_backoff)
setattr(fetch_with_backoff, "_natsbridge_native", "download")


def smartsend(
    subject: str,
    data: Sequence[Payload],
    broker_url: str = DEFAULT_BROKER_URL,
    fileserver_url: str = DEFAULT_FILESERVER_URL,
    fileserver_upload_handler: UploadHandler = plik_oneshot_upload,
    size_threshold: int = DEFAULT_SIZE_THRESHOLD,
    correlation_id: Optional[str] = None,
    msg_purpose: str = "chat",
    sender_name: str = "NATSBridge",
    receiver_name: str = "",
    receiver_id: str = "",
    reply_to: str = "",
    reply_to_msg_id: str = "",
    is_publish: bool = True,
    nats_connection: Optional["Bridge"] = None,
    msg_id: Optional[str] = None,
    sender_id: Optional[str] = None,
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    max_payload: Optional[int] = None,
) -> Tuple[Envelope, str]:
    """Blocking :func:`natsbridge.smartsend`; returns ``(env, env_json_str)``.

    ``nats_connection`` may be a :class:`natsbridge.sync.Bridge` (a nats-py client is asyncio
    only: use the asyncio API with it)."""
    if nats_connection is not None and not isinstance(nats_connection, Bridge):
        raise InvalidArgument(
            "natsbridge.sync.smartsend takes a natsbridge.sync.Bridge as nats_connection; "
            "a nats-py client needs the asyncio API (await natsbridge.smartsend(...))"
        )
    # The seed's arguments, in its order (see _calls.smartsend).
    steps = _calls.smartsend(
        subject, data, broker_url, fileserver_url, fileserver_upload_handler, size_threshold, correlation_id,
        msg_purpose, sender_name, receiver_name, receiver_id, reply_to, reply_to_msg_id,
        is_publish, nats_connection, msg_id, sender_id, metadata, max_payload,
    )
    return run_sync(steps)


def smartreceive(
    msg: Any,
    fileserver_download_handler: DownloadHandler = fetch_with_backoff,
    max_retries: int = 5,
    base_delay: int = 100,
    max_delay: int = 5000,
    *,
    table_type: TableType = "pandas",
    allowed_origins: Optional[Sequence[str]] = None,
    max_in_memory: Optional[int] = None,
    save_dir: Union[str, "os.PathLike[str]", None] = None,
) -> Envelope:
    """Blocking :func:`natsbridge.smartreceive`: the header fields plus ``payloads``."""
    steps = _calls.smartreceive(
        msg, fileserver_download_handler, max_retries, base_delay, max_delay,
        table_type, allowed_origins, max_in_memory, save_dir,
    )
    return run_sync(steps)


class Subscription:
    """Blocking :class:`natsbridge.Subscription`: ``for env in bridge.subscribe("subject")``."""

    def __init__(
        self, handle: _nb.SubscriptionHandle, raw: bool, on_error: Optional[ErrorCallback], table_type: str
    ) -> None:
        self._handle = handle
        self._raw = raw
        self._on_error = on_error
        self._table_type = table_type

    def next(self, timeout: Optional[float] = None) -> Optional[Envelope]:
        """The next envelope, or ``None`` after ``timeout`` seconds. Raises ``Closed`` at the end."""
        return run_sync(_calls.next_envelope(self._handle, timeout, self._table_type))

    def next_message(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next raw message (undecoded), or ``None`` after ``timeout`` seconds."""
        return run_sync(_calls.next_message(self._handle, timeout))

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                return self.next_message() if self._raw else self.next()
            except Closed:
                raise StopIteration from None
            except NATSBridgeError as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)

    def unsubscribe(self) -> None:
        """Stops the subscription; iteration then ends."""
        run_sync(call(self._handle.unsubscribe))

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unsubscribe()


class Delivery:
    """Blocking :class:`natsbridge.Delivery`."""

    def __init__(self, handle: _nb.DeliveryHandle, envelope: Envelope, delivered: int) -> None:
        self._handle = handle
        self.envelope = envelope
        self.delivered = delivered

    def ack(self) -> None:
        """Acknowledges the delivery."""
        run_sync(call(self._handle.ack))

    def nak(self, delay: Optional[float] = None) -> None:
        """Asks for redelivery, after ``delay`` seconds when given."""
        handle = self._handle
        run_sync(call(lambda host: handle.nak(host, delay)))


class JetStreamConsumer:
    """Blocking :class:`natsbridge.JetStreamConsumer`: ``for delivery in consumer``."""

    def __init__(self, handle: _nb.ConsumerHandle, on_error: Optional[ErrorCallback], table_type: str) -> None:
        self._handle = handle
        self._on_error = on_error
        self._table_type = table_type

    def next(self, timeout: Optional[float] = None) -> Optional[Delivery]:
        """The next delivery, or ``None`` after ``timeout`` seconds."""
        result = run_sync(_calls.next_delivery(self._handle, timeout, self._table_type))
        return None if result is None else Delivery(*result)

    def __iter__(self) -> Iterator[Delivery]:
        return self

    def __next__(self) -> Delivery:
        while True:
            try:
                d = self.next()
            except Closed:
                raise StopIteration from None
            except NATSBridgeError as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)
                continue
            if d is not None:
                return d


class Bridge(BridgeCore):
    """Blocking :class:`natsbridge.Bridge`: ``with sync.Bridge("nats://localhost:4222") as b:``.
    Takes the same connection and default-setting arguments."""

    _how_to_connect = "`with sync.Bridge(...)` or `bridge.connect()`"

    def __init__(
        self,
        servers: Union[str, Sequence[str]] = DEFAULT_BROKER_URL,
        *,
        name: Optional[str] = None,
        token: Optional[str] = None,
        user: Optional[str] = None,
        password: Optional[str] = None,
        nkeys_seed: Optional[str] = None,
        nkeys_seed_str: Optional[str] = None,
        creds: Optional[str] = None,
        user_credentials: Optional[str] = None,
        tls: Any = None,
        tls_ca: Optional[str] = None,
        tls_cert: Optional[str] = None,
        tls_key: Optional[str] = None,
        connect_timeout: float = 5.0,
        max_reconnects: Optional[int] = 60,
        retry_on_initial_connect: bool = False,
        fileserver_url: str = DEFAULT_FILESERVER_URL,
        fileserver_upload_handler: UploadHandler = plik_oneshot_upload,
        fileserver_download_handler: DownloadHandler = fetch_with_backoff,
        size_threshold: int = DEFAULT_SIZE_THRESHOLD,
        max_retries: int = 5,
        base_delay: int = 100,
        max_delay: int = 5000,
        table_type: TableType = "pandas",
        allowed_origins: Optional[Sequence[str]] = None,
        max_in_memory: Optional[int] = None,
        save_dir: Union[str, "os.PathLike[str]", None] = None,
    ) -> None:
        super().__init__(
            BridgeConfig(
                servers,
                name=name,
                token=token,
                user=user,
                password=password,
                nkeys_seed=nkeys_seed,
                nkeys_seed_str=nkeys_seed_str,
                creds=creds or user_credentials,
                tls=tls,
                tls_ca=tls_ca,
                tls_cert=tls_cert,
                tls_key=tls_key,
                connect_timeout=connect_timeout,
                max_reconnects=max_reconnects,
                retry_on_initial_connect=retry_on_initial_connect,
                fileserver_url=fileserver_url,
                fileserver_upload_handler=fileserver_upload_handler,
                fileserver_download_handler=fileserver_download_handler,
                size_threshold=size_threshold,
                max_retries=max_retries,
                base_delay=base_delay,
                max_delay=max_delay,
                table_type=table_type,
                allowed_origins=allowed_origins,
                max_in_memory=max_in_memory,
                save_dir=save_dir,
            )
        )

    def connect(self) -> "Bridge":
        """Connects (once) and returns the bridge."""
        if self._handle is None:
            cfg = self._cfg
            self._handle = run_sync(call(lambda host: _nb.connect(host, cfg.servers, **cfg.connect_kwargs)))
        return self

    def close(self) -> None:
        """Flushes and closes the connection."""
        handle, self._handle = self._handle, None
        if handle is not None:
            run_sync(call(handle.close))

    def __enter__(self) -> "Bridge":
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    smartsend = blocking_twin(_bridge.smartsend)
    send = blocking_twin(_bridge.send)
    smartrequest = blocking_twin(_bridge.smartrequest)
    reply = blocking_twin(_bridge.reply)
    publish = blocking_twin(_bridge.publish)
    flush = blocking_twin(_bridge.flush)
    ensure_stream = blocking_twin(_bridge.ensure_stream)
    jetstream_publish = blocking_twin(_bridge.jetstream_publish)

    def subscribe(
        self,
        subject: str,
        queue: Optional[str] = None,
        *,
        raw: bool = False,
        on_error: Optional[ErrorCallback] = None,
        table_type: Optional[TableType] = None,
    ) -> Subscription:
        """Subscribes to ``subject`` (in place when this returns)."""
        tt = self._cfg.table(table_type)
        return Subscription(run_sync(_bridge.subscribe(self, subject, queue)), raw, on_error, tt)

    def jetstream_consumer(
        self,
        stream: str,
        durable: str,
        *,
        filter_subject: Optional[str] = None,
        ack: str = "auto",
        ack_wait: float = 30.0,
        nak_delay: float = 1.0,
        max_deliver: int = -1,
        on_error: Optional[ErrorCallback] = None,
        table_type: Optional[TableType] = None,
    ) -> JetStreamConsumer:
        """A durable pull consumer (see :meth:`natsbridge.Bridge.jetstream_consumer`)."""
        tt = self._cfg.table(table_type)
        handle = run_sync(
            _bridge.jetstream_consumer(self, stream, durable, filter_subject, ack, ack_wait, nak_delay, max_deliver)
        )
        return JetStreamConsumer(handle, on_error, tt)


class NATSBridge:
    """The seed's namespace, blocking: ``NATSBridge.smartsend(...)`` / ``NATSBridge.smartreceive(...)``."""

    smartsend = staticmethod(smartsend)
    smartreceive = staticmethod(smartreceive)
    plik_oneshot_upload = staticmethod(plik_oneshot_upload)
    fetch_with_backoff = staticmethod(fetch_with_backoff)
    _fetch_with_backoff = staticmethod(fetch_with_backoff)
    Bridge = Bridge
