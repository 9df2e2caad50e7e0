"""The virtual console, headless: screen model, input path, and staying off the data path.

Every test runs once per installed engine (the ``engine`` fixture): the vc
must behave the same whichever screen model parses its output.
"""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace

import pytest

from tuicon.chardev import CharFrontend, InvalidOption
from tuicon.chardev.backends.vc import MAX_BUDGET
from tuicon.chardev.screen import GHOSTTY_MISSING, ghostty_available
from tuicon.chardev.screen.base import BOLD
from tuicon.chardev.screen.pyte_engine import MAX_CELL_TEXT, MAX_SEQUENCE, SAVED_CURSORS
from tuicon.monitor.commands import query_vc

from helpers import Recorder

ENGINES = [
    pytest.param("pyte", id="pyte"),
    pytest.param("ghostty", id="ghostty", marks=pytest.mark.skipif(
        not ghostty_available(), reason="pyghostty (tuicon[ghostty]) does not install or load here")),
]
"""Every engine, for ``pytest.mark.parametrize``; one that cannot load is skipped, saying why."""


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def vc(manager, engine):
    """``await vc(spec)``: a vc on the engine under test, with a recording frontend."""
    async def make(spec: str = "vc"):
        await manager.add("con", f"{spec},engine={engine}")
        chardev = manager.get("con")
        assert chardev.engine == engine
        return chardev, Recorder(chardev).install()
    return make


async def test_text_colours_and_cursor(vc):
    screen, fe = await vc("vc,cols=40,rows=10")
    assert screen.size == (40, 10)
    fe.fe.write(b"plain \x1b[31;1mred bold\x1b[0m\r\nnext")
    await screen.idle()
    assert screen.lines()[0].rstrip() == "plain red bold"
    assert screen.lines()[1].rstrip() == "next"
    cells = screen.line_cells(0)
    assert (cells[0].char, cells[0].fg, cells[0].attrs) == ("p", None, 0)
    assert cells[6].char == "r" and cells[6].fg == 1 and cells[6].attrs & BOLD  # palette red
    assert screen.cursor == (4, 1)
    fe.fe.write(b"\x1b[?25l")
    await screen.idle()
    assert not screen.cursor_visible


async def test_scrollback_keeps_lines_that_scrolled_off(vc):
    screen, fe = await vc("vc,cols=20,rows=3,scrollback=5")
    fe.fe.write(b"".join(b"line %d\r\n" % i for i in range(10)))
    await screen.idle()
    assert screen.scrollback() == [f"line {i}" for i in range(3, 8)]  # the newest 5
    assert [line.rstrip() for line in screen.lines()] == ["line 8", "line 9", ""]


async def test_keyboard_and_terminal_replies_reach_the_frontend(vc):
    screen, fe = await vc()
    screen.send_input("ls\r")
    assert bytes(fe.data) == b"ls\r"
    fe.data.clear()
    fe.fe.write(b"\x1b[3;5H\x1b[6n")  # move, then ask where the cursor is
    await screen.idle()
    assert bytes(fe.data) == b"\x1b[3;5R"


async def test_input_waits_for_a_frontend_that_cannot_read(vc):
    screen, fe = await vc()
    fe.capacity = 3
    screen.send_input(b"abcdef")
    assert bytes(fe.data) == b"abc"
    assert fe.take() == b"abc"  # accept_input delivers the rest
    assert bytes(fe.data) == b"def"


async def test_every_byte_accepted_at_once_and_jump_ahead(vc):
    screen, fe = await vc("vc,scrollback=10000")
    lines = b"".join(b"output line %07d\r\n" % i for i in range(1_000_000))  # ~21 MB
    view = memoryview(lines)
    for start in range(0, len(lines), 1 << 20):
        chunk = view[start:start + (1 << 20)]
        assert fe.fe.write(chunk) == len(chunk)  # never back-pressures
        assert screen.backlog <= 4 * MAX_BUDGET  # memory stays bounded, however fast pyte seems
    assert screen.backlog <= 4 * screen.budget
    await asyncio.wait_for(screen.idle(), 30)
    assert screen.jumps >= 1 and screen.skipped_bytes > 0
    assert screen.fed_bytes + screen.skipped_bytes >= len(lines)
    # The screen shows the newest output, and the scrollback says what was skipped.
    assert screen.lines()[-2].startswith("output line 0999999")
    assert any("tuicon: skipped" in line for line in screen.scrollback())


