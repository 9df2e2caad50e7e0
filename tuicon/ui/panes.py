"""One pane per chardev: live status, and a vc screen, ringbuf contents or a traffic tail."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ..chardev.aio import describe_exception
from . import render
from .keys import STOP_TYPING, key_bytes, paste_bytes  # issue 11 item 4: the one key table
from .status import details

if TYPE_CHECKING:
    from ..chardev import Chardev
    from ..session import Session

def pane_widget_id(chardev_id: str) -> str:
    """A Textual widget id for a chardev's pane, whatever the chardev id holds.

    Textual ids allow letters, digits, ``_`` and ``-`` only, while chardev
    ids also have ``.`` (``log.1``).  Letters, digits and ``-`` are kept
    (``pane-screen``); anything else, ``_`` included, becomes ``_XX_`` (its
    code point in hex), so two chardev ids never share a widget id.
    """
    safe = "".join(c if c.isascii() and (c.isalnum() or c == "-") else f"_{ord(c):x}_"
                   for c in chardev_id)
    return f"pane-{safe}"


PANE_FRAME_SECONDS = 1 / 20
"""Shortest time between two redraws of a busy vc's pane in the grid."""


class ChardevPane(Widget, can_focus=True):
    """Status and contents of one chardev, redrawn only when something changed."""

    typing = reactive(False)

    class TypingChanged(Message):
        def __init__(self, pane: ChardevPane) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, session: Session, chardev_id: str) -> None:
        super().__init__(id=pane_widget_id(chardev_id))
        self.session = session
        self.chardev_id = chardev_id
        self._signature: Any = None
        self._counters: Any = None
        self._sample = (time.monotonic(), 0, 0)
        self.rate_in = 0.0
        self.rate_out = 0.0

    @property
    def chardev(self) -> Chardev | None:
        return self.session.chardevs.find(self.chardev_id)

    @property
    def is_vc(self) -> bool:
        chardev = self.chardev
        return chardev is not None and chardev.type_name == "vc"

    # -- live updates ------------------------------------------------------------------

    def on_mount(self) -> None:
        chardev = self.chardev
        if chardev is not None and chardev.type_name == "vc":
            self.run_worker(self._follow(chardev), exclusive=True, group="follow")

    async def _follow(self, vc: Any) -> None:
        """A vc's pane redraws when its screen changes (while the grid is shown), at most 20 a second."""
        while not vc.closed:
            await vc.screen_changed.wait()
            if self.display and self.parent is not None and self.parent.display:
                self.tick()
            await asyncio.sleep(PANE_FRAME_SECONDS)

    def tick(self, *, changed: bool = True) -> None:
        """Redraw if what is shown changed.

        Engine events pass ``changed=True``; the counters' timer passes False,
        and then only the cheap counters are compared first (256 idle panes
        must cost nothing).
        """
        chardev = self.chardev
        if chardev is None:
            return
        counters = (chardev, chardev.stats.bytes_in, chardev.stats.bytes_out,
                    getattr(chardev, "version", None), round(self.rate_in), round(self.rate_out),
                    self.typing, self.has_focus)
        if not changed and counters == self._counters:
            return
        self._counters = counters
        info = self.session.chardevs.info(chardev)
        signature = (info, getattr(chardev, "version", None), bytes(chardev.tail_in[-32:]), bytes(chardev.tail_out[-32:]),
                     self.typing, self.has_focus, round(self.rate_in), round(self.rate_out))
        if signature != self._signature:
            self._signature = signature
            self.border_title = f"{chardev.label} · {chardev.type_name}"
            self.border_subtitle = self._state_word(chardev)
            self.refresh()

    def sample_rates(self) -> None:
        chardev = self.chardev
        if chardev is None:
            return
        now = time.monotonic()
        then, bytes_in, bytes_out = self._sample
        elapsed = max(now - then, 1e-6)
        self.rate_in = (chardev.stats.bytes_in - bytes_in) / elapsed
        self.rate_out = (chardev.stats.bytes_out - bytes_out) / elapsed
        self._sample = (now, chardev.stats.bytes_in, chardev.stats.bytes_out)

    def _state_word(self, chardev: Chardev) -> str:
        if self.typing:
            return "TYPING — Ctrl+] to stop"
        if chardev.connect_postponed:
            return "connect postponed"
        return "open" if chardev.be_open else "closed"

    # -- drawing -----------------------------------------------------------------------

    _render_error: str | None = None
    """The last body failure shown, so it is logged once, not every frame."""

    def render(self) -> Group | Text:
        chardev = self.chardev
        if chardev is None:
            return Text("(removed)")
        status = self._status_lines(chardev)
        room = self.content_size.height - len(status)
        if room <= 0:
            return Text("\n".join(status[: max(1, self.content_size.height)]), no_wrap=True,
                        overflow="ellipsis")
        return Group(Text("\n".join(status), no_wrap=True, overflow="ellipsis", style="dim"),
                     self._body(chardev, room))

    def _status_lines(self, chardev: Chardev) -> list[str]:
        info = self.session.chardevs.info(chardev)
        flags = [f"be_open {'yes' if info.be_open else 'no'}",
                 f"fe_open {'yes' if info.frontend_open else 'no'}"]
        if info.features:
            flags.append(" ".join(info.features))
        if info.connect_postponed:
            flags.append("connect postponed")
        lines = [info.filename, "  ".join(flags), self._users(info)]
        lines.append(f"in {render.size(info.bytes_in)} ({render.size(self.rate_in)}/s)  "
                     f"out {render.size(info.bytes_out)} ({render.size(self.rate_out)}/s)")
        lines.extend(details(info))  # a server's clients, a serial port's line settings
        return lines

    @staticmethod
    def _users(info: Any) -> str:
        extra = info.extra
        if "members" in extra:
            members = ", ".join(f"{m['id']}{'' if m['open'] else ' (closed)'}" for m in extra["members"])
            used = f"members: {members or 'none'}"
        else:
            used = f"used by: {', '.join(info.frontends) or 'nobody'}"
        if extra.get("focus"):
            used += f"  focus: {extra['focus']}"
        if extra.get("timestamps"):
            used += "  timestamps"
        return used

    def _body(self, chardev: Chardev, rows: int) -> Text:
        """The contents; if drawing them fails, one line saying so (the app goes on)."""
        try:
            if chardev.type_name == "vc":
                return render.vc_text(chardev, rows)
            if chardev.type_name == "ringbuf":
                return Text(render.tail_lines(chardev.contents(), rows), no_wrap=True)
            return render.traffic(bytes(chardev.tail_in), bytes(chardev.tail_out), rows)
        except Exception as exc:
            message = f"render error: {describe_exception(exc)}"
            if message != self._render_error:
                self._render_error = message
                self.log.error(f"pane {self.chardev_id}: {message}", exc)
            return Text(message, no_wrap=True, overflow="ellipsis", style="bold red")

    # -- typing into a vc ----------------------------------------------------------------

    def start_typing(self) -> bool:
        if not self.is_vc:
            return False
        self.typing = True
        return True

    def watch_typing(self, typing: bool) -> None:
        self.set_class(typing, "typing")
        self.app.refresh_bindings()  # the footer shows the keys again (or hides them)
        self.post_message(self.TypingChanged(self))
        self._signature = None
        self.tick()

    async def on_key(self, event: events.Key) -> None:
        if not self.typing:
            if event.key == "enter" and self.is_vc:
                # Here, not as the app's binding: that runs once the key has bubbled up,
                # after the keys typed right behind it were handled untyped.
                event.stop()
                event.prevent_default()
                self.start_typing()
            return
        event.stop()
        event.prevent_default()
        if event.key == STOP_TYPING:
            self.typing = False
            return
        chardev = self.chardev
        data = key_bytes(event, chardev)
        if data and chardev is not None and hasattr(chardev, "send_input"):
            chardev.send_input(data)

    def on_paste(self, event: events.Paste) -> None:
        """A paste while typing goes to the console whole (keys.paste_bytes)."""
        if not self.typing:
            return
        event.stop()
        chardev = self.chardev
        if event.text and chardev is not None and hasattr(chardev, "send_input"):
            chardev.send_input(paste_bytes(event.text, chardev))

    def on_blur(self) -> None:
        self.typing = False

    def on_resize(self, event: events.Resize) -> None:
        self._signature = None
