"""The full-screen app: the console you work in, every chardev beside it, keys for everything.

The app owns a :class:`~tuicon.session.Session` and acts only through its
managers; it listens to the chardev manager, so a change made elsewhere (a
QMP client, a device unplugged) shows at once, as a card's colour, a toast
and a line under the console it concerns.  Nothing is polled per frame:
the views (:mod:`tuicon.ui.main_view`) redraw what an engine event names,
a console redraws when its screen changes, and a slow timer refreshes the
byte counters.

No key or form handler waits for the engine: building the session, adds,
swaps, removes, bridges and profile opens run as Textual workers, with
their progress shown, and Escape cancels them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App, AutopilotCallbackType, ComposeResult, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.worker import Worker, WorkerCancelled, WorkerFailed, active_worker

from .. import targets
from ..chardev import ChardevError
from ..chardev.manager import ManagerEvent
from ..chardev.options import shown
from ..profiles import ProfileError, ProfileStore, profile_of
from ..session import Session, Step, default_log_path, make_private_directory, state_directory
from .forms import (BackendForm, BridgeForm, ConfirmScreen, EngineProgress, NameForm, PortRows, Progress,
                    TypePicker, note, run_job, worker_busy)
from .clients_screen import ClientsScreen
from .footer import KeysFooter
from .goto import GoToChardev
from .help import HelpScreen
from .main_view import VIEWS, MainView
from .terminal import FRAME_SECONDS
from .open_console import Opened, OpenConsoleForm
from .panes import ChardevPane
from .serial_form import SerialForm
from .settings import Settings
from .status import event_text
from .theming import TuiconTheme, ansi_theme_for, read_theme
from .wiring import console_of
from .wiring_screen import WiringScreen, removal_plan, run_plan

SYNC_SECONDS = 0.05
"""Additions and removals within this are shown together."""
SIZE_WAIT_SECONDS = 1.0
"""At start-up, how long the first console may take to get its view's size."""
ANY_SCREEN_ACTIONS = {"quit", "help_quit", "command_palette", "suspend_process"}
"""Actions that also work while a form or the help is on top (the rest act on panes)."""
TOASTED = ("opened", "closed", "changed", "error", "members")
"""Engine events worth a notification (the rest only redraw)."""
PALETTE = {
    "open_console": ("Open a console", "O: on a serial port or a socket, as `tuicon TARGET`"),
    "add": ("Add a chardev", "a: pick a backend type and its options"),
    "change": ("Swap the selected chardev's backend", "c: hot-swap, the frontend stays"),
    "remove": ("Remove the selected chardev", "d: asks first, saying what it frees first"),
    "bridge": ("Wire a bridge", "w: join two chardevs both ways"),
    "wiring": ("Edit the wiring", "W: devices and monitors (remove), mux-be members (detach, attach)"),
    "send_break": ("Send BREAK", "b: to the selected chardev's frontend"),
    "timestamps": ("Toggle timestamps", "t: on the selected mux"),
    "save_profile": ("Save the session as a profile", "s"),
    "open_profile": ("Open a profile", "o: replaces the session"),
    "toggle_theme": ("Toggle dark / light theme", "T: remembered for next time"),
    "type": ("Type into the selected console", "Enter; Ctrl+] stops"),
    "display_mode": ("Display mode of the console: screen, timestamps, hex",
                     "m: display only, nothing sent changes; kept in profiles"),
    "clients": ("Clients of the selected socket server", "k: who is connected; hand over the write role"),
    "line_settings": ("Line settings of the selected serial port", "l: speed, parity, DTR/RTS, break, live"),
    "toggle_view": ("Switch between the console view and the grid", "v: remembered in profiles"),
    "zoom": ("Zoom the console (nothing else on screen)", "z: again to restore"),
    "filter": ("Filter the chardevs by id, type or state", "/"),
    "help": ("Keys and help", "?"),
}
THEMES_DIR = Path(__file__).resolve().parent / "themes"
DARK, LIGHT = "tuicon-dark", "tuicon-light"


