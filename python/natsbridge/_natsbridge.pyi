"""Stubs of the native module (checked against it by ``mypy.stubtest`` in the tests).

Every call returns ``_Started``: an ``Outcome`` when the engine finished inline, or the token of a
call whose ``Outcome`` the given ``Host`` will deliver (``Host.wait`` / ``Host.drain``).
"""

import os
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union, final

__all__ = [
    "ClientHandle",
    "ConsumerHandle",
    "DEFAULT_BROKER_URL",
    "DEFAULT_FILESERVER_URL",
    "DEFAULT_MAX_PAYLOAD",
    "DEFAULT_SIZE_THRESHOLD",
    "DeliveryHandle",
    "ERROR_KINDS",
    "HandlerCall",
    "Host",
    "Outcome",
    "PAYLOAD_TYPES",
    "ReceiveOptions",
    "SendOptions",
    "SubscriptionHandle",
    "__version__",
    "connect",
    "fetch_with_backoff",
    "plik_oneshot_upload",
    "smartreceive",
    "smartsend",
]
__version__: str
DEFAULT_BROKER_URL: str
DEFAULT_FILESERVER_URL: str
DEFAULT_SIZE_THRESHOLD: int
DEFAULT_MAX_PAYLOAD: int
ERROR_KINDS: List[Tuple[int, str]]
PAYLOAD_TYPES: List[str]

_Started = Union["Outcome", int]
_Path = Union[str, "os.PathLike[str]"]

@final
class Host:
    def __new__(cls, wakeup_fd: bool = False) -> "Host": ...
    def fileno(self) -> int: ...
    def drain(self) -> List[Any]: ...
    def wait_ready(self, timeout: float) -> bool: ...
    def wait(self, token: int) -> "Outcome": ...
    def cancel(self, token: int) -> None: ...
    def running(self) -> int: ...

@final
class HandlerCall:
    @property
    def handler(self) -> Any: ...
    @property
    def args(self) -> Tuple[Any, ...]: ...
    @property
    def kind(self) -> str: ...
    @property
    def done(self) -> bool: ...
    def resolve(self, value: Any) -> None: ...
    def reject(self, exc: BaseException) -> None: ...

@final
class Outcome:
    def take(self, table_type: str = "pyarrow", lean: bool = False) -> Any: ...
    def flushed(self, host: Host) -> _Started: ...

@final
class SendOptions:
    def __new__(
        cls,
        *,
        broker_url: str,
        fileserver_url: str,
        fileserver_upload_handler: Any,
        size_threshold: int,
        correlation_id: Optional[str],
        msg_purpose: str,
        sender_name: str,
        receiver_name: str,
        receiver_id: str,
        reply_to: str,
        reply_to_msg_id: str,
        is_publish: bool,
        msg_id: Optional[str],
        sender_id: Optional[str],
        metadata: Optional[Mapping[str, Any]] = None,
        max_payload: Optional[int] = None,
    ) -> "SendOptions": ...
    @property
    def is_publish(self) -> bool: ...
    @property
    def broker_url(self) -> str: ...

@final
class ReceiveOptions:
    def __new__(
        cls,
        *,
        fileserver_download_handler: Any,
        max_retries: int,
        base_delay: int,
        max_delay: int,
        allowed_origins: Optional[Sequence[str]] = None,
        max_in_memory: Optional[int] = None,
        save_dir: Optional[_Path] = None,
    ) -> "ReceiveOptions": ...

@final
class ClientHandle:
    @property
    def broker_url(self) -> str: ...
    @property
    def max_payload(self) -> int: ...
    def smartsend(self, host: Host, subject: str, data: Any, options: SendOptions) -> _Started: ...
    def smartrequest(
        self,
        host: Host,
        subject: str,
        data: Any,
        send_options: SendOptions,
        receive_options: ReceiveOptions,
        timeout: float,
    ) -> _Started: ...
    def reply(self, host: Host, to: Mapping[str, Any], data: Any, options: SendOptions) -> _Started: ...
    def subscribe(self, host: Host, subject: str, queue: Optional[str], options: ReceiveOptions) -> _Started: ...
    def publish(
        self, host: Host, subject: str, payload: Union[bytes, bytearray, memoryview, str], reply: Optional[str] = None
    ) -> _Started: ...
    def flush(self, host: Host) -> _Started: ...
    def close(self, host: Host) -> _Started: ...
    def ensure_stream(self, host: Host, name: str, subjects: Union[str, List[str]]) -> _Started: ...
    def jetstream_publish(self, host: Host, subject: str, data: Any, options: SendOptions) -> _Started: ...
    def jetstream_consumer(
        self,
        host: Host,
        stream: str,
        durable: str,
        options: ReceiveOptions,
        *,
        filter_subject: Optional[str] = None,
        manual_ack: bool = False,
        ack_wait: float = 30.0,
        nak_delay: float = 1.0,
        max_deliver: Optional[int] = None,
    ) -> _Started: ...

@final
class SubscriptionHandle:
    def next(self, host: Host, timeout: Optional[float] = None) -> _Started: ...
    def next_message(self, host: Host, timeout: Optional[float] = None) -> _Started: ...
    def unsubscribe(self, host: Host) -> _Started: ...

@final
class ConsumerHandle:
    def next(self, host: Host, timeout: Optional[float] = None) -> _Started: ...

@final
class DeliveryHandle:
    def ack(self, host: Host) -> _Started: ...
    def nak(self, host: Host, delay: Optional[float] = None) -> _Started: ...

def smartsend(
    host: Host, subject: str, data: Any, options: SendOptions, client: Optional[ClientHandle] = None
) -> _Started: ...
def smartreceive(host: Host, msg: Union[bytes, bytearray, memoryview, str], options: ReceiveOptions) -> _Started: ...
def plik_oneshot_upload(
    host: Host, fileserver_url: str, dataname: str, data: Union[bytes, bytearray, memoryview]
) -> _Started: ...
def fetch_with_backoff(
    host: Host, url: str, max_retries: int, base_delay: int, max_delay: int, max_bytes: Optional[int] = None
) -> _Started: ...
def connect(
    host: Host,
    servers: Union[str, List[str]],
    *,
    name: Optional[str] = None,
    token: Optional[str] = None,
    user: Optional[str] = None,
    password: Optional[str] = None,
    nkey_seed: Optional[str] = None,
    creds_file: Optional[_Path] = None,
    tls_ca: Optional[_Path] = None,
    tls_cert: Optional[_Path] = None,
    tls_key: Optional[_Path] = None,
    tls_required: bool = False,
    max_reconnects: Optional[int] = None,
    connect_timeout: float = 5.0,
    retry_on_initial_connect: bool = False,
) -> _Started: ...
