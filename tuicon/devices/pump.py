"""One direction of data flow between two frontends, with flow control."""

from __future__ import annotations

from ..chardev import ChardevError, CharFrontend
from ..chardev.aio import FailureHandler, Signal, TaskSet, first_completed

CHUNK = 256 * 1024
"""Most bytes taken from the source at once while the destination keeps up."""


class Pump:
    """Moves bytes from ``src`` to ``dst``; stops reading while ``dst`` is full.

    The source's ``can_read`` is 0 while bytes are pending for ``dst``; an
    owned task waits for ``dst`` to drain, then tells the source to go on.
    Pending bytes survive a hot-swap of either side (they go to the new
    destination), so a swap loses nothing.  Anything unexpected (a bug, a
    backend raising what it should not) stops the pump and goes to
    ``on_failure``: the owning device stops and says why.
    """

    def __init__(self, src: CharFrontend, dst: CharFrontend, *, name: str = "pump",
                 on_failure: FailureHandler | None = None) -> None:
        self.src = src
        self.dst = dst
        self.name = name
        self.pending = b""
        self.moved = 0
        self.dropped = 0
        self.failed = False
        self._on_failure = on_failure
        self.tasks = TaskSet(name, self._failed)
        self._draining = False
        self._kick = Signal()

    def can_read(self) -> int:
        return 0 if self.pending or self.failed else CHUNK

    def read(self, data: bytes) -> None:
        if self.failed:
            return
        try:
            sent = self._send(data)
        except Exception as err:  # reported like a task failure, never into the backend
            self._failed("write", err)
            return
        if sent < len(data):
            self.pending = data[sent:]
            if not self._draining:
                self._draining = True
                self.tasks.spawn(self._drain(), "drain")

    def _send(self, data: bytes) -> int:
        try:
            sent = self.dst.write(data)
        except ChardevError:
            # The destination cannot carry data now (e.g. no peer): drop,
            # as a serial line would, rather than stall the source.
            self.dropped += len(data)
            return len(data)
        self.moved += sent
        return sent

    async def _drain(self) -> None:
        try:
            while self.pending:
                await first_completed(self.dst.wait_writable(), self._kick.wait())
                sent = self._send(self.pending)
                self.pending = self.pending[sent:]
        finally:
            self._draining = False
        self.src.accept_input()

    def _failed(self, what: str, exc: BaseException) -> None:
        self.failed = True
        self.pending = b""
        if self._on_failure is not None:
            self._on_failure(f"{self.name} {what}", exc)

    def kick(self) -> None:
        """A side was swapped: retry pending bytes on the new destination."""
        self._kick.fire()
        if not self.pending:
            self.src.accept_input()

    async def close(self) -> None:
        await self.tasks.close()