async def test_resize_and_options(manager, vc):
    screen, fe = await vc("vc,width=640,height=480")
    assert screen.size == (80, 30)  # QEMU's pixels: 8x16 per cell
    screen.resize(100, 40)
    assert screen.size == (100, 40)
    assert manager.info(screen).extra["cols"] == 100
    with pytest.raises(InvalidOption, match="Parameter 'cols' must be between 2 and 1000"):
        await manager.add("bad", "vc,cols=1")


async def test_size_and_scrollback_are_capped(manager, vc):
    for spec, error in (
        ("vc,cols=1001", r"Parameter 'cols' must be between 2 and 1000 \(got 1001\)"),
        ("vc,width=8008", r"Parameter 'cols' must be between 2 and 1000 \(got 1001\)"),
        ("vc,rows=501", r"Parameter 'rows' must be between 1 and 500 \(got 501\)"),
        ("vc,scrollback=1000001", r"Parameter 'scrollback' must be between 0 and 1000000"),
        ("vc,cols=1000,scrollback=20001",
         r"Parameter 'scrollback' must be at most 20000 with 1000 columns \(scrollback x cols at most "
         r"20000000 cells; got 20001\)"),
    ):
        with pytest.raises(InvalidOption, match=error):
            await manager.add("bad", spec)
    screen, fe = await vc("vc,cols=100,scrollback=200000")  # exactly at the cap
    with pytest.raises(InvalidOption, match="Parameter 'scrollback' must be at most 100000 with 200 columns"):
        screen.resize(200, 24)
    assert screen.size == (100, 24)


async def test_sequences_the_screen_model_chokes_on_are_skipped(manager, vc, engine):
    screen, fe = await vc("vc,cols=40,rows=5")
    bad = [b"\x1b[?6n", b"\x1b[?1C", b"\x1b[?5n", b"\x1b[" + b"9" * 5000 + b"m", b"\x1b[4K",
           b"\x1b[?6h\x1b[5d"]  # DECOM without margins: pyte asserts
    fe.fe.write(b"".join(seq + b"ok " for seq in bad))
    await screen.idle()
    assert screen.last_error is None and len(screen.tasks) == 1  # the feeder goes on
    assert " ".join(screen.lines()).count("ok") == len(bad)  # nothing after them was lost
    # pyte chokes on each (counted); ghostty takes them all as xterm does.
    assert manager.info(screen).extra["bad-sequences"] == (len(bad) if engine == "pyte" else 0)


async def test_what_a_device_sends_cannot_grow_the_screen(vc, engine):
    screen, fe = await vc("vc,cols=40,rows=5,scrollback=3")
    fe.fe.write(b"\x1b[?3h")  # DECCOLM: 132 columns
    fe.fe.write(b"\x1b7" * 100_000)  # DECSC: pyte's stack of saved cursors
    for _ in range(50):  # combining marks: pyte renormalised the whole cell for each
        fe.fe.write("a".encode() + "\u0301".encode() * 1000)
    fe.fe.write(b"\x1b]0;" + b"t" * (MAX_SEQUENCE + 10) + b"\r\nvisible")  # a title that never ends
    await asyncio.wait_for(screen.idle(), 10)
    assert screen.size == (40, 5)
    assert any("visible" in line for line in screen.lines())  # the endless title was cut short
    assert len(screen.scrollback()) <= 3
    if engine == "pyte":  # pyte's own structures, bounded by tuicon
        model = screen.model.screen
        assert len(model.savepoints) <= SAVED_CURSORS
        cells = [c.char for row in range(5) for c in screen.line_cells(row)]
        assert max(len(data) for data in cells) <= MAX_CELL_TEXT
        assert len(model.title) <= MAX_SEQUENCE
        # text and a few packed bytes of style a line, not cells
        assert all(isinstance(line, str) for line in model.history.texts)
        assert all(style is None or isinstance(style, bytes) for style in model.history.styles)


