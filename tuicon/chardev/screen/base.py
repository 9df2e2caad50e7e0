"""The screen-model interface: what the vc, query-vc, the renderer and the tests may use.

An engine parses the bytes a device writes and keeps a terminal screen.
tuicon owns this interface so that nothing outside an engine's own module
knows which library does the parsing: cells come out in tuicon's own form
(below), replies to terminal queries go to a callback, and every engine
promises the same bounds on memory and the same survival of any bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import NamedTuple, TypeAlias

MAX_SEQUENCE = 64 * 1024
"""Longest escape sequence or string (OSC, DCS, APC) an engine follows: a
longer one is cut short, so one that never ends neither grows without
bound nor hides all output after it."""

Colour: TypeAlias = "int | tuple[int, int, int] | None"
"""A cell colour: None is the terminal's default, an int 0-255 a palette
entry (0-7 the basic colours, 8-15 their bright forms), a tuple 24-bit RGB."""

# Attributes as bits, so a style is a small hashable tuple.
BOLD = 1
FAINT = 2
ITALIC = 4
UNDERLINE = 8
BLINK = 16
REVERSE = 32
INVISIBLE = 64
STRIKE = 128


class Pen(NamedTuple):
    """How a cell is drawn: colours and attribute bits."""

    fg: Colour = None
    bg: Colour = None
    attrs: int = 0


DEFAULT_PEN = Pen()


class Cell(NamedTuple):
    """One screen cell.  A wide character takes two: itself (width 2), then
    a tail with ``char`` "" and width 0."""

    char: str
    width: int
    fg: Colour = None
    bg: Colour = None
    attrs: int = 0

    @property
    def pen(self) -> Pen:
        return Pen(self.fg, self.bg, self.attrs)


Run: TypeAlias = "tuple[str, Pen]"
"""Text drawn in one pen: what the renderer draws from."""

MAX_LINE_RUNS = 16
"""Most runs a scrollback line keeps: what is left of a line with more
colour changes goes into its last run, in that run's pen.  A boot log line
has 3-6; the cap bounds what a device that changes colour at every cell
can make the scrollback hold (see the vc's MAX_SCROLLBACK_CELLS)."""

Reply: TypeAlias = Callable[[bytes], None]
"""Receives the terminal's answers to queries (DSR, DA): they are input."""


def fold_runs(runs: list[Run], limit: int = MAX_LINE_RUNS) -> list[Run]:
    """``runs`` with at most ``limit`` runs: the rest joins the last one kept."""
    if len(runs) <= limit:
        return runs
    rest = "".join(text for text, _ in runs[limit - 1:])
    return runs[:limit - 1] + [(rest, runs[limit - 1][1])]


def trim_runs(runs: list[Run], limit: int | None = None) -> list[Run]:
    """``runs`` cut to ``limit`` code points, without the blanks at the end
    whatever their pen (a scrollback line's text has none), nor empty runs."""
    length = len("".join(text for text, _ in runs)[:limit].rstrip())
    trimmed: list[Run] = []
    for text, pen in runs:
        if length <= 0:
            break
        if text:
            trimmed.append((text[:length], pen))
            length -= len(text)
    return trimmed


class ScreenModel(ABC):
    """A terminal screen: feed it bytes, read back cells, cursor and modes.

    ``cols`` x ``rows`` is the visible screen; up to ``scrollback`` lines
    that scrolled off the top of the main screen are kept with their
    colours (nothing the alternate screen shows goes there).  Engines must
    survive any bytes: a sequence they cannot take is skipped and counted
    in :attr:`bad_sequences`, and parsing goes on.
    """

    name: str = "?"

    def __init__(self, cols: int, rows: int, scrollback: int, reply: Reply) -> None:
        self.scrollback_limit = scrollback
        self.reply = reply

    @abstractmethod
    def feed(self, data: bytes) -> None:
        """Parse ``data`` (any bytes, sequences may be split across calls)."""

    @abstractmethod
    def abort(self) -> None:
        """Forget any sequence or UTF-8 character in progress (after a cut in the stream)."""

    @abstractmethod
    def resize(self, cols: int, rows: int) -> None:
        """Change the visible size; the newest rows stay, the cursor stays on screen."""

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """(cols, rows)."""

    @property
    @abstractmethod
    def cursor(self) -> tuple[int, int]:
        """(x, y), 0-based, always on the screen (a pending wrap shows at the last column)."""

    @property
    @abstractmethod
    def cursor_visible(self) -> bool: ...

    @property
    @abstractmethod
    def alternate_screen(self) -> bool:
        """True while a full-screen program has switched to the alternate screen."""

    @property
    @abstractmethod
    def application_cursor(self) -> bool:
        """DECCKM (``ESC [ ? 1 h``): cursor keys send ``ESC O A`` rather than ``ESC [ A``."""

    @property
    @abstractmethod
    def bracketed_paste(self) -> bool:
        """Mode 2004: a paste is to be wrapped in ``ESC [ 200 ~`` ... ``ESC [ 201 ~``."""

    @property
    @abstractmethod
    def bad_sequences(self) -> int:
        """Sequences the engine could not take and skipped."""

    @abstractmethod
    def lines(self) -> list[str]:
        """The visible screen as text, one string per row, each ``cols`` cells wide."""

    @abstractmethod
    def row_cells(self, y: int) -> list[Cell]:
        """Row ``y``'s cells, exactly ``cols`` of them."""

    def row_runs(self, y: int) -> list[tuple[str, Pen]]:
        """Row ``y`` as runs of text in one style, covering all ``cols`` cells.

        This is what the renderer draws from; engines override it with a
        path that does not build a Cell for every column.
        """
        runs: list[tuple[str, Pen]] = []
        text: list[str] = []
        pen = None
        for cell in self.row_cells(y):
            if not cell.width:
                continue
            if cell.pen != pen and text:
                runs.append(("".join(text), pen))  # type: ignore[arg-type]
                text = []
            pen = cell.pen
            text.append(cell.char or " ")
        if text:
            runs.append(("".join(text), pen))  # type: ignore[arg-type]
        return runs

    @abstractmethod
    def scrollback(self) -> list[str]:
        """Lines that scrolled off the top, oldest first, trailing blanks removed."""

    def scrollback_runs(self, start: int = 0, stop: int | None = None) -> list[list[Run]]:
        """Lines ``start:stop`` of :meth:`scrollback` as runs in their pens.

        A line's runs join to exactly its text (so none for a blank line),
        with at most :data:`MAX_LINE_RUNS` of them.  This default has no
        colours; engines keep them.
        """
        return [[(line, DEFAULT_PEN)] if line else [] for line in self.scrollback()[start:stop]]

    def close(self) -> None:
        """Free what the engine holds outside Python's heap."""
