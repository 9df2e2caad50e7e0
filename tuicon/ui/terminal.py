"""The console you live in: a vc at the full size of its view, with scrollback, search and copy.

:class:`TerminalView` draws a vc's scrollback (kept by the engine) above its
screen, follows the output as it comes (redrawn when the screen changed, at
most :data:`FRAME_SECONDS` apart; nothing runs while the console is quiet),
and sizes the vc to the area it is shown in, as a terminal emulator resizes
its screen with its window.  PageUp/PageDown and the mouse wheel scroll back,
``End`` or typing returns to the live screen, Ctrl+F searches, and text
selected with the mouse is copied (Textual's selection; OSC 52 where the
terminal allows it).

While typing (Enter), every key goes to the console as xterm would send it
(:mod:`tuicon.ui.keys`), paste included; only Ctrl+] stays with tuicon, and
Shift+PageUp/PageDown still scroll.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from ..chardev.aio import describe_exception
from .display_modes import DisplayModes
from .keys import STOP_TYPING, key_bytes, paste_bytes
from .render import pen_style, with_cursor

if TYPE_CHECKING:
    from ..chardev.backends.vc import VcChardev
    from ..session import Session

FRAME_SECONDS = 1 / 30
"""Shortest time between two redraws of a busy console."""
MIN_COLS, MIN_ROWS = 10, 2
"""A vc is never made smaller than this, however small its view."""


class VcSizes:
    """Which size each view wants for each vc; a vc takes the largest (a terminal shown twice).

    A vc created with ``cols``/``rows`` keeps its own size.
    """

    def __init__(self) -> None:
        self._wanted: dict[str, dict[int, tuple[int, int]]] = {}

    def want(self, vc: VcChardev, view: object, size: tuple[int, int]) -> None:
        self._wanted.setdefault(vc.label, {})[id(view)] = size
        self._apply(vc)

    def release(self, vc: VcChardev | None, view: object) -> None:
        if vc is None:
            return
        wanted = self._wanted.get(vc.label, {})
        if wanted.pop(id(view), None) is not None and wanted:
            self._apply(vc)

    def _apply(self, vc: VcChardev) -> None:
        if vc.options.cols is not None or vc.options.rows is not None or vc.closed:
            return  # its options fixed the size
        sizes = self._wanted.get(vc.label, {}).values()
        cols = max(max(w for w, _ in sizes), MIN_COLS)
        rows = max(max(h for _, h in sizes), MIN_ROWS)
        try:
            vc.resize(min(cols, 1000), min(rows, 500))
        except Exception as err:  # noqa: BLE001 -- a size the caps refuse: keep the old one
            vc.set_error(f"resize to {cols}x{rows} refused: {err}")


class TerminalView(ScrollView, can_focus=True):
    """A vc, full size: scrollback above the live screen."""

    COMPONENT_CLASSES = {"terminal--match", "terminal--current-match"}
    DEFAULT_CSS = """
    TerminalView { height: 1fr; scrollbar-size-horizontal: 0; scrollbar-size-vertical: 1;
                    scrollbar-gutter: stable; }  /* the vc is sized to what shows, scrollback or not */
    TerminalView > .terminal--match { background: $warning 40%; }
    TerminalView > .terminal--current-match { background: $warning; color: $background; }
    """
    BINDINGS = [
        Binding("enter", "type", "Type"),
        Binding("ctrl+right_square_bracket", "stop_typing", "Stop typing", key_display="Ctrl+]"),
        Binding("pageup", "page(-1)", "Scroll back", show=False),
        Binding("pagedown", "page(1)", "Scroll on", show=False),
        Binding("end", "live", "Live", show=False),
        Binding("ctrl+f", "search", "Search"),
    ]

    typing = reactive(False)
    """Every key goes to the console (Ctrl+] stops)."""

    class TypingChanged(Message):
        def __init__(self, view: TerminalView) -> None:
            super().__init__()
            self.view = view

    class SearchWanted(Message):
        """Ctrl+F: the console area shows its search field."""

    class Resized(Message):
        """The vc shown took a new size (the title line says it)."""

    def __init__(self, session: Session, sizes: VcSizes, modes: DisplayModes | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.sizes = sizes
        self.modes = modes or DisplayModes()
        self.vc_id: str | None = None
        self._vc: VcChardev | None = None
        self.live = True
        """Following the output (scrolled to the bottom)."""
        self._version: object = -1
        self._scrollback: list[str] = []
        self._mode_lines: list[str] = []
        self._cache: dict[int, Strip] = {}
        self.matches: list[tuple[int, int, int]] = []
        """Search matches: (line, start, end), oldest first."""
        self.current_match = -1
        self._last_render_error = ""
        self._base_style: Style | None = None

    # -- which vc ------------------------------------------------------------------

    @property
    def vc(self) -> VcChardev | None:
        vc = self._vc
        return vc if vc is not None and not vc.closed else None

    def show(self, vc_id: str | None) -> None:
        """Show the vc ``vc_id`` (or nothing); called again after it was swapped."""
        chardev = self.session.chardevs.find(vc_id) if vc_id else None
        vc = chardev if chardev is not None and chardev.type_name == "vc" else None
        if vc is self._vc and vc_id == self.vc_id:
            return
        self.sizes.release(self._vc, self)
        self.vc_id, self._vc = (vc_id, vc) if vc is not None else (None, None)
        self.typing = self.typing and vc is not None
        self.live, self._version = True, -1
        self.matches, self.current_match = [], -1
        self._want_size()
        self._update()
        if vc is not None:
            self.modes.follow(vc)
            self.run_worker(self._follow(vc), exclusive=True, group="follow")
        else:
            self.workers.cancel_group(self, "follow")

    async def _follow(self, vc: VcChardev) -> None:
        """Redraw when the screen changed, never faster than the frame rate."""
        loop = asyncio.get_running_loop()
        while not vc.closed:
            if self._content_version() == self._version:
                await vc.screen_changed.wait()
            drawn = loop.time()
            self._update()
            # Paced from this frame's start: time the loop spent elsewhere
            # (drawing, the feeder) must not stretch every frame further.
            await asyncio.sleep(max(0.0, drawn + FRAME_SECONDS - loop.time()))

    def on_resize(self, event: events.Resize) -> None:
        self._want_size()
        self._update(force=True)

    def on_unmount(self) -> None:
        self.sizes.release(self._vc, self)

    def sized(self) -> bool:
        """Whether the vc shown has the size of this view (or keeps its own)."""
        vc = self.vc
        if vc is None or not self.scrollable_size.area:
            return False
        fixed = vc.options.cols is not None or vc.options.rows is not None
        return fixed or vc.size == tuple(self.scrollable_size)

    def _want_size(self) -> None:
        vc, (width, height) = self.vc, self.scrollable_size  # without the scrollbar: every column shows
        if vc is not None and width and height:
            before = vc.size
            self.sizes.want(vc, self, (width, height))
            if vc.size != before:
                self.post_message(self.Resized())

    # -- content -------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The display mode: ``screen`` (the vc itself), ``timestamps`` or ``hex``."""
        return self.modes.mode(self.vc_id)

    def _content_version(self) -> object:
        log = self.modes.logs.get(self.vc_id or "")
        vc = self.vc
        return (vc.version if vc is not None else None, self.mode, log.version if log else None)

    def set_mode(self, mode: str) -> None:
        """Show this console in ``mode`` (display only: nothing sent anywhere changes)."""
        vc = self.vc
        if vc is None:
            return
        self.modes.set(vc, mode)
        self.live = True
        self.matches, self.current_match = [], -1
        self._update(force=True)

    def _update(self, force: bool = False) -> None:
        vc = self.vc
        if vc is None:
            self._scrollback, self._mode_lines, self._cache = [], [], {}
            self.virtual_size = self.size
            self.refresh()
            return
        version = self._content_version()
        if version == self._version and not force:
            return
        self._version = version
        self._cache.clear()
        if self.mode != "screen":
            log = self.modes.logs[vc.label]
            self._mode_lines = log.text_lines(self.mode)
            width = max((len(line) for line in self._mode_lines), default=0)
            self.virtual_size = Size(max(width, 1), len(self._mode_lines))
        else:
            self._scrollback = vc.scrollback()
            cols, rows = vc.size
            self.virtual_size = Size(cols, len(self._scrollback) + rows)
        if self.live:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            # A new virtual size may only count once laid out: a burst that made the
            # scrollback, then quiet, must not leave the view at the top.
            self.call_after_refresh(self._keep_live)
        self.refresh()

    def _keep_live(self) -> None:
        if self.live and self.scroll_y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def all_lines(self) -> list[str]:
        """Scrollback then screen (or the display mode's lines), as text: what search and copy see."""
        vc = self.vc
        if vc is None:
            return []
        return list(self._mode_lines) if self.mode != "screen" else self._scrollback + vc.lines()

    def notify_style_update(self) -> None:
        # A theme change restyles the view: the cached lines hold the old default colours.
        super().notify_style_update()
        self._cache.clear()
        self._base_style = None

    @property
    def base_style(self) -> Style:
        """The view's own style, kept until its CSS changes: Textual recomputes
        ``rich_style`` from every ancestor on each call, a third of a line's cost."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_size.width
        strip = self._cache.get(index)
        if strip is None:
            try:
                strip = self._line(index)
            except Exception as err:  # noqa: BLE001 -- one bad line must not stop the app drawing
                strip = self._render_error(err)
            self._cache[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.base_style).apply_offsets(
            scroll_x, index)

    def _line(self, index: int) -> Strip:
        vc, base = self.vc, self.base_style
        if vc is None:
            return Strip.blank(0, base)
        in_scrollback = len(self._scrollback)
        text = Text(no_wrap=True, overflow="crop")
        if self.mode != "screen":
            if index >= len(self._mode_lines):
                return Strip.blank(0, base)
            line = self._mode_lines[index]
            split = line.find("] ") + 1 if self.mode == "timestamps" else 8
            text.append(line[:split], base + Style(dim=True))
            text.append(line[split:], base)
        elif index < in_scrollback:
            self._scrollback_line(text, vc, index)
        elif index < in_scrollback + vc.size[1]:
            row = index - in_scrollback
            runs = vc.line_runs(row)
            cx, cy = vc.cursor
            if row == cy and vc.cursor_visible and self.live:
                runs = with_cursor(runs, cx)
            for part, pen in runs:
                if part:
                    text.append(part, base + (pen if isinstance(pen, Style) else pen_style(pen)))
        else:
            return Strip.blank(0, base)
        self._highlight(text, index)
        return Strip(text.render(self.app.console), text.cell_len)

    def _scrollback_line(self, text: Text, vc: VcChardev, index: int) -> None:
        """Scrollback line ``index`` in its colours.  The text is the one taken
        at the last update (search and copy use it); runs that no longer match
        it (more lines scrolled off since) draw it plain until the next update."""
        line, base = self._scrollback[index], self.base_style
        runs = vc.scrollback_runs(index, index + 1)
        if not runs or "".join(part for part, _ in runs[0]) != line:
            text.append(line, base)
            return
        for part, pen in runs[0]:
            text.append(part, base + pen_style(pen))

    def _render_error(self, err: Exception) -> Strip:
        text = f"render error: {describe_exception(err)}"
        if text != self._last_render_error:  # logged once per kind, not per line and frame
            self._last_render_error = text
            self.log.error(f"console '{self.vc_id}': {text}")
        return Strip(Text(text, style="bold red").render(self.app.console), len(text))

    def _highlight(self, text: Text, index: int) -> None:
        for number, (line, start, end) in enumerate(self.matches):
            if line == index:
                name = "terminal--current-match" if number == self.current_match else "terminal--match"
                text.stylize(self.get_component_rich_style(name), start, end)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(text) if end == -1 else end)

    # -- selection and copy (Textual's) ------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(line.rstrip() for line in self.all_lines())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()

    # -- scrolling -------------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.live = new >= self.max_scroll_y
        self._cache.clear()  # the cursor shows only when live

    def action_page(self, direction: int) -> None:
        self.scroll_to(y=self.scroll_y + direction * max(1, self.size.height - 1), animate=False)

    def action_live(self) -> None:
        self.live = True
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self._cache.clear()
        self.refresh()

    # -- search ------------------------------------------------------------------------

    def action_search(self) -> None:
        if self.vc is not None:
            self.post_message(self.SearchWanted())

    def search(self, query: str) -> int:
        """Find ``query`` (any case) and show the newest match; returns how many."""
        self.matches, self.current_match = [], -1
        if query:
            pattern = re.compile(re.escape(query), re.IGNORECASE)
            for line, text in enumerate(self.all_lines()):
                self.matches += [(line, m.start(), m.end()) for m in pattern.finditer(text)]
        if self.matches:
            self._go_to_match(len(self.matches) - 1)
        self._cache.clear()
        self.refresh()
        return len(self.matches)

    def next_match(self, step: int) -> None:
        """Go to the match ``step`` away (-1: older, +1: newer), wrapping around."""
        if self.matches:
            self._go_to_match((self.current_match + step) % len(self.matches))

    def _go_to_match(self, number: int) -> None:
        self.current_match = number
        line = self.matches[number][0]
        self.scroll_to(y=max(0, line - self.size.height // 2), animate=False, immediate=True)
        self.live = self.scroll_y >= self.max_scroll_y
        self._cache.clear()
        self.refresh()

    def clear_search(self) -> None:
        self.matches, self.current_match = [], -1
        self._cache.clear()
        self.refresh()

    # -- typing ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing only Ctrl+] is tuicon's (and the footer says so); otherwise it is hidden.
        if action == "stop_typing":
            return self.typing
        return not self.typing

    def action_type(self) -> None:
        if self.vc is not None:
            self.typing = True

    def action_stop_typing(self) -> None:
        self.typing = False

    def watch_typing(self, typing: bool) -> None:
        self.set_class(typing, "typing")
        self.post_message(self.TypingChanged(self))
        if self.is_mounted:
            self.app.refresh_bindings()

    async def on_key(self, event: events.Key) -> None:
        if not self.typing:
            if event.key == "enter" and self.vc is not None:
                # Here, not as a binding: bindings run once the key has bubbled up to
                # the app, after the keys typed right behind it were handled untyped.
                event.stop()
                event.prevent_default()
                self.typing = True
            return
        event.stop()
        event.prevent_default()
        if event.key == STOP_TYPING:
            self.typing = False
            return
        if event.key in ("shift+pageup", "shift+pagedown"):
            self.action_page(-1 if event.key == "shift+pageup" else 1)
            return
        vc = self.vc
        data = key_bytes(event, vc) if vc is not None else None
        if data and vc is not None:
            vc.send_input(data)
            if not self.live:
                self.action_live()

    def on_paste(self, event: events.Paste) -> None:
        vc = self.vc
        if not self.typing or vc is None:
            return
        event.stop()
        vc.send_input(paste_bytes(event.text, vc))

    def on_blur(self) -> None:
        self.typing = False

    def describe(self) -> dict[str, Any]:
        """For tests and the status bar: what is shown, and where."""
        return {"vc": self.vc_id, "live": self.live, "typing": self.typing,
                "size": self.vc.size if self.vc is not None else None}

