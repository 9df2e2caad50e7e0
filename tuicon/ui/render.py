"""Turning engine state into text for the panes: vc screens, byte tails, sizes and rates."""

from __future__ import annotations

import re

from rich.color import Color
from rich.style import Style
from rich.text import Text
from wcwidth import wcwidth

from ..chardev.screen import Colour, Pen
from ..chardev.screen.base import BOLD, FAINT, INVISIBLE, ITALIC, REVERSE, STRIKE, UNDERLINE

REVERSE_ON, REVERSE_OFF = Style(reverse=True), Style(reverse=False)
STYLE_CACHE_SIZE = 4096
"""Distinct pens kept: a device can send millions of true colours."""
_style_cache: dict[Pen, Style] = {}


def rich_colour(colour: Colour) -> Color | None:
    """A cell colour in tuicon's form as a Rich colour (None: the default)."""
    if colour is None:
        return None
    if isinstance(colour, int):
        return Color.from_ansi(min(max(colour, 0), 255))
    return Color.from_rgb(*(min(max(part, 0), 255) for part in colour))


def pen_style(pen: Pen) -> Style:
    """The Rich style of a pen (cached: a frame has few distinct ones)."""
    style = _style_cache.get(pen)
    if style is None:
        if len(_style_cache) >= STYLE_CACHE_SIZE:
            _style_cache.clear()
        attrs = pen.attrs
        style = Style(color=rich_colour(pen.fg), bgcolor=rich_colour(pen.bg),
                      bold=bool(attrs & BOLD), italic=bool(attrs & ITALIC),
                      underline=bool(attrs & UNDERLINE), reverse=bool(attrs & REVERSE),
                      dim=bool(attrs & FAINT) or None, strike=bool(attrs & STRIKE) or None,
                      conceal=bool(attrs & INVISIBLE) or None)
        _style_cache[pen] = style
    return style


def _cell_offset(text: str, cells: int) -> int:
    """The index in ``text`` of the character that starts at cell ``cells``."""
    if text.isascii():
        return cells
    used = 0
    for index, char in enumerate(text):
        if used >= cells:
            return index
        used += max(wcwidth(char), 0)
    return len(text)


def vc_text(vc, rows: int, cursor: bool = True) -> Text:
    """``rows`` lines of a vc's screen, ending with the cursor or the last text, in colour.

    It is built from the engine's runs of same-styled text (no work per cell
    here), with the cursor cut into the run it falls in.
    """
    cols, screen_rows = vc.size
    cx, cy = vc.cursor
    frame = [vc.line_runs(y) for y in range(screen_rows)]
    used = [y for y, runs in enumerate(frame) if any(text.strip() for text, _ in runs)]
    bottom = max([cy, *used[-1:]]) + 1
    first = max(0, bottom - rows)
    last = min(screen_rows, first + rows)
    show_cursor = cursor and vc.cursor_visible
    text = Text(no_wrap=True, overflow="crop")
    for row in range(first, last):
        runs = frame[row]
        if show_cursor and row == cy:
            runs = with_cursor(runs, cx)
        for part, pen in runs:
            if part:
                text.append(part, pen if isinstance(pen, Style) else pen_style(pen))
        if row < last - 1:
            text.append("\n")
    return text


def with_cursor(runs: list, cx: int) -> list:
    """``runs`` with the cell at ``cx`` split out and drawn reversed."""
    out: list = []
    start = 0
    for part, pen in runs:
        width = len(part) if part.isascii() else sum(max(wcwidth(ch), 0) for ch in part)
        if start <= cx < start + width:
            at = _cell_offset(part, cx - start)
            style = pen_style(pen)
            flipped = style + (REVERSE_OFF if style.reverse else REVERSE_ON)
            out += [(part[:at], pen), (part[at:at + 1] or " ", flipped), (part[at + 1:], pen)]
        else:
            out.append((part, pen))
        start += width
    return out


ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


def printable(data: bytes) -> str:
    """Bytes as readable text: terminal escapes removed, other controls shown as dots."""
    text = ESCAPES.sub("", data.decode("utf-8", errors="replace"))
    return "".join(ch if ch in "\n\t" or (ch >= " " and ch != "\x7f") else "·" for ch in text)


def tail_lines(data: bytes, rows: int) -> str:
    lines = printable(bytes(data)).replace("\r", "").split("\n")
    return "\n".join(lines[-rows:]) if rows > 0 else ""


def traffic(tail_in: bytes, tail_out: bytes, rows: int) -> Text:
    """The newest traffic: input (towards the frontend) above output, each labelled."""
    if not tail_out or not tail_in:
        label, data = ("in  ", tail_in) if tail_in else ("out ", tail_out)
        return _labelled(label, data, rows)
    half = max(1, rows // 2)
    text = _labelled("in  ", tail_in, half)
    text.append("\n")
    text.append_text(_labelled("out ", tail_out, rows - half))
    return text


def _labelled(label: str, data: bytes, rows: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    lines = tail_lines(data, rows).split("\n") if data else []
    for i, line in enumerate(lines):
        text.append(label if i == 0 else " " * len(label), style="dim")
        text.append(line + ("\n" if i < len(lines) - 1 else ""))
    return text


def short_size(count: float) -> str:
    """A byte count in at most five characters, for the narrow cards: ``5B``, ``1.6K``, ``7.1M``."""
    for unit in ("B", "K", "M", "G"):
        if count < 1024 or unit == "G":
            return f"{count:.0f}{unit}" if unit == "B" or count >= 100 else f"{count:.1f}{unit}"
        count /= 1024
    return f"{count:.0f}G"


def size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
