# MicroPython side of the golden-vector tests: decode every vector, print one JSON line each.
# Params: vectors (the tests/vectors dir), fileserver (base URL serving tests/vectors/files).
import json, gc
import binascii
import mp_util
from natsbridge import smartreceive, NATSBridgeError

P = mp_util.params()
root = P["vectors"]
fs = P["fileserver"].encode()
with open(root + "/index.json") as f:
    index = json.load(f)


def value(t, v):
    if t == "text":
        return {"text": v}
    if t == "dictionary":
        return {"json": v}
    return {"base64": binascii.b2a_base64(v)[:-1].decode()}


def run(group, name, path):
    with open(path, "rb") as f:
        raw = f.read().replace(b"{{FILESERVER}}", fs)
    r = {"group": group, "name": name}
    try:
        env = smartreceive(raw)
        hdr = {}
        for k in env:
            if k not in ("payloads", "payload_info"):
                hdr[k] = env[k]
        pls = []
        for (n, v, t), info in zip(env["payloads"], env["payload_info"]):
            e = {"dataname": n, "payload_type": t, "transport": info["transport"], "size": info["size"],
                 "value": value(t, v)}
            if "metadata" in info:
                e["metadata"] = info["metadata"]
            pls.append(e)
        r["result"] = {"header": hdr, "payloads": pls}
    except NATSBridgeError as e:
        r["error"] = e.kind
        r["message"] = str(e)
    print(json.dumps(r))
    gc.collect()


for name in index["valid"]:
    run("valid", name, root + "/valid/" + name + ".json")
for name in index["invalid"]:
    run("invalid", name, root + "/invalid/" + name + ".bin")
