"""What the asyncio ``Bridge`` and the blocking one share: ``BridgeCore`` (settings and the
connection) and the bodies of their methods, which each API turns into its own methods with
``asyncio_twin`` / ``blocking_twin`` (see ``_steps``)."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from . import _natsbridge as _nb
from ._common import (
    BridgeConfig,
    Envelope,
    Payload,
    PublishAck,
    TableType,
    UploadHandler,
    envelope_dict,
    native_table_type,
    publish_ack,
)
from ._errors import Closed, InvalidArgument
from ._steps import Steps, call, send_steps

__all__ = ["BridgeCore"]


class BridgeCore:
    """A Bridge's settings and, once connected, its connection."""

    _how_to_connect = "`bridge.connect()`"
    """For the ``Closed`` error of a call made while not connected (each API says it its way)."""

    def __init__(self, cfg: BridgeConfig) -> None:
        self._cfg = cfg
        self._handle: Optional[_nb.ClientHandle] = None

    def _client(self) -> _nb.ClientHandle:
        if self._handle is None:
            raise Closed(f"the Bridge is not connected: use {self._how_to_connect}")
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


def smartsend(
    self: BridgeCore,
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
) -> Steps[Tuple[Envelope, str]]:
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
    sent: Tuple[Envelope, str] = yield from send_steps(lambda host: client.smartsend(host, subject, data, opts))
    return sent


def send(
    self: BridgeCore,
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
) -> Steps[str]:
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
    msg_id_sent: str = yield from send_steps(lambda host: client.smartsend(host, subject, data, opts), lean=True)
    return msg_id_sent


def smartrequest(
    self: BridgeCore,
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
) -> Steps[Envelope]:
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
    client, receive = self._client(), self._cfg.receive
    outcome = yield lambda host: client.smartrequest(host, subject, data, opts, receive, timeout)
    return envelope_dict(outcome.take(native_table_type(tt)), tt)


def reply(
    self: BridgeCore,
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
) -> Steps[Tuple[Envelope, str]]:
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
    client = self._client()
    header = env if isinstance(env, dict) else dict(env)
    sent: Tuple[Envelope, str] = yield from call(lambda host: client.reply(host, header, data, opts))
    return sent


def publish(
    self: BridgeCore, subject: str, payload: Union[bytes, bytearray, memoryview, str], reply: Optional[str] = None
) -> Steps[None]:
    """Publishes raw bytes (no envelope), with an optional NATS reply subject."""
    client = self._client()
    yield from call(lambda host: client.publish(host, subject, payload, reply))


def flush(self: BridgeCore) -> Steps[None]:
    """Waits until everything published so far has been written to the server."""
    yield from call(self._client().flush)


def ensure_stream(self: BridgeCore, name: str, subjects: Union[str, Sequence[str]]) -> Steps[None]:
    """Creates the JetStream stream ``name`` over ``subjects`` unless it exists."""
    client = self._client()
    subs = [subjects] if isinstance(subjects, str) else list(subjects)
    yield from call(lambda host: client.ensure_stream(host, name, subs))


def jetstream_publish(
    self: BridgeCore,
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
) -> Steps[Tuple[Envelope, str, PublishAck]]:
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
    client = self._client()
    env, env_json, ack = yield from call(lambda host: client.jetstream_publish(host, subject, data, opts))
    return env, env_json, publish_ack(ack)


def subscribe(self: BridgeCore, subject: str, queue: Optional[str]) -> Steps[_nb.SubscriptionHandle]:
    """Subscribes (each API wraps the handle in its ``Subscription``)."""
    client, receive = self._client(), self._cfg.receive
    handle: _nb.SubscriptionHandle = yield from call(lambda host: client.subscribe(host, subject, queue, receive))
    return handle


def jetstream_consumer(
    self: BridgeCore,
    stream: str,
    durable: str,
    filter_subject: Optional[str],
    ack: str,
    ack_wait: float,
    nak_delay: float,
    max_deliver: int,
) -> Steps[_nb.ConsumerHandle]:
    """Makes the consumer (each API wraps the handle in its ``JetStreamConsumer``)."""
    if ack not in ("auto", "manual"):
        raise InvalidArgument(f"ack must be 'auto' or 'manual', got {ack!r}")
    client, receive = self._client(), self._cfg.receive
    handle: _nb.ConsumerHandle = yield from call(
        lambda host: client.jetstream_consumer(
            host,
            stream,
            durable,
            receive,
            filter_subject=filter_subject,
            manual_ack=ack == "manual",
            ack_wait=float(ack_wait),
            nak_delay=float(nak_delay),
            max_deliver=max_deliver,
        )
    )
    return handle
