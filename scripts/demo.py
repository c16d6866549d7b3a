"""The demo exchange: one sender, a receiver in every language, a table of what arrived.

Started by `make demo`. Runs only local processes on 127.0.0.1: the `natsbridge up` stack
(nats-server with JetStream + the built-in file server), the `natsbridge` command line as the
sender, and receivers that each use their language's real package (the interop participants of
tests/interop, plus `natsbridge listen`).
"""
import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests/interop"))
import run as interop  # noqa: E402  (the participants and their canonical value form)

CLI = os.environ.get("NATSBRIDGE_BIN", str(ROOT / "target/debug/natsbridge"))
SUBJECT = "demo.chat.room1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def png(width=64, height=48):
    """A real PNG (a colour gradient), made here so the demo needs no asset files."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 128)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def comparable(kind, value):
    """A short form that is equal exactly when the values are: text and JSON as themselves,
    tables as rows of objects (from either rows or columns+rows), bytes as a digest."""
    if kind == "table":
        rows = value if isinstance(value, list) else [dict(zip([c[0] for c in value["columns"]], r)) for r in value["rows"]]
        # JavaScript numbers do not keep 88.0 apart from 88: compare numbers by value.
        num = lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v  # noqa: E731
        return json.dumps([{k: num(v) for k, v in r.items()} for r in rows], sort_keys=True)
    if kind == "dictionary":
        return json.dumps(value, sort_keys=True)
    if kind == "text":
        return value
    raw = base64.b64decode(value["base64"]) if "base64" in value else Path(value["path"]).read_bytes()
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:16]


def main():
    work = Path(tempfile.mkdtemp(prefix="natsbridge-demo-"))
    nats_port, files_port = free_port(), free_port()
    stack = subprocess.Popen([CLI, "up", "--nats-port", str(nats_port), "--files-port", str(files_port), "--data-dir", str(work / "stack")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [stack]
    try:
        wait_port(nats_port)
        wait_port(files_port)
        nats_url, files_url = f"nats://127.0.0.1:{nats_port}", f"http://127.0.0.1:{files_port}"
        print(f"local stack: NATS {nats_url} (JetStream on), file server {files_url}\n")

        # What is sent.
        (work / "avatar.png").write_bytes(png())
        (work / "students.csv").write_text("id,name,score\n1,Alice,95.5\n2,Bob,88\n3,Charlie,92.25\n")
        big = hashlib.sha256(b"seed").digest() * (5_000_000 // 32)
        (work / "large_document.bin").write_bytes(big)
        big_sha = "sha256:" + hashlib.sha256(big).hexdigest()[:16]
        sent_values = {
            "message_text": ("text", "Hello from the NATSBridge demo! 👋"),
            "config": ("dictionary", json.dumps({"wifi_ssid": "MyNetwork", "update_interval": 60, "tags": ["a", "b"]}, sort_keys=True)),
            "students": ("table", comparable("table", [{"id": 1, "name": "Alice", "score": 95.5}, {"id": 2, "name": "Bob", "score": 88.0},
                                                      {"id": 3, "name": "Charlie", "score": 92.25}])),
            "user_avatar": ("image", "sha256:" + hashlib.sha256((work / "avatar.png").read_bytes()).hexdigest()[:16]),
            "large_document": ("binary", big_sha),
        }

        # Receivers, one per language, each printing one JSON line per envelope.
        interop.build_c_peer()
        peers = interop.peers()
        receivers = {"Rust (natsbridge listen)": [CLI, "listen", SUBJECT, "-s", nats_url, "--count", "1", "--json", "--ready",
                                                  "--save-dir", str(work / "cli-saved")]}
        for lang, label in (("python", "Python (natsbridge wheel)"), ("node", "Node.js (natsbridge npm)"), ("c", "C (libnatsbridge)")):
            if lang not in peers:
                sys.exit(f"the {lang} package is not built; run make demo again after fixing its build")
            receivers[label] = peers[lang][0] + ["recv", nats_url, SUBJECT, "1"]
        env = dict(os.environ, NODE_PATH=str(interop.TARGET / "node-test-pkg/node_modules"))
        outputs = {}
        for name, cmd in receivers.items():
            out = open(work / (name.split()[0] + ".out"), "w+")
            err = open(work / (name.split()[0] + ".err"), "w+")
            p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
            procs.append(p)
            outputs[name] = (p, out, err)
        for name, (p, out, err) in outputs.items():
            # Each receiver says on stderr when it is subscribed.
            deadline = time.time() + 120
            while time.time() < deadline and p.poll() is None:
                err.seek(0)
                if err.read():
                    break
                time.sleep(0.05)

        send = [CLI, "send", SUBJECT, "-s", nats_url, "--fileserver", files_url,
                "-p", f"text:message_text={sent_values['message_text'][1]}",
                "-p", f"json:config={sent_values['config'][1]}",
                "-p", f"table:students={work / 'students.csv'}",
                "-p", f"image:user_avatar={work / 'avatar.png'}",
                "-p", f"binary:large_document={work / 'large_document.bin'}"]
        print("sender: the natsbridge command line (Rust engine)")
        print(subprocess.run(send, check=True, capture_output=True, text=True).stdout)

        ok = True
        rows = []
        for name, (p, out, err) in outputs.items():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
            out.seek(0)
            lines = [interop.parse_line(line) for line in out.read().splitlines() if line.strip()]
            if not lines or "payloads" not in lines[0]:
                err.seek(0)
                rows.append((name, "-", "-", "-", "NOTHING RECEIVED " + err.read()[-200:]))
                ok = False
                continue
            for pl in lines[0]["payloads"]:
                kind = pl.get("payload_type") or pl.get("type")
                want_kind, want = sent_values[pl["dataname"]]
                got = comparable(kind, pl["value"])
                same = kind == want_kind and got == want
                ok &= same
                rows.append((name, pl["dataname"], kind, pl["transport"] or "-", "identical" if same else f"DIFFERS: {got[:40]}"))
        header = ("receiver", "dataname", "type", "transport", "check")
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        print("\nevery value arrived identical" if ok else "\nSOME VALUES DIFFER")
        return 0 if ok else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    sys.exit(main())
