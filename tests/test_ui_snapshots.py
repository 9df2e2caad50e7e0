"""Snapshots of the app (pytest-textual-snapshot): main screen, a coloured vc, a form error, help.

Sessions here use only backends whose status is the same on every run (no
ptys, no paths), and rates are sampled too rarely to move.
"""

from __future__ import annotations

from tuicon.chardev import CharFrontend
from tuicon.profiles import ProfileStore
from tuicon.ui.app import Settings, TuiconApp

SIZE = (120, 36)
STEPS = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=56,rows=12,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console"),
    ("chardev", "null,id=spare"),
]
COLOURED = (
    b"\x1b[1;32mtuicon login:\x1b[0m root\r\n"
    b"\x1b[33mWarning:\x1b[0m \x1b[4mdisk\x1b[0m almost \x1b[41;97m FULL \x1b[0m\r\n"
    b"\x1b[38;5;39m256-colour blue\x1b[0m and \x1b[38;2;255;128;0mtrue-colour orange\x1b[0m\r\n"
    b"$ "
)


def app_for(tmp_path, steps=STEPS) -> TuiconApp:
    return TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                     settings=Settings(tmp_path / "settings.toml"), rate_seconds=3600)


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


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=started)


def test_vc_with_coloured_output(snap_compare, tmp_path):
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=write_console)


def test_add_form_with_a_validation_error(snap_compare, tmp_path):
    async def fill(pilot) -> None:
        await started(pilot)
        await pilot.press("a", *"r2")
        pilot.app.screen.query_one("#opt-size").value = "1000"
        await pilot.pause()

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=fill)


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, press=["question_mark"],
                        run_before=started)
