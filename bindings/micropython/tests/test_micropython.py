"""NATSBridge for MicroPython, run in a real MicroPython (unix port) against real nats-servers and
the project's file server (`natsbridge serve-files`). Fixtures and helpers are in conftest.py."""

import ast
import base64
import hashlib
import json
import re
import time

import pytest

from conftest import (MP_DIR, SMALL_MAX_PAYLOAD, VECTORS, free_port, mp_run, mp_run_text, nats_publish)

MODULE = MP_DIR / "natsbridge.py"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEADER = ["correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name", "sender_id",
          "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url", "metadata", "payloads"]
TABLE_TYPES = ("table", "arrowtable", "jsontable")


def pattern(n, seed=0):
    return bytes((i * 7 + seed) & 255 for i in range(n))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def summary(v):
    """What mp_util.summary prints for a value."""
    if isinstance(v, (bytes, bytearray)):
        return {"len": len(v), "sha256": sha(v)}
    if isinstance(v, str) and len(v) > 200:
        return {"textlen": len(v), "sha256": sha(v.encode())}
    return v


def strict_equal(a, b):
    """JSON equality that does not confuse true with 1 (as the vectors' self-check)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# Payload specs understood by mp_util.make, and their expected decoded summaries.
UNICODE = "Grüße, こんにちは 👋🏽 \"quotes\" \\ back\nslash"
CONFIG = {"wifi_ssid": "MyNetwork", "update_interval": 60, "ratio": 0.75, "on": True, "none": None,
          "nested": {"list": [1, "two", [3.5]], "empty": {}}}


def spec_value(spec):
    name, t, v = spec
    if isinstance(v, dict) and "pattern" in v:
        return pattern(v["pattern"], v.get("seed", 0))
    if isinstance(v, dict) and "repeat" in v:
        return v["repeat"] * v["times"]
    return v


def expected_payloads(specs):
    return [[s[0], s[1], summary(spec_value(s))] for s in specs]


SMALL_CASES = [
    {"name": "text", "payloads": [["message", "text", UNICODE]]},
    {"name": "dictionary", "payloads": [["config", "dictionary", CONFIG]]},
    {"name": "dictionary_list", "payloads": [["readings", "dictionary", [1, 2.5, "x", None, False, {"k": []}]]]},
    {"name": "binary", "payloads": [["all_bytes", "binary", {"pattern": 256}]]},
    {"name": "bytes_types", "payloads": [["img", "image", {"pattern": 3000, "seed": 1}],
                                         ["snd", "audio", {"pattern": 1000, "seed": 2}],
                                         ["vid", "video", {"pattern": 2000, "seed": 3}],
                                         ["empty", "binary", {"pattern": 0}]]},
    {"name": "mixed", "payloads": [["message_text", "text", "Hello!"], ["cfg", "dictionary", {"a": 1}],
                                   ["blob", "binary", {"pattern": 500, "seed": 9}], ["empty_text", "text", ""]]},
]


# ---------------------------------------------------------------------------------------------
# Envelope format
# ---------------------------------------------------------------------------------------------

def test_envelope_v1_written_exactly():
    code = """
import mp_util, natsbridge as nb
stub = lambda u, n, d: {"status": 200, "uploadid": "U", "fileid": "F", "url": "http://store.invalid/file/U/F/" + n}
env, s = nb.smartsend("sensors.room1", [("msg", "Grüße 👋", "text"), ("cfg", {"a": [1, 2]}, "dictionary"),
                      ("raw", mp_util.pattern(10), "binary"), ("big", mp_util.pattern(50), "image")],
                      is_publish=False, size_threshold=40, fileserver_upload_handler=stub,
                      receiver_name="backend", metadata={"fw": "1.0"})
