# Helpers for the MicroPython test scripts (runs inside MicroPython).
import os, json, binascii, hashlib


def params():
    return json.loads(os.getenv("NB_PARAMS") or "{}")


def out(**kw):
    print(json.dumps(kw))


def pattern(n, seed=0):
    # Deterministic bytes; the pytest side computes the same: (i * 7 + seed) & 255.
    b = bytearray(n)
    for i in range(n):
        b[i] = (i * 7 + seed) & 255
    return b


def digest(b):
    return binascii.hexlify(hashlib.sha256(b).digest()).decode()


def make(spec):
    # spec: [dataname, type, value] or [dataname, type, {"pattern": n, "seed": s}]
    # or [dataname, "text", {"repeat": "abc", "times": n}].
    name, t, v = spec
    if isinstance(v, dict) and "pattern" in v:
        return (name, pattern(v["pattern"], v.get("seed", 0)), t)
    if isinstance(v, dict) and "repeat" in v:
        return (name, v["repeat"] * v["times"], t)
    return (name, v, t)


def summary(v):
    if isinstance(v, (bytes, bytearray)):
        return {"len": len(v), "sha256": digest(v)}
    if isinstance(v, str) and len(v) > 200:
        return {"textlen": len(v), "sha256": digest(v.encode())}
    return v


def describe(env):
    d = {}
    for k in env:
        if k not in ("payloads", "payload_info"):
            d[k] = env[k]
    d["payloads"] = [[n, t, summary(v)] for (n, v, t) in env["payloads"]]
    d["transports"] = [i["transport"] for i in env["payload_info"]]
    return d
