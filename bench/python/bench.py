"""Python smartsend + smartreceive through a real nats-server, natsbridge against (a) a pure-Python
implementation after the seed (seed_impl.py) and (b) raw nats-py publish/receive of the same
envelope bytes. Prints markdown tables.

Each measurement is a sequential round trip on one asyncio loop: send one envelope, wait for it
on a subscription of the same process, decode it; repeated for a time budget after a warm-up.
Payloads are `binary` (plus one `table` row); the link rows go through the built-in file server.
Also (file_rpc.py): 1 GiB by link from a file to a file against a plain HTTP upload + download,
with peak RSS above idle, and 100-byte request-reply latency against raw nats-py.

With BENCH_JSON=<file>, one JSON object per combined-table result is appended to the file
(bench/report.py reads them). BENCH_QUICK=1: short budget, 64 MiB instead of 1 GiB.

    python bench.py [--budget SECONDS]

Needs: natsbridge (the wheel), nats-py, pyarrow, pandas; `nats-server` ($NATS_SERVER_BIN or on
PATH) and the `natsbridge` command ($NATSBRIDGE_BIN) for the file server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import nats
import pandas as pd

import natsbridge
from natsbridge import Bridge, NATSBridge

sys.path.insert(0, str(Path(__file__).resolve().parent))
import file_rpc  # noqa: E402
import seed_impl  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KiB = 1024
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Servers:
    """nats-server (max_payload 16 MiB, so that an 8 MiB payload can also go direct) and the
    built-in file server, on free loopback ports."""

    def __enter__(self) -> "Servers":
        self.tmp = Path(tempfile.mkdtemp(prefix="natsbridge-bench-"))
        nats_bin = os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server") or str(ROOT / ".venv/bin/nats-server")
        # The file server: a release build when there is one (a debug build is the bottleneck of
        # the link rows), else $NATSBRIDGE_BIN.
        release = ROOT / "target/release/natsbridge"
        cli = os.environ.get("NATSBRIDGE_BENCH_BIN") or (str(release) if release.exists() else None) \
            or os.environ.get("NATSBRIDGE_BIN") or str(ROOT / "target/debug/natsbridge")
        conf = self.tmp / "nats.conf"
        conf.write_text("max_payload: 16777216\nmax_pending: 536870912\n")
        nport, fport = free_port(), free_port()
        self.procs = [
            subprocess.Popen([nats_bin, "-a", "127.0.0.1", "-p", str(nport), "-c", str(conf)],
                             stdout=subprocess.DEVNULL, stderr=open(self.tmp / "nats.log", "wb")),
            subprocess.Popen([cli, "serve-files", "--dir", str(self.tmp / "files"), "--listen", f"127.0.0.1:{fport}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        wait_port(nport, self.procs[0])
        wait_port(fport, self.procs[1])
        self.nats_url = f"nats://127.0.0.1:{nport}"
        self.fileserver = f"http://127.0.0.1:{fport}"
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc and exc[0] is not None:
            sys.stderr.write((self.tmp / "nats.log").read_text(errors="replace")[-3000:])
        for p in self.procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


async def measure(step: Callable[[], Awaitable[None]], budget: float, min_iters: int) -> float:
    """Round trips per second."""
    for _ in range(3):
        await step()
    n, start = 0, time.perf_counter()
    while True:
        await step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget and n >= min_iters:
            return n / elapsed


async def measure_pipelined(
    send: Callable[[], Awaitable[None]],
    receive: Callable[[], Awaitable[None]],
    n: int,
    budget: float,
    flush: Optional[Callable[[], Awaitable[None]]] = None,
) -> float:
    """Envelopes per second with sending and receiving overlapped: one task sends n envelopes
    back to back while another receives and decodes them."""

    async def producer() -> None:
        for _ in range(n):
            await send()
        if flush is not None:
            await flush()

    async def consumer() -> None:
        for _ in range(n):
            await receive()

    await asyncio.gather(producer(), consumer())  # warm-up
    bursts, start = 0, time.perf_counter()
    while True:
        await asyncio.gather(producer(), consumer())
        bursts += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget or bursts >= 50:
            return bursts * n / elapsed


async def bench_case(
    s: Servers, label: str, data: List[Tuple[str, Any, str]], size: int, threshold: int, budget: float
) -> Dict[str, Any]:
    min_iters = 5 if size >= MiB else 20
    subject = f"bench.{label.replace(' ', '_')}"
    nc = await nats.connect(s.nats_url, pending_size=64 * MiB)
    bridge = await Bridge(s.nats_url, fileserver_url=s.fileserver, size_threshold=threshold).connect()
    try:
        raw_sub = await nc.subscribe(subject, pending_bytes_limit=256 * MiB)
        expected_len = len(data[0][1]) if data[0][2] == "binary" else None

        def check(value: Any) -> None:
            if expected_len is not None:
                assert len(value) == expected_len

        # (b) raw nats-py: the same envelope bytes, published and received, not decoded.
        _, env_json = await natsbridge.smartsend(subject, data, fileserver_url=s.fileserver,
                                                 size_threshold=threshold, is_publish=False, max_payload=16 * MiB)
        envelope_bytes = env_json.encode()
        transport = json.loads(env_json)["payloads"][0]["transport"]

        async def raw_step() -> None:
            await nc.publish(subject, envelope_bytes)
            msg = await raw_sub.next_msg(timeout=30)
            assert len(msg.data) == len(envelope_bytes)

        # (a) the pure-Python seed implementation over nats-py.
        async def seed_step() -> None:
            await seed_impl.smartsend(subject, data, fileserver_url=s.fileserver, size_threshold=threshold,
                                      nats_connection=nc)
            env = await seed_impl.smartreceive(await raw_sub.next_msg(timeout=30))
            check(env["payloads"][0][1])

        # natsbridge through its own connection (Bridge): send, subscription, decode.
        ours_sub = await bridge.subscribe(subject + ".ours")

        async def ours_step() -> None:
            await bridge.smartsend(subject + ".ours", data)
            env = await ours_sub.next(timeout=30)
            assert env is not None
            check(env["payloads"][0][1])

        # The same, with Bridge.send: the msg_id back rather than Python copies of the envelope.
        async def ours_lean_step() -> None:
            await bridge.send(subject + ".ours", data)
            env = await ours_sub.next(timeout=30)
            assert env is not None
            check(env["payloads"][0][1])

        # natsbridge as the seed is used with nats-py: the nats-py connection, nats-py messages.
        async def ours_natspy_step() -> None:
            await NATSBridge.smartsend(subject, data, fileserver_url=s.fileserver, size_threshold=threshold,
                                       nats_connection=nc)
            env = await NATSBridge.smartreceive(await raw_sub.next_msg(timeout=30))
            check(env["payloads"][0][1])

        # Overlapped: the same steps split into a sending and a receiving half.
        async def raw_send() -> None:
            await nc.publish(subject, envelope_bytes)

        async def raw_receive() -> None:
            await raw_sub.next_msg(timeout=60)

        async def seed_send() -> None:
            await seed_impl.smartsend(subject, data, fileserver_url=s.fileserver, size_threshold=threshold,
                                      nats_connection=nc)

        async def seed_receive() -> None:
            check((await seed_impl.smartreceive(await raw_sub.next_msg(timeout=60)))["payloads"][0][1])

        async def ours_send() -> None:
            await bridge.send(subject + ".ours", data)

        async def ours_receive() -> None:
            env = await ours_sub.next(timeout=60)
            assert env is not None
            check(env["payloads"][0][1])

        in_flight = 8 if size >= MiB else 50
        pipelined = {
            "raw": await measure_pipelined(raw_send, raw_receive, in_flight, budget, nc.flush),
            "seed": await measure_pipelined(seed_send, seed_receive, in_flight, budget, nc.flush),
            "ours": await measure_pipelined(ours_send, ours_receive, in_flight, budget),
        }

        result = {
            "pipelined": pipelined,
            "in_flight": in_flight,
            "payload": label,
            "size": size,
            "transport": transport,
            "envelope_bytes": len(envelope_bytes),
            "raw": await measure(raw_step, budget, min_iters),
            "seed": await measure(seed_step, budget, min_iters),
            "ours": await measure(ours_step, budget, min_iters),
            "ours_lean": await measure(ours_lean_step, budget, min_iters),
            "ours_natspy": await measure(ours_natspy_step, budget, min_iters),
        }
        await ours_sub.unsubscribe()
        return result
    finally:
        await bridge.close()
        await nc.close()


def table_of(size: int) -> pd.DataFrame:
    rows = size // 24
    return pd.DataFrame({"id": range(rows), "x": [i * 0.5 for i in range(rows)], "s": [f"{i:07d}"[-7:] for i in range(rows)]})


def fmt_rate(r: float, size: int) -> str:
    return f"{r:,.0f}/s ({r * size / MiB:,.1f} MiB/s)"


def markdown(results: List[Dict[str, Any]]) -> str:
    lines = [
        "| payload | transport | raw nats-py | pure Python (seed) | `Bridge.smartsend` | `Bridge.send` "
        "| natsbridge + nats-py conn | vs pure Python (`smartsend` / `send`) | time vs raw nats-py (`smartsend` / `send`) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        vs_raw = f"{r['raw'] / r['ours']:.2f}x / {r['raw'] / r['ours_lean']:.2f}x"
        if r["transport"] != "direct":
            vs_raw += " (raw sends only the link)"
        lines.append(
            f"| {r['payload']} | {r['transport']} | {fmt_rate(r['raw'], r['size'])} | {fmt_rate(r['seed'], r['size'])} "
            f"| {fmt_rate(r['ours'], r['size'])} | {fmt_rate(r['ours_lean'], r['size'])} "
            f"| {fmt_rate(r['ours_natspy'], r['size'])} "
            f"| **{r['ours'] / r['seed']:.1f}x / {r['ours_lean'] / r['seed']:.1f}x** | {vs_raw} |"
        )
    lines += [
        "",
        "Overlapped (one task sends a burst back to back while another receives and decodes it; natsbridge "
        "sends with `Bridge.send`):",
        "",
        "| payload | transport | burst | raw nats-py | pure Python (seed) | natsbridge `Bridge` | `Bridge` vs pure Python "
        "| `Bridge` time vs raw nats-py |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["pipelined"]
        lines.append(
            f"| {r['payload']} | {r['transport']} | {r['in_flight']} | {fmt_rate(p['raw'], r['size'])} "
            f"| {fmt_rate(p['seed'], r['size'])} | {fmt_rate(p['ours'], r['size'])} | **{p['ours'] / p['seed']:.1f}x** "
            f"| {p['raw'] / p['ours']:.2f}x |"
        )
    return "\n".join(lines)


def records(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The combined table's throughput rows: binary payloads as the seed sends them (8 MiB by link)."""
    out = []
    for r in results:
        if r["payload"].startswith("binary") and not (r["size"] >= MiB and r["transport"] == "direct"):
            out.append({
                "metric": "throughput", "label": r["payload"].removeprefix("binary "), "size": r["size"],
                "transport": r["transport"], "ours_mbps": r["ours"] * r["size"] / 1e6,
                "baseline_mbps": r["seed"] * r["size"] / 1e6, "raw_mbps": r["raw"] * r["size"] / 1e6,
                "ours": "Bridge.smartsend + Bridge.subscribe", "baseline": "pure Python (seed_impl.py)",
                "raw": "nats-py publish + receive of natsbridge's envelope bytes",
            })
    return out


