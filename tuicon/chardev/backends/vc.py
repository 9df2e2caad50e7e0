"""``vc``: the built-in virtual console, a terminal screen model with keyboard input.

What the frontend writes is shown on a VT100/xterm-like screen with
scrollback, cursor, colours and the alternate screen; keystrokes from the
user (the TUI, or a test) go to the frontend with :meth:`VcChardev.send_input`.
It works headless.  The screen model is an engine behind tuicon's own
interface (tuicon/chardev/screen): ``pyte`` (default, pure Python) or
``ghostty`` (libghostty-vt, the optional extra ``tuicon[ghostty]``), chosen
with ``engine=pyte|ghostty|auto``.

pyte parses well under 1 MB/s, far slower than the data paths a vc sits on,
so the vc is kept off the data path: every write is accepted at once (the vc
never back-pressures a mux-be or a bridge) into a backlog that an owned task
feeds to the screen in slices sized by the engine's measured speed.  When
the backlog holds more than about a second of work, the vc jumps ahead like
a terminal's jump scroll: it drops the older part, keeps the newest output
from a line start so the screen is right for what came last, and counts
what it skipped.  With ghostty a second of work is megabytes, so a flood of
10 MB/s is shown whole.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from ..aio import Signal
from ..chardev import Chardev
from ..errors import InvalidOption
from ..options import option
from ..registry import register
from ..screen import ENGINES, GHOSTTY_MISSING, Cell, Pen, Run, ScreenModel, ghostty_available, make_engine

MIN_SLICE = 64
"""Fewest: a slice of costly sequences (a screen fill, a full erase) is cut
down until it fits in a burst again."""
MAX_SLICE = 256 * 1024
"""Most: a fast engine takes slices this big in well under a burst."""
BURST_SECONDS = 0.005
"""Longest the feeder works before it rests, so a keystroke waits at most this."""
FEED_SHARE = 0.25
"""Most of the event loop's time the feeder takes while output keeps coming:
the data path (the vc's fellow mux-be members, bridges) keeps the rest."""
MIN_BUDGET = 64 * 1024
"""The backlog never jumps ahead below this many bytes."""
MAX_BUDGET = 8 * 1024 * 1024
"""... nor waits for more than this, however fast the rate measured: the
backlog holds at most 4 x this (plus the write being taken).  ghostty's
second of work (a quarter of 40-200 MB/s) reaches it; pyte's is 64 KiB."""
JUMP_SECONDS = 1.0
"""Jump ahead when the backlog holds more than this much feeding time."""
KEEP_ON_JUMP = 16 * 1024
"""Newest bytes kept when jumping: enough to redraw a full screen."""
FIRST_RATES = {"pyte": 800_000.0, "ghostty": 40_000_000.0}
"""Bytes/s each engine is taken to parse until the vc has measured it."""
INPUT_LIMIT = 64 * 1024
"""Keystrokes waiting for a frontend that cannot read; beyond is dropped."""
CELL_WIDTH, CELL_HEIGHT = 8, 16  # QEMU's pixel sizes for width=/height=

MAX_COLS, MAX_ROWS = 1000, 500
"""Together they bound the screen to 500,000 cells.  Every cell pyte has
drawn is a Char of its own (about 200-450 bytes with its text and colour
names), so the largest screen costs at most about 200 MB; 80x24 costs 1 MB
(ghostty: 8-16 bytes a cell)."""
MAX_SCROLLBACK = 1_000_000
MAX_SCROLLBACK_CELLS = 20_000_000
"""scrollback x cols.  pyte keeps a scrolled-off line as its text, 1-4 bytes
a cell (at most MAX_CELL_TEXT code points of up to 4 bytes each) plus about
60 bytes a line, and its colours packed beside it: nothing for a line all in
the default pen, else about 40 bytes plus 11 a run, at most MAX_LINE_RUNS
(16) runs, so at most about 220 bytes more a line.  The cap allows 100,000
lines of 200 columns (about 30 MB of ASCII text, up to 22 MB more for
colours; a coloured boot log measured 23 MB in all, 14 MB as text only:
tests/bench/bench_scrollback_memory.py) and bounds the worst case (wide
characters with combining marks, a million short lines each with a colour
a cell) to about 620 MB.  ghostty keeps its history in its own pages (at
most a few hundred lines, see the README); its runs are read from them when
drawn and dropped at the next change."""


def check_size(cols: int, rows: int, scrollback: int) -> None:
    """Refuse a size that would let the screen or scrollback grow too large."""
    for name, value, low, high in (
        ("cols", cols, 2, MAX_COLS),
        ("rows", rows, 1, MAX_ROWS),
        ("scrollback", scrollback, 0, MAX_SCROLLBACK),
    ):
        if not low <= value <= high:
            raise InvalidOption(
                f"Parameter '{name}' must be between {low} and {high} (got {value})",
                option=name,
            )
    if scrollback * cols > MAX_SCROLLBACK_CELLS:
        raise InvalidOption(
            f"Parameter 'scrollback' must be at most {MAX_SCROLLBACK_CELLS // cols} with {cols} "
            f"columns (scrollback x cols at most {MAX_SCROLLBACK_CELLS} cells; got {scrollback})",
            option="scrollback",
        )


@dataclass(frozen=True)
class VcOptions:
    cols: int | None = option(None, help="columns (default 80)")
    rows: int | None = option(None, help="rows (default 24)")
    width: int | None = option(None, help="width in pixels, 8 per column (QEMU compatible)")
    height: int | None = option(None, help="height in pixels, 16 per row (QEMU compatible)")
    scrollback: int = option(1000, help="lines kept above the screen")
    engine: str = option("pyte", choices=ENGINES,
                         help="screen model: pyte (built in), ghostty (tuicon[ghostty]), auto")

    def __post_init__(self) -> None:
        check_size(*self.size, self.scrollback)
        if self.engine == "ghostty" and not ghostty_available():
            raise InvalidOption(f"Parameter 'engine': {GHOSTTY_MISSING}", option="engine")

    @property
    def size(self) -> tuple[int, int]:
        cols = self.cols if self.cols is not None else (self.width // CELL_WIDTH if self.width else 80)
        rows = self.rows if self.rows is not None else (self.height // CELL_HEIGHT if self.height else 24)
        return cols, rows


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
        self.model: ScreenModel = make_engine(self.options.engine, cols, rows, self.options.scrollback,
                                              self.send_input)
        """The screen model; everything outside the vc reads it through the vc's methods."""
        self._backlog = bytearray()
        self._input = bytearray()
        self._have_data = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._rate = FIRST_RATES.get(self.model.name, FIRST_RATES["pyte"])  # bytes/s; refined as it feeds
        self._slice = self._slice_for_rate()
        self.screen_changed = Signal()
        """Fires after each slice is drawn (renderers coalesce on it)."""
        self.version = 0
        """Bumped on every screen change, so a renderer can skip unchanged frames."""
        self.fed_bytes = 0
        self.skipped_bytes = 0
        self.jumps = 0
        self.dropped_input = 0

    @property
    def engine(self) -> str:
        """The screen model's engine: ``pyte`` or ``ghostty``."""
        return self.model.name

    def open(self) -> bool:
        self.tasks.spawn(self._feed_forever(), "screen feeder")
        return True

    async def _close(self) -> None:
        self._idle.set()
        self.model.close()

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
        """Backlog bytes worth about :data:`JUMP_SECONDS` of feeding at the measured rate."""
        return min(MAX_BUDGET, max(MIN_BUDGET, int(self._rate * FEED_SHARE * JUMP_SECONDS)))

    @property
    def rate(self) -> float:
        """Bytes/s the engine has been measured to parse (a moving average)."""
        return self._rate

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def _feed_forever(self) -> None:
        while True:
            await self._have_data.wait()
            while self._backlog:
                worked = self._feed_burst()
                # Rest in proportion to the work done: without a rest a busy
                # vc (pyte above all) would take most of the loop from the data path.
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
        self.version += 1
        self.screen_changed.fire()
        return time.perf_counter() - started

    def _feed_slice(self) -> None:
        chunk = bytes(self._backlog[:self._slice])
        del self._backlog[:self._slice]
        started = time.perf_counter()
        self.model.feed(chunk)
        elapsed = time.perf_counter() - started
        if elapsed > 0 and len(chunk) >= MIN_SLICE:
            self._rate = 0.8 * self._rate + 0.2 * (len(chunk) / elapsed)
        # Some sequences cost thousands of times more than text (a screen
        # fill, an erase): cut the slice until one fits in a burst again.
        # Otherwise a slice is half a burst at the measured rate, so a fast
        # engine takes big ones and its cost per slice stays small.
        if elapsed > BURST_SECONDS:
            self._slice = max(MIN_SLICE, self._slice // 2)
        else:
            self._slice = self._slice_for_rate()
        self.fed_bytes += len(chunk)

    def _slice_for_rate(self) -> int:
        return min(MAX_SLICE, max(MIN_SLICE, int(self._rate * BURST_SECONDS / 2)))

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
        # The cut may have left a sequence (or a UTF-8 character) open.
        self.model.abort()
        self.model.feed(f"\x1b[0m\r\n-- tuicon: skipped {skipped} bytes of fast output --\r\n".encode())

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

    @property
    def application_cursor(self) -> bool:
        """DECCKM is set: cursor keys are to be sent as ``ESC O A`` (not ``ESC [ A``)."""
        return self.model.application_cursor

    @property
    def bracketed_paste(self) -> bool:
        """Mode 2004 is set: a paste is to be sent between ``ESC [ 200 ~`` and ``ESC [ 201 ~``."""
        return self.model.bracketed_paste

    # -- reading the screen ------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.model.size

    @property
    def cursor(self) -> tuple[int, int]:
        return self.model.cursor

    @property
    def cursor_visible(self) -> bool:
        return self.model.cursor_visible

    @property
    def alternate_screen(self) -> bool:
        """A full-screen program (top, vim, less) has the alternate screen up."""
        return self.model.alternate_screen

    def lines(self) -> list[str]:
        """The screen as text, one string per row."""
        return self.model.lines()

    def line_cells(self, row: int) -> list[Cell]:
        """The cells of one row: character, width, fg, bg, attribute bits."""
        return self.model.row_cells(row)

    def line_runs(self, row: int) -> list[tuple[str, Pen]]:
        """One row as runs of text in one pen (what the renderer draws)."""
        return self.model.row_runs(row)

    def scrollback(self) -> list[str]:
        """Lines that scrolled off the top, as text (what search, copy and query-vc read)."""
        return self.model.scrollback()

    def scrollback_runs(self, start: int = 0, stop: int | None = None) -> list[list[Run]]:
        """Lines ``start:stop`` of :meth:`scrollback` as runs in their pens (what the renderer draws)."""
        return self.model.scrollback_runs(start, stop)

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) == self.size:
            return
        check_size(cols, rows, self.options.scrollback)
        self.model.resize(cols, rows)
        self.version += 1
        self.screen_changed.fire()

    def describe_extra(self) -> dict[str, Any]:
        cols, rows = self.size
        return {
            "engine": self.engine,
            "cols": cols,
            "rows": rows,
            "backlog": len(self._backlog),
            "skipped-bytes": self.skipped_bytes,
            "bad-sequences": self.model.bad_sequences,
        }
