"""Flow control between an asyncio transport (socket, serial port) and a chardev's frontend.

:class:`InputHold` keeps input the frontend cannot take yet and pauses the
transport's reading until ``accept_input``; :class:`WriteGate` turns the
transport's ``pause_writing`` / ``resume_writing`` into partial writes and a
way to wait for room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..aio import Signal
from ..chardev import Chardev


class InputHold:
    """Input held for a frontend that cannot read it all now."""

    def __init__(self, chardev: Chardev, deliver: Callable[[bytes], None]) -> None:
        self.chardev = chardev
        self._deliver = deliver
        self.pending = b""

    def add(self, data: bytes, transport: asyncio.ReadTransport | None) -> None:
        self.pending += data
        self.flush(transport)

    def flush(self, transport: asyncio.ReadTransport | None) -> None:
        """Deliver as much as the frontend takes; read again only once all is delivered."""
        while self.pending:
            room = self.chardev.be_can_write()
            if room <= 0:
                if transport is not None:
                    transport.pause_reading()
                return
            chunk, self.pending = self.pending[:room], self.pending[room:]
            self._deliver(chunk)
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def clear(self) -> None:
        self.pending = b""


class WriteGate:
    """Whether the transport takes more output, and a way to wait until it does."""

    def __init__(self) -> None:
        self.paused = False
        self._changed = Signal()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._changed.fire()

    def wake(self) -> None:
        """Something else changed (connected, lost, closed): waiters look again."""
        self._changed.fire()

    async def wait(self, blocked: Callable[[], bool]) -> None:
        while blocked():
            await self._changed.wait()
