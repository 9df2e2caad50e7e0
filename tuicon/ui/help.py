"""The help screen (``?``): every key, and what tuicon's panes show."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from .forms import Modal

HELP = """\
# tuicon keys

Two views: the **console view** (the selected console at full size, every
chardev as a card beside it; the default when there is a vc) and the
**grid view** (a pane per chardev). A card's colour says its state: open,
closed, connecting, error, stalled.

| key | action |
|---|---|
| `Tab` / `Shift+Tab`, arrows | move between the console, the cards (or the grid's panes) |
| `Enter` | type into the selected console: every key goes to it, as xterm sends it; on a chardev no console shows: offers to open one on it |
| `Ctrl+]` | stop typing |
| `Shift+PageUp` / `Shift+PageDown` | while typing: scroll the console's scrollback |
| `PageUp` / `PageDown`, mouse wheel | scroll the scrollback; `End` (or typing) back to the live screen |
| `Ctrl+F` | search the scrollback: `Enter`/`Up` older match, `Down` newer, `Escape` closes |
| mouse drag | select text: it is copied (OSC 52 where the terminal allows it) |
| `v` | switch between the console view and the grid view (kept in profiles) |
| `z` | zoom: the console alone with its title line; `z` again restores |
| `/` | filter the cards by id, type or state; `Escape` clears |
| `m` | the console's display mode: screen, wall-clock timestamps at line starts, hex (offset, hex, ASCII) — display only, the bytes to the logs and other members are untouched; kept in profiles |
| `O` | open a console: on a serial port (the detected ones listed), `unix:PATH`, `tcp:HOST:PORT` or `telnet:HOST:PORT`, as `tuicon TARGET` |
| `a` | add a chardev: pick its type from the list, then its options (`mux-be-id` joins a mux-be) |
| `c` | change (hot-swap) the selected chardev's backend |
| `d` | remove the selected chardev; if something uses it, says what is removed or detached first, then asks |
| `w` | wire a bridge between two chardevs |
| `W` | the wiring: devices and monitors (`d` removes), each mux-be's members (`d` detaches, `a` attaches a free chardev) |
| `b` | send BREAK to the selected chardev's frontend |
| `t` | toggle timestamps on a mux (`mux=on`) |
| `k` | a socket server's clients: `w` makes the selected one the writer, `x` disconnects it |
| `l` | a serial port's line settings (speed, bits, parity, stop, flow, DTR/RTS, break), changed live |
| `s` | save the session as a profile |
| `o` | open a saved profile (replaces the session) |
| `T` | switch between the dark and the light theme |
| `Escape` | cancel what is running (an add, a swap, a server waiting for its client, start-up) |
| `Ctrl+P` | command palette: every action by name, and "Go to chardev" for each |
| `Ctrl+Z` | suspend tuicon, after asking: its consoles stop while it is stopped |
| `?` | this help |
| `q` | quit (asks only while a client is connected, a pty's peer is open or a console is typed into) |

Under the console, a dimmed line says what happened to the chardevs that
feed it (a client connecting, a serial port unplugged, a swap, a stall, a
log error) — tuicon's words, never sent to the console or its log.

A grid pane shows the chardev's `filename`, `be_open` / `fe_open`, features,
whether its connect is postponed, who uses it (for a mux, who has the
focus; for a mux-be, its members), bytes in and out with rates, and below
that the vc's screen, a ringbuf's contents, or a tail of the traffic.

Adds, swaps, removes, bridges and profile opens run in the background with
a spinner saying what they wait for; the keys keep working meanwhile.

Press `Escape` or `?` to close this help.
"""


class HelpScreen(Modal[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close_help", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def action_close_help(self) -> None:
        self.close(None)