mp_util.out(env=env, s=s)
"""
    out = mp_run(code)[0]
    s, env = out["s"], out["env"]
    pairs = json.loads(s, object_pairs_hook=lambda kv: kv)
    assert [k for k, _ in pairs] == HEADER
    wire = json.loads(s)
    assert wire == env
    assert UUID4.match(wire["correlation_id"]) and UUID4.match(wire["msg_id"]) and UUID4.match(wire["sender_id"])
    assert len({wire["correlation_id"], wire["msg_id"], wire["sender_id"]}) == 3
    assert TS.match(wire["timestamp"]), wire["timestamp"]
    assert abs(time.time() - time.mktime(time.strptime(wire["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
               + time.timezone) < 120
    assert wire["send_to"] == "sensors.room1" and wire["msg_purpose"] == "chat"
    assert wire["sender_name"] == "NATSBridge" and wire["receiver_name"] == "backend"
    assert wire["broker_url"] == "nats://localhost:4222" and wire["metadata"] == {"fw": "1.0"}
    assert wire["reply_to"] == wire["reply_to_msg_id"] == wire["receiver_id"] == ""
    order = ["id", "dataname", "payload_type", "transport", "encoding", "size", "data"]
    payload_pairs = dict(pairs)["payloads"]
    direct = [("msg", "text", "Grüße 👋".encode()), ("cfg", "dictionary", b'{"a": [1, 2]}'),
              ("raw", "binary", pattern(10))]
    for (name, t, raw), pp, p in zip(direct, payload_pairs, wire["payloads"]):
        assert [k for k, _ in pp] == order
        assert UUID4.match(p["id"])
        assert (p["dataname"], p["payload_type"], p["transport"], p["encoding"]) == (name, t, "direct", "base64")
        assert p["size"] == len(raw) and base64.b64decode(p["data"], validate=True) == raw
    big = wire["payloads"][3]
    assert [k for k, _ in payload_pairs[3]] == order + ["sha256"]
    assert (big["transport"], big["encoding"], big["size"]) == ("link", "none", 50)
    assert big["data"] == "http://store.invalid/file/U/F/big" and big["sha256"] == sha(pattern(50))


# ---------------------------------------------------------------------------------------------
# Two MicroPython processes over a real nats-server
# ---------------------------------------------------------------------------------------------

def _exchange(nats, mp_proc, subject, cases, fileserver=None, timeout=60, path=None):
    """Listener (mp_peer.py) + sender (mp_send.py); returns (listener lines, sender lines)."""
    n = len(cases)
    params = {"url": nats, "subject": subject, "count": n}
    if fileserver:
        params["fileserver"] = fileserver
    peer = mp_proc("mp_peer.py", params, path=path)
    assert peer.next(20) == {"ready": True}
    sent = mp_run("mp_send.py", dict(params, cases=cases), timeout=timeout, path=path)
    got = peer.wait(timeout)
    return got, sent


@pytest.mark.parametrize("build", ["source", "mpy"])
def test_text_dictionary_binary_both_ways(build, nats, mp_proc, request):
    """Two MicroPython processes: every small case by smartsend, then by smartrequest (echoed back).
    Once importing natsbridge.py, once the mpy-cross build."""
    path = request.getfixturevalue("mpy_build") if build == "mpy" else None
    cases = [dict(c, name="send_" + c["name"]) for c in SMALL_CASES]
    cases += [dict(c, name="request_" + c["name"], request=True) for c in SMALL_CASES]
    got, sent = _exchange(nats, mp_proc, "mpy.exchange", cases, path=path)
    received = [g["received"] for g in got if "received" in g]
    replies = [g for g in got if "replied" in g]
    assert len(received) == len(cases) and len(replies) == len(SMALL_CASES)
    assert not [g for g in got if "error" in g]
    by_case = {s["case"]: s for s in sent}
    for c, r in zip(cases, received):
        assert r["payloads"] == expected_payloads(c["payloads"]), c["name"]
        assert r["transports"] == ["direct"] * len(c["payloads"])
        assert r["send_to"] == "mpy.exchange" and r["broker_url"] == nats
        if c.get("request"):
            assert r["reply_to"].startswith("_INBOX.")
            back = by_case[c["name"]]["reply"]
            assert back["payloads"] == expected_payloads(c["payloads"]), c["name"]
            assert back["sender_name"] == "mp-echo" and back["correlation_id"] == r["correlation_id"]
            assert back["reply_to_msg_id"] == r["msg_id"] and back["send_to"] == r["reply_to"]
        else:
            assert r["msg_id"] == by_case[c["name"]]["msg_id"] and r["reply_to"] == ""


def test_link_payloads_both_ways(nats, fileserver, mp_proc):
    specs = [["firmware", "binary", {"pattern": 150000, "seed": 5}],
             ["log", "text", {"repeat": "line of log é\n", "times": 9000}],
             ["note", "text", "small one stays direct"]]
    cases = [{"name": "send_link", "payloads": specs},
             {"name": "request_link", "payloads": specs, "request": True}]
    got, sent = _exchange(nats, mp_proc, "mpy.link", cases, fileserver=fileserver)
    received = [g["received"] for g in got if "received" in g]
    assert len(received) == 2, got
    for r in received:
        assert r["payloads"] == expected_payloads(specs)
        assert r["transports"] == ["link", "link", "direct"]
    assert sent[0]["transports"] == ["link", "link", "direct"]
    echo = [g for g in got if "replied" in g][0]
    assert echo["transports"] == ["link", "link", "direct"]
    back = sent[1]["reply"]
    assert back["payloads"] == expected_payloads(specs) and back["transports"] == ["link", "link", "direct"]


def test_request_reply_seed_pattern(nats, mp_proc):
    """The seed's request/response example: the responder answers on the reply_to subject."""
    responder = mp_proc("""
import mp_util, natsbridge as nb
P = mp_util.params()
def on_cmd(env):
    reply_to = env["reply_to"]
    for dataname, data, type_ in env["payloads"]:
        if dataname == "command" and data["action"] == "read_sensor":
            response = {"sensor_id": "sensor-001", "value": 42.5}
            if reply_to:
                nb.reply(env, [("data", response, "dictionary")], broker_url=P["url"])
nc = nb.connect(P["url"])
nc.subscribe("/device/command", lambda m: on_cmd(nb.smartreceive(m)))
nc.flush()
mp_util.out(ready=True)
mp_util.out(handled=nc.loop(timeout=20, count=1))
""", {"url": nats})
    assert responder.next(20) == {"ready": True}
    out = mp_run("""
import mp_util, natsbridge as nb
P = mp_util.params()
nc = nb.connect(P["url"])
sid = nc.subscribe("/device/response")
env, s = nb.smartsend("/device/command", [("command", {"action": "read_sensor"}, "dictionary")],
                      broker_url=P["url"], reply_to="/device/response", nats_connection=nc)
r = nb.smartreceive(nc.next_msg(sid, 10))
mp_util.out(request=env, response=mp_util.describe(r))
""", {"url": nats})[0]
    assert responder.wait(20)[-1] == {"handled": 1}
    resp, req = out["response"], out["request"]
    assert resp["payloads"] == [["data", "dictionary", {"sensor_id": "sensor-001", "value": 42.5}]]
    assert resp["reply_to_msg_id"] == req["msg_id"] and resp["correlation_id"] == req["correlation_id"]
    assert resp["send_to"] == "/device/response"


