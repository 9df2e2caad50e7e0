"""The lab screens (issue 14): a socket server's clients, and a serial port's line settings.

Real TCP clients on loopback to a ``writers=one`` server, a real pty pair as
the serial device, a real pilot; the screens are pushed as the app's keys
will push them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket as so
import termios
import tty
from datetime import datetime

import pytest
from textual.widgets import Button, DataTable, Input, Select, Static, Switch

from tuicon.chardev import ChardevError, ChardevEvent
from tuicon.chardev.backends import socket as socket_backend
from tuicon.profiles import ProfileStore
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui.clients_screen import ClientsScreen
from tuicon.ui.serial_form import SerialForm

from helpers import Recorder, wait_until
from ui_helpers import make_app, pane, running, shown

E = ChardevEvent
SHARE = "socket,id=share,host=127.0.0.1,port=0,server=on,wait=off,max-clients=3,writers=one"


class Peer:
    """A TCP client of the server, keeping all it has read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen = bytearray()
        self.address = "{}:{}".format(*writer.get_extra_info("sockname"))

    async def until(self, wanted: bytes) -> bytes:
        async with asyncio.timeout(5):
            while wanted not in self.seen:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise AssertionError(f"ended before {wanted!r}; saw {bytes(self.seen)!r}")
                self.seen += chunk
        return bytes(self.seen)

    async def ended(self) -> bytes:
        async with asyncio.timeout(5):
            while chunk := await self.reader.read(65536):
                self.seen += chunk
        return bytes(self.seen)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def peers(chardev, count: int):
    """``count`` clients, each counted by the server before the next connects."""
    made: list[Peer] = []
    try:
        for n in range(1, count + 1):
            made.append(Peer(*await asyncio.open_connection("127.0.0.1", int(chardev.port))))
            await wait_until(lambda n=n: len(chardev.clients) == n, what=f"{n} clients")
        yield made
    finally:
        for peer in made:
            await peer.close()


def table_rows(screen: ClientsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row(row.key)] for row in table.ordered_rows]


async def open_clients(app, pilot, chardev_id: str = "share") -> ClientsScreen:
    screen = ClientsScreen.of(app.session, chardev_id)
    await app.push_screen(screen)
    await pilot.pause()
    return screen


# -- the clients of a socket server ------------------------------------------------------------


async def test_the_screen_lists_the_clients_and_hands_the_write_role_over(tmp_path):
    app = make_app(tmp_path, [("chardev", SHARE)], view="grid")
    async with running(app) as pilot:
        share = app.session.chardevs.get("share")
        fe = Recorder(share).install()
        async with peers(share, 3) as (one, two, three):
            screen = await open_clients(app, pilot)
            rows = table_rows(screen)
            assert [r[0] for r in rows] == ["1", "2", "3"]
            assert [r[1] for r in rows] == [one.address, two.address, three.address]
            assert [r[5] for r in rows] == ["writer", "reader", "reader"]
            assert "Clients of 'share': 3 of at most 3 · writers=one" in str(
                screen.query_one("#title").render())
            assert all(re.fullmatch(r"\d\d:\d\d:\d\d", r[2]) for r in rows)  # a clock time

            await pilot.press("down", "w")  # the second client takes the write role
            await wait_until(lambda: [r[5] for r in table_rows(screen)] == ["reader", "writer", "reader"],
                             what="client 2 the writer in the table")
            assert "client 2 is the writer now" in str(screen.query_one("#message", Static).render())
            await one.until(b"has taken the write role; you are a reader now]")
            await two.until(b"you have been given the write role")

            # The old writer's bytes are discarded (it is told), the new one's reach the frontend.
            one.writer.write(b"from-1")
            await one.until(b"input discarded: you are a reader; client 2")
            two.writer.write(b"from-2")
            await fe.wait_data(6)
            assert bytes(fe.data) == b"from-2"
            await wait_until(lambda: table_rows(screen)[1][3] == "6 B", what="bytes in shown")
            assert table_rows(screen)[0][3] == "6 B" and "6 B discarded" in table_rows(screen)[0][6]

            # The grid pane lists the clients too.
            text = shown(pane(app, "share"))
            assert "clients 3 of 3 · writers=one" in text
            assert f"2: {two.address} writer · in 6 B" in text


