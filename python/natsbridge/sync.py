"""The blocking twin of every call, for scripts and notebooks: ``from natsbridge import sync``.

Each call blocks with the GIL released while the engine works; Ctrl-C interrupts it
(``KeyboardInterrupt``, the engine's work is aborted). Handlers, sync or async, run on the
calling thread. The names, arguments and results are those of the asyncio API.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _natsbridge as _nb
from ._common import (
    DEFAULT_BROKER_URL,
    DEFAULT_FILESERVER_URL,
    DEFAULT_SIZE_THRESHOLD,
    BridgeConfig,
    DownloadHandler,
    Message,
    Payload,
    PublishAck,
    TableType,
    UploadHandler,
    check_table_type,
    envelope_dict,
    message_data,
    native_table_type,
    publish_ack,
    receive_options,
    send_options,
)
from ._errors import Closed, InvalidArgument, NATSBridgeError
from ._host import run_blocking, run_blocking_send

__all__ = [
    "smartsend",
    "smartreceive",
    "plik_oneshot_upload",
    "fetch_with_backoff",
    "Bridge",
    "Subscription",
    "JetStreamConsumer",
    "Delivery",
    "NATSBridge",
]

Envelope = Dict[str, Any]
ErrorCallback = Callable[[NATSBridgeError], Any]


def plik_oneshot_upload(fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
    """Blocking :func:`natsbridge.plik_oneshot_upload`: uploads ``data`` to a Plik-compatible
    server and returns ``{"status", "uploadid", "fileid", "url"}``."""
    return run_blocking(lambda h: _nb.plik_oneshot_upload(h, fileserver_url, dataname, data)).take()  # type: ignore[no-any-return]


setattr(plik_oneshot_upload, "_natsbridge_native", "upload")


def fetch_with_backoff(
    url: str,
    max_retries: int = 5,
    base_delay: int = 100,
    max_delay: int = 5000,
    correlation_id: str = "",
    *,
    max_bytes: Optional[int] = None,
) -> bytes:
    """Blocking :func:`natsbridge.fetch_with_backoff`: GET with exponential backoff, the bytes
    (at most ``max_bytes``)."""
    del correlation_id
    return run_blocking(lambda h: _nb.fetch_with_backoff(h, url, max_retries, base_delay, max_delay, max_bytes)).take()  # type: ignore[no-any-return]


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
    opts = send_options(
        broker_url=broker_url,
        fileserver_url=fileserver_url,
        fileserver_upload_handler=fileserver_upload_handler,
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
    return run_blocking_send(lambda h: _nb.smartsend(h, subject, data, opts, client))  # type: ignore[no-any-return]


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
    outcome = run_blocking(lambda h: _nb.smartreceive(h, data, opts))
    return envelope_dict(outcome.take(native_table_type(table_type)), table_type)


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
        outcome = run_blocking(lambda h: self._handle.next(h, timeout))
        result = outcome.take(native_table_type(self._table_type))
        return None if result is None else envelope_dict(result, self._table_type)

    def next_message(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next raw message (undecoded), or ``None`` after ``timeout`` seconds."""
        result = run_blocking(lambda h: self._handle.next_message(h, timeout)).take()
        return None if result is None else Message(*result)

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
        run_blocking(lambda h: self._handle.unsubscribe(h)).take()

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
        run_blocking(lambda h: self._handle.ack(h)).take()

    def nak(self, delay: Optional[float] = None) -> None:
        """Asks for redelivery, after ``delay`` seconds when given."""
        run_blocking(lambda h: self._handle.nak(h, delay)).take()


class JetStreamConsumer:
    """Blocking :class:`natsbridge.JetStreamConsumer`: ``for delivery in consumer``."""

    def __init__(self, handle: _nb.ConsumerHandle, on_error: Optional[ErrorCallback], table_type: str) -> None:
        self._handle = handle
        self._on_error = on_error
        self._table_type = table_type

    def next(self, timeout: Optional[float] = None) -> Optional[Delivery]:
        """The next delivery, or ``None`` after ``timeout`` seconds."""
        result = run_blocking(lambda h: self._handle.next(h, timeout)).take(native_table_type(self._table_type))
        if result is None:
            return None
        handle, header, payloads, delivered = result
        return Delivery(handle, envelope_dict((header, payloads), self._table_type), delivered)

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


