"""The pyte engine: pyte 0.8's screen, hardened, with the alternate screen and DEC line drawing.

pyte is pure Python (about 0.2-0.8 MB/s) and always installed, so it is the
default.  What tuicon adds to it:

- :class:`SafeStream`: any bytes, never an exception out of the parser;
  colon-form SGR (``38:2::r:g:b``) read as its semicolon form; DEC special
  graphics (``ESC ( 0``) honoured in UTF-8 mode, as xterm does.
- :class:`ConsoleScreen`: bounded memory and time per byte, a scrollback
  that keeps its colours compactly (:class:`History`), the alternate
  screen (``?1049``/``?1047``/``?47``), xterm's cursor report after a full
  line, and a cheap resize.
"""

from __future__ import annotations

import operator
import re
import struct
import unicodedata
from collections import defaultdict, deque
from itertools import groupby, islice
from typing import Any

import pyte
from pyte.screens import Char, Cursor, StaticDefaultDict
from wcwidth import wcwidth  # pyte's own, which decides where a wide character's halves go

from .base import (BLINK, BOLD, DEFAULT_PEN, ITALIC, MAX_LINE_RUNS, MAX_SEQUENCE, REVERSE, STRIKE, UNDERLINE,
                   Cell, Colour, Pen, Reply, Run, ScreenModel, fold_runs, trim_runs)

MAX_CELL_TEXT = 4
"""Code points one cell holds: a character and its combining marks.  pyte
re-normalises the whole cell for every mark, so an endless run of marks
would cost quadratic time and unbounded memory; further marks are dropped."""
SAVED_CURSORS = 8
"""DECSC saves pyte keeps (xterm keeps one); pyte's own stack is unbounded."""
IGNORED_MODES = frozenset({
    3,  # DECCOLM, 132 columns: the size is the options' (xterm ignores it by default too)
    5,  # DECSCNM, reverse screen: pyte rewrites every cell for each flash
})
"""Private modes (ESC [ ? n h) the vc does not follow."""
ALTERNATE_MODES = frozenset({47, 1047, 1049})
"""Private modes that switch to the alternate screen (1049 also saves the cursor)."""
DECCKM, BRACKETED_PASTE = 1, 2004


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
COLON_SGR = re.compile(r"\x1b\[([0-9;]*:[0-9;:]*)m")
"""An SGR with ISO 8613-6 sub-parameters, which pyte's parser cannot read."""