async def test_lines_survive_half_of_a_wide_character_overwritten(vc):
    screen, fe = await vc("vc,cols=10,rows=2")
    fe.fe.write("中文\ra".encode())  # pyte's own display raises IndexError here
    await screen.idle()
    assert screen.lines()[0] == "a 文      "


async def test_close_cancels_the_feeder(manager, vc):
    screen, fe = await vc()
    fe.fe.write(b"x" * 200_000)
    fe.fe.detach()
    await manager.remove("con")  # the fixture checks that no task is left
    assert screen.closed


async def test_vc_as_a_mux_be_member_never_slows_the_others(manager, tmp_path, engine):
    await manager.add("hub", "mux-be")
    await manager.add("screen", f"vc,mux-be-id=hub,engine={engine}")
    await manager.add("log", f"file,path={tmp_path}/log,mux-be-id=hub")
    fe = CharFrontend(manager.get("hub"))
    data = b"0123456789abcdef\n" * 300_000  # 5 MB
    assert fe.write(data) == len(data)  # in one call: the vc took it all at once
    assert (tmp_path / "log").read_bytes() == data


async def test_a_top_like_program_leaves_the_main_screen_and_scrollback_alone(vc):
    screen, fe = await vc("vc,cols=30,rows=5,scrollback=50")
    fe.fe.write(b"".join(b"boot %d\r\n" % i for i in range(8)) + b"$ top")
    await screen.idle()
    main, history = screen.lines(), screen.scrollback()
    # top: alternate screen, clear, home, a page of rows, refreshed many times over.
    fe.fe.write(b"\x1b[?1049h\x1b[?1h")
    for frame in range(30):
        fe.fe.write(b"\x1b[H\x1b[2J" + b"".join(b"\x1b[7mPID %d\x1b[0m\r\n" % (frame * 10 + i) for i in range(9)))
    await screen.idle()
    assert screen.alternate_screen and screen.application_cursor
    fe.fe.write(b"\x1b[?1l\x1b[?1049l")
    await screen.idle()
    assert not screen.alternate_screen and not screen.application_cursor
    assert screen.lines() == main and screen.scrollback() == history
    assert screen.cursor == (5, 4)  # back after "$ top"


async def test_engine_ghostty_without_the_extra_names_it(manager, monkeypatch):
    monkeypatch.setitem(sys.modules, "tuicon.chardev.screen.ghostty_engine", None)  # import fails
    with pytest.raises(InvalidOption) as error:
        await manager.add("con", "vc,engine=ghostty")
    assert str(error.value) == f"Parameter 'engine': {GHOSTTY_MISSING}"
    assert "pip install 'tuicon[ghostty]'" in str(error.value) and "\n" not in str(error.value)
    await manager.add("con", "vc,engine=auto")  # auto falls back to pyte
    assert manager.get("con").engine == "pyte"
    with pytest.raises(InvalidOption, match="engine"):
        await manager.add("bad", "vc,engine=xterm")


@pytest.mark.skipif(not ghostty_available(), reason="pyghostty (tuicon[ghostty]) does not install or load here")
async def test_auto_takes_ghostty_and_a_burst_is_shown_whole(manager):
    await manager.add("con", "vc,engine=auto,scrollback=100")
    screen = manager.get("con")
    assert screen.engine == "ghostty" and manager.info(screen).extra["engine"] == "ghostty"
    fe = CharFrontend(screen)
    data = b"".join(b"output line %07d\r\n" % i for i in range(250_000))  # 5 MB at once
    assert fe.write(data) == len(data)
    await asyncio.wait_for(screen.idle(), 20)
    assert screen.skipped_bytes == 0 and screen.fed_bytes == len(data)  # pyte skips most of this
    assert screen.lines()[-2].startswith("output line 0249999")
    fe.detach()


async def test_query_vc_reports_engine_and_skipped_bytes(manager, vc, engine):
    screen, fe = await vc("vc,cols=20,rows=2")
    fe.fe.write(b"hi")
    await screen.idle()
    ctx = SimpleNamespace(session=SimpleNamespace(chardevs=manager))
    answer = await query_vc(ctx, "con")
    assert answer["engine"] == engine and answer["skipped-bytes"] == 0
    assert answer["cursor"] == {"x": 2, "y": 0} and answer["lines"][0].rstrip() == "hi"
