"""Make the README's screenshots (screenshots/*.svg) from real runs of the app.

    .venv/bin/python scripts/screenshots.py

Each screenshot is taken from the app running headless on the real demo
session (a simulated board on a mux-be with a vc, a log, a TCP share and a
pty), driven with keys as a user would.  Every run gets its own temporary
HOME, so the log path reads ``~/.local/state/...`` and no real path,
profile or setting leaks in; the share's port is a real ephemeral one.
The serial forms are given a fixed list of detected ports for the same
reason.  Every wait is for a condition, bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

# Read when textual is imported or an App is built: either makes every shot
# monochrome or in the wrong theme.
for variable in ("NO_COLOR", "TEXTUAL_THEME"):
    os.environ.pop(variable, None)

from textual.pilot import Pilot  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import OptionList, Select  # noqa: E402

from tuicon.session import default_log_path, default_steps, make_private_directory  # noqa: E402
from tuicon.ui.app import TuiconApp  # noqa: E402
from tuicon.ui.forms import BackendForm, TypePicker  # noqa: E402
from tuicon.ui.open_console import OpenConsoleForm  # noqa: E402
from tuicon.ui.wiring_screen import WiringScreen  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (120, 36)
SMALL = (80, 24)
TIMEOUT = 20.0
"""Seconds any one wait may take before the script gives up (a loaded machine is slow)."""
FLOOD_LINES = 100_000
FAKE_PORTS = [
    ("usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "/dev/ttyUSB0", "FT232R USB UART",
     "0403:6001 A50285BI"),
    ("usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_0001-if00-port0", "/dev/ttyUSB1",
     "CP2102 USB to UART Bridge Controller", "10c4:ea60 0001"),
    ("", "/dev/ttyS0", "", ""),
]
"""The detected serial ports the forms show: fixed, so no machine's own ports leak."""
XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR")


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``TIMEOUT`` seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.contextmanager
def private_home() -> Iterator[Path]:
    """A temporary HOME (no XDG overrides) for one run; the environment is restored after."""
    saved = {name: os.environ.get(name) for name in ("HOME", *XDG)}
    with tempfile.TemporaryDirectory(prefix="tuicon-shots-") as home:
        os.environ["HOME"] = home
        for name in XDG:
            os.environ.pop(name, None)
        try:
            yield Path(home)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class Shot:
    """The demo app under a pilot, and what the shots wait on."""

    def __init__(self, app: TuiconApp, pilot: Pilot[int]) -> None:
        self.app = app
        self.pilot = pilot
        self.board = app.session.devices.get("board")
        self.vc = app.session.chardevs.get("screen")

    def screen_text(self) -> str:
        """What the vc's screen shows now."""
        return "\n".join(self.vc.lines())

    async def settle(self) -> None:
        """Everything written is on the vc's screen and the app has drawn it."""
        await asyncio.wait_for(self.vc.idle(), TIMEOUT)
        await self.pilot.pause()
        await self.pilot.wait_for_scheduled_animations()
        await wait_for(self.counters_shown, "the cards' byte counters")
        await self.pilot.pause(0.3)  # the vc view redraws at most at the frame rate

    def counters_shown(self) -> bool:
        """Every card shows the byte counts the engine has now (they are redrawn once a second)."""
        for card in self.app.main.sidebar.cards.values():
            stats = self.app.session.chardevs.get(card.chardev_id).stats
            if (card._counters or ())[:2] != (stats.bytes_in, stats.bytes_out):
                return False
        return True

    async def prompt(self, commands: int) -> None:
        """The board has run ``commands`` commands and shows its prompt again."""
        await wait_for(lambda: self.board.state == "shell" and self.board.commands == commands
                       and self.screen_text().rstrip().endswith("~#"),
                       f"the board's prompt after {commands} commands")
        await self.settle()

    async def run(self, command: str) -> None:
        """Type ``command`` into the console as a user does: Enter, the text, Enter, Ctrl+]."""
        done = self.board.commands + 1
        await self.pilot.press("enter", *command, "enter", "ctrl+right_square_bracket")
        await self.prompt(done)

    async def screen(self, kind: type[Screen], ready: Callable[[Screen], bool] = lambda s: True,
                     ) -> None:
        """Wait until the app shows a ``kind`` screen for which ``ready`` holds, drawn."""
        await wait_for(lambda: isinstance(self.app.screen, kind) and ready(self.app.screen),
                       kind.__name__)
        await self.pilot.pause()
        await self.pilot.wait_for_scheduled_animations()
        await self.pilot.pause(0.3)

    def save(self, name: str) -> None:
        self.app.save_screenshot(name, str(OUT))
        print(f"  {name}", flush=True)


