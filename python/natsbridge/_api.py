"""The asyncio API: the seed's functions and the connection-holding ``Bridge``."""

from __future__ import annotations

import inspect
import os
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

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
from ._errors import Closed, InvalidArgument, NATSBridgeError, Publish
from ._host import loop_host

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


async def plik_oneshot_upload(fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
    """Uploads ``data`` to a Plik-compatible file server (Plik itself, or the built-in
    ``natsbridge serve-files``) as a one-shot upload.

    Returns the seed's dict: ``{"status": 200, "uploadid": ..., "fileid": ..., "url": ...}``;
    ``url`` is where the bytes can be fetched. This is the default
    ``fileserver_upload_handler``; when it is passed as such, the engine runs its own native
    uploader instead of calling back into Python.

    Raises:
        UploadFailed: the server cannot be reached or refused the upload.
    """
    h = loop_host()
    return (await h.result(_nb.plik_oneshot_upload(h.host, fileserver_url, dataname, data))).take()  # type: ignore[no-any-return]


setattr(plik_oneshot_upload, "_natsbridge_native", "upload")


async def fetch_with_backoff(
    url: str,
    max_retries: int = 5,
    base_delay: int = 100,
    max_delay: int = 5000,
    correlation_id: str = "",
    *,
    max_bytes: Optional[int] = None,
) -> bytes:
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
    h = loop_host()
    return (await h.result(_nb.fetch_with_backoff(h.host, url, max_retries, base_delay, max_delay, max_bytes))).take()  # type: ignore[no-any-return]


setattr(fetch_with_backoff, "_natsbridge_native", "download")


async def smartsend(
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
    nats_connection: Any = None,
    msg_id: Optional[str] = None,
    sender_id: Optional[str] = None,
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    max_payload: Optional[int] = None,
) -> Tuple[Envelope, str]:
    """Sends ``data``, a list of ``(dataname, value, type)`` tuples, as one envelope on ``subject``.

    Types and values: ``"text"`` str; ``"dictionary"`` dict or list (JSON); ``"table"``
    pandas.DataFrame, pyarrow.Table or pyarrow.RecordBatch (Arrow IPC); ``"image"``,
    ``"audio"``, ``"video"``, ``"binary"`` bytes, bytearray, memoryview, or a path
    (``os.PathLike``, e.g. ``pathlib.Path``) to a file, streamed from disk when it goes by link.

    Each payload of at least ``size_threshold`` serialized bytes is uploaded with
    ``fileserver_upload_handler`` to ``fileserver_url`` and only its URL travels ("link");
    the rest travel base64 inside the envelope ("direct"). Beyond the seed, the engine also
    makes sure the whole envelope fits the server's ``max_payload`` (base64 grows data by a
    third), moving the largest direct payloads to link until it does.

    The envelope is published on ``broker_url`` (one connection per URL is kept and reused), or
    through ``nats_connection``: a :class:`Bridge`, or a nats-py client (the envelope is then
    built here, within that client's ``max_payload``, and published with its ``publish``).
    With ``is_publish=False`` it is only built (link payloads are uploaded all the same).

    Returns:
        ``(env, env_json_str)``: the envelope as a dict and the JSON text that travels.

    Raises:
        InvalidArgument: a payload is not a ``(str, value, str)`` tuple, or its value does not
            match its type; an option has the wrong type.
        UnknownPayloadType: a type other than the seven.
        EnvelopeTooLarge: the envelope cannot be made to fit ``max_payload``.
        UploadFailed: a link payload could not be uploaded (``Handler`` if your handler failed).
        Connection, Publish: NATS could not be reached or refused the message.
    """
    h = loop_host()
    if nats_connection is not None and not isinstance(nats_connection, Bridge):
        publish = getattr(nats_connection, "publish", None)
        if publish is None:
            raise InvalidArgument(
                f"nats_connection must be a natsbridge.Bridge or a nats-py client, got {type(nats_connection).__name__}"
            )
        if max_payload is None:
            mp = getattr(nats_connection, "max_payload", None)
            max_payload = mp if isinstance(mp, int) and mp > 0 else None
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
            is_publish=False,
            msg_id=msg_id,
            sender_id=sender_id,
            metadata=metadata,
            max_payload=max_payload,
        )
        env, env_json = (await h.result(_nb.smartsend(h.host, subject, data, opts))).take()
        if is_publish:
            try:
                await publish(subject, env_json.encode())
            except Exception as exc:
                raise Publish(f"publishing through the nats-py connection failed: {exc}") from exc
        return env, env_json
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
    return await h.send(_nb.smartsend(h.host, subject, data, opts, client))  # type: ignore[no-any-return]


