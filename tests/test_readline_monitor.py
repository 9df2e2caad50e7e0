"""The readline monitor: prompt, line editing, history, commands and errors (real UNIX socket)."""

from __future__ import annotations

import asyncio

import pytest

from tuicon.monitor.readline import LineEditor
from tuicon.session import Session

from conftest import assert_no_leaks, open_fds


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
