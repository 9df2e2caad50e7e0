"""The console area: a title line, the full-size terminal, tuicon's notes line and search.

The title line says which console this is and how it is (it is the whole
chrome left in zoom).  The notes line under the terminal is written by
tuicon, never into the byte stream: what happened to the chardevs feeding
this console (``[12:00:01] share: connected (127.0.0.1:40312)``), as tio
prints its ``[12:00:01] Disconnected``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input, Static

from . import render
from .display_modes import DisplayModes
from .inline_field import close_field, open_field
from .status import badge, info_of, stamped
from .terminal import TerminalView, VcSizes

if TYPE_CHECKING:
    from ..session import Session

NOTES_KEPT = 50
"""Notes remembered per console (the newest is shown)."""


class SearchField(Input):
    """Ctrl+F's field: Enter/Up for the older match, Down for the newer, Escape to close."""

    BINDINGS = [
        Binding("up", "step(-1)", "Older match"),
        Binding("down", "step(1)", "Newer match"),
        Binding("escape", "close", "Close search"),
    ]

    def action_step(self, step: int) -> None:
        self.screen.query_one(TerminalView).next_match(step)

    def action_close(self) -> None:
        area = self.screen.query_one(ConsoleArea)
        area.close_search()


class ConsoleArea(Widget):
    """Where the selected console is shown, at full size."""

    DEFAULT_CSS = """
    ConsoleArea { width: 1fr; height: 1fr; }
    ConsoleArea #console-title { height: 1; padding: 0 1; background: $panel; }
    ConsoleArea #notes { height: 1; padding: 0 1; color: $text-muted; }
    ConsoleArea #search { display: none; height: 1; border: none; padding: 0 1; }
    ConsoleArea.searching #search { display: block; }
    ConsoleArea.searching #notes { display: none; }  /* the field takes its row: the vc keeps its size */
    ConsoleArea #nothing { height: 1fr; padding: 1 2; color: $text-muted; display: none; }
    ConsoleArea.empty #nothing { display: block; }
    ConsoleArea.empty TerminalView { display: none; }
    """

    def __init__(self, session: Session, sizes: VcSizes, modes: DisplayModes | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.terminal = TerminalView(session, sizes, modes, id="terminal")
        self.selected: str | None = None
        """The chardev the user selected (the console shown is the one it feeds)."""
        self._notes: dict[str, deque[str]] = {}
        self._title: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="console-title")
        yield self.terminal
        yield Static("", id="nothing")
        yield Static("", id="notes")
        yield SearchField(placeholder="search the scrollback (Enter/↑ older, ↓ newer, Esc)",
                          id="search", disabled=True)  # disabled while hidden: never focused unseen

    # -- what is shown -------------------------------------------------------------------

    def show(self, selected: str | None, console: str | None) -> None:
        """Show ``console`` (a vc id) because ``selected`` was chosen (None: nothing)."""
        self.selected = selected
        self.terminal.show(console)
        self.set_class(console is None, "empty")
        if console is None:
            what = f"'{selected}' is not shown in any console." if selected else "No console."
            hint = ("Enter opens a console on it (a vc, and a log, joined to it)."
                    if selected else "O opens a console on a serial port or a socket.")
            self.query_one("#nothing", Static).update(
                f"{what}\n\n{hint}\nA console is a vc: O opens one on a serial port or a socket,"
                " 'a' adds any chardev (type vc), W edits the wiring.")
        self.refresh_title()
        self.refresh_notes()

    def refresh_title(self) -> None:
        console = self.terminal.vc_id
        title = Text(no_wrap=True, overflow="ellipsis")
        if console is None:
            title.append(self.selected or "tuicon", style="bold")
        else:
            info = info_of(self.session, console)
            title.append(console, style="bold")
            if self.selected and self.selected != console:
                title.append(f" ← {self.selected}", style="bold")
            if info is not None:
                cols, rows = info.extra.get("cols"), info.extra.get("rows")
                title.append(f" · {badge(info)} · {cols}x{rows} · {info.extra.get('engine', 'vc')}",
                             style="dim")
                skipped = info.extra.get("skipped-bytes") or 0
                if skipped:  # jump-ahead: the log has it all, this screen does not
                    title.append(f" · skipped {render.size(skipped)}", style="bold")
            if self.terminal.mode != "screen":
                title.append(f" · {self.terminal.mode} view (m: next)", style="bold")
            hint = "Ctrl+] stop typing" if self.terminal.typing else \
                "Enter type · PgUp/PgDn scroll · Ctrl+F search"
            if not self.terminal.live and not self.terminal.typing:
                hint = "scrolled back · End: live · " + hint
            title.append(f"  {hint}", style="italic")
        if title != self._title:  # an update re-lays out the screen: only when it changed
            self._title = title
            self.query_one("#console-title", Static).update(title)

    # -- notes ---------------------------------------------------------------------------

    def add_note(self, console: str, text: str) -> None:
        """A line of tuicon's about ``console`` (shown if it is the one on screen)."""
        self._notes.setdefault(console, deque(maxlen=NOTES_KEPT)).append(stamped(text))
        if console == self.terminal.vc_id:
            self.refresh_notes()

    def notes(self, console: str) -> list[str]:
        return list(self._notes.get(console, ()))

    def refresh_notes(self) -> None:
        notes = self._notes.get(self.terminal.vc_id or "", ())
        self.query_one("#notes", Static).update(notes[-1] if notes else "")

    # -- search --------------------------------------------------------------------------

    @on(TerminalView.SearchWanted)
    def open_search(self) -> None:
        open_field(self, self.query_one("#search", SearchField), "searching")

    def close_search(self) -> None:
        close_field(self, self.query_one("#search", SearchField), "searching")
        self.terminal.clear_search()
        self.terminal.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        found = self.terminal.search(event.value)
        self.query_one("#notes", Static).update(
            f"{found} matches" if event.value else "")

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.terminal.next_match(-1)

    @on(TerminalView.TypingChanged)
    @on(TerminalView.Resized)
    def _title_changed(self) -> None:
        self.refresh_title()
