"""The classic multiplexer (``mux=on``): one backend, up to four frontends.

Input from the base goes to the focused frontend, through a ``C-a`` escape
machine; output from any frontend goes to the base.  Events from the base
reach every frontend; events on the mux itself reach only the focused one.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from .chardev import Chardev
from .errors import ChardevError, ChardevInUse, InvalidOption
from .events import ChardevEvent
from .frontend import CharFrontend
from .options import option
from .registry import register

MAX_MUX = 4
MUX_BUFFER_SIZE = 32
ESCAPE = 0x01  # C-a

HELP_TEXT = (
    b"\n\r"
    b"C-a h    print this help\n\r"
    b"C-a x    quit tuicon (on a vc) or drop the remote peer\n\r"
    b"C-a s    sync log files to disk\n\r"
    b"C-a t    toggle console timestamps\n\r"
    b"C-a b    send break (magic sysrq)\n\r"
    b"C-a c    switch to the next frontend\n\r"
    b"C-a C-a  sends C-a\n\r"
)


@dataclass(frozen=True)
class MuxOptions:
    chardev: str = option(
        help="id of the base chardev to multiplex", cli_required_text="chardev: mux: no chardev given"
    )


@register()
class MuxChardev(Chardev):
    """A chardev shared by up to four frontends, switched with ``C-a c``."""

    type_name: ClassVar[str] = "mux"
    summary: ClassVar[str] = "share one chardev between up to 4 frontends (C-a escapes)"
    Options = MuxOptions
    is_multiplexer: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots: list[CharFrontend | None] = [None] * MAX_MUX
        self.buffers: list[deque[int]] = [deque() for _ in range(MAX_MUX)]
        self.focus = -1
        self.timestamps = False
        self._at_line_start = False
        self._stamp_origin: float | None = None
        self._escape_pending = False
        self._pending_out = bytearray()
        self.base: Chardev | None = None
        self._base_fe = CharFrontend(owner=f"mux '{self.label}'")
        self._local_only: set[CharFrontend] = set()
        """Frontends only a local console base may switch to (``-mon local-only=on``)."""

    # -- creation -----------------------------------------------------------------

    def open(self) -> bool:
        base = self.lookup.find(self.options.chardev)
        if base is None:
            raise InvalidOption(
                f"mux: base chardev {self.options.chardev} not found", option="chardev"
            )
        if base.is_multiplexer:
            raise InvalidOption("chardev: multiplexers can't be stacked", option="chardev")
        self._base_fe.attach(base)
        self.base = base
        self._base_fe.set_handlers(
            can_read=self._base_can_read,
            read=self._base_read,
            event=self._base_event,
            be_change=self._base_changed,
        )
        return True

    def _base_changed(self) -> bool:
        # The base was hot-swapped: listen on the new one.
        self.base = self._base_fe.chardev
        self._base_fe.set_handlers(
            can_read=self._base_can_read,
            read=self._base_read,
            event=self._base_event,
            be_change=self._base_changed,
        )
        focused = self._focused()
        if focused is not None and not self._reachable(focused):
            self._rotate_focus()  # a remote base must not inherit a local-only focus
        return True

    async def _close(self) -> None:
        for fe in self.frontends():
            fe.detach()
        self._base_fe.detach()
        self.base = None

    # -- frontends and focus -------------------------------------------------------------

    def attach_frontend(self, fe: CharFrontend) -> int:
        for tag, slot in enumerate(self.slots):
            if slot is None:
                self.slots[tag] = fe
                self.buffers[tag].clear()
                return tag
        raise ChardevInUse(
            self.label,
            f"too many uses of multiplexed chardev '{self.label}' (maximum is {MAX_MUX})",
        )

    def detach_frontend(self, fe: CharFrontend) -> None:
        # Focus stays on the slot (as in QEMU); its input is dropped until C-a c.
        self._local_only.discard(fe)
        for tag, slot in enumerate(self.slots):
            if slot is fe:
                self.slots[tag] = None
                self.buffers[tag].clear()

    def frontends(self) -> list[CharFrontend]:
        return [fe for fe in self.slots if fe is not None]

    def set_local_only(self, fe: CharFrontend, local_only: bool = True) -> None:
        """Let only a local console base reach ``fe`` (a monitor's ``local-only=on``).

        While the base is not a local console (a network socket, a pty, a
        serial line), ``C-a c`` skips ``fe`` and ``fe`` never takes the focus.
        """
        if local_only:
            self._local_only.add(fe)
        else:
            self._local_only.discard(fe)

    def _reachable(self, fe: CharFrontend) -> bool:
        return fe not in self._local_only or (self.base is not None and self.base.local_console)

    def take_focus(self, fe: CharFrontend) -> None:
        if self._reachable(fe):
            self._set_focus(fe.tag)

    def _set_focus(self, tag: int) -> None:
        old = self._focused()
        if old is not None:
            old.deliver_event(ChardevEvent.MUX_OUT)
        self.focus = tag
        new = self._focused()
        if new is not None:
            new.deliver_event(ChardevEvent.MUX_IN)

    def _focused(self) -> CharFrontend | None:
        return self.slots[self.focus] if self.focus >= 0 else None

    def focused_owner(self) -> str | None:
        fe = self._focused()
        return fe.owner if fe is not None else None

    def _rotate_focus(self) -> None:
        used = [tag for tag, fe in enumerate(self.slots) if fe is not None and self._reachable(fe)]
        if not used:
            focused = self._focused()
            if focused is not None and not self._reachable(focused):
                self._set_focus(-1)
            return
        after = [tag for tag in used if tag > self.focus]
        self._set_focus(after[0] if after else used[0])

    def _deliver_event(self, event: ChardevEvent) -> None:
        # An event on the mux itself goes to the focused frontend only.
        fe = self._focused()
        if fe is not None:
            fe.deliver_event(event)

    def describe_extra(self) -> dict[str, Any]:
        return {
            "base": self.base.label if self.base else None,
            "focus": self.focused_owner(),
            "timestamps": self.timestamps,
        }

    # -- input: base -> focused frontend ------------------------------------------------

    def _base_can_read(self) -> int:
        if self.focus < 0 or self.slots[self.focus] is None:
            return 4096  # nobody to feed, but escapes must still work
        free = MUX_BUFFER_SIZE - len(self.buffers[self.focus])
        if self.buffers[self.focus]:
            return free
        return self.slots[self.focus].can_read() + free

    def _base_read(self, data: bytes) -> None:
        run = bytearray()
        for byte in data:
            if self._escape_pending:
                self._escape_pending = False
                if byte == ESCAPE:
                    run.append(byte)
                else:
                    self._flush_input(run)
                    self._escape(byte)
            elif byte == ESCAPE:
                self._escape_pending = True
            else:
                run.append(byte)
        self._flush_input(run)

    def _flush_input(self, run: bytearray) -> None:
        if not run:
            return
        data = bytes(run)
        run.clear()
        fe = self._focused()
        if fe is None:
            self.stats.dropped_in += len(data)
            return
        self.stats.bytes_in += len(data)
        buffer = self.buffers[self.focus]
        if not buffer:
            direct = min(fe.can_read(), len(data))
            if direct:
                fe.deliver_read(data[:direct])
                data = data[direct:]
        room = MUX_BUFFER_SIZE - len(buffer)
        buffer.extend(data[:room])
        self.stats.dropped_in += max(0, len(data) - room)

    def accept_input(self, fe: CharFrontend) -> None:
        buffer = self.buffers[fe.tag]
        while buffer and self.slots[fe.tag] is fe:
            count = min(fe.can_read(), len(buffer))
            if count <= 0:
                break
            fe.deliver_read(bytes(buffer.popleft() for _ in range(count)))
        self._base_fe.accept_input()

    def handlers_changed(self, fe: CharFrontend, *, sync_state: bool) -> None:
        super().handlers_changed(fe, sync_state=sync_state)
        self._base_fe.accept_input()

    def _base_event(self, event: ChardevEvent) -> None:
        # Events from the base are broadcast to every frontend.
        for fe in self.frontends():
            fe.deliver_event(event)

    # -- escape commands ------------------------------------------------------------

    def _escape(self, key: int) -> None:
        if key in (ord("h"), ord("?")):
            self._write_to_base(HELP_TEXT)
        elif key == ord("x"):
            self._escape_exit()
        elif key == ord("s"):
            self._sync_logs()
        elif key == ord("t"):
            self.timestamps = not self.timestamps
            self._stamp_origin = None
            self._at_line_start = False
        elif key == ord("b"):
            self.be_event(ChardevEvent.BREAK)
        elif key == ord("c"):
            self._rotate_focus()
        # any other key is swallowed together with the C-a

    def _escape_exit(self) -> None:
        base = self.base
        if base is not None and base.local_console:
            self._write_to_base(b"tuicon: Terminated\n\r")
            request_quit = getattr(self.lookup, "request_quit", None)
            if request_quit is None or not request_quit(f"C-a x on '{self.label}'"):
                self._write_to_base(b"tuicon: nothing to quit here\n\r")
            return
        # A remote peer must never be able to shut tuicon down: drop it instead,
        # where its backend can (a socket client, a serial line); say so where not.
        if base is not None and base.peer_can_be_dropped:
            self._write_to_base(b"tuicon: disconnecting\n\r")
            base.disconnect()
        else:
            kind = base.type_name if base is not None else "backend"
            self._write_to_base(f"tuicon: C-a x: a {kind} peer cannot be disconnected by tuicon;"
                                " close the program on the other side\n\r".encode())

    def _sync_logs(self) -> None:
        try:
            self.flush_log()
            if self.base is not None:
                self.base.flush_log()
        except OSError as err:
            self._write_to_base(f"tuicon: log sync failed: {err.strerror}\n\r".encode())
            return
        self._write_to_base(b"tuicon: logs synced\n\r")

    def _write_to_base(self, data: bytes) -> None:
        # Mux messages go through the normal output path, so timestamps apply;
        # they must not be lost when the base is full.
        self._pending_out += self._stamp(data)
        self._flush_output()

    # -- output: any frontend -> base ------------------------------------------------------

    def _write(self, data: memoryview) -> int:
        if self.base is None:
            raise ChardevError(f"mux '{self.label}' has no base")
        self._flush_output()
        if self._pending_out:
            return 0
        if not self.timestamps:
            return self._base_fe.write(data)
        self._pending_out += self._stamp(bytes(data))
        self._flush_output()
        return len(data)

    def _flush_output(self) -> None:
        while self._pending_out:
            written = self._base_fe.write(self._pending_out)
            if written == 0:
                return
            del self._pending_out[:written]

    async def _wait_writable(self) -> None:
        self._flush_output()
        await self._base_fe.wait_writable()
        self._flush_output()

    def _stamp(self, data: bytes) -> bytes:
        if not self.timestamps:
            return data
        out = bytearray()
        for byte in data:
            if self._at_line_start:
                out += self._timestamp()
                self._at_line_start = False
            out.append(byte)
            if byte == ord("\n"):
                self._at_line_start = True
        return bytes(out)

    def _timestamp(self) -> bytes:
        now = time.monotonic()
        if self._stamp_origin is None:
            self._stamp_origin = now
        ms = int((now - self._stamp_origin) * 1000)
        seconds, ms = divmod(ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"[{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}] ".encode()
