"""What both monitors share: the frontend on their chardev, and ordered, owned I/O."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from ..chardev import ChardevError, ChardevEvent, CharFrontend
from ..chardev.aio import TaskSet, describe_exception
from .commands import Context

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
INPUT_LIMIT = 1 << 20
"""Unprocessed input a monitor holds before it stops reading its chardev."""
OUTPUT_LIMIT = 8 << 20
"""Output a monitor queues for a client that does not read; past it the client is dropped."""


class Monitor:
    """A consumer of one chardev: input is handled in order by an owned task."""

    mode = ""

    def __init__(self, session: Session, chardev_id: str) -> None:
        self.session = session
        self.chardev_id = chardev_id
        self.ctx = Context(session, monitor_name=f"monitor on '{chardev_id}'")
        self.fe = CharFrontend(owner=f"monitor '{chardev_id}' ({self.mode})")
        self.focused = True
        """False while another frontend of a mux has the focus."""
        self._input: asyncio.Queue[bytes | ChardevEvent] = asyncio.Queue()
        self._queued = 0
        self._output: asyncio.Queue[bytes] = asyncio.Queue()
        self._output_bytes = 0
        """Bytes queued or being written (bounded by OUTPUT_LIMIT)."""
        self.output_limit = OUTPUT_LIMIT
        self.dropped_clients = 0
        self.last_error: str | None = None
        """The last unexpected failure inside the monitor (it keeps serving)."""
        self.tasks = TaskSet(f"monitor on '{chardev_id}'", self._task_failed)

    def start(self) -> None:
        self.fe.attach(self.session.chardevs.get(self.chardev_id))
        self.tasks.spawn(self._handle_input(), "input")
        self.tasks.spawn(self._send(), "output")
        self._install()

    def _task_failed(self, name: str, exc: BaseException) -> None:
        # A monitor is how users reach a tuicon that misbehaves: it must keep serving.
        self.last_error = f"{name} failed: {describe_exception(exc)}"
        if name == "input":
            self.tasks.spawn(self._handle_input(), "input")
        else:
            self.tasks.spawn(self._send(), "output")

    def _install(self) -> None:
        # No be_change handler: as in QEMU, a monitor's chardev cannot be swapped
        # under it ("Chardev user does not support chardev hotswap").
        self.fe.set_handlers(can_read=self._can_read, read=self._read, event=self._event)

    def _can_read(self) -> int:
        return max(0, INPUT_LIMIT - self._queued)

    def _read(self, data: bytes) -> None:
        self._queued += len(data)
        self._input.put_nowait(data)

    def _event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.MUX_IN:
            self.focused = True
        elif event is ChardevEvent.MUX_OUT:
            self.focused = False
        elif event is ChardevEvent.CLOSED:
            self._discard_input()  # the client is gone: its unread requests go with it
        self._input.put_nowait(event)

    def _discard_input(self) -> None:
        """Drop queued input, keeping the events, so the next client is served at once."""
        kept = []
        while not self._input.empty():
            item = self._input.get_nowait()
            if isinstance(item, ChardevEvent):
                kept.append(item)
            else:
                self._queued -= len(item)
        for item in kept:
            self._input.put_nowait(item)
        self.fe.accept_input()

    async def _handle_input(self) -> None:
        while True:
            item = await self._input.get()
            if isinstance(item, ChardevEvent):
                await self.on_event(item)
                continue
            self._queued -= len(item)
            try:
                await self.on_data(item)
            finally:
                self.fe.accept_input()

    async def on_event(self, event: ChardevEvent) -> None:
        """A chardev event, in order with the input."""

    async def on_data(self, data: bytes) -> None:
        """Input bytes, in order."""

    def send(self, data: bytes) -> None:
        """Queue output; it goes out in order, waiting while the chardev is full.

        A client that stops reading must not make tuicon's memory grow: once
        more than ``output_limit`` bytes wait, the client is dropped and
        what was queued for it is thrown away.
        """
        if self._output_bytes + len(data) > self.output_limit:
            self._drop_client()
            return
        self._output_bytes += len(data)
        self._output.put_nowait(data)

    def _drop_client(self) -> None:
        log.warning("monitor on '%s': the client does not read its output (%d bytes waiting);"
                    " dropping it", self.chardev_id, self._output_bytes)
        self.dropped_clients += 1
        self._discard_input()
        while not self._output.empty():
            self._output_bytes -= len(self._output.get_nowait())
            self._output.task_done()
        self.fe.disconnect()

    async def _send(self) -> None:
        while True:
            data = await self._output.get()
            try:
                await self.fe.write_all(data)
            except ChardevError as err:
                log.info("monitor on '%s': output dropped: %s", self.chardev_id, err)
            finally:
                self._output_bytes -= len(data)
                self._output.task_done()

    async def close(self) -> None:
        # The last answer (to 'quit', say) goes out before the monitor does.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_SECONDS):
                await self._output.join()
        await self.tasks.close()
        self.fe.detach()