class Bridge:
    """Blocking :class:`natsbridge.Bridge`: ``with sync.Bridge("nats://localhost:4222") as b:``.
    Takes the same connection and default-setting arguments."""

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
        self._cfg = BridgeConfig(
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
        self._handle: Optional[_nb.ClientHandle] = None

    def _client(self) -> _nb.ClientHandle:
        if self._handle is None:
            raise Closed("the Bridge is not connected: use `with sync.Bridge(...)` or `bridge.connect()`")
        return self._handle

    @property
    def servers(self) -> List[str]:
        """The server URLs."""
        return list(self._cfg.servers)

    @property
    def is_connected(self) -> bool:
        """True between :meth:`connect` and :meth:`close`."""
        return self._handle is not None

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts."""
        return self._client().max_payload

    def connect(self) -> "Bridge":
        """Connects (once) and returns the bridge."""
        if self._handle is None:
            cfg = self._cfg
            self._handle = run_blocking(lambda h: _nb.connect(h, cfg.servers, **cfg.connect_kwargs)).take()
        return self

    def close(self) -> None:
        """Flushes and closes the connection."""
        handle, self._handle = self._handle, None
        if handle is not None:
            run_blocking(lambda h: handle.close(h)).take()

    def __enter__(self) -> "Bridge":
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def smartsend(
        self,
        subject: str,
        data: Sequence[Payload],
        *,
        fileserver_url: Optional[str] = None,
        fileserver_upload_handler: Optional[UploadHandler] = None,
        size_threshold: Optional[int] = None,
        correlation_id: Optional[str] = None,
        msg_purpose: str = "chat",
        sender_name: str = "NATSBridge",
        receiver_name: str = "",
        receiver_id: str = "",
        reply_to: str = "",
        reply_to_msg_id: str = "",
        is_publish: bool = True,
        msg_id: Optional[str] = None,
        sender_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Envelope, str]:
        """:func:`smartsend` through this connection; returns ``(env, env_json_str)``."""
        opts = self._cfg.send(
            fileserver_url=fileserver_url,
            fileserver_upload_handler=fileserver_upload_handler,
            size_threshold=size_threshold,
            correlation_id=correlation_id,
            msg_purpose=msg_purpose,
            sender_name=sender_name,
            receiver_name=receiver_name,
            receiver_id=receiver_id,
            reply_to=reply_to,
            reply_to_msg_id=reply_to_msg_id,
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
            is_publish=is_publish,
        )
        client = self._client()
        return run_blocking_send(lambda h: client.smartsend(h, subject, data, opts))  # type: ignore[no-any-return]

    def send(
        self,
        subject: str,
        data: Sequence[Payload],
        *,
        fileserver_url: Optional[str] = None,
        fileserver_upload_handler: Optional[UploadHandler] = None,
        size_threshold: Optional[int] = None,
        correlation_id: Optional[str] = None,
        msg_purpose: str = "chat",
        sender_name: str = "NATSBridge",
        receiver_name: str = "",
        receiver_id: str = "",
        reply_to: str = "",
        reply_to_msg_id: str = "",
        msg_id: Optional[str] = None,
        sender_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> str:
        """:meth:`smartsend` without its return value: returns only the envelope's ``msg_id``.

        Building the seed's ``(env, env_json_str)`` means two Python copies of the envelope
        (a large part of the cost of sending hundreds of kB); use this when you do not need them.
        """
        opts = self._cfg.send(
            fileserver_url=fileserver_url,
            fileserver_upload_handler=fileserver_upload_handler,
            size_threshold=size_threshold,
            correlation_id=correlation_id,
            msg_purpose=msg_purpose,
            sender_name=sender_name,
            receiver_name=receiver_name,
            receiver_id=receiver_id,
            reply_to=reply_to,
            reply_to_msg_id=reply_to_msg_id,
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
        )
        client = self._client()
        return run_blocking_send(lambda h: client.smartsend(h, subject, data, opts), lean=True)  # type: ignore[no-any-return]

    def smartrequest(
        self,
        subject: str,
        data: Sequence[Payload],
        timeout: float = 5.0,
        *,
        table_type: Optional[TableType] = None,
        fileserver_url: Optional[str] = None,
        fileserver_upload_handler: Optional[UploadHandler] = None,
        size_threshold: Optional[int] = None,
        correlation_id: Optional[str] = None,
        msg_purpose: str = "chat",
        sender_name: str = "NATSBridge",
        receiver_name: str = "",
        receiver_id: str = "",
        msg_id: Optional[str] = None,
        sender_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Envelope:
        """Sends and waits up to ``timeout`` seconds for the decoded reply."""
        tt = self._cfg.table(table_type)
        opts = self._cfg.send(
            fileserver_url=fileserver_url,
            fileserver_upload_handler=fileserver_upload_handler,
            size_threshold=size_threshold,
            correlation_id=correlation_id,
            msg_purpose=msg_purpose,
            sender_name=sender_name,
            receiver_name=receiver_name,
            receiver_id=receiver_id,
            reply_to="",
            reply_to_msg_id="",
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
        )
        client, receive = self._client(), self._cfg.receive
        outcome = run_blocking(lambda h: client.smartrequest(h, subject, data, opts, receive, timeout))
        return envelope_dict(outcome.take(native_table_type(tt)), tt)

    def reply(
        self,
        env: Mapping[str, Any],
        data: Sequence[Payload],
        *,
        fileserver_url: Optional[str] = None,
        fileserver_upload_handler: Optional[UploadHandler] = None,
        size_threshold: Optional[int] = None,
        msg_purpose: str = "chat",
        sender_name: str = "NATSBridge",
        receiver_name: str = "",
        receiver_id: str = "",
        msg_id: Optional[str] = None,
        sender_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Envelope, str]:
        """Answers a received envelope (to its ``reply_to``)."""
        opts = self._cfg.send(
            fileserver_url=fileserver_url,
            fileserver_upload_handler=fileserver_upload_handler,
            size_threshold=size_threshold,
            correlation_id=None,
            msg_purpose=msg_purpose,
            sender_name=sender_name,
            receiver_name=receiver_name,
            receiver_id=receiver_id,
            reply_to="",
            reply_to_msg_id="",
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
        )
        client = self._client()
        header = dict(env)
        return run_blocking(lambda h: client.reply(h, header, data, opts)).take()  # type: ignore[no-any-return]

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
        client, receive = self._client(), self._cfg.receive
        handle = run_blocking(lambda h: client.subscribe(h, subject, queue, receive)).take()
        return Subscription(handle, raw, on_error, tt)

    def publish(self, subject: str, payload: Union[bytes, bytearray, memoryview, str], reply: Optional[str] = None) -> None:
        """Publishes raw bytes (no envelope)."""
        client = self._client()
        run_blocking(lambda h: client.publish(h, subject, payload, reply)).take()

    def flush(self) -> None:
        """Waits until everything published so far has been written to the server."""
        client = self._client()
        run_blocking(lambda h: client.flush(h)).take()

    def ensure_stream(self, name: str, subjects: Union[str, Sequence[str]]) -> None:
        """Creates the JetStream stream ``name`` over ``subjects`` unless it exists."""
        client = self._client()
        subs = [subjects] if isinstance(subjects, str) else list(subjects)
        run_blocking(lambda h: client.ensure_stream(h, name, subs)).take()

    def jetstream_publish(
        self,
        subject: str,
        data: Sequence[Payload],
        *,
        fileserver_url: Optional[str] = None,
        fileserver_upload_handler: Optional[UploadHandler] = None,
        size_threshold: Optional[int] = None,
        correlation_id: Optional[str] = None,
        msg_purpose: str = "chat",
        sender_name: str = "NATSBridge",
        receiver_name: str = "",
        receiver_id: str = "",
        reply_to: str = "",
        reply_to_msg_id: str = "",
        msg_id: Optional[str] = None,
        sender_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Envelope, str, PublishAck]:
        """Publishes an envelope to JetStream (``Nats-Msg-Id`` = ``msg_id``) and waits for the ack."""
        opts = self._cfg.send(
            fileserver_url=fileserver_url,
            fileserver_upload_handler=fileserver_upload_handler,
            size_threshold=size_threshold,
            correlation_id=correlation_id,
            msg_purpose=msg_purpose,
            sender_name=sender_name,
            receiver_name=receiver_name,
            receiver_id=receiver_id,
            reply_to=reply_to,
            reply_to_msg_id=reply_to_msg_id,
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
        )
        client = self._client()
        env, env_json, ack = run_blocking(lambda h: client.jetstream_publish(h, subject, data, opts)).take()
        return env, env_json, publish_ack(ack)

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
        if ack not in ("auto", "manual"):
            raise InvalidArgument(f"ack must be 'auto' or 'manual', got {ack!r}")
        tt = self._cfg.table(table_type)
        client, receive = self._client(), self._cfg.receive
        handle = run_blocking(
            lambda h: client.jetstream_consumer(
                h,
                stream,
                durable,
                receive,
                filter_subject=filter_subject,
                manual_ack=ack == "manual",
                ack_wait=float(ack_wait),
                nak_delay=float(nak_delay),
                max_deliver=max_deliver,
            )
        ).take()
        return JetStreamConsumer(handle, on_error, tt)


class NATSBridge:
    """The seed's namespace, blocking: ``NATSBridge.smartsend(...)`` / ``NATSBridge.smartreceive(...)``."""

    smartsend = staticmethod(smartsend)
    smartreceive = staticmethod(smartreceive)
    plik_oneshot_upload = staticmethod(plik_oneshot_upload)
    fetch_with_backoff = staticmethod(fetch_with_backoff)
    _fetch_with_backoff = staticmethod(fetch_with_backoff)
    Bridge = Bridge
