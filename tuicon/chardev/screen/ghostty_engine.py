"""The ghostty engine: Ghostty's terminal core (libghostty-vt) through pyghostty.

libghostty-vt parses 40-300 MB/s (pyte: under 1) and behaves like xterm
in every probe tuicon runs, so a vc on it shows a flood of output without
skipping.  pyghostty is an optional extra (``pip install 'tuicon[ghostty]'``)
with an exact pin: the C API is pre-1.0 and still changes.

Frames come from Ghostty's VT formatter: it writes the visible screen as
text with an SGR sequence where the style changes, in well under a
millisecond, and :func:`parse_dump` turns that into runs of text in one
pen without touching each cell from Python.  The scrollback comes from the
same formatter (:func:`parse_history`), so it keeps its colours too.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pyghostty import Terminal, ffi, lib  # ImportError here: the extra is not installed
from pyghostty.core import check, init_sized

from .pyte_engine import MARK_RUN
from .base import (BLINK, BOLD, DEFAULT_PEN, FAINT, INVISIBLE, ITALIC, MAX_SEQUENCE, REVERSE, STRIKE,
                   UNDERLINE, Cell, Colour, Pen, Reply, Run, ScreenModel, fold_runs, trim_runs)

PYGHOSTTY_VERSION = "0.1.3"
"""The binding tuicon was built and tested against (pyproject pins it)."""
DECCKM, BRACKETED_PASTE = 1, 2004
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
ATTR_ON = {1: BOLD, 2: FAINT, 3: ITALIC, 4: UNDERLINE, 5: BLINK, 7: REVERSE, 8: INVISIBLE, 9: STRIKE}
ATTR_OFF = {21: UNDERLINE, 22: BOLD | FAINT, 23: ITALIC, 24: UNDERLINE, 25: BLINK, 27: REVERSE,
            28: INVISIBLE, 29: STRIKE}
INTRODUCERS = (b"\x1b", "\x90".encode(), "\x9b".encode(), "\x9d".encode(), "\x9e".encode(),
               "\x9f".encode(), "\x98".encode())
"""What can open a sequence: ESC, and the C1 controls (DCS, CSI, OSC, PM, APC, SOS) as UTF-8."""
CONTROLS = {code: " " for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
"""Ghostty keeps a DEL it was sent in a cell; a frame must never carry a control.
(Combining marks beyond MAX_CELL_TEXT a cell are dropped from frames too.)"""
PEN_CACHE_SIZE = 4096
"""(pen, SGR) pairs kept: a device can send millions of true colours."""
_pens: dict[tuple[Pen, str], Pen] = {}


def apply_sgr(pen: Pen, params: str) -> Pen:
    """``pen`` after ``ESC [ params m`` (the forms Ghostty's formatter writes, read defensively)."""
    key = (pen, params)
    found = _pens.get(key)
    if found is not None:
        return found
    fg, bg, attrs = pen
    values = [part.split(":") for part in params.split(";")]
    i = 0
    while i < len(values):
        head = values[i][0]
        code = int(head) if head.isdigit() and len(head) < 4 else -1
        if code == 0 or head == "":
            fg, bg, attrs = DEFAULT_PEN
        elif code in ATTR_ON:
            attrs |= ATTR_ON[code] if values[i][1:] != ["0"] else 0
        elif code in ATTR_OFF:
            attrs &= ~ATTR_OFF[code]
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = code - 30 if code < 90 else code - 82
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = code - 40 if code < 100 else code - 92
        elif code in (39, 49):
            fg, bg = (None, bg) if code == 39 else (fg, None)
        elif code in (38, 48, 58):
            colour, i = _extended_colour(values, i)
            if code == 38:
                fg = colour
            elif code == 48:
                bg = colour
        i += 1
    found = Pen(fg, bg, attrs)
    if len(_pens) >= PEN_CACHE_SIZE:
        _pens.clear()
    _pens[key] = found
    return found


def _extended_colour(values: list[list[str]], i: int) -> tuple[Colour, int]:
    """The colour of a 38/48/58 at ``values[i]``, and the index of its last parameter."""
    sub = values[i][1:]
    if sub:  # colon form: 38:5:n, 38:2::r:g:b
        numbers, last = sub, i
    else:
        numbers = [v[0] for v in values[i + 1:i + 5]]
        last = i + (2 if numbers[:1] == ["5"] else 4 if numbers[:1] == ["2"] else 0)
    digits = [int(n) if n.isdigit() and len(n) < 4 else 0 for n in numbers]
    if digits[:1] == [5] and len(digits) >= 2:
        return min(digits[1], 255), last
    if digits[:1] == [2] and len(digits) >= 4:
        r, g, b = (min(v, 255) for v in digits[-3:])
        return (r, g, b), last
    return None, last


def text_width(text: str) -> int:
    """Cells ``text`` takes, as Ghostty counts them."""
    if text.isascii():
        return len(text)
    return sum(lib.ghostty_unicode_codepoint_width(ord(ch)) for ch in text)


def parse_line(line: str) -> list[Run]:
    """One line of the formatter's VT text (text and SGR only) as runs.

    Every line starts in the default pen: the formatter resets before a
    line's first style.  Only SGR is read; any other control that got into
    the text shows as a blank, so a run never carries one.
    """
    runs: list[Run] = []
    pen = DEFAULT_PEN
    for index, part in enumerate(SGR.split(line)):
        if index % 2:
            pen = apply_sgr(pen, part)
        elif part:
            if not part.isascii():
                part = MARK_RUN.sub("", part.translate(CONTROLS))
            elif not part.isprintable():
                part = part.translate(CONTROLS)
            runs.append((part, pen))
    return runs


def parse_dump(dump: str, cols: int, rows: int) -> list[list[Run]]:
    """The formatter's VT text of the visible screen as runs, one list a row.

    Each row's runs cover exactly ``cols`` cells: the formatter leaves out
    the default-coloured blanks at a row's end, and they are added back.
    """
    frame = []
    lines = dump.split("\r\n")
    for y in range(rows):
        runs = parse_line(lines[y]) if y < len(lines) else []
        width = sum(text_width(text) for text, _ in runs)
        if width < cols:
            runs.append((" " * (cols - width), DEFAULT_PEN))
        frame.append(runs)
    return frame


def parse_history(dump: str, limit: int,
                  known: dict[str, tuple[list[Run], str]] | None = None
                  ) -> tuple[list[tuple[list[Run], str]], dict[str, tuple[list[Run], str]]]:
    """The formatter's VT text of the history as the scrollback's lines, each
    as (runs, text): the newest ``limit``, without blanks at their end, at most
    MAX_LINE_RUNS runs.

    ``known`` holds the lines parsed last time (by their VT text): the history
    is dumped again after every change, but most of its lines are the same,
    and parsing them all again each frame made enough garbage for collections
    that stalled the app for tens of milliseconds.  Returns the lines and the
    new ``known`` (only what is still there: it never outgrows the history).
    """
    known = known or {}
    parsed: dict[str, tuple[list[Run], str]] = {}
    lines = []
    for line in dump.split("\r\n")[-limit:]:
        entry = parsed.get(line) or known.get(line)
        if entry is None:
            runs = fold_runs(trim_runs(parse_line(line)))
            entry = (runs, "".join(text for text, _ in runs))
        parsed[line] = entry
        lines.append(entry)
    return lines, parsed


class GhosttyEngine(ScreenModel):
    """tuicon's screen model on libghostty-vt (``vc,engine=ghostty``)."""

    name = "ghostty"

    def __init__(self, cols: int, rows: int, scrollback: int, reply: Reply) -> None:
        super().__init__(cols, rows, scrollback, reply)
        self.terminal = Terminal(cols=cols, rows=rows, scrollback=scrollback)
        self._t = self.terminal._t[0]
        # Kitty graphics: a vc draws no images, and a device must not make it keep 10 MB of them.
        check(lib.ghostty_terminal_set(self._t, lib.GHOSTTY_TERMINAL_OPT_KITTY_IMAGE_STORAGE_LIMIT,
                                       ffi.new("uint64_t*", 0)), "set kitty image limit")
        self.terminal.on_reply(reply)
        self._errors = 0
        self._sequence = 0  # bytes of the sequence in progress, as far as it can be told
        self._frame: list[list[tuple[str, Pen]]] | None = None
        self._history: tuple[list[str], list[list[Run]]] | None = None  # texts, runs: until a change
        self._known: dict[str, tuple[list[Run], str]] = {}  # history lines parsed, by their VT text
        self._write = lib.ghostty_terminal_vt_write
        self._until_ground = lib.ghostty_terminal_vt_write_until_ground
        self._consumed = ffi.new("size_t*")

    def feed(self, data: bytes) -> None:
        self._frame = self._history = None
        for start in range(0, len(data), MAX_SEQUENCE):
            self._feed_piece(data[start:start + MAX_SEQUENCE])
        if self.terminal._cb_err is not None:  # the reply callback raised: that reply is lost
            self.terminal._cb_err = None
            self._errors += 1

    def _feed_piece(self, data: bytes) -> None:
        """Feed at most MAX_SEQUENCE bytes, cutting short a string that passes the bound.

        Ghostty follows a string (an OSC title, a DCS) however long it gets,
        hiding everything after it; tuicon ends one after MAX_SEQUENCE bytes
        with CAN, as its pyte stream does.
        """
        room = MAX_SEQUENCE - self._sequence
        if self._sequence and len(data) > room:
            self._write(self._t, data, room)
            if self._in_sequence():
                self._write(self._t, b"\x18", 1)  # CAN: back to plain text
                self._errors += 1
            self._sequence = 0
            data = data[room:]
        self._write(self._t, data, len(data))
        if not self._in_sequence():
            self._sequence = 0
            return
        start = max(data.rfind(introducer) for introducer in INTRODUCERS)
        self._sequence = len(data) - start if start >= 0 else self._sequence + len(data)

    def _in_sequence(self) -> bool:
        return self._until_ground(self._t, b"", 0, self._consumed) == lib.GHOSTTY_NO_VALUE

    def abort(self) -> None:
        self.feed(b"\x18")  # CAN: ends any sequence or string in progress

    def resize(self, cols: int, rows: int) -> None:
        self._frame = self._history = None
        self.terminal.resize(cols, rows)

    @property
    def size(self) -> tuple[int, int]:
        return self.terminal.size

    @property
    def cursor(self) -> tuple[int, int]:
        return self.terminal.cursor

    @property
    def cursor_visible(self) -> bool:
        return bool(self.terminal.get("cursor_visible", "bool"))

    @property
    def alternate_screen(self) -> bool:
        return self.terminal.get("active_screen", "int") == lib.GHOSTTY_TERMINAL_SCREEN_ALTERNATE

    @property
    def application_cursor(self) -> bool:
        return self.terminal.mode(DECCKM)

    @property
    def bracketed_paste(self) -> bool:
        return self.terminal.mode(BRACKETED_PASTE)

    @property
    def bad_sequences(self) -> int:
        return self._errors

    # -- reading the screen ---------------------------------------------------------------

    def _format(self, tag: str, last_row: int, emit: Any, trim: bool) -> str:
        cols = self.size[0]
        selection = init_sized("GhosttySelection")
        selection.start = self.terminal.ref(0, 0, tag)[0]
        selection.end = self.terminal.ref(cols - 1, last_row, tag)[0]
        options = init_sized("GhosttyFormatterTerminalOptions")
        options.emit, options.unwrap, options.trim, options.selection = emit, False, trim, selection
        formatter = ffi.new("GhosttyFormatter*")
        check(lib.ghostty_formatter_terminal_new(ffi.NULL, formatter, self._t, options[0]), "formatter")
        try:
            length = ffi.new("size_t*")
            lib.ghostty_formatter_format_buf(formatter[0], ffi.NULL, 0, length)
            buffer = ffi.new("uint8_t[]", max(length[0], 1))
            check(lib.ghostty_formatter_format_buf(formatter[0], buffer, len(buffer), length), "format")
            return ffi.buffer(buffer, length[0])[:].decode("utf-8", "replace")
        finally:
            lib.ghostty_formatter_free(formatter[0])

    def frame(self) -> list[list[tuple[str, Pen]]]:
        """Every visible row as runs, from one formatter dump (kept until the next change)."""
        if self._frame is None:
            cols, rows = self.size
            frame = parse_dump(self._format("active", rows - 1, lib.GHOSTTY_FORMATTER_FORMAT_VT, False),
                               cols, rows)
            for y, runs in enumerate(frame):
                if len(runs) == 1 and runs[0][1] is DEFAULT_PEN and not runs[0][0].strip():
                    frame[y] = self._blank_row(y, cols)
            self._frame = frame
        return self._frame

    def _blank_row(self, y: int, cols: int) -> list[tuple[str, Pen]]:
        """A row with no text: the formatter leaves out its background colour
        (a full-screen program clears to blue, say), so it is read from the cells."""
        first, last = self._cell_bg(0, y), self._cell_bg(cols - 1, y)
        if first == last:
            return [(" " * cols, Pen(bg=first) if first is not None else DEFAULT_PEN)]
        runs: list[tuple[str, Pen]] = []
        for x in range(cols):
            pen = Pen(bg=self._cell_bg(x, y))
            if runs and runs[-1][1] == pen:
                runs[-1] = (runs[-1][0] + " ", pen)
            else:
                runs.append((" ", pen))
        return runs

    def _cell_bg(self, x: int, y: int) -> Colour:
        cell = ffi.new("GhosttyCell*")
        check(lib.ghostty_grid_ref_cell(self.terminal.ref(x, y), cell), "cell")
        tag = ffi.new("GhosttyCellContentTag*")
        check(lib.ghostty_cell_get(cell[0], lib.GHOSTTY_CELL_DATA_CONTENT_TAG, tag), "cell tag")
        if tag[0] == lib.GHOSTTY_CELL_CONTENT_BG_COLOR_PALETTE:
            index = ffi.new("GhosttyColorPaletteIndex*")
            check(lib.ghostty_cell_get(cell[0], lib.GHOSTTY_CELL_DATA_COLOR_PALETTE, index), "cell colour")
            return int(index[0])
        if tag[0] == lib.GHOSTTY_CELL_CONTENT_BG_COLOR_RGB:
            rgb = ffi.new("GhosttyColorRgb*")
            check(lib.ghostty_cell_get(cell[0], lib.GHOSTTY_CELL_DATA_COLOR_RGB, rgb), "cell colour")
            return (rgb.r, rgb.g, rgb.b)
        return None

    def row_runs(self, y: int) -> list[tuple[str, Pen]]:
        return self.frame()[y]

    def lines(self) -> list[str]:
        return ["".join(text for text, _ in runs) for runs in self.frame()]

    def row_cells(self, y: int) -> list[Cell]:
        cells: list[Cell] = []
        for text, pen in self.row_runs(y):
            for ch in text:
                width = lib.ghostty_unicode_codepoint_width(ord(ch))
                if cells and (width == 0 or unicodedata.combining(ch)):
                    base = len(cells) - (1 if cells[-1].width else 2)  # a mark joins its character
                    cells[base] = cells[base]._replace(char=cells[base].char + ch)
                    continue
                cells.append(Cell(ch, width, *pen))
                if width == 2:
                    cells.append(Cell("", 0, *pen))
        return cells[:self.size[0]]

    def _scrollback(self) -> tuple[list[str], list[list[Run]]]:
        """The history's texts and runs, both from one VT dump (kept until the next change)."""
        if self._history is None:
            count = self.terminal.get("scrollback_rows", "size_t")
            if not count or not self.scrollback_limit:
                self._history = ([], [])
            else:
                dump = self._format("history", count - 1, lib.GHOSTTY_FORMATTER_FORMAT_VT, True)
                # Ghostty keeps whole pages of history: show no more lines than asked for.
                lines, self._known = parse_history(dump, self.scrollback_limit, self._known)
                self._history = ([text for _, text in lines], [runs for runs, _ in lines])
        return self._history

    def scrollback(self) -> list[str]:
        return list(self._scrollback()[0])

    def scrollback_runs(self, start: int = 0, stop: int | None = None) -> list[list[Run]]:
        return self._scrollback()[1][start:stop]

    def close(self) -> None:
        if self.terminal._t is not None:
            self.terminal.close()
