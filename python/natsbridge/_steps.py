"""One body per call for both APIs: a call is written once as a generator that yields native
calls (each a function of the ``Host`` to run it on) and receives their outcomes. ``run_async``
drives it on the event loop, ``run_sync`` on the calling thread; ``asyncio_twin`` and
``blocking_twin`` make the public function of each API from it, keeping its signature and
docstring (for type checkers through ``ParamSpec``, for ``help()`` through ``__signature__``).
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generator, TypeVar, Union, cast

from . import _natsbridge as _nb
from ._host import loop_host, run_blocking

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["Step", "Steps", "call", "send_steps", "run_async", "run_sync", "asyncio_twin", "blocking_twin"]

R = TypeVar("R")
Step = Callable[[_nb.Host], Union[_nb.Outcome, int]]
"""A native call, started on the given host."""
Steps = Generator[Step, _nb.Outcome, R]
"""A call's body: yields native calls, receives their outcomes, returns the call's result."""


def call(start: Step) -> Steps[Any]:
    """One native call and its result."""
    outcome = yield start
    return outcome.take()


def send_steps(start: Step, lean: bool = False) -> Steps[Any]:
    """A send: its result, converted to Python while the connection writes the envelope, and
    returned once it has been written."""
    outcome = yield start
    result = outcome.take(lean=lean)
    (yield outcome.flushed).take()
    return result


async def run_async(steps: Steps[R]) -> R:
    """Runs ``steps`` on the running event loop (cancelling the task aborts the engine's work)."""
    h = loop_host()
    try:
        step = next(steps)
        while True:
            step = steps.send(await h.result(step(h.host)))
    except StopIteration as done:
        return cast(R, done.value)


def run_sync(steps: Steps[R]) -> R:
    """Runs ``steps`` to the end on this thread (see ``run_blocking``)."""
    try:
        step = next(steps)
        while True:
            step = steps.send(run_blocking(step))
    except StopIteration as done:
        return cast(R, done.value)


def asyncio_twin(body: "Callable[P, Steps[R]]") -> "Callable[P, Coroutine[Any, Any, R]]":
    """The asyncio function (or method) whose body is ``body``."""

    @functools.wraps(body)
    async def twin(*args: "P.args", **kwargs: "P.kwargs") -> R:
        return await run_async(body(*args, **kwargs))

    return _placed(twin, body)


def blocking_twin(body: "Callable[P, Steps[R]]") -> "Callable[P, R]":
    """The blocking function (or method) whose body is ``body``."""

    @functools.wraps(body)
    def twin(*args: "P.args", **kwargs: "P.kwargs") -> R:
        return run_sync(body(*args, **kwargs))

    return _placed(twin, body)


def _placed(twin: Callable[P, R], body: Callable[..., Any]) -> Callable[P, R]:
    # Named where it is defined, as namedtuple does (the module, and the class whose body makes
    # it a method), so that pickle and help() find it there; not where its body is.
    where = sys._getframe(2)
    twin.__module__ = where.f_globals.get("__name__", twin.__module__)
    owner = where.f_locals.get("__qualname__")
    twin.__qualname__ = f"{owner}.{body.__name__}" if isinstance(owner, str) else body.__name__
    setattr(twin, "__signature__", _signature(body))
    return twin


def _signature(body: Callable[..., Any]) -> inspect.Signature:
    # help() shows what the twin returns, not the generator type of its body.
    sig = inspect.signature(body)
    ret = sig.return_annotation
    if isinstance(ret, str) and ret.startswith("Steps[") and ret.endswith("]"):
        sig = sig.replace(return_annotation=ret[len("Steps[") : -1])
    return sig
