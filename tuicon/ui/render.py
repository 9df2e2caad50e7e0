"""Turning engine state into text for the panes: vc screens, byte tails, sizes and rates."""

from __future__ import annotations

import re
from functools import lru_cache

from rich.style import Style
from rich.text import Text

BASIC = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
PYTE_COLOURS: dict[str, str | None] = {
    "default": None,
    **{name: name for name in BASIC},
    **{"bright" + name: "bright_" + name for name in BASIC},
    "brown": "yellow",
    "brightbrown": "bright_yellow",
    "bfightmagenta": "bright_magenta",  # pyte 0.8.2's name for SGR 105
}
"""Every colour name pyte gives a cell, as Rich names it."""
HEX_COLOUR = re.compile("[0-9a-fA-F]{6}")
STYLE_CACHE_SIZE = 4096
"""Distinct styles kept: a device can send millions of true colours."""
_style_cache: dict[tuple, Style] = {}


@lru_cache(maxsize=1024)
def colour(name: str) -> str | None:
    """A pyte colour (a name, or hex digits for 256/true colour) as a Rich colour.

    What a device sends reaches this unchecked (``ESC [ 38 ; 2 ; 300 ; 0 ; 0 m``
    makes pyte write seven hex digits), and Rich raises on a colour it cannot
    parse: anything but a known name or six hex digits is the default colour.
    """
    if name in PYTE_COLOURS:
        return PYTE_COLOURS[name]
    if HEX_COLOUR.fullmatch(name):
        return "#" + name
    return None


def cell_style(char) -> Style:
    key = (char.fg, char.bg, char.bold, char.italics, char.underscore, char.reverse)
    style = _style_cache.get(key)
    if style is None:
        if len(_style_cache) >= STYLE_CACHE_SIZE:
            _style_cache.clear()
        style = Style(color=colour(char.fg), bgcolor=colour(char.bg), bold=char.bold,
                      italic=char.italics, underline=char.underscore, reverse=char.reverse)
        _style_cache[key] = style
    return style


def vc_text(vc, rows: int, cursor: bool = True) -> Text:
    """``rows`` lines of a vc's screen, ending with the cursor or the last text, in colour."""
    cols, screen_rows = vc.size
    cx, cy = vc.cursor
    used = [i for i, line in enumerate(vc.lines()) if line.strip()]
    bottom = max([cy, *used[-1:]]) + 1
    first = max(0, bottom - rows)
    last = min(screen_rows, first + rows)
    text = Text(no_wrap=True, overflow="crop")
    for row in range(first, last):
        chars = vc.line_chars(row)
        run_style, run = None, []
        for x, char in enumerate(chars):
            style = cell_style(char)
            if cursor and row == cy and x == cx and vc.cursor_visible:
                style = style + Style(reverse=not char.reverse)
            if style is not run_style and run:
                text.append("".join(run), run_style)
                run = []
            run_style = style
            run.append(char.data or " ")
        if run:
            text.append("".join(run).rstrip() if run_style == Style() else "".join(run), run_style)
        if row < last - 1:
            text.append("\n")
    return text


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


def size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