def test_subscribe_loop_and_queue(nats, mp_proc):
    """Blocking subscribe with a callback, wait_msg/check_msg, and several envelopes in a row."""
    listener = mp_proc("""
import mp_util, natsbridge as nb
P = mp_util.params()
got = []
nc = nb.connect(P["url"])
nc.subscribe("mpy.loop.ready", lambda m: m.respond(b"yes"))
nc.flush()
mp_util.out(ready=True)
# The probe is answered from inside this loop, after its SUB: so the sender's three envelopes
# (sent once the probe is answered) cannot arrive before the subscription. 1 probe + 3 = 4.
n = nb.subscribe("mpy.loop", lambda env: got.append(env["payloads"][0][1]), nats_connection=nc, count=4, timeout=20)
mp_util.out(count=n, got=got, poll=nc.check_msg())
""", {"url": nats})
    assert listener.next(20) == {"ready": True}
    out = mp_run("""
import mp_util, natsbridge as nb
P = mp_util.params()
nc = nb.connect(P["url"])
probe = nc.request("mpy.loop.ready", b"?", 5).data
for i in range(3):
    nb.smartsend("mpy.loop", [("i", {"n": i}, "dictionary")], nats_connection=nc, broker_url=P["url"])
nc.flush()
mp_util.out(probe=bytes(probe).decode())
""", {"url": nats})
    assert out == [{"probe": "yes"}]
    assert listener.wait(20)[-1] == {"count": 4, "got": [{"n": 0}, {"n": 1}, {"n": 2}], "poll": None}


