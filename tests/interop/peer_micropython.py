# The MicroPython participant of the interop matrix (runs in the unix port; MICROPYPATH must
# include bindings/micropython). Protocol: see tests/interop/README.md.
import sys
import json
import binascii
import natsbridge as nb

op, url, subject, arg = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def to_value(kind, v):
    if kind in ("image", "audio", "video", "binary"):
        return binascii.a2b_base64(v["base64"])
    return v


def canonical(kind, v):
    if kind in ("image", "audio", "video", "binary"):
        return {"base64": binascii.b2a_base64(bytes(v)).decode().strip()}
    return v


def report(env):
    out = []
    info = env.get("payload_info") or [{} for _ in env["payloads"]]
    for (name, v, kind), i in zip(env["payloads"], info):
        out.append({"dataname": name, "type": kind, "transport": i.get("transport", ""), "value": canonical(kind, v)})
    print(json.dumps({"correlation_id": env["correlation_id"], "payloads": out}))


nc = nb.connect(url)
if op in ("recv", "echo"):
    sid = nc.subscribe(subject)
    nc.flush()
    sys.stderr.write("ready\n")
    for _ in range(int(arg)):
        m = nc.next_msg(sid, 60)
        try:
            env = nb.smartreceive(m)
        except nb.NATSBridgeError as e:
            print(json.dumps({"error": e.kind, "message": str(e)}))
            continue
        if op == "echo":
            nb.reply(env, env["payloads"], nats_connection=nc, broker_url=url)
        else:
            report(env)
else:
    with open(arg) as f:
        cases = json.load(f)
    for c in cases:
        data = [(p["dataname"], to_value(p["type"], p["value"]), p["type"]) for p in c["payloads"]]
        kw = dict(broker_url=url, nats_connection=nc, fileserver_url=c["fileserver"], size_threshold=c["threshold"])
        if c.get("correlation_id"):
            kw["correlation_id"] = c["correlation_id"]
        if op == "send":
            nb.smartsend(subject, data, **kw)
        else:
            report(nb.smartrequest(subject, data, timeout=20, **kw))
nc.close()
