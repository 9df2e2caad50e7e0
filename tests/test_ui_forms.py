"""The forms as controls, open-console (O and Enter), and when quit asks: real engine, real pilot."""

from __future__ import annotations

import os
import socket
import tty
from pathlib import Path

import pytest
from textual.widgets import Button, Input, OptionList, Select, Switch

from tuicon.profiles import ProfileStore
from tuicon.session import Session
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui.forms import BackendForm, ConfirmScreen, TypePicker, notice, type_rows
from tuicon.ui.open_console import OpenConsoleForm, chardev_steps, renamed, without_clashes

from helpers import wait_until
from ui_helpers import make_app, running

FAKE_PORTS = [
    ("usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "/dev/ttyUSB0", "FT232R USB UART",
     "0403:6001 A50285BI"),
    ("", "/dev/ttyS0", "", ""),
]
CONSOLE = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=60,rows=10,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console"),
    ("chardev", "null,id=spare"),
]


def app_with_ports(tmp_path: Path, steps=CONSOLE, ports=FAKE_PORTS, **kwargs) -> TuiconApp:
    app = make_app(tmp_path, steps, **kwargs)
    app.serial_ports = lambda: list(ports)
    app.console_log_directory = tmp_path / "logs"
    return app


def error_text(screen) -> str:
    return str(screen.query_one("#error").render())


async def submit(pilot, form) -> None:
    """Press OK (a click right after another is the same press to Textual's Button)."""
    form.query_one("#ok", Button).press()
    await pilot.pause()


async def pick_type(pilot, type_name: str) -> BackendForm:
    """Press a, choose ``type_name`` in the picker with the arrow keys and Enter."""
    app = pilot.app
    await pilot.press("a")
    picker = app.screen
    assert isinstance(picker, TypePicker)
    names = [row.name for row in picker.rows]
    types = picker.query_one("#types", OptionList)
    steps = names.index(type_name) - (types.highlighted or 0)
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    await wait_until(lambda: isinstance(app.screen, BackendForm), what="the form")
    form = app.screen
    await wait_until(lambda: bool(form.query("#opt-logfile")), what="its options")
    return form


def pty_pair() -> tuple[int, str]:
    """A pty: the master (the board's side, raw) and the slave's path (the TARGET)."""
    master, slave = os.openpty()
    tty.setraw(master)
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


def read_until(fd: int, wanted: bytes, got: bytearray) -> bool:
    try:
        got.extend(os.read(fd, 4096))
    except BlockingIOError:
        pass
    return wanted in got


# -- the type picker and the form's controls ----------------------------------------------


def test_type_rows_fold_aliases_and_hide_mux():
    from tuicon.chardev.registry import backends

    rows = {row.name: row for row in type_rows(backends)}
    assert "mux" not in rows and "tty" not in rows and "hub" not in rows and "memory" not in rows
    assert rows["serial"].aliases == ("tty",) and rows["mux-be"].aliases == ("hub",)
    assert rows["ringbuf"].aliases == ("memory",)
    assert rows["serial"].summary == backends.backend_class("serial").summary
    assert list(rows) == sorted(rows)


