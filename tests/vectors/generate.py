#!/usr/bin/env python3
"""Generates the NATSBridge golden vectors (envelope v1, docs/wire-format.md).

Independent of every NATSBridge engine: plain CPython plus pyarrow (for Arrow IPC streams).
Deterministic: fixed UUIDs (derived from labels), fixed timestamps, "random" bytes from a
SHA-256 counter, hand-built PNG/WAV/MP4-like bytes (no zlib compression, so no dependency on
the zlib version). Re-run by hand when the vectors change:

    .venv/bin/python tests/vectors/generate.py           # rewrite valid/, invalid/, files/, index.json
    .venv/bin/python tests/vectors/generate.py --check   # regenerate into a temp dir, compare with
                                                          # the committed files, self-check them

Both modes end with a self-check: a small reference reader (below, plain Python) decodes every
valid vector and must reproduce its .expected.json; it must fail on every invalid vector with
the expected error kind.
"""

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import json
import shutil
import struct
import sys
import tempfile
import uuid
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

HERE = Path(__file__).resolve().parent
FS = "{{FILESERVER}}"  # replaced by the tests with the base URL of their file server
PYARROW_USED = "26.0.1"  # the version the committed table bytes were written with

# ----------------------------------------------------------------------------------------------
# Deterministic building blocks
# ----------------------------------------------------------------------------------------------


def uid(label):
    """A UUID v4-shaped id derived from a label (stable across runs)."""
    b = bytearray(hashlib.sha256(b"natsbridge-vector:" + label.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


def seeded_bytes(seed, n):
    """n pseudo-random bytes from a SHA-256 counter; depends only on (seed, n)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


BASE_TIME = dt.datetime(2026, 1, 15, 10, 30, 0, tzinfo=dt.timezone.utc)


def timestamp(i):
    t = BASE_TIME + dt.timedelta(milliseconds=1001 * i)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def b64(b):
    return base64.b64encode(b).decode("ascii")


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def png(width, height, seed):
    """A valid RGB PNG; the zlib stream uses stored (uncompressed) deflate blocks."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            row += bytes(((x * 255) // max(1, width - 1), (y * 255) // max(1, height - 1), (x ^ y ^ seed) & 0xFF))
        rows.append(bytes(row))
    raw = b"".join(rows)
    z = bytearray(b"\x78\x01")
    for off in range(0, len(raw), 65535):
        block = raw[off:off + 65535]
        final = 1 if off + 65535 >= len(raw) else 0
        z += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    z += struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b"")


def wav(n_samples, period):
    """A valid mono 16-bit 8 kHz PCM WAV holding an integer triangle wave."""
    samples = bytearray()
    for i in range(n_samples):
        p = i % period
        half = period // 2
        v = (p * 2 * 16000) // half - 16000 if p < half else 16000 - ((p - half) * 2 * 16000) // half
        samples += struct.pack("<h", v)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples)) + bytes(samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp4ish(n_mdat, seed):
    """MP4-shaped bytes (ftyp + free + mdat boxes); the content is opaque to NATSBridge."""
    ftyp = b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41"
    free = b"natsbridge golden vector"
    mdat = seeded_bytes(seed, n_mdat)

    def box(kind, data):
        return struct.pack(">I", 8 + len(data)) + kind + data

    return box(b"ftyp", ftyp) + box(b"free", free) + box(b"mdat", mdat)


ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "utf8": pa.string(), "bool": pa.bool_()}


def arrow_ipc(columns, rows, batches=None):
    """An Arrow IPC stream (schema, record batches, EOS). batches: list of row counts per
    record batch; None = one batch with all rows; [] = no record batch at all."""
    schema = pa.schema([pa.field(n, ARROW_TYPES[t]) for n, t in columns])
    if batches is None:
        batches = [len(rows)]
    assert sum(batches) == len(rows)
    sink = pa.BufferOutputStream()
    opts = ipc.IpcWriteOptions(compression=None)
    with ipc.new_stream(sink, schema, options=opts) as w:
        start = 0
        for count in batches:
            chunk = rows[start:start + count]
            start += count
            arrays = [pa.array([r[i] for r in chunk], type=ARROW_TYPES[t]) for i, (_, t) in enumerate(columns)]
            w.write_batch(pa.record_batch(arrays, schema=schema))
    return sink.getvalue().to_pybytes()


def jdump(v):
    """Compact JSON text, UTF-8 as is (what writers put in a dictionary payload)."""
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------------------------
# Payload and envelope builders
# ----------------------------------------------------------------------------------------------


class P:
    """One payload: its wire form, its expected reader output, the files it needs."""

    def __init__(self, wire, expected, files=None):
        self.wire = wire
        self.expected = expected
        self.files = files or {}


def serialize(ptype, value):
    """(serialized bytes, expected value) for a canonical payload type."""
    if ptype == "text":
        return value.encode("utf-8"), {"text": value}
    if ptype == "dictionary":
        return jdump(value).encode("utf-8"), {"json": value}
    if ptype == "table":
        columns, rows = value[0], value[1]
        batches = value[2] if len(value) > 2 else None
        return arrow_ipc(columns, rows, batches), {"table": {"columns": [list(c) for c in columns], "rows": rows}}
    assert ptype in ("image", "audio", "video", "binary")
    return value, {"base64": b64(value)}


