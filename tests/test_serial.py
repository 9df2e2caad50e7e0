"""``serial`` with a real pty pair as the device: settings, data, BREAK, unplug and return, serial-set."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import struct
import termios
import tty
from collections.abc import Iterator

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, Feature, InvalidOption
from tuicon.monitor import commands
from tuicon.profiles import profile_of
from tuicon.session import Session

from conftest import assert_no_leaks, open_fds
from helpers import TIMEOUT, Recorder, wait_until

E = ChardevEvent


class FakeDevice:
    """A pty pair: tuicon opens the slave through a by-id style link; the test is the board."""

    def __init__(self, link) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        self.slave_path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        os.symlink(self.slave_path, self.link)

    def unplug(self) -> None:
        os.unlink(self.link)
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
        if os.path.lexists(self.link):
            os.unlink(self.link)

    def read(self) -> bytes:
        try:
            return os.read(self.master, 65536)
        except (BlockingIOError, OSError):
            return b""


@pytest.fixture
def device(tmp_path):
    dev = FakeDevice(tmp_path / "usb-FTDI_FT232R-if00-port0")
    yield dev
    dev.close()


async def read_device(device: FakeDevice, wanted: bytes) -> bytes:
    seen = bytearray()
    await wait_until(lambda: seen.extend(device.read()) or wanted in seen, what=repr(wanted))
    return bytes(seen)


def line_speed(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return termios.tcgetattr(fd)[4]  # ospeed
    finally:
        os.close(fd)


@pytest.mark.parametrize(("baud", "speed"), [(9600, termios.B9600), (115200, termios.B115200)])
async def test_data_both_ways_at_two_speeds(manager, device, baud, speed):
    await manager.add("s", f"serial,path={device.link},baud={baud}")
    chardev = manager.get("s")
    assert chardev.connect_postponed and chardev.filename == f"disconnected:serial:{device.link}"
    fe = Recorder(chardev).install()  # attach: the port opens now
    await fe.wait_event(E.OPENED)
    assert chardev.filename == f"serial:{device.link}"
    assert line_speed(device.slave_path) == speed
    fe.fe.write(b"AT\r")
    assert await read_device(device, b"AT\r") == b"AT\r"
    os.write(device.master, b"OK\r\n")
    assert await fe.wait_data(4) == b"OK\r\n"
    assert manager.info(chardev).extra["settings"] == f"{baud},8N1"


async def test_send_break_reaches_the_line(manager, device):
    await manager.add("s", f"serial,path={device.link}")
    fe = Recorder(manager.get("s")).install()
    await fe.wait_event(E.OPENED)
    fe.fe.send_break()
    await wait_until(lambda: manager.get("s").breaks_sent == 1, what="tcsendbreak done")


async def test_unplug_and_return_with_reconnect(manager, device):
    await manager.add("s", f"serial,path={device.link},reconnect-ms=20")
    chardev = manager.get("s")
    assert chardev.features & Feature.RECONNECTABLE
    fe = Recorder(chardev).install()
    for round_ in (1, 2):
        await fe.wait_event(E.OPENED, round_)
        os.write(device.master, b"boot %d\n" % round_)
        await wait_until(lambda: b"boot %d" % round_ in fe.data, what=f"data {round_}")
        device.unplug()
        await fe.wait_event(E.CLOSED, round_)
        assert chardev.filename == f"disconnected:serial:{device.link}"
        assert manager.info(chardev).error.startswith("device lost")
        assert fe.fe.write(b"into the void") == 13  # never blocks while unplugged
        device.plug()
    await fe.wait_event(E.OPENED, 3)
    assert not fe.mismatch


async def test_missing_device_without_reconnect(manager, tmp_path):
    await manager.add("s", f"serial,path={tmp_path}/ttyUSB9")  # creating only validates
    fe = Recorder(manager.get("s"), connect=False).install()
    with pytest.raises(ChardevError, match=f"^cannot open {tmp_path}/ttyUSB9: No such file or directory$"):
        await fe.fe.wait_connected()
    assert not manager.get("s").be_open


async def test_options_and_alias(manager):
    with pytest.raises(InvalidOption, match=r"^chardev: serial/tty: no device path given$"):
        await manager.add("s", "serial")
    with pytest.raises(InvalidOption, match="Parameter 'bits' must be 5, 6, 7 or 8"):
        await manager.add("s", "serial,path=/dev/null,bits=9")
    with pytest.raises(InvalidOption, match="Parameter 'parity' does not accept value 'maybe'"):
        await manager.add("s", "serial,path=/dev/null,parity=maybe")
    with pytest.raises(InvalidOption, match="baud"):
        await manager.add("s", "serial,path=/dev/null,baud=0")
    await manager.add("s", "tty,path=/dev/null")  # QEMU's /char/serial: accepted
    assert manager.get("s").type_name == "serial"
    await manager.add("q", {"type": "serial", "data": {"device": "/dev/null", "parity": "even"}})
    assert manager.info(manager.get("q")).extra["settings"] == "115200,8E1"


async def test_swap_serial_ports_under_a_running_bridge(session, tmp_path):
    chardevs, devices = session
    one, two = FakeDevice(tmp_path / "ttyUSB0"), FakeDevice(tmp_path / "ttyUSB1")
    try:
        await chardevs.add("con", f"serial,path={one.link}")
        await chardevs.add("log", f"file,path={tmp_path}/log")
        await devices.add_cli("bridge,id=b,chardev=con,peer=log")
        await wait_until(lambda: chardevs.get("con").be_open, what="first port open")
        os.write(one.master, b"from USB0;")
        await wait_until(lambda: (tmp_path / "log").read_bytes() == b"from USB0;", what="first")
        await chardevs.change("con", f"serial,path={two.link}")
        await wait_until(lambda: chardevs.get("con").be_open, what="second port open")
        os.write(two.master, b"from USB1")
        await wait_until(lambda: (tmp_path / "log").read_bytes() == b"from USB0;from USB1",
                         what="second")
    finally:
        one.close()
        two.close()


async def test_serial_as_mux_be_member_and_with_mux(manager, device):
    await manager.add("hub", "mux-be")
    await manager.add("s", f"serial,path={device.link},mux-be-id=hub")
    fe = Recorder(manager.get("hub")).install()
    await fe.wait_event(E.OPENED)
    fe.fe.write(b"to board")
    assert await read_device(device, b"to board")
    os.write(device.master, b"from board")
    assert await fe.wait_data(10) == b"from board"


async def test_a_vanished_device_path_is_noticed(manager, device):
    """The port still looks fine (the pty is alive) but its by-id link is gone."""
    await manager.add("s", f"serial,path={device.link}")
    fe = Recorder(manager.get("s")).install()
    await fe.wait_event(E.OPENED)
    os.unlink(device.link)
    await fe.wait_event(E.CLOSED)
    assert manager.get("s").filename == f"disconnected:serial:{device.link}"


async def test_serial_with_mux_on(manager, device):
    await manager.add("con", f"serial,path={device.link},mux=on")
    console = Recorder(manager.get("con"), owner="console").install()
    await console.wait_event(E.OPENED)
    os.write(device.master, b"login: ")
    assert await console.wait_data(7) == b"login: "
    console.fe.write(b"root\r")
    assert await read_device(device, b"root\r")


# -- settings the port or the kernel refuses -------------------------------------------------


def pty_answer_to_7_bits() -> str:
    """How this kernel takes 7 data bits on a pty: Linux quietly keeps 8, others refuse (EINVAL)."""
    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[2] = attrs[2] & ~termios.CSIZE | termios.CS7
        try:
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
        except termios.error as err:
            return os.strerror(err.args[0])
        return "the device ignored it"
    finally:
        os.close(master)
        os.close(slave)


@contextlib.contextmanager
def no_unhandled_task_errors(caplog) -> Iterator[None]:
    """Fail on "Task exception was never retrieved" and on any task that died with a traceback."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context["message"]))
    try:
        with caplog.at_level(logging.ERROR):
            yield
            gc.collect()  # a forgotten failed task reports itself when it is collected
    finally:
        loop.set_exception_handler(previous)
    assert not seen, seen
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_refused_data_bits_are_reported_and_nothing_hangs(manager, device, caplog):
    with no_unhandled_task_errors(caplog):
        await manager.add("s", f"serial,path={device.slave_path},bits=7")
        chardev = manager.get("s")
        fe = Recorder(chardev, connect=False).install()
        expected = f"cannot set 7 data bits on {device.slave_path}: {pty_answer_to_7_bits()}"
        with pytest.raises(ChardevError) as raised:
            await asyncio.wait_for(fe.fe.wait_connected(), TIMEOUT)
        assert str(raised.value) == expected
        info = manager.info(chardev)
        assert info.error == expected and "error" not in info.extra
        assert not chardev.be_open and not info.extra["connected"] and fe.events == []
        assert chardev.filename == f"disconnected:serial:{device.slave_path}"
        assert chardev.attempts == 1
    # the manager fixture then proves the refused port's descriptor was closed


