"""The app's main area: the console view, the grid view, and zoom.

* Console view (the default whenever there is a vc): the selected console
  fills the main area; every chardev keeps a compact card in the side
  column.  Selecting a card shows the console it feeds.
* Grid view: one pane per chardev, for watching many at once.
* Zoom: the console alone, with its one-line title as the status bar.

Nothing here polls per frame: cards and panes are redrawn when the engine
says their chardev changed (:meth:`MainView.chardev_changed`), a slow
timer refreshes byte counters (:meth:`MainView.tick`), and a console is
redrawn by its own view when its screen changes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal
from textual.reactive import reactive
from textual.widget import Widget

from .console import ConsoleArea
from .display_modes import DisplayModes
from .panes import ChardevPane
from .sidebar import ChardevCard, Sidebar
from .terminal import TerminalView, VcSizes
from .wiring import console_of, consoles

if TYPE_CHECKING:
    from ..session import Session

VIEWS = ("console", "grid")
PANE_WIDTH, MIN_PANE_WIDTH, MIN_PANE_HEIGHT = 40, 20, 4
SIDEBAR_WIDTHS = ((120, 32), (100, 28), (0, 24))
"""(terminal columns at least, side column width): the console keeps most of the screen."""


class MainView(Widget):
    """Holds the views; the app acts through it on whatever is selected."""

    DEFAULT_CSS = """
    MainView { height: 1fr; }
    MainView #console-view { height: 1fr; }
    MainView #panes { height: 1fr; display: none; grid-gutter: 0; }
    MainView.grid #console-view { display: none; }
    MainView.grid #panes { display: block; }
    MainView.zoomed #sidebar { display: none; }
    """

    view = reactive("console")
    zoomed = reactive(False)

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.sizes = VcSizes()
        self.modes = DisplayModes()
        """Each console's display mode (screen, timestamps, hex), shared by its views."""
        self.sidebar = Sidebar(session, id="sidebar")
        self.console = ConsoleArea(session, self.sizes, self.modes, id="console")
        self.grid = Grid(id="panes")
        self.panes: dict[str, ChardevPane] = {}
        self.order: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="console-view"):
            yield self.sidebar
            yield self.console
        yield self.grid

    @property
    def ready(self) -> bool:
        """Composed: the side column and the grid can take cards and panes."""
        return self.sidebar.is_mounted and bool(self.sidebar.query("#cards"))

    @property
    def terminal(self) -> TerminalView:
        return self.console.terminal

    def use_session(self, session: Session) -> None:
        """A new session (a profile was opened): the widgets follow it."""
        self.session = session
        for widget in (self.sidebar, self.console, self.terminal):
            widget.session = session

    # -- keeping up with the session -------------------------------------------------------

    async def sync(self) -> None:
        """A card and a pane per chardev, in order; the console still the right one."""
        ids = self._ordered_ids()
        await self.sidebar.sync(ids)
        gone = [self.panes.pop(i) for i in list(self.panes) if i not in ids]
        new = [ChardevPane(self.session, i) for i in ids if i not in self.panes]
        self.panes.update((pane.chardev_id, pane) for pane in new)
        for pane in gone:
            await pane.remove()
        if new:
            await self.grid.mount_all(new)
        self.layout_grid()
        position = {chardev_id: index for index, chardev_id in enumerate(ids)}
        if [getattr(w, "chardev_id", None) for w in self.grid.children] != ids:
            self.grid.sort_children(key=lambda w: position.get(getattr(w, "chardev_id", ""), len(ids)))
        if self.view == "grid":
            for pane in self.panes.values():
                pane.tick()
        self._keep_console()

    async def clear(self) -> None:
        """Forget every card and pane (the session is being replaced)."""
        for card in list(self.sidebar.cards.values()):
            await card.remove()
        self.sidebar.cards.clear()
        for pane in list(self.panes.values()):
            await pane.remove()
        self.panes.clear()
        self.console.show(None, None)
        self.modes.close()
        self.modes.modes.clear()
        self.modes.logs.clear()

    def _ordered_ids(self) -> list[str]:
        ids = self.session.chardevs.ids()
        order = [i for i in self.order if i in ids]
        return order + [i for i in ids if i not in order]

    def _keep_console(self) -> None:
        """After a change of the wiring, show what the selection feeds now."""
        selected = self.console.selected
        if selected is not None and selected not in self.session.chardevs:
            selected = None
        if selected is None:
            shown = consoles(self.session)
            selected = shown[0] if shown else None
        self.select(selected)

    def chardev_changed(self, chardev_id: str, kind: str) -> None:
        """The engine said ``chardev_id`` changed: redraw what shows it."""
        self.sidebar.refresh_card(chardev_id)
        pane = self.panes.get(chardev_id)
        if pane is not None:
            pane.tick()
        if kind in ("changed", "members") or chardev_id == self.terminal.vc_id:
            if kind == "changed" and chardev_id == self.terminal.vc_id:
                self.terminal.show(None)  # a vc swapped: its new screen is another object
            self._keep_console()
            self.console.refresh_title()
        if kind in ("members", "changed", "frontend"):
            self.sidebar.refresh_links()

    def tick(self) -> None:
        """The slow timer: byte counters and rates."""
        self.sidebar.tick()
        if self.view == "grid":
            for pane in self.panes.values():
                pane.sample_rates()
                pane.tick(changed=False)
        self.console.refresh_title()

    # -- selection ----------------------------------------------------------------------------

    def select(self, chardev_id: str | None) -> None:
        """Select a chardev: the console view shows the console it feeds."""
        self.console.show(chardev_id, console_of(self.session, chardev_id) if chardev_id else None)

    @on(ChardevCard.Selected)
    def _card_selected(self, event: ChardevCard.Selected) -> None:
        self.select(event.card.chardev_id)

    def selected_id(self) -> str | None:
        """The chardev the user has selected, wherever the focus is."""
        focused = self.app.focused
        if isinstance(focused, (ChardevCard, ChardevPane)):
            return focused.chardev_id
        if self.view == "grid":
            return None
        return self.console.selected or self.terminal.vc_id

    def typing(self) -> bool:
        focused = self.app.focused
        return (self.terminal.typing and focused is self.terminal) or (
            isinstance(focused, ChardevPane) and focused.typing)

    def focus_home(self) -> None:
        """Where the focus goes when nothing has it: the console, else the first card or pane."""
        if self.view == "grid":
            panes = list(self.panes.values())
            first = next((p for p in panes if p.is_vc), panes[0] if panes else None)
            if first is not None:
                first.focus()
            return
        if self.terminal.vc_id is not None:
            # The console itself, not its card: Enter then starts typing without a focus
            # change, so keys typed right after it (in the same read) reach the console.
            self.terminal.focus()
            return
        first = next(iter(self.sidebar.cards.values()), None)
        if first is not None:
            first.focus()

    def start_typing(self) -> bool:
        """Enter: type into the selected console; False when there is none."""
        if self.view == "grid":
            focused = self.app.focused
            return isinstance(focused, ChardevPane) and focused.start_typing()
        if self.terminal.vc_id is None:
            return False
        self.terminal.focus()
        self.terminal.typing = True
        return True

    # -- views ---------------------------------------------------------------------------------

    def watch_view(self, view: str) -> None:
        self.set_class(view == "grid", "grid")
        if view == "grid":
            self.zoomed = False
            self.layout_grid()
            for pane in self.panes.values():
                pane.tick()
        if self.is_mounted:
            self.call_after_refresh(self.focus_home)

    def watch_zoomed(self, zoomed: bool) -> None:
        self.set_class(zoomed, "zoomed")
        self.app.set_class(zoomed, "zoomed")

    def cycle_display_mode(self) -> str | None:
        """``m``: the shown console's next display mode (screen, timestamps, hex)."""
        vc_id = self.terminal.vc_id
        if vc_id is None or self.view != "console":
            return None
        mode = self.modes.next_mode(vc_id)
        self.terminal.set_mode(mode)
        self.console.refresh_title()
        return mode

    def restore_display_modes(self, wanted: dict[str, str]) -> None:
        """A profile's ``[ui] display`` (console id -> mode), for the consoles that exist."""
        for vc_id, mode in wanted.items():
            vc = self.session.chardevs.find(vc_id)
            if vc is not None and vc.type_name == "vc" and mode in ("timestamps", "hex"):
                self.modes.set(vc, mode)
        self.terminal._update(force=True)
        self.console.refresh_title()

    def toggle_view(self) -> None:
        self.view = "grid" if self.view == "console" else "console"

    def toggle_zoom(self) -> bool:
        if self.view != "console" or self.terminal.vc_id is None:
            return False
        self.zoomed = not self.zoomed
        self.terminal.focus()
        return True

    def on_resize(self) -> None:
        width = self.size.width
        self.sidebar.styles.width = next(w for at_least, w in SIDEBAR_WIDTHS if width >= at_least)
        self.layout_grid()

    def layout_grid(self) -> None:
        count = len(self.panes)
        width = self.size.width or 80
        height = max(1, self.size.height or 22)
        columns = max(1, min(count, width // PANE_WIDTH, 4))
        # Many panes on a small terminal: narrower panes beat panes with no room
        # for a line of status inside their border.
        while (columns < min(count, width // MIN_PANE_WIDTH)
               and math.ceil(count / columns) * MIN_PANE_HEIGHT > height):
            columns += 1
        rows = max(1, math.ceil(count / columns))
        self.grid.styles.grid_size_columns = columns
        self.grid.styles.grid_size_rows = rows
