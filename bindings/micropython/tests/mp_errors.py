# Bad input: every error kind natsbridge can raise. Prints {case, kind, message[, extra]} per case.
import time
import mp_util
import natsbridge as nb

P = mp_util.params()
U, FS, FL, DEAD = P["url"], P["fileserver"], P["flaky"], P["dead"]
nc = nb.connect(U)


def send(data, **kw):
    kw.setdefault("is_publish", False)
    return nb.smartsend("t.err", data, **kw)


def env_with(p):
    p2 = {"id": "x", "dataname": "d", "payload_type": "text", "transport": "direct", "encoding": "base64",
          "size": 5, "data": "SGVsbG8="}
    p2.update(p)
    return mp_util.json.dumps({"payloads": [p2]})


def link(url, size=21, **kw):
    return env_with(dict(transport="link", encoding="none", payload_type="binary", data=url, size=size, **kw))


def boom(*a):
    raise ValueError("handler exploded")


class Obj:
    pass


extra = {}


def timed(name, fn):
    t = time.ticks_ms()
    try:
        fn()
    finally:
        extra[name] = time.ticks_diff(time.ticks_ms(), t)


def silent_request():
    nc2 = nb.connect(U)
    nc2.subscribe("t.silent")
    nc2.flush()
    try:
        nb.smartrequest("t.silent", [("q", "x", "text")], timeout=0.5, nats_connection=nc)
    finally:
        nc2.close()


def closed_publish():
    c = nb.connect(U)
    c.close()
    c.publish("t.x", b"x")


def ok_after(path, statuses, **kw):
    r = nb.smartreceive(link(FL + path), **kw)
    extra[path] = r["payloads"][0][1].decode()


