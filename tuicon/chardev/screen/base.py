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


Reply: TypeAlias = Callable[[bytes], None]
"""Receives the terminal's answers to queries (DSR, DA): they are input."""


class ScreenModel(ABC):
    """A terminal screen: feed it bytes, read back cells, cursor and modes.

    ``cols`` x ``rows`` is the visible screen; up to ``scrollback`` lines
    that scrolled off the top of the main screen are kept as text (nothing
    the alternate screen shows goes there).  Engines must survive any bytes:
    a sequence they cannot take is skipped and counted in
    :attr:`bad_sequences`, and parsing goes on.
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

    def close(self) -> None:
        """Free what the engine holds outside Python's heap."""