@pytest.mark.parametrize(("option", "what"), [("bits=5", "5 data bits"), ("parity=odd", "odd parity")])
async def test_settings_a_pty_quietly_ignores_are_reported(manager, device, option, what):
    """A pty keeps 8 data bits and clears PARENB without an error; reading back catches it."""
    await manager.add("s", f"serial,path={device.slave_path},{option}")
    with pytest.raises(ChardevError, match=f"^cannot set {what} on {device.slave_path}: "
                                           "the device ignored it$"):
        await asyncio.wait_for(manager.get("s").wait_connected(), TIMEOUT)
    assert not manager.get("s").be_open


@pytest.mark.parametrize(("option", "field", "flags"), [
    ("stop=2,flow=rtscts", 2, termios.CSTOPB | termios.CRTSCTS),
    ("flow=xonxoff", 0, termios.IXON | termios.IXOFF),
])
async def test_settings_a_pty_keeps_are_applied(manager, device, option, field, flags):
    await manager.add("s", f"serial,path={device.link},{option}")
    await asyncio.wait_for(manager.get("s").wait_connected(), TIMEOUT)
    fd = os.open(device.slave_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        assert termios.tcgetattr(fd)[field] & flags == flags
    finally:
        os.close(fd)
    assert manager.info(manager.get("s")).error is None


async def test_reconnect_retries_refused_settings(manager, device, caplog):
    with no_unhandled_task_errors(caplog):
        await manager.add("s", f"serial,path={device.slave_path},bits=7,reconnect-ms=5")
        chardev = manager.get("s")
        fe = Recorder(chardev, connect=False).install()
        # The device is there and refuses: waiting longer would not help, so wait_connected says so.
        with pytest.raises(ChardevError, match="^cannot set 7 data bits on "):
            await asyncio.wait_for(fe.fe.wait_connected(), TIMEOUT)
        await wait_until(lambda: chardev.attempts >= 4, what="retries")
        assert chardev.error.startswith("cannot set 7 data bits on ")
        assert not chardev.be_open and fe.events == []


async def test_reconnect_waits_for_a_missing_device(manager, device):
    device.unplug()
    await manager.add("s", f"serial,path={device.link},reconnect-ms=5")
    chardev = manager.get("s")
    waiting = asyncio.ensure_future(chardev.wait_connected())
    try:
        await wait_until(lambda: chardev.attempts >= 2, what="retries")
        assert chardev.error == f"cannot open {device.link}: No such file or directory"
        assert not waiting.done()  # an absent device is waited out, as QEMU's reconnecting socket
        device.plug()
        await asyncio.wait_for(waiting, TIMEOUT)
    finally:
        waiting.cancel()
    assert chardev.be_open and chardev.error is None


@pytest.mark.parametrize("url", ["rfc2217://host:4000", "socket://localhost:7000", "loop://",
                                 "spy:///dev/ttyUSB0"])
async def test_pyserial_urls_are_refused(manager, url):
    expected = (f"^serial: '{url}' is a pyserial URL; only device paths are supported "
                r"\(RFC 2217 is planned\)$")
    with pytest.raises(InvalidOption, match=expected):
        await manager.add("s", f"serial,path={url}")
    with pytest.raises(InvalidOption, match=expected):
        await manager.add("s", {"type": "serial", "data": {"device": url}})
    assert manager.find("s") is None


async def test_one_and_a_half_stop_bits_need_five_data_bits(manager):
    with pytest.raises(InvalidOption, match=r"^Parameter 'stop' can be 1.5 only with bits=5 \(got bits=8\)$"):
        await manager.add("s", "serial,path=/dev/null,stop=1.5")
    await manager.add("s", "serial,path=/dev/null,stop=1.5,bits=5")
    assert manager.info(manager.get("s")).extra["settings"] == "115200,5N1.5"


# -- chardev-send-break -------------------------------------------------------------------------


async def test_chardev_send_break_on_serial_is_a_line_break(manager, device):
    await manager.add("s", f"serial,path={device.link}")
    chardev = manager.get("s")
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    manager.send_break("s")  # what QMP chardev-send-break and the readline monitor call
    await wait_until(lambda: chardev.breaks_sent == 1, what="tcsendbreak done")
    manager.send_break("s")
    await wait_until(lambda: chardev.breaks_sent == 2, what="second break")
    assert E.BREAK not in fe.events  # not QEMU's BREAK event to the frontend
    assert chardev.error is None


async def test_chardev_send_break_elsewhere_is_a_break_event(manager):
    await manager.add("r", "ringbuf")
    fe = Recorder(manager.get("r")).install()
    manager.send_break("r")
    assert fe.events == [E.OPENED, E.BREAK]  # QEMU's: synchronous, to the frontend


async def test_removing_right_after_a_break_leaves_nothing_behind(manager, device):
    """The break's worker thread has its own descriptor; the leak check proves it is closed."""
    await manager.add("s", f"serial,path={device.link}")
    chardev = manager.get("s")
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    manager.send_break("s")
    await asyncio.sleep(0)  # the break task starts: dup, then the worker thread
    fe.fe.detach()
    await manager.remove("s")
    assert len(chardev.tasks) == 0


async def test_a_task_that_dies_closes_the_port_and_says_why(manager, device):
    """A bug in a task (here a frontend that raises on OPENED) ends in CLOSED, not a stuck port."""
    await manager.add("s", f"serial,path={device.link},reconnect-ms=5")
    chardev = manager.get("s")
    fe = Recorder(chardev)
    record = fe.event

    def buggy(event: ChardevEvent) -> None:
        record(event)
        if event is E.OPENED:
            raise RuntimeError("frontend bug")

    fe.event = buggy  # type: ignore[method-assign]
    fe.install()
    await fe.wait_event(E.CLOSED)
    assert fe.events == [E.OPENED, E.CLOSED] and not fe.mismatch
    assert chardev.error == "open failed: frontend bug"
    assert not chardev.be_open and not manager.info(chardev).extra["connected"]
    assert chardev.filename == f"disconnected:serial:{device.link}"
    with pytest.raises(ChardevError, match="^open failed: frontend bug$"):
        await asyncio.wait_for(chardev.wait_connected(), TIMEOUT)
    assert fe.fe.write(b"x") == 1  # writers are not left waiting on a dead port


# -- serial-set: line settings changed live ----------------------------------------------------


@pytest.fixture
async def live_session():
    """A whole Session (commands and monitors need one), checked for leaks afterwards."""
    before = open_fds()
    session = Session()
    yield session
    await session.close()
    await assert_no_leaks(before)


async def serial_set(session, chardev_id: str, **settings):
    """serial-set through the command table, as QMP and the readline monitor run it."""
    return await commands.run(commands.Context(session), "serial-set", {"id": chardev_id, **settings})


def port_attrs(chardev) -> list:
    """The open port's termios settings, read on the port's own descriptor."""
    return termios.tcgetattr(chardev.port.transport.serial.fd)


async def open_serial_port(session, device, options: str = "", chardev_id: str = "s"):
    await session.chardevs.add(chardev_id, f"serial,path={device.slave_path}{options}")
    chardev = session.chardevs.get(chardev_id)
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    return chardev, fe


async def feed(device: FakeDevice, data: bytes) -> None:
    """Write ``data`` into the board's end, as fast as the pty takes it."""
    view = memoryview(data)

    def write_some() -> bool:
        nonlocal view
        with contextlib.suppress(BlockingIOError):
            view = view[os.write(device.master, view[:4096]):]
        return not view

    await wait_until(write_some, what="the board's bytes written")


async def read_exactly(device: FakeDevice, size: int) -> bytes:
    seen = bytearray()
    await wait_until(lambda: seen.extend(device.read()) or len(seen) >= size, what=f"{size} bytes")
    return bytes(seen)


async def test_serial_set_changes_an_open_port_without_a_byte_lost(live_session, device):
    chardev, fe = await open_serial_port(live_session, device)
    heard = []
    live_session.chardevs.subscribe(heard.append)
    to_board = bytes(range(256)) * 1024  # more than the pty and the transport's high water hold
    from_board = bytes(reversed(range(256))) * 256
    tasks: list[asyncio.Future] = []

    def start(coro) -> asyncio.Future:
        tasks.append(asyncio.ensure_future(coro))
        return tasks[-1]

    try:
        writing = start(fe.fe.write_all(to_board))
        # The board is not reading: the output waits in the transport when the change starts.
        await wait_until(lambda: chardev.port.transport.get_write_buffer_size() > 0, what="queued output")
        change = start(serial_set(live_session, "s", baud=9600, stop="2", flow="rtscts"))
        feeding = start(feed(device, from_board))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not change.done()  # it waits for the queued output to leave at the old settings
        received = await read_exactly(device, len(to_board))  # the board reads now
        assert await change == {}
        await writing
        await feeding
    finally:
        for task in tasks:
            task.cancel()
    assert received == to_board
    assert await fe.wait_data(len(from_board)) == from_board
    assert fe.events == [E.OPENED] and not fe.mismatch  # no CLOSED, no second OPENED
    attrs = port_attrs(chardev)
    assert attrs[4] == attrs[5] == termios.B9600
    assert attrs[2] & (termios.CSTOPB | termios.CRTSCTS) == termios.CSTOPB | termios.CRTSCTS
    assert attrs[2] & termios.CSIZE == termios.CS8 and not attrs[2] & termios.PARENB
    info = (await commands.run(commands.Context(live_session), "query-chardev", {}))[0]
    assert info["settings"] == "9600,8N2,rtscts" and "error" not in info
    assert chardev.settings_dict() == {"baud": 9600, "bits": 8, "parity": "none", "stop": "2",
                                       "flow": "rtscts"}
    assert ("chardev", f"serial,id=s,path={device.slave_path},baud=9600,stop=2,flow=rtscts") in \
        profile_of(live_session).steps
    assert [e.kind for e in heard if e.chardev_id == "s"] == ["settings"]


async def test_refused_settings_leave_the_old_ones_in_place(live_session, device):
    chardev, fe = await open_serial_port(live_session, device)
    expected = f"cannot set 7 data bits on {device.slave_path}: {pty_answer_to_7_bits()}"
    with pytest.raises(commands.CommandError) as raised:
        await serial_set(live_session, "s", baud=9600, bits=7)  # the speed is applied, then put back
    assert raised.value.desc == expected
    attrs = port_attrs(chardev)
    assert attrs[4] == attrs[5] == termios.B115200
    assert chardev.settings == "115200,8N1" and chardev.spec.options.bits == 8
    assert chardev.error is None and fe.events == [E.OPENED]
    fe.fe.write(b"still")  # the port works as before
    assert await read_device(device, b"still")
    os.write(device.master, b"here")
    assert await fe.wait_data(4) == b"here"


async def test_serial_set_over_a_real_qmp_session(live_session, device, tmp_path):
    from test_qmp import QmpClient, qmp_session

    chardev, fe = await open_serial_port(live_session, device)
    client = await QmpClient.open(await qmp_session(live_session, tmp_path))
    try:
        assert await client.cmd("qmp_capabilities") == {"return": {}}
        assert await client.cmd("serial-set", id="s", baud=57600, parity="none") == {"return": {}}
        assert port_attrs(chardev)[4] == termios.B57600
        answer = await client.cmd("serial-set", id="s", bits=7)
        assert answer == {"error": {"class": "GenericError", "desc":
                          f"cannot set 7 data bits on {device.slave_path}: {pty_answer_to_7_bits()}"}}
        assert await client.cmd("serial-set", id="s", stop=1) == {"error": {
            "class": "GenericError", "desc": "Invalid parameter type for 'stop', expected: string"}}
        chardevs = (await client.cmd("query-chardev"))["return"]
        assert [c["settings"] for c in chardevs if c["label"] == "s"] == ["57600,8N1"]
        assert not [e for e in client.events if e["data"]["id"] == "s"]  # no CHARDEV_CLOSED/OPENED
    finally:
        await client.close()
    assert fe.events == [E.OPENED]


async def test_serial_set_from_the_readline_monitor_on_a_mux(live_session, device, tmp_path):
    from test_readline_monitor import Terminal

    await live_session.chardevs.add("con", f"serial,path={device.slave_path},mux=on")
    fe = Recorder(live_session.chardevs.get("con"), owner="console").install()
    await fe.wait_event(E.OPENED)
    path = tmp_path / "mon.sock"
    await live_session.apply([("chardev", f"socket,id=mon,path={path},server=on,wait=off"),
                         ("mon", "chardev=mon,mode=readline")])
    reader, writer = await asyncio.open_unix_connection(str(path))
    term = Terminal(reader, writer)
    try:
        await term.expect("(tuicon) ")
        assert await term.run("serial_set con baud=19200,stop=2,flow=none") == ""
        base = live_session.chardevs.get("con-base")  # mux=on: the id reaches the serial under the mux
        assert port_attrs(base)[4] == termios.B19200 and base.settings == "19200,8N2"
        assert await term.run("serial_set con") == "Error: usage: serial_set id setting=value[,...]\r\n"
        assert await term.run("serial_set con baud=fast") == \
            "Error: Parameter 'baud' expects a number, not 'fast'\r\n"
        assert await term.run("serial_set con dtr=maybe") == \
            "Error: Parameter 'dtr' expects 'on' or 'off'\r\n"
        assert await term.run("serial_set con baud=1,baud=2") == \
            "Error: Parameter 'baud' given more than once\r\n"
        assert await term.run("serial_set mon baud=9600") == \
            "Error: Chardev 'mon' is not a serial port (it is a socket)\r\n"
        assert "serial_set id setting=value[,...]" in await term.run("help serial_set")
    finally:
        writer.close()
        await writer.wait_closed()
    assert ("chardev", f"serial,id=con,path={device.slave_path},baud=19200,stop=2,mux=on") in \
        profile_of(live_session).steps
    assert fe.events.count(E.OPENED) == 1 and E.CLOSED not in fe.events


async def test_an_unplugged_port_takes_the_settings_for_its_next_open(live_session, device):
    await live_session.chardevs.add("s", f"serial,path={device.link},reconnect-ms=20")
    chardev = live_session.chardevs.get("s")
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    device.unplug()
    await fe.wait_event(E.CLOSED)
    assert await serial_set(live_session, "s", baud=9600, stop="2") == {}
    assert chardev.settings == "9600,8N2"
    device.plug()
    await fe.wait_event(E.OPENED, 2)
    attrs = port_attrs(chardev)
    assert attrs[4] == termios.B9600 and attrs[2] & termios.CSTOPB


async def test_a_port_not_yet_connected_opens_with_the_new_settings(live_session, device):
    await live_session.chardevs.add("s", f"serial,path={device.link}")
    chardev = live_session.chardevs.get("s")
    assert await serial_set(live_session, "s", baud=38400) == {}
    assert chardev.attempts == 0 and chardev.connect_postponed  # nothing opened behind anyone's back
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    assert port_attrs(chardev)[4] == termios.B38400


async def test_a_port_whose_open_was_refused_tries_the_new_settings(live_session, device):
    await live_session.chardevs.add("s", f"serial,path={device.slave_path},bits=7")
    chardev = live_session.chardevs.get("s")
    fe = Recorder(chardev, connect=False).install()
    with pytest.raises(ChardevError, match="^cannot set 7 data bits on "):
        await asyncio.wait_for(fe.fe.wait_connected(), TIMEOUT)
    assert await serial_set(live_session, "s", bits=8) == {}
    await asyncio.wait_for(fe.fe.wait_connected(), TIMEOUT)
    assert chardev.attempts == 2 and chardev.error is None and fe.events == [E.OPENED]


def pty_modem_line_answer() -> str | None:
    """None when this kernel's ptys have modem lines (TIOCMBIC works); else why not."""
    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCMBIC, struct.pack("I", termios.TIOCM_DTR))
        return None
    except OSError as err:
        return os.strerror(err.errno)
    finally:
        os.close(master)
        os.close(slave)