@pytest.mark.parametrize("mode", ["url_token", "arg_token", "url_userpass", "arg_userpass"])
def test_auth(mode, nats_token, nats_userpass):
    if "token" in mode:
        hostport, tok = nats_token
        url = f"nats://{tok}@{hostport}" if mode == "url_token" else f"nats://{hostport}"
        kw = {} if mode == "url_token" else {"token": tok}
    else:
        hostport, user, pw = nats_userpass
        url = f"nats://{user}:{pw}@{hostport}" if mode == "url_userpass" else f"nats://{hostport}"
        kw = {} if mode == "url_userpass" else {"user": user, "password": pw}
    out = mp_run("""
import mp_util, natsbridge as nb
P = mp_util.params()
nc = nb.connect(P["url"], **P["kw"])
sid = nc.subscribe("mpy.auth")
nc.flush()
if P["kw"]:
    nb.smartsend("mpy.auth", [("m", "authorised", "text")], nats_connection=nc)
else:  # smartsend opens its own connection with the credentials in the URL
    nb.smartsend("mpy.auth", [("m", "authorised", "text")], broker_url=P["url"])
mp_util.out(got=nb.smartreceive(nc.next_msg(sid, 5))["payloads"])
""", {"url": url, "kw": kw})
    assert out == [{"got": [["m", "authorised", "text"]]}]


# ---------------------------------------------------------------------------------------------
# Envelope size rule against a server with max_payload = 8 KiB
# ---------------------------------------------------------------------------------------------

def test_envelope_never_exceeds_max_payload(nats_small, fileserver):
    code = """
import mp_util, natsbridge as nb
P = mp_util.params()
nc = nb.connect(P["url"])
sid = nc.subscribe("mpy.size")
mp_util.out(max_payload=nc.max_payload)
cases = [("fits_direct", [("a", mp_util.pattern(5000), "binary")]),
         ("moved_to_link", [("a", mp_util.pattern(7000), "binary")]),
         ("largest_moves", [("small", mp_util.pattern(3400, 1), "binary"), ("large", mp_util.pattern(3600, 2), "audio")]),
         ("text_moves", [("t", "x" * 7000, "text"), ("d", {"k": "v"}, "dictionary")])]
for name, data in cases:
    env, s = nb.smartsend("mpy.size", data, nats_connection=nc, fileserver_url=P["fs"])
    r = nb.smartreceive(nc.next_msg(sid, 5))
    mp_util.out(case=name, wire=len(s), transports=[i["transport"] for i in r["payload_info"]],
                ok=[mp_util.summary(v) == mp_util.summary(d[1]) for (n, v, t), d in zip(r["payloads"], data)])
# nothing is published when it cannot fit
for name, kw in (("no_store", {"fileserver_upload_handler": None}),
                 ("store_down", {"fileserver_url": "http://127.0.0.1:%d" % P["dead"]})):
    try:
        nb.smartsend("mpy.size", [("a", bytes(9000), "binary")], nats_connection=nc, **kw)
        kind = None
    except nb.NATSBridgeError as e:
        kind = e.kind
    try:
        nc.next_msg(sid, 0.3)
        leaked = True
    except nb.NATSBridgeError:
        leaked = False
    mp_util.out(case=name, kind=kind, leaked=leaked)
# without a connection the default max_payload (1 MiB) applies: 800 kB + base64 would not fit
env, s = nb.smartsend("mpy.size", [("big", mp_util.pattern(800000, 3), "binary")], is_publish=False,
                      size_threshold=1000000, fileserver_url=P["fs"])
mp_util.out(case="no_connection_default", wire=len(s), transports=[p["transport"] for p in env["payloads"]])
"""
    out = mp_run(code, {"url": nats_small, "fs": fileserver, "dead": free_port()}, heap="16M")
    assert out[0] == {"max_payload": SMALL_MAX_PAYLOAD}
    res = {o["case"]: o for o in out[1:]}
    expect = {"fits_direct": ["direct"], "moved_to_link": ["link"], "largest_moves": ["direct", "link"],
              "text_moves": ["link", "direct"]}
    for name, transports in expect.items():
        assert res[name]["transports"] == transports, name
        assert res[name]["wire"] <= SMALL_MAX_PAYLOAD and all(res[name]["ok"]), res[name]
    assert res["no_store"] == {"case": "no_store", "kind": "EnvelopeTooLarge", "leaked": False}
    assert res["store_down"] == {"case": "store_down", "kind": "UploadFailed", "leaked": False}
    assert res["no_connection_default"]["transports"] == ["link"]
    assert res["no_connection_default"]["wire"] < 1 << 20