async def test_a_client_disconnected_from_the_screen_is_gone_and_the_role_moves_on(tmp_path):
    app = make_app(tmp_path, [("chardev", SHARE)], view="grid")
    async with running(app) as pilot:
        share = app.session.chardevs.get("share")
        fe = Recorder(share).install()
        async with peers(share, 2) as (one, two):
            screen = await open_clients(app, pilot)
            await pilot.press("x")  # the cursor is on client 1, the writer
            assert (await one.ended()).endswith(b"[tuicon: disconnected by tuicon's operator]\r\n")
            await wait_until(lambda: [r[:1] + r[5:6] for r in table_rows(screen)] == [["2", "writer"]],
                             what="client 1 gone, client 2 the writer")
            assert fe.events == [E.OPENED]  # one client is still there
            await pilot.press("x")
            await two.ended()
            await wait_until(lambda: not table_rows(screen), what="no clients")
            await fe.wait_event(E.CLOSED)
            assert screen.query_one("#disconnect").disabled and screen.query_one("#writer").disabled
            await pilot.press("x")
            assert "no client is connected" in str(screen.query_one("#error", Static).render())
            await pilot.press("escape")
            assert app.screen is not screen


async def test_a_client_cut_loose_shows_in_the_screen_and_the_pane(tmp_path, monkeypatch):
    monkeypatch.setattr(socket_backend, "HIGH_WATER", 1 << 16)
    steps = [("chardev", "socket,id=share,port=0,server=on,wait=off,max-clients=2,stall-ms=50")]
    app = make_app(tmp_path, steps, view="grid")
    async with running(app) as pilot:
        share = app.session.chardevs.get("share")
        fe = Recorder(share).install()
        slow = so.socket()
        slow.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 4096)  # a small window: it fills quickly
        try:
            await asyncio.get_running_loop().sock_connect(slow, ("127.0.0.1", int(share.port)))
            await wait_until(lambda: len(share.clients) == 1, what="the slow client")
            screen = await open_clients(app, pilot)
            chunk = bytes(1 << 16)
            while not share.clients[0].cut:  # it never reads: cut loose after 50 ms
                await asyncio.wait_for(fe.fe.write_all(chunk), 5)
            fe.fe.write(chunk)  # missed
            await wait_until(lambda: table_rows(screen)[0][6] == "cut loose", what="cut loose shown")
            assert table_rows(screen)[0][7] != "0 B"  # what it missed so far
            await wait_until(lambda: "· cut loose · missed " in shown(pane(app, "share")),
                             what="the pane's client line")
            assert " writer · in 0 B out " in shown(pane(app, "share"))
        finally:
            slow.close()


async def test_the_screen_refuses_what_has_no_clients_in_one_line(tmp_path):
    steps = [("chardev", "ringbuf,id=ring"), ("chardev", "socket,id=cli,port=1,server=off"),
             ("chardev", "socket,id=all,port=0,server=on,wait=off,max-clients=2")]
    app = make_app(tmp_path, steps, view="grid")
    async with running(app) as pilot:
        for chardev_id, error in [
            (None, "Select a socket server (server=on) to see its clients"),
            ("nope", "Chardev 'nope' not found"),
            ("ring", "Chardev 'ring' is not a socket (it is a ringbuf): only a socket server"
                     " (server=on) has clients"),
            ("cli", "Chardev 'cli' is a socket client: only a socket server (server=on) has clients"),
        ]:
            with pytest.raises(ChardevError) as raised:
                ClientsScreen.of(app.session, chardev_id)
            assert str(raised.value) == error
        chardev = app.session.chardevs.get("all")
        async with peers(chardev, 1):
            screen = await open_clients(app, pilot, "all")
            assert screen.query_one("#writer").disabled  # writers=all: no role to hand over
            assert "writers=all (every client writes)" in str(screen.query_one("#title").render())
            screen.action_make_writer()  # the key still works, and says why not
            assert str(screen.query_one("#error", Static).render()) == (
                "Chardev 'all' has writers=all: only writers=one has a write role to hand over")