async def test_dtr_and_rts(live_session, device):
    chardev, fe = await open_serial_port(live_session, device)
    reason = pty_modem_line_answer()
    if reason is None:  # a kernel whose ptys have modem lines: look at them
        assert await serial_set(live_session, "s", dtr=False, rts=False) == {}
        lines = struct.unpack("I", fcntl.ioctl(chardev.port.transport.serial.fd, termios.TIOCMGET,
                                               b"\0" * 4))[0]
        assert not lines & (termios.TIOCM_DTR | termios.TIOCM_RTS)
    else:  # Linux: a pty has no modem lines, and the error says so in the kernel's words
        for name, value, action in (("dtr", False, "lower DTR"), ("rts", True, "raise RTS")):
            with pytest.raises(commands.CommandError) as raised:
                await serial_set(live_session, "s", **{name: value})
            assert raised.value.desc == f"cannot {action} on {device.slave_path}: {reason}"
    with pytest.raises(commands.CommandError) as raised:
        await serial_set(live_session, "s", flow="rtscts", rts=False)
    assert raised.value.desc == (f"cannot lower RTS on {device.slave_path}: RTS/CTS flow control drives "
                                 "it (set flow=none first)")
    assert chardev.settings == "115200,8N1"  # refused before anything changed
    assert fe.events == [E.OPENED]


