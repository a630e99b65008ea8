"""The event loop's default executor for probes: daemon threads that never hold the process up.

asyncio runs name lookups (`loop.getaddrinfo`) in its default executor. A
lookup cannot be cancelled: a probe whose deadline passes stops waiting for
it, but the thread stays in the resolver until the resolver gives up (5 to 30 s
for a name server that does not answer). With asyncio's own pool, the loop's
shutdown and the interpreter's exit both wait for such threads, so a run of
`--timeout 2` could last 12 s. These threads are daemons and `shutdown` does
not wait for them: a lookup nobody waits for any more ends on its own, or with
the process.

The pool is wide and only for lookups and short blocking calls, so a lookup
never queues behind a slow probe (checks use async clients, not threads).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor (asyncio accepts no other kind) whose threads are daemons, started on demand."""

    def __init__(self, max_workers: int, name: str = "sre-probe") -> None:
        super().__init__(max_workers=1)  # the parent's pool is never used: submit is ours
        self._limit = max_workers
        self._name = name
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._count = 0
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.put((future, fn, args, kwargs))
            if self._idle == 0 and self._count < self._limit:
                self._count += 1
                threading.Thread(target=self._run, name=f"{self._name}-{self._count}", daemon=True).start()
            else:
                self._idle = max(0, self._idle - 1)  # that idle thread takes this work
        return future

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)
            with self._guard:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Never waits: a thread still in a name lookup is abandoned, and being a daemon, holds nothing."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            for _ in range(self._count):
                self._work.put(None)
        super().shutdown(wait=False)


_EXECUTORS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DaemonExecutor] = weakref.WeakKeyDictionary()


def daemon_executor(loop: asyncio.AbstractEventLoop, width: int) -> None:
    """Make a DaemonExecutor of at least `width` threads the loop's default executor.

    One per loop (widened when a run needs more), so a long-running exporter does not make a pool per
    request."""
    found = _EXECUTORS.get(loop)
    if found is not None and found._limit >= width:
        return
    _EXECUTORS[loop] = DaemonExecutor(max_workers=width)
    loop.set_default_executor(_EXECUTORS[loop])
    if found is not None:
        found.shutdown(wait=False)
