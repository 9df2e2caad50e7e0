"""tuicon's themes: Textual theme fields plus the 16 ANSI colours a vc is drawn with.

A theme file (``tuicon/ui/themes/*.toml``) holds Textual's theme fields and a
``[palette]`` table naming the 16 ANSI colours (``black`` … ``bright-white``).
The vc's cells keep their colours as ANSI numbers (``render.rich_colour``);
Textual turns 0–15 into RGB through the app's ANSI theme (its
ANSI-to-truecolour filter) and leaves 16–255 as xterm's cube and greys, so
the palette given here is the only one: the app installs it whenever the
theme changes (``TuiconApp.watch_theme``) and tests/test_themes.py checks it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rich.color import Color
from rich.terminal_theme import TerminalTheme
from textual.theme import Theme

ANSI_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
              "bright-black", "bright-red", "bright-green", "bright-yellow",
              "bright-blue", "bright-magenta", "bright-cyan", "bright-white")
"""The palette's keys, in ANSI order (index 0–15)."""
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ThemeFileError(ValueError):
    """A theme file that cannot be used (the message names the file)."""


@dataclass
class TuiconTheme(Theme):
    """A Textual theme that also carries its vc palette (16 ``#rrggbb`` colours, ANSI order)."""

    palette: tuple[str, ...] = field(default=())

    @cached_property
    def ansi_theme(self) -> TerminalTheme:
        """The palette as Rich's terminal theme; default colours are the theme's own."""
        def rgb(colour: str | None, fallback: str) -> tuple[int, int, int]:
            return Color.parse(colour or fallback).get_truecolor()

        colours = [rgb(colour, "#000000") for colour in self.palette]
        return TerminalTheme(rgb(self.background, "#000000"), rgb(self.foreground, "#ffffff"),
                             colours[:8], colours[8:])


def read_theme(path: Path) -> TuiconTheme:
    """The theme in ``path``; ``ThemeFileError`` if its palette is incomplete or not colours."""
    with path.open("rb") as f:
        fields = tomllib.load(f)
    table = fields.pop("palette", None)
    if not isinstance(table, dict) or set(table) != set(ANSI_NAMES):
        raise ThemeFileError(f"theme {path.name}: [palette] must name exactly the 16 ANSI colours"
                             f" ({', '.join(ANSI_NAMES)})")
    palette = tuple(table[name] for name in ANSI_NAMES)
    for name, colour in zip(ANSI_NAMES, palette):
        if not (isinstance(colour, str) and HEX_COLOUR.fullmatch(colour)):
            raise ThemeFileError(f"theme {path.name}: palette colour {name} = {colour!r}"
                                 " is not a #rrggbb colour")
    return TuiconTheme(**fields, palette=palette)


def ansi_theme_for(theme: Theme, fallback: Theme | None) -> TerminalTheme | None:
    """The vc palette to draw with under ``theme``.

    A tuicon theme brings its own; any other (Textual's built-in ones, picked
    from the command palette) borrows tuicon's theme of the same darkness
    (``fallback``), whose colours were chosen for such a background.
    """
    for candidate in (theme, fallback):
        if isinstance(candidate, TuiconTheme):
            return candidate.ansi_theme
    return None
