"""Every payload type by both transports through a real nats-server and the built-in file server;
pandas and pyarrow tables; a mixed envelope."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, List, Tuple

import pandas as pd
import pyarrow as pa
import pytest

import natsbridge
from natsbridge import Bridge, NATSBridge

BYTES = bytes(range(256)) * 4

SAMPLES: Dict[str, Any] = {
    "text": "héllo wörld 🌍 — ελληνικά",
    "dictionary": {"a": [1, 2.5, None, True, "x"], "nested": {"k": "v", "n": -3}, "big": 2**62},
    "table": pd.DataFrame({"id": [1, 2, 3], "name": ["Alice", "Bob", None], "score": [95.5, 88.0, 92.25]}),
    "image": b"\x89PNG\r\n\x1a\n" + BYTES,
    "audio": b"RIFF" + BYTES,
    "video": b"\x00\x00\x00\x18ftypmp42" + BYTES,
    "binary": BYTES,
}


def check_value(type_: str, got: Any, expected: Any) -> None:
    if type_ == "table":
        pd.testing.assert_frame_equal(got, expected)
    elif type_ in ("image", "audio", "video", "binary"):
        assert type(got) is bytes
        assert got == bytes(expected)
    else:
        assert got == expected
        assert type(got) is type(expected)


@pytest.mark.parametrize("transport", ["direct", "link"])
@pytest.mark.parametrize("type_", list(SAMPLES))
async def test_every_type_by_both_transports(nats_url: str, fileserver: str, subject: str, type_: str, transport: str) -> None:
    threshold = 1_000_000 if transport == "direct" else 0
    async with Bridge(nats_url, fileserver_url=fileserver) as bridge:
        sub = await bridge.subscribe(subject)
        env, env_json = await NATSBridge.smartsend(
            subject,
            [("item", SAMPLES[type_], type_)],
            broker_url=nats_url,
            fileserver_url=fileserver,
            size_threshold=threshold,
        )
        assert env["payloads"][0]["transport"] == transport
        assert env["payloads"][0]["payload_type"] == type_
        got = await sub.next(timeout=10)
    assert got is not None
    assert got["msg_id"] == env["msg_id"]
    [payload] = got["payloads"]
    dataname, value, t = payload
    assert (dataname, t) == ("item", type_)
    assert payload.transport == transport
    assert payload.size == env["payloads"][0]["size"]
    check_value(type_, value, SAMPLES[type_])


async def test_send_envelope_dict_matches_json(nats_url: str) -> None:
    import json

    env, env_json = await natsbridge.smartsend(
        "any.subject", [("a", "x" * 1000, "text"), ("b", b"\x00" * 10, "binary")], is_publish=False
    )
    assert env == json.loads(env_json)
    assert set(env) == {
        "correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name", "sender_id",
        "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url", "metadata", "payloads",
    }
    assert env["payloads"][0]["encoding"] == "base64"
    assert env["msg_purpose"] == "chat" and env["sender_name"] == "NATSBridge"


@pytest.mark.parametrize("sender_name", ["NATSBridge", "Zoë 🌍"])
async def test_sent_data_strings_match_the_json(nats_url: str, sender_name: str) -> None:
    # The returned data strings are cut out of the JSON: every base64 padding, a name that
    # looks like a key, and a non-ASCII header (character and byte offsets differ).
    import base64
    import json

    blobs = [bytes(i % 256 for i in range(n)) for n in (0, 1, 2, 3, 4, 5, 300)]
    data = [(f'b{i}"data":"', b, "binary") for i, b in enumerate(blobs)]
    env, env_json = await natsbridge.smartsend("any.subject", data, sender_name=sender_name, is_publish=False)
    assert env == json.loads(env_json)
    assert [p["data"] for p in env["payloads"]] == [base64.b64encode(b).decode() for b in blobs]
    assert env["broker_url"] == "nats://localhost:4222"


async def test_header_fields_pass_through(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        await natsbridge.smartsend(
            subject,
            [("m", "hi", "text")],
            broker_url=nats_url,
            correlation_id="corr-1",
            msg_purpose="updateStatus",
            sender_name="agent-a",
            receiver_name="agent-b",
            receiver_id="rid",
            reply_to="reply.here",
            reply_to_msg_id="prev",
            msg_id="mid-1",
            sender_id="sid",
            metadata={"k": [1, 2]},
        )
        got = await sub.next(timeout=10)
    assert got is not None
    for k, v in {
        "correlation_id": "corr-1", "msg_purpose": "updateStatus", "sender_name": "agent-a",
        "receiver_name": "agent-b", "receiver_id": "rid", "reply_to": "reply.here", "reply_to_msg_id": "prev",
        "msg_id": "mid-1", "sender_id": "sid", "send_to": subject, "broker_url": nats_url, "metadata": {"k": [1, 2]},
    }.items():
        assert got[k] == v, k
    assert got["timestamp"].endswith("Z")


async def test_dictionary_list_and_key_coercion() -> None:
    data = [("l", [1, "two", {"3": None}], "dictionary"), ("d", {1: "int key", None: 0, 1.5: "f"}, "dictionary"), ("b", {True: "b"}, "dictionary")]
    env, js = await natsbridge.smartsend("s", data, is_publish=False)
    got = await natsbridge.smartreceive(js)
    assert got["payloads"][0][1] == [1, "two", {"3": None}]
    assert got["payloads"][1][1] == {"1": "int key", "null": 0, "1.5": "f"}
    assert got["payloads"][2][1] == {"true": "b"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i64": pd.Series([1, -2, 3], dtype="int64"),
            "i32": pd.Series([1, 2, 3], dtype="int32"),
            "nullable_int": pd.Series([1, None, 3], dtype="Int64"),
            "f64": [1.5, float("nan"), -0.25],
            "flag": [True, False, True],
            "nullable_bool": pd.Series([True, None, False], dtype="boolean"),
            "text": ["ünïcode", None, "🌍"],
            "when": pd.to_datetime(["2024-01-15 10:30:00", None, "1999-12-31 23:59:59.123456"], format="ISO8601").astype("datetime64[ns]"),
            "when_tz": pd.to_datetime(["2024-01-15T10:30:00Z", "2024-06-01T00:00:00Z", None], utc=True),
            "cat": pd.Categorical(["a", "b", "a"]),
            "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), None],
        }
    )


@pytest.mark.parametrize("transport", ["direct", "link"])
async def test_pandas_dtypes_nulls_strings_timestamps_survive(
    nats_url: str, fileserver: str, subject: str, transport: str
) -> None:
    df = _frame()
    async with Bridge(nats_url, fileserver_url=fileserver) as bridge:
        sub = await bridge.subscribe(subject)
        await bridge.smartsend(subject, [("frame", df, "table")], size_threshold=0 if transport == "link" else None)
        got = await sub.next(timeout=10)
    assert got is not None
    out = got["payloads"][0][1]
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns)
    assert dict(out.dtypes) == dict(df.dtypes)
    pd.testing.assert_frame_equal(out, df)
    assert out["nullable_int"].isna().tolist() == [False, True, False]
    assert out["text"][1] is None or pd.isna(out["text"][1])


def _arrow_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, None], pa.int64()),
            "x": pa.array([0.5, None, 2.0], pa.float64()),
            "s": pa.array(["a", None, "ç"], pa.string()),
            "ls": pa.array(["x", "y", None], pa.large_string()),
            "b": pa.array([True, None, False], pa.bool_()),
            "ts": pa.array([0, 1_700_000_000_000, None], pa.timestamp("ms", tz="UTC")),
            "ts_ns": pa.array([1, None, 3], pa.timestamp("ns")),
            "d": pa.array([19000, None, 1], pa.date32()),
            "bin": pa.array([b"\x00", None, b"\xff\xfe"], pa.binary()),
            "lst": pa.array([[1, 2], None, []], pa.list_(pa.int32())),
        }
    )


async def test_pyarrow_table_in_and_out_exactly(nats_url: str, subject: str) -> None:
    table = _arrow_table()
    async with Bridge(nats_url, table_type="pyarrow") as bridge:
        sub = await bridge.subscribe(subject)
        await bridge.smartsend(subject, [("t", table, "table")])
        got = await sub.next(timeout=10)
    assert got is not None
    out = got["payloads"][0][1]
    assert isinstance(out, pa.Table)
    assert out.schema.equals(table.schema)
    assert out.equals(table)


async def test_record_batch_and_chunked_table_and_rows() -> None:
    batch = pa.record_batch({"a": [1, 2, 3], "b": ["x", "y", None]})
    chunked = pa.concat_tables([pa.table({"a": [1, 2]}), pa.table({"a": [3]}), pa.table({"a": pa.array([], pa.int64())})])
    env, js = await natsbridge.smartsend("s", [("batch", batch, "table"), ("chunked", chunked, "table")], is_publish=False)
    got = await natsbridge.smartreceive(js, table_type="pyarrow")
    assert got["payloads"][0][1].equals(pa.Table.from_batches([batch]))
    assert got["payloads"][1][1].column("a").to_pylist() == [1, 2, 3]
    rows = await natsbridge.smartreceive(js, table_type="rows")
    assert rows["payloads"][0][1] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": None}]
    frames = await natsbridge.smartreceive(js)
    assert frames["payloads"][1][1]["a"].tolist() == [1, 2, 3]


async def test_larger_table_round_trip() -> None:
    big = pa.table({"v": pa.array(range(20_000), pa.int64()), "s": pa.array([str(i) for i in range(20_000)])})
    env, js = await natsbridge.smartsend("s", [("t", big, "table")], is_publish=False)
    got = await natsbridge.smartreceive(js, table_type="pyarrow")
    assert got["payloads"][0][1].equals(big)


async def test_mixed_envelope(nats_url: str, fileserver: str, subject: str) -> None:
    large = bytes(range(256)) * 6000  # 1.5 MB: over the threshold, goes by link
    data: List[Tuple[str, Any, str]] = [
        ("message_text", "Hello!", "text"),
        ("config", {"wifi_ssid": "MyNetwork", "update_interval": 60}, "dictionary"),
        ("students", pd.DataFrame({"id": [1, 2, 3], "name": ["Alice", "Bob", "Charlie"], "score": [95, 88, 92]}), "table"),
        ("user_avatar", b"\x89PNG" + b"\x01" * 5000, "image"),
        ("voice", bytearray(b"RIFF" + b"\x02" * 100), "audio"),
        ("clip", memoryview(b"\x00\x00\x00\x18ftyp" + b"\x03" * 50), "video"),
        ("large_document", large, "binary"),
        ("empty", b"", "binary"),
        ("empty_text", "", "text"),
    ]
    async with Bridge(nats_url, fileserver_url=fileserver) as bridge:
        sub = await bridge.subscribe(subject)
        env, _ = await bridge.smartsend(subject, data)
        got = await sub.next(timeout=10)
    assert got is not None
    assert [p["transport"] for p in env["payloads"]] == ["direct"] * 6 + ["link", "direct", "direct"]
    assert "sha256" in env["payloads"][6]
    assert [p[0] for p in got["payloads"]] == [d[0] for d in data]
    assert [p[2] for p in got["payloads"]] == [d[2] for d in data]
    for (name, value, type_), p in zip(data, got["payloads"]):
        if type_ == "table":
            pd.testing.assert_frame_equal(p[1], value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            assert p[1] == bytes(value) and type(p[1]) is bytes
        else:
            assert p[1] == value
    assert got["payloads"][6].transport == "link"


async def test_envelope_is_kept_within_max_payload(nats_url: str, fileserver: str, subject: str) -> None:
    """A 900 kB payload is under the seed's threshold but base64 would make the envelope larger
    than the server's 1 MiB max_payload: the engine sends it by link instead."""
    payload = b"\x07" * 900_000
    async with Bridge(nats_url, fileserver_url=fileserver) as bridge:
        assert bridge.max_payload == 1024 * 1024
        sub = await bridge.subscribe(subject)
        env, env_json = await bridge.smartsend(subject, [("big", payload, "binary")])
        got = await sub.next(timeout=10)
    assert env["payloads"][0]["transport"] == "link"
    assert len(env_json) <= 1024 * 1024
    assert got is not None and got["payloads"][0][1] == payload


async def test_concurrent_sends_and_receives(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        n = 50
        await asyncio.gather(*(bridge.smartsend(subject, [("i", {"i": i}, "dictionary")]) for i in range(n)))
        seen = set()
        for _ in range(n):
            env = await sub.next(timeout=10)
            assert env is not None
            seen.add(env["payloads"][0][1]["i"])
    assert seen == set(range(n))


async def test_received_payload_is_the_seed_tuple() -> None:
    env, js = await natsbridge.smartsend("s", [("a", "b", "text")], is_publish=False)
    got = await natsbridge.smartreceive(js)
    p = got["payloads"][0]
    assert p == ("a", "b", "text") and isinstance(p, tuple) and len(p) == 3
    assert (p.dataname, p.data, p.type, p.transport, p.size, p.metadata) == ("a", "b", "text", "direct", 1, None)
    assert p.id == env["payloads"][0]["id"]
    import pickle

    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.transport == "direct"