# ---------------------------------------------------------------------------------------------
# Bad input: every error kind
# ---------------------------------------------------------------------------------------------

EXPECTED_ERRORS = {
    "subject_with_space": "InvalidArgument", "subject_empty": "InvalidArgument", "data_not_list": "InvalidArgument",
    "payload_not_triple": "InvalidArgument", "dataname_empty": "InvalidArgument",
    "dataname_not_str": "InvalidArgument", "text_given_bytes": "InvalidArgument",
    "dictionary_given_str": "InvalidArgument", "dictionary_unserializable": "InvalidArgument",
    "dictionary_nan": "InvalidArgument", "dictionary_bytes_value": "InvalidArgument",
    "binary_given_str": "InvalidArgument", "threshold_negative": "InvalidArgument",
    "metadata_not_dict": "InvalidArgument", "header_not_str": "InvalidArgument",
    "reply_without_reply_to": "InvalidArgument", "receive_int": "InvalidArgument",
    "broker_url_no_scheme": "InvalidArgument", "broker_url_tls": "InvalidArgument",
    "broker_url_bad_port": "InvalidArgument",
    "send_unknown_type": "UnknownPayloadType", "send_table": "NotSupported", "send_arrowtable": "NotSupported",
    "receive_unknown_type": "UnknownPayloadType", "receive_table": "NotSupported",
    "receive_jsontable": "NotSupported",
    "receive_truncated_json": "InvalidEnvelope", "receive_array": "InvalidEnvelope",
    "receive_header_wrong_type": "InvalidEnvelope", "receive_metadata_wrong_type": "InvalidEnvelope",
    "receive_size_bool": "InvalidEnvelope",
    "receive_bad_base64": "BadEncoding", "receive_base64_no_padding": "BadEncoding",
    "receive_base64_urlsafe": "BadEncoding", "receive_base64_noncanonical": "BadEncoding",
    "receive_unknown_encoding": "BadEncoding", "receive_size_mismatch": "SizeMismatch",
    "receive_digest_mismatch": "DigestMismatch", "receive_bad_utf8_text": "BadEncoding",
    "receive_bad_json_dictionary": "BadEncoding",
    "metadata_too_large": "EnvelopeTooLarge", "publish_over_max_payload": "EnvelopeTooLarge",
    "too_large_without_store": "EnvelopeTooLarge",
    "upload_store_down": "UploadFailed", "upload_wrong_path": "UploadFailed", "upload_handler_raises": "UploadFailed",
    "upload_handler_no_url": "UploadFailed", "upload_https_store": "UploadFailed",
    "download_refused": "DownloadFailed", "download_503_always": "DownloadFailed", "download_400": "DownloadFailed",
    "download_handler_raises": "DownloadFailed", "download_handler_returns_str": "DownloadFailed",
    "download_404": "PayloadNotFound", "download_size_mismatch": "SizeMismatch",
    "download_digest_mismatch": "DigestMismatch", "download_https": "OriginNotAllowed",
    "download_ftp": "OriginNotAllowed", "download_file_scheme": "OriginNotAllowed",
    "download_503_then_ok": None, "download_429_then_ok": None, "download_chunked": None,
    "download_until_eof": None, "download_chunked_too_long": "SizeMismatch", "download_eof_too_short": "SizeMismatch",
    "request_no_responders": "NoResponders", "request_silent_responder": "Timeout", "next_msg_timeout": "Timeout",
    "connect_refused": "Connection", "connect_bad_token": "Connection", "connect_bad_password": "Connection",
    "publish_after_close": "Connection",
}