def load_themes(directory: Path = THEMES_DIR) -> list[TuiconTheme]:
    """The themes shipped in ``tuicon/ui/themes/`` (Textual theme fields and a vc palette)."""
    return [read_theme(path) for path in sorted(directory.glob("*.toml"))]


class Palette(CommandPalette):
    """Textual's command palette, without the crashes keys found in it (Textual 8.2).

    PageUp/PageDown raise ``KeyError`` when the list has just appeared and is
    not laid out yet; a second Enter or Escape arriving while the palette is
    already closing dismisses it twice (``InvalidStateError``) and would run
    the command twice; and a dismissal while another screen is on top (the
    quit question, asked by Ctrl+Q) pops that screen instead; and a search
    started by keys that arrive while it closes fails (``NoMatches``).  A key
    must never end the app, nor leave a palette that cannot be closed.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._palette_closed: AwaitComplete | None = None

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except (KeyError, IndexError):
            pass  # nothing to page through yet

    def _select_or_command(self, event: Any = None) -> None:
        if self._palette_closed is None and self.is_active:
            super()._select_or_command(event)

    def _action_escape(self) -> None:
        if self._palette_closed is None and self.is_active:
            super()._action_escape()

    # Keys already on their way while it closes must not start a search
    # whose results land in a palette that is gone (NoMatches).

    def _gather_commands(self, search_value: str) -> None:
        if self._palette_closed is None:
            super()._gather_commands(search_value)

    def _refresh_command_list(self, *args: Any, **kwargs: Any) -> None:
        if self._palette_closed is None:
            super()._refresh_command_list(*args, **kwargs)

    def _watch__list_visible(self) -> None:
        if self._palette_closed is None:
            super()._watch__list_visible()

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._palette_closed is None and self.is_active:
            self._palette_closed = super().dismiss(result)
        return self._palette_closed or AwaitComplete()


class TuiconApp(App[int]):
    CSS_PATH = Path(__file__).with_name("tuicon.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "tuicon"
    COMMANDS = App.COMMANDS | {GoToChardev}
    # The footer shows these in order and cuts the rest at 80 columns: help first.
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("v", "toggle_view", "View"),
        Binding("z", "zoom", "Zoom"),
        Binding("slash", "filter", "Filter"),
        Binding("a", "add", "Add"),
        Binding("c", "change", "Swap"),
        Binding("d", "remove", "Remove"),
        Binding("w", "bridge", "Bridge"),
        Binding("O", "open_console", "Console", show=False),
        Binding("W", "wiring", "Wiring", show=False),
        Binding("b", "send_break", "Break", show=False),
        Binding("m", "display_mode", "Mode", show=False),
        Binding("k", "clients", "Clients", show=False),
        Binding("l", "line_settings", "Line", show=False),
        Binding("t", "timestamps", "Stamps", show=False),
        Binding("s", "save_profile", "Save", show=False),
        Binding("o", "open_profile", "Open", show=False),
        Binding("T", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),
        Binding("escape", "cancel_job", "Cancel", show=False),
        # Stopping the process stops every console it relays: ask first.
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
        Binding("enter", "console_here", "Open console"),  # only on a chardev no console shows
        Binding("enter", "type", "Type", show=False),
        Binding("right,down", "app.focus_next", "Next", show=False),
        Binding("left,up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self, steps: Sequence[Step] = (), *, session: Session | None = None,
                 store: ProfileStore | None = None, settings: Settings | None = None,
                 ui: dict[str, Any] | None = None, rate_seconds: float = 1.0) -> None:
        super().__init__()
        self.rate_seconds = rate_seconds
        self.steps = list(steps)
        self.session = session or Session()
        self._own_session = session is None
        self.store = store or ProfileStore()
        self.settings = settings or Settings()
        self.ui_state = dict(ui or {})
        self.startup_error: str | None = None
        self.started = asyncio.Event()
        """Set once start-up has ended (built, failed or cancelled)."""
        self._unsubscribe: Callable[[], None] | None = None
        self._dirty_panes = False
        """A sync of the cards and panes is scheduled (chardevs came or went)."""
        self.main = MainView(self.session, id="main")
        self.main.order = list(self.ui_state.get("pane-order", []))
        self.progress = Progress(id="progress", classes="progress")
        self._job: Worker[None] | None = None
        self._complete = False  # every step of the session was built
        self._built = 0  # steps of the session built so far
        self._saved_level = logging.NOTSET
        self._session_closed = False
        self._engine_log = EngineProgress()

    # -- start and stop ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.main
        yield self.progress
        yield KeysFooter()

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        wanted = self.ui_state.get("theme") or self.settings.load().get("theme") or DARK
        self.theme = wanted if wanted in self.available_themes else DARK
        self._listen_to_engine(True)
        self.set_interval(self.rate_seconds, self.main.tick)
        # The app is up before the session is: a server with wait=on may wait
        # for its client a long time, and the keys must work meanwhile.
        self.start_job("Starting", self._start_up, self._startup_cancelled)

    def _listen_to_engine(self, on: bool) -> None:
        """Show the engine's progress lines (INFO and up) in the job that caused them."""
        engine = logging.getLogger("tuicon")
        if on:
            self._saved_level = engine.level
            if not engine.isEnabledFor(logging.INFO):
                engine.setLevel(logging.INFO)
            engine.addHandler(self._engine_log)
        else:
            engine.removeHandler(self._engine_log)
            engine.setLevel(self._saved_level)

    async def _start_up(self) -> None:
        try:
            self.startup_error = await self._start_session(self.steps)
            if self.startup_error:
                await self._close_session(save=False)
                self.exit(1, return_code=1)
                return
            await self.sync_panes()
            self._choose_view()
            self.main.restore_display_modes(self.ui_state.get("display", {}))
            if not self.typing():
                self._focus_first_vc()
        finally:
            self.started.set()  # once what start-up shows is shown (or it failed)

    def _startup_cancelled(self) -> str:
        return (f"start-up cancelled: {self._built} of {len(self.steps)} steps built,"
                " the rest was not (the last session is kept as it was)")

    async def _start_session(self, steps: Sequence[Step]) -> str | None:
        """Listen to the session, then build it step by step; returns the engine's error, if any."""
        self.session.on_quit(lambda reason: self.call_later(self.action_quit, True))
        self._unsubscribe = self.session.chardevs.subscribe(self._on_manager_event)
        self._complete = False
        self._built = 0
        console_shown = False
        for kind, argument in steps:
            note(f"Starting ({self._built + 1}/{len(steps)}): -{kind} {argument}…")
            try:
                await self.session.apply([(kind, argument)])
            except ChardevError as err:
                return str(err)
            self._built += 1
            if not console_shown:
                console_shown = await self._show_first_console()
        self._complete = True
        return None

    async def _show_first_console(self) -> bool:
        """Once the first vc exists, show it, so that it has its view's size before the rest is built.

        A device or a board starts writing as soon as it is wired: what it writes
        into a vc still at its default 80x24 would be cut when the vc shrinks to
        its view (a screen model crops, it does not re-wrap).  True once done.
        """
        chardevs = self.session.chardevs
        if not any(chardevs.get(i).type_name == "vc" for i in chardevs.ids()):
            return False
        if self.ui_state.get("view", "console") != "console" or not self.main.ready:
            return True  # no console view to size it by (yet): it is sized when shown
        await self.main.sync()
        self.main.view = "console"
        self._focus_first_vc()
        view = self.main.terminal
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SIZE_WAIT_SECONDS
        # The view's size comes from Textual's next layout: wait for it, a bounded while.
        while loop.time() < deadline and not view.sized():
            await asyncio.sleep(FRAME_SECONDS)
        return True

    def _focus_first_vc(self) -> None:
        self.main.focus_home()

    def _choose_view(self) -> None:
        """The profile's view, else the console view whenever there is a vc."""
        wanted = self.ui_state.get("view")
        if wanted not in VIEWS:
            has_vc = any(i.type == "vc" for i in self.session.chardevs.query())
            wanted = "console" if has_vc else "grid"
        self.main.view = wanted

    def watch_theme(self, theme: str) -> None:
        # The vc's ANSI colours follow the theme: Textual maps them through this palette.
        current = self.current_theme
        palette = ansi_theme_for(current, self.get_theme(DARK if current.dark else LIGHT))
        if palette is not None:
            if current.dark:
                self.ansi_theme_dark = palette
            else:
                self.ansi_theme_light = palette
        if theme in (DARK, LIGHT):
            self.settings.save(theme=theme)

    async def _close_session(self, *, save: bool) -> None:
        if self._session_closed:
            return
        self._session_closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if save:
            try:
                self.store.save_last_session(profile_of(self.session, self.current_ui()))
            except (OSError, ProfileError) as err:
                self.log.warning(f"last session not saved: {err}")
        if self._own_session:
            await self.session.close()

    async def on_unmount(self) -> None:
        # Whatever ended the app, nothing it opened stays open; after a crash
        # the session it had is still saved as the last session.
        crashed = getattr(self, "_exception", None) is not None
        await self._cancel_jobs()
        await self._close_session(save=crashed and self._complete)
        self._listen_to_engine(False)

    async def _cancel_jobs(self) -> None:
        """Cancel every running worker and wait until each has cleaned up."""
        me = active_worker.get(None)
        running = [w for w in self.workers if not w.is_finished and w is not me]
        for worker in running:
            worker.cancel()
        for worker in running:
            with contextlib.suppress(WorkerCancelled, WorkerFailed, asyncio.CancelledError):
                await worker.wait()

    def current_ui(self) -> dict[str, Any]:
        ui: dict[str, Any] = {"theme": self.theme, "pane-order": self.main._ordered_ids(),
                              "view": self.main.view}
        if self.main.modes.modes:
            ui["display"] = dict(self.main.modes.modes)
        return ui

    # -- background jobs -------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A job of the app's own (start-up, a profile opening, a removal) is running."""
        return worker_busy(self._job)

    def start_job(self, text: str, work: Callable[[], Awaitable[Any]],
                  cancelled: str | Callable[[], str]) -> bool:
        """Run ``work`` as a worker with its progress shown; one such job at a time."""
        if self.busy:
            self.notify("Busy with the job shown at the bottom; Escape cancels it",
                        severity="warning")
            return False
        self._job = self.run_worker(
            run_job(self.progress, text, work, self._report, cancelled),
            group="app-job", exclusive=True, exit_on_error=False)
        return True

    def _report(self, text: str, severity: str) -> None:
        self.notify(text, severity=severity, timeout=10)  # type: ignore[arg-type]

    def action_cancel_job(self) -> None:
        if self._job is not None and self.busy:
            self._job.cancel()

    # -- panes ---------------------------------------------------------------------------

    def pane_for(self, chardev_id: str) -> ChardevPane | None:
        """The grid pane showing ``chardev_id`` (None if it has none yet)."""
        return self.main.panes.get(chardev_id)

    class EngineChanged(Message):
        """The chardev manager published an event (a chardev added, opened, swapped...)."""

        def __init__(self, event: ManagerEvent) -> None:
            super().__init__()
            self.event = event

    def _on_manager_event(self, event: ManagerEvent) -> None:
        # Called by the engine, maybe deep inside a data path: only post.
        self.post_message(self.EngineChanged(event))

    async def on_tuicon_app_engine_changed(self, message: EngineChanged) -> None:
        if self._session_closed or not self._running:
            return  # the app is ending: its widgets may be gone already
        event = message.event
        if event.kind in ("added", "removed"):
            self._schedule_sync()
        else:
            self.main.chardev_changed(event.chardev_id, event.kind)
        if event.kind in TOASTED or event.kind == "removed":
            self._tell(event)

    def _tell(self, event: ManagerEvent) -> None:
        """A state change worth knowing: a toast, and a line under the console it concerns."""
        text = event_text(self.session, event)
        if text is None:
            return
        console = console_of(self.session, event.chardev_id)
        if console is not None:
            self.main.console.add_note(console, text)
        if self._complete:  # not for every chardev opening while the session is built
            severity = "error" if event.kind == "error" and "working again" not in text else \
                "warning" if event.kind in ("closed", "members") else "information"
            self.notify(text, severity=severity, timeout=6)  # type: ignore[arg-type]

    def _schedule_sync(self) -> None:
        """One sync for a burst of additions (a profile of 256 chardevs), not one each."""
        if not self._dirty_panes:
            self._dirty_panes = True
            self.set_timer(SYNC_SECONDS, self.sync_panes)

    async def sync_panes(self) -> None:
        """A card and a pane per chardev, in the manager's order (or the profile's)."""
        self._dirty_panes = False
        if not self.main.ready:
            self._schedule_sync()  # the views are still being composed: soon
            return
        await self.main.sync()
        if self.screen is self.screen_stack[0] and self.focused is None:
            self._focus_first_vc()

    async def _remove_all_panes(self) -> None:
        await self.main.clear()

    def selected(self) -> str | None:
        """The id of the chardev the user has selected (a card, a pane, the console)."""
        return self.main.selected_id()

    def typing(self) -> bool:
        return self.main.typing()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing into a console every key is the console's, Ctrl+Q and Ctrl+P too.
        if self.typing():
            return False
        # Pane actions wait for the main screen: no form opens on top of a form.
        allowed = action in ANY_SCREEN_ACTIONS or self.screen is self.screen_stack[0]
        if action == "console_here":  # Enter's footer entry says what Enter does here
            return allowed and self._offers_console()
        return allowed

    def _offers_console(self) -> bool:
        """Whether the selection is a chardev that no console shows (Enter offers one)."""
        chardev_id = self.selected()
        return chardev_id is not None and chardev_id in self.session.chardevs \
            and console_of(self.session, chardev_id) is None

    # -- actions -------------------------------------------------------------------------

    serial_ports: PortRows = staticmethod(targets.port_rows)
    """The detected serial ports the forms offer (tests give their own)."""
    console_log_directory: Path | None = None
    """Where a console opened from the app logs by default (None: tuicon's state directory)."""

    def action_console_here(self) -> None:
        self.open_console(self.selected())

    def action_type(self) -> None:
        if self.main.start_typing():
            return
        if self._offers_console():
            self.open_console(self.selected())  # not shown anywhere: offer a console on it
            return
        self.notify("Enter types into a console (a vc); select one with Tab",
                    severity="warning")

    def action_open_console(self) -> None:
        self.open_console(None)

    def open_console(self, chardev_id: str | None) -> None:
        """Ask for a TARGET (or, on ``chardev_id``, only the log) and build a console."""
        directory = self.console_log_directory or default_log_path().parent
        form = OpenConsoleForm(self.session, chardev_id=chardev_id, log_directory=directory,
                               ports=self.serial_ports)
        self.push_screen(form, self._console_opened)

    def _console_opened(self, opened: Opened | None) -> None:
        if opened is None:
            return
        self.notify(opened.text)
        if self.main.view == "grid":
            self.main.view = "console"
        self.call_after_refresh(self._show_console, opened.vc_id)

    def _show_console(self, vc_id: str) -> None:
        if vc_id in self.session.chardevs:
            self.main.select(vc_id)
            self.main.terminal.focus()

    def action_wiring(self) -> None:
        self.push_screen(WiringScreen(self.session))

    def action_toggle_view(self) -> None:
        self.main.toggle_view()

    def action_zoom(self) -> None:
        if not self.main.toggle_zoom():
            self.notify("Zoom shows a console: select one in the console view", severity="warning")

    def go_to(self, chardev_id: str) -> None:
        """Select a chardev (the palette's "go to chardev"): its card or pane gets the focus."""
        if chardev_id not in self.session.chardevs:
            return
        target = self.main.panes.get(chardev_id) if self.main.view == "grid" else \
            self.main.sidebar.cards.get(chardev_id)
        if self.main.view == "console":
            if self.main.sidebar.query_text:
                self.main.sidebar.close_filter()  # a filter could be hiding its card
            self.main.select(chardev_id)
        if target is not None:
            target.focus()

    def action_filter(self) -> None:
        if self.main.view == "grid":
            self.main.view = "console"
        self.main.sidebar.open_filter()

    def action_add(self) -> None:
        def picked(type_name: str | None) -> None:
            if type_name:
                self.push_screen(BackendForm(self.session, type_name=type_name,
                                             ports=self.serial_ports), self._after_form)

        self.push_screen(TypePicker(self.session.chardevs.registry), picked)

    def action_change(self) -> None:
        chardev_id = self.selected()
        chardev = self.session.chardevs.find(chardev_id) if chardev_id else None
        if chardev_id is None or chardev is None:
            self.notify("Select the pane of the chardev to swap first", severity="warning")
            return
        if chardev.is_multiplexer:
            self.notify("For mux or hub device hotswap is not supported yet: swap its members",
                        severity="error")
            return
        self.push_screen(BackendForm(self.session, chardev_id=chardev_id, ports=self.serial_ports),
                         self._after_form)

    def _after_form(self, result: str | None) -> None:
        if result:
            self.notify(result)  # the form's notice, in plain words

    def action_bridge(self) -> None:
        self.push_screen(BridgeForm(self.session, self.selected()),
                         lambda device: device and self.notify(f"Wired bridge {device}"))

    def action_remove(self) -> None:
        chardev_id = self.selected()
        if chardev_id is None or chardev_id not in self.session.chardevs:
            self.notify("Select the pane of the chardev to remove first", severity="warning")
            return
        plan = removal_plan(self.session, chardev_id)
        if plan.blocked:
            self.notify(f"'{chardev_id}' is used by {', '.join(plan.blocked)}, which tuicon cannot"
                        " take away from here", title="Not removed", severity="error", timeout=8)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_job(f"Removing '{chardev_id}'…", lambda: self._remove(chardev_id),
                               f"cancelled: '{chardev_id}' was not removed")

        question = f"Remove chardev '{chardev_id}'?"
        if plan.first:
            question += (f" It is in use, so first: {'; '.join(a.text for a in plan.first)};"
                         " then it is removed.")
        self.ask(question, answered)

    async def _remove(self, chardev_id: str) -> None:
        """Free ``chardev_id`` as the question said (planned again: the wiring may have moved), then remove it."""
        plan = removal_plan(self.session, chardev_id)
        if plan.blocked:
            raise ChardevError(f"'{chardev_id}' is used by {', '.join(plan.blocked)} now; not removed")
        await run_plan(plan)
        before = f" (first: {'; '.join(a.text for a in plan.first)})" if plan.first else ""
        self.notify(f"Removed {chardev_id}{before}")

    def action_send_break(self) -> None:
        chardev_id = self.selected()
        if chardev_id is None:
            return
        try:
            self.session.chardevs.send_break(chardev_id)
        except ChardevError as err:
            self.notify(str(err), severity="error")
            return
        self.notify(f"BREAK sent to '{chardev_id}'")

    def action_display_mode(self) -> None:
        mode = self.main.cycle_display_mode()
        if mode is None:
            self.notify("Display modes are a console's: select one in the console view",
                        severity="warning")

    def action_clients(self) -> None:
        try:
            screen = ClientsScreen.of(self.session, self.selected())
        except ChardevError as err:
            self.notify(str(err), severity="warning")
            return
        self.push_screen(screen)

    def action_line_settings(self) -> None:
        try:
            form = SerialForm.of(self.session, self.selected())
        except ChardevError as err:
            self.notify(str(err), severity="warning")
            return
        self.push_screen(form)

    def action_timestamps(self) -> None:
        chardev_id = self.selected()
        chardev = self.session.chardevs.find(chardev_id) if chardev_id else None
        mux = None
        if chardev is not None and chardev.type_name == "mux":
            mux = chardev
        elif chardev is not None and chardev.label.endswith("-base"):
            mux = self.session.chardevs.find(chardev.label[: -len("-base")])
        if mux is None or mux.type_name != "mux":
            self.notify("Timestamps belong to a mux (mux=on); select one", severity="warning")
            return
        mux.timestamps = not mux.timestamps
        self.notify(f"timestamps {'on' if mux.timestamps else 'off'} for '{mux.label}'")

    def action_save_profile(self) -> None:
        def save(name: str | None) -> None:
            if not name:
                return
            try:
                path = self.store.save(name, profile_of(self.session, self.current_ui()))
            except (ProfileError, OSError) as err:
                self.notify(str(err), title="Not saved", severity="error", timeout=8)
                return
            self.notify(f"saved profile '{name}' to {path}")

        self.push_screen(NameForm("Save the session as a profile", [], pick=False), save)

    def action_open_profile(self) -> None:
        names = self.store.names()
        if not names:
            self.notify(f"no saved profiles in {self.store.directory}", severity="warning")
            return

        def open_(name: str | None) -> None:
            if name:
                self.open_profile(name)

        self.push_screen(NameForm("Open a profile (replaces the session)", names, pick=True), open_)

    def open_profile(self, name: str) -> bool:
        """Replace the session by a saved profile, in the background; False if busy."""
        return self.start_job(f"Opening profile '{name}'…", lambda: self._open_profile(name),
                              lambda: f"opening '{name}' cancelled: {self._built} of its steps built")

    async def _open_profile(self, name: str) -> None:
        try:
            profile = self.store.load(name)
        except ProfileError as err:
            self.notify(str(err), title="Not opened", severity="error", timeout=10)
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._remove_all_panes()
        await self.session.close()
        self.session = Session()
        self.main.use_session(self.session)
        self._own_session = True
        self.ui_state = profile.ui
        self.main.order = list(profile.ui.get("pane-order", []))
        error = await self._start_session(profile.steps)
        if profile.ui.get("theme") in self.available_themes:
            self.theme = profile.ui["theme"]
        await self.sync_panes()
        self._choose_view()
        self.main.restore_display_modes(profile.ui.get("display", {}))
        if error:
            self.notify(f"profile '{name}': {error}", severity="error", timeout=10)
        else:
            self.notify(f"opened profile '{name}'")

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def action_help(self) -> None:
        # One help screen, built once: its Markdown is slow to lay out.
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), name="help")
        if self.get_screen("help") not in self.screen_stack:
            self.push_screen("help")

    def open_consoles(self) -> list[str]:
        """Chardevs whose backend is open (Ctrl+Z stops every one of them)."""
        return [i.label for i in self.session.chardevs.query() if i.be_open]

    def quit_reasons(self) -> list[str]:
        """Why quitting would cut someone off: a connected client, a pty's peer, typing."""
        reasons = []
        if self.main.terminal.typing or self.typing():
            reasons.append("a console is being typed into")
        for info in self.session.chardevs.query():
            clients = info.extra.get("clients") or []
            if info.type == "socket" and info.extra.get("server") and clients:
                reasons.append(f"{info.label} has {len(clients)} client{'s' * (len(clients) > 1)}"
                               " connected")
            elif info.type == "pty" and info.be_open:
                reasons.append(f"{info.label}: a program has {info.extra.get('device', 'the pty')} open")
        return reasons

    def _consoles_text(self) -> str:
        names = self.open_consoles()
        return (f"{len(names)} consoles are open ({', '.join(names[:4])}"
                f"{', ...' if len(names) > 4 else ''})")

    async def action_quit(self, confirmed: bool = False) -> None:
        """Quit; ask first only if it cuts someone off (an open vc or log file does not count)."""
        reasons = [] if confirmed else self.quit_reasons()
        if reasons:
            async def answered(yes: bool | None) -> None:
                if yes:
                    await self.quit_now()

            more = f" and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            self.ask(f"Quit? {'; '.join(reasons[:3])}{more}: quitting disconnects them", answered)
            return
        await self.quit_now()

    async def quit_now(self) -> None:
        """Stop what runs, save the last session (if it was built whole) and exit."""
        await self._cancel_jobs()
        await self._close_session(save=self._complete)
        self.exit(0)

    def action_suspend_process(self) -> None:
        if not self.open_consoles():
            super().action_suspend_process()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                super(TuiconApp, self).action_suspend_process()

        self.ask(f"Suspend tuicon? {self._consoles_text()}; they stop until it is resumed (fg)",
                 answered)

    def action_command_palette(self) -> None:
        # One palette at a time, even under a question asked on top of it; no
        # widget id, as the last one may still be unmounting when Ctrl+P comes.
        self._open_palette()

    def search_themes(self) -> None:
        self._open_palette(providers=[ThemeProvider], placeholder="Search for themes…")

    def _open_palette(self, **options: Any) -> None:
        if not any(isinstance(s, CommandPalette) for s in self.screen_stack):
            self.push_screen(Palette(**options))

    def ask(self, question: str, answered: Callable[[bool | None], Any]) -> None:
        """Ask a yes/no question, unless one is being asked already."""
        if not isinstance(self.screen, ConfirmScreen):
            self.push_screen(ConfirmScreen(question), answered)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return  # pane actions act on the main screen, not on top of a form
        for action, (title, help_text) in PALETTE.items():
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))


