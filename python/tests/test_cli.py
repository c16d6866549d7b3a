"""An exchange with the `natsbridge` command line, in both directions (same engine, other process)."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from pathlib import Path
from typing import Any, List

import pandas as pd
import pyarrow as pa

from natsbridge import Bridge, NATSBridge, sync

BLOB = bytes(range(256)) * 5000  # 1.28 MB: by link


def start_cli(cli: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([cli, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # --ready: one line once subscribed
    assert line, f"the CLI exited early: {proc.communicate(timeout=5)}"
    return proc


def finish(proc: subprocess.Popen, timeout: float = 30) -> List[Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_python_sends_cli_listens(cli: str, nats_url: str, fileserver: str, subject: str) -> None:
    proc = start_cli(cli, "listen", subject, "-s", nats_url, "--count", "1", "--json", "--ready")
    df = pd.DataFrame({"id": [1, 2, 3], "name": ["Alice", "Bob", None], "score": [95.5, 88.0, 92.0]})
    env, _ = await NATSBridge.smartsend(
        subject,
        [
            ("message", "Hello from Python 🐍", "text"),
            ("config", {"wifi_ssid": "MyNetwork", "update_interval": 60, "tags": ["a", None]}, "dictionary"),
            ("students", df, "table"),
            ("avatar", b"\x89PNG\r\n", "image"),
            ("large_document", BLOB, "binary"),
        ],
        broker_url=nats_url,
        fileserver_url=fileserver,
        msg_purpose="updateStatus",
    )
    [got] = finish(proc)
    assert got["msg_id"] == env["msg_id"] and got["msg_purpose"] == "updateStatus"
    values = {p["dataname"]: p for p in got["payloads"]}
    assert values["message"]["value"] == "Hello from Python 🐍"
    assert values["config"]["value"] == {"wifi_ssid": "MyNetwork", "update_interval": 60, "tags": ["a", None]}
    assert values["students"]["value"] == [
        {"id": 1, "name": "Alice", "score": 95.5},
        {"id": 2, "name": "Bob", "score": 88.0},
        {"id": 3, "name": None, "score": 92.0},
    ]
    assert base64.b64decode(values["avatar"]["value"]["base64"]) == b"\x89PNG\r\n"
    assert values["large_document"]["transport"] == "link"
    assert base64.b64decode(values["large_document"]["value"]["base64"]) == BLOB


async def test_cli_sends_python_listens(cli: str, nats_url: str, fileserver: str, subject: str, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,name,score\n1,Alice,95\n2,Bob,88\n3,Charlie,92\n")
    (tmp_path / "blob.bin").write_bytes(BLOB)
    async with Bridge(nats_url, table_type="pyarrow") as bridge:
        sub = await bridge.subscribe(subject)
        sent = subprocess.run(
            [
                cli, "send", subject, "-s", nats_url, "--fileserver", fileserver,
                "-p", "text:name=hi", "-p", 'json:d={"a":1}', "-p", f"binary:b={tmp_path / 'blob.bin'}",
                "--table", f"t={tmp_path / 't.csv'}", "--json",
            ],
            capture_output=True, text=True, timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        sent_env = json.loads(sent.stdout)
        got = await sub.next(timeout=10)
    assert got is not None and got["msg_id"] == sent_env["msg_id"]
    assert [tuple(p[i] for i in (0, 2)) for p in got["payloads"]] == [
        ("name", "text"), ("d", "dictionary"), ("b", "binary"), ("t", "table"),
    ]
    assert got["payloads"][0][1] == "hi"
    assert got["payloads"][1][1] == {"a": 1}
    assert got["payloads"][2][1] == BLOB and got["payloads"][2].transport == "link"
    table = got["payloads"][3][1]
    assert isinstance(table, pa.Table)
    assert table.to_pydict() == {"id": [1, 2, 3], "name": ["Alice", "Bob", "Charlie"], "score": [95, 88, 92]}


def test_cli_answers_python_request_and_python_answers_cli(cli: str, nats_url: str, subject: str) -> None:
    # The CLI replies (echo) to a request made from Python.
    proc = start_cli(cli, "reply", subject, "-s", nats_url, "--echo", "--count", "1", "--ready")
    with sync.Bridge(nats_url) as bridge:
        reply = bridge.smartrequest(subject, [("q", {"ask": "echo"}, "dictionary"), ("n", "x", "text")], timeout=10)
    proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert reply["payloads"] == [("q", {"ask": "echo"}, "dictionary"), ("n", "x", "text")]

    # Python replies to a request made by the CLI.
    with sync.Bridge(nats_url) as bridge:
        sub = bridge.subscribe(subject + ".py")

        def serve() -> None:
            env = sub.next(timeout=20)
            assert env is not None
            bridge.reply(env, [("answer", f"got {env['payloads'][0][1]}", "text")])

        t = threading.Thread(target=serve)
        t.start()
        out = subprocess.run(
            [cli, "request", subject + ".py", "-s", nats_url, "-p", "text:q=ping", "--json", "--timeout", "10"],
            capture_output=True, text=True, timeout=30,
        )
        t.join(20)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["payloads"][0]["value"] == "got ping"


def test_demo_receiver_example_gets_what_the_cli_sends(cli: str, nats_url: str, fileserver: str, subject: str, tmp_path: Path) -> None:
    """python/examples/receiver.py (the demo's Python side) receives an envelope sent by the CLI."""
    import sys
    import time

    example = Path(__file__).resolve().parents[1] / "examples" / "receiver.py"
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, str(example), subject, "--server", nats_url, "--count", "1", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    (tmp_path / "t.csv").write_text("id,name\n1,a\n2,b\n")
    subprocess.run(
        [cli, "send", subject, "-s", nats_url, "--fileserver", fileserver, "-p", "text:greeting=hello from the CLI",
         "--table", f"t={tmp_path / 't.csv'}"],
        check=True, timeout=30, capture_output=True,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "greeting (text, direct, 18 bytes): hello from the CLI" in out
    assert "t (table, direct" in out
