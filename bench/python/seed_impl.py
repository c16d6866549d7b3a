"""A pure-Python NATSBridge written after the seed's Python design (nats-py, base64, json,
pyarrow, urllib for the file server). Kept here only as the benchmark's baseline: it is not part
of the package and is not used anywhere else."""

from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import io
import json
import random
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple


def _serialize(value: Any, type_: str) -> bytes:
    if type_ == "text":
        return value.encode("utf-8")
    if type_ == "dictionary":
        return json.dumps(value).encode("utf-8")
    if type_ == "table":
        import pyarrow as pa

        table = value if isinstance(value, pa.Table) else pa.Table.from_pandas(value)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue()
    return bytes(value)


def _deserialize(data: bytes, type_: str) -> Any:
    if type_ == "text":
        return data.decode("utf-8")
    if type_ == "dictionary":
        return json.loads(data)
    if type_ == "table":
        import pyarrow as pa

        return pa.ipc.open_stream(data).read_all().to_pandas()
    return data


def _plik_upload_blocking(fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
    req = urllib.request.Request(
        f"{fileserver_url}/upload", data=json.dumps({"OneShot": True}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        upload = json.loads(resp.read())
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{dataname}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"{fileserver_url}/file/{upload['id']}", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-UploadToken": upload["uploadToken"]},
    )
    with urllib.request.urlopen(req) as resp:
        status = resp.status
        file = json.loads(resp.read())
    url = f"{fileserver_url}/file/{upload['id']}/{file['id']}/{file['fileName']}"
    return {"status": status, "uploadid": upload["id"], "fileid": file["id"], "url": url}


async def plik_oneshot_upload(fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
    return await asyncio.get_running_loop().run_in_executor(None, _plik_upload_blocking, fileserver_url, dataname, data)


def _get_blocking(url: str) -> bytes:
    with urllib.request.urlopen(url) as resp:
        return resp.read()


async def fetch_with_backoff(url: str, max_retries: int = 5, base_delay: int = 100, max_delay: int = 5000) -> bytes:
    delay = base_delay
    for attempt in range(max_retries):
        try:
            return await asyncio.get_running_loop().run_in_executor(None, _get_blocking, url)
        except (urllib.error.URLError, OSError):
            if attempt == max_retries - 1:
                raise
            await asyncio.sleep(min(delay, max_delay) * random.uniform(0.75, 1.25) / 1000)
            delay *= 2
    raise RuntimeError("unreachable")


async def smartsend(
    subject: str,
    data: List[Tuple[str, Any, str]],
    broker_url: str = "nats://localhost:4222",
    fileserver_url: str = "http://localhost:8080",
    fileserver_upload_handler: Callable[..., Any] = plik_oneshot_upload,
    size_threshold: int = 1_000_000,
    correlation_id: Optional[str] = None,
    msg_purpose: str = "chat",
    sender_name: str = "NATSBridge",
    receiver_name: str = "",
    receiver_id: str = "",
    reply_to: str = "",
    reply_to_msg_id: str = "",
    is_publish: bool = True,
    nats_connection: Any = None,
    msg_id: Optional[str] = None,
    sender_id: Optional[str] = None,
) -> Tuple[Dict[str, Any], str]:
    payloads = []
    for dataname, value, type_ in data:
        raw = _serialize(value, type_)
        entry: Dict[str, Any] = {"id": str(uuid.uuid4()), "dataname": dataname, "payload_type": type_, "size": len(raw)}
        if len(raw) >= size_threshold:
            result = await fileserver_upload_handler(fileserver_url, dataname, raw)
            entry.update(transport="link", encoding="none", data=result["url"])
        else:
            entry.update(transport="direct", encoding="base64", data=base64.b64encode(raw).decode("ascii"))
        payloads.append(entry)
    env = {
        "correlation_id": correlation_id or str(uuid.uuid4()),
        "msg_id": msg_id or str(uuid.uuid4()),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "send_to": subject,
        "msg_purpose": msg_purpose,
        "sender_name": sender_name,
        "sender_id": sender_id or str(uuid.uuid4()),
        "receiver_name": receiver_name,
        "receiver_id": receiver_id,
        "reply_to": reply_to,
        "reply_to_msg_id": reply_to_msg_id,
        "broker_url": broker_url,
        "metadata": {},
        "payloads": payloads,
    }
    env_json_str = json.dumps(env)
    if is_publish:
        if nats_connection is None:
            import nats

            nc = await nats.connect(broker_url)
            try:
                await nc.publish(subject, env_json_str.encode())
                await nc.flush()
            finally:
                await nc.close()
        else:
            await nats_connection.publish(subject, env_json_str.encode())
    return env, env_json_str


async def smartreceive(
    msg: Any,
    fileserver_download_handler: Callable[..., Any] = fetch_with_backoff,
    max_retries: int = 5,
    base_delay: int = 100,
    max_delay: int = 5000,
) -> Dict[str, Any]:
    env = json.loads(msg.data)
    out = []
    for p in env["payloads"]:
        if p["transport"] == "direct":
            raw = base64.b64decode(p["data"])
        else:
            raw = await fileserver_download_handler(p["data"], max_retries, base_delay, max_delay)
        out.append((p["dataname"], _deserialize(raw, p["payload_type"]), p["payload_type"]))
    env["payloads"] = out
    return env