@pytest.fixture(scope="module")
def error_run(nats, nats_small, fileserver, flaky_http, nats_token, nats_userpass):
    base, flaky = flaky_http
    flaky.plan.update({"/always503": [503] * 10, "/bad400": [400], "/twice503": [503, 503], "/once429": [429]})
    out = mp_run("mp_errors.py", {"url": nats, "small": nats_small, "fileserver": fileserver, "flaky": base,
                                  "dead": free_port(), "token_hostport": nats_token[0],
                                  "userpass_hostport": nats_userpass[0]}, heap="4M")
    return {o["case"]: o for o in out if "case" in o}, out[-1]["extra"], dict(flaky.hits)


@pytest.mark.parametrize("case", sorted(EXPECTED_ERRORS))
def test_error_kind(case, error_run):
    res = error_run[0]
    assert case in res, f"mp_errors.py did not run {case}"
    r = res[case]
    assert r["kind"] == EXPECTED_ERRORS[case], r
    if r["kind"]:
        assert r["base"] is True and r["message"]
        assert r["cls"] == ("NotSupportedError" if r["kind"] == "NotSupported" else "NATSBridgeError")


def test_every_error_kind_the_module_raises_is_covered(error_run):
    src = MODULE.read_text()
    raised = set(re.findall(r'_E\(\s*"(\w+)"', src)) | {"NotSupported"}
    raised |= {"Timeout", "Connection"}  # from _oserr
    assert raised - set(EXPECTED_ERRORS.values()) == set()
    assert set(EXPECTED_ERRORS) == set(error_run[0])


def test_download_backoff_retries(error_run):
    _, extra, hits = error_run
    assert hits["/always503"] == 3          # max_retries=3 attempts, then DownloadFailed
    assert hits["/bad400"] == 1             # other 4xx: no retry
    assert hits["/twice503"] == 3 and extra["/twice503"] == "flaky-body-0123456789"
    assert hits["/once429"] == 2 and extra["/once429"] == "flaky-body-0123456789"
    assert extra["/chunked"] == extra["/eof"] == "flaky-body-0123456789"
    # two waits: 50..100 ms then 100..200 ms (base_delay 100, doubling, jitter in the upper half)
    assert 150 <= extra["download_refused"] < 3000


# ---------------------------------------------------------------------------------------------
# Golden vectors
# ---------------------------------------------------------------------------------------------

def _vector_index():
    p = VECTORS / "index.json"
    if not p.is_file():
        return []
    idx = json.loads(p.read_text())
    return [("valid", n) for n in idx["valid"]] + [("invalid", n) for n in idx["invalid"]]


@pytest.fixture(scope="module")
def vector_results(vector_fileserver):
    out = mp_run("mp_vectors.py", {"vectors": str(VECTORS), "fileserver": vector_fileserver}, heap="8M")
    return {(o["group"], o["name"]): o for o in out}


def test_vectors_present():
    assert _vector_index(), f"no golden vectors at {VECTORS}/index.json"


def _has_table(raw: bytes):
    try:
        env = json.loads(raw)
        return any(isinstance(p, dict) and p.get("payload_type") in TABLE_TYPES for p in env.get("payloads", []))
    except (ValueError, AttributeError):
        return False


@pytest.mark.parametrize("group,name", _vector_index(), ids=lambda v: str(v))
def test_vector(group, name, vector_results):
    r = vector_results[(group, name)]
    if group == "valid":
        expected = json.loads((VECTORS / "valid" / f"{name}.expected.json").read_text(encoding="utf-8"))
        if any(p["payload_type"] == "table" for p in expected["payloads"]):
            assert r.get("error") == "NotSupported", r
            return
        assert "error" not in r, r
        assert strict_equal(r["result"], expected), (r["result"], expected)
    else:
        expected = json.loads((VECTORS / "invalid" / f"{name}.expected.json").read_text(encoding="utf-8"))
        raw = (VECTORS / "invalid" / f"{name}.bin").read_bytes()
        want = "NotSupported" if _has_table(raw) else expected["error"]
        assert r.get("error") == want, r


# ---------------------------------------------------------------------------------------------
# Memory and size
# ---------------------------------------------------------------------------------------------

