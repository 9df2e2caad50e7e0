"""The help screen (``?``): every key, and what tuicon's panes show."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from .forms import Modal

HELP = """\
# tuicon keys

| key | action |
|---|---|
| `Tab` / `Shift+Tab`, arrows | move between panes |
| `Enter` | on a console: type into it — every key goes to it; on a chardev no console shows: offers to open one on it |
| `Ctrl+]` | stop typing, back to the panes |
| `O` | open a console: on a serial port (the detected ones listed), `unix:PATH`, `tcp:HOST:PORT` or `telnet:HOST:PORT`, as `tuicon TARGET` |
| `a` | add a chardev: pick its type from the list, then its options (`mux-be-id` joins a mux-be) |
| `c` | change (hot-swap) the selected chardev's backend |
| `d` | remove the selected chardev; if something uses it, says what is removed or detached first, then asks |
| `w` | wire a bridge between two chardevs |
| `W` | the wiring: devices and monitors (`d` removes), each mux-be's members (`d` detaches, `a` attaches a free chardev) |
| `b` | send BREAK to the selected chardev's frontend |
| `t` | toggle timestamps on a mux (`mux=on`) |
| `s` | save the session as a profile |
| `o` | open a saved profile (replaces the session) |
| `T` | switch between the dark and the light theme |
| `Escape` | cancel what is running (an add, a swap, a server waiting for its client, start-up) |
| `Ctrl+P` | command palette: every action, by name |
| `Ctrl+Z` | suspend tuicon, after asking: its consoles stop while it is stopped |
| `?` | this help |
| `q` | quit (asks only while a client is connected, a pty's peer is open or a console is typed into) |

A pane shows the chardev's `filename`, `be_open` / `fe_open`, features,
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
