"""``serial`` with a real pty pair as the device: settings, data, BREAK, unplug and return."""

from __future__ import annotations

import os
import termios
import tty

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, Feature, InvalidOption

from helpers import Recorder, wait_until

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
        assert manager.info(chardev).extra["error"].startswith("device lost")
        assert fe.fe.write(b"into the void") == 13  # never blocks while unplugged
        device.plug()
    await fe.wait_event(E.OPENED, 3)
    assert not fe.mismatch


async def test_missing_device_without_reconnect(manager, tmp_path):
    await manager.add("s", f"serial,path={tmp_path}/ttyUSB9")  # creating only validates
    fe = Recorder(manager.get("s"), connect=False).install()
    with pytest.raises(ChardevError, match=f"cannot open {tmp_path}/ttyUSB9"):
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
