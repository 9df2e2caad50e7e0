"""A socket server's clients (``max-clients``): who they are, what they moved, who writes.

The list is the server's own ``clients`` status (what ``query-chardev``
shows), redrawn when the engine says a client came, went or changed role,
and once a second for the byte counters.  ``w`` hands the write role of a
``writers=one`` server to the selected client (QMP ``chardev-client-writer``,
conserver's force-attach); ``x`` disconnects the selected client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static

from ..chardev import ChardevError
from . import render
from .forms import Modal
from .wiring import backend_of

if TYPE_CHECKING:
    from ..chardev.backends.socket import SocketChardev
    from ..chardev.manager import ManagerEvent
    from ..session import Session

COLUMNS = ("client", "address", "since", "in", "out", "role", "state", "dropped")
REFRESH_SECONDS = 1.0
"""How often the byte counters are redrawn (events redraw the rest at once)."""


def socket_server(session: Session, chardev_id: str | None) -> SocketChardev:
    """The socket server behind ``chardev_id`` (a ``mux=on`` id reaches its base).

    Raises ChardevError with one line saying why there are no clients to show.
    """
    from ..chardev.backends.socket import SocketChardev
    if chardev_id is None:
        raise ChardevError("Select a socket server (server=on) to see its clients")
    chardev = backend_of(session, chardev_id)
    if not isinstance(chardev, SocketChardev):
        raise ChardevError(f"Chardev '{chardev_id}' is not a socket (it is a {chardev.type_name}):"
                           " only a socket server (server=on) has clients")
    if not chardev.is_server:
        raise ChardevError(f"Chardev '{chardev_id}' is a socket client: only a socket server"
                           " (server=on) has clients")
    return chardev


def since_text(iso: str, today: datetime | None = None) -> str:
    """When a client came, as a clock time (with the date if it was not today)."""
    when = datetime.fromisoformat(iso)
    today = today or datetime.now(when.tzinfo)
    return when.strftime("%H:%M:%S" if when.date() == today.date() else "%Y-%m-%d %H:%M")


def client_row(client: dict[str, Any]) -> tuple[str, ...]:
    """One client's status (``query-chardev``'s shape) as the table's cells."""
    state = "cut loose" if client.get("stalled") else "ok"
    if client.get("discarded"):
        state += f", {render.size(client['discarded'])} discarded"
    return (str(client["client"]), client["address"], since_text(client["since"]),
            render.size(client["bytes-in"]), render.size(client["bytes-out"]), client["role"],
            state, render.size(client["dropped"]))


class ClientsScreen(Modal[None]):
    """The clients of one socket server, live; hand over the write role or drop a client.

    Open it with ``ClientsScreen.of(session, chardev_id)``, which says in one
    line (ChardevError) why a chardev has no clients to show.
    """

    DEFAULT_CSS = """
    ClientsScreen { align: center middle; }
    ClientsScreen #form { width: 100; }
    ClientsScreen #clients { height: auto; max-height: 12; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "close_screen", "Close"),
        Binding("w", "make_writer", "Make writer"),
        Binding("x", "disconnect", "Disconnect"),
    ]

    class Changed(Message):
        """The engine said something about this server's clients."""

    def __init__(self, session: Session, chardev_id: str) -> None:
        super().__init__()
        self.session = session
        self.chardev_id = chardev_id
        self._unsubscribe: Any = None

    @classmethod
    def of(cls, session: Session, chardev_id: str | None) -> ClientsScreen:
        """The screen for ``chardev_id``; ChardevError if it is not a socket server."""
        socket_server(session, chardev_id)
        assert chardev_id is not None
        return cls(session, chardev_id)

    def server(self) -> SocketChardev | None:
        """The server now (None once it is removed or swapped to something else)."""
        try:
            return socket_server(self.session, self.chardev_id)
        except ChardevError:
            return None

    # -- layout and live updates ----------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label("", id="title", classes="form-title")
            table: DataTable[str] = DataTable(id="clients", cursor_type="row")
            table.add_columns(*COLUMNS)
            yield table
            yield Static("", id="message")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Make writer (w)", variant="primary", id="writer")
                yield Button("Disconnect (x)", variant="error", id="disconnect")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self._unsubscribe = self.session.chardevs.subscribe(self._engine_event)
        self.set_interval(REFRESH_SECONDS, self.refresh_clients)
        self.refresh_clients()
        self.query_one(DataTable).focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _engine_event(self, event: ManagerEvent) -> None:
        # Called by the engine, maybe deep inside a data path: only post.
        server = self.server()
        if event.chardev_id in (self.chardev_id, server.label if server else None):
            self.post_message(self.Changed())

    def on_clients_screen_changed(self, message: Changed) -> None:
        self.refresh_clients()

    def clients(self) -> list[dict[str, Any]]:
        """The server's clients, oldest first (as ``query-chardev`` lists them)."""
        server = self.server()
        if server is None:
            return []
        return list(self.session.chardevs.info(server).extra.get("clients", ()))

    def refresh_clients(self) -> None:
        """Redraw the title and the rows; the cursor stays on the same client."""
        if not self.is_attached:
            return
        server = self.server()
        table = self.query_one(DataTable)
        chosen = self.selected_client()
        clients = self.clients()
        table.clear()
        for client in clients:
            table.add_row(*client_row(client), key=str(client["client"]))
        numbers = [c["client"] for c in clients]
        if chosen in numbers:
            table.move_cursor(row=numbers.index(chosen), animate=False)
        self.query_one("#title", Label).update(self._title(server, len(clients)))
        one_writer = server is not None and server.options.writers == "one"
        self.query_one("#writer", Button).disabled = not (one_writer and clients)
        self.query_one("#disconnect", Button).disabled = not clients

    def _title(self, server: SocketChardev | None, count: int) -> str:
        if server is None:
            return f"'{self.chardev_id}' is no longer a socket server"
        opts = server.options
        who = {"all": "every client writes", "none": "read-only: nobody writes",
               "one": "one writer at a time"}[opts.writers]
        return (f"Clients of '{self.chardev_id}': {count} of at most {opts.max_clients}"
                f" · writers={opts.writers} ({who})")

    def selected_client(self) -> int | None:
        """The number of the client under the cursor (None with no clients)."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        return int(table.ordered_rows[row].key.value or 0)

    # -- actions -----------------------------------------------------------------------

    def _act(self, act: Callable[[SocketChardev, int], str]) -> None:
        """Run ``act(server, client)`` on the selected client; its error as one line."""
        server, number = self.server(), self.selected_client()
        message, error = "", ""
        if server is None or number is None:
            error = "no client is connected"
        else:
            try:
                message = act(server, number)
            except ChardevError as err:
                error = str(err)
        self.query_one("#message", Static).update(message)
        self.query_one("#error", Static).update(error)
        self.refresh_clients()

    @on(Button.Pressed, "#writer")
    def action_make_writer(self) -> None:
        def hand_over(server: SocketChardev, number: int) -> str:
            server.hand_write_role(number)
            return f"client {number} is the writer now"

        self._act(hand_over)

    @on(Button.Pressed, "#disconnect")
    def action_disconnect(self) -> None:
        def drop(server: SocketChardev, number: int) -> str:
            server.disconnect_client(number)
            return f"client {number} disconnected"

        self._act(drop)

    @on(Button.Pressed, "#close")
    def action_close_screen(self) -> None:
        self.close(None)
