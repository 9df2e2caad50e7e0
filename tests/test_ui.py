"""The Textual app, driven by a real pilot: every key, every form path, live updates."""

from __future__ import annotations

from pathlib import Path

from tuicon.profiles import ProfileStore
from tuicon.ui.app import DARK, LIGHT, Settings, TuiconApp
from tuicon.ui.forms import BackendForm, ConfirmScreen, TypePicker
from tuicon.ui.help import HelpScreen
from tuicon.ui.panes import ChardevPane

from helpers import wait_until
from ui_helpers import pane, running, shown, wait_pane
from ui_helpers import make_app as make_any_app

CONSOLE = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=60,rows=10,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console"),
    ("chardev", "null,id=spare"),
    ("device", "echo,id=dev,chardev=console,map=none"),  # exact bytes back
]


def make_app(tmp_path: Path, steps=CONSOLE, **kwargs) -> TuiconApp:
    """These tests drive the grid view's panes (the console view has its own tests)."""
    kwargs.setdefault("view", "grid")
    return make_any_app(tmp_path, steps, **kwargs)


async def test_first_vc_selected_and_typing(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        await pilot.pause()
        assert app.focused is pane(app, "screen")
        await pilot.press("enter")
        assert pane(app, "screen").typing
        # Every key goes to the console now, q and Escape included.
        await pilot.press("l", "s", "space", "q", "escape", "ctrl+c", "enter")
        ring = app.session.chardevs.get("ring")
        await wait_until(lambda: ring.contents().endswith(b"ls q\x1b\x03\r"), what="echoed keys")
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("ctrl+right_square_bracket")
        assert not pane(app, "screen").typing
        vc = app.session.chardevs.get("screen")
        await vc.idle()
        await pilot.pause(0.15)
        assert "ls q" in shown(pane(app, "screen"))


async def test_enter_on_a_pane_that_is_not_a_vc(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        pane(app, "spare").focus()
        await pilot.press("enter")
        assert not pane(app, "spare").typing


async def test_moving_between_panes(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        order = [p.chardev_id for p in app.query(ChardevPane)]
        assert order == ["console", "screen", "ring", "spare"]
        await pilot.press("tab")
        assert app.focused is pane(app, "ring")
        await pilot.press("right")
        assert app.focused is pane(app, "spare")
        await pilot.press("left", "up")
        assert app.focused is pane(app, "screen")


async def add_form(pilot, type_name: str) -> BackendForm:
    """a, then the type picked in the picker; the form for it."""
    app = pilot.app
    await pilot.press("a")
    assert isinstance(app.screen, TypePicker)
    app.screen.close(type_name)
    await wait_until(lambda: isinstance(app.screen, BackendForm), what="the add form")
    form = app.screen
    await wait_until(lambda: bool(form.query("#opt-logfile")), what="its options")
    return form


async def test_add_form_validates_and_adds(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        form = await add_form(pilot, "ringbuf")
        await pilot.press(*"ring")  # a duplicate id
        await pilot.pause()
        assert "already exists" in str(form.query_one("#error").render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"r2")
        size = form.query_one("#opt-size")
        size.value = "3"
        await pilot.pause()
        assert "must be power of two" in str(form.query_one("#error").render())
        size.focus()
        await pilot.press("enter")  # submit
        assert isinstance(app.screen, BackendForm)  # refused: still open
        size.value = "1024"
        form.query_one("#opt-mux-be-id").value = "console"
        await pilot.pause()
        size.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, BackendForm)
        assert app.session.chardevs.get("r2").options.size == 1024
        await wait_pane(app, "r2")
        assert "r2" in [m["id"] for m in app.session.chardevs.info(
            app.session.chardevs.get("console")).extra["members"]]


async def test_add_form_shows_the_engines_error(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        form = await add_form(pilot, "file")
        await pilot.press(*"f1")
        path = form.query_one("#opt-path")
        path.value = str(tmp_path / "no" / "such" / "dir")
        await pilot.pause()
        path.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "Could not open" in str(form.query_one("#error").render())
        await pilot.press("escape")
        assert "f1" not in app.session.chardevs


async def test_swap_form_starts_from_the_current_options(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        pane(app, "ring").focus()
        await pilot.press("c")
        form = app.screen
        assert form.query_one("#opt-size").value == "4096"
        form.query_one("#opt-size").value = "8192"
        await pilot.pause()
        form.query_one("#opt-size").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.chardevs.get("ring").options.size == 8192
        pane(app, "console").focus()
        await pilot.press("c")  # a mux-be cannot be swapped: said, no form
        assert not isinstance(app.screen, BackendForm)


async def test_remove_asks_and_frees_what_is_in_use_first(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        pane(app, "spare").focus()
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert "spare" in app.session.chardevs
        await pilot.press("d", "y")
        await pilot.pause()
        assert "spare" not in app.session.chardevs
        await wait_until(lambda: app.pane_for("spare") is None, what="pane gone")
        pane(app, "ring").focus()
        await pilot.press("d")
        assert "first: detach 'ring' from mux-be 'console'" in app.screen.question
        await pilot.press("n")
        assert "ring" in app.session.chardevs
        await pilot.press("d", "y")
        await wait_until(lambda: "ring" not in app.session.chardevs, what="ring detached and removed")
        assert [m["id"] for m in app.session.chardevs.info(
            app.session.chardevs.get("console")).extra["members"]] == ["screen"]


async def test_break_timestamps_bridge_and_help(tmp_path):
    steps = CONSOLE + [("chardev", "ringbuf,id=m,mux=on"), ("chardev", "ringbuf,id=other")]
    app = make_app(tmp_path, steps)
    async with running(app, (160, 50)) as pilot:
        pane(app, "console").focus()
        await pilot.press("b")
        assert app.session.devices.get("dev").breaks == 1
        pane(app, "m").focus()
        await pilot.press("t")
        assert app.session.chardevs.get("m").timestamps
        await pilot.press("w")
        form = app.screen
        form.query_one("#side-b").value = "other"
        await pilot.pause()
        await pilot.click("#ok")
        await pilot.pause()
        assert app.session.devices.get("bridge0").uses() == ["m", "other"]
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_changes_made_through_the_manager_show_at_once(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        await app.session.chardevs.add("late", "ringbuf,size=64")  # as QMP would
        await wait_pane(app, "late", timeout=0.5)
        app.session.chardevs.ringbuf_write("late", "from qmp")
        await pilot.pause(0.15)
        assert "from qmp" in shown(pane(app, "late"))
        await app.session.chardevs.change("spare", "ringbuf,size=128")
        await pilot.pause(0.15)
        assert pane(app, "spare").border_title == "spare · ringbuf"


async def test_save_open_theme_and_quit(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        assert app.theme == DARK
        await pilot.press("T")
        assert app.theme == LIGHT
        assert Settings(tmp_path / "settings.toml").load()["theme"] == LIGHT
        await pilot.press("s", *"lab", "enter")
        await pilot.pause()
        store = ProfileStore(tmp_path / "profiles")
        saved = store.load("lab")
        assert saved.ui["theme"] == LIGHT and saved.ui["pane-order"][0] == "console"
        await app.session.chardevs.add("temp", "null")
        await pilot.press("o")
        app.screen.query_one("#name").value = "lab"
        await pilot.click("#ok")
        await wait_until(lambda: "temp" not in app.session.chardevs and "ring" in app.session.chardevs,
                         what="profile opened")
        await pilot.press("q")  # open consoles, but nobody connected: no question
        await wait_until(lambda: app.return_code is not None, what="the app gone")
    assert app.return_code == 0
    last = ProfileStore(tmp_path / "profiles").load_last_session()
    assert ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console") in last.steps


async def test_ctrl_q_and_palette_go_to_the_console_while_typing(tmp_path):
    app = make_app(tmp_path)
    async with running(app) as pilot:
        await pilot.press("enter", "ctrl+q", "ctrl+p")
        ring = app.session.chardevs.get("ring")
        await wait_until(lambda: ring.contents().endswith(b"\x11\x10"), what="C-q C-p echoed")
        assert app.is_running and app.screen is app.screen_stack[0]


async def test_a_bad_session_ends_the_app_with_the_error(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r,size=3")])
    async with running(app, started=False):
        await wait_until(lambda: app.return_code is not None, what="the app ending")
    assert app.return_code == 1
    assert "power of two" in app.startup_error
