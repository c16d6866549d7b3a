"""Every error path raises a NATSBridgeError subclass named after the engine's error kind, with
the engine's code."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import natsbridge
from natsbridge import NATSBridgeError, _natsbridge, sync
from conftest import dead_url


def test_one_class_per_engine_kind() -> None:
    engine = dict(_natsbridge.ERROR_KINDS)
    assert {cls.code: cls.kind for cls in natsbridge.CLASSES_BY_KIND.values()} == engine
    for code, name in engine.items():
        cls = getattr(natsbridge, name)
        assert issubclass(cls, NATSBridgeError) and cls.code == code and cls.kind == name
        assert natsbridge.CLASSES_BY_CODE[code] is cls
        e = cls("why")
        assert str(e) == "why" and e.message == "why" and e.code == code and e.kind == name


BAD_DATA = [
    ("not a list", natsbridge.InvalidArgument),
    ({"a": 1}, natsbridge.InvalidArgument),
    (("name", "value", "text"), natsbridge.InvalidArgument),  # a bare tuple, not a list of them
    ([("only", "two")], natsbridge.InvalidArgument),
    ([("a", "b", "text", "extra")], natsbridge.InvalidArgument),
    (["abc"], natsbridge.InvalidArgument),
    ([(1, "b", "text")], natsbridge.InvalidArgument),
    ([("a", "b", 3)], natsbridge.InvalidArgument),
    ([("a", "b", "spreadsheet")], natsbridge.UnknownPayloadType),
    ([("a", 5, "text")], natsbridge.InvalidArgument),
    ([("a", b"bytes", "text")], natsbridge.InvalidArgument),
    ([("a", "str", "dictionary")], natsbridge.InvalidArgument),
    ([("a", {"x": object()}, "dictionary")], natsbridge.InvalidArgument),
    ([("a", {"x": float("nan")}, "dictionary")], natsbridge.InvalidArgument),
    ([("a", {"x": 2**70}, "dictionary")], natsbridge.InvalidArgument),
    ([("a", {(1, 2): "tuple key"}, "dictionary")], natsbridge.InvalidArgument),
    ([("a", [1, 2], "table")], natsbridge.InvalidArgument),
    ([("a", "not bytes", "binary")], natsbridge.InvalidArgument),
    ([("a", [1, 2, 3], "image")], natsbridge.InvalidArgument),
    ([("a", 12, "audio")], natsbridge.InvalidArgument),
    ([("a", None, "video")], natsbridge.InvalidArgument),
]


@pytest.mark.parametrize("data,error", BAD_DATA, ids=[f"bad{i}" for i in range(len(BAD_DATA))])
async def test_bad_payloads(data: Any, error: type) -> None:
    with pytest.raises(error) as info:
        await natsbridge.smartsend("s", data, is_publish=False)
    assert isinstance(info.value, NATSBridgeError)
    with pytest.raises(error):
        sync.smartsend("s", data, is_publish=False)


async def test_bad_table_that_cannot_become_arrow() -> None:
    df = pd.DataFrame({"mixed": [1, "two", 3.0]})  # pyarrow refuses mixed object columns
    with pytest.raises(natsbridge.InvalidArgument, match="Arrow"):
        await natsbridge.smartsend("s", [("t", df, "table")], is_publish=False)


BAD_OPTIONS = [
    dict(size_threshold=-1),
    dict(size_threshold="big"),
    dict(correlation_id=5),
    dict(msg_purpose=None),
    dict(is_publish="yes"),
    dict(metadata=["not", "a", "dict"]),
    dict(broker_url=3),
    dict(fileserver_url=None),
]


@pytest.mark.parametrize("kwargs", BAD_OPTIONS, ids=[next(iter(k)) + str(i) for i, k in enumerate(BAD_OPTIONS)])
async def test_bad_send_options(kwargs: Any) -> None:
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartsend("s", [("a", "b", "text")], **{"is_publish": False, **kwargs})


async def test_bad_subject_and_receive_options(nats_url: str) -> None:
    for subject in ("", "has space", 7):
        with pytest.raises(natsbridge.InvalidArgument):
            await natsbridge.smartsend(subject, [("a", "b", "text")], is_publish=False)  # type: ignore[arg-type]
    _, js = await natsbridge.smartsend("s", [("a", "b", "text")], is_publish=False)
    for kwargs in (dict(max_retries=-1), dict(base_delay="x"), dict(table_type="excel"), dict(allowed_origins=5)):
        with pytest.raises(natsbridge.InvalidArgument):
            await natsbridge.smartreceive(js, **kwargs)
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartreceive(12345)
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartsend("s", [("a", "b", "text")], nats_connection=object())


@pytest.mark.parametrize(
    "raw,error",
    [
        (b"", natsbridge.InvalidEnvelope),
        (b"not json", natsbridge.InvalidEnvelope),
        (b"[1,2]", natsbridge.InvalidEnvelope),
        (b"{}", natsbridge.InvalidEnvelope),
        (b'{"payloads":[{"dataname":"a","payload_type":"spreadsheet","transport":"direct","size":0,"data":""}]}',
         natsbridge.UnknownPayloadType),
        (b'{"payloads":[{"dataname":"a","payload_type":"text","transport":"direct","size":2,"data":"!!"}]}',
         natsbridge.BadEncoding),
        (b'{"payloads":[{"dataname":"a","payload_type":"text","transport":"direct","size":9,"data":"aGk="}]}',
         natsbridge.SizeMismatch),
        (b'{"payloads":[{"dataname":"a","payload_type":"text","transport":"link","size":2,"data":"file:///etc/passwd"}]}',
         natsbridge.OriginNotAllowed),
    ],
)
async def test_bad_envelopes(raw: bytes, error: type) -> None:
    with pytest.raises(error):
        await natsbridge.smartreceive(raw)
    with pytest.raises(error):
        sync.smartreceive(raw)


async def test_store_failures(fileserver: str) -> None:
    blob = b"\x09" * 1_200_000
    with pytest.raises(natsbridge.UploadFailed):
        await natsbridge.smartsend("s", [("b", blob, "binary")], fileserver_url=dead_url(), is_publish=False)
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartsend("s", [("b", blob, "binary")], fileserver_url="ftp://x", is_publish=False)
    # A link to a server that is not there: retried, then DownloadFailed.
    env = (
        '{"payloads":[{"dataname":"b","payload_type":"binary","transport":"link","size":3,'
        f'"data":"{dead_url()}/file/a/b/c"}}]}}'
    )
    with pytest.raises(natsbridge.DownloadFailed):
        await natsbridge.smartreceive(env, max_retries=2, base_delay=1, max_delay=2)
    missing = env.replace(env.split('"data":"')[1].split('"')[0], f"{fileserver}/file/nope/nope/nope")
    with pytest.raises(natsbridge.PayloadNotFound):
        await natsbridge.smartreceive(missing)
    # Origins outside the allow-list are refused before any connection.
    _, js = await natsbridge.smartsend("s", [("b", blob, "binary")], fileserver_url=fileserver, is_publish=False)
    with pytest.raises(natsbridge.OriginNotAllowed):
        await natsbridge.smartreceive(js, allowed_origins=["http://127.0.0.1:1"])
    with pytest.raises(natsbridge.PayloadTooLarge):
        await natsbridge.smartreceive(js, max_in_memory=1000)
    got = await natsbridge.smartreceive(js, allowed_origins=[fileserver])
    assert got["payloads"][0][1] == blob


async def test_envelope_too_large() -> None:
    with pytest.raises(natsbridge.EnvelopeTooLarge) as info:
        await natsbridge.smartsend("s", [("a", "b", "text")], metadata={"pad": "x" * 2_000_000}, is_publish=False)
    assert info.value.code == 6


async def test_connection_errors() -> None:
    with pytest.raises(natsbridge.Connection):
        await natsbridge.smartsend("s", [("a", "b", "text")], broker_url=dead_url("nats"))
    with pytest.raises(natsbridge.Connection):
        sync.smartsend("s", [("a", "b", "text")], broker_url=dead_url("nats"))


async def test_path_payloads_are_read_from_files(fileserver: str, tmp_path: Any) -> None:
    big, small = tmp_path / "big.bin", tmp_path / "small.png"
    big.write_bytes(bytes(range(256)) * 4_000)  # 1_024_000 bytes: by link, streamed from the file
    small.write_bytes(b"\x89PNG tiny")
    payloads = [("big", big, "binary"), ("small", small, "image")]
    env, js = await natsbridge.smartsend("s", payloads, fileserver_url=fileserver, is_publish=False)
    assert [p["transport"] for p in env["payloads"]] == ["link", "direct"]
    got = await natsbridge.smartreceive(js)
    assert got["payloads"] == [("big", big.read_bytes(), "binary"), ("small", small.read_bytes(), "image")]
    with pytest.raises(natsbridge.NATSBridgeError, match="cannot read payload file"):
        await natsbridge.smartsend("s", [("x", tmp_path / "missing", "binary")], is_publish=False)
    with pytest.raises(natsbridge.NATSBridgeError, match="os.PathLike"):
        await natsbridge.smartsend("s", [("x", 42, "binary")], is_publish=False)


async def test_save_dir_streams_link_payloads_to_files(fileserver: str, tmp_path: Any) -> None:
    blob = b"\x0a" * 1_100_000
    _, js = await natsbridge.smartsend("s", [("big.bin", blob, "binary")], fileserver_url=fileserver, is_publish=False)
    got = await natsbridge.smartreceive(js, save_dir=tmp_path)
    path = got["payloads"][0][1]
    assert path.read_bytes() == blob and path.parent == tmp_path