async def smartreceive(
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
    """Decodes a message into the seed's dict: the 13 header fields plus ``payloads``, a list of
    ``(dataname, data, type)`` tuples (:class:`ReceivedPayload`, which also carry ``id``,
    ``transport``, ``size`` and ``metadata``).

    ``msg`` may be a nats-py ``Msg`` (anything with ``.data``), bytes, bytearray, memoryview,
    str, a :class:`Message` from a raw subscription, or an envelope dict. Link payloads are
    fetched with ``fileserver_download_handler`` (``max_retries`` attempts, ``base_delay`` and
    ``max_delay`` in ms); their size, and digest when the sender wrote one, are checked.

    Tables come back as pandas DataFrames (``table_type="pandas"``, as in the seed), as
    ``pyarrow.Table`` (``"pyarrow"``, no copy) or as lists of row dicts (``"rows"``). Bytes types
    come back as ``bytes``. ``allowed_origins`` restricts link URLs to those origins;
    ``max_in_memory`` caps a link payload's size; with ``save_dir`` link payloads are streamed to
    files there and come back as ``pathlib.Path``.

    Raises:
        InvalidEnvelope, UnknownPayloadType, BadEncoding, SizeMismatch, DigestMismatch,
        OriginNotAllowed, PayloadNotFound, DownloadFailed, PayloadTooLarge, Handler.
    """
    check_table_type(table_type)
    h = loop_host()
    opts = receive_options(
        fileserver_download_handler=fileserver_download_handler,
        max_retries=max_retries,
        base_delay=base_delay,
        max_delay=max_delay,
        allowed_origins=allowed_origins,
        max_in_memory=max_in_memory,
        save_dir=save_dir,
    )
    outcome = await h.result(_nb.smartreceive(h.host, message_data(msg), opts))
    return envelope_dict(outcome.take(native_table_type(table_type)), table_type)


async def _call_error_callback(on_error: ErrorCallback, exc: NATSBridgeError) -> None:
    r = on_error(exc)
    if inspect.isawaitable(r):
        await r


class Subscription:
    """Messages on a subject, decoded: ``async for env in bridge.subscribe("subject")``.

    Awaiting it (``sub = await bridge.subscribe(...)``) makes sure the subscription is in place
    before you publish; iterating subscribes on first use. Each item is an envelope dict as
    :func:`smartreceive` returns (or a :class:`Message` with ``raw=True``). A message that fails
    to decode raises its error from the iteration (the subscription stays usable), or is passed
    to ``on_error`` and skipped. Iteration ends when the subscription or connection closes.
    """

    def __init__(
        self,
        bridge: "Bridge",
        subject: str,
        queue: Optional[str],
        raw: bool,
        on_error: Optional[ErrorCallback],
        table_type: str,
    ) -> None:
        self._bridge = bridge
        self.subject = subject
        self.queue = queue
        self._raw = raw
        self._on_error = on_error
        self._table_type = table_type
        self._handle: Optional[_nb.SubscriptionHandle] = None

    async def _start(self) -> _nb.SubscriptionHandle:
        if self._handle is None:
            h = loop_host()
            client = self._bridge._client()
            started = client.subscribe(h.host, self.subject, self.queue, self._bridge._cfg.receive)
            self._handle = (await h.result(started)).take()
        return self._handle

    def __await__(self) -> Any:
        async def ready() -> "Subscription":
            await self._start()
            return self

        return ready().__await__()

    async def next(self, timeout: Optional[float] = None) -> Optional[Envelope]:
        """The next envelope, or ``None`` when none arrives within ``timeout`` seconds.

        Raises:
            Closed: the subscription has ended.
        """
        handle = await self._start()
        h = loop_host()
        outcome = await h.result(handle.next(h.host, timeout))
        result = outcome.take(native_table_type(self._table_type))
        return None if result is None else envelope_dict(result, self._table_type)

    async def next_message(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next raw message (undecoded), or ``None`` after ``timeout`` seconds."""
        handle = await self._start()
        h = loop_host()
        result = (await h.result(handle.next_message(h.host, timeout))).take()
        return None if result is None else Message(*result)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                if self._raw:
                    return await self.next_message()
                return await self.next()
            except Closed:
                raise StopAsyncIteration from None
            except NATSBridgeError as exc:
                if self._on_error is None:
                    raise
                await _call_error_callback(self._on_error, exc)

    async def unsubscribe(self) -> None:
        """Stops the subscription; iteration then ends."""
        if self._handle is not None:
            h = loop_host()
            (await h.result(self._handle.unsubscribe(h.host))).take()

    async def __aenter__(self) -> "Subscription":
        await self._start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.unsubscribe()


class Delivery:
    """A JetStream delivery: the decoded ``envelope`` and how many times it was ``delivered``.
    With ``ack="manual"`` call :meth:`ack` (or :meth:`nak` to have it redelivered)."""

    def __init__(self, handle: _nb.DeliveryHandle, envelope: Envelope, delivered: int) -> None:
        self._handle = handle
        self.envelope = envelope
        self.delivered = delivered

    async def ack(self) -> None:
        """Acknowledges the delivery (a no-op when it was acked already)."""
        h = loop_host()
        (await h.result(self._handle.ack(h.host))).take()

    async def nak(self, delay: Optional[float] = None) -> None:
        """Asks for redelivery, after ``delay`` seconds when given."""
        h = loop_host()
        (await h.result(self._handle.nak(h.host, delay))).take()


class JetStreamConsumer:
    """A durable JetStream pull consumer: ``async for delivery in consumer``.

    With ``ack="auto"`` each envelope is acked once it has been received completely; a message
    whose link payload cannot be fetched now is naked (redelivered after ``nak_delay``) and one
    that can never decode is terminated, and its error is raised (or passed to ``on_error``).
    """

    def __init__(self, handle: _nb.ConsumerHandle, on_error: Optional[ErrorCallback], table_type: str) -> None:
        self._handle = handle
        self._on_error = on_error
        self._table_type = table_type

    async def next(self, timeout: Optional[float] = None) -> Optional[Delivery]:
        """The next delivery, or ``None`` when none arrives within ``timeout`` seconds."""
        h = loop_host()
        result = (await h.result(self._handle.next(h.host, timeout))).take(native_table_type(self._table_type))
        if result is None:
            return None
        handle, header, payloads, delivered = result
        return Delivery(handle, envelope_dict((header, payloads), self._table_type), delivered)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self

    async def __anext__(self) -> Delivery:
        while True:
            try:
                d = await self.next()
            except Closed:
                raise StopAsyncIteration from None
            except NATSBridgeError as exc:
                if self._on_error is None:
                    raise
                await _call_error_callback(self._on_error, exc)
                continue
            if d is not None:
                return d


class Bridge:
    """A NATS connection that speaks NATSBridge, for programs that send and receive a lot.

    ``async with Bridge("nats://localhost:4222") as bridge:`` connects (and closes at the end).
    Connection options: a server URL or a list of them, ``token``, ``user``/``password``,
    ``nkeys_seed`` (a seed file path, as in nats-py, or the seed itself; or ``nkeys_seed_str``),
    ``creds`` (a ``.creds`` file; ``user_credentials`` is nats-py's name for it), ``tls`` (True,
    an ``ssl.SSLContext`` to require TLS, or ``{"ca": ..., "cert": ..., "key": ...}`` file paths;
    or ``tls_ca``/``tls_cert``/``tls_key``), ``name``, ``connect_timeout`` (s),
    ``max_reconnects`` (``None``: forever).

    Store and receive settings given here are the defaults of every call made through it:
    ``fileserver_url``, ``fileserver_upload_handler``, ``fileserver_download_handler``,
    ``size_threshold``, ``max_retries``, ``base_delay``, ``max_delay`` (ms), ``table_type``,
    ``allowed_origins``, ``max_in_memory``, ``save_dir``.
    """

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
            raise Closed("the Bridge is not connected: use `async with Bridge(...)` or `await bridge.connect()`")
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
        """The largest message the server accepts (from its INFO)."""
        return self._client().max_payload

    async def connect(self) -> "Bridge":
        """Connects (once; a second call does nothing) and returns the bridge.

        Raises:
            Connection: no server could be reached, or it refused the credentials.
        """
        if self._handle is None:
            h = loop_host()
            started = _nb.connect(h.host, self._cfg.servers, **self._cfg.connect_kwargs)
            self._handle = (await h.result(started)).take()
        return self

    async def close(self) -> None:
        """Flushes and closes the connection."""
        handle, self._handle = self._handle, None
        if handle is not None:
            h = loop_host()
            (await h.result(handle.close(h.host))).take()

    async def __aenter__(self) -> "Bridge":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def smartsend(
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
        h = loop_host()
        return await h.send(self._client().smartsend(h.host, subject, data, opts))  # type: ignore[no-any-return]

    async def send(
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
        h = loop_host()
        return await h.send(self._client().smartsend(h.host, subject, data, opts), lean=True)  # type: ignore[no-any-return]

    async def smartrequest(
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
        """Sends ``data`` with ``reply_to`` set to a fresh inbox and returns the decoded reply.

        Raises:
            Timeout: no reply within ``timeout`` seconds.
            NoResponders: nobody listens on ``subject``.
        """
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
        h = loop_host()
        started = self._client().smartrequest(h.host, subject, data, opts, self._cfg.receive, timeout)
        return envelope_dict((await h.result(started)).take(native_table_type(tt)), tt)

    async def reply(
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
        """Answers a received envelope: sends ``data`` to its ``reply_to``, with
        ``reply_to_msg_id`` = its ``msg_id`` and the same ``correlation_id``.

        Raises:
            InvalidArgument: the envelope has no ``reply_to``.
        """
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
        h = loop_host()
        header = dict(env) if not isinstance(env, dict) else env
        return (await h.result(self._client().reply(h.host, header, data, opts))).take()  # type: ignore[no-any-return]

    def subscribe(
        self,
        subject: str,
        queue: Optional[str] = None,
        *,
        raw: bool = False,
        on_error: Optional[ErrorCallback] = None,
        table_type: Optional[TableType] = None,
    ) -> Subscription:
        """Subscribes to ``subject`` (in queue group ``queue`` when given); see
        :class:`Subscription`. Await the result to be sure the subscription is in place."""
        return Subscription(self, subject, queue, raw, on_error, self._cfg.table(table_type))

    async def publish(self, subject: str, payload: Union[bytes, bytearray, memoryview, str], reply: Optional[str] = None) -> None:
        """Publishes raw bytes (no envelope), with an optional NATS reply subject."""
        h = loop_host()
        (await h.result(self._client().publish(h.host, subject, payload, reply))).take()

    async def flush(self) -> None:
        """Waits until everything published so far has been written to the server."""
        h = loop_host()
        (await h.result(self._client().flush(h.host))).take()

    async def ensure_stream(self, name: str, subjects: Union[str, Sequence[str]]) -> None:
        """Creates the JetStream stream ``name`` over ``subjects`` unless it exists."""
        h = loop_host()
        subs = [subjects] if isinstance(subjects, str) else list(subjects)
        (await h.result(self._client().ensure_stream(h.host, name, subs))).take()

    async def jetstream_publish(
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
        """Publishes an envelope to JetStream and waits for the stream's ack. The header
        ``Nats-Msg-Id`` is the envelope's ``msg_id``, so publishing the same ``msg_id`` again
        within the stream's duplicate window is not stored twice (``ack.duplicate``).

        Returns:
            ``(env, env_json_str, PublishAck(stream, sequence, duplicate))``.
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
        h = loop_host()
        env, env_json, ack = (await h.result(self._client().jetstream_publish(h.host, subject, data, opts))).take()
        return env, env_json, publish_ack(ack)

    async def jetstream_consumer(
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
        """A durable pull consumer ``durable`` on ``stream`` (created unless it exists).

        ``ack="auto"`` acks each envelope once received completely; ``ack="manual"`` leaves it to
        :meth:`Delivery.ack` / :meth:`Delivery.nak`. ``ack_wait``: seconds before the server
        redelivers an unacked message; ``nak_delay``: seconds before a naked one comes back.
        """
        if ack not in ("auto", "manual"):
            raise InvalidArgument(f"ack must be 'auto' or 'manual', got {ack!r}")
        tt = self._cfg.table(table_type)
        h = loop_host()
        started = self._client().jetstream_consumer(
            h.host,
            stream,
            durable,
            self._cfg.receive,
            filter_subject=filter_subject,
            manual_ack=ack == "manual",
            ack_wait=float(ack_wait),
            nak_delay=float(nak_delay),
            max_deliver=max_deliver,
        )
        return JetStreamConsumer((await h.result(started)).take(), on_error, tt)


class NATSBridge:
    """The seed's namespace: ``from natsbridge import NATSBridge`` then
    ``await NATSBridge.smartsend(...)`` / ``await NATSBridge.smartreceive(...)``."""

    smartsend = staticmethod(smartsend)
    smartreceive = staticmethod(smartreceive)
    plik_oneshot_upload = staticmethod(plik_oneshot_upload)
    fetch_with_backoff = staticmethod(fetch_with_backoff)
    _fetch_with_backoff = staticmethod(fetch_with_backoff)
    Bridge = Bridge
