"""The 1 GiB by-link transfer (file to file) against a plain HTTP upload + download of the same file
to the same server, with the process's peak RSS above idle; and 100-byte request-reply latency
through natsbridge against raw nats-py request-reply. Used by bench.py."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import nats

import natsbridge
from natsbridge import Bridge

MiB = 1024 * 1024


def rss() -> Tuple[int, int]:
    """Resident set size now and its peak since the last reset_peak(), in bytes (Linux /proc)."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak() -> None:
    """Resets the peak RSS counter (VmHWM) to the current RSS."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def write_file(path: Path, size: int) -> None:
    block = bytes((i * 2654435761 >> 11) & 0xFF for i in range(MiB))
    with open(path, "wb") as f:
        for _ in range(size // MiB):
            f.write(block)


def _connection(base: str) -> http.client.HTTPConnection:
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port)


def plain_upload(base: str, path: Path) -> str:
    """The Plik calls with the standard library, the file streamed from disk; the download path."""
    conn = _connection(base)
    conn.request("POST", "/upload", body=json.dumps({"OneShot": True}), headers={"Content-Type": "application/json"})
    up = json.loads(conn.getresponse().read())
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as f:
            while chunk := f.read(MiB):
                yield chunk
        yield tail

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        "X-UploadToken": up["uploadToken"],
    }
    conn.request("POST", f"/file/{up['id']}", body=body(), headers=headers)
    file = json.loads(conn.getresponse().read())
    conn.close()
    return f"/file/{up['id']}/{file['id']}/{file['fileName']}"


def plain_download(base: str, url_path: str, to: Path) -> None:
    conn = _connection(base)
    conn.request("GET", url_path)
    resp = conn.getresponse()
    with open(to, "wb") as out:
        while chunk := resp.read(MiB):
            out.write(chunk)
    conn.close()


async def sends_files(fileserver: str, tmp: Path) -> bool:
    """Whether the binding sends a payload straight from a file (a pathlib.Path value)."""
    probe = tmp / "probe.bin"
    probe.write_bytes(b"x" * 16)
    try:
        await natsbridge.smartsend("bench.probe", [("probe", probe, "binary")], fileserver_url=fileserver,
                                   size_threshold=1, is_publish=False)
        return True
    except natsbridge.NATSBridgeError:
        return False
    finally:
        probe.unlink()


async def bench_file(nats_url: str, fileserver: str, tmp: Path, size: int) -> Dict[str, Any]:
    """One transfer each way; the sender and the receiver are in this process."""
    src = tmp / "big.bin"
    write_file(src, size)
    os.sync()  # neither run pays for write-back left by an earlier step
    t = time.perf_counter()
    url_path = plain_upload(fileserver, src)
    plain_download(fileserver, url_path, tmp / "plain.out")
    http_s = time.perf_counter() - t
    assert (tmp / "plain.out").stat().st_size == size
    (tmp / "plain.out").unlink()

    from_file = await sends_files(fileserver, tmp)
    saved = tmp / "saved"
    saved.mkdir()
    sender = await Bridge(nats_url, fileserver_url=fileserver).connect()
    receiver = await Bridge(nats_url, save_dir=saved).connect()
    try:
        sub = await receiver.subscribe("bench.big")
        idle, _ = rss()
        reset_peak()
        os.sync()
        t = time.perf_counter()
        # Without file payloads in the binding, the sender has to hold the file's bytes.
        value: Any = src if from_file else src.read_bytes()
        await sender.send("bench.big", [("big", value, "binary")])
        env = await sub.next(timeout=600)
        ours_s = time.perf_counter() - t
        _, peak = rss()
        del value
        assert env is not None
        got = env["payloads"][0][1]
        assert isinstance(got, os.PathLike) and Path(got).stat().st_size == size, got
        Path(got).unlink()
    finally:
        await sender.close()
        await receiver.close()
        src.unlink()
    return {
        "metric": "file", "size": size, "ours_s": ours_s, "baseline_s": http_s,
        "ours_mbps": size / ours_s / 1e6, "baseline_mbps": size / http_s / 1e6,
        "idle_rss_mib": idle / MiB, "peak_rss_above_idle_mib": max(0, peak - idle) / MiB,
        "sender_from_file": from_file, "receiver_to_file": True,
        "ours": "Bridge.send of the file by link, received by a Bridge with save_dir"
        + ("" if from_file else " (the binding takes no file payloads: the sender reads the file into bytes)"),
        "baseline": "http.client: the Plik upload calls streaming the file, GET streamed to a file",
    }


def percentiles(samples: List[float]) -> Tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2], s[len(s) * 99 // 100]


async def bench_rpc(nats_url: str, rounds: int) -> Dict[str, Any]:
    """Interleaved 100-byte request-reply: Bridge.smartrequest answered by Bridge.reply from
    another Bridge, against a nats-py request answered by msg.respond from another connection."""
    text = "x" * 100
    requester = await Bridge(nats_url).connect()
    responder = await Bridge(nats_url).connect()
    nc_req = await nats.connect(nats_url)
    nc_rep = await nats.connect(nats_url)

    async def answer(sub: Any) -> None:
        async for env in sub:
            await responder.reply(env, [(p[0], p[1], p[2]) for p in env["payloads"]])

    async def raw_answer(msg: Any) -> None:
        await msg.respond(msg.data)

    task = asyncio.ensure_future(answer(await responder.subscribe("bench.rpc")))
    await nc_rep.subscribe("bench.rpc.raw", cb=raw_answer)
    await nc_rep.flush()
    body = text.encode()
    ours: List[float] = []
    raw: List[float] = []
    try:
        for i in range(rounds + 20):
            t = time.perf_counter()
            reply = await requester.smartrequest("bench.rpc", [("q", text, "text")], timeout=5)
            dt_ours = time.perf_counter() - t
            assert reply["payloads"][0][1] == text
            t = time.perf_counter()
            msg = await nc_req.request("bench.rpc.raw", body, timeout=5)
            dt_raw = time.perf_counter() - t
            assert msg.data == body
            if i >= 20:  # the first ones warm up
                ours.append(dt_ours * 1e3)
                raw.append(dt_raw * 1e3)
    finally:
        task.cancel()
        for b in (requester, responder):
            await b.close()
        for c in (nc_req, nc_rep):
            await c.close()
    (o50, o99), (r50, r99) = percentiles(ours), percentiles(raw)
    return {
        "metric": "rpc", "size": 100, "rounds": rounds,
        "ours_p50_ms": o50, "ours_p99_ms": o99, "raw_p50_ms": r50, "raw_p99_ms": r99,
        "ours": "Bridge.smartrequest, answered by Bridge.reply", "raw": "nats-py request, answered by msg.respond",
    }
