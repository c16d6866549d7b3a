"""Existing nats-py programs: their messages into smartreceive, their connection into smartsend,
and the seed's request-response example written with nats-py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import nats
import pytest

import natsbridge
from natsbridge import Bridge, NATSBridge, fetch_with_backoff
from conftest import start_nats


async def test_nats_py_message_into_smartreceive(nats_url: str, fileserver: str, subject: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.subscribe(subject)
        await NATSBridge.smartsend(
            subject,
            [("text", "hello from the engine", "text"), ("blob", b"\x01" * 2_000_000, "binary")],
            broker_url=nats_url,
            fileserver_url=fileserver,
        )
        msg = await sub.next_msg(timeout=10)
        env = await NATSBridge.smartreceive(msg, fileserver_download_handler=fetch_with_backoff)
        assert env["payloads"][0] == ("text", "hello from the engine", "text")
        assert env["payloads"][1][1] == b"\x01" * 2_000_000
        assert env["payloads"][1].transport == "link"
    finally:
        await nc.close()


async def test_every_message_form_decodes() -> None:
    env, js = await natsbridge.smartsend("s", [("a", "x", "text")], is_publish=False)

    class FakeMsg:
        data = js.encode()

    forms: List[Any] = [js, js.encode(), bytearray(js.encode()), memoryview(js.encode()), FakeMsg(), env]
    for form in forms:
        got = await natsbridge.smartreceive(form)
        assert got["payloads"] == [("a", "x", "text")], type(form)
        assert got["msg_id"] == env["msg_id"]


async def test_nats_py_connection_into_smartsend(nats_url: str, subject: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.subscribe(subject)
        async with Bridge(nats_url) as bridge:
            ours = await bridge.subscribe(subject)
            env, env_json = await NATSBridge.smartsend(
                subject, [("greeting", "hi", "text"), ("n", {"x": 1}, "dictionary")], nats_connection=nc
            )
            msg = await sub.next_msg(timeout=10)
            assert msg.data == env_json.encode()
            got = await ours.next(timeout=10)
        assert got is not None and got["msg_id"] == env["msg_id"]
        assert got["payloads"] == [("greeting", "hi", "text"), ("n", {"x": 1}, "dictionary")]
        # is_publish=False through a nats-py connection builds only.
        await natsbridge.smartsend(subject, [("x", "y", "text")], nats_connection=nc, is_publish=False)
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.3)
    finally:
        await nc.close()


async def test_nats_py_connection_max_payload_is_honoured(tmp_path: Path, fileserver: str, subject: str) -> None:
    conf = tmp_path / "small.conf"
    conf.write_text("max_payload: 65536\n")
    proc, url = start_nats(tmp_path, "-c", str(conf))
    try:
        nc = await nats.connect(url)
        try:
            assert nc.max_payload == 65536
            sub = await nc.subscribe(subject)
            blob = b"\x05" * 60_000  # fits 64 KiB raw, not as base64
            env, env_json = await natsbridge.smartsend(
                subject, [("blob", blob, "binary")], nats_connection=nc, fileserver_url=fileserver
            )
            assert env["payloads"][0]["transport"] == "link"
            assert len(env_json) <= 65536
            msg = await sub.next_msg(timeout=10)
            got = await natsbridge.smartreceive(msg)
            assert got["payloads"][0][1] == blob
        finally:
            await nc.close()
    finally:
        proc.stop()


async def test_closed_nats_py_connection_is_a_publish_error(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    await nc.close()
    with pytest.raises(natsbridge.Publish) as info:
        await natsbridge.smartsend("x", [("a", "b", "text")], nats_connection=nc)
    assert info.value.code == 20 and info.value.kind == "Publish"


async def test_seed_request_response_example(nats_url: str) -> None:
    """The seed's Python request-response example, as written there (URLs aside)."""
    responses: List[Dict[str, Any]] = []

    async def test_responder() -> Any:
        nc = await nats.connect(nats_url)

        async def msg_handler(msg: Any) -> None:
            env = await NATSBridge.smartreceive(msg, fileserver_download_handler=fetch_with_backoff)
            reply_to = env["reply_to"]
            for dataname, data, type_ in env["payloads"]:
                if dataname == "command" and data["action"] == "read_sensor":
                    response = {"sensor_id": "sensor-001", "value": 42.5}
                    if reply_to:
                        await NATSBridge.smartsend(reply_to, [("data", response, "dictionary")], broker_url=nats_url)

        await nc.subscribe("/device/command", cb=msg_handler)
        return nc

    requester = await nats.connect(nats_url)
    answers: "asyncio.Queue[Any]" = asyncio.Queue()
    await requester.subscribe("/device/response", cb=answers.put)
    responder = await test_responder()
    await responder.flush()
    try:
        # Requester
        env, env_json_str = await NATSBridge.smartsend(
            "/device/command",
            [("command", {"action": "read_sensor"}, "dictionary")],
            broker_url=nats_url,
            reply_to="/device/response",
        )
        msg = await asyncio.wait_for(answers.get(), 10)
        reply = await NATSBridge.smartreceive(msg)
        responses.append(reply)
    finally:
        await responder.drain()
        await requester.close()
    assert responses[0]["payloads"] == [("data", {"sensor_id": "sensor-001", "value": 42.5}, "dictionary")]
    assert responses[0]["send_to"] == "/device/response"


async def test_plain_nats_request_is_answered_by_reply(nats_url: str, subject: str) -> None:
    """A request from a plain nats-py client (no reply_to in the envelope, a NATS reply
    subject instead) is answered by Bridge.reply."""
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)

        async def responder() -> None:
            env = await sub.next(timeout=10)
            assert env is not None
            await bridge.reply(env, [("answer", env["payloads"][0][1] * 2, "text")])

        task = asyncio.ensure_future(responder())
        nc = await nats.connect(nats_url)
        try:
            _, env_json = await natsbridge.smartsend(subject, [("q", "ab", "text")], is_publish=False)
            msg = await nc.request(subject, env_json.encode(), timeout=10)
            got = await natsbridge.smartreceive(msg)
        finally:
            await nc.close()
        await task
    assert got["payloads"] == [("answer", "abab", "text")]
