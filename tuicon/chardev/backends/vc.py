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
import re
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import pyte
from pyte.screens import Char, StaticDefaultDict
from wcwidth import wcwidth  # pyte's own, which decides where a wide character's halves go

from ..aio import Signal
from ..chardev import Chardev
from ..errors import InvalidOption
from ..options import option
from ..registry import register

SLICE = 4096
"""Most bytes fed to the screen model between yields to the event loop."""
MIN_SLICE = 64
"""Fewest: a slice of costly sequences (a screen fill, a full erase) is cut
down until it fits in a burst again."""
BURST_SECONDS = 0.005
"""Longest the feeder works before it rests, so a keystroke waits at most this."""
FEED_SHARE = 0.25
"""Most of the event loop's time the feeder takes while output keeps coming:
the data path (the vc's fellow mux-be members, bridges) keeps the rest."""
MIN_BUDGET = 64 * 1024
"""The backlog never jumps ahead below this many bytes."""
MAX_BUDGET = 1024 * 1024
"""... nor waits for more than this, however fast the rate measured: the
backlog holds at most 4 x this (plus the write being taken)."""
JUMP_SECONDS = 1.0
"""Jump ahead when the backlog holds more than this much feeding time."""
KEEP_ON_JUMP = 16 * 1024
"""Newest bytes kept when jumping: enough to redraw a full screen."""
INPUT_LIMIT = 64 * 1024
"""Keystrokes waiting for a frontend that cannot read; beyond is dropped."""
CELL_WIDTH, CELL_HEIGHT = 8, 16  # QEMU's pixel sizes for width=/height=

MAX_COLS, MAX_ROWS = 1000, 500
"""Together they bound the screen to 500,000 cells.  Every cell pyte has
drawn is a Char of its own (about 200-450 bytes with its text and colour
names), so the largest screen costs at most about 200 MB; 80x24 costs 1 MB."""
MAX_SCROLLBACK = 1_000_000
MAX_SCROLLBACK_CELLS = 20_000_000
"""scrollback x cols.  Scrolled-off lines are kept as text only (nobody
draws their colours), 1-4 bytes a cell (at most MAX_CELL_TEXT code points
of up to 4 bytes each) plus about 60 bytes a line: the cap allows 100,000
lines of 200 columns (about 30 MB of ASCII) and bounds the worst case (wide
characters with combining marks, a million short lines) to about 400 MB."""
MAX_CELL_TEXT = 4
"""Code points one cell holds: a character and its combining marks.  pyte
re-normalises the whole cell for every mark, so an endless run of marks
would cost quadratic time and unbounded memory; further marks are dropped."""
MAX_SEQUENCE = 64 * 1024
"""Longest escape sequence or string (OSC) followed: a longer one is cut
short, so one that never ends neither grows without bound nor hides all
output after it."""
SAVED_CURSORS = 8
"""DECSC saves pyte keeps (xterm keeps one); pyte's own stack is unbounded."""
IGNORED_MODES = frozenset({
    3,  # DECCOLM, 132 columns: the size is the options' (xterm ignores it by default too)
    5,  # DECSCNM, reverse screen: pyte rewrites every cell for each flash
})
"""Private modes (ESC [ ? n h) the vc does not follow."""


def _combining_class() -> str:
    """A regex class of every combining mark (all lie below U+20000)."""
    marks = [c for c in range(0x20000) if unicodedata.combining(chr(c))]
    ranges, first, last = [], marks[0], marks[0]
    for mark in marks[1:] + [-1]:
        if mark == last + 1:
            last = mark
            continue
        ranges.append(f"{re.escape(chr(first))}-{re.escape(chr(last))}" if last > first
                      else re.escape(chr(first)))
        first = last = mark
    return "[" + "".join(ranges) + "]"


