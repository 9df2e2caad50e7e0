"""The full-screen app: one pane per chardev, keys for everything, forms for changes.

The app owns a :class:`~tuicon.session.Session` and acts only through its
managers; it listens to the chardev manager, so a change made elsewhere (a
QMP client) shows at once.  Drawing is coalesced: a 30 fps timer redraws
the panes whose content changed, however fast the data comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import sys
import time
import tomllib
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App, AutopilotCallbackType, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Footer, Header

from ..chardev import ChardevError
from ..chardev.manager import ManagerEvent
from ..chardev.options import shown
from ..profiles import ProfileError, ProfileStore, profile_of
from ..session import Session, Step, make_private_directory, state_directory
from .forms import BackendForm, BridgeForm, ConfirmScreen, NameForm
from .help import HelpScreen
from .panes import ChardevPane
from .settings import Settings

FRAME_SECONDS = 1 / 30
PANE_WIDTH, MIN_PANE_WIDTH, MIN_PANE_HEIGHT = 40, 20, 4
PALETTE = {
    "add": ("Add a chardev", "a: pick a backend type and its options"),
    "change": ("Swap the selected chardev's backend", "c: hot-swap, the frontend stays"),
    "remove": ("Remove the selected chardev", "d: asks first; refused while in use"),
    "bridge": ("Wire a bridge", "w: join two chardevs both ways"),
    "send_break": ("Send BREAK", "b: to the selected chardev's frontend"),
    "timestamps": ("Toggle timestamps", "t: on the selected mux"),
    "save_profile": ("Save the session as a profile", "s"),
    "open_profile": ("Open a profile", "o: replaces the session"),
    "toggle_theme": ("Toggle dark / light theme", "T: remembered for next time"),
    "type": ("Type into the selected console", "Enter; Ctrl+] stops"),
    "help": ("Keys and help", "?"),
}
THEMES_DIR = Path(__file__).resolve().parent / "themes"
DARK, LIGHT = "tuicon-dark", "tuicon-light"


def load_themes(directory: Path = THEMES_DIR) -> list[Theme]:
    """The themes shipped in ``tuicon/ui/themes/`` (TOML files of Textual theme fields)."""
    themes = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as f:
            themes.append(Theme(**tomllib.load(f)))
    return themes


class TuiconApp(App[int]):
    CSS_PATH = "tuicon.tcss"
    TITLE = "tuicon"
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("c", "change", "Swap"),
        Binding("d", "remove", "Remove"),
        Binding("w", "bridge", "Bridge"),
        Binding("b", "send_break", "Break"),
        Binding("t", "timestamps", "Stamps"),
        Binding("s", "save_profile", "Save"),
        Binding("o", "open_profile", "Open"),
        Binding("T", "toggle_theme", "Theme", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
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
        self._unsubscribe = None
        self._dirty_panes = True

    # -- start and stop ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Grid(id="panes")
        yield Footer()

    async def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        wanted = self.ui_state.get("theme") or self.settings.load().get("theme") or DARK
        self.theme = wanted if wanted in self.available_themes else DARK
        self.startup_error = await self._start_session(self.steps)
        if self.startup_error:
            await self._close_session(save=False)
            self.exit(1, return_code=1)
            return
        await self.sync_panes()
        self.set_interval(FRAME_SECONDS, self._frame)
        self.set_interval(self.rate_seconds, self._sample_rates)
        self._focus_first_vc()

    async def _start_session(self, steps: Sequence[Step]) -> str | None:
        """Listen to the session, then build it; returns the engine's error, if any."""
        self.session.on_quit(lambda reason: self.call_later(self.action_quit, True))
        self._unsubscribe = self.session.chardevs.subscribe(self._on_manager_event)
        try:
            await self.session.apply(steps)
        except ChardevError as err:
            return str(err)
        return None

    def _focus_first_vc(self) -> None:
        panes = list(self.query(ChardevPane))
        first = next((p for p in panes if p.is_vc), panes[0] if panes else None)
        if first is not None:
            first.focus()

    def watch_theme(self, theme: str) -> None:
        if theme in (DARK, LIGHT):
            self.settings.save(theme=theme)

    async def _close_session(self, *, save: bool) -> None:
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

    def current_ui(self) -> dict[str, Any]:
        return {"theme": self.theme,
                "pane-order": [p.chardev_id for p in self.query(ChardevPane)]}

    # -- panes ---------------------------------------------------------------------------

    def _on_manager_event(self, event: ManagerEvent) -> None:
        if event.kind in ("added", "removed"):
            self._dirty_panes = True

    async def sync_panes(self) -> None:
        """One pane per chardev, in the manager's order (or the profile's pane order)."""
        self._dirty_panes = False
        grid = self.query_one("#panes", Grid)
        ids = self._ordered_ids()
        shown = {p.chardev_id: p for p in self.query(ChardevPane)}
        for chardev_id, pane in shown.items():
            if chardev_id not in ids:
                await pane.remove()
        new = [ChardevPane(self.session, i) for i in ids if i not in shown]
        if new:
            await grid.mount_all(new)
        self._layout_grid(len(ids))
        for pane in self.query(ChardevPane):
            pane.tick()
        if self.focused is None:
            self._focus_first_vc()

    def _ordered_ids(self) -> list[str]:
        ids = self.session.chardevs.ids()
        order = [i for i in self.ui_state.get("pane-order", []) if i in ids]
        return order + [i for i in ids if i not in order]

    def _layout_grid(self, count: int) -> None:
        grid = self.query_one("#panes", Grid)
        width = self.size.width or 80
        height = max(1, (self.size.height or 24) - 2)  # less header and footer
        columns = max(1, min(count, width // PANE_WIDTH, 4))
        # Many panes on a small terminal: narrower panes beat panes with no room
        # for a line of status inside their border.
        while (columns < min(count, width // MIN_PANE_WIDTH)
               and math.ceil(count / columns) * MIN_PANE_HEIGHT > height):
            columns += 1
        rows = max(1, math.ceil(count / columns))
        grid.styles.grid_size_columns = columns
        grid.styles.grid_size_rows = rows

    def on_resize(self) -> None:
        self._layout_grid(len(self.query(ChardevPane)))

    async def _frame(self) -> None:
        if self._dirty_panes:
            await self.sync_panes()
        for pane in self.query(ChardevPane):
            pane.tick()

    def _sample_rates(self) -> None:
        for pane in self.query(ChardevPane):
            pane.sample_rates()

    def selected(self) -> ChardevPane | None:
        focused = self.focused
        return focused if isinstance(focused, ChardevPane) else None

    def typing(self) -> bool:
        pane = self.selected()
        return pane is not None and pane.typing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing into a console every key is the console's, Ctrl+Q and Ctrl+P too.
        return not self.typing()

    # -- actions -------------------------------------------------------------------------

    def action_type(self) -> None:
        pane = self.selected()
        if pane is None or not pane.start_typing():
            self.notify("Enter types into a vc pane; select one with Tab", severity="warning")

    def action_add(self) -> None:
        self.push_screen(BackendForm(self.session), self._after_form)

    def action_change(self) -> None:
        pane = self.selected()
        if pane is None or pane.chardev is None:
            return
        if pane.chardev.is_multiplexer:
            self.notify("For mux or hub device hotswap is not supported yet: swap its members",
                        severity="error")
            return
        self.push_screen(BackendForm(self.session, chardev_id=pane.chardev_id), self._after_form)

    def _after_form(self, result: str | None) -> None:
        if result:
            self.notify(f"done: {result}")
            self._dirty_panes = True

    def action_bridge(self) -> None:
        pane = self.selected()
        self.push_screen(BridgeForm(self.session, pane.chardev_id if pane else None),
                         lambda device: device and self.notify(f"bridge '{device}' wired"))

    def action_remove(self) -> None:
        pane = self.selected()
        if pane is None:
            return
        chardev_id = pane.chardev_id

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            chardev = self.session.chardevs.find(chardev_id)
            users = ", ".join(fe.owner for fe in chardev.frontends()) if chardev else ""
            try:
                await self.session.chardevs.remove(chardev_id)
            except ChardevError as err:
                self.notify(f"{err}: it is used by {users}; remove or detach that first",
                            title="Not removed", severity="error", timeout=8)
                return
            self.notify(f"removed '{chardev_id}'")

        self.push_screen(ConfirmScreen(f"Remove chardev '{chardev_id}'?"), answered)

    def action_send_break(self) -> None:
        pane = self.selected()
        if pane is not None:
            self.session.chardevs.send_break(pane.chardev_id)
            self.notify(f"BREAK sent to '{pane.chardev_id}'")

    def action_timestamps(self) -> None:
        pane = self.selected()
        chardev = pane.chardev if pane else None
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

        async def open_(name: str | None) -> None:
            if name:
                await self.open_profile(name)

        self.push_screen(NameForm("Open a profile (replaces the session)", names, pick=True), open_)

    async def open_profile(self, name: str) -> None:
        try:
            profile = self.store.load(name)
        except ProfileError as err:
            self.notify(str(err), title="Not opened", severity="error", timeout=10)
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.session.close()
        self.session = Session()
        self.ui_state = profile.ui
        for pane in self.query(ChardevPane):
            await pane.remove()
        error = await self._start_session(profile.steps)
        if error:
            self.notify(f"profile '{name}': {error}", severity="error", timeout=10)
        if profile.ui.get("theme") in self.available_themes:
            self.theme = profile.ui["theme"]
        await self.sync_panes()
        self.notify(f"opened profile '{name}'")

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self, confirmed: bool = False) -> None:
        open_consoles = [i.label for i in self.session.chardevs.query() if i.be_open]
        if open_consoles and not confirmed:
            async def answered(yes: bool | None) -> None:
                if yes:
                    await self.action_quit(True)

            self.push_screen(ConfirmScreen(
                f"Quit? {len(open_consoles)} consoles are open ({', '.join(open_consoles[:4])}"
                f"{', ...' if len(open_consoles) > 4 else ''})"), answered)
            return
        await self._close_session(save=True)
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
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
