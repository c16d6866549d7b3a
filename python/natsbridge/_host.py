"""Where native calls finish and user handlers run: the caller's event loop or thread.

The engine runs on a tokio runtime owned by the extension module. Its threads never take the GIL:
they queue each finished call's outcome, and each request to run a Python handler, on a native
``Host``. For asyncio, one ``Host`` per event loop wakes the loop through a socket the loop
watches (``loop.add_reader``); the loop drains it here. A blocking (sync) call makes its own
``Host`` and waits on it with the GIL released, running handler requests on its own thread
(``run_handler_sync`` below) and honouring Ctrl-C.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import weakref
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple, Union

from . import _natsbridge as _nb

__all__ = ["LoopHost", "loop_host", "run_blocking", "run_handler_sync"]


class LoopHost:
    """The native host of one asyncio event loop."""

    __slots__ = ("loop", "host", "futures", "tasks", "_pump", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.host = _nb.Host(wakeup_fd=True)
        self.futures: Dict[int, "asyncio.Future[_nb.Outcome]"] = {}
        self.tasks: Set["asyncio.Future[Any]"] = set()
        self._pump: Optional[threading.Thread] = None
        fd = self.host.fileno()
        try:
            if fd < 0:
                raise NotImplementedError
            loop.add_reader(fd, self.drain)
        except NotImplementedError:
            # Event loops without add_reader (Windows' proactor): a helper thread (not a tokio
            # thread) waits for the queue and schedules the drain on the loop.
            self._pump = threading.Thread(target=self._pump_loop, name="natsbridge-host", daemon=True)
            self._pump.start()

    def _pump_loop(self) -> None:
        while not self.loop.is_closed():
            if self.host.wait_ready(0.5):
                done = threading.Event()

                def drain() -> None:
                    try:
                        self.drain()
                    finally:
                        done.set()

                try:
                    self.loop.call_soon_threadsafe(drain)
                except RuntimeError:
                    return
                done.wait()

    def drain(self) -> None:
        """Resolves finished calls and runs queued handler requests (on the loop's thread)."""
        for event in self.host.drain():
            if type(event) is tuple:
                token, outcome = event
                fut = self.futures.pop(token, None)
                if fut is not None and not fut.done():
                    fut.set_result(outcome)
            else:
                self._run_handler(event)

    def _run_handler(self, call: _nb.HandlerCall) -> None:
        try:
            result = call.handler(*call.args)
        except BaseException as exc:
            call.reject(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=self.loop)
            self.tasks.add(task)
            task.add_done_callback(lambda t: self._finish_handler(call, t))
        else:
            call.resolve(result)

    def _finish_handler(self, call: _nb.HandlerCall, task: "asyncio.Future[Any]") -> None:
        self.tasks.discard(task)
        if task.cancelled():
            call.reject(asyncio.CancelledError())
            return
        exc = task.exception()
        if exc is not None:
            call.reject(exc)
        else:
            call.resolve(task.result())

    async def result(self, started: Union[_nb.Outcome, int]) -> _nb.Outcome:
        """The outcome of a started call: at once when it finished inline, else when the host
        delivers it. Cancelling the awaiting task aborts the engine's work."""
        if type(started) is not int:
            return started  # type: ignore[return-value]
        fut: "asyncio.Future[_nb.Outcome]" = self.loop.create_future()
        self.futures[started] = fut
        try:
            return await fut
        except asyncio.CancelledError:
            self.futures.pop(started, None)
            self.host.cancel(started)
            raise


_hosts: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopHost]" = weakref.WeakKeyDictionary()
_last: Optional[Tuple["weakref.ref[asyncio.AbstractEventLoop]", LoopHost]] = None
_lock = threading.Lock()


def loop_host() -> LoopHost:
    """The host of the running event loop (made on first use)."""
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last is not None and last[0]() is loop:
        return last[1]
    with _lock:
        host = _hosts.get(loop)
        if host is None:
            host = LoopHost(loop)
            _hosts[loop] = host
        _last = (weakref.ref(loop), host)
    return host


def run_blocking(start: Callable[[_nb.Host], Union[_nb.Outcome, int]]) -> _nb.Outcome:
    """Runs a native call to the end on this thread: the GIL is released while the engine
    works, handler requests run here, and Ctrl-C (KeyboardInterrupt) aborts the call."""
    host = _nb.Host()
    started = start(host)
    if type(started) is int:
        return host.wait(started)
    return started  # type: ignore[return-value]


def run_handler_sync(call: _nb.HandlerCall) -> None:
    """Runs a handler request on the thread blocked in a sync call (called by ``Host.wait``)."""
    try:
        result = call.handler(*call.args)
        if inspect.isawaitable(result):
            result = _run_awaitable(result)
    except BaseException as exc:
        call.reject(exc)
        if not isinstance(exc, Exception):
            raise
        return
    call.resolve(result)


def _run_awaitable(aw: Awaitable[Any]) -> Any:
    async def wrapper() -> Any:
        return await aw

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrapper())
    # A loop already runs on this thread (a notebook): run the coroutine on a helper thread.
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(wrapper())
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            box["error"] = exc

    t = threading.Thread(target=target, name="natsbridge-handler")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
