"""natsbridge.sync: the blocking twin of every call; Ctrl-C interrupts a blocked call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from typing import Any, List

import pandas as pd
import pytest

import natsbridge
from natsbridge import sync


def test_smartsend_smartreceive_blocking(nats_url: str, fileserver: str, subject: str) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    with sync.Bridge(nats_url, fileserver_url=fileserver) as bridge:
        sub = bridge.subscribe(subject)
        env, env_json = sync.NATSBridge.smartsend(
            subject,
            [("t", "hi", "text"), ("df", df, "table"), ("blob", b"\x01" * 1_500_000, "binary")],
            broker_url=nats_url,
            fileserver_url=fileserver,
        )
        got = sub.next(timeout=10)
        assert sub.next(timeout=0.1) is None
    assert got is not None and got["msg_id"] == env["msg_id"]
    assert got["payloads"][0] == ("t", "hi", "text")
    pd.testing.assert_frame_equal(got["payloads"][1][1], df)
    assert got["payloads"][2][1] == b"\x01" * 1_500_000
    with pytest.raises(natsbridge.DownloadFailed):
        sync.smartreceive(env_json.replace(env["payloads"][2]["data"], "http://127.0.0.1:1/x"), max_retries=1)


def test_bridge_request_reply_iteration_and_nats_connection(nats_url: str, subject: str) -> None:
    with sync.Bridge(nats_url) as server, sync.Bridge(nats_url) as client:
        sub = server.subscribe(subject)
        served: List[Any] = []

        def serve() -> None:
            for env in sub:
                served.append(env["payloads"][0][1])
                server.reply(env, [("answer", env["payloads"][0][1].upper(), "text")])
                if len(served) == 2:
                    sub.unsubscribe()

        t = threading.Thread(target=serve)
        t.start()
        assert client.smartrequest(subject, [("q", "abc", "text")], timeout=10)["payloads"][0][1] == "ABC"
        reply = client.smartrequest(subject, [("q", "def", "text")], timeout=10)
        assert reply["payloads"] == [("answer", "DEF", "text")]
        t.join(10)
        assert served == ["abc", "def"]
        # a sync Bridge as the seed's nats_connection
        s2 = client.subscribe(subject)
        env, _ = sync.smartsend(subject, [("x", "via bridge", "text")], nats_connection=client)
        got = s2.next(timeout=10)
        assert got is not None and got["msg_id"] == env["msg_id"]
        with pytest.raises(natsbridge.NoResponders):
            client.smartrequest(subject + ".nobody", [("q", "x", "text")], timeout=5)
        with pytest.raises(natsbridge.InvalidArgument):
            sync.smartsend(subject, [("x", "y", "text")], nats_connection=object())  # type: ignore[arg-type]


def test_raw_messages_and_publish(nats_url: str, subject: str) -> None:
    with sync.Bridge(nats_url) as bridge:
        sub = bridge.subscribe(subject, raw=True)
        env, env_json = bridge.smartsend(subject, [("a", "b", "text")])
        bridge.publish(subject, b"raw bytes", reply="some.inbox")
        bridge.flush()
        first = next(iter(sub))
        assert isinstance(first, natsbridge.Message)
        assert sync.smartreceive(first)["msg_id"] == env["msg_id"]
        msg_id = bridge.send(subject, [("c", "d", "text")])
        second = sub.next_message(timeout=10)
        assert second is not None and (second.data, second.reply) == (b"raw bytes", "some.inbox")
        third = sub.next_message(timeout=10)
        assert third is not None and sync.smartreceive(third)["msg_id"] == msg_id


def test_jetstream_blocking(nats_url: str) -> None:
    stream = "PYS_" + uuid.uuid4().hex[:8].upper()
    with sync.Bridge(nats_url) as bridge:
        bridge.ensure_stream(stream, f"jss.{stream}")
        _, _, ack = bridge.jetstream_publish(f"jss.{stream}", [("n", [7], "dictionary")])
        assert ack.sequence == 1
        consumer = bridge.jetstream_consumer(stream, "d1", ack="manual")
        d = next(iter(consumer))
        assert d.envelope["payloads"][0][1] == [7] and d.delivered == 1
        d.ack()
        assert consumer.next(timeout=0.3) is None


CTRL_C = textwrap.dedent(
    """
    import sys
    from natsbridge import sync
    bridge = sync.Bridge(sys.argv[1]).connect()
    sub = bridge.subscribe("nobody.sends.here")
    print("ready", flush=True)
    try:
        {call}
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        bridge.close()
        sys.exit(0)
    sys.exit(3)
    """
)


@pytest.mark.parametrize(
    "call",
    [
        "sub.next()",
        "bridge.smartrequest('nobody.sends.here', [('q', 'x', 'text')], timeout=60)",
        "sync.smartreceive(b'{\"payloads\":[{\"dataname\":\"a\",\"payload_type\":\"text\",\"transport\":\"link\","
        "\"size\":1,\"data\":\"http://127.0.0.1:9/x\"}]}', max_retries=1000, base_delay=1000, max_delay=1000)",
        "sync.smartsend('s', [('b', b'x' * 2_000_000, 'binary')], is_publish=False, "
        "fileserver_upload_handler=lambda *a: __import__('time').sleep(60))",
    ],
    ids=["subscription", "request", "download", "handler"],
)
def test_ctrl_c_interrupts_a_blocked_call(nats_url: str, call: str) -> None:
    script = CTRL_C.replace("{call}", call)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, nats_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert elapsed < 5


def test_blocking_calls_release_the_gil(nats_url: str, subject: str) -> None:
    """While one thread is blocked in a call, others run Python."""
    with sync.Bridge(nats_url) as bridge:
        sub = bridge.subscribe(subject)
        ticks = [0]
        stop = threading.Event()

        def spin() -> None:
            while not stop.is_set():
                ticks[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        assert sub.next(timeout=0.5) is None
        stop.set()
        t.join()
    assert ticks[0] > 10_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_after_fork_a_child_gets_its_own_runtime(nats_url: str) -> None:
    code = textwrap.dedent(
        """
        import os, sys
        from natsbridge import sync
        sync.smartsend("s", [("a", "b", "text")], is_publish=False)   # the parent's runtime starts
        pid = os.fork()
        if pid == 0:
            env, js = sync.smartsend("s", [("a", "child", "text")], is_publish=False)
            got = sync.smartreceive(js)
            os._exit(0 if got["payloads"][0][1] == "child" else 1)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_after_fork_a_child_connects_anew(nats_url: str) -> None:
    # The cached connection is driven by the parent's threads, which the child does not have.
    code = textwrap.dedent(
        f"""
        import os, sys
        from natsbridge import sync
        sync.smartsend("s", [("a", "parent", "text")], broker_url={nats_url!r})
        pid = os.fork()
        if pid == 0:
            sync.smartsend("s", [("a", "child", "text")], broker_url={nats_url!r})
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
