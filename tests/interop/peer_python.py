"""The Python participant of the interop matrix: the installed `natsbridge` wheel (run by the test
venv). Protocol: tests/interop/README.md."""
import asyncio
import base64
import json
import sys

import pyarrow as pa
from natsbridge import Bridge, NATSBridgeError

BYTES = ("image", "audio", "video", "binary")
ARROW = {"int64": pa.int64(), "float64": pa.float64(), "utf8": pa.string(), "bool": pa.bool_()}


def to_value(kind, v):
    if kind in BYTES:
        return base64.b64decode(v["base64"])
    if kind == "table":
        names = [n for n, _ in v["columns"]]
        arrays = [pa.array([r[i] for r in v["rows"]], type=ARROW[t]) for i, (_, t) in enumerate(v["columns"])]
        return pa.Table.from_arrays(arrays, names=names)
    return v


def type_name(t):
    for name, arrow in ARROW.items():
        if t == arrow:
            return name
    return "utf8" if t == pa.large_string() else str(t)


def canonical(kind, v):
    if kind in BYTES:
        return {"base64": base64.b64encode(bytes(v)).decode()}
    if kind == "table":
        cols = v.column_names
        return {"columns": [[n, type_name(v.schema.field(n).type)] for n in cols],
                "rows": [[row[n] for n in cols] for row in v.to_pylist()]}
    return v


def report(env):
    payloads = [{"dataname": p[0], "type": p[2], "transport": getattr(p, "transport", ""), "value": canonical(p[2], p[1])}
                for p in env["payloads"]]
    print(json.dumps({"correlation_id": env["correlation_id"], "payloads": payloads}), flush=True)


async def main(op, url, subject, arg):
    async with Bridge(url, table_type="pyarrow") as bridge:
        if op in ("recv", "echo"):
            sub = await bridge.subscribe(subject)
            print("ready", file=sys.stderr, flush=True)
            for _ in range(int(arg)):
                try:
                    env = await sub.next(timeout=60)
                except NATSBridgeError as e:
                    print(json.dumps({"error": e.kind, "message": str(e)}), flush=True)
                    continue
                if op == "echo":
                    await bridge.reply(env, [(p[0], p[1], p[2]) for p in env["payloads"]])
                else:
                    report(env)
            await sub.unsubscribe()
        else:
            with open(arg, encoding="utf-8") as f:
                cases = json.load(f)
            for c in cases:
                data = [(p["dataname"], to_value(p["type"], p["value"]), p["type"]) for p in c["payloads"]]
                opts = {"fileserver_url": c["fileserver"], "size_threshold": c["threshold"]}
                if c.get("correlation_id"):
                    opts["correlation_id"] = c["correlation_id"]
                if op == "send":
                    await bridge.smartsend(subject, data, **opts)
                else:
                    report(await bridge.smartrequest(subject, data, 20.0, **opts))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
