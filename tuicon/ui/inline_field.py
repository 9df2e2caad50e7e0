"""A one-line field that appears on a key and goes again (``/`` filter, Ctrl+F search)."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input


def open_field(owner: Widget, field: Input, css_class: str) -> None:
    """Show ``field`` under ``owner`` (marked with ``css_class``) and put the focus in it at once."""
    owner.add_class(css_class)
    field.disabled = False
    field.display = True  # now, not at the next CSS update: the next key must land in it
    owner.screen.set_focus(field)  # at once: Widget.focus() waits a turn, keys would pass it


def close_field(owner: Widget, field: Input, css_class: str) -> None:
    """Empty and hide ``field`` again."""
    field.value = ""
    field.disabled = True
    field.display = False
    owner.remove_class(css_class)
