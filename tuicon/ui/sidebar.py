"""The side column of the console view: every chardev as a compact card, in a tree.

A mux-be's members and a mux's base sit under it, devices are listed as the
links they make, and each card is coloured by its state (open, closed,
connecting, error, stalled; CSS classes ``state-*``).  Cards are redrawn
when the engine says their chardev changed, and by a slow timer for the byte
counters — never by polling every frame.  ``/`` filters the cards by id,
type or state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from . import render
from .inline_field import close_field, open_field
from .status import STATES, badge, state_of
from .wiring import links, tree

if TYPE_CHECKING:
    from ..chardev.manager import ChardevInfo
    from ..session import Session

DOTS = {"open": "●", "closed": "○", "connecting": "◌", "error": "✖", "stalled": "◍"}


class ChardevCard(Widget, can_focus=True):
    """Two lines about one chardev: id and type, then its state in a few words."""

    DEFAULT_CSS = """
    ChardevCard { height: 2; padding: 0 0 0 1; }
    ChardevCard:focus { background: $primary-muted; }
    """

    class Selected(Message):
        """The card got the focus: show its console."""

        def __init__(self, card: ChardevCard) -> None:
            super().__init__()
            self.card = card

    def __init__(self, session: Session, chardev_id: str, depth: int = 0) -> None:
        super().__init__()
        self.session = session
        self.chardev_id = chardev_id
        self.depth = depth
        self.state = "closed"
        self._shown: tuple[object, ...] | None = None
        self._counters: tuple[object, ...] | None = None

    def info(self) -> ChardevInfo | None:
        chardev = self.session.chardevs.find(self.chardev_id)
        return self.session.chardevs.info(chardev) if chardev is not None else None

    def refresh_status(self, *, changed: bool = True) -> None:
        """Redraw if what the card shows changed.

        Engine events pass ``changed=True``; the counters' timer passes False,
        and then only the byte counters are compared (a card of 256 idle ones
        must cost nothing).
        """
        chardev = self.session.chardevs.find(self.chardev_id)
        if chardev is None:
            return
        counters = (chardev.stats.bytes_in, chardev.stats.bytes_out, chardev)
        if not changed and counters == self._counters:
            return
        self._counters = counters
        info = self.session.chardevs.info(chardev)
        shown = (info.type, badge(info), info.bytes_in, info.bytes_out)
        if shown == self._shown:
            return
        self._shown = shown
        state = state_of(info)
        if state != self.state:
            self.remove_class(f"state-{self.state}")
            self.state = state
        self.add_class(f"state-{state}")
        self.refresh()

    def on_mount(self) -> None:
        self.refresh_status()

    def render(self) -> Text:
        info = self.info()
        indent = "  " * self.depth
        if info is None:
            return Text(f"{indent}{self.chardev_id} (removed)")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{indent}{DOTS.get(self.state, '·')} ", style="bold")
        text.append(info.label, style="bold")
        text.append(f" · {info.type}\n", style="dim")
        traffic = f"  ↓{render.short_size(info.bytes_in)} ↑{render.short_size(info.bytes_out)}" \
            if info.bytes_in or info.bytes_out else ""
        text.append(f"{indent}  {badge(info)}{traffic}", style="dim")
        return text

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def matches(self, query: str) -> bool:
        """For ``/``: the id, the type or the state holds the query (any case)."""
        info = self.info()
        if not query:
            return True
        words = [self.chardev_id, info.type if info else "", self.state]
        return any(query.lower() in word.lower() for word in words)


class FilterField(Input):
    """``/``'s field; Escape clears and closes it."""

    BINDINGS = [Binding("escape", "close", "Close filter")]

    def action_close(self) -> None:
        sidebar = next(a for a in self.ancestors if isinstance(a, Sidebar))
        sidebar.close_filter()


class Sidebar(Widget):
    """The cards, the device links and the filter field."""

    DEFAULT_CSS = """
    Sidebar { width: 30; }  /* its edge's colour is in tuicon.tcss, with the other borders */
    Sidebar #filter { display: none; height: 1; border: none; padding: 0 1; }
    Sidebar.filtering #filter { display: block; }
    Sidebar #cards { height: 1fr; }
    Sidebar #links { color: $text-muted; padding: 0 1; height: auto; }
    """
    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.cards: dict[str, ChardevCard] = {}
        self.query_text = ""

    def compose(self) -> ComposeResult:
        # Disabled while hidden, so nothing (auto-focus included) can focus it unseen.
        yield FilterField(placeholder="filter: id, type or state", id="filter", disabled=True)
        yield VerticalScroll(id="cards")
        yield Static("", id="links")

    async def sync(self, order: list[str] | None = None) -> None:
        """One card per chardev, in tree order; keeps the cards that still exist."""
        rows = tree(self.session, order)
        box = self.query_one("#cards", VerticalScroll)
        wanted = {row.chardev_id: row for row in rows}
        gone = [card for chardev_id, card in self.cards.items() if chardev_id not in wanted
                or wanted[chardev_id].depth != card.depth]
        for card in gone:
            self.cards.pop(card.chardev_id, None)
            await card.remove()
        for row in rows:
            if row.chardev_id not in self.cards:
                self.cards[row.chardev_id] = ChardevCard(self.session, row.chardev_id, row.depth)
        ordered = [self.cards[row.chardev_id] for row in rows]
        new = [card for card in ordered if not card.is_mounted and card.parent is None]
        if new:
            await box.mount_all(new)
        position = {card: index for index, card in enumerate(ordered)}
        if list(box.children) != ordered:
            box.sort_children(key=lambda w: position.get(w, len(position)))
        self.refresh_links()
        self.apply_filter(self.query_text)

    def refresh_links(self) -> None:
        self.query_one("#links", Static).update("\n".join(links(self.session)))

    def refresh_card(self, chardev_id: str) -> None:
        card = self.cards.get(chardev_id)
        if card is not None:
            card.refresh_status()

    def tick(self) -> None:
        for card in self.cards.values():
            card.refresh_status(changed=False)

    # -- filter ------------------------------------------------------------------------

    def open_filter(self) -> None:
        open_field(self, self.query_one("#filter", Input), "filtering")

    def close_filter(self) -> None:
        close_field(self, self.query_one("#filter", Input), "filtering")
        self.apply_filter("")
        first = next(iter(self.cards.values()), None)
        if first is not None:
            first.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        shown = [card for card in self.cards.values() if card.display]
        if shown:
            shown[0].focus()

    def apply_filter(self, query: str) -> None:
        self.query_text = query.strip()
        for card in self.cards.values():
            card.display = card.matches(self.query_text)


assert set(DOTS) == set(STATES)
