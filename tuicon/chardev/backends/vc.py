"""``vc``: the built-in virtual console, a terminal screen model with keyboard input.

What the frontend writes is shown on a VT100/xterm-like screen (pyte) with
scrollback, cursor and colours; keystrokes from the user (the TUI, or a test)
go to the frontend with :meth:`VcChardev.send_input`.  It works headless.

pyte parses well under 1 MB/s, far slower than the data paths a vc sits on,
so the vc is kept off the data path: every write is accepted at once (the vc
never back-pressures a mux-be or a bridge) into a backlog that an owned task
feeds to the screen in bounded slices.  When the backlog holds more than
about a second of work, the vc jumps ahead like a terminal's jump scroll: it
drops the older part, keeps the newest output from a line start so the
screen is right for what came last, and counts what it skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import pyte
from pyte.screens import Char

from ..aio import Signal
from ..chardev import Chardev
from ..errors import InvalidOption
from ..options import option
from ..registry import register

SLICE = 4096
"""Bytes fed to the screen model between yields to the event loop."""
BURST_SECONDS = 0.005
"""Longest the feeder works before it rests, so a keystroke waits at most this."""
FEED_SHARE = 0.25
"""Most of the event loop's time the feeder takes while output keeps coming:
the data path (the vc's fellow mux-be members, bridges) keeps the rest."""
MIN_BUDGET = 64 * 1024
"""The backlog never jumps ahead below this many bytes."""
JUMP_SECONDS = 1.0
"""Jump ahead when the backlog holds more than this much feeding time."""
KEEP_ON_JUMP = 16 * 1024
"""Newest bytes kept when jumping: enough to redraw a full screen."""
INPUT_LIMIT = 64 * 1024
"""Keystrokes waiting for a frontend that cannot read; beyond is dropped."""
CELL_WIDTH, CELL_HEIGHT = 8, 16  # QEMU's pixel sizes for width=/height=


@dataclass(frozen=True)
class VcOptions:
    cols: int | None = option(None, help="columns (default 80)")
    rows: int | None = option(None, help="rows (default 24)")
    width: int | None = option(None, help="width in pixels, 8 per column (QEMU compatible)")
    height: int | None = option(None, help="height in pixels, 16 per row (QEMU compatible)")
    scrollback: int = option(1000, help="lines kept above the screen")

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("cols", self.size[0], 2, 1000),
            ("rows", self.size[1], 1, 500),
            ("scrollback", self.scrollback, 0, 1_000_000),
        ):
            if not low <= value <= high:
                raise InvalidOption(
                    f"Parameter '{name}' must be between {low} and {high} (got {value})",
                    option=name,
                )

    @property
    def size(self) -> tuple[int, int]:
        cols = self.cols if self.cols is not None else (self.width // CELL_WIDTH if self.width else 80)
        rows = self.rows if self.rows is not None else (self.height // CELL_HEIGHT if self.height else 24)
        return cols, rows


class ConsoleScreen(pyte.Screen):
    """A pyte screen that keeps scrolled-off lines and answers terminal queries."""

    def __init__(self, columns: int, lines: int, scrollback: int, vc: VcChardev) -> None:
        super().__init__(columns, lines)
        self.history: deque[list[Char]] = deque(maxlen=scrollback or None)
        self._keep_history = scrollback > 0
        self._vc = vc

    def index(self) -> None:
        top, bottom = self.margins or (0, self.lines - 1)
        if self._keep_history and self.cursor.y == bottom and top == 0:
            row = self.buffer[top]
            self.history.append([row[x] for x in range(self.columns)])
        super().index()

    def write_process_input(self, data: str) -> None:
        # Replies to device queries (cursor position, attributes) are input.
        self._vc.send_input(data.encode())

    def add_history_note(self, text: str) -> None:
        if self._keep_history:
            chars = [Char(ch, fg="yellow") for ch in text[: self.columns]]
            self.history.append(chars + [self.default_char] * (self.columns - len(chars)))


@register()
class VcChardev(Chardev):
    """The virtual console: a screen you can read back and a keyboard you can type on."""

    type_name: ClassVar[str] = "vc"
    summary: ClassVar[str] = "built-in virtual console: terminal screen plus keyboard"
    Options = VcOptions
    local_console: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cols, rows = self.options.size
        self.screen = ConsoleScreen(cols, rows, self.options.scrollback, self)
        self._stream = pyte.ByteStream(self.screen)
        self._backlog = bytearray()
        self._input = bytearray()
        self._have_data = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._rate = 800_000.0  # bytes/s; refined from measurements
        self.screen_changed = Signal()
        """Fires after each slice is drawn (renderers coalesce on it)."""
        self.version = 0
        """Bumped on every screen change, so a renderer can skip unchanged frames."""
        self.fed_bytes = 0
        self.skipped_bytes = 0
        self.jumps = 0
        self.dropped_input = 0

    def open(self) -> bool:
        self.tasks.spawn(self._feed_forever(), "screen feeder")
        return True

    async def _close(self) -> None:
        self._idle.set()

    def _task_failed(self, name: str, exc: BaseException) -> None:
        # The screen can no longer follow the output: say so, and let idle() waiters go.
        self._idle.set()
        super()._task_failed(name, exc)

    # -- output: frontend -> screen ---------------------------------------------------

    def _write(self, data: memoryview) -> int:
        self._backlog += data
        self._idle.clear()
        self._have_data.set()
        if len(self._backlog) > 4 * self.budget:
            self._jump_ahead()  # the feeder is starved; keep memory bounded
        return len(data)

    @property
    def budget(self) -> int:
        """Backlog bytes worth about :data:`JUMP_SECONDS` of feeding."""
        return max(MIN_BUDGET, int(self._rate * FEED_SHARE * JUMP_SECONDS))

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def _feed_forever(self) -> None:
        while True:
            await self._have_data.wait()
            while self._backlog:
                worked = self._feed_burst()
                # Rest in proportion to the work done: pyte is slow, and without
                # a rest a busy vc would take most of the loop from the data path.
                await asyncio.sleep(worked * (1 - FEED_SHARE) / FEED_SHARE)
            self._have_data.clear()
            self._idle.set()

    def _feed_burst(self) -> float:
        """Feed slices for up to :data:`BURST_SECONDS`; return the time spent."""
        started = time.perf_counter()
        while self._backlog:
            if len(self._backlog) > self.budget:
                self._jump_ahead()
            self._feed_slice()
            if time.perf_counter() - started >= BURST_SECONDS:
                break
        return time.perf_counter() - started

    def _feed_slice(self) -> None:
        chunk = bytes(self._backlog[:SLICE])
        del self._backlog[:SLICE]
        started = time.perf_counter()
        self._stream.feed(chunk)
        elapsed = time.perf_counter() - started
        if elapsed > 0 and len(chunk) >= 1024:
            self._rate = 0.8 * self._rate + 0.2 * (len(chunk) / elapsed)
        self.fed_bytes += len(chunk)
        self.version += 1
        self.screen_changed.fire()

    def _jump_ahead(self) -> None:
        keep = self._backlog[-KEEP_ON_JUMP:]
        newline = keep.find(b"\n")
        if newline >= 0:
            keep = keep[newline + 1 :]
        skipped = len(self._backlog) - len(keep)
        if skipped <= 0:
            return
        self._backlog = bytearray(keep)
        self.skipped_bytes += skipped
        self.jumps += 1
        # CAN aborts any escape sequence the cut left open; start a fresh line.
        self._stream.feed(b"\x18\x1b[0m\r\n")
        self.screen.add_history_note(f"-- tuicon: skipped {skipped} bytes of fast output --")

    async def idle(self) -> None:
        """Wait until everything written so far is on the screen."""
        await self._idle.wait()

    # -- input: keyboard -> frontend ------------------------------------------------------

    def send_input(self, data: bytes | str) -> None:
        """Type ``data`` into the console (it goes to the frontend)."""
        if isinstance(data, str):
            data = data.encode()
        room = INPUT_LIMIT - len(self._input)
        self._input += data[:room]
        self.dropped_input += max(0, len(data) - room)
        self._flush_input()

    def _flush_input(self) -> None:
        while self._input:
            count = min(self.be_can_write(), len(self._input))
            if count <= 0:
                return
            chunk = bytes(self._input[:count])
            del self._input[:count]
            self.be_write(chunk)

    def _input_resumed(self) -> None:
        self._flush_input()

    # -- reading the screen ------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    @property
    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.x, self.screen.cursor.y

    @property
    def cursor_visible(self) -> bool:
        return not self.screen.cursor.hidden

    def lines(self) -> list[str]:
        """The screen as text, one string per row."""
        return list(self.screen.display)

    def line_chars(self, row: int) -> list[Char]:
        """The cells of one row with their attributes (fg, bg, bold, ...)."""
        line = self.screen.buffer[row]
        return [line[x] for x in range(self.screen.columns)]

    def scrollback(self) -> list[str]:
        return ["".join(c.data for c in row).rstrip() for row in self.screen.history]

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.version += 1
        self.screen_changed.fire()

    def describe_extra(self) -> dict[str, Any]:
        cols, rows = self.size
        return {
            "cols": cols,
            "rows": rows,
            "backlog": len(self._backlog),
            "skipped-bytes": self.skipped_bytes,
        }
