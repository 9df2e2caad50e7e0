"""The app under stress: every valid id, work in the background, and keys that used to kill it.

Everything here runs the real app under a pilot, with real sockets and a
real QMP client (``qemu.qmp``) in the same event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path

from qemu.qmp import QMPClient
from textual.widgets import Button, Input, Select, Switch

from tuicon.cli import build_parser, steps_from_args
from tuicon.ui.app import TuiconApp
from tuicon.ui.forms import BackendForm, BridgeForm, ConfirmScreen, NameForm, TypePicker
from tuicon.ui.help import HelpScreen
from tuicon.ui.panes import pane_widget_id

from helpers import wait_until
from ui_helpers import make_app, pane, running, shown, wait_pane

# Every kind of character an id may hold: letters, digits, '-', '.', '_'.
FORM_IDS = ["log.1", "a-b_c.d", "Z9_.-x"]
QMP_IDS = ["qmp.log-1_a", "b.2", "under_score"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def qmp_steps(path: Path) -> list[tuple[str, str]]:
    """A QMP monitor on a UNIX socket, as ``-qmp unix:PATH,server=on,wait=off`` gives."""
    return steps_from_args(build_parser().parse_args(["-qmp", f"unix:{path},server=on,wait=off"]))


def error_text(screen) -> str:
    return str(screen.query_one("#error").render())


async def fill_add_form(pilot, chardev_id: str, type_name: str = "ringbuf", **options: str) -> BackendForm:
    app = pilot.app
    await pilot.press("a")
    await wait_until(lambda: isinstance(app.screen, TypePicker), what="the type picker")
    app.screen.close(type_name)
    await wait_until(lambda: isinstance(app.screen, BackendForm), what="the add form")
    form = app.screen
    await wait_until(lambda: bool(form.query("#opt-logfile")), what="the type's options")
    form.query_one("#chardev-id", Input).value = chardev_id
    await pilot.pause()
    for name, value in options.items():
        control = form.query_one(f"#opt-{name}")
        control.value = value == "on" if isinstance(control, Switch) else value
    await pilot.pause()
    return form


async def submit(pilot, form) -> None:
    form.query_one("#ok", Button).press()
    await pilot.pause()


def test_pane_widget_ids_are_valid_and_distinct():
    ids = ["screen", "log.1", "log_1", "log-1", "a-b_c.d", "a_2e_b", "a.b", "X-base", "é"]
    widget_ids = [pane_widget_id(i) for i in ids]
    assert len(set(widget_ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z_-][A-Za-z0-9_-]*", w) for w in widget_ids), widget_ids
    assert pane_widget_id("screen") == "pane-screen"  # plain ids keep a readable widget id


async def test_every_valid_id_works_from_the_form_and_over_qmp(tmp_path):
    qmp_path = tmp_path / "qmp.sock"
    steps = qmp_steps(qmp_path) + [("chardev", "ringbuf,id=X,mux=on")]
    app = make_app(tmp_path, steps)
    async with running(app, (160, 50)) as pilot:
        assert app.session.chardevs.ids()[-2:] == ["X-base", "X"]
        await wait_pane(app, "X-base")
        await wait_pane(app, "X")
        for chardev_id in FORM_IDS:
            form = await fill_add_form(pilot, chardev_id)
            await submit(pilot, form)
            await wait_until(lambda: not isinstance(app.screen, BackendForm), what=f"{chardev_id} added")
            await wait_pane(app, chardev_id)
        qmp = QMPClient("ids-test")
        await qmp.connect(str(qmp_path))
        try:
            for chardev_id in QMP_IDS:
                await qmp.execute("chardev-add", {"id": chardev_id,
                                                  "backend": {"type": "ringbuf", "data": {}}})
                await wait_pane(app, chardev_id)
            app.session.chardevs.ringbuf_write("b.2", "over qmp")
            await wait_until(lambda: "over qmp" in shown(pane(app, "b.2")),
                             what="the ringbuf's contents in its pane")
            # Acting on a pane with a dotted id: swap its backend, then remove it over QMP.
            pane(app, "log.1").focus()
            await pilot.press("c")
            form = app.screen
            assert isinstance(form, BackendForm) and form.swap_id == "log.1"
            form.query_one("#opt-size", Input).value = "128"
            await pilot.pause()
            await submit(pilot, form)
            await wait_until(lambda: app.session.chardevs.get("log.1").options.size == 128,
                             what="log.1 swapped")
            await qmp.execute("chardev-remove", {"id": "a-b_c.d"})
            await wait_until(lambda: app.pane_for("a-b_c.d") is None, what="its pane gone")
        finally:
            await qmp.disconnect()
        assert app.is_running
        assert len({p.id for p in app.query("ChardevPane")}) == len(app.session.chardevs)


async def test_a_wait_on_server_from_the_form_waits_visibly_and_escape_cancels_it(tmp_path):
    app = make_app(tmp_path, [("chardev", "null,id=spare")])
    port = free_port()
    async with running(app) as pilot:
        form = await fill_add_form(pilot, "srv", "socket", host="127.0.0.1", port=str(port),
                                   server="on", wait="on")
        await submit(pilot, form)
        progress = form.query_one("Progress")
        await wait_until(lambda: progress.text == f"Waiting for a client on tcp:127.0.0.1:{port}…",
                         what="the waiting line")
        assert form.query_one("#ok", Button).disabled
        assert not port_is_free(port)  # it really listens meanwhile
        await pilot.press("escape")  # cancels the add, the form stays
        await wait_until(lambda: not form.busy, what="the add cancelled")
        assert isinstance(app.screen, BackendForm)
        assert error_text(form) == "cancelled: 'srv' was not added"
        assert not progress.text and not form.query_one("#ok", Button).disabled
        assert "srv" not in app.session.chardevs
        assert port_is_free(port)  # nothing half-built was left listening
        await pilot.press("escape")  # nothing runs now: closes the form
        await wait_until(lambda: not isinstance(app.screen, BackendForm), what="the form closed")
        assert app.pane_for("srv") is None


async def test_cancelling_a_unix_server_that_waits_removes_its_socket_file(tmp_path):
    app = make_app(tmp_path, [("chardev", "null,id=spare")])
    path = tmp_path / "srv.sock"
    async with running(app) as pilot:
        form = await fill_add_form(pilot, "srv", "socket", path=str(path), server="on", wait="on")
        await submit(pilot, form)
        await wait_until(lambda: form.query_one("Progress").text
                         == f"Waiting for a client on unix:{path}…", what="the waiting line")
        assert path.exists()
        await pilot.press("escape")
        await wait_until(lambda: not form.busy, what="the add cancelled")
        assert "srv" not in app.session.chardevs and not path.exists()


async def test_a_wait_on_server_from_the_form_completes_when_a_client_connects(tmp_path):
    app = make_app(tmp_path, [("chardev", "null,id=spare")])
    async with running(app) as pilot:
        form = await fill_add_form(pilot, "srv", "socket", port="0", server="on", wait="on")
        await submit(pilot, form)
        progress = form.query_one("Progress")
        await wait_until(lambda: progress.text.startswith("Waiting for a client on tcp:127.0.0.1:"),
                         what="the waiting line")
        port = int(re.search(r":(\d+)…$", progress.text).group(1))  # the port the kernel chose
        assert port != 0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await wait_until(lambda: not isinstance(app.screen, BackendForm), what="the add done")
            srv = app.session.chardevs.get("srv")
            assert srv.be_open
            await wait_pane(app, "srv")
        finally:
            writer.close()
            await writer.wait_closed()


def wait_on_steps(port: int) -> list[tuple[str, str]]:
    return [("chardev", "ringbuf,id=before"),
            ("chardev", f"socket,id=srv,host=127.0.0.1,port={port},server=on,wait=on"),
            ("chardev", "ringbuf,id=after")]


async def test_a_wait_on_server_on_the_command_line_leaves_the_app_responsive(tmp_path):
    port = free_port()
    app = make_app(tmp_path, wait_on_steps(port))
    async with running(app, started=False) as pilot:
        await wait_until(lambda: app.progress.text == f"Waiting for a client on tcp:127.0.0.1:{port}…",
                         what="the waiting line")
        await wait_pane(app, "before")  # what is built already shows
        await pilot.press("question_mark")  # the keys work meanwhile
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert not app.started.is_set()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await asyncio.wait_for(app.started.wait(), 5)
            assert app.startup_error is None
            await wait_pane(app, "after")
            assert app.session.chardevs.get("srv").be_open
            await wait_until(lambda: not app.busy and not app.progress.text, what="progress gone")
        finally:
            writer.close()
            await writer.wait_closed()


async def test_escape_cancels_a_start_up_that_waits(tmp_path):
    port = free_port()
    app = make_app(tmp_path, wait_on_steps(port))
    async with running(app, started=False) as pilot:
        await wait_until(lambda: "Waiting for a client" in app.progress.text, what="the waiting line")
        await pilot.press("escape")
        await asyncio.wait_for(app.started.wait(), 5)
        assert app.is_running
        assert app.session.chardevs.ids() == ["before"]
        assert port_is_free(port)
        messages = [n.message for n in app._notifications]
        assert any("start-up cancelled: 1 of 3 steps built" in m for m in messages), messages


async def test_quit_while_start_up_waits_stops_cleanly_and_keeps_the_last_session(tmp_path):
    port = free_port()
    app = make_app(tmp_path, wait_on_steps(port))
    async with running(app, started=False) as pilot:
        await wait_until(lambda: "Waiting for a client" in app.progress.text, what="the waiting line")
        await pilot.press("q")
        if isinstance(app.screen, ConfirmScreen):  # 'before' is open: asked first
            await pilot.press("y")
        await wait_until(lambda: app.return_code is not None, what="the app quitting")
    assert app.return_code == 0
    assert port_is_free(port)
    # A session that was never built whole does not replace the last session.
    assert app.store.load_last_session() is None


async def test_bridge_form_needs_both_sides_even_with_no_pane_selected(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=a.1"), ("chardev", "ringbuf,id=b_2")])
    async with running(app) as pilot:
        app.set_focus(None)
        await pilot.press("w")  # used to raise InvalidSelectValueError
        form = app.screen
        assert isinstance(form, BridgeForm)
        assert form.query_one("#side-a", Select).value is Select.NULL
        await submit(pilot, form)
        assert error_text(form) == "choose both sides"
        form.query_one("#side-a", Select).value = "a.1"
        await submit(pilot, form)
        assert error_text(form) == "choose both sides"
        form.query_one("#side-b", Select).value = "b_2"
        await submit(pilot, form)
        await wait_until(lambda: not isinstance(app.screen, BridgeForm), what="the bridge wired")
        assert app.session.devices.get("bridge0").uses() == ["a.1", "b_2"]


async def test_profile_forms_need_a_name(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    async with running(app) as pilot:
        await pilot.press("s")
        form = app.screen
        assert isinstance(form, NameForm)
        await submit(pilot, form)
        assert error_text(form) == "a name is needed"
        form.query_one("#name", Input).value = "lab"
        await submit(pilot, form)
        await wait_until(lambda: not isinstance(app.screen, NameForm), what="saved")
        await pilot.press("o")
        form = app.screen
        assert isinstance(form, NameForm) and form.pick
        await submit(pilot, form)  # nothing picked
        assert error_text(form) == "a name is needed"
        assert isinstance(app.screen, NameForm)


async def test_a_form_closes_once_however_many_cancels_arrive(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    async with running(app) as pilot:
        for key in ("a", "w", "s", "d", "question_mark"):
            await pilot.press(key)
            modal = app.screen
            assert modal is not app.screen_stack[0], key
            # Keys that arrive while the screen is already closing.
            cancel = getattr(modal, "action_cancel", None) or getattr(modal, "action_close_help", None)
            if isinstance(modal, ConfirmScreen):
                cancel = lambda: modal.action_answer(False)  # noqa: E731
            cancel()
            cancel()
            await pilot.pause()
            await pilot.pause()
            assert app.screen is app.screen_stack[0] and len(app.screen_stack) == 1, key
        assert app.is_running and "r" in app.session.chardevs


async def test_a_result_that_arrives_under_another_screen_waits_for_it(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    async with running(app) as pilot:
        results = []
        form = BackendForm(app.session)
        await app.push_screen(form, results.append)
        await app.push_screen(ConfirmScreen("on top"))
        form.close("done")  # e.g. an add finishing while the quit question is shown
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and results == []
        await pilot.press("n")
        await wait_until(lambda: results == ["done"], what="the form's result")
        assert app.screen is app.screen_stack[0]


async def test_page_keys_in_the_command_palette(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    async with running(app) as pilot:
        for keys in (["pagedown"], ["pagedown", "pageup", "pagedown"], [*"zzz", "pagedown"],
                     ["a", "pagedown", "end", "pageup", "home", "pagedown"]):
            await pilot.press("ctrl+p", *keys)
            await pilot.press("escape", "escape")
            await wait_until(lambda: app.screen is app.screen_stack[0], what="the palette closed")
        assert app.is_running


async def test_ctrl_z_asks_before_suspending_live_consoles(tmp_path, monkeypatch):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    sent = []
    real_kill = os.kill

    def kill(pid: int, signum: int) -> None:
        if signum == signal.SIGTSTP:
            sent.append(pid)
        else:
            real_kill(pid, signum)

    monkeypatch.setattr(os, "kill", kill)
    async with running(app) as pilot:
        # Under a real terminal the driver can suspend; the pilot's cannot.
        monkeypatch.setattr(type(app._driver), "can_suspend", property(lambda self: True))
        await pilot.press("ctrl+z")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert sent == [] and app.is_running
        await pilot.press("ctrl+z", "y")
        assert sent == [os.getpid()]


async def test_escape_cancels_a_removal_job_and_busy_is_said(tmp_path):
    """One job of the app's own at a time; a second one is refused, not queued."""
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")])
    async with running(app) as pilot:
        gate = asyncio.Event()

        async def slow() -> None:
            await gate.wait()

        assert app.start_job("Slow…", slow, "cancelled: slow")
        await wait_until(lambda: app.progress.text == "Slow…", what="the job shown")
        assert not app.start_job("Second…", slow, "cancelled: second")
        await pilot.press("escape")
        await wait_until(lambda: not app.busy, what="the job cancelled")
        messages = [n.message for n in app._notifications]
        assert "cancelled: slow" in messages and any("Busy" in m for m in messages)
        assert not app.progress.text


class Flaky(TuiconApp):
    """An app whose removal hits a bug (not a ChardevError)."""

    async def _remove(self, chardev_id: str) -> None:
        raise RuntimeError("boom")


async def test_an_unexpected_error_in_a_job_is_said_and_the_app_goes_on(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=r")], app_class=Flaky)
    async with running(app) as pilot:
        pane(app, "r").focus()
        await pilot.press("d", "y")
        await wait_until(lambda: any("boom" in n.message for n in app._notifications),
                         what="the error said")
        assert app.is_running and not app.busy
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
