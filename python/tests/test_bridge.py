"""The connection-holding Bridge: request-reply, subscriptions, JetStream, auth, lifecycle."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, List

import pytest

import natsbridge
from natsbridge import Bridge
from conftest import dead_url, start_nats


async def _responder(bridge: Bridge, subject: str, count: int = 1) -> None:
    sub = await bridge.subscribe(subject)
    for _ in range(count):
        env = await sub.next(timeout=10)
        assert env is not None
        value = env["payloads"][0][1]
        await bridge.reply(env, [("echo", {"got": value, "from": env["msg_id"]}, "dictionary")])
    await sub.unsubscribe()


async def test_request_reply(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as server, Bridge(nats_url) as client:
        ready = asyncio.ensure_future(_responder(server, subject, 2))
        await asyncio.sleep(0.2)
        reply = await client.smartrequest(subject, [("q", "ping", "text")], timeout=10, correlation_id="c-42")
        assert reply["payloads"][0][1]["got"] == "ping"
        assert reply["correlation_id"] == "c-42"
        assert reply["reply_to_msg_id"] == reply["payloads"][0][1]["from"]
        reply2 = await client.smartrequest(subject, [("q", "again", "text")])
        assert reply2["payloads"][0][1]["got"] == "again"
        await ready


async def test_request_with_no_responder_and_timeout(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        with pytest.raises(natsbridge.NoResponders) as no:
            await bridge.smartrequest(subject, [("q", "x", "text")], timeout=5)
        assert no.value.code == 18
        silent = await bridge.subscribe(subject)  # listens, never answers
        with pytest.raises(natsbridge.Timeout) as late:
            await bridge.smartrequest(subject, [("q", "x", "text")], timeout=0.3)
        assert isinstance(late.value, TimeoutError)
        await silent.unsubscribe()


async def test_send_returns_the_msg_id_only(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        msg_id = await bridge.send(subject, [("a", b"\x00" * 600_000, "binary")], msg_purpose="updateStatus")
        env = await sub.next(timeout=10)
    assert isinstance(msg_id, str) and env is not None
    assert env["msg_id"] == msg_id and env["msg_purpose"] == "updateStatus"
    assert env["payloads"][0][1] == b"\x00" * 600_000


async def test_default_options_are_shared_but_ids_are_not(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        for purpose in ("chat", "updateStatus", "chat", "chat"):
            await bridge.smartsend(subject, [("a", "b", "text")], msg_purpose=purpose)
        envs = [await sub.next(timeout=10) for _ in range(4)]
    assert [e["msg_purpose"] for e in envs if e] == ["chat", "updateStatus", "chat", "chat"]
    for key in ("msg_id", "correlation_id", "sender_id"):
        assert len({e[key] for e in envs if e}) == 4, key


async def test_reply_needs_reply_to(nats_url: str) -> None:
    async with Bridge(nats_url) as bridge:
        with pytest.raises(natsbridge.InvalidArgument):
            await bridge.reply({"reply_to": "", "msg_id": "m"}, [("a", "b", "text")])


async def test_subscribe_async_for_and_unsubscribe(nats_url: str, subject: str) -> None:
    got: List[Any] = []
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)

        async def consume() -> None:
            async for env in sub:
                got.append(env["payloads"][0][1])
                if len(got) == 3:
                    await sub.unsubscribe()

        task = asyncio.ensure_future(consume())
        for i in range(3):
            await bridge.smartsend(subject, [("i", [i], "dictionary")])
        await asyncio.wait_for(task, 10)
    assert got == [[0], [1], [2]]


async def test_subscription_errors_do_not_end_it(nats_url: str, subject: str) -> None:
    errors: List[Exception] = []
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        await bridge.publish(subject, b"this is not an envelope")
        await bridge.smartsend(subject, [("ok", "fine", "text")])
        with pytest.raises(natsbridge.InvalidEnvelope):
            await sub.next(timeout=10)
        env = await sub.next(timeout=10)
        assert env is not None and env["payloads"][0][1] == "fine"
        # With on_error, bad messages are reported and skipped.
        sub2 = await bridge.subscribe(subject, on_error=errors.append)
        await bridge.publish(subject, "{}")
        await bridge.smartsend(subject, [("ok", "again", "text")])
        async for env in sub2:
            assert env["payloads"][0][1] == "again"
            break
    assert len(errors) == 1 and isinstance(errors[0], natsbridge.InvalidEnvelope)


async def test_raw_subscription_messages_into_smartreceive(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject, raw=True)
        env, env_json = await bridge.smartsend(subject, [("a", "raw", "text")])
        async for msg in sub:
            assert isinstance(msg, natsbridge.Message)
            assert msg.subject == subject and msg.data == env_json.encode()
            decoded = await natsbridge.smartreceive(msg)
            assert decoded["payloads"] == [("a", "raw", "text")]
            break
        assert await sub.next_message(timeout=0.1) is None


async def test_queue_group_delivers_once(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        a = await bridge.subscribe(subject, queue="workers")
        b = await bridge.subscribe(subject, queue="workers")
        for i in range(10):
            await bridge.smartsend(subject, [("i", [i], "dictionary")])
        seen: List[int] = []
        for sub in (a, b):
            while True:
                env = await sub.next(timeout=0.3)
                if env is None:
                    break
                seen.append(env["payloads"][0][1][0])
    assert sorted(seen) == list(range(10))


async def test_cancelling_a_pending_call_aborts_it(nats_url: str, subject: str) -> None:
    async with Bridge(nats_url) as bridge:
        sub = await bridge.subscribe(subject)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sub.next(), 0.2)
        # The subscription is still usable after the cancelled wait.
        await bridge.smartsend(subject, [("a", "after", "text")])
        env = await sub.next(timeout=10)
        assert env is not None and env["payloads"][0][1] == "after"


async def test_jetstream_publish_dedup_and_durable_consume(nats_url: str) -> None:
    stream = "PY_" + uuid.uuid4().hex[:8].upper()
    subj = f"js.{stream.lower()}"
    async with Bridge(nats_url) as bridge:
        await bridge.ensure_stream(stream, [f"{subj}.>"])
        env, _, ack = await bridge.jetstream_publish(f"{subj}.a", [("n", [1], "dictionary")], msg_id="fixed-id-1")
        assert ack.stream == stream and ack.sequence == 1 and not ack.duplicate
        _, _, again = await bridge.jetstream_publish(f"{subj}.a", [("n", [1], "dictionary")], msg_id="fixed-id-1")
        assert again.duplicate
        await bridge.jetstream_publish(f"{subj}.a", [("n", [2], "dictionary")])

        consumer = await bridge.jetstream_consumer(stream, "auto-durable")
        first = await consumer.next(timeout=10)
        second = await consumer.next(timeout=10)
        assert first is not None and second is not None
        assert [first.envelope["payloads"][0][1], second.envelope["payloads"][0][1]] == [[1], [2]]
        assert first.envelope["msg_id"] == "fixed-id-1" and first.delivered == 1
        assert await consumer.next(timeout=0.5) is None

        # Manual acks: a nak brings the message back.
        manual = await bridge.jetstream_consumer(stream, "manual-durable", ack="manual", ack_wait=30)
        d = await manual.next(timeout=10)
        assert d is not None and d.envelope["payloads"][0][1] == [1]
        await d.nak()
        seen = []
        for _ in range(2):
            x = await manual.next(timeout=10)
            assert x is not None
            seen.append((x.envelope["payloads"][0][1], x.delivered))
            await x.ack()
        assert sorted(seen) == [([1], 2), ([2], 1)]
        assert await manual.next(timeout=0.5) is None
        async for delivery in await bridge.jetstream_consumer(stream, "iter-durable"):
            assert delivery.envelope["payloads"][0][1] == [1]
            break
        with pytest.raises(natsbridge.InvalidArgument):
            await bridge.jetstream_consumer(stream, "x", ack="sometimes")
        with pytest.raises(natsbridge.JetStream):
            await bridge.jetstream_consumer("NO_SUCH_STREAM_" + stream, "x")


async def test_auth_token_and_user_password(tmp_path: Path, subject: str) -> None:
    proc, url = start_nats(tmp_path, "--auth", "s3cret")
    try:
        async with Bridge(url, token="s3cret") as bridge:
            sub = await bridge.subscribe(subject)
            await bridge.smartsend(subject, [("a", "authed", "text")])
            env = await sub.next(timeout=10)
            assert env is not None and env["payloads"][0][1] == "authed"
        with pytest.raises(natsbridge.Connection):
            await Bridge(url, token="wrong", max_reconnects=0, connect_timeout=2).connect()
    finally:
        proc.stop()
    proc, url = start_nats(tmp_path, "--user", "alice", "--pass", "pw")
    try:
        async with Bridge([url], user="alice", password="pw") as bridge:
            await bridge.smartsend(subject, [("a", "b", "text")])
        with pytest.raises(natsbridge.InvalidArgument):
            await Bridge(url, user="alice").connect()
    finally:
        proc.stop()


async def test_lifecycle_and_connection_errors(nats_url: str) -> None:
    bridge = Bridge(nats_url)
    assert not bridge.is_connected
    with pytest.raises(natsbridge.Closed):
        await bridge.smartsend("x", [("a", "b", "text")])
    assert await bridge.connect() is bridge
    assert bridge.is_connected and bridge.servers == [nats_url]
    await bridge.flush()
    await bridge.close()
    assert not bridge.is_connected
    with pytest.raises(natsbridge.Closed):
        bridge.max_payload
    with pytest.raises(natsbridge.Connection):
        await Bridge(dead_url("nats"), max_reconnects=0, connect_timeout=1).connect()
    with pytest.raises(natsbridge.InvalidArgument):
        await Bridge("not a url at all").connect()