_MARK = _combining_class()
MARKS = re.compile(_MARK)
MARK_RUN = re.compile(f"(?<={_MARK}{{{MAX_CELL_TEXT - 1}}}){_MARK}+")
"""Marks beyond the first MAX_CELL_TEXT - 1 of a run (with a base, MAX_CELL_TEXT)."""
LEADING_MARKS = re.compile(f"{_MARK}+")


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

    def __post_init__(self) -> None:
        check_size(*self.size, self.scrollback)

    @property
    def size(self) -> tuple[int, int]:
        cols = self.cols if self.cols is not None else (self.width // CELL_WIDTH if self.width else 80)
        rows = self.rows if self.rows is not None else (self.height // CELL_HEIGHT if self.height else 24)
        return cols, rows


class SequenceTooLong(Exception):
    """An escape sequence went on past :data:`MAX_SEQUENCE` characters."""


class SafeStream(pyte.ByteStream):
    """pyte's byte stream, made safe for whatever a device sends.

    pyte raises from inside its parser for sequences its screen does not
    take: about 40 private-mode CSI forms (``ESC [ ? 6 n``: a handler that
    has no ``private`` argument) give a TypeError, a parameter of thousands
    of digits a ValueError, DECOM without margins an AssertionError.  Its
    own loop then drops the rest of the chunk, and in the vc the exception
    would end the feeder.  This loop skips the character that raised,
    starts the parser afresh and goes on; ``bad_sequences`` counts them.
    It is pyte's loop otherwise, so the common path costs the same.
    """

    def __init__(self, screen: pyte.Screen) -> None:
        super().__init__(screen)
        self.bad_sequences = 0
        self._sequence = 0  # characters of the escape sequence in progress

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        self._feed_text(self.utf8_decoder.decode(data) if self.use_utf8 else data.decode("latin-1"))

    def abort(self) -> None:
        """Forget the sequence in progress: what follows is read afresh."""
        self._initialize_parser()
        self._sequence = 0

    def _feed_text(self, text: str) -> None:
        assert self.listener is not None and self._parser is not None
        draw = self.listener.draw
        match_text = self._text_pattern.match
        send = self._parser.send
        plain = self._taking_plain_text
        sequence = self._sequence
        offset, length = 0, len(text)
        while offset < length:
            try:
                while offset < length:
                    if plain:
                        match = match_text(text, offset)
                        if match:
                            start, offset = match.span()
                            draw(text[start:offset])
                        else:
                            plain = False
                    else:
                        offset += 1  # past the character even if it raises
                        plain = send(text[offset - 1])
                        sequence = 0 if plain else sequence + 1
                        if sequence > MAX_SEQUENCE:
                            raise SequenceTooLong
            except Exception:
                self.bad_sequences += 1
                self.abort()
                send = self._parser.send
                plain, sequence = self._taking_plain_text, 0
        self._taking_plain_text = plain
        self._sequence = sequence


class ConsoleScreen(pyte.Screen):
    """A pyte screen that keeps scrolled-off lines and answers terminal queries.

    It also bounds what a device can make pyte do: memory (combining marks
    per cell, saved cursors, the width) and time per byte (no sequence
    rewrites every cell: at 1000x500 that took seconds for 3 bytes).
    """

    def __init__(self, columns: int, lines: int, scrollback: int, vc: VcChardev) -> None:
        super().__init__(columns, lines)
        self.history: deque[str] = deque(maxlen=scrollback)
        self._keep_history = scrollback > 0
        self._vc = vc

    def index(self) -> None:
        top, bottom = self.margins or (0, self.lines - 1)
        if self._keep_history and self.cursor.y == bottom and top == 0:
            self.history.append(row_text(self.buffer[top], self.columns).rstrip())
        super().index()

    def draw(self, data: str) -> None:
        if MARKS.search(data) is not None:  # rare: only text with combining marks pays
            data = self._limit_marks(data)
        super().draw(data)

    def _limit_marks(self, data: str) -> str:
        data = MARK_RUN.sub("", data)
        # Marks at the start combine with the cell before the cursor.
        x, y = self.cursor.x, self.cursor.y
        before = self.buffer[y][x - 1] if x else (self.buffer[y - 1][self.columns - 1] if y else None)
        room = MAX_CELL_TEXT - len(before.data) if before is not None else 0
        leading = LEADING_MARKS.match(data)
        if leading is not None and leading.end() > room:
            data = data[:max(room, 0)] + data[leading.end():]
        return data

    def save_cursor(self) -> None:
        super().save_cursor()
        del self.savepoints[:-SAVED_CURSORS]

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            modes = tuple(mode for mode in modes if mode not in IGNORED_MODES)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            modes = tuple(mode for mode in modes if mode not in IGNORED_MODES)
        super().reset_mode(*modes, **kwargs)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        # pyte rewrites every cell drawn so far; a fresh line costs one
        # step a row, and blanks it in the current colours (as xterm does).
        if how not in (0, 1, 2, 3):
            return
        rows = {0: range(self.cursor.y + 1, self.lines), 1: range(self.cursor.y)}.get(how, range(self.lines))
        for y in rows:
            self.buffer[y] = StaticDefaultDict(self.cursor.attrs)
        self.dirty.update(rows)
        if how in (0, 1):
            self.erase_in_line(how)

    def alignment_display(self) -> None:
        # DECALN (ESC # 8) fills the screen with E; pyte does it cell by cell.
        filled = self.default_char._replace(data="E")
        for y in range(self.lines):
            self.buffer[y] = StaticDefaultDict(filled)
        self.dirty.update(range(self.lines))

    def write_process_input(self, data: str) -> None:
        # Replies to device queries (cursor position, attributes) are input.
        self._vc.send_input(data.encode())

    def add_history_note(self, text: str) -> None:
        if self._keep_history:
            self.history.append(text[: self.columns])


def row_text(row: dict[int, Char], columns: int) -> str:
    """One row as text, as pyte's ``display`` shows it (which can raise)."""
    if not row:
        return " " * columns
    texts = [row[x].data for x in range(columns)]
    if "" in texts:
        # A wide character's right half is "": it belongs to the character.
        # pyte's display fails on a half left alone by an overwrite.
        for x, text in enumerate(texts):
            if not text and (x == 0 or wcwidth(texts[x - 1][:1]) != 2):
                texts[x] = " "
    return "".join(texts)


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
        self._stream = SafeStream(self.screen)
        self._slice = SLICE
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
        return min(MAX_BUDGET, max(MIN_BUDGET, int(self._rate * FEED_SHARE * JUMP_SECONDS)))

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
        chunk = bytes(self._backlog[:self._slice])
        del self._backlog[:self._slice]
        started = time.perf_counter()
        self._stream.feed(chunk)
        elapsed = time.perf_counter() - started
        if elapsed > 0 and len(chunk) >= MIN_SLICE:
            self._rate = 0.8 * self._rate + 0.2 * (len(chunk) / elapsed)
        # Some sequences cost thousands of times more than text (a screen
        # fill, an erase): cut the slice until one fits in a burst again.
        if elapsed > BURST_SECONDS:
            self._slice = max(MIN_SLICE, self._slice // 2)
        elif elapsed < BURST_SECONDS / 4:
            self._slice = min(SLICE, self._slice * 2)
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
        # The cut may have left a sequence (or a UTF-8 character) open.
        self._stream.abort()
        self._stream.utf8_decoder.reset()
        self._stream.feed(b"\x1b[0m\r\n")
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
        return [row_text(self.screen.buffer[y], self.screen.columns) for y in range(self.screen.lines)]

    def line_chars(self, row: int) -> list[Char]:
        """The cells of one row with their attributes (fg, bg, bold, ...)."""
        line = self.screen.buffer[row]
        return [line[x] for x in range(self.screen.columns)]

    def scrollback(self) -> list[str]:
        return list(self.screen.history)

    def resize(self, cols: int, rows: int) -> None:
        check_size(cols, rows, self.options.scrollback)
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
            "bad-sequences": self._stream.bad_sequences,
        }
