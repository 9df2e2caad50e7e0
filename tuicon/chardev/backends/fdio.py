"""Non-blocking file-descriptor input and output shared by file, pipe and pty.

:class:`FdReader` feeds a chardev's frontend from a descriptor, reading only
as much as the frontend can take (``be_can_write``) and pausing until the
frontend calls ``accept_input`` -- that is the flow control.  Descriptors the
event loop cannot watch (regular files) are read by an owned task instead.

:class:`FdWriter` writes without blocking: a full pipe or pty makes a write
partial, and :meth:`FdWriter.wait_writable` waits for room.  :class:`FdChardev`
puts the two together for backends that are just descriptors (file, pipe).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from typing import Any

from ..chardev import Chardev
from ..errors import ChardevIOError
from ..events import ChardevEvent

READ_CHUNK = 65536


class FdReader:
    """Reads ``fd`` into ``chardev``'s frontend, respecting its ``can_read``."""

    def __init__(
        self,
        fd: int,
        chardev: Chardev,
        *,
        on_eof: Callable[[], None],
        on_error: Callable[[OSError], None] | None = None,
    ) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.chardev = chardev
        self._on_eof = on_eof
        self._on_error = on_error or (lambda err: on_eof())
        self._loop = asyncio.get_running_loop()
        self._watching = False
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._resume = asyncio.Event()
        self._tasks = chardev.tasks

    def start(self) -> None:
        try:
            self._loop.add_reader(self.fd, self._readable)
            self._watching = True
        except PermissionError:
            # epoll refuses regular files: they are always readable, so read
            # them from a task that yields between chunks.
            self._task = self._tasks.spawn(self._read_regular_file(), "file reader")

    def resume(self) -> None:
        """The frontend can take input again."""
        if self._stopped:
            return
        if self._task is not None:
            self._resume.set()
        elif not self._watching:
            self._loop.add_reader(self.fd, self._readable)
            self._watching = True

    def _pause(self) -> None:
        if self._watching:
            self._loop.remove_reader(self.fd)
            self._watching = False

    def _read_once(self) -> bool:
        """Read one chunk; False when reading must wait (paused or ended)."""
        room = self.chardev.be_can_write()
        if room <= 0:
            return False
        try:
            data = os.read(self.fd, min(room, READ_CHUNK))
        except BlockingIOError:
            return False
        except OSError as err:
            self.stop_watching()
            self._on_error(err)
            return False
        if not data:
            self.stop_watching()
            self._on_eof()
            return False
        self.chardev.be_write(data)
        return True

    def _readable(self) -> None:
        if self.chardev.be_can_write() <= 0:
            self._pause()
            return
        self._read_once()

    async def _read_regular_file(self) -> None:
        while not self._stopped:
            if self.chardev.be_can_write() <= 0:
                self._resume.clear()
                await self._resume.wait()
                continue
            if not self._read_once():
                if self._stopped:
                    return
                self._resume.clear()
                await self._resume.wait()
                continue
            await asyncio.sleep(0)  # let the rest of the loop run between chunks

    def stop_watching(self) -> None:
        self._stopped = True
        self._pause()
        self._resume.set()

    async def close(self) -> None:
        """Stop reading and await the reading task (the fd stays open)."""
        self.stop_watching()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])  # a failure was already reported by the TaskSet
            self._task = None


class FdWriter:
    """Writes to ``fd`` without blocking; partial writes under back-pressure."""

    def __init__(self, fd: int, *, what: str) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.what = what

    def write(self, data: memoryview) -> int:
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0
        except OSError as err:
            raise ChardevIOError(f"writing to {self.what} failed: {err.strerror}") from err

    async def wait_writable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        try:
            loop.add_writer(self.fd, lambda: ready.done() or ready.set_result(None))
        except PermissionError:
            return  # regular files are always writable
        try:
            await ready
        finally:
            loop.remove_writer(self.fd)


class FdChardev(Chardev):
    """A backend made of descriptors: output through an FdWriter, input from an FdReader.

    Subclasses open their descriptors in ``open`` and call :meth:`_use`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fds: list[int] = []
        self._writer: FdWriter | None = None
        self._reader: FdReader | None = None

    def _use(self, out_fd: int, what: str, in_fd: int | None = None,
             on_eof: Callable[[], None] | None = None) -> None:
        self._writer = FdWriter(out_fd, what=what)
        if in_fd is not None:
            self._reader = FdReader(in_fd, self, on_eof=on_eof or self._input_ended)
            self._reader.start()

    def _input_ended(self) -> None:
        # As in QEMU: the end of the input is the end of the "connection".
        self.be_event(ChardevEvent.CLOSED)

    def _write(self, data: memoryview) -> int:
        assert self._writer is not None
        return self._writer.write(data)

    async def _wait_writable(self) -> None:
        if self._writer is not None:
            await self._writer.wait_writable()

    def _input_resumed(self) -> None:
        if self._reader is not None:
            self._reader.resume()

    async def _close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        for fd in self._fds:
            os.close(fd)
        self._fds = []