def exp_payload(dataname, ptype, transport, size, value, metadata=None):
    e = {"dataname": dataname, "payload_type": ptype, "transport": transport, "size": size, "value": value}
    if metadata is not None:
        e["metadata"] = metadata
    return e


def direct(label, dataname, ptype, value, wire_type=None, encoding="base64", metadata=None, raw=None):
    data, expv = serialize(ptype, value)
    if raw is not None:
        data = raw
    wire = {"id": uid(label + ":" + dataname), "dataname": dataname, "payload_type": wire_type or ptype,
            "transport": "direct", "encoding": encoding, "size": len(data), "data": b64(data)}
    if metadata is not None:
        wire["metadata"] = metadata
    return P(wire, exp_payload(dataname, ptype, "direct", len(data), expv, metadata))


def json_encoded(label, dataname, wire_type, ptype, text, expv, metadata=None):
    """Tolerant-reader form: encoding "json", data is the JSON text itself (not base64)."""
    size = len(text.encode("utf-8"))
    wire = {"id": uid(label + ":" + dataname), "dataname": dataname, "payload_type": wire_type,
            "transport": "direct", "encoding": "json", "size": size, "data": text}
    return P(wire, exp_payload(dataname, ptype, "direct", size, expv, metadata))


def link(label, dataname, ptype, value, file_name, upload_id, file_id, with_sha=False, raw=None, wire_type=None,
         metadata=None):
    data, expv = serialize(ptype, value)
    if raw is not None:
        data = raw
    path = f"{upload_id}/{file_id}/{file_name}"
    wire = {"id": uid(label + ":" + dataname), "dataname": dataname, "payload_type": wire_type or ptype,
            "transport": "link", "encoding": "none", "size": len(data), "data": f"{FS}/file/{path}"}
    if with_sha:
        wire["sha256"] = sha256_hex(data)
    if metadata is not None:
        wire["metadata"] = metadata
    return P(wire, exp_payload(dataname, ptype, "link", len(data), expv, metadata), {path: data})


HEADER_FIELDS = ["correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name", "sender_id",
                 "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url", "metadata"]