def run_app(steps: Sequence[Step], *, ui: dict[str, Any] | None = None,
            auto_pilot: AutopilotCallbackType | None = None, headless: bool = False) -> int:
    """Run the app on the given session (and UI state, from a profile); returns the exit status.

    A session that does not build raises ChardevError (the caller reports it).
    If the app crashes, the traceback goes to a file in the state directory,
    one line says where, the last session is saved all the same and the
    status is 1.  ``auto_pilot`` and ``headless`` are Textual's, for tests.
    """
    app = TuiconApp(steps, ui=ui, store=ProfileStore())
    # Textual prints a crash's traceback (with locals) on exit; keep it for the file instead.
    errors = io.StringIO()
    app.error_console = Console(file=errors, markup=False, highlight=False, width=100)
    crash_line = asyncio.run(_run_guarded(app, auto_pilot=auto_pilot, headless=headless))
    problems = [app.store.save_problem, app.settings.error]
    for line in filter(None, [crash_line, *problems]):
        print(f"tuicon: {line}", file=sys.stderr)
    if crash_line is None and errors.getvalue():
        sys.stderr.write(errors.getvalue())
    if crash_line is not None:
        return 1
    if app.startup_error:
        raise ChardevError(app.startup_error)
    return app.return_code or 0


async def _run_guarded(app: TuiconApp, **run: Any) -> str | None:
    """Run the app; after a crash, save the last session and say where the traceback went."""
    try:
        await app.run_async(**run)
    except Exception as err:  # noqa: BLE001 -- an auto-pilot's failure is a crash too
        crash: BaseException | None = err
    else:
        # Textual keeps the exception that ended the app here (pytest re-raises it from it).
        crash = getattr(app, "_exception", None)
    if crash is None:
        return None
    if not app.startup_error and len(app.session.chardevs):
        ui = {**app.ui_state, "theme": app.theme}
        with contextlib.suppress(ProfileError):  # the reason is in save_problem
            app.store.save_last_session(profile_of(app.session, ui))
    await app.session.close()
    return f"the app crashed ({shown(type(crash).__name__)}); {_write_traceback(crash)}"


def _write_traceback(crash: BaseException) -> str:
    """Write the traceback to a new private file in the state directory; says where."""
    text = "".join(traceback.format_exception(crash))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        directory = make_private_directory(state_directory())
        path = directory / f"crash-{stamp}-{os.getpid()}.txt"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(text)
    except (OSError, ChardevError) as err:
        sys.stderr.write(text)
        return f"the traceback is above (it could not be written to a file: {err})"
    return f"traceback written to {path}"