T = "dictionary"
cases = [
    # InvalidArgument
    ("subject_with_space", lambda: nb.smartsend("has space", [("a", "x", "text")], nats_connection=nc)),
    ("subject_empty", lambda: nb.smartsend("", [("a", "x", "text")], is_publish=False)),
    ("data_not_list", lambda: send("hello")),
    ("payload_not_triple", lambda: send([("a", "x")])),
    ("dataname_empty", lambda: send([("", "x", "text")])),
    ("dataname_not_str", lambda: send([(5, "x", "text")])),
    ("text_given_bytes", lambda: send([("a", b"x", "text")])),
    ("dictionary_given_str", lambda: send([("a", "x", T)])),
    ("dictionary_unserializable", lambda: send([("a", {"k": Obj()}, T)])),
    ("dictionary_nan", lambda: send([("a", {"k": float("nan")}, T)])),
    ("dictionary_bytes_value", lambda: send([("a", {"k": b"raw"}, T)])),
    ("binary_given_str", lambda: send([("a", "x", "binary")])),
    ("threshold_negative", lambda: send([("a", "x", "text")], size_threshold=-1)),
    ("metadata_not_dict", lambda: send([("a", "x", "text")], metadata=[1])),
    ("header_not_str", lambda: send([("a", "x", "text")], msg_purpose=5)),
    ("reply_without_reply_to", lambda: nb.reply({"reply_to": "", "msg_id": "m"}, [("a", "x", "text")])),
    ("receive_int", lambda: nb.smartreceive(12345)),
    ("broker_url_no_scheme", lambda: nb.smartsend("t.x", [("a", "x", "text")], broker_url="localhost:4222")),
    ("broker_url_tls", lambda: nb.connect("tls://127.0.0.1:4222")),
    ("broker_url_bad_port", lambda: nb.connect("nats://127.0.0.1:port")),
    # UnknownPayloadType / NotSupported
    ("send_unknown_type", lambda: send([("a", "x", "spreadsheet")])),
    ("send_table", lambda: send([("t", [{"a": 1}], "table")])),
    ("send_arrowtable", lambda: send([("t", b"ARROW", "arrowtable")])),
    ("receive_unknown_type", lambda: nb.smartreceive(env_with({"payload_type": "hologram"}))),
    ("receive_table", lambda: nb.smartreceive(env_with({"payload_type": "table"}))),
    ("receive_jsontable", lambda: nb.smartreceive(env_with({"payload_type": "jsontable", "encoding": "json",
                                                             "data": "[]", "size": 2}))),
    # envelope decoding
    ("receive_truncated_json", lambda: nb.smartreceive(b'{"payloads": [')),
    ("receive_array", lambda: nb.smartreceive(b"[]")),
    ("receive_header_wrong_type", lambda: nb.smartreceive(b'{"msg_id": 5, "payloads": []}')),
    ("receive_metadata_wrong_type", lambda: nb.smartreceive(b'{"metadata": "x", "payloads": []}')),
    ("receive_size_bool", lambda: nb.smartreceive(env_with({"size": True}))),
    ("receive_bad_base64", lambda: nb.smartreceive(env_with({"data": "SGVs*bG8="}))),
    ("receive_base64_no_padding", lambda: nb.smartreceive(env_with({"data": "SGVsbG8"}))),
    ("receive_base64_urlsafe", lambda: nb.smartreceive(env_with({"data": "-_-_", "size": 3}))),
    ("receive_base64_noncanonical", lambda: nb.smartreceive(env_with({"data": "SGVsbG9=", "size": 5}))),
    ("receive_unknown_encoding", lambda: nb.smartreceive(env_with({"encoding": "gzip"}))),
    ("receive_size_mismatch", lambda: nb.smartreceive(env_with({"size": 4}))),
    ("receive_digest_mismatch", lambda: nb.smartreceive(env_with({"sha256": "00" * 32}))),
    ("receive_bad_utf8_text", lambda: nb.smartreceive(env_with({"data": "/w==", "size": 1}))),
    ("receive_bad_json_dictionary", lambda: nb.smartreceive(env_with({"payload_type": T}))),
    # EnvelopeTooLarge (server max_payload from INFO)
    ("metadata_too_large", lambda: nb.smartsend("t.x", [("a", "x", "text")], broker_url=P["small"],
                                                metadata={"blob": "m" * 9000})),
    ("publish_over_max_payload", lambda: nb.connect(P["small"]).publish("t.x", b"z" * 9000)),
    ("too_large_without_store", lambda: nb.smartsend("t.x", [("a", bytes(9000), "binary")], broker_url=P["small"],
                                                     fileserver_upload_handler=None)),
    # UploadFailed
    ("upload_store_down", lambda: send([("a", bytes(300), "binary")], size_threshold=100,
                                       fileserver_url="http://127.0.0.1:%d" % DEAD)),
    ("upload_wrong_path", lambda: send([("a", bytes(300), "binary")], size_threshold=100,
                                       fileserver_url=FS + "/no/such/prefix")),
    ("upload_handler_raises", lambda: send([("a", bytes(300), "binary")], size_threshold=100,
                                           fileserver_upload_handler=boom)),
    ("upload_handler_no_url", lambda: send([("a", bytes(300), "binary")], size_threshold=100,
                                           fileserver_upload_handler=lambda u, n, d: {"status": 200})),
    ("upload_https_store", lambda: send([("a", bytes(300), "binary")], size_threshold=100,
                                        fileserver_url="https://127.0.0.1:1")),
    # downloads
    ("download_refused", lambda: timed("download_refused", lambda: nb.smartreceive(
        link("http://127.0.0.1:%d/file/a/b/c" % DEAD)))),
    ("download_503_always", lambda: nb.smartreceive(link(FL + "/always503"))),
    ("download_400", lambda: nb.smartreceive(link(FL + "/bad400"))),
    ("download_handler_raises", lambda: nb.smartreceive(link(FL + "/x"), fileserver_download_handler=boom)),
    ("download_handler_returns_str", lambda: nb.smartreceive(link(FL + "/x"),
                                                             fileserver_download_handler=lambda *a: "text")),
    ("download_404", lambda: nb.smartreceive(link(FS + "/file/nope/nope/missing.bin"))),
    ("download_size_mismatch", lambda: nb.smartreceive(link(FL + "/x", size=22))),
    ("download_digest_mismatch", lambda: nb.smartreceive(link(FL + "/x", sha256="ab" * 32))),
    ("download_https", lambda: nb.smartreceive(link("https://127.0.0.1/file/a/b/c"))),
    ("download_ftp", lambda: nb.smartreceive(link("ftp://127.0.0.1/file"))),
    ("download_file_scheme", lambda: nb.smartreceive(link("file:///etc/passwd"))),
    # recovered by retrying (no error expected)
    ("download_503_then_ok", lambda: ok_after("/twice503", [503, 503])),
    ("download_429_then_ok", lambda: ok_after("/once429", [429])),
    ("download_chunked", lambda: ok_after("/chunked", [])),
    ("download_until_eof", lambda: ok_after("/eof", [])),
    ("download_chunked_too_long", lambda: nb.smartreceive(link(FL + "/chunked2", size=20))),
    ("download_eof_too_short", lambda: nb.smartreceive(link(FL + "/eof2", size=22))),
    # NATS
    ("request_no_responders", lambda: nb.smartrequest("t.nobody", [("q", "x", "text")], timeout=5,
                                                      nats_connection=nc)),
    ("request_silent_responder", silent_request),
    ("next_msg_timeout", lambda: nc.next_msg(nc.subscribe("t.quiet"), 0.2)),
    ("connect_refused", lambda: nb.connect("nats://127.0.0.1:%d" % DEAD)),
    ("connect_bad_token", lambda: nb.connect("nats://wrong@" + P["token_hostport"])),
    ("connect_bad_password", lambda: nb.connect("nats://board:wrong@" + P["userpass_hostport"])),
    ("publish_after_close", closed_publish),
]
for name, fn in cases:
    try:
        fn()
        mp_util.out(case=name, kind=None)
    except nb.NATSBridgeError as e:
        mp_util.out(case=name, kind=e.kind, message=e.message, cls=type(e).__name__,
                    base=isinstance(e, nb.NATSBridgeError))
mp_util.out(extra=extra)