@contextlib.asynccontextmanager
async def demo(size: tuple[int, int] = SIZE) -> AsyncIterator[Shot]:
    """The demo session as plain ``tuicon`` opens it, in a private HOME, booted to its prompt."""
    with private_home():
        log_path = default_log_path()
        make_private_directory(log_path.parent)
        app = TuiconApp(default_steps(log_path))
        app.serial_ports = lambda: list(FAKE_PORTS)
        async with app.run_test(size=size) as pilot:
            await asyncio.wait_for(app.started.wait(), TIMEOUT)
            if app.startup_error:
                raise RuntimeError(f"the demo did not start: {app.startup_error}")
            shot = Shot(app, pilot)
            await shot.prompt(0)
            try:
                yield shot
            finally:
                await app.action_quit(confirmed=True)


async def main_screens() -> None:
    for size, name in ((SIZE, "main.svg"), (SMALL, "main-80x24.svg")):
        async with demo(size) as shot:
            await shot.run("help")
            shot.save(name)


async def flood() -> None:
    async with demo() as shot:
        await shot.run(f"flood {FLOOD_LINES}")
        log_path = default_log_path()  # the log gets every line, however fast they come
        await wait_for(lambda: log_path.read_bytes().count(b"the lazy dog") == FLOOD_LINES,
                       f"all {FLOOD_LINES} lines in the log")
        await shot.settle()
        shot.save("flood.svg")
        if not shot.vc.jumps:
            print("  (the vc kept up with the flood here: no jump-ahead note to show)")
            return
        # Where the vc jumped ahead it wrote a note into its screen: Ctrl+F finds it.
        await shot.pilot.press("ctrl+f", *"skipped")
        await wait_for(lambda: shot.app.main.terminal.matches, "a jump-ahead note in the scrollback")
        await shot.settle()
        shot.save("flood-search.svg")


async def views() -> None:
    for keys, name in ((["z"], "zoom.svg"), (["v"], "grid.svg"), (["T"], "light.svg")):
        async with demo() as shot:
            await shot.run("help")
            await shot.pilot.press(*keys)
            await shot.settle()
            shot.save(name)
    async with demo() as shot:
        # The hex view shows the bytes that arrive while it is on (screen -> timestamps -> hex).
        await shot.pilot.press("m", "m")
        await wait_for(lambda: shot.app.main.terminal.mode == "hex", "the hex view")
        await shot.run("help")
        shot.save("hex.svg")


async def forms() -> None:
    async with demo() as shot:
        await shot.pilot.press("a")
        await shot.screen(TypePicker)
        shot.save("type-picker.svg")
        await shot.pilot.press("enter")  # the picker starts on serial
        await shot.screen(BackendForm, lambda form: bool(form.query("#ports")))
        await shot.pilot.press(*"ser0")  # the id field has the focus
        ports = shot.app.screen.query_one("#ports", Select)
        ports.focus()
        await shot.pilot.press("enter")  # open the list of detected ports
        await wait_for(lambda: ports.expanded, "the detected ports' list")
        await shot.screen(BackendForm)
        shot.save("add-form.svg")
    async with demo() as shot:
        await shot.pilot.press("O")
        # The detected ports are listed once the form has looked for them.
        await shot.screen(OpenConsoleForm, lambda form: form.query_one("#ports", OptionList)
                          .option_count == len(FAKE_PORTS))
        shot.save("open-console.svg")
    async with demo() as shot:
        await shot.pilot.press("W")
        await shot.screen(WiringScreen)
        shot.save("wiring.svg")


SHOTS = ["main.svg", "main-80x24.svg", "flood.svg", "flood-search.svg", "zoom.svg", "grid.svg",
         "hex.svg", "light.svg", "type-picker.svg", "add-form.svg", "open-console.svg", "wiring.svg"]
"""Every file this script makes; any other screenshots/*.svg is from an app that is gone."""


async def shoot() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.svg"):
        if old.name not in SHOTS:
            old.unlink()
    for step in (main_screens, flood, views, forms):
        await step()
    print(f"wrote {len(SHOTS)} screenshots to {OUT}")


def main() -> None:
    asyncio.run(asyncio.wait_for(shoot(), 10 * 60))  # each wait is bounded; the whole run too


if __name__ == "__main__":
    main()
