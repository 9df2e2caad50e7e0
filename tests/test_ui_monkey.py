"""A monkey at the keyboard: thousands of seeded random keys, and the app must stay alive.

The keys go in through the app's driver, as a terminal would send them, in
bursts of 60 that arrive faster than the app handles them.  After each
burst the app must still run, get back to its main screen with Escape, and
answer a known key (``?`` opens the help).  Whatever the monkey builds
(chardevs, bridges, profiles, screenshots) lands in the test's own
directory.  Quitting is counted, never done: the monkey may well say yes to
the quit question.
"""

from __future__ import annotations

import asyncio
import random
import string
import time

from textual import events
from textual.widgets import Input

from tuicon.ui.app import TuiconApp
from tuicon.ui.help import HelpScreen

from helpers import wait_until
from ui_helpers import make_app, running

SEED = 1201
KEY_COUNT = 2000
BURST = 60
CPU_LIMIT = 60.0  # CPU seconds for the whole run (about 27): wall time depends on the load
STEPS = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=60,rows=10,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring.log,size=4096,mux-be-id=console"),
    ("chardev", "ringbuf,id=m_1,mux=on"),
    ("chardev", "null,id=spare"),
    ("device", "echo,id=dev,chardev=console"),
]
STOP_TYPING = "ctrl+right_square_bracket"
PAUSE = "(pause)"  # not a key: the monkey waits until the app is idle, as a person would
SYMBOLS = {"question_mark": "?", "comma": ",", "full_stop": ".", "equals_sign": "=", "colon": ":",
           "slash": "/", "minus": "-", "underscore": "_", "space": " "}
CONTROL = {"tab": "\t", "enter": "\r", "escape": "\x1b", "backspace": "\x08", "shift+tab": None}
KEYS = (
    list(string.ascii_lowercase) * 3
    + list("ACTXYZ")
    + list(string.digits) * 2
    + ["tab", "shift+tab", "enter", "escape", "space", "backspace", "delete"] * 4
    + ["up", "down", "left", "right", "home", "end", "pageup", "pagedown"] * 2
    + [f"f{n}" for n in range(1, 13)]
    + [f"ctrl+{c}" for c in string.ascii_lowercase]
    + ["ctrl+p"] * 4
    + list(SYMBOLS)
    + ["q", "q", STOP_TYPING, STOP_TYPING]
)


ID_CHARS = string.ascii_letters + string.digits + "._-"


def phrase(rng: random.Random) -> list[str]:
    """A few keys that finish something (an add, a removal, a profile), so the jobs
    they start run while the next keys arrive."""
    name = [rng.choice(string.ascii_letters)] + [rng.choice(ID_CHARS) for _ in range(rng.randrange(4))]
    keys = [{".": "full_stop", "-": "minus", "_": "underscore"}.get(c, c) for c in name]
    return rng.choice([
        ["d", PAUSE, "y"],
        ["a", PAUSE, *keys, "enter"],
        ["s", PAUSE, *keys, "enter"],
        ["o", PAUSE, "tab", "enter", PAUSE, "down", "enter", "tab", "enter"],
        ["w", PAUSE, "tab", "enter", PAUSE, "down", "enter", "tab", "enter", PAUSE, "down", "down",
         "enter", "tab", "enter"],
        ["enter", *keys, "enter", STOP_TYPING],
    ])


def burst_keys(rng: random.Random) -> list[str]:
    keys: list[str] = []
    while len(keys) < BURST:
        keys += phrase(rng) if rng.random() < 0.03 else [rng.choice(KEYS)]
    return keys


class MonkeyApp(TuiconApp):
    """The real app, except that a confirmed quit is counted instead of done."""

    quits = 0

    async def quit_now(self) -> None:
        self.quits += 1


def key_event(key: str) -> events.Key:
    """The event a terminal's bytes for ``key`` become."""
    if len(key) == 1:
        character: str | None = key
    elif key in SYMBOLS:
        character = SYMBOLS[key]
    elif key in CONTROL:
        character = CONTROL[key]
    elif key.startswith("ctrl+") and len(key) == 6:
        character = chr(ord(key[-1]) & 0x1F)
    else:
        character = None
    return events.Key(key, character)


def send(app: TuiconApp, key: str) -> None:
    event = key_event(key)
    event.set_sender(app)
    app._driver.send_message(event)


async def settle(pilot) -> None:
    """Wait until the app has handled every key sent so far, and what they started."""
    app = pilot.app
    for _ in range(2):
        await asyncio.sleep(0)  # the driver's last posts reach the app's queue
    handled = asyncio.Event()
    app.call_later(handled.set)  # the queue is first in, first out
    await handled.wait()
    await pilot.pause()


async def back_to_main(pilot) -> None:
    """Escape out of whatever is open, and stop typing into a console."""
    app = pilot.app
    await settle(pilot)  # the burst is handled first
    for _ in range(12):
        if app.screen is not app.screen_stack[0] or app.busy:
            send(app, "escape")
        elif app.typing():
            send(app, STOP_TYPING)
        elif isinstance(app.focused, Input):  # the filter (/) or the search (Ctrl+F): Escape closes
            send(app, "escape")
        else:
            return
        await settle(pilot)
    raise AssertionError(f"stuck on {app.screen!r} (busy: {app.busy}, typing: {app.typing()})")


def state(app: TuiconApp) -> str:
    return (f"screens {app.screen_stack}, focused {app.focused!r}, typing {app.typing()},"
            f" busy {app.busy}, running {app.is_running}")


async def check_alive(pilot, burst: int, keys: list[str]) -> None:
    app = pilot.app
    where = f"after burst {burst}: {keys}; {state(app)}"
    assert app.is_running, where
    await back_to_main(pilot)
    send(app, "question_mark")  # a known key still works
    await wait_until(lambda: isinstance(app.screen, HelpScreen),
                     what=f"the help {where}; now {state(app)}")
    send(app, "escape")
    await wait_until(lambda: app.screen is app.screen_stack[0], what=f"help closed {where}")


async def test_thousands_of_random_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the monkey names land here
    rng = random.Random(SEED)
    app = make_app(tmp_path, STEPS, app_class=MonkeyApp)
    app.console_log_directory = tmp_path / "logs"  # Enter on a chardev opens a console with a log
    app.serial_ports = lambda: []  # never a real port
    started = time.process_time()
    async with running(app, (80, 24)) as pilot:
        for burst in range(KEY_COUNT // BURST):
            keys = burst_keys(rng)
            for key in keys:
                if key == PAUSE:
                    await settle(pilot)
                    continue
                send(app, key)
                await asyncio.sleep(0)  # keys arrive faster than they are handled
            await asyncio.wait_for(check_alive(pilot, burst, keys), 20)
        assert app.is_running and app.return_code is None
    used = time.process_time() - started
    assert used < CPU_LIMIT, f"{KEY_COUNT} keys took {used:.1f} s of CPU"
