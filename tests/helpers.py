"""Test helpers: a recording frontend (like QEMU's FeHandler) and waiting on conditions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from tuicon.chardev import Chardev, ChardevEvent, CharFrontend

TIMEOUT = 5.0


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    """Wait until ``predicate()`` holds, polling on loop iterations (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.001)


class Recorder:
    """A frontend that records what it reads and which events it gets.

    ``capacity`` bounds ``can_read`` like QEMU's 128-byte FeHandler; a read
    larger than what ``can_read`` allowed fails the test.  Counting OPENED
    and CLOSED flags a mismatch (OPENED while open, CLOSED while closed).
    """

    def __init__(self, chardev: Chardev | None = None, *, capacity: int = 1 << 30,
                 owner: str = "recorder", be_change: Callable[[], bool] | None = None,
                 connect: bool = True) -> None:
        self.capacity = capacity
        self.data = bytearray()
        self.events: list[ChardevEvent] = []
        self.open = False
        self.openclose = 0
        self.mismatch = False
        self.reads: list[int] = []
        self.fe = CharFrontend(owner=owner)
        self._be_change = be_change
        if chardev is not None:
            self.fe.attach(chardev, connect=connect)

    def install(self, *, sync_state: bool = True) -> Recorder:
        self.fe.set_handlers(
            can_read=self.can_read, read=self.read, event=self.event,
            be_change=self._be_change, sync_state=sync_state,
        )
        return self

    def can_read(self) -> int:
        return max(0, self.capacity - len(self.data))

    def read(self, data: bytes) -> None:
        assert len(data) <= self.can_read(), "read more than can_read allowed"
        self.reads.append(len(data))
        self.data += data

    def event(self, event: ChardevEvent) -> None:
        self.events.append(event)
        if event is ChardevEvent.OPENED:
            self.mismatch |= self.open
            self.open = True
            self.openclose += 1
        elif event is ChardevEvent.CLOSED:
            self.mismatch |= not self.open
            self.open = False
            self.openclose += 1

    @property
    def last_event(self) -> ChardevEvent | None:
        return self.events[-1] if self.events else None

    def take(self) -> bytes:
        out = bytes(self.data)
        self.data.clear()
        self.fe.accept_input()
        return out

    async def wait_data(self, size: int, timeout: float = TIMEOUT) -> bytes:
        await wait_until(lambda: len(self.data) >= size, timeout, f"{size} bytes")
        return bytes(self.data)

    async def wait_event(self, event: ChardevEvent, count: int = 1, timeout: float = TIMEOUT) -> None:
        await wait_until(lambda: self.events.count(event) >= count, timeout, f"{event.name} x{count}")


def read_fifo(path: str, size: int) -> bytes:
    """Read exactly what is there (up to ``size``) from a FIFO without blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        try:
            return os.read(fd, size)
        except BlockingIOError:
            return b""
    finally:
        os.close(fd)
