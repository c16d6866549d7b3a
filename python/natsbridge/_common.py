"""What the asyncio API (``natsbridge``) and the blocking one (``natsbridge.sync``) share:
result types, option building, and the conversion of engine results to the seed's shapes."""

from __future__ import annotations

import json
import os
from typing import (
    Any,
    Literal,
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _natsbridge as _nb
from ._errors import InvalidArgument, NATSBridgeError
from ._tables import to_pandas


DEFAULT_BROKER_URL: str = os.environ.get("NATS_URL") or _nb.DEFAULT_BROKER_URL
"""The broker used when none is given: ``nats://localhost:4222`` as in the seed, or ``$NATS_URL``
when set at import (as for the ``natsbridge`` command line)."""
DEFAULT_FILESERVER_URL: str = os.environ.get("NATSBRIDGE_FILESERVER") or _nb.DEFAULT_FILESERVER_URL
"""The claim-check store used when none is given: ``http://localhost:8080`` as in the seed, or
``$NATSBRIDGE_FILESERVER`` when set at import."""
DEFAULT_SIZE_THRESHOLD: int = _nb.DEFAULT_SIZE_THRESHOLD
"""Payloads of at least this many serialized bytes go by link (1_000_000)."""

Payload = Tuple[str, Any, str]
"""One payload to send: ``(dataname, value, type)``."""
TableType = Literal["pandas", "pyarrow", "rows"]
"""How received tables are returned: pandas DataFrame, pyarrow Table, or a list of row dicts."""
UploadHandler = Callable[[str, str, bytes], Any]
"""``(fileserver_url, dataname, data) -> {"url": ...} | str`` (or an awaitable of it)."""
DownloadHandler = Callable[[str, int, int, int], Any]
"""``(url, max_retries, base_delay_ms, max_delay_ms) -> bytes`` (or an awaitable of it)."""

Envelope = Dict[str, Any]
"""A decoded envelope: the header fields plus ``payloads``."""
ErrorCallback = Callable[[NATSBridgeError], Any]
"""``on_error`` of subscriptions and consumers: called with a message's error (may be async)."""

_TABLE_TYPES = ("pandas", "pyarrow", "rows")


class ReceivedPayload(Tuple[str, Any, str]):
    """A received payload. It *is* the seed's ``(dataname, data, type)`` tuple (so
    ``for dataname, data, type_ in env["payloads"]`` works unchanged) and also carries the
    payload's ``id``, ``transport`` (``"direct"`` or ``"link"``), serialized ``size`` and its
    ``metadata`` (``None`` when the envelope has none)."""

    id: str
    transport: str
    size: int
    metadata: Optional[Dict[str, Any]]

    def __new__(
        cls,
        dataname: str,
        data: Any,
        type: str,
        id: str = "",
        transport: str = "direct",
        size: int = 0,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> "ReceivedPayload":
        self = tuple.__new__(cls, (dataname, data, type))
        self.id = id
        self.transport = transport
        self.size = size
        self.metadata = metadata
        return self

    def __getnewargs__(self) -> Tuple[Any, ...]:
        return (self[0], self[1], self[2], self.id, self.transport, self.size, self.metadata)

    @property
    def dataname(self) -> str:
        """The name the sender gave the payload."""
        return self[0]

    @property
    def data(self) -> Any:
        """The decoded value."""
        return self[1]

    @property
    def type(self) -> str:
        """The payload type: text, dictionary, table, image, audio, video or binary."""
        return self[2]

    def __repr__(self) -> str:
        return (
            f"ReceivedPayload(dataname={self[0]!r}, type={self[2]!r}, transport={self.transport!r}, "
            f"size={self.size}, data={_short(self[1])})"
        )


def _short(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Message:
    """A raw NATS message from a subscription made with ``raw=True``. ``smartreceive`` accepts
    it (as it accepts a nats-py ``Msg``)."""

    __slots__ = ("subject", "data", "reply", "headers")

    def __init__(self, subject: str, data: bytes, reply: Optional[str], headers: Optional[Dict[str, str]]) -> None:
        self.subject = subject
        self.data = data
        self.reply = reply
        self.headers = headers

    def __repr__(self) -> str:
        return f"Message(subject={self.subject!r}, reply={self.reply!r}, data=<{len(self.data)} bytes>)"


class PublishAck(NamedTuple):
    """JetStream's answer to a publish."""

    stream: str
    """The stream that stored the message."""
    sequence: int
    """Its sequence number in the stream."""
    duplicate: bool
    """True when the stream already had a message with this ``msg_id`` (not stored again)."""


def message_data(msg: Any) -> Any:
    """The bytes of what ``smartreceive`` was given: a NATS message (anything with ``.data``),
    bytes, bytearray, memoryview, str, or an envelope dict."""
    data = getattr(msg, "data", None)
    if data is not None and not isinstance(msg, (bytes, bytearray, memoryview, str)):
        return data
    if isinstance(msg, dict):
        try:
            return json.dumps(msg)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"the envelope dict cannot be written as JSON: {exc}") from exc
    return msg


def check_table_type(table_type: str) -> str:
    if table_type not in _TABLE_TYPES:
        raise InvalidArgument(f"table_type must be one of {', '.join(map(repr, _TABLE_TYPES))}, got {table_type!r}")
    return table_type


def envelope_dict(result: Tuple[Dict[str, Any], List[Tuple[Any, ...]]], table_type: str) -> Dict[str, Any]:
    """The seed's receive shape: the header fields plus ``payloads``."""
    header, payloads = result
    if table_type == "pandas":
        header["payloads"] = [
            ReceivedPayload(p[0], to_pandas(p[1]), p[2], p[3], p[4], p[5], p[6])
            if p[2] == "table" and not isinstance(p[1], (list, str, os.PathLike))
            else ReceivedPayload(*p)
            for p in payloads
        ]
    else:
        header["payloads"] = [ReceivedPayload(*p) for p in payloads]
    return header


def native_handler(handler: Any, kind: str) -> Any:
    """``None`` (the engine's own store code) for the package's default handlers."""
    if getattr(handler, "_natsbridge_native", None) == kind:
        return None
    return handler


def receive_options(
    *,
    fileserver_download_handler: Optional[DownloadHandler],
    max_retries: int,
    base_delay: int,
    max_delay: int,
    allowed_origins: Optional[Sequence[str]] = None,
    max_in_memory: Optional[int] = None,
    save_dir: Union[str, "os.PathLike[str]", None] = None,
) -> _nb.ReceiveOptions:
    return _nb.ReceiveOptions(
        fileserver_download_handler=native_handler(fileserver_download_handler, "download"),
        max_retries=max_retries,
        base_delay=base_delay,
        max_delay=max_delay,
        allowed_origins=_origins(allowed_origins),
        max_in_memory=max_in_memory,
        save_dir=save_dir,
    )


def _origins(allowed: Any) -> Any:
    if isinstance(allowed, str):
        return [allowed]
    if isinstance(allowed, (set, frozenset)):
        return sorted(allowed)
    return allowed


def tls_settings(
    tls: Any, tls_ca: Optional[str], tls_cert: Optional[str], tls_key: Optional[str]
) -> Tuple[bool, Optional[str], Optional[str], Optional[str]]:
    """``(required, ca, cert, key)`` from ``tls`` (True, an ``ssl.SSLContext``, or a dict with
    ``ca``/``cert``/``key`` file paths) and the explicit file arguments."""
    required = False
    if isinstance(tls, Mapping):
        tls_ca = tls_ca or tls.get("ca")
        tls_cert = tls_cert or tls.get("cert")
        tls_key = tls_key or tls.get("key")
        required = True
    elif tls:
        required = True
    if tls_ca or tls_cert:
        required = True
    return required, tls_ca, tls_cert, tls_key


def nkey_seed(nkeys_seed: Optional[str], nkeys_seed_str: Optional[str]) -> Optional[str]:
    """An nkey seed: given as a string, or (as nats-py takes it) the path of a file holding it."""
    if nkeys_seed_str:
        return nkeys_seed_str
    if not nkeys_seed:
        return None
    if os.path.isfile(nkeys_seed):
        with open(nkeys_seed, encoding="utf-8") as f:
            return f.read().strip()
    return nkeys_seed


def publish_ack(ack: Tuple[str, int, bool]) -> PublishAck:
    return PublishAck(*ack)


class BridgeConfig:
    """Connection settings and per-bridge defaults of a ``Bridge`` (both flavours)."""

    def __init__(
        self,
        servers: Union[str, Sequence[str]],
        *,
        name: Optional[str],
        token: Optional[str],
        user: Optional[str],
        password: Optional[str],
        nkeys_seed: Optional[str],
        nkeys_seed_str: Optional[str],
        creds: Optional[str],
        tls: Any,
        tls_ca: Optional[str],
        tls_cert: Optional[str],
        tls_key: Optional[str],
        connect_timeout: float,
        max_reconnects: Optional[int],
        retry_on_initial_connect: bool,
        fileserver_url: str,
        fileserver_upload_handler: Optional[UploadHandler],
        fileserver_download_handler: Optional[DownloadHandler],
        size_threshold: int,
        max_retries: int,
        base_delay: int,
        max_delay: int,
        table_type: str,
        allowed_origins: Optional[Sequence[str]],
        max_in_memory: Optional[int],
        save_dir: Union[str, "os.PathLike[str]", None],
    ) -> None:
        if isinstance(servers, str):
            self.servers: List[str] = [servers]
        else:
            self.servers = list(servers)
        required, ca, cert, key = tls_settings(tls, tls_ca, tls_cert, tls_key)
        self.connect_kwargs: Dict[str, Any] = dict(
            name=name,
            token=token,
            user=user,
            password=password,
            nkey_seed=nkey_seed(nkeys_seed, nkeys_seed_str),
            creds_file=creds,
            tls_ca=ca,
            tls_cert=cert,
            tls_key=key,
            tls_required=required,
            max_reconnects=max_reconnects,
            connect_timeout=float(connect_timeout),
            retry_on_initial_connect=retry_on_initial_connect,
        )
        self.fileserver_url = fileserver_url
        self.fileserver_upload_handler = fileserver_upload_handler
        self.size_threshold = size_threshold
        self._default_send: Optional[_nb.SendOptions] = None
        self.table_type = check_table_type(table_type)
        self.receive = receive_options(
            fileserver_download_handler=fileserver_download_handler,
            max_retries=max_retries,
            base_delay=base_delay,
            max_delay=max_delay,
            allowed_origins=allowed_origins,
            max_in_memory=max_in_memory,
            save_dir=save_dir,
        )

    @property
    def broker_url(self) -> str:
        return ",".join(self.servers)

    def send(
        self,
        *,
        fileserver_url: Optional[str],
        fileserver_upload_handler: Optional[UploadHandler],
        size_threshold: Optional[int],
        correlation_id: Optional[str],
        msg_purpose: str,
        sender_name: str,
        receiver_name: str,
        receiver_id: str,
        reply_to: str,
        reply_to_msg_id: str,
        msg_id: Optional[str],
        sender_id: Optional[str],
        metadata: Optional[Mapping[str, Any]],
        is_publish: bool = True,
    ) -> _nb.SendOptions:
        # Calls that leave every option at its default share one (immutable) options object:
        # building one costs about 5 µs, a visible share of a small request-reply. Ids left
        # unset are still made afresh for each message, by the engine.
        defaults = (
            fileserver_url is None
            and fileserver_upload_handler is None
            and size_threshold is None
            and correlation_id is None
            and msg_id is None
            and sender_id is None
            and metadata is None
            and msg_purpose == "chat"
            and sender_name == "NATSBridge"
            and receiver_name == ""
            and receiver_id == ""
            and reply_to == ""
            and reply_to_msg_id == ""
            and is_publish is True
        )
        if defaults and self._default_send is not None:
            return self._default_send
        opts = _nb.SendOptions(
            broker_url=self.broker_url,
            fileserver_url=fileserver_url if fileserver_url is not None else self.fileserver_url,
            fileserver_upload_handler=native_handler(
                fileserver_upload_handler if fileserver_upload_handler is not None else self.fileserver_upload_handler,
                "upload",
            ),
            size_threshold=size_threshold if size_threshold is not None else self.size_threshold,
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
        )
        if defaults:
            self._default_send = opts
        return opts

    def table(self, table_type: Optional[str]) -> str:
        return check_table_type(table_type) if table_type is not None else self.table_type


def native_table_type(table_type: str) -> str:
    """What the native module is asked for (pandas frames are made here from pyarrow)."""
    return "rows" if table_type == "rows" else "pyarrow"