async def main(budget: float, quick: bool) -> None:
    cases = [
        ("binary 1 KiB", [("data", os.urandom(KiB), "binary")], KiB, 1_000_000),
        ("binary 512 KiB", [("data", os.urandom(512 * KiB), "binary")], 512 * KiB, 1_000_000),
        ("binary 8 MiB", [("data", os.urandom(8 * MiB), "binary")], 8 * MiB, 1_000_000),
        ("binary 8 MiB", [("data", os.urandom(8 * MiB), "binary")], 8 * MiB, 64 * MiB),
        ("table 512 KiB", [("data", table_of(512 * KiB), "table")], 512 * KiB, 1_000_000),
    ]
    results = []
    with Servers() as s:
        for label, data, size, threshold in cases:
            results.append(await bench_case(s, label, data, size, threshold, budget))
            print(f"  measured {label} ({results[-1]['transport']})", file=sys.stderr)
        big = await file_rpc.bench_file(s.nats_url, s.fileserver, s.tmp, (64 if quick else 1024) * MiB)
        print(f"  measured {big['size'] // MiB} MiB by link: {big['ours_s']:.2f} s, plain HTTP {big['baseline_s']:.2f} s, "
              f"peak RSS +{big['peak_rss_above_idle_mib']:.1f} MiB", file=sys.stderr)
        rpc = await file_rpc.bench_rpc(s.nats_url, 300 if quick else 2000)
        print(f"  measured request-reply: p50 {rpc['ours_p50_ms']:.3f} ms, raw {rpc['raw_p50_ms']:.3f} ms", file=sys.stderr)
    print("## Python: smartsend + smartreceive vs a pure-Python implementation and raw nats-py\n")
    print(f"Python {sys.version.split()[0]}, natsbridge {natsbridge.__version__}, {os.cpu_count()} cores "
          f"(see bench/python/README.md). Sequential send+receive round trips, {budget:g} s per cell:\n")
    print(markdown(results))
    if os.environ.get("BENCH_JSON"):
        env = {"metric": "env", "runtime": f"Python {sys.version.split()[0]}", "natsbridge": natsbridge.__version__}
        with open(os.environ["BENCH_JSON"], "a") as f:
            for rec in [env, *records(results), big, rpc]:
                f.write(json.dumps({**rec, "lang": "python"}) + "\n")


if __name__ == "__main__":
    quick = os.environ.get("BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=0.3 if quick else 2.0, help="seconds per measurement")
    args = ap.parse_args()
    asyncio.run(main(args.budget, quick))
