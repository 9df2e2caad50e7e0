"""Snapshots of the app (pytest-textual-snapshot): the views, zoom, a notification, forms, help, themes.

Sessions here use only backends whose status is the same on every run (no
ptys, no ports, no paths but /dev/full), and rates are sampled too rarely
to move.  The vc takes the size of its view, so each size has its own shot.
"""

from __future__ import annotations

import pytest

from tuicon.chardev import CharFrontend
from tuicon.profiles import ProfileStore
from tuicon.ui.app import LIGHT, Settings, TuiconApp

from helpers import wait_until

SMALL, LARGE, MIDDLE = (80, 24), (160, 45), (120, 36)
STEPS = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console"),
    ("chardev", "null,id=spare"),
]
COLOURED = (
    b"\x1b[1;32mtuicon login:\x1b[0m root\r\n"
    b"\x1b[33mWarning:\x1b[0m \x1b[4mdisk\x1b[0m almost \x1b[41;97m FULL \x1b[0m\r\n"
    b"\x1b[38;5;39m256-colour blue\x1b[0m and \x1b[38;2;255;128;0mtrue-colour orange\x1b[0m\r\n"
    + b"".join(b"\x1b[3%dmcolour %d\x1b[0m \x1b[9%dmbright %d\x1b[0m\r\n" % (n, n, n, n) for n in range(8))
    + b"$ "
)


def app_for(tmp_path, steps=STEPS, **ui) -> TuiconApp:
    return TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                     settings=Settings(tmp_path / "settings.toml"), rate_seconds=3600, ui=ui)


async def started(pilot) -> None:
    """The session is built in the background: wait for it before the shot."""
    await pilot.app.started.wait()
    await pilot.pause()


async def write_console(pilot) -> None:
    await started(pilot)
    app = pilot.app
    fe = CharFrontend(app.session.chardevs.get("console"), owner="snapshot")
    fe.write(COLOURED)
    await app.session.chardevs.get("screen").idle()
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x45"])
def test_console_view(snap_compare, tmp_path, size):
    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=write_console)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x45"])
def test_console_view_light_theme(snap_compare, tmp_path, size):
    assert snap_compare(app_for(tmp_path, theme=LIGHT), terminal_size=size, run_before=write_console)


def test_zoom(snap_compare, tmp_path):
    async def zoom(pilot) -> None:
        await write_console(pilot)
        await pilot.press("z")

    assert snap_compare(app_for(tmp_path), terminal_size=LARGE, run_before=zoom)


def test_hex_view(snap_compare, tmp_path):
    async def hex_view(pilot) -> None:
        await started(pilot)
        await pilot.press("m", "m")  # screen -> timestamps -> hex
        await write_console(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=LARGE, run_before=hex_view)


def test_grid_view(snap_compare, tmp_path):
    assert snap_compare(app_for(tmp_path, view="grid"), terminal_size=MIDDLE, run_before=write_console)


def test_a_notification_and_the_note_under_the_console(snap_compare, tmp_path, monkeypatch):
    from tuicon.ui import status

    monkeypatch.setattr(status, "_stamp", lambda: "12:00:01")  # the note's wall clock
    steps = STEPS[:3] + [("chardev", "ringbuf,id=mirror,size=4096,logfile=/dev/full,mux-be-id=console")]

    async def fail_a_log_write(pilot) -> None:
        await write_console(pilot)
        app = pilot.app
        await wait_until(lambda: app.session.chardevs.get("mirror").error is not None, what="the error")
        await pilot.pause(0.2)

    assert snap_compare(app_for(tmp_path, steps), terminal_size=LARGE, run_before=fail_a_log_write)


def test_add_form_with_a_validation_error(snap_compare, tmp_path):
    async def fill(pilot) -> None:
        await started(pilot)
        await pilot.press("a")
        pilot.app.screen.close("ringbuf")  # the type picker (its own snapshot in test_ui_forms)
        await wait_until(lambda: bool(pilot.app.screen.query("#opt-size")), what="the form")
        await pilot.press(*"r2")
        pilot.app.screen.query_one("#opt-size").value = "1000"
        await pilot.pause()

    assert snap_compare(app_for(tmp_path), terminal_size=MIDDLE, run_before=fill)


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(app_for(tmp_path), terminal_size=MIDDLE, press=["question_mark"],
                        run_before=started)


def test_the_demo_first_screen(snap_compare, tmp_path, monkeypatch):
    """Plain ``tuicon``'s first screen: the demo board at its prompt, the line saying how to type.

    The share listens on a free port, different each run: the board is told
    ``127.0.0.1 PORT`` for it; the log is under a HOME of the test's own, so
    it reads ``~/.local/state/tuicon/log/console.log`` as on a real first run.
    """
    from tuicon.devices import demo_board
    from tuicon.session import default_steps

    real_where = demo_board.where
    monkeypatch.setattr(demo_board, "where", lambda chardevs, chardev_id: "127.0.0.1 PORT"
                        if chardev_id == "share" else real_where(chardevs, chardev_id))
    monkeypatch.setenv("HOME", str(tmp_path))
    log = tmp_path / ".local" / "state" / "tuicon" / "log" / "console.log"
    log.parent.mkdir(parents=True)

    async def booted(pilot) -> None:
        await started(pilot)
        app = pilot.app
        board = app.session.devices.get("board")
        await wait_until(lambda: board.state == "shell", what="the prompt")
        await app.session.chardevs.get("screen").idle()
        app.main.tick()  # the byte counters as they are now, not at the last event
        await pilot.pause(0.2)

    assert snap_compare(app_for(tmp_path, default_steps(log)), terminal_size=MIDDLE, run_before=booted)