# -- a serial port's line settings --------------------------------------------------------------


class Board:
    """A pty pair: tuicon opens the slave as its serial device; the test is the board."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        self.path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)

    def read(self) -> bytes:
        with contextlib.suppress(BlockingIOError, OSError):
            return os.read(self.master, 65536)
        return b""


@pytest.fixture
def board():
    made = Board()
    yield made
    os.close(made.master)


def speed(chardev) -> int:
    """The open port's line speed, read on the port's own descriptor."""
    attrs = termios.tcgetattr(chardev.port.transport.serial.fd)
    assert attrs[4] == attrs[5]
    return attrs[4]


@contextlib.asynccontextmanager
async def serial_form(tmp_path, board):
    app = make_app(tmp_path, [("chardev", f"serial,id=s,path={board.path}")], view="grid")
    async with running(app) as pilot:
        chardev = app.session.chardevs.get("s")
        fe = Recorder(chardev).install()
        await fe.wait_event(E.OPENED)
        form = SerialForm.of(app.session, "s")
        await app.push_screen(form)
        await pilot.pause()
        yield app, pilot, form, chardev, fe


def error_of(form: SerialForm) -> str:
    return str(form.query_one("#error", Static).render())


async def test_the_serial_form_changes_the_speed_without_closing_the_port(tmp_path, board):
    async with serial_form(tmp_path, board) as (app, pilot, form, chardev, fe):
        assert "Line settings of 's' · now 115200,8N1" in str(form.query_one("#title").render())
        assert speed(chardev) == termios.B115200
        form.query_one("#baud", Select).value = 9600
        form.query_one("#parity", Select).value = "even"  # a pty keeps no parity: refused ...
        await pilot.pause()
        await pilot.click("#ok")
        await wait_until(lambda: not form.busy and error_of(form), what="the refusal")
        assert error_of(form) == f"cannot set even parity on {board.path}: Invalid argument"
        assert speed(chardev) == termios.B115200 and chardev.settings == "115200,8N1"  # all or none
        form.query_one("#parity", Select).value = "none"  # ... the speed alone is taken
        # A Button ignores a click while it still shows the last one (its 0.2 s "-active" effect).
        await wait_until(lambda: not form.query_one("#ok", Button).has_class("-active"), what="OK idle")
        await pilot.click("#ok")
        await wait_until(lambda: app.screen is not form, what="the form closed")
        assert speed(chardev) == termios.B9600 and chardev.settings == "9600,8N1"
        assert fe.events == [E.OPENED] and not fe.mismatch  # no CLOSED, no second OPENED
        fe.fe.write(b"still here")
        seen = bytearray()
        await wait_until(lambda: seen.extend(board.read()) or b"still here" in seen, what="output")
        assert any("line settings now 9600,8N1" in n.message for n in app._notifications)
        await wait_until(lambda: "line 9600,8N1" in shown(pane(app, "s")), what="the pane's line")


@pytest.mark.parametrize(("field", "value", "error"), [
    ("#baud-other", "0", "Parameter 'baud' must be a speed from 1 to 20000000 (got 0)"),
    ("#baud-other", "abc", "Parameter 'baud' expects a number, not 'abc'"),
    ("#stop", "1.5", "Parameter 'stop' can be 1.5 only with bits=5 (got bits=8)"),
])
async def test_a_bad_value_is_one_line_in_the_form_and_nothing_changes(tmp_path, board, field, value,
                                                                       error):
    async with serial_form(tmp_path, board) as (app, pilot, form, chardev, fe):
        form.query_one(field).value = value
        await pilot.pause()
        assert error_of(form) == error
        await pilot.click("#ok")
        await pilot.pause()
        assert app.screen is form and not form.busy and error_of(form) == error
        assert speed(chardev) == termios.B115200 and chardev.settings == "115200,8N1"
        assert fe.events == [E.OPENED]


async def test_a_typed_speed_wins_over_the_list(tmp_path, board):
    async with serial_form(tmp_path, board) as (app, pilot, form, chardev, fe):
        form.query_one("#baud-other", Input).focus()
        await pilot.press(*"57600", "enter")
        await wait_until(lambda: app.screen is not form, what="the form closed")
        assert speed(chardev) == termios.B57600 and chardev.settings == "57600,8N1"


async def test_dtr_switch_and_timed_break(tmp_path, board):
    async with serial_form(tmp_path, board) as (app, pilot, form, chardev, fe):
        dtr = form.query_one("#dtr", Switch)
        assert dtr.value  # pyserial raises DTR and RTS when it opens a port
        await pilot.click("#dtr")
        # A pty has no modem lines: the refusal is shown and the switch flips back.
        await wait_until(lambda: not form.busy and error_of(form), what="the refusal")
        assert error_of(form) == f"cannot lower DTR on {board.path}: Inappropriate ioctl for device"
        assert dtr.value
        form.query_one("#break-ms", Input).value = "0"
        await pilot.click("#break")
        assert error_of(form) == "Parameter 'break-ms' must be from 1 to 10000 milliseconds (got 0)"
        assert chardev.breaks_sent == 0
        form.query_one("#break-ms", Input).value = "20"
        form.query_one("#break-ms", Input).focus()
        await pilot.press("enter")  # (a second click at once would hit the button's press effect)
        await wait_until(lambda: chardev.breaks_sent == 1 and not form.busy, what="the break")
        assert str(form.query_one("#message", Static).render()) == "break of 20 ms sent"
        assert error_of(form) == "" and fe.events == [E.OPENED]
        await pilot.press("escape")
        assert app.screen is not form


async def test_the_form_refuses_what_is_not_a_serial_port(tmp_path):
    app = make_app(tmp_path, [("chardev", "ringbuf,id=ring")], view="grid")
    async with running(app):
        with pytest.raises(ChardevError) as raised:
            SerialForm.of(app.session, "ring")
        assert str(raised.value) == ("Chardev 'ring' is not a serial port (it is a ringbuf): only a"
                                     " serial port has line settings")


# -- snapshots -------------------------------------------------------------------------------


def snapshot_app(tmp_path, steps) -> TuiconApp:
    return TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                     settings=Settings(tmp_path / "settings.toml"), rate_seconds=3600,
                     ui={"view": "console"})


async def quiet(app: TuiconApp) -> None:
    """The toast saying where the peer is (a port, a pty) has come: take it away."""
    await wait_until(lambda: len(app._notifications) > 0, what="the toast")
    app.clear_notifications()


def test_clients_screen_snapshot(snap_compare, tmp_path):
    clients: list[so.socket] = []

    async def show(pilot) -> None:
        app = pilot.app
        await app.started.wait()
        share = app.session.chardevs.get("share")
        Recorder(share).install()
        for n in range(1, 4):
            clients.append(so.create_connection(("127.0.0.1", int(share.port))))
            await wait_until(lambda n=n: len(share.clients) == n, what=f"{n} clients")
        clients[0].sendall(b"uptime\r")
        await wait_until(lambda: share.stats.bytes_in == 7, what="the writer's bytes")
        noon = datetime.now().replace(hour=12, minute=0, second=1, microsecond=0).timestamp()
        for n, conn in enumerate(share.clients, 1):  # the kernel's ports and the clock, normalised
            conn.address = f"127.0.0.1:4000{n}"
            conn.since = noon + n
        await quiet(app)
        app.main.tick()  # the card's byte counters, as the slow timer would draw them
        await app.push_screen(ClientsScreen.of(app.session, "share"))
        await pilot.pause()

    try:
        assert snap_compare(snapshot_app(tmp_path, [("chardev", SHARE)]), terminal_size=(120, 36),
                            run_before=show)
    finally:
        for client in clients:
            client.close()


def test_serial_form_snapshot(snap_compare, tmp_path, board):
    async def show(pilot) -> None:
        app = pilot.app
        await app.started.wait()
        fe = Recorder(app.session.chardevs.get("s")).install()
        await fe.wait_event(E.OPENED)
        await quiet(app)
        form = SerialForm.of(app.session, "s")
        await app.push_screen(form)
        form.query_one("#baud-other", Input).value = "0"  # with its error line
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path, [("chardev", f"serial,id=s,path={board.path}")]),
                        terminal_size=(120, 36), run_before=show)