async def test_every_kind_of_control_and_defaults_as_values(tmp_path):
    app = app_with_ports(tmp_path)
    async with running(app) as pilot:
        form = await pick_type(pilot, "serial")
        assert error_text(form) == ""  # a new form does not open in red
        assert isinstance(form.query_one("#opt-logappend"), Switch)  # a boolean
        parity = form.query_one("#opt-parity", Select)  # an enum, showing its default
        assert parity.value == "none"
        assert form.query_one("#opt-baud", Input).value == "115200"  # a default, as a value
        mux_be = form.query_one("#opt-mux-be-id", Select)  # what exists
        assert [v for _, v in mux_be._options if v is not Select.NULL] == ["console"]
        ports = form.query_one("#ports", Select)  # the detected ports
        assert [v for _, v in ports._options if v is not Select.NULL] == [
            "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "/dev/ttyS0"]
        assert form.cli_text() == "serial,id="  # nothing but what the user gave
        form.query_one("#chardev-id", Input).value = "ser0"
        await pilot.pause()
        assert error_text(form) == ""  # path is required, but untouched: not yet said
        ports.value = "/dev/ttyS0"
        await pilot.pause()
        assert form.query_one("#opt-path", Input).value == "/dev/ttyS0"
        parity.value = "even"
        form.query_one("#opt-logappend", Switch).value = True
        mux_be.value = "console"
        form.query_one("#opt-baud", Input).value = "9600"
        await pilot.pause()
        assert form.cli_text() == ("serial,id=ser0,path=/dev/ttyS0,baud=9600,parity=even,"
                                   "logappend=on,mux-be-id=console")
        assert form.problem() is None
        form.query_one("#opt-bits", Input).value = "x"
        await pilot.pause()
        assert "Parameter 'bits' expects a number" in error_text(form)  # touched: said at once


async def test_submit_shows_the_untouched_problem_and_notices_speak_plainly(tmp_path):
    app = app_with_ports(tmp_path)
    async with running(app) as pilot:
        form = await pick_type(pilot, "vc")
        await submit(pilot, app.screen)
        assert "id: required" in error_text(form)  # on submit, even untouched
        form.query_one("#chardev-id", Input).value = "screen2"
        await pilot.pause()
        await submit(pilot, app.screen)
        await wait_until(lambda: "screen2" in app.session.chardevs, what="the vc added")
        await wait_until(lambda: any(n.message == "Added vc screen2" for n in app._notifications),
                         what="the plain notice")


def test_notice_texts():
    from tuicon.chardev import ChardevManager

    parse = ChardevManager().parse
    assert notice(parse(None, "serial,id=ser0,path=/dev/ttyUSB0"), {}) == \
        "Added serial port ser0 on /dev/ttyUSB0"
    assert notice(parse(None, "vc,id=screen"), {}) == "Added vc screen"
    assert notice(parse(None, "pty,id=p,mux-be-id=console"), {"pty": "/dev/pts/7"}) == \
        "Added pty p on /dev/pts/7, a member of console"
    assert notice(parse(None, "socket,id=s,port=4444,server=on,wait=off"), {}) == \
        "Added socket s on 127.0.0.1:4444 (server)"
    assert notice(parse("r", "ringbuf,size=128"), {}, swapped=True) == "Swapped 'r' to a ringbuf"


async def test_a_tri_state_switch_is_a_select_with_the_default_said(tmp_path):
    app = app_with_ports(tmp_path)
    async with running(app) as pilot:
        form = await pick_type(pilot, "socket")
        server = form.query_one("#opt-server", Select)
        assert server.value is Select.NULL and "off on the command line" in server.prompt
        assert isinstance(form.query_one("#opt-telnet"), Switch)
        assert form.query_one("#opt-writers", Select).value == "all"


async def test_the_type_button_changes_the_type(tmp_path):
    app = app_with_ports(tmp_path)
    async with running(app) as pilot:
        form = await pick_type(pilot, "ringbuf")
        assert form.query_one("#opt-size", Input).value == "65536"
        await pilot.click("#type")
        assert isinstance(app.screen, TypePicker)
        app.screen.close("null")
        await wait_until(lambda: app.screen is form and not form.query("#opt-size"), what="null's options")
        assert form.query_one("#type", Button).label.plain == "null"


# -- open a console ------------------------------------------------------------------------


def test_clashing_ids_get_a_number():
    steps = [("chardev", "mux-be,id=console"), ("chardev", "vc,id=screen,mux-be-id=console"),
             ("device", "bridge,id=bridge,chardev=serial,peer=console")]
    assert renamed(steps, {"console": "console2"})[2] == (
        "device", "bridge,id=bridge,chardev=serial,peer=console2")


async def test_open_console_on_a_real_pty(tmp_path):
    master, path = pty_pair()
    app = app_with_ports(tmp_path, ports=[("", path, "a pty pair", "")])
    try:
        async with running(app) as pilot:
            await pilot.press("O")
            form = app.screen
            assert isinstance(form, OpenConsoleForm) and error_text(form) == ""
            ports = form.query_one("#ports", OptionList)
            await wait_until(lambda: ports.option_count == 1 and ports.get_option_at_index(0).prompt
                             .startswith(path), what="the detected port")
            ports.focus()
            await pilot.press("enter")  # picks it: the TARGET is filled in
            assert form.query_one("#target", Input).value == path
            form.query_one("#baud", Input).value = "57600"
            await pilot.pause()
            await submit(pilot, app.screen)
            await wait_until(lambda: not isinstance(app.screen, OpenConsoleForm), what="the console built")
            chardevs = app.session.chardevs
            # The same wiring as `tuicon TARGET`, its ids clear of the session's console and screen.
            assert {"console2", "screen2", "log", "serial"} <= set(chardevs.ids())
            assert app.session.devices.get("bridge").uses() == ["serial", "console2"]
            assert chardevs.get("serial").options.baud == 57600
            await wait_until(lambda: app.main.terminal.vc_id == "screen2", what="its console shown")
            await wait_until(lambda: chardevs.get("serial").be_open, what="the port open")
            os.write(master, b"U-Boot says hello\r\n")
            vc = chardevs.get("screen2")
            await wait_until(lambda: "U-Boot says hello" in "\n".join(vc.lines()), what="text in the vc")
            vc.send_input(b"version\r")
            got = bytearray()
            await wait_until(lambda: read_until(master, b"version\r", got), what="typing reaching the pty")
            log = chardevs.get("log").options.path
            assert log.startswith(str(tmp_path / "logs")) and Path(log).name.startswith("pts-")
            await wait_until(lambda: b"U-Boot" in Path(log).read_bytes(), what="the log written")
            assert any(n.message.startswith(f"Opened a console on serial {path}, logged to")
                       for n in app._notifications)
    finally:
        os.close(master)


async def test_open_console_says_what_is_wrong_with_the_target(tmp_path):
    app = app_with_ports(tmp_path, ports=[])
    async with running(app) as pilot:
        await pilot.press("O")
        form = app.screen
        ports = form.query_one("#ports", OptionList)
        await wait_until(lambda: ports.option_count == 1, what="the port list")
        assert "no serial ports detected" in str(ports.get_option_at_index(0).prompt)
        form.query_one("#target", Input).value = "tcp:host"
        await pilot.pause()
        assert "expected tcp:HOST:PORT" in error_text(form)
        form.query_one("#target", Input).value = "tcp:127.0.0.1:1"
        form.query_one("#baud", Input).value = "9600"
        await pilot.pause()
        assert "--baud is for a serial port" in error_text(form)
        ids = app.session.chardevs.ids()
        await submit(pilot, app.screen)
        assert isinstance(app.screen, OpenConsoleForm) and app.session.chardevs.ids() == ids


async def test_a_failed_step_takes_down_what_was_built(tmp_path):
    app = app_with_ports(tmp_path)
    async with running(app) as pilot:
        # A log in a directory that cannot exist: the log step fails after the mux-be and the vc.
        await pilot.press("O")
        form = app.screen
        form.query_one("#target", Input).value = "tcp:127.0.0.1:1"
        form.query_one("#log-path", Input).value = "/dev/null/x.log"
        await pilot.pause()
        before = app.session.chardevs.ids()
        await submit(pilot, app.screen)
        await wait_until(lambda: error_text(form) != "" and not form.busy, what="the failure said")
        assert app.session.chardevs.ids() == before and app.session.devices.ids() == []


async def test_enter_on_a_chardev_no_console_shows_offers_one(tmp_path):
    app = app_with_ports(tmp_path, view="console")
    async with running(app) as pilot:
        app.go_to("spare")
        await pilot.pause()
        assert "'spare' is not shown in any console" in str(app.main.console.query_one("#nothing").render())
        footer = {b.description for _, b, enabled, _ in app.screen.active_bindings.values() if enabled}
        assert "Open console" in footer  # the footer says what Enter does here
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, OpenConsoleForm) and form.chardev_id == "spare"
        assert "not shown in any console" in str(form.query_one(".explain").render())
        form.query_one("#log", Switch).value = False  # no log this time
        await pilot.pause()
        await submit(pilot, app.screen)
        await wait_until(lambda: not isinstance(app.screen, OpenConsoleForm), what="the console built")
        chardevs = app.session.chardevs
        assert chardevs.get("spare-console").type_name == "mux-be"
        assert chardevs.get("spare-screen").type_name == "vc" and "spare-log" not in chardevs
        assert app.session.devices.get("spare-bridge").uses() == ["spare", "spare-console"]
        await wait_until(lambda: app.main.terminal.vc_id == "spare-screen", what="the new console shown")


