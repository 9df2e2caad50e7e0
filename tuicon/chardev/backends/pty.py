"""``pty``: a pseudo-terminal; another program opens its ``/dev/pts/N`` side.

The chardev is open while something holds the other side open: until then
output is discarded (as in QEMU), and ``OPENED``/``CLOSED`` follow the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import tty
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import Chardev
from ..errors import ChardevError
from ..events import ChardevEvent
from ..options import option
from ..registry import register
from .fdio import FdReader, FdWriter

PEER_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class PtyOptions:
    path: str | None = option(None, help="create a symlink at PATH pointing to the pty")


@register()
class PtyChardev(Chardev):
    type_name: ClassVar[str] = "pty"
    summary: ClassVar[str] = "a pseudo-terminal for another program (screen, picocom) to open"
    Options = PtyOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._master = -1
        self.device = ""
        self._symlink: str | None = None
        self._reader: FdReader | None = None
        self._writer: FdWriter | None = None

    def open(self) -> bool:
        try:
            master, slave = os.openpty()
        except OSError as err:
            raise ChardevError(f"Failed to create PTY: {err.strerror}") from err
        try:
            tty.setraw(slave)
            self.device = os.ttyname(slave)
        finally:
            os.close(slave)
        self._master = master
        os.set_inheritable(master, False)
        self._writer = FdWriter(master, what=f"pty {self.device}")
        if self.options.path:
            try:
                os.symlink(self.device, self.options.path)
            except OSError as err:
                raise ChardevError(
                    f"Failed to create PTY symlink '{self.options.path}': {err.strerror}"
                ) from err
            self._symlink = self.options.path
        self.filename = f"pty:{self.device}"
        self.tasks.spawn(self._wait_for_peer(), "waiting for the pty's peer")
        return False

    def _peer_present(self) -> bool:
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        return not any(mask & select.POLLHUP for _, mask in poller.poll(0))

    async def _wait_for_peer(self) -> None:
        # Linux reports POLLHUP on the master while no one has the slave open;
        # there is no notification when that changes, so look periodically.
        while not self._peer_present():
            await asyncio.sleep(PEER_POLL_SECONDS)
        self._reader = FdReader(self._master, self, on_eof=self._peer_gone)
        self._reader.start()
        self.be_event(ChardevEvent.OPENED)

    def _peer_gone(self) -> None:
        self._reader = None
        self.be_event(ChardevEvent.CLOSED)
        if not self.closed:
            self.tasks.spawn(self._wait_for_peer(), "waiting for the pty's peer")

    def _write(self, data: memoryview) -> int:
        if not self.be_open or self._writer is None:
            self.stats.dropped_out += len(data)  # nobody is listening: discarded, as in QEMU
            return len(data)
        try:
            return self._writer.write(data)
        except ChardevError:
            self.stats.dropped_out += len(data)  # the peer just left; CLOSED follows
            return len(data)

    async def _wait_writable(self) -> None:
        if self.be_open and self._writer is not None:
            await self._writer.wait_writable()

    def _input_resumed(self) -> None:
        if self._reader is not None:
            self._reader.resume()

    async def _close(self) -> None:
        await self.tasks.close()
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._symlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._symlink)
            self._symlink = None

    def describe_extra(self) -> dict[str, Any]:
        return {"device": self.device}