def semicolon_sgr(match: re.Match[str]) -> str:
    """``ESC [ 38:2::r:g:b m`` (and ``38:5:n``, ``4:3``) in the semicolon form pyte reads."""
    out = []
    for param in match.group(1).split(";"):
        parts = param.split(":")
        if len(parts) == 1:
            out.append(param)
        elif parts[0] in ("38", "48") and parts[1:2] == ["2"] and len(parts) >= 5:
            out.append(";".join([parts[0], "2", *(p or "0" for p in parts[-3:])]))
        elif parts[0] in ("38", "48") and parts[1:2] == ["5"] and len(parts) == 3:
            out.append(f"{parts[0]};5;{parts[2] or '0'}")
        elif parts[0] == "4":  # underline styles: 4:0 is none, the rest one underline
            out.append("24" if parts[1] == "0" else "4")
        # anything else (58: underline colour) pyte has no use for
    return "\x1b[" + ";".join(out) + "m"


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

    pyte ignores character sets (``ESC ( 0``, SO/SI) while it decodes
    UTF-8; xterm does not, and ``tmux``, ``mc`` and ncurses draw their
    boxes with them.  So pyte's own ``use_utf8`` stays off (its parser then
    honours them) and this stream keeps the decoding choice in ``utf8``.
    """

    def __init__(self, screen: pyte.Screen) -> None:
        super().__init__(screen)
        self.bad_sequences = 0
        self._sequence = 0  # characters of the escape sequence in progress
        self.utf8 = True
        self.use_utf8 = False

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        text = self.utf8_decoder.decode(data) if self.utf8 else data.decode("latin-1")
        if ":" in text:
            text = COLON_SGR.sub(semicolon_sgr, text)
        self._feed_text(text)

    def select_other_charset(self, code: str) -> None:
        if code == "@":
            self.utf8 = False
            self.utf8_decoder.reset()
        elif code in "G8":
            self.utf8 = True

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

    def __init__(self, columns: int, lines: int, scrollback: int, reply: Reply) -> None:
        self.history = History(scrollback)
        self._keep_history = scrollback > 0
        self._reply = reply
        self._main: tuple[dict, Cursor] | None = None  # the main screen, while the alternate one shows
        super().__init__(columns, lines)

    # -- the alternate screen ---------------------------------------------------------

    @property
    def alternate(self) -> bool:
        return self._main is not None

    def _enter_alternate(self) -> None:
        if self._main is None:
            cursor = Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
            cursor.hidden = self.cursor.hidden
            self._main = (self.buffer, cursor)
            self.buffer = self._blank_buffer()
            self.dirty.update(range(self.lines))

    def _leave_alternate(self, restore_cursor: bool) -> None:
        if self._main is not None:
            self.buffer, cursor = self._main
            self._main = None
            if restore_cursor:
                self.cursor = cursor
            self.dirty.update(range(self.lines))

    def _blank_buffer(self) -> defaultdict:
        return defaultdict(lambda: StaticDefaultDict(self.default_char))

    def reset(self) -> None:
        self._main = None  # RIS leaves the alternate screen; the main one is cleared anyway
        super().reset()

    # -- scrollback and bounds --------------------------------------------------------

    def index(self) -> None:
        top, bottom = self.margins or (0, self.lines - 1)
        if self._keep_history and self._main is None and self.cursor.y == bottom and top == 0:
            self.history.append(history_runs(self.buffer[top], self.columns))
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
            if ALTERNATE_MODES.intersection(modes):
                if 1049 in modes:
                    self.save_cursor()
                self._enter_alternate()
                if 1049 in modes:  # xterm: 1049 starts on a clear screen, 47 shows what was left
                    self.buffer.clear()
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            modes = tuple(mode for mode in modes if mode not in IGNORED_MODES)
            if ALTERNATE_MODES.intersection(modes):
                if 1047 in modes or 1049 in modes:  # xterm clears the alternate screen on leaving
                    self.buffer.clear()
                self._leave_alternate(restore_cursor=1049 in modes)
                if 1049 in modes:
                    self.restore_cursor()
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

    # -- replies ------------------------------------------------------------------------

    def write_process_input(self, data: str) -> None:
        # Replies to device queries (cursor position, attributes) are input.
        self._reply(data.encode())

    def report_device_status(self, mode: int) -> None:
        if mode == 6:
            # pyte leaves the cursor one past the last column after a full
            # line; xterm reports the last column (the wrap is pending).
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if pyte.modes.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            self.write_process_input(f"\x1b[{y};{x}R")
        else:
            super().report_device_status(mode)

    # -- size -----------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Like xterm: rows above the cursor that no longer fit scroll into
        the scrollback, rows below it are cut; one step per row kept."""
        lines, columns = lines or self.lines, columns or self.columns
        if (lines, columns) == (self.lines, self.columns):
            return
        self.buffer = self._fit(self.buffer, self.cursor, lines, columns, self._main is None)
        if self._main is not None:
            self._main = (self._fit(*self._main, lines, columns, True), self._main[1])
        # Stops set inside the old width stay; beyond it, every 8 columns.
        self.tabstops = {stop for stop in self.tabstops if stop < columns} | set(
            range(8 * (self.columns // 8 + 1), columns, 8))
        self.lines, self.columns = lines, columns
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.dirty.update(range(lines))

    def _fit(self, buffer: dict, cursor: Cursor, lines: int, columns: int, history: bool) -> defaultdict:
        drop = max(0, cursor.y + 1 - lines)
        if history and self._keep_history:
            for y in range(drop):
                self.history.append(trim_runs(history_runs(buffer[y], self.columns), columns))
        fitted = self._blank_buffer()
        for y, row in buffer.items():
            if 0 <= y - drop < lines:
                if columns < self.columns:
                    for x in [x for x in row if x >= columns]:
                        del row[x]
                fitted[y - drop] = row
        cursor.y -= drop
        cursor.x = min(cursor.x, columns - 1)
        return fitted


def row_text(row: dict[int, Char], columns: int) -> str:
    """One row as text, as pyte's ``display`` shows it (which can raise)."""
    if not row:
        return " " * columns
    return "".join(cell_texts([row[x].data for x in range(columns)]))


def cell_texts(texts: list[str]) -> list[str]:
    """Each column's text (``texts``, changed in place) with a wide
    character's lone half shown as a blank, and its right half as ""."""
    columns = len(texts)
    joined = "".join(texts)
    if len(joined) == columns and joined.isascii():
        return texts  # one ASCII character a cell: nothing to mend (the common case, cheap)
    for x, text in enumerate(texts):
        # A wide character's right half is "": it belongs to the character.
        # An overwrite can leave either half alone (pyte's display fails on
        # that); a lone half shows as a blank, as in xterm.
        if not text and (x == 0 or wcwidth(texts[x - 1][:1]) != 2):
            texts[x] = " "
        elif _lone_left_half(text, texts[x + 1] if x + 1 < columns else None):
            texts[x] = " "
    return texts


WIDE_FROM = "\u1100"
"""No character below U+1100 is wide (wcwidth's first East Asian Wide range): the
per-cell width checks are skipped for them, which most cells of a console are."""


def _lone_left_half(text: str, right: str | None) -> bool:
    """A wide character whose right half was overwritten (or cut by the last column)."""
    return bool(text) and right != "" and wcwidth(text[:1]) == 2


BASIC = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
PYTE_COLOURS: dict[str, Colour] = {
    "default": None,
    **{name: index for index, name in enumerate(BASIC)},
    **{"bright" + name: 8 + index for index, name in enumerate(BASIC)},
    "brown": 3,
    "brightbrown": 11,
    "bfightmagenta": 13,  # pyte 0.8.2's name for SGR 105
}
"""Every colour name pyte gives a cell, as a palette index."""
HEX_COLOUR = re.compile("[0-9a-fA-F]{6}")
PEN_CACHE_SIZE = 4096
"""Distinct pens kept in each cache: a device can send millions of true colours."""
PEN_FIELDS = operator.itemgetter(1, 2, 3, 4, 5, 6, 7, 8)
"""A Char's style: every field but its text."""
CHAR_TEXT = operator.itemgetter(0)
_pens: dict[tuple, Pen] = {}


def pyte_colour(name: str) -> Colour:
    """A pyte colour (a name, or hex digits for 256/true colour) in tuicon's form.

    What a device sends reaches this unchecked (``ESC [ 38 ; 2 ; 300 ; 0 ; 0 m``
    makes pyte write seven hex digits): anything but a known name or six hex
    digits is the default colour.
    """
    if name in PYTE_COLOURS:
        return PYTE_COLOURS[name]
    if HEX_COLOUR.fullmatch(name):
        value = int(name, 16)
        return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)
    return None


def pen_of(fields: tuple) -> Pen:
    """The pen of a Char's style fields (:data:`PEN_FIELDS`), cached."""
    pen = _pens.get(fields)
    if pen is None:
        if len(_pens) >= PEN_CACHE_SIZE:
            _pens.clear()
        fg, bg, bold, italics, underscore, strikethrough, reverse, blink = fields
        attrs = ((BOLD if bold else 0) | (ITALIC if italics else 0) | (UNDERLINE if underscore else 0)
                 | (STRIKE if strikethrough else 0) | (REVERSE if reverse else 0) | (BLINK if blink else 0))
        pen = _pens[fields] = Pen(pyte_colour(fg), pyte_colour(bg), attrs)
    return pen


def history_runs(row: dict[int, Char], columns: int) -> list[Run]:
    """A row as the scrollback keeps it: its runs without the blanks at its
    end, at most MAX_LINE_RUNS; their text is :func:`row_text`'s.

    It runs for every line that scrolls off, so the work per cell is done
    by C (map, groupby); Python only touches each run.
    """
    if not row:
        return []
    chars = list(map(row.__getitem__, range(columns)))
    texts = cell_texts(list(map(CHAR_TEXT, chars)))
    joined = "".join(texts)
    if len(joined) == columns and joined.isascii():  # a character a cell: the blanks at the end
        kept = len(joined.rstrip())                   # need no grouping (a short line at 200 columns)
        chars, texts = chars[:kept], texts[:kept]
    runs: list[Run] = []
    x = 0
    for fields, group in groupby(map(PEN_FIELDS, chars)):
        if len(runs) == MAX_LINE_RUNS:  # the rest folds into the last run: no need to group it
            runs[-1] = (runs[-1][0] + "".join(texts[x:]), runs[-1][1])
            break
        count = len(list(group))
        text, pen = "".join(texts[x:x + count]), pen_of(fields)
        x += count
        if runs and runs[-1][1] == pen:  # two of pyte's styles, one pen (brown is yellow)
            runs[-1] = (runs[-1][0] + text, pen)
        elif text:
            runs.append((text, pen))
    return fold_runs(trim_runs(runs))


RUN = struct.Struct("<H9s")
"""A scrollback run packed: its length in code points, then its pen (:func:`pack_pen`)."""
_packed: dict[Pen, bytes] = {}
_unpacked: dict[bytes, Pen] = {}


def pack_pen(pen: Pen) -> bytes:
    """``pen`` in 9 bytes: fg and bg (a kind, 0 default/1 palette/2 RGB, and
    three value bytes), then the attribute bits."""
    packed = _packed.get(pen)
    if packed is None:
        if len(_packed) >= PEN_CACHE_SIZE:
            _packed.clear()
        packed = _packed[pen] = _pack_colour(pen.fg) + _pack_colour(pen.bg) + bytes([pen.attrs & 0xFF])
    return packed


def _pack_colour(colour: Colour) -> bytes:
    if colour is None:
        return b"\0\0\0\0"
    if isinstance(colour, int):
        return bytes([1, colour & 0xFF, 0, 0])
    return bytes([2, *(value & 0xFF for value in colour)])


def unpack_pen(packed: bytes) -> Pen:
    """The pen :func:`pack_pen` packed."""
    pen = _unpacked.get(packed)
    if pen is None:
        if len(_unpacked) >= PEN_CACHE_SIZE:
            _unpacked.clear()
        pen = _unpacked[packed] = Pen(_unpack_colour(packed[0:4]), _unpack_colour(packed[4:8]), packed[8])
    return pen


def _unpack_colour(packed: bytes) -> Colour:
    kind = packed[0]
    return None if kind == 0 else packed[1] if kind == 1 else (packed[1], packed[2], packed[3])


class History:
    """The scrollback: each line's text, and its runs packed in 11 bytes each (:data:`RUN`).

    A line all in the default pen (or blank) keeps no style at all.  Text
    and style are two deques of one length, appended together, so the
    text (what search and copy read) costs what it did before colours.
    """

    def __init__(self, limit: int) -> None:
        self.texts: deque[str] = deque(maxlen=limit)
        self.styles: deque[bytes | None] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self.texts)

    def append(self, runs: list[Run]) -> None:
        """Keep a line that scrolled off, given as its (trimmed, folded) runs."""
        self.texts.append("".join(text for text, _ in runs))
        plain = not runs or (len(runs) == 1 and runs[0][1] == DEFAULT_PEN)
        self.styles.append(None if plain else b"".join(
            RUN.pack(len(text), pack_pen(pen)) for text, pen in runs))

    def lines(self) -> list[str]:
        return list(self.texts)

    def runs(self, start: int = 0, stop: int | None = None) -> list[list[Run]]:
        """Lines ``start:stop`` as runs (Python's slice rules)."""
        start, stop, _ = slice(start, stop).indices(len(self.texts))
        if stop - start == 1:  # the renderer asks for one line: no walk from the oldest
            pairs = [(self.texts[start], self.styles[start])]
        else:
            pairs = list(zip(islice(self.texts, start, stop), islice(self.styles, start, stop)))
        return [unpack_runs(text, style) for text, style in pairs]


def unpack_runs(text: str, style: bytes | None) -> list[Run]:
    """A scrollback line's runs from its text and packed style."""
    if style is None:
        return [(text, DEFAULT_PEN)] if text else []
    runs: list[Run] = []
    offset = 0
    for length, packed in RUN.iter_unpack(style):
        runs.append((text[offset:offset + length], unpack_pen(packed)))
        offset += length
    return runs


class PyteEngine(ScreenModel):
    """tuicon's screen model on pyte (the default engine)."""

    name = "pyte"

    def __init__(self, cols: int, rows: int, scrollback: int, reply: Reply) -> None:
        super().__init__(cols, rows, scrollback, reply)
        self.screen = ConsoleScreen(cols, rows, scrollback, reply)
        self.stream = SafeStream(self.screen)

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)

    def abort(self) -> None:
        self.stream.abort()
        self.stream.utf8_decoder.reset()

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    @property
    def cursor(self) -> tuple[int, int]:
        return min(self.screen.cursor.x, self.screen.columns - 1), self.screen.cursor.y

    @property
    def cursor_visible(self) -> bool:
        return not self.screen.cursor.hidden

    @property
    def alternate_screen(self) -> bool:
        return self.screen.alternate

    @property
    def application_cursor(self) -> bool:
        return (DECCKM << 5) in self.screen.mode  # pyte keeps private modes shifted by 5

    @property
    def bracketed_paste(self) -> bool:
        return (BRACKETED_PASTE << 5) in self.screen.mode

    @property
    def bad_sequences(self) -> int:
        return self.stream.bad_sequences

    def lines(self) -> list[str]:
        return [row_text(self.screen.buffer[y], self.screen.columns) for y in range(self.screen.lines)]

    def _pen(self, char: Char) -> Pen:
        return pen_of(char[1:])  # everything but the text

    def row_cells(self, y: int) -> list[Cell]:
        cols = self.screen.columns
        row = self.screen.buffer[y]
        cells = []
        for x in range(cols):
            char = row[x]
            pen = self._pen(char)
            width = 0 if not char.data else max(1, wcwidth(char.data[0]))
            text = char.data
            if not text and (x == 0 or cells[-1].width != 2):
                text, width = " ", 1  # a right half left alone by an overwrite
            if width == 2 and _lone_left_half(text, row[x + 1].data if x + 1 < cols else None):
                text, width = " ", 1  # its right half overwritten, or cut by the last column
            cells.append(Cell(text, min(width, 2), *pen))
        return cells

    def row_runs(self, y: int) -> list[tuple[str, Pen]]:
        cols = self.screen.columns
        row = self.screen.buffer[y]
        if not row:  # never drawn or erased: one run in its blank pen
            return [(" " * cols, self._pen(row.default))]
        runs: list[tuple[str, Pen]] = []
        text: list[str] = []
        key = None
        pen = None
        for x in range(cols):
            char = row[x]
            data = char.data
            if not data:
                if x and row[x - 1].data[:1] >= WIDE_FROM and wcwidth(row[x - 1].data[:1]) == 2:
                    continue  # the right half of a wide character
                data = " "
            elif data[0] >= WIDE_FROM and _lone_left_half(data, row[x + 1].data if x + 1 < cols else None):
                data = " "  # its right half overwritten, or in the last column (xterm wraps it)
            if char[1:] != key:
                if text:
                    runs.append(("".join(text), pen))  # type: ignore[arg-type]
                    text = []
                key, pen = char[1:], self._pen(char)
            text.append(data)
        if text:
            runs.append(("".join(text), pen))  # type: ignore[arg-type]
        return runs

    def scrollback(self) -> list[str]:
        return self.screen.history.lines()

    def scrollback_runs(self, start: int = 0, stop: int | None = None) -> list[list[Run]]:
        return self.screen.history.runs(start, stop)
