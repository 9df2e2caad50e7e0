"""``pty``: a pseudo-terminal; another program opens its ``/dev/pts/N`` side.

The chardev is open while something holds the other side open: until then
output is discarded (as in QEMU), and ``OPENED``/``CLOSED`` follow the peer.
With ``replay=SIZE`` the last SIZE bytes of output, discarded ones included,
are kept, and a peer that opens gets them first: live output waits until
the history is out, so the seam is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import tty
from dataclasses import dataclass
from typing import Any, ClassVar

from ..aio import Signal
from ..chardev import Chardev
from ..errors import ChardevError
from ..events import ChardevEvent
from ..options import Kind, option
from ..registry import register
from ..replay import ReplayRing, check_replay_size
from .fdio import FdReader, FdWriter

PEER_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class PtyOptions:
    path: str | None = option(None, help="create a symlink at PATH pointing to the pty")
    replay: int = option(
        0, kind=Kind.SIZE,
        help="a peer that opens the pty first gets the last SIZE bytes of output (64K, 1M;"
        " at most 64M); 0 = none",
    )

    def __post_init__(self) -> None:
        check_replay_size(self.replay)


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
        self.keeps_history = bool(self.options.replay)
        self._replay = ReplayRing(self.options.replay) if self.options.replay else None
        self._history = memoryview(b"")
        """What is left to send of the history a new peer gets before live output."""
        self._history_task: asyncio.Task[None] | None = None
        self._history_out = Signal()

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
        if self._replay is not None and len(self._replay):
            self._history = memoryview(self._replay.contents())
            self._history_task = self.tasks.spawn(self._send_history(),
                                                  "replaying history to the pty's peer")
        self.be_event(ChardevEvent.OPENED)

    async def _send_history(self) -> None:
        """Send the history; live writes wait for it (only this task waits on the pty then)."""
        writer = self._writer
        assert writer is not None
        try:
            while self._history:
                try:
                    taken = writer.write(self._history)
                except ChardevError:
                    return  # the peer just left; CLOSED follows
                self._history = self._history[taken:]
                if self._history:
                    await writer.wait_writable()
        finally:
            if self._history_task is asyncio.current_task():
                self._history_done()

    def _history_done(self) -> None:
        self._history = memoryview(b"")
        self._history_task = None
        self._history_out.fire()

    def _peer_gone(self) -> None:
        self._reader = None
        self.tasks.cancel(self._history_task)
        self._history_done()  # the next peer gets the history afresh
        self.be_event(ChardevEvent.CLOSED)
        if not self.closed:
            self.tasks.spawn(self._wait_for_peer(), "waiting for the pty's peer")

    def _write(self, data: memoryview) -> int:
        if not self.be_open or self._writer is None:
            self.stats.dropped_out += len(data)  # nobody is listening: discarded, as in QEMU
            taken = len(data)
        elif self._history:
            return 0  # live output comes after the history
        else:
            try:
                taken = self._writer.write(data)
            except ChardevError:
                self.stats.dropped_out += len(data)  # the peer just left; CLOSED follows
                taken = len(data)
        if self._replay is not None and taken:
            self._replay.record(data[:taken])
        return taken

    async def _wait_writable(self) -> None:
        if self._history:
            await self._history_out.wait()
        elif self.be_open and self._writer is not None:
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
        extra: dict[str, Any] = {"device": self.device}
        if self._replay is not None:
            extra["replay"] = {"size": self._replay.size, "kept": len(self._replay)}
        return extra
