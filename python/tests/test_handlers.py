"""Python upload and download handlers (sync and async) with the seed's call shapes, run on the
caller's event loop or thread, never on a tokio thread."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Dict, List, Tuple

import pytest

import natsbridge
from natsbridge import Bridge, NATSBridge, sync

BLOB = bytes(range(256)) * 5000  # 1.28 MB: goes by link


class MemoryStore:
    """A claim-check store kept in a dict, with seed-shaped handlers; records the calling threads."""

    def __init__(self) -> None:
        self.objects: Dict[str, bytes] = {}
        self.calls: List[Tuple[str, Tuple[Any, ...], str]] = []

    def _record(self, kind: str, args: Tuple[Any, ...]) -> None:
        self.calls.append((kind, args, threading.current_thread().name))

    def upload(self, fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
        self._record("upload", (fileserver_url, dataname, type(data)))
        key = uuid.uuid4().hex
        self.objects[key] = data
        return {"status": 200, "uploadid": key, "fileid": "f", "url": f"http://memory.store/{key}/{dataname}"}

    async def upload_async(self, fileserver_url: str, dataname: str, data: bytes) -> str:
        await asyncio.sleep(0)
        return self.upload(fileserver_url, dataname, data)["url"]

    def download(self, url: str, max_retries: int, base_delay: int, max_delay: int) -> bytes:
        self._record("download", (url, max_retries, base_delay, max_delay))
        return self.objects[url.split("/")[3]]

    async def download_async(self, url: str, max_retries: int, base_delay: int, max_delay: int) -> bytes:
        await asyncio.sleep(0)
        return self.download(url, max_retries, base_delay, max_delay)


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_upload_and_download_handlers_on_the_loop_thread(nats_url: str, subject: str, flavour: str) -> None:
    store = MemoryStore()
    up = store.upload if flavour == "sync" else store.upload_async
    down = store.download if flavour == "sync" else store.download_async
    async with Bridge(nats_url, fileserver_download_handler=down, max_retries=3, base_delay=10, max_delay=50) as bridge:
        sub = await bridge.subscribe(subject)
        env, _ = await NATSBridge.smartsend(
            subject,
            [("blob", BLOB, "binary"), ("small", "direct", "text")],
            broker_url=nats_url,
            fileserver_url="http://my.store",
            fileserver_upload_handler=up,
        )
        got = await sub.next(timeout=10)
    assert env["payloads"][0]["transport"] == "link"
    assert env["payloads"][0]["data"].startswith("http://memory.store/")
    assert got is not None and got["payloads"][0][1] == BLOB
    main = threading.main_thread().name
    assert store.calls[0] == ("upload", ("http://my.store", "blob", bytes), main)
    assert store.calls[1][0] == "download" and store.calls[1][1][1:] == (3, 10, 50) and store.calls[1][2] == main
    # smartreceive with the handler directly (the seed's call)
    env2, js2 = await natsbridge.smartsend("s", [("blob", BLOB, "binary")], fileserver_upload_handler=up, is_publish=False)
    got2 = await NATSBridge.smartreceive(js2, fileserver_download_handler=down)
    assert got2["payloads"][0][1] == BLOB


async def test_seed_style_handler_wrapping_the_defaults(fileserver: str) -> None:
    seen: List[Dict[str, Any]] = []

    async def logging_upload(fileserver_url: str, dataname: str, data: bytes) -> Dict[str, Any]:
        result = await natsbridge.plik_oneshot_upload(fileserver_url, dataname, data)
        seen.append(result)
        return result

    async def logging_download(url: str, max_retries: int, base_delay: int, max_delay: int) -> bytes:
        return await natsbridge.fetch_with_backoff(url, max_retries, base_delay, max_delay)

    env, js = await natsbridge.smartsend(
        "s", [("blob", BLOB, "binary")], fileserver_url=fileserver, fileserver_upload_handler=logging_upload, is_publish=False
    )
    assert set(seen[0]) == {"status", "uploadid", "fileid", "url"}
    assert seen[0]["status"] == 200 and env["payloads"][0]["data"] == seen[0]["url"]
    assert seen[0]["url"] == f"{fileserver}/file/{seen[0]['uploadid']}/{seen[0]['fileid']}/blob"
    got = await natsbridge.smartreceive(js, fileserver_download_handler=logging_download)
    assert got["payloads"][0][1] == BLOB


async def test_default_store_functions(fileserver: str) -> None:
    up = await natsbridge.plik_oneshot_upload(fileserver, "hello.txt", b"hello")
    assert await natsbridge.fetch_with_backoff(up["url"]) == b"hello"
    with pytest.raises(natsbridge.PayloadNotFound):  # one-shot: gone after the first download
        await natsbridge.fetch_with_backoff(up["url"], 2, 10, 20)
    assert sync.fetch_with_backoff(sync.plik_oneshot_upload(fileserver, "b", bytearray(b"xy"))["url"]) == b"xy"
    big = await natsbridge.plik_oneshot_upload(fileserver, "big", b"z" * 1000)
    with pytest.raises(natsbridge.PayloadTooLarge):
        await natsbridge.fetch_with_backoff(big["url"], max_bytes=100)
    with pytest.raises(natsbridge.OriginNotAllowed):
        await natsbridge.fetch_with_backoff("file:///etc/passwd")
    assert NATSBridge.fetch_with_backoff is natsbridge.fetch_with_backoff
    assert natsbridge._fetch_with_backoff is natsbridge.fetch_with_backoff


async def test_handler_exceptions_become_handler_errors_with_the_cause() -> None:
    def broken_upload(fileserver_url: str, dataname: str, data: bytes) -> Any:
        raise ValueError("the store is on fire")

    with pytest.raises(natsbridge.Handler) as info:
        await natsbridge.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=broken_upload, is_publish=False)
    assert isinstance(info.value.__cause__, ValueError)
    assert "the store is on fire" in str(info.value) and info.value.code == 19

    async def broken_async_download(url: str, *args: Any) -> bytes:
        raise KeyError(url)

    store = MemoryStore()
    _, js = await natsbridge.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=store.upload, is_publish=False)
    with pytest.raises(natsbridge.Handler) as info2:
        await natsbridge.smartreceive(js, fileserver_download_handler=broken_async_download)
    assert isinstance(info2.value.__cause__, KeyError)


async def test_handler_answers_of_the_wrong_shape() -> None:
    with pytest.raises(natsbridge.Handler, match="url"):
        await natsbridge.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=lambda *a: 42, is_publish=False)
    with pytest.raises(natsbridge.Handler, match="url"):
        await natsbridge.smartsend(
            "s", [("b", BLOB, "binary")], fileserver_upload_handler=lambda *a: {"no": "url"}, is_publish=False
        )
    store = MemoryStore()
    _, js = await natsbridge.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=store.upload, is_publish=False)
    with pytest.raises(natsbridge.Handler, match="bytes"):
        await natsbridge.smartreceive(js, fileserver_download_handler=lambda *a: "not bytes")
    # Bytes of the wrong length are caught by the engine's checks, whatever the handler.
    with pytest.raises(natsbridge.SizeMismatch):
        await natsbridge.smartreceive(js, fileserver_download_handler=lambda *a: b"short")
    with pytest.raises(natsbridge.DigestMismatch):
        await natsbridge.smartreceive(js, fileserver_download_handler=lambda *a: bytes(len(BLOB)))
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartsend("s", [("a", "b", "text")], fileserver_upload_handler="not callable")  # type: ignore[arg-type]
    with pytest.raises(natsbridge.InvalidArgument):
        await natsbridge.smartreceive(js, fileserver_download_handler=3)  # type: ignore[arg-type]


def test_sync_api_handlers_run_on_the_calling_thread(nats_url: str) -> None:
    store = MemoryStore()
    results: List[Any] = []

    def worker() -> None:
        env, js = sync.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=store.upload, is_publish=False)
        got = sync.smartreceive(js, fileserver_download_handler=store.download_async)
        results.append(got["payloads"][0][1] == BLOB)

    t = threading.Thread(target=worker, name="my-worker")
    t.start()
    t.join(30)
    assert results == [True]
    assert [c[2] for c in store.calls] == ["my-worker", "my-worker"]


def test_sync_handler_exception_and_base_exceptions() -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("nope")

    with pytest.raises(natsbridge.Handler) as info:
        sync.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=boom, is_publish=False)
    assert isinstance(info.value.__cause__, RuntimeError)

    class Stop(BaseException):
        pass

    def stop(*args: Any) -> Any:
        raise Stop()

    with pytest.raises(Stop):
        sync.smartsend("s", [("b", BLOB, "binary")], fileserver_upload_handler=stop, is_publish=False)