async def test_a_console_for_a_mux_be_member_joins_its_mux_be(tmp_path):
    steps = [("chardev", "mux-be,id=hubby"), ("chardev", "ringbuf,id=ring,mux-be-id=hubby"),
             ("chardev", "ringbuf,id=used"), ("device", "echo,id=dev,chardev=used")]
    app = app_with_ports(tmp_path, steps, view="console")
    async with running(app) as pilot:
        assert chardev_steps(app.session, "ring", Path("/l/x.log")) == [
            ("chardev", "vc,id=hubby-screen,mux-be-id=hubby"),
            ("chardev", "file,id=hubby-log,path=/l/x.log,append=on,mux-be-id=hubby")]
        with pytest.raises(Exception, match="'used' is used by echo 'dev': a console needs it free"):
            chardev_steps(app.session, "used", None)
        app.go_to("ring")
        await pilot.pause()
        await pilot.press("enter")
        form = app.screen
        assert "joins the mux-be 'hubby'" in str(form.query_one(".explain").render())
        await submit(pilot, app.screen)
        await wait_until(lambda: "hubby-screen" in app.session.chardevs, what="the vc joined")
        log = app.session.chardevs.get("hubby-log").options.path
        assert Path(log).parent == tmp_path / "logs"


async def test_without_clashes_renames_only_what_is_taken():
    session = Session()
    try:
        await session.apply([("chardev", "null,id=x")])
        steps = [("chardev", "mux-be,id=console"), ("chardev", "null,id=x,mux-be-id=console")]
        assert without_clashes(session, steps) == [
            ("chardev", "mux-be,id=console"), ("chardev", "null,id=x2,mux-be-id=console")]
    finally:
        await session.close()


