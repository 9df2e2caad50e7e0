"""The virtual console, headless: screen model, input path, and staying off the data path."""

from __future__ import annotations

import asyncio

import pytest

from tuicon.chardev import CharFrontend, InvalidOption

from helpers import Recorder


async def vc(manager, spec: str = "vc"):
    await manager.add("con", spec)
    chardev = manager.get("con")
    return chardev, Recorder(chardev).install()


async def test_text_colours_and_cursor(manager):
    screen, fe = await vc(manager, "vc,cols=40,rows=10")
    assert screen.size == (40, 10)
    fe.fe.write(b"plain \x1b[31;1mred bold\x1b[0m\r\nnext")
    await screen.idle()
    assert screen.lines()[0].rstrip() == "plain red bold"
    assert screen.lines()[1].rstrip() == "next"
    cells = screen.line_chars(0)
    assert cells[0].fg == "default"
    assert cells[6].fg == "red" and cells[6].bold
    assert screen.cursor == (4, 1)
    fe.fe.write(b"\x1b[?25l")
    await screen.idle()
    assert not screen.cursor_visible


async def test_scrollback_keeps_lines_that_scrolled_off(manager):
    screen, fe = await vc(manager, "vc,cols=20,rows=3,scrollback=5")
    fe.fe.write(b"".join(b"line %d\r\n" % i for i in range(10)))
    await screen.idle()
    assert screen.scrollback() == [f"line {i}" for i in range(3, 8)]  # the newest 5
    assert [line.rstrip() for line in screen.lines()] == ["line 8", "line 9", ""]


async def test_keyboard_and_terminal_replies_reach_the_frontend(manager):
    screen, fe = await vc(manager)
    screen.send_input("ls\r")
    assert bytes(fe.data) == b"ls\r"
    fe.data.clear()
    fe.fe.write(b"\x1b[3;5H\x1b[6n")  # move, then ask where the cursor is
    await screen.idle()
    assert bytes(fe.data) == b"\x1b[3;5R"


async def test_input_waits_for_a_frontend_that_cannot_read(manager):
    screen, fe = await vc(manager)
    fe.capacity = 3
    screen.send_input(b"abcdef")
    assert bytes(fe.data) == b"abc"
    assert fe.take() == b"abc"  # accept_input delivers the rest
    assert bytes(fe.data) == b"def"


async def test_every_byte_accepted_at_once_and_jump_ahead(manager):
    screen, fe = await vc(manager, "vc,scrollback=10000")
    lines = b"".join(b"output line %07d\r\n" % i for i in range(1_000_000))  # ~21 MB
    view = memoryview(lines)
    for start in range(0, len(lines), 1 << 20):
        chunk = view[start:start + (1 << 20)]
        assert fe.fe.write(chunk) == len(chunk)  # never back-pressures
    assert screen.backlog <= 4 * screen.budget  # memory stays bounded
    await asyncio.wait_for(screen.idle(), 30)
    assert screen.jumps >= 1 and screen.skipped_bytes > 0
    assert screen.fed_bytes + screen.skipped_bytes >= len(lines)
    # The screen shows the newest output, and the scrollback says what was skipped.
    assert screen.lines()[-2].startswith("output line 0999999")
    assert any("tuicon: skipped" in line for line in screen.scrollback())


async def test_resize_and_options(manager):
    screen, fe = await vc(manager, "vc,width=640,height=480")
    assert screen.size == (80, 30)  # QEMU's pixels: 8x16 per cell
    screen.resize(100, 40)
    assert screen.size == (100, 40)
    assert manager.info(screen).extra["cols"] == 100
    with pytest.raises(InvalidOption, match="Parameter 'cols' must be between 2 and 1000"):
        await manager.add("bad", "vc,cols=1")


async def test_close_cancels_the_feeder(manager):
    screen, fe = await vc(manager)
    fe.fe.write(b"x" * 200_000)
    fe.fe.detach()
    await manager.remove("con")  # the fixture checks that no task is left
    assert screen.closed


async def test_vc_as_a_mux_be_member_never_slows_the_others(manager, tmp_path):
    await manager.add("hub", "mux-be")
    await manager.add("screen", "vc,mux-be-id=hub")
    await manager.add("log", f"file,path={tmp_path}/log,mux-be-id=hub")
    fe = CharFrontend(manager.get("hub"))
    data = b"0123456789abcdef\n" * 300_000  # 5 MB
    assert fe.write(data) == len(data)  # in one call: the vc took it all at once
    assert (tmp_path / "log").read_bytes() == data
