"""Small asyncio helpers shared by the engine: owned tasks, first-completed waits, signals.

Every background task in tuicon belongs to a :class:`TaskSet`.  The set keeps
the task alive, and when a task raises something unexpected it logs it once
with its traceback and calls the owner's failure handler, which stores the
error where users see it (``query-chardev``'s ``error``, the UI pane) and
tears the owner down (a chardev sends ``CLOSED``, a bridge stops).  Nothing
fails silently, and nothing is left running: :meth:`TaskSet.close` cancels
and awaits every task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

FailureHandler = Callable[[str, BaseException], None]


def describe_exception(exc: BaseException) -> str:
    """An exception as one line: its text, or its type when it has none."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


class TaskSet:
    """The background tasks of one owner (a chardev, a monitor, a pump).

    ``on_failure(name, exc)`` runs, once per failed task, when a task ends
    with an exception other than cancellation; by then the failure is logged.
    """

    def __init__(self, owner: str, on_failure: FailureHandler | None = None) -> None:
        self.owner = owner
        self._on_failure = on_failure
        self._tasks: dict[asyncio.Task[Any], str] = {}
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def __bool__(self) -> bool:
        return True  # a set with no task is still an owner

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Run ``coro`` as an owned task; after :meth:`close` it is not started."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}: {name}")
        self._tasks[task] = name
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        name = self._tasks.pop(task, "task")
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio never calls it unretrieved
        if exc is None:
            return
        log.error("%s: %s failed", self.owner, name, exc_info=exc)
        if self._on_failure is not None:
            try:
                self._on_failure(name, exc)
            except Exception:  # the failure handler must not hide the first failure
                log.exception("%s: handling the failure of %s failed too", self.owner, name)

    def cancel(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None and task in self._tasks:
            task.cancel()

    async def close(self) -> None:
        """Cancel every task and wait until each has ended."""
        self._closed = True
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            # Failures are reported by _finished; waiting here loses none of them.
            await asyncio.wait(tasks)
            for task in tasks:
                self._tasks.pop(task, None)


async def first_completed(*awaitables: Awaitable[Any]) -> None:
    """Wait until any of ``awaitables`` finishes; cancel and await the others.

    An exception from the one that finished first is raised (as is one from
    another that failed at the same time, rather than being lost).
    """
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        failures = [t.exception() for t in tasks if not t.cancelled() and t.exception()]
    if failures:
        raise failures[0]  # type: ignore[misc]


class Signal:
    """A level that waiters can await until the next :meth:`fire`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()
