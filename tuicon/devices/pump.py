"""One direction of data flow between two frontends, with flow control."""

from __future__ import annotations

import asyncio

from ..chardev import ChardevError, CharFrontend
from ..chardev.aio import Signal, first_completed

CHUNK = 256 * 1024
"""Most bytes taken from the source at once while the destination keeps up."""


class Pump:
    """Moves bytes from ``src`` to ``dst``; stops reading while ``dst`` is full.

    The source's ``can_read`` is 0 while bytes are pending for ``dst``; an
    owned task waits for ``dst`` to drain, then tells the source to go on.
    Pending bytes survive a hot-swap of either side (they go to the new
    destination), so a swap loses nothing.
    """

    def __init__(self, src: CharFrontend, dst: CharFrontend) -> None:
        self.src = src
        self.dst = dst
        self.pending = b""
        self.moved = 0
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._kick = Signal()

    def can_read(self) -> int:
        return 0 if self.pending else CHUNK

    def read(self, data: bytes) -> None:
        sent = self._send(data)
        if sent < len(data):
            self.pending = data[sent:]
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._drain())

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
        while self.pending:
            await first_completed(self.dst.wait_writable(), self._kick.wait())
            sent = self._send(self.pending)
            self.pending = self.pending[sent:]
        self.src.accept_input()

    def kick(self) -> None:
        """A side was swapped: retry pending bytes on the new destination."""
        self._kick.fire()
        if not self.pending:
            self.src.accept_input()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
