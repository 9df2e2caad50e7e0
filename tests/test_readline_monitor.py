"""The readline monitor: prompt, line editing, history, commands and errors (real UNIX socket)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tuicon.chardev import InvalidOption
from tuicon.monitor.readline import MAX_LINE, LineEditor
from tuicon.session import Session

from conftest import assert_no_leaks, open_fds
from helpers import wait_until


@pytest.fixture
async def monitor(tmp_path):
    before = open_fds()
    session = Session()
    path = tmp_path / "mon.sock"
    await session.apply([("chardev", f"socket,id=mon,path={path},server=on,wait=off"),
                         ("mon", "chardev=mon,mode=readline")])
    reader, writer = await asyncio.open_unix_connection(str(path))
    term = Terminal(reader, writer)
    await term.expect("(tuicon) ")
    yield session, term
    writer.close()
    await writer.wait_closed()
    await session.close()
    await assert_no_leaks(before)


class Terminal:
    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer
        self.seen = b""

    async def expect(self, text: str) -> str:
        """Everything up to and including ``text``; it is consumed."""
        wanted = text.encode()
        async with asyncio.timeout(5):
            while wanted not in self.seen:
                self.seen += await self.reader.read(4096)
        before, _, self.seen = self.seen.partition(wanted)
        return (before + wanted).decode()

    async def run(self, line: str) -> str:
        self.writer.write(line.encode() + b"\r")
        out = await self.expect("(tuicon) ")
        return out.removesuffix("(tuicon) ").split("\r\n", 1)[1] if "\r\n" in out else ""


async def test_commands(monitor):
    session, term = monitor
    assert "chardev-add args" in await term.run("help")
    assert await term.run("help quit") == "quit  -- stop tuicon\r\n"
    assert await term.run("chardev-add ringbuf,id=r,size=64") == ""
    assert await term.run("ringbuf_write r hello world") == ""
    assert await term.run("ringbuf_read r 100") == "hello world\r\n"
    out = await term.run("chardev-add pty,id=p")
    assert out.startswith("char device redirected to /dev/pts/") and out.endswith("(label p)\r\n")
    assert "r: filename=ringbuf\r\n" in await term.run("info chardev")
    assert await term.run("device_add echo,id=e,chardev=r") == ""
    assert await term.run("info devices") == "e: driver=echo chardevs=r\r\n"
    assert await term.run("chardev-remove r") == "Error: Chardev 'r' is busy\r\n"
    assert await term.run("device_del e") == ""
    assert await term.run("chardev-change r null") == ""
    assert session.chardevs.get("r").type_name == "null"
    assert await term.run("chardev-send-break r") == ""
    assert await term.run("chardev-remove r") == ""
    assert await term.run("frobnicate") == "Error: unknown command: 'frobnicate' (try 'help')\r\n"
    assert await term.run("ringbuf_read") == "Error: usage: ringbuf_read device size\r\n"
    assert (await term.run("chardev-add bogus,id=x")).startswith("Error: 'bogus' is not a valid char driver name (available: file,")


async def test_quit(monitor):
    session, term = monitor
    quits = []
    session.on_quit(quits.append)
    term.writer.write(b"quit\r")
    await term.expect("(tuicon) ")
    assert quits == ["quit from monitor on 'mon'"]


async def test_editing_and_history_over_the_wire(monitor):
    session, term = monitor
    # Typo, backspace twice, fix: the command that runs is the corrected one.
    term.writer.write(b"info chardevxx\x7f\x7f\r")
    assert "mon: filename=unix:" in await term.expect("(tuicon) ")
    term.writer.write(b"\x1b[A\r")  # up: the last line again
    assert "mon: filename=unix:" in await term.expect("(tuicon) ")


def test_line_editor():
    ed = LineEditor()
    for ch in "helo":
        ed.key(ch)
    ed.key("\x1b"), ed.key("["), ed.key("D")  # left
    assert ed.key("l") == ("lo\b", None)  # inserted before the cursor, tail redrawn
    assert ed.key("\r") == ("\r\n", "hello")
    for ch in "abc":
        ed.key(ch)
    ed.key("\x15")  # C-u
    assert ed.line == ""
    ed.key("\x1b"), ed.key("["), ed.key("A")
    assert ed.line == "hello"
    ed.key("\x1b"), ed.key("["), ed.key("B")
    assert ed.line == ""
    assert ed.key("\x03")[0].startswith("^C")


# --- hardening: any argument, any failure, long lines, shared muxes ---------------------


async def test_any_argument_gives_an_error_and_the_prompt(monitor):
    session, term = monitor
    assert await term.run("chardev-add ringbuf,id=r,size=64") == ""
    assert await term.run("ringbuf_read r ²") == "Error: Parameter 'size' expects a number, not '²'\r\n"
    assert await term.run("ringbuf_read r 99999999999999999999999") == (
        "Error: Parameter 'size' expects a number, not '99999999999999999999999'\r\n")
    assert await term.run("ringbuf_read r 0") == "Error: size must be greater than zero\r\n"
    assert (await term.run("chardev-add socket,id=s,port=٣")).startswith("Error: ")
    assert await term.run("ringbuf_read r 18446744073709551615") == "\r\n"  # 2^64-1: an empty read


async def test_an_unexpected_failure_is_an_error_line(monitor, monkeypatch, caplog):
    session, term = monitor

    def broken():
        raise AttributeError("'NoneType' object has no attribute 'label'")

    monkeypatch.setattr(session.chardevs, "query", broken)
    assert await term.run("info chardev") == (
        "Error: 'info' failed unexpectedly: 'NoneType' object has no attribute 'label'\r\n")
    assert len([r for r in caplog.records if r.exc_info]) == 1
    monkeypatch.undo()
    assert "mon: filename=unix:" in await term.run("info chardev")


async def test_the_monitors_own_chardev_cannot_be_swapped(monitor):
    session, term = monitor
    out = await term.run("chardev-change mon null")
    assert out.startswith("Error: Chardev user does not support chardev hotswap")
    assert session.chardevs.get("mon").type_name == "socket"


async def test_a_split_character_and_a_long_line_over_the_wire(monitor):
    session, term = monitor
    term.writer.write(b"help caf\xc3")
    await term.writer.drain()
    await term.expect("help caf")
    term.writer.write(b"\xa9\r")
    assert "unknown command: 'café'" in await term.expect("(tuicon) ")
    # 200,000 characters in one go: echoed in a few sends, not one per character.
    mon = session.monitors.monitors[0]
    sends = 0
    original = mon.send

    def counting(data: bytes) -> None:
        nonlocal sends
        sends += 1
        original(data)

    mon.send = counting
    term.writer.write(b"x" * 200_000 + b"\r")
    out = await term.expect("(tuicon) ")
    assert out.count("x") >= 400_000  # the echo, then the error naming the command
    assert sends < 40


def test_the_line_editor_is_linear():
    ed = LineEditor()
    started = time.perf_counter()
    echo = [ed.key("x")[0] for _ in range(200_000)]
    assert sum(map(len, echo)) == 200_000  # each key echoes itself only
    assert ed.key("\r") == ("\r\n", "x" * 200_000)
    assert time.perf_counter() - started < 2  # a loose bound; it takes a few tens of ms
    # Editing in the middle redraws only the tail.
    for ch in "abcdef":
        ed.key(ch)
    for _ in range(3):
        ed.key("\x1b"), ed.key("["), ed.key("D")
    assert ed.key("X") == ("Xdef\b\b\b", None)
    assert ed.key("\x7f") == ("\bdef \b\b\b\b", None)
    assert ed.line == "abcdef"
    # Past the cap, typing is ignored: a line never grows without bound.
    for _ in range(MAX_LINE + 10):
        ed.key("y")
    assert len(ed.line) == MAX_LINE


async def mux_console(tmp_path, extra: str = ""):
    """A TCP socket with mux=on, shared by an echo device and a readline monitor."""
    session = Session()
    await session.apply([
        ("chardev", "socket,id=con,host=127.0.0.1,port=0,server=on,wait=off,mux=on"),
        ("device", "echo,id=dev,chardev=con"),
        ("mon", f"chardev=con,mode=readline{extra}"),
    ])
    port = session.chardevs.get("con-base").port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return session, Terminal(reader, writer)


async def test_a_remote_peer_reaches_a_shared_monitor_with_c_a_c(tmp_path):
    before = open_fds()
    session, term = await mux_console(tmp_path)
    assert any("shares a mux with network socket 'con-base'" in w for w in session.monitors.warnings)
    mux = session.chardevs.get("con")
    await wait_until(lambda: mux.focused_owner() is not None)
    if "monitor" not in mux.focused_owner():
        term.writer.write(b"\x01c")
    await wait_until(lambda: "monitor" in (mux.focused_owner() or ""), what="monitor focused")
    await term.expect("(tuicon) ")
    assert "unknown command" in await term.run("frobnicate")  # as QEMU's mon:, documented
    term.writer.close()
    await session.close()
    await assert_no_leaks(before)


async def test_local_only_keeps_a_remote_peer_away_from_the_monitor(tmp_path):
    before = open_fds()
    session, term = await mux_console(tmp_path, ",local-only=on")
    assert not any("shares a mux" in w for w in session.monitors.warnings)
    mux = session.chardevs.get("con")
    await wait_until(lambda: mux.focused_owner() is not None)
    for _ in range(3):  # C-a c, again and again: never the monitor
        term.writer.write(b"\x01c")
        term.writer.write(b"ping\n")
        assert "ping" in await term.expect("ping")
        assert "monitor" not in mux.focused_owner()
    assert b"(tuicon) " not in term.seen
    term.writer.close()
    # Once the base is a local console (the vc), the monitor is reachable again.
    await session.chardevs.change("con-base", "vc")
    vc = session.chardevs.get("con-base")
    vc.be_write(b"\x01c")
    await wait_until(lambda: "monitor" in (mux.focused_owner() or ""), what="monitor reachable")
    await session.close()
    await assert_no_leaks(before)


async def test_local_only_needs_a_mux(tmp_path):
    session = Session()
    await session.chardevs.add("s", "socket,host=127.0.0.1,port=0,server=on,wait=off")
    with pytest.raises(InvalidOption, match="Parameter 'local-only' needs a chardev with mux=on"):
        await session.apply([("mon", "chardev=s,local-only=on")])
    await session.close()
