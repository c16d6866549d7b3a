"""NATSBridge for Python: typed multi-payload messaging over NATS with the claim-check pattern.

The seed's API, asyncio::

    from natsbridge import NATSBridge

    env, env_json_str = await NATSBridge.smartsend("chat.room1", [("message", "Hello!", "text")])
    env = await NATSBridge.smartreceive(msg)          # a nats-py Msg, bytes, str, ...
    for dataname, data, type_ in env["payloads"]:
        ...

the same names as module functions (``natsbridge.smartsend``, ``natsbridge.smartreceive``,
``natsbridge.plik_oneshot_upload``, ``natsbridge.fetch_with_backoff``), a connection-holding
:class:`Bridge` (request-reply, subscriptions, JetStream), and a blocking twin of everything in
:mod:`natsbridge.sync`. The work is done by the NATSBridge engine (Rust), the same engine every
NATSBridge language uses, so envelopes read the same everywhere.
"""

from __future__ import annotations

from . import _api, _errors, _natsbridge

# The calls and the error classes are listed once, in the __all__ of _api and _errors.
from ._api import *  # noqa: F403
from ._common import (
    DEFAULT_BROKER_URL,
    DEFAULT_FILESERVER_URL,
    DEFAULT_SIZE_THRESHOLD,
    DownloadHandler,
    Message,
    Payload,
    PublishAck,
    ReceivedPayload,
    TableType,
    UploadHandler,
)
from ._errors import *  # noqa: F403
from . import sync

__version__: str = _natsbridge.__version__

_fetch_with_backoff = fetch_with_backoff
"""The seed's private name for :func:`fetch_with_backoff`."""

PAYLOAD_TYPES = tuple(_natsbridge.PAYLOAD_TYPES)
"""The seven payload types: text, dictionary, table, image, audio, video, binary."""

__all__ = [
    "Message",
    "PublishAck",
    "ReceivedPayload",
    "Payload",
    "TableType",
    "UploadHandler",
    "DownloadHandler",
    "DEFAULT_BROKER_URL",
    "DEFAULT_FILESERVER_URL",
    "DEFAULT_SIZE_THRESHOLD",
    "PAYLOAD_TYPES",
    "sync",
]
__all__ += _api.__all__
__all__ += _errors.__all__
