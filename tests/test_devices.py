"""Devices: echo and bridge (flow control, BREAK, errors), through the device table."""

from __future__ import annotations

import asyncio
import os
import tty

import pytest

from typing import ClassVar

from tuicon.chardev import Chardev, ChardevBusy, ChardevError, ChardevEvent, InvalidOption
from tuicon.chardev.registry import register, unregister

from helpers import wait_until


async def test_echo_sends_everything_back(session):
    chardevs, devices = session
    await chardevs.add("m", "mux-be")
    await chardevs.add("r", "ringbuf,size=4096,mux-be-id=m")
    await devices.add_cli("echo,id=e,chardev=m,map=none")  # a loopback plug: bytes unchanged
    chardevs.get("r").be_write(b"ping\r")
    assert chardevs.ringbuf_read("r", 100) == "ping\r"
    chardevs.get("r").be_event(ChardevEvent.BREAK)
    assert devices.get("e").breaks == 1
    assert devices.query() == [{"id": "e", "driver": "echo", "chardevs": ["m"], "echoed": 5}]


async def test_bridge_both_ways_with_a_slow_side(session, tmp_path):
    """A pty peer that reads slowly: nothing lost, and the bridge stops reading meanwhile."""
    chardevs, devices = session
    os.mkfifo(tmp_path / "a.in")
    os.mkfifo(tmp_path / "a.out")
    await chardevs.add("a", f"pipe,path={tmp_path}/a")
    result = await chardevs.add("b", "pty")
    await devices.add_cli("bridge,id=br,chardev=a,peer=b")
    peer = os.open(result["pty"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    feeder = os.open(tmp_path / "a.in", os.O_WRONLY | os.O_NONBLOCK)
    try:
        tty.setraw(peer)
        await wait_until(lambda: chardevs.get("b").be_open, what="pty open")
        stream = bytes(range(256)) * 2048  # 512 KiB, more than pipes and ptys hold
        got = bytearray()
        sent = 0
        deadline = asyncio.get_running_loop().time() + 20
        while len(got) < len(stream):
            assert asyncio.get_running_loop().time() < deadline, f"stalled at {len(got)}"
            if sent < len(stream):
                try:
                    sent += os.write(feeder, stream[sent:sent + 4096])
                except BlockingIOError:
                    pass
            try:
                got += os.read(peer, 1024)  # the slow side
            except BlockingIOError:
                await asyncio.sleep(0)  # one loop turn for the bridge
        assert bytes(got) == stream
        bridge = devices.get("br")
        assert bridge.a_to_b.moved == len(stream) and bridge.a_to_b.dropped == 0
        os.write(peer, b"back")  # and the other way
        reader = os.open(tmp_path / "a.out", os.O_RDONLY | os.O_NONBLOCK)
        try:
            back = bytearray()

            def read_back() -> bool:
                try:
                    back.extend(os.read(reader, 100))
                except BlockingIOError:
                    pass
                return back == b"back"

            await wait_until(read_back, what="data from b to a")
        finally:
            os.close(reader)
    finally:
        os.close(feeder)
        os.close(peer)


class LineChardev(Chardev):
    """A test backend that records line breaks sent on it (as a serial port would send)."""

    type_name: ClassVar[str] = "test-line"
    breaks_sent = 0

    def _send_break(self) -> None:
        self.breaks_sent += 1


async def test_break_crosses_the_bridge(session):
    chardevs, devices = session
    register()(LineChardev)
    try:
        await chardevs.add("a", "test-line")
        await chardevs.add("b", "test-line")
        await devices.add_cli("bridge,id=br,chardev=a,peer=b")
        a, b = chardevs.get("a"), chardevs.get("b")
        chardevs.send_break("a")  # a BREAK arrives on a ...
        assert (a.breaks_sent, b.breaks_sent) == (0, 1)  # ... and is sent on b's line
        chardevs.send_break("b")  # and the other way
        assert (a.breaks_sent, b.breaks_sent) == (1, 1)
    finally:
        unregister("test-line")


async def test_device_errors(session):
    chardevs, devices = session
    await chardevs.add("a", "ringbuf")
    with pytest.raises(ChardevError, match="^'nope' is not a valid device model name"):
        await devices.add_cli("nope,id=x")
    with pytest.raises(InvalidOption, match="^Property 'bridge.peer' can't find value 'b'$"):
        await devices.add_cli("bridge,id=x,chardev=a,peer=b")
    assert devices.ids() == [] and not chardevs.get("a").busy  # nothing half-made
    with pytest.raises(InvalidOption, match="Parameter 'peer' is missing"):
        await devices.add_cli("bridge,id=x,chardev=a")
    await devices.add_cli("echo,id=e,chardev=a")
    with pytest.raises(ChardevError, match="^Duplicate device ID 'e'$"):
        await devices.add("echo", "e", {"chardev": "a"})
    with pytest.raises(ChardevError, match="chardev 'a' is already in use"):
        await devices.add("echo", "e2", {"chardev": "a"})
    with pytest.raises(ChardevBusy, match="^Chardev 'a' is busy$"):
        await chardevs.remove("a")
    with pytest.raises(ChardevError, match="^Device 'x' not found$"):
        await devices.remove("x")
    await devices.remove("e")
    await chardevs.remove("a")  # free once its device is gone


async def test_generated_ids(session):
    chardevs, devices = session
    await chardevs.add("a", "null")
    await chardevs.add("b", "null")
    first = await devices.add("echo", None, {"chardev": "a"})
    second = await devices.add("echo", None, {"chardev": "b"})
    assert (first.id, second.id) == ("echo0", "echo1")


def pty_ends_with(fd: int, into: bytearray, expected: bytes) -> bool:
    """Take what the pty has now (non-blocking) into ``into``; does it end with ``expected``?"""
    try:
        into += os.read(fd, 65536)
    except BlockingIOError:
        pass
    return into.endswith(expected)


async def test_echo_answers_enter_like_a_terminal_through_a_pty(session):
    """What a user at picocom sees: each typed line on its own line, CR LF never doubled."""
    chardevs, devices = session
    result = await chardevs.add("p", "pty")
    await devices.add_cli("echo,id=e,chardev=p")
    peer = os.open(result["pty"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tty.setraw(peer)
        await wait_until(lambda: chardevs.get("p").be_open, what="pty open")
        got = bytearray()
        # Enter as a terminal sends it (CR), a CR LF split across two writes, a bare LF.
        for typed, shown in ((b"one\r", b"one\r\n"), (b"two\r", b"two\r\n"),
                             (b"\nthree\r\n", b"three\r\n"), (b"four\n", b"four\n")):
            os.write(peer, typed)
            await wait_until(lambda: pty_ends_with(peer, got, shown), what=f"echo of {typed!r}")
        assert bytes(got) == b"one\r\ntwo\r\nthree\r\nfour\n"
        assert devices.get("e").describe()["echoed"] == len(got)
    finally:
        os.close(peer)


async def test_echo_map_is_checked(session):
    chardevs, devices = session
    await chardevs.add("a", "null")
    with pytest.raises(InvalidOption, match="map"):
        await devices.add_cli("echo,id=e,chardev=a,map=lfcr")
    assert devices.ids() == []