# -- quit asks only when it matters ----------------------------------------------------------


async def test_quit_does_not_ask_for_open_vcs_and_logs(tmp_path):
    steps = CONSOLE + [("chardev", f"file,id=log,path={tmp_path / 'x.log'},mux-be-id=console"),
                       ("chardev", "pty,id=pty")]
    app = app_with_ports(tmp_path, steps)
    async with running(app) as pilot:
        assert app.open_consoles()  # open, but nobody is cut off
        assert app.quit_reasons() == []
        await pilot.press("q")
        await wait_until(lambda: app.return_code == 0, what="the app gone without a question")


async def test_quit_asks_while_a_client_is_connected_or_a_pty_is_open(tmp_path):
    sock_path = tmp_path / "share.sock"
    steps = CONSOLE + [("chardev", f"socket,id=share,path={sock_path},server=on,wait=off"),
                       ("chardev", "pty,id=pty,mux-be-id=console"),
                       ("device", "echo,id=dev,chardev=console")]  # the pty is read: its peer's leaving is seen
    app = app_with_ports(tmp_path, steps)
    async with running(app) as pilot:
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(sock_path))
        try:
            share = app.session.chardevs.get("share")
            await wait_until(lambda: share.clients, what="the client accepted")
            await pilot.press("q")
            assert isinstance(app.screen, ConfirmScreen)
            assert "share has 1 client connected" in app.screen.question
            await pilot.press("n")
            client.close()
            await wait_until(lambda: not share.clients, what="the client gone")
            device = app.session.chardevs.get("pty").filename.removeprefix("pty:")
            peer = os.open(device, os.O_RDWR | os.O_NOCTTY)
            try:
                await wait_until(lambda: app.session.chardevs.get("pty").be_open, what="the pty's peer")
                assert app.quit_reasons() == [f"pty: a program has {device} open"]
            finally:
                os.close(peer)
            await wait_until(lambda: not app.quit_reasons(), what="the peer gone")
            app.main.start_typing()  # typing into a console is a reason too
            assert app.quit_reasons() == ["a console is being typed into"]
            app.main.terminal.typing = False
            await pilot.press("q")
            await wait_until(lambda: app.return_code == 0, what="quit without asking")
        finally:
            client.close()


# -- snapshots ---------------------------------------------------------------------------------


def shot_app(tmp_path, steps, **ui) -> TuiconApp:
    app = TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                    settings=Settings(tmp_path / "settings.toml"), rate_seconds=3600, ui=ui)
    app.serial_ports = lambda: list(FAKE_PORTS)
    app.console_log_directory = Path("/var/log/tuicon-snapshot")
    return app


async def started(pilot) -> None:
    await pilot.app.started.wait()
    await pilot.pause()


def test_snapshot_type_picker(snap_compare, tmp_path):
    assert snap_compare(shot_app(tmp_path, CONSOLE), terminal_size=(120, 36), press=["a"],
                        run_before=started)


def test_snapshot_serial_form(snap_compare, tmp_path):
    async def fill(pilot) -> None:
        await started(pilot)
        await pilot.press("a")
        pilot.app.screen.close("serial")
        await wait_until(lambda: isinstance(pilot.app.screen, BackendForm), what="the form")
        form = pilot.app.screen
        await wait_until(lambda: bool(form.query("#ports")), what="the ports")
        await pilot.press(*"ser0")
        form.query_one("#ports", Select).value = "/dev/serial/by-id/" + FAKE_PORTS[0][0]
        await pilot.pause()

    assert snap_compare(shot_app(tmp_path, CONSOLE), terminal_size=(120, 40), run_before=fill)