async def test_a_timed_break_holds_the_output_and_is_counted(live_session, device):
    chardev, fe = await open_serial_port(live_session, device)
    loop = asyncio.get_running_loop()
    started = loop.time()
    breaking = asyncio.ensure_future(serial_set(live_session, "s", **{"break-ms": 40}))
    await asyncio.sleep(0)  # the break is on: output waits for it to end
    assert fe.fe.write(b"after") == 0
    with pytest.raises(ChardevError, match="^Chardev 's' is already being changed; "):
        await live_session.chardevs.change("s", f"serial,path={device.slave_path}")
    writing = asyncio.ensure_future(fe.fe.write_all(b"after the break"))
    assert await breaking == {}
    assert loop.time() - started >= 0.04 and chardev.breaks_sent == 1
    await writing
    assert await read_device(device, b"after the break") == b"after the break"
    assert await serial_set(live_session, "s", **{"break-ms": 5}) == {}
    assert chardev.breaks_sent == 2 and chardev.error is None and fe.events == [E.OPENED]


@pytest.mark.parametrize(("chardev_id", "settings", "error"), [
    ("nope", {"baud": 9600}, "Chardev 'nope' not found"),
    ("r", {"baud": 9600}, "Chardev 'r' is not a serial port (it is a ringbuf)"),
    ("s", {}, "serial-set: nothing to set (give baud, bits, parity, stop, flow, dtr, rts or break-ms)"),
    ("s", {"parity": "bogus"},
     "Parameter 'parity' does not accept value 'bogus' (allowed: none, even, odd, mark, space)"),
    ("s", {"bits": 9}, "Parameter 'bits' must be 5, 6, 7 or 8 (got 9)"),
    ("s", {"baud": 0}, "Parameter 'baud' must be a speed from 1 to 20000000 (got 0)"),
    ("s", {"stop": "1.5"}, "Parameter 'stop' can be 1.5 only with bits=5 (got bits=8)"),
    ("s", {"stop": 2}, "Invalid parameter type for 'stop', expected: string"),
    ("s", {"dtr": "on"}, "Invalid parameter type for 'dtr', expected: boolean"),
    ("s", {"speed": 9600}, "Parameter 'speed' is unexpected"),
    ("s", {"break-ms": 0}, "Parameter 'break-ms' must be from 1 to 10000 milliseconds (got 0)"),
    ("s", {"break-ms": -250}, "Parameter 'break-ms' must be from 1 to 10000 milliseconds (got -250)"),
    ("s", {"break-ms": 3_600_000},
     "Parameter 'break-ms' must be from 1 to 10000 milliseconds (got 3600000)"),
    ("s", {"dtr": True}, "cannot raise DTR on {path}: the port is not open"),
    ("s", {"baud": 9600, "break-ms": 250}, "cannot send a break on {path}: the port is not open"),
])
async def test_serial_set_errors_are_one_line(live_session, device, chardev_id, settings, error):
    await live_session.chardevs.add("r", "ringbuf")
    await live_session.chardevs.add("s", f"serial,path={device.slave_path}")  # not connected yet
    with pytest.raises(commands.CommandError) as raised:
        await serial_set(live_session, chardev_id, **settings)
    assert raised.value.desc == error.format(path=device.slave_path)
    assert "\n" not in raised.value.desc
    assert live_session.chardevs.get("s").settings == "115200,8N1"  # nothing changed