def _envelope_64k():
    """A 64 KiB direct binary payload in an envelope written here in CPython (not by the module)."""
    data = pattern(65536, 11)
    env = {"correlation_id": "c", "msg_id": "m", "timestamp": "2026-01-01T00:00:00.000Z", "send_to": "mpy.heap",
           "msg_purpose": "chat", "sender_name": "cpython", "sender_id": "s", "receiver_name": "",
           "receiver_id": "", "reply_to": "", "reply_to_msg_id": "", "broker_url": "", "metadata": {},
           "payloads": [{"id": "p", "dataname": "reading", "payload_type": "binary", "transport": "direct",
                         "encoding": "base64", "size": len(data), "data": base64.b64encode(data).decode()}]}
    return json.dumps(env).encode(), data


def _receive_64k(nats, mp_proc, heap, path):
    raw, data = _envelope_64k()
    p = mp_proc("mp_heap.py", {"url": nats, "subject": "mpy.heap"}, heap=heap, path=path)
    try:
        ready = p.next(20)
    except AssertionError:
        return None  # MemoryError before it could subscribe
    nats_publish(nats, "mpy.heap", raw)
    try:
        res = p.next(20)
    except AssertionError:
        return None
    p.stop()
    assert res["sha256"] == sha(data) and res["len"] == 65536
    return ready, res


def _min_heap(fn, lo, hi, step=2048):
    """Smallest -X heapsize (bytes) for which fn(heap) succeeds, by bisection."""
    assert fn(str(hi)), f"fails even with a {hi}-byte heap"
    while hi - lo > step:
        mid = (lo + hi) // 2 // 1024 * 1024
        if fn(str(mid)):
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize("build", ["source", "mpy"])
def test_heap_receiving_64k_direct(build, nats, mp_proc, record_property, request):
    """Peak heap while receiving a 64 KiB direct payload, as the smallest heap that still does it."""
    path = request.getfixturevalue("mpy_build") if build == "mpy" else None
    ok = _receive_64k(nats, mp_proc, "2M", path)
    assert ok, "receiving a 64 KiB payload failed with the default 2 MiB heap"
    ready, res = ok
    need = _min_heap(lambda h: _receive_64k(nats, mp_proc, h, path), 32 * 1024, 1024 * 1024)
    figures = {"build": build, "module_bytes": MODULE.stat().st_size,
               "heap_after_import_and_connect": ready["base"],
               "held_after_message_read": res["after_msg"] - res["base"],
               "held_after_decode": res["after_decode"] - res["base"], "min_heapsize_for_64k_receive": need}
    for k, v in figures.items():
        record_property(k, v)
    print("\nMicroPython 64 KiB receive:", json.dumps(figures))
    # The message (~87.5 kB of base64) and the decoded 64 KiB are the only big blocks alive at once.
    assert res["after_decode"] - res["base"] < 170 * 1024
    assert need <= (256 if build == "mpy" else 448) * 1024


def test_module_is_small_and_portable():
    src = MODULE.read_text()
    assert len(src.encode()) < 40 * 1024, len(src.encode())
    mods = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add(node.module)
    mods |= set(re.findall(r'_imp\("(\w+)"\)', src))
    assert mods <= {"socket", "time", "gc", "json", "binascii", "os", "hashlib", "random"}, mods


IMPORT = "import gc, natsbridge; gc.collect(); print('{\"alloc\": %d}' % gc.mem_alloc())"


def test_import_heap(mpy_build):
    """Compiling the source on the board needs far more RAM than loading the mpy-cross build."""
    src = _min_heap(lambda h: mp_run(IMPORT, heap=h, check=False), 16 * 1024, 1024 * 1024)
    mpy = _min_heap(lambda h: mp_run(IMPORT, heap=h, check=False, path=mpy_build), 16 * 1024, 1024 * 1024)
    resident = mp_run(IMPORT, path=mpy_build)[0]["alloc"]
    print("\nimport needs a heap of: source %d, mpy %d (resident after import %d; .mpy file %d bytes)"
          % (src, mpy, resident, (mpy_build / "natsbridge.mpy").stat().st_size))
    assert mpy <= 64 * 1024 and resident < 48 * 1024