class Builder:
    def __init__(self):
        self.valid = {}      # name -> (envelope bytes, expected dict)
        self.invalid = {}    # name -> (bytes, expected dict)
        self.files = {}      # relative path -> bytes
        self.counter = 0

    def header(self, name, **over):
        self.counter += 1
        h = {
            "correlation_id": uid(name + ":correlation_id"),
            "msg_id": uid(name + ":msg_id"),
            "timestamp": timestamp(self.counter),
            "send_to": "vectors." + name,
            "msg_purpose": "chat",
            "sender_name": "NATSBridge",
            "sender_id": uid(name + ":sender_id"),
            "receiver_name": "",
            "receiver_id": "",
            "reply_to": "",
            "reply_to_msg_id": "",
            "broker_url": "nats://localhost:4222",
            "metadata": {},
        }
        for k, v in over.items():
            assert k in h, k
            h[k] = v
        return h

    def add_files(self, files):
        for path, data in files.items():
            assert self.files.get(path, data) == data, f"file {path} defined twice with different bytes"
            self.files[path] = data

    def add_valid(self, name, payloads, drop=(), extra=None, ensure_ascii=False, **hdr):
        assert name not in self.valid and name not in self.invalid, name
        h = self.header(name, **hdr)
        env = {k: v for k, v in h.items() if k not in drop}
        env["payloads"] = [p.wire for p in payloads]
        if extra:
            env.update(extra)
        for p in payloads:
            self.add_files(p.files)
        expected = {
            "header": {k: (h[k] if k not in drop else ({} if k == "metadata" else "")) for k in HEADER_FIELDS},
            "payloads": [p.expected for p in payloads],
        }
        raw = (json.dumps(env, indent=2, ensure_ascii=ensure_ascii) + "\n").encode("utf-8")
        self.valid[name] = (raw, expected)

    def add_invalid(self, name, error, why, raw=None, env=None, files=None):
        assert name not in self.valid and name not in self.invalid, name
        assert (raw is None) != (env is None)
        if env is not None:
            raw = (json.dumps(env, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        if files:
            self.add_files(files)
        self.invalid[name] = (raw, {"error": error, "why": why})

    def env_with(self, name, payload_wires, **hdr):
        """An otherwise valid envelope around the given wire payloads (for invalid vectors)."""
        h = self.header(name, **hdr)
        h["payloads"] = payload_wires
        return h


# ----------------------------------------------------------------------------------------------
# The vectors
# ----------------------------------------------------------------------------------------------

TABLE_COLUMNS = [("id", "int64"), ("name", "utf8"), ("score", "float64"), ("ok", "bool")]
TABLE_ROWS = [[1, "Alice", 95.5, True], [2, "Bob", 88.25, False], [3, "Charlie", 92.0, True]]
TABLE_NULL_ROWS = [[1, "Alice", 95.5, True], [2, None, None, False], [None, "Zoë", 70.125, None],
                   [4, "", -0.5, None]]

LINK_TEXT = "".join(
    f"Line {i:02d}: NATSBridge claim-check vector — Grüße, こんにちは, 🚀 — "
    f"the quick brown fox jumps over the lazy dog.\n" for i in range(1, 17))

LINK_DICT = {
    "device": {"id": "sensor-001", "location": {"building": "B7", "floor": 3, "lat": 13.7563, "lon": 100.5018}},
    "readings": [{"t": i, "temperature": 20 + i * 0.25, "humidity": 40 + i, "ok": i % 3 != 0} for i in range(24)],
    "tags": ["indoor", "calibrated", "ไทย"],
    "firmware": None,
}

LINK_TABLE_ROWS = [[i, f"row-{i:03d}", round(i * 1.5 + 0.25, 2), i % 2 == 0] for i in range(1, 41)]


def build(b: Builder):
    # ---- every payload type, direct ---------------------------------------------------------
    b.add_valid("direct_text", [direct("direct_text", "message", "text", "Hello, NATSBridge!")])
    b.add_valid("direct_dictionary", [direct("direct_dictionary", "config", "dictionary",
                                             {"wifi_ssid": "MyNetwork", "update_interval": 60, "enabled": True,
                                              "ratio": 0.75, "note": None})])
    b.add_valid("direct_table", [direct("direct_table", "scores", "table", (TABLE_COLUMNS, TABLE_ROWS))])
    b.add_valid("direct_image", [direct("direct_image", "avatar", "image", png(4, 4, 1))])
    b.add_valid("direct_audio", [direct("direct_audio", "beep", "audio", wav(100, 20))])
    b.add_valid("direct_video", [direct("direct_video", "clip", "video", mp4ish(300, "direct_video"))])
    b.add_valid("direct_binary", [direct("direct_binary", "all_bytes", "binary", bytes(range(256)))])

    # ---- every payload type, by link ---------------------------------------------------------
    def up(name):
        return "vec-" + name.replace("_", "-")

    b.add_valid("link_text", [link("link_text", "document", "text", LINK_TEXT, "message.txt",
                                   up("link_text"), "vec-file-01")])
    b.add_valid("link_dictionary", [link("link_dictionary", "telemetry", "dictionary", LINK_DICT, "telemetry.json",
                                         up("link_dictionary"), "vec-file-01",
                                         raw=json.dumps(LINK_DICT, indent=2, ensure_ascii=False).encode("utf-8"))])
    b.add_valid("link_table", [link("link_table", "large_table", "table", (TABLE_COLUMNS, LINK_TABLE_ROWS),
                                    "data.arrow", up("link_table"), "vec-file-01")])
    b.add_valid("link_image", [link("link_image", "photo", "image", png(24, 24, 7), "photo.png",
                                    up("link_image"), "vec-file-01")])
    b.add_valid("link_audio", [link("link_audio", "recording", "audio", wav(1000, 40), "recording.wav",
                                    up("link_audio"), "vec-file-01")])
    b.add_valid("link_video", [link("link_video", "movie", "video", mp4ish(2000, "link_video"), "movie.mp4",
                                    up("link_video"), "vec-file-01")])
    b.add_valid("link_binary", [link("link_binary", "large_document", "binary", seeded_bytes("link_binary", 4096),
                                     "big.bin", up("link_binary"), "vec-file-01")])
    b.add_valid("link_with_sha256", [link("link_with_sha256", "firmware", "binary",
                                          seeded_bytes("link_with_sha256", 3000), "firmware.bin",
                                          up("link_with_sha256"), "vec-file-01", with_sha=True)])

    # ---- several payloads, mixed types and transports, order preserved ---------------------
    n = "mixed_payloads"
    b.add_valid(n, [
        direct(n, "message_text", "text", "Here are today's files."),
        link(n, "user_avatar", "image", png(16, 16, 3), "avatar.png", up(n), "vec-file-01", with_sha=True),
        direct(n, "settings", "dictionary", {"theme": "dark", "volume": 7}),
        link(n, "results", "table", (TABLE_COLUMNS, TABLE_ROWS), "results.arrow", up(n), "vec-file-02", with_sha=True),
        direct(n, "thumbnail", "binary", seeded_bytes("mixed_thumbnail", 100)),
        direct(n, "voice_note", "audio", wav(64, 16)),
        link(n, "screen_capture", "video", mp4ish(1500, "mixed_video"), "capture.mp4", up(n), "vec-file-03"),
        direct(n, "closing_text", "text", "That is all."),
    ])

    # ---- the seed's example shapes ----------------------------------------------------------
    # The seed's "Message Envelope Schema", with its placeholder ids and seconds-only timestamp
    # kept as is (readers pass header strings through; they do not validate them).
    n = "seed_envelope_schema"
    img = png(8, 8, 5)
    login = P({"id": "uuid4", "dataname": "login_image", "payload_type": "image", "transport": "direct",
               "encoding": "base64", "size": len(img), "data": b64(img)},
              exp_payload("login_image", "image", "direct", len(img), {"base64": b64(img)}))
    tbl_bytes, tbl_exp = serialize("table", ([("id", "int64"), ("name", "utf8"), ("score", "int64")],
                                             [[1, "Alice", 95], [2, "Bob", 88], [3, "Charlie", 92]]))
    large = P({"id": "uuid4", "dataname": "large_table", "payload_type": "table", "transport": "link",
               "encoding": "none", "size": len(tbl_bytes), "data": f"{FS}/file/UPLOAD_ID/FILE_ID/data.arrow"},
              exp_payload("large_table", "table", "link", len(tbl_bytes), tbl_exp),
              {"UPLOAD_ID/FILE_ID/data.arrow": tbl_bytes})
    b.add_valid(n, [login, large], correlation_id="uuid-v4-string", msg_id="uuid-v4-string",
                timestamp="2024-01-15T10:30:00Z", send_to="topic/subject", msg_purpose="chat",
                sender_name="agent-wine-web-frontend", sender_id="uuid4", receiver_name="agent-backend",
                receiver_id="uuid4", reply_to="topic", reply_to_msg_id="uuid4", broker_url="nats://localhost:4222")

    n = "seed_direct_hello"
    b.add_valid(n, [direct(n, "message", "text", "Hello")], send_to="/topic")

    n = "seed_chat_mixed"
    b.add_valid(n, [
        direct(n, "message_text", "text", "Hello!"),
        direct(n, "user_avatar", "image", png(12, 12, 9)),
        link(n, "large_document", "binary", seeded_bytes("seed_chat_mixed", 2500), "large_document.bin",
             up(n), "vec-file-01"),
    ], send_to="/chat/room1")

    n = "seed_dictionary_config"
    b.add_valid(n, [direct(n, "config", "dictionary",
                           {"wifi_ssid": "MyNetwork", "wifi_password": "password123", "update_interval": 60})],
                send_to="/device/config")

    n = "seed_table_students"
    b.add_valid(n, [direct(n, "students", "table",
                           ([("id", "int64"), ("name", "utf8"), ("score", "int64")],
                            [[1, "Alice", 95], [2, "Bob", 88], [3, "Charlie", 92]]))],
                send_to="/data/analysis")

    n = "seed_request_command"
    b.add_valid(n, [direct(n, "command", "dictionary", {"action": "read_sensor"})],
                send_to="/device/command", reply_to="/device/response")

    n = "seed_response_data"
    b.add_valid(n, [direct(n, "data", "dictionary", {"sensor_id": "sensor-001", "value": 42.5})],
                send_to="/device/response", reply_to_msg_id=uid("seed_request_command:msg_id"))

    # ---- tolerant reader: unknown fields, missing optional fields, metadata ----------------
    n = "unknown_fields_ignored"
    p = direct(n, "message", "text", "extra fields are ignored")
    p.wire["x_future_field"] = {"nested": [1, 2, 3], "flag": True}
    p.wire["priority"] = 5
    p.wire["compression"] = None
    b.add_valid(n, [p], extra={"x_envelope_version": 2, "x_trace": {"span": "abc", "hops": [1, 2]},
                               "routing_hint": None})

    n = "minimal_envelope"
    b.add_valid(n, [direct(n, "message", "text", "only payloads in the envelope")], drop=HEADER_FIELDS)

    n = "missing_some_header_fields"
    b.add_valid(n, [direct(n, "message", "text", "some header fields are missing")],
                drop=["timestamp", "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url",
                      "metadata"])

    n = "minimal_payload_fields"
    p1 = direct(n, "note", "text", "no id, no encoding")
    p2 = link(n, "blob", "binary", seeded_bytes(n, 500), "blob.bin", up(n), "vec-file-01")
    for p in (p1, p2):
        del p.wire["id"]
        del p.wire["encoding"]
    b.add_valid(n, [p1, p2])

    n = "payload_metadata"
    b.add_valid(n, [
        direct(n, "photo", "image", png(6, 6, 2), metadata={"mime": "image/png", "width": 6, "height": 6}),
        direct(n, "caption", "text", "a caption", metadata={"lang": "en", "tags": ["a", "b"], "nested": {"x": None}}),
        link(n, "doc", "binary", seeded_bytes(n, 700), "doc.bin", up(n), "vec-file-01", with_sha=True,
             metadata={"original_name": "report-2026.pdf"}),
        direct(n, "plain", "text", "no metadata on this one"),
    ])

    n = "envelope_metadata"
    b.add_valid(n, [direct(n, "message", "text", "see the envelope metadata")],
                metadata={"trace_id": "4bf92f3577b34da6", "retries": 0, "ratio": 0.5, "debug": False,
                          "labels": ["a", "β", "漢字"], "origin": {"host": "edge-7", "port": 4222}, "none": None})

    # ---- tolerant reader: other implementations' forms --------------------------------------
    n = "tolerant_arrowtable"
    b.add_valid(n, [direct(n, "scores", "table", (TABLE_COLUMNS, TABLE_ROWS), wire_type="arrowtable")])

    n = "tolerant_arrowtable_arrow_ipc"
    b.add_valid(n, [direct(n, "scores", "table", (TABLE_COLUMNS, TABLE_ROWS), wire_type="arrowtable",
                           encoding="arrow-ipc")])

    n = "tolerant_table_encoding_arrow_ipc"
    b.add_valid(n, [direct(n, "scores", "table", (TABLE_COLUMNS, TABLE_NULL_ROWS), encoding="arrow-ipc")])

    n = "tolerant_jsontable_json"
    rows = [{"id": 1, "name": "Alice", "score": 95.5, "ok": True},
            {"id": 2, "name": "Zoë", "score": 88, "ok": False},
            {"id": 3, "name": None, "score": None, "ok": None},
            {"id": -4, "name": "😀 漢字", "score": 0.125, "ok": True}]
    b.add_valid(n, [json_encoded(n, "scores", "jsontable", "table", jdump(rows), {"table": {
        "columns": [["id", "int64"], ["name", "utf8"], ["score", "float64"], ["ok", "bool"]],
        "rows": [[1, "Alice", 95.5, True], [2, "Zoë", 88.0, False], [3, None, None, None],
                 [-4, "😀 漢字", 0.125, True]]}})])

    n = "tolerant_table_encoding_json"
    rows = [{"sensor": "t1", "value": 21.5, "count": 3, "alarm": False},
            {"sensor": "t2", "value": 19, "count": 0, "alarm": True},
            {"sensor": "t3", "value": -2.75, "count": None, "alarm": False}]
    b.add_valid(n, [json_encoded(n, "readings", "table", "table", jdump(rows), {"table": {
        "columns": [["sensor", "utf8"], ["value", "float64"], ["count", "int64"], ["alarm", "bool"]],
        "rows": [["t1", 21.5, 3, False], ["t2", 19.0, 0, True], ["t3", -2.75, None, False]]}})])

    n = "tolerant_dictionary_encoding_json"
    val = {"wifi_ssid": "Café-Net", "update_interval": 60, "channels": [1, 6, 11]}
    b.add_valid(n, [json_encoded(n, "config", "dictionary", "dictionary", jdump(val), {"json": val})])

    # ---- edge values --------------------------------------------------------------------------
    n = "empty_text"
    b.add_valid(n, [direct(n, "nothing", "text", "")])
    n = "empty_binary"
    b.add_valid(n, [direct(n, "nothing", "binary", b"")])
    n = "dictionary_array"
    b.add_valid(n, [direct(n, "list", "dictionary", [1, "two", 3.5, True, None, {"k": "v"}, []])])
    n = "unicode_text"
    b.add_valid(n, [direct(n, "greeting", "text",
                           "Hello 👋🏽 世界! こんにちは 안녕하세요 Привет مرحبا שלום "
                           "e\u0301 café naïve — “quotes” 𝄞 🇹🇭\nsecond line\ttab")],
                sender_name="エージェント-α", receiver_name="Zoë")
    n = "dictionary_nested"
    b.add_valid(n, [direct(n, "tree", "dictionary", {
        "level1": {"level2": {"level3": {"level4": {"leaf": "deep", "n": -7, "f": 1.5e-3}}}},
        "list_of_lists": [[1, 2], [3, [4, [5]]], []],
        "objects": [{"a": 1}, {"b": {"c": [True, False, None]}}],
        "empty_object": {},
        "unicode_key_キー": "値",
        "escapes": "quote \" backslash \\ slash / newline \n tab \t",
        "big": 9007199254740991,
        "neg": -123456789,
        "float": 3.14159,
    })])
    n = "table_zero_rows"
    b.add_valid(n, [direct(n, "empty", "table", (TABLE_COLUMNS, [], [0]))])
    n = "table_schema_only"
    b.add_valid(n, [direct(n, "empty", "table", (TABLE_COLUMNS, [], []))])
    n = "table_with_nulls"
    b.add_valid(n, [direct(n, "sparse", "table", (TABLE_COLUMNS, TABLE_NULL_ROWS))])
    n = "table_multi_batch"
    rows7 = [[i, f"name-{i}", i / 4, i % 3 == 0] for i in range(7)]
    b.add_valid(n, [direct(n, "batched", "table", (TABLE_COLUMNS, rows7, [3, 0, 4]))])
    n = "empty_payloads"
    b.add_valid(n, [], msg_purpose="ACK", reply_to_msg_id=uid("direct_text:msg_id"))
    n = "header_json_escapes"
    b.add_valid(n, [direct(n, "message", "text", "header strings use JSON escapes")], ensure_ascii=True,
                sender_name="Zoë 😀 \"quoted\" back\\slash", receiver_name="tab\there\nnewline",
                send_to="chat.café", metadata={"note": "日本語 \u0001 control"})

    # ================================================================================================
    # Invalid vectors
    # ================================================================================================
    def ok_text(label, text="Hello"):
        return direct(label, "message", "text", text).wire

    n = "malformed_json"
    good = json.dumps(b.env_with(n, [ok_text(n)]), indent=2)
    b.add_invalid(n, "InvalidEnvelope", "the message is truncated JSON",
                  raw=good[: len(good) // 2].encode())
    n = "not_utf8"
    env = b.env_with(n, [ok_text(n)], sender_name="SENDER_PLACEHOLDER")
    raw = json.dumps(env, indent=2).encode().replace(b"SENDER_PLACEHOLDER", b"bad-\xff\xfe-\xc3\x28-name")
    b.add_invalid(n, "InvalidEnvelope", "the message bytes are not valid UTF-8 (0xFF 0xFE in a header string)",
                  raw=raw)
    n = "garbage_bytes"
    b.add_invalid(n, "InvalidEnvelope", "the message is binary garbage, not JSON",
                  raw=b"\x00\x01\x02NATS\xff\xfe\x80" + seeded_bytes(n, 40))
    n = "empty_message"
    b.add_invalid(n, "InvalidEnvelope", "the message is empty (zero bytes)", raw=b"")
    n = "top_level_array"
    b.add_invalid(n, "InvalidEnvelope", "the top-level JSON value is an array, not an object",
                  env=[b.env_with(n, [ok_text(n)])])
    n = "top_level_string"
    b.add_invalid(n, "InvalidEnvelope", "the top-level JSON value is a string, not an object",
                  env="not an envelope")
    n = "missing_payloads"
    env = b.env_with(n, [])
    del env["payloads"]
    b.add_invalid(n, "InvalidEnvelope", "the envelope has no payloads field", env=env)
    n = "payloads_not_array"
    env = b.env_with(n, [])
    env["payloads"] = {"0": ok_text(n)}
    b.add_invalid(n, "InvalidEnvelope", "payloads is an object, not an array", env=env)
    n = "payload_not_object"
    b.add_invalid(n, "InvalidEnvelope", "a payloads entry is a string, not an object",
                  env=b.env_with(n, ["SGVsbG8="]))

    def without(label, field, why):
        p = ok_text(label)
        del p[field]
        b.add_invalid(label, "InvalidEnvelope", why, env=b.env_with(label, [p]))

    without("missing_dataname", "dataname", "a payload has no dataname")
    without("missing_payload_type", "payload_type", "a payload has no payload_type")
    without("missing_transport", "transport", "a payload has no transport")
    without("missing_size", "size", "a payload has no size")
    without("missing_data", "data", "a payload has no data")

    def altered(label, kind, why, **fields):
        p = ok_text(label)
        p.update(fields)
        b.add_invalid(label, kind, why, env=b.env_with(label, [p]))

    altered("size_string", "InvalidEnvelope", "size is the string \"5\", not an integer", size="5")
    altered("size_negative", "InvalidEnvelope", "size is negative (-1)", size=-1)
    altered("size_fractional", "InvalidEnvelope", "size is 5.5, not an integer", size=5.5)
    altered("dataname_not_string", "InvalidEnvelope", "dataname is a number, not a string", dataname=42)
    altered("unknown_payload_type", "UnknownPayloadType", "payload_type \"spreadsheet\" is not a known type",
            payload_type="spreadsheet")
    altered("unknown_transport", "InvalidEnvelope", "transport \"carrier-pigeon\" is neither direct nor link",
            transport="carrier-pigeon")
    altered("bad_base64", "BadEncoding", "data contains characters outside the base64 alphabet",
            data="SGVs*bG8=", size=5)
    altered("size_mismatch", "SizeMismatch", "size says 6 but the data decodes to 5 bytes (\"Hello\")", size=6)

    def bad_bytes(label, ptype, data, kind, why):
        p = direct(label, "payload", "binary", data).wire
        p["payload_type"] = ptype
        b.add_invalid(label, kind, why, env=b.env_with(label, [p]))

    bad_bytes("text_invalid_utf8", "text", b"Hello, \xc3\x28 world \xff", "BadEncoding",
              "a text payload's bytes are not valid UTF-8")
    bad_bytes("dictionary_invalid_json", "dictionary", b'{"wifi_ssid": "MyNetwork", "update_interval": ',
              "BadEncoding", "a dictionary payload's bytes are truncated JSON")
    bad_bytes("table_invalid_arrow", "table", b"this is not an Arrow IPC stream, just text", "BadEncoding",
              "a table payload's bytes are not an Arrow IPC stream")
    whole = arrow_ipc(TABLE_COLUMNS, TABLE_ROWS)
    bad_bytes("table_truncated_arrow", "table", whole[: len(whole) - 40], "BadEncoding",
              "a table payload's Arrow IPC stream is cut off inside its record batch body")

    n = "jsontable_invalid_json"
    text = '[{"id": 1, "name": "a"}, {"id": 2, '
    b.add_invalid(n, "BadEncoding", "a jsontable payload (encoding json) holds truncated JSON",
                  env=b.env_with(n, [{"id": uid(n), "dataname": "rows", "payload_type": "jsontable",
                                      "transport": "direct", "encoding": "json", "size": len(text), "data": text}]))

    n = "second_payload_bad"
    p2 = ok_text(n + "2", "World")
    p2["dataname"] = "second"
    p2["data"] = "V29y!GQ="
    b.add_invalid(n, "BadEncoding", "the first payload is fine, the second has bad base64",
                  env=b.env_with(n, [ok_text(n), p2]))

    def link_wire(label, url, size, sha=None):
        w = {"id": uid(label), "dataname": "file", "payload_type": "binary", "transport": "link",
             "encoding": "none", "size": size, "data": url}
        if sha is not None:
            w["sha256"] = sha
        return w

    n = "link_file_url"
    b.add_invalid(n, "OriginNotAllowed", "the link URL uses the file: scheme",
                  env=b.env_with(n, [link_wire(n, "file:///etc/passwd", 100)]))
    n = "link_ftp_url"
    b.add_invalid(n, "OriginNotAllowed", "the link URL uses the ftp: scheme",
                  env=b.env_with(n, [link_wire(n, "ftp://files.example.invalid/pub/big.bin", 100)]))
    n = "link_missing_file"
    b.add_invalid(n, "PayloadNotFound", "the link URL points under the file server to a file that does not exist (404)",
                  env=b.env_with(n, [link_wire(n, f"{FS}/file/vec-link-missing-file/vec-file-01/missing.bin", 100)]))
    n = "link_digest_mismatch"
    data = seeded_bytes(n, 1000)
    path = f"{up(n)}/vec-file-01/tampered.bin"
    b.add_invalid(n, "DigestMismatch", "the served file has the right size but its SHA-256 differs from sha256",
                  env=b.env_with(n, [link_wire(n, f"{FS}/file/{path}", len(data),
                                               sha=sha256_hex(b"something else entirely"))]),
                  files={path: data})
    n = "link_size_mismatch"
    data = seeded_bytes(n, 800)
    path = f"{up(n)}/vec-file-01/short.bin"
    b.add_invalid(n, "SizeMismatch", "size says 801 but the served file has 800 bytes",
                  env=b.env_with(n, [link_wire(n, f"{FS}/file/{path}", len(data) + 1)]),
                  files={path: data})


# ----------------------------------------------------------------------------------------------
# Reference reader (self-check): plain Python, independent of the builders above
# ----------------------------------------------------------------------------------------------

class VecError(Exception):
    def __init__(self, kind, msg):
        super().__init__(f"{kind}: {msg}")
        self.kind = kind


CANONICAL = {"text": "text", "dictionary": "dictionary", "table": "table", "image": "image", "audio": "audio",
             "video": "video", "binary": "binary", "arrowtable": "table", "jsontable": "table"}
ARROW_NAMES = {pa.int64(): "int64", pa.float64(): "float64", pa.string(): "utf8", pa.bool_(): "bool"}
TEST_BASE = "http://vectors.test:1"


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def json_rows_to_table(rows):
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise VecError("BadEncoding", "json table is not an array of objects")
    names = []
    for r in rows:
        for k in r:
            if k not in names:
                names.append(k)
    columns = []
    for name in names:
        vals = [r.get(name) for r in rows if r.get(name) is not None]
        if vals and all(isinstance(v, bool) for v in vals):
            t = "bool"
        elif vals and all(is_int(v) for v in vals):
            t = "int64"
        elif vals and all(is_int(v) or isinstance(v, float) for v in vals):
            t = "float64"
        elif vals and all(isinstance(v, str) for v in vals):
            t = "utf8"
        else:
            raise VecError("BadEncoding", f"column {name}: no single type")
        columns.append([name, t])
    out = []
    for r in rows:
        row = []
        for name, t in columns:
            v = r.get(name)
            row.append(float(v) if (t == "float64" and v is not None) else v)
        out.append(row)
    return {"columns": columns, "rows": out}


def arrow_to_table(data):
    try:
        table = ipc.open_stream(pa.py_buffer(data)).read_all()
    except Exception as e:  # noqa: BLE001 - any Arrow failure is a bad encoding
        raise VecError("BadEncoding", f"arrow: {e}")
    columns = []
    for f in table.schema:
        if f.type not in ARROW_NAMES:
            raise VecError("BadEncoding", f"unsupported column type {f.type}")
        columns.append([f.name, ARROW_NAMES[f.type]])
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*cols)] if cols else []
    return {"columns": columns, "rows": rows}


def reference_read(raw, files_dir):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VecError("InvalidEnvelope", f"not UTF-8: {e}")
    try:
        env = json.loads(text)
    except ValueError as e:
        raise VecError("InvalidEnvelope", f"not JSON: {e}")
    if not isinstance(env, dict):
        raise VecError("InvalidEnvelope", "not an object")
    header = {}
    for k in HEADER_FIELDS:
        default = {} if k == "metadata" else ""
        v = env.get(k, default)
        if not isinstance(v, type(default)):
            raise VecError("InvalidEnvelope", f"{k} has the wrong type")
        header[k] = v
    payloads = env.get("payloads")
    if not isinstance(payloads, list):
        raise VecError("InvalidEnvelope", "payloads missing or not an array")
    # Structure of every payload first, then decode.
    for p in payloads:
        if not isinstance(p, dict):
            raise VecError("InvalidEnvelope", "payload not an object")
        for k in ("dataname", "payload_type", "transport", "data"):
            if not isinstance(p.get(k), str):
                raise VecError("InvalidEnvelope", f"payload {k} missing or not a string")
        if not is_int(p.get("size")) or p["size"] < 0:
            raise VecError("InvalidEnvelope", "payload size missing, not an integer or negative")
        if p["transport"] not in ("direct", "link"):
            raise VecError("InvalidEnvelope", "unknown transport")
        if "metadata" in p and not isinstance(p["metadata"], dict):
            raise VecError("InvalidEnvelope", "payload metadata not an object")
        if p["payload_type"] not in CANONICAL:
            raise VecError("UnknownPayloadType", p["payload_type"])
    out = []
    for p in payloads:
        ptype = CANONICAL[p["payload_type"]]
        encoding = p.get("encoding", "base64" if p["transport"] == "direct" else "none")
        if p["transport"] == "direct":
            if encoding in ("base64", "arrow-ipc"):
                try:
                    data = base64.b64decode(p["data"], validate=True)
                except binascii.Error as e:
                    raise VecError("BadEncoding", f"base64: {e}")
            elif encoding == "json":
                data = p["data"].encode("utf-8")
            else:
                raise VecError("BadEncoding", f"unknown encoding {encoding}")
        else:
            url = p["data"]
            if not (url.lower().startswith("http://") or url.lower().startswith("https://")):
                raise VecError("OriginNotAllowed", url)
            if not url.startswith(TEST_BASE + "/file/"):
                raise VecError("OriginNotAllowed", f"outside the test file server: {url}")
            path = files_dir / url[len(TEST_BASE + "/file/"):]
            if not path.is_file():
                raise VecError("PayloadNotFound", url)
            data = path.read_bytes()
        if len(data) != p["size"]:
            raise VecError("SizeMismatch", f"{len(data)} != {p['size']}")
        if "sha256" in p and sha256_hex(data) != str(p["sha256"]).lower():
            raise VecError("DigestMismatch", p["dataname"])
        if ptype in ("text", "dictionary") or (ptype == "table" and (p["payload_type"] == "jsontable"
                                                                      or encoding == "json")):
            try:
                s = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise VecError("BadEncoding", f"utf-8: {e}")
        if ptype == "text":
            value = {"text": s}
        elif ptype == "dictionary":
            try:
                value = {"json": json.loads(s)}
            except ValueError as e:
                raise VecError("BadEncoding", f"json: {e}")
        elif ptype == "table":
            if p["payload_type"] == "jsontable" or encoding == "json":
                try:
                    rows = json.loads(s)
                except ValueError as e:
                    raise VecError("BadEncoding", f"json: {e}")
                value = {"table": json_rows_to_table(rows)}
            else:
                value = {"table": arrow_to_table(data)}
        else:
            value = {"base64": b64(data)}
        e = {"dataname": p["dataname"], "payload_type": ptype, "transport": p["transport"], "size": p["size"],
             "value": value}
        if "metadata" in p:
            e["metadata"] = p["metadata"]
        out.append(e)
    return {"header": header, "payloads": out}


def strict_equal(a, b):
    """JSON equality that does not confuse true with 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def self_check(root):
    index = json.loads((root / "index.json").read_text())
    files_dir = root / "files"
    problems = []
    used = set()
    for name in index["valid"]:
        raw = (root / "valid" / f"{name}.json").read_bytes()
        used.update(referenced_files(raw))
        expected = json.loads((root / "valid" / f"{name}.expected.json").read_text(encoding="utf-8"))
        try:
            got = reference_read(raw.replace(FS.encode(), TEST_BASE.encode()), files_dir)
        except VecError as e:
            problems.append(f"valid/{name}: reader failed: {e}")
            continue
        if not strict_equal(got, expected):
            problems.append(f"valid/{name}: reader output differs from expected\n  got: {got}\n  exp: {expected}")
    for name in index["invalid"]:
        raw = (root / "invalid" / f"{name}.bin").read_bytes()
        used.update(referenced_files(raw))
        expected = json.loads((root / "invalid" / f"{name}.expected.json").read_text(encoding="utf-8"))
        try:
            reference_read(raw.replace(FS.encode(), TEST_BASE.encode()), files_dir)
            problems.append(f"invalid/{name}: reader accepted it")
        except VecError as e:
            if e.kind != expected["error"]:
                problems.append(f"invalid/{name}: got {e}, expected {expected['error']}")
    on_disk = {p.relative_to(files_dir).as_posix() for p in files_dir.rglob("*") if p.is_file()}
    for orphan in sorted(on_disk - used):
        problems.append(f"files/{orphan}: not referenced by any vector")
    listed = {f"valid/{n}.json" for n in index["valid"]} | {f"valid/{n}.expected.json" for n in index["valid"]} \
        | {f"invalid/{n}.bin" for n in index["invalid"]} | {f"invalid/{n}.expected.json" for n in index["invalid"]}
    for sub in ("valid", "invalid"):
        for p in (root / sub).iterdir():
            if f"{sub}/{p.name}" not in listed:
                problems.append(f"{sub}/{p.name}: not listed in index.json")
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    if total >= 1 << 20:
        problems.append(f"vectors take {total} bytes, more than 1 MiB")
    return problems, total


def referenced_files(raw):
    out = set()
    marker = (FS + "/file/").encode()
    start = 0
    while True:
        i = raw.find(marker, start)
        if i < 0:
            return out
        j = raw.find(b'"', i)
        out.add(raw[i + len(marker):j].decode())
        start = j


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------

def write_all(b: Builder, root: Path):
    for sub in ("valid", "invalid", "files"):
        d = root / sub
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)

    def dump(obj):
        return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    for name, (raw, expected) in b.valid.items():
        (root / "valid" / f"{name}.json").write_bytes(raw)
        (root / "valid" / f"{name}.expected.json").write_bytes(dump(expected))
    for name, (raw, expected) in b.invalid.items():
        (root / "invalid" / f"{name}.bin").write_bytes(raw)
        (root / "invalid" / f"{name}.expected.json").write_bytes(dump(expected))
    for path, data in b.files.items():
        p = root / "files" / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "index.json").write_bytes(dump({"valid": sorted(b.valid), "invalid": sorted(b.invalid)}))


def generated_paths(root):
    out = {"index.json"}
    for sub in ("valid", "invalid", "files"):
        out |= {p.relative_to(root).as_posix() for p in (root / sub).rglob("*") if p.is_file()}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write here: regenerate into a temp dir and compare with the committed vectors")
    args = ap.parse_args()
    if pa.__version__ != PYARROW_USED:
        print(f"note: pyarrow {pa.__version__}, the committed vectors were made with {PYARROW_USED}; "
              f"Arrow IPC bytes may differ (still valid)", file=sys.stderr)

    b = Builder()
    build(b)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            write_all(b, tmp)
            ours, theirs = generated_paths(tmp), generated_paths(HERE)
            diff = sorted(p for p in ours | theirs
                          if p not in ours or p not in theirs or (tmp / p).read_bytes() != (HERE / p).read_bytes())
            for p in diff:
                print(f"differs: {p}", file=sys.stderr)
            if diff:
                sys.exit(1)
    else:
        write_all(b, HERE)

    problems, total = self_check(HERE)
    for p in problems:
        print("SELF-CHECK: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"ok: {len(b.valid)} valid, {len(b.invalid)} invalid, {len(b.files)} linked files, {total} bytes")


if __name__ == "__main__":
    main()
