"""The asyncio API: the seed's functions and the connection-holding ``Bridge``."""

from __future__ import annotations

import inspect
import os
from typing import Any, AsyncIterator, Mapping, Optional, Sequence, Tuple, Union

from . import _bridge, _calls
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
from ._errors import Closed, InvalidArgument, NATSBridgeError, Publish
from ._steps import asyncio_twin, call, run_async

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

plik_oneshot_upload = asyncio_twin(_calls.plik_oneshot_upload)
setattr(plik_oneshot_upload, "_natsbridge_native", "upload")

fetch_with_backoff = asyncio_twin(_calls.fetch_with_backoff)
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
    bridge: Optional[Bridge] = None
    publish = None
    if isinstance(nats_connection, Bridge):
        bridge = nats_connection
    elif nats_connection is not None:
        # A nats-py client: the envelope is built here, then published with its publish().
        publish = getattr(nats_connection, "publish", None)
        if publish is None:
            raise InvalidArgument(
                f"nats_connection must be a natsbridge.Bridge or a nats-py client, got {type(nats_connection).__name__}"
            )
        if max_payload is None:
            mp = getattr(nats_connection, "max_payload", None)
            max_payload = mp if isinstance(mp, int) and mp > 0 else None
    # The seed's arguments, in its order (see _calls.smartsend).
    steps = _calls.smartsend(
        subject, data, broker_url, fileserver_url, fileserver_upload_handler, size_threshold, correlation_id,
        msg_purpose, sender_name, receiver_name, receiver_id, reply_to, reply_to_msg_id,
        is_publish if publish is None else False, bridge, msg_id, sender_id, metadata, max_payload,
    )
    env, env_json = await run_async(steps)
    if publish is not None and is_publish:
        try:
            await publish(subject, env_json.encode())
        except Exception as exc:
            raise Publish(f"publishing through the nats-py connection failed: {exc}") from exc
    return env, env_json


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
    steps = _calls.smartreceive(
        msg, fileserver_download_handler, max_retries, base_delay, max_delay,
        table_type, allowed_origins, max_in_memory, save_dir,
    )
    return await run_async(steps)


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
            self._handle = await run_async(_bridge.subscribe(self._bridge, self.subject, self.queue))
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
        return await run_async(_calls.next_envelope(await self._start(), timeout, self._table_type))

    async def next_message(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next raw message (undecoded), or ``None`` after ``timeout`` seconds."""
        return await run_async(_calls.next_message(await self._start(), timeout))

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
            await run_async(call(self._handle.unsubscribe))

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
        await run_async(call(self._handle.ack))

    async def nak(self, delay: Optional[float] = None) -> None:
        """Asks for redelivery, after ``delay`` seconds when given."""
        handle = self._handle
        await run_async(call(lambda host: handle.nak(host, delay)))


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
        result = await run_async(_calls.next_delivery(self._handle, timeout, self._table_type))
        return None if result is None else Delivery(*result)

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


class Bridge(BridgeCore):
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

    _how_to_connect = "`async with Bridge(...)` or `await bridge.connect()`"

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

    async def connect(self) -> "Bridge":
        """Connects (once; a second call does nothing) and returns the bridge.

        Raises:
            Connection: no server could be reached, or it refused the credentials.
        """
        if self._handle is None:
            cfg = self._cfg
            self._handle = await run_async(call(lambda host: _nb.connect(host, cfg.servers, **cfg.connect_kwargs)))
        return self

    async def close(self) -> None:
        """Flushes and closes the connection."""
        handle, self._handle = self._handle, None
        if handle is not None:
            await run_async(call(handle.close))

    async def __aenter__(self) -> "Bridge":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    smartsend = asyncio_twin(_bridge.smartsend)
    send = asyncio_twin(_bridge.send)
    smartrequest = asyncio_twin(_bridge.smartrequest)
    reply = asyncio_twin(_bridge.reply)

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

    publish = asyncio_twin(_bridge.publish)
    flush = asyncio_twin(_bridge.flush)
    ensure_stream = asyncio_twin(_bridge.ensure_stream)
    jetstream_publish = asyncio_twin(_bridge.jetstream_publish)

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
        tt = self._cfg.table(table_type)
        handle = await run_async(
            _bridge.jetstream_consumer(self, stream, durable, filter_subject, ack, ack_wait, nak_delay, max_deliver)
        )
        return JetStreamConsumer(handle, on_error, tt)


class NATSBridge:
    """The seed's namespace: ``from natsbridge import NATSBridge`` then
    ``await NATSBridge.smartsend(...)`` / ``await NATSBridge.smartreceive(...)``."""

    smartsend = staticmethod(smartsend)
    smartreceive = staticmethod(smartreceive)
    plik_oneshot_upload = staticmethod(plik_oneshot_upload)
    fetch_with_backoff = staticmethod(fetch_with_backoff)
    _fetch_with_backoff = staticmethod(fetch_with_backoff)
    Bridge = Bridge