# ---------------------------------------------------------------------------------------------
# The README's examples, run as written (only the two URLs are replaced)
# ---------------------------------------------------------------------------------------------

README = MP_DIR / "README.md"
# Run before a listener example: prints {"ready": true} once it has subscribed (test-only hook).
READY_HOOK = """
import natsbridge as _nb
_sub = _nb.NATS.subscribe
def _ready_sub(self, *a, **k):
    sid = _sub(self, *a, **k)
    self.flush()
    print('{"ready": true}')
    return sid
_nb.NATS.subscribe = _ready_sub
"""


def readme_examples():
    text = README.read_text()
    return dict(re.findall(r"<!-- example: ([\w-]+) -->\s*```python\n(.*?)```", text, re.S))


README_PAIRS = {  # listener, sender, what the listener prints, what the sender prints
    "send_receive": ("receive", "send", ["reading dictionary", "sensor-001", "21.5", "status text ok"], ["sent "]),
    "dictionary": ("config-listener", "config-sender", ["new interval 60"], []),
    "smartrequest": ("responder", "requester", [], ["('data', {", "sensor-001", "42.5", "'dictionary')]"]),
    "reply_to_subject": ("responder", "requester-reply-to", [], ["True [('data', {", "42.5"]),
    "link": ("chat-listener", "chat-sender", ["message_text text direct 6", "user_avatar image direct 2048",
                                              "large_document binary link 150000"],
             ["['direct', 'direct', 'link']"]),
}


def test_readme_examples_are_all_run():
    used = {n for pair in README_PAIRS.values() for n in pair[:2]}
    assert set(readme_examples()) == used


@pytest.mark.parametrize("pair", sorted(README_PAIRS))
def test_readme_example(pair, nats, fileserver, mp_proc):
    ex = readme_examples()
    listener, sender, want_l, want_s = README_PAIRS[pair]

    def code(name):
        return ex[name].replace("nats://localhost:4222", nats).replace("http://localhost:8080", fileserver)
    lp = mp_proc(READY_HOOK + code(listener))
    assert lp.next(20) == {"ready": True}
    p = mp_run_text(code(sender))
    lp.wait(30)
    out_l = "\n".join(lp.text)
    for w in want_l:
        assert w in out_l, (w, out_l)
    for w in want_s:
        assert w in p, (w, p)


def test_long_data_strings_outside_payload_data(flaky_http):
    """Big "data" strings are decoded from the message buffer; "data" keys elsewhere (metadata,
    a long link URL, a key inside a text) must come back unchanged."""
    base, _ = flaky_http
    long_meta = "ü" * 300
    url = base + "/x?" + "q" * 300
    env = {"msg_id": "m", "metadata": {"data": long_meta, "list": [{"data": "B" * 400}]},
           "sender_name": 'say "data": "' + "z" * 300 + '"',
           "payloads": [
               {"dataname": "blob", "payload_type": "binary", "transport": "direct", "encoding": "base64",
                "size": 3000, "data": base64.b64encode(pattern(3000)).decode(), "metadata": {"data": "c" * 500}},
               {"dataname": "far", "payload_type": "binary", "transport": "link", "encoding": "none",
                "size": 21, "data": url},
               {"dataname": "t", "payload_type": "text", "transport": "direct",
                "size": 600, "data": base64.b64encode(b"d" * 600).decode()}]}
    for indent in (None, 2):
        raw = json.dumps(env, indent=indent, ensure_ascii=False)
        out = mp_run("""
import mp_util, natsbridge as nb
P = mp_util.params()
r = nb.smartreceive(P["raw"].encode())
mp_util.out(meta=r["metadata"], sender=r["sender_name"], pm=[i.get("metadata") for i in r["payload_info"]],
            payloads=[[n, t, mp_util.summary(v)] for n, v, t in r["payloads"]])
""", {"raw": raw})[0]
        assert out["meta"] == env["metadata"] and out["sender"] == env["sender_name"]
        assert out["pm"] == [{"data": "c" * 500}, None, None]
        assert out["payloads"] == [["blob", "binary", summary(pattern(3000))],
                                   ["far", "binary", summary(b"flaky-body-0123456789")],
                                   ["t", "text", summary("d" * 600)]]
