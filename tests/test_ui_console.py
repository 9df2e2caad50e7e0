"""The console view, driven by a real pilot: full-size vc, views, zoom, scrollback, search, notes."""

from __future__ import annotations

import asyncio
import os

import pytest
from rich.color import Color

from tuicon.profiles import profile_of
from tuicon.ui.sidebar import ChardevCard

from helpers import wait_until
from test_vc import ENGINES
from ui_helpers import make_app, running, type_into_console

LAB = [
    ("chardev", "ringbuf,id=ser0,size=65536"),
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,mux-be-id=console"),
    ("chardev", "ringbuf,id=log.1,size=65536,mux-be-id=console"),
    ("device", "bridge,id=b0,chardev=ser0,peer=console"),
    ("chardev", "null,id=spare"),
]


def terminal_text(app) -> str:
    view = app.main.terminal
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def write(app, data: bytes) -> None:
    """Output into the console's mux-be (as the device behind the bridge would)."""
    app.session.chardevs.get("ser0").be_write(data)  # ser0's input crosses the bridge
    await wait_until(lambda: app.session.chardevs.get("screen").fed_bytes >= len(data), what="fed")
    await app.session.chardevs.get("screen").idle()


async def test_the_console_fills_the_view_and_follows_resizes(tmp_path):
    app = make_app(tmp_path, LAB)
    async with running(app, (160, 45)) as pilot:
        assert app.main.view == "console"
        view = app.main.terminal
        vc = app.session.chardevs.get("screen")
        assert view.vc_id == "screen" and app.focused is view
        await wait_until(lambda: vc.size == tuple(view.scrollable_size), what="sized to its view")
        assert vc.size[0] >= 120 and vc.size[1] >= 40  # most of 160x45
        await pilot.resize_terminal(80, 24)
        await wait_until(lambda: vc.size == tuple(view.scrollable_size), what="resized")
        assert vc.size[0] >= 50 and vc.size[1] >= 20  # the console keeps most of 80x24
        await pilot.press("z")
        await wait_until(lambda: vc.size[0] == 79, what="zoomed: the full width but the scrollbar's")
        assert not app.main.sidebar.display or app.main.sidebar.region.width == 0
        await pilot.press("z")
        await wait_until(lambda: vc.size[0] < 80, what="the side column back")


async def test_the_vc_keeps_its_last_column_when_the_scrollbar_appears(tmp_path):
    app = make_app(tmp_path, LAB)
    async with running(app, (80, 24)):
        view, vc = app.main.terminal, app.session.chardevs.get("screen")
        assert view.max_scroll_y == 0 and vc.size[0] == view.scrollable_size.width
        cols = vc.size[0]
        await write(app, b"".join(b"%03d" % i + b"." * (cols - 4) + b"Z\r\n" for i in range(60)))
        last = "059" + "." * (cols - 4) + "Z"
        # One burst made the scrollback, then quiet: the view still shows the live screen.
        await wait_until(lambda: last in terminal_text(app).splitlines(), what="the live screen drawn")
        assert view.max_scroll_y > 0  # scrollback: the scrollbar shows
        # ... in a gutter kept for it from the start: every column of the vc still shows
        assert vc.size[0] == cols == view.scrollable_size.width


async def test_a_vc_with_its_own_size_keeps_it(tmp_path):
    app = make_app(tmp_path, [("chardev", "vc,id=fixed,cols=40,rows=10")])
    async with running(app, (160, 45)):
        assert app.session.chardevs.get("fixed").size == (40, 10)


async def test_selecting_a_chardev_shows_the_console_it_feeds(tmp_path):
    app = make_app(tmp_path, LAB)
    async with running(app, (120, 40)) as pilot:
        cards = app.main.sidebar.cards
        cards["ser0"].focus()  # bridged into the console's mux-be
        await pilot.pause()
        assert app.main.terminal.vc_id == "screen" and app.main.console.selected == "ser0"
        assert "screen ← ser0" in str(app.main.console.query_one("#console-title").render())
        cards["spare"].focus()
        await pilot.pause()
        assert app.main.terminal.vc_id is None
        assert "'spare' is not shown in any console" in str(
            app.main.console.query_one("#nothing").render())
        cards["log.1"].focus()
        await pilot.pause()
        assert app.main.terminal.vc_id == "screen"


async def test_the_grid_view_and_back_remembered_in_the_profile(tmp_path):
    app = make_app(tmp_path, LAB)
    async with running(app, (120, 40)) as pilot:
        await pilot.press("v")
        assert app.main.view == "grid" and app.pane_for("screen").display
        assert profile_of(app.session, app.current_ui()).ui["view"] == "grid"
        await pilot.press("v")
        assert app.main.view == "console"
    again = make_app(tmp_path, LAB, ui={"view": "grid"})
    async with running(again, (120, 40)):
        assert again.main.view == "grid"


async def test_typing_goes_to_the_device_and_the_screen_shows_it(tmp_path):
    steps = [("chardev", "mux-be,id=console"), ("chardev", "vc,id=screen,mux-be-id=console"),
             ("chardev", "ringbuf,id=ring,mux-be-id=console"),
             ("device", "echo,id=dev,chardev=console")]
    app = make_app(tmp_path, steps)
    async with running(app, (100, 30)) as pilot:
        await type_into_console(app, pilot)
        await pilot.press(*"hello", "enter")
        await wait_until(lambda: "hello" in terminal_text(app), what="the echo on screen")
        assert app.session.chardevs.get("ring").contents() == b"hello\r\n"
        await pilot.press("ctrl+right_square_bracket")
        assert not app.main.terminal.typing


async def test_scrollback_pages_search_and_back_to_live(tmp_path):
    app = make_app(tmp_path, LAB)
    async with running(app, (100, 30)) as pilot:
        await write(app, b"".join(b"line %03d\r\n" % n for n in range(300)))
        view = app.main.terminal
        await wait_until(lambda: "line 299" in terminal_text(app), what="the newest line shown")
        assert view.live
        await pilot.press("pageup")
        assert not view.live and "line 299" not in terminal_text(app)
        await pilot.press("end")
        assert view.live and "line 299" in terminal_text(app)
        # Shift+PageUp while typing scrolls too; a key typed returns to live.
        await type_into_console(app, pilot)
        await pilot.press("shift+pageup")
        assert not view.live
        await pilot.press("x")
        assert view.live
        await pilot.press("ctrl+right_square_bracket")
        # Ctrl+F: every match highlighted, the newest shown, Up steps to older ones.
        size = app.session.chardevs.get("screen").size
        await pilot.press("ctrl+f", *"line 01")
        await pilot.pause()
        assert app.session.chardevs.get("screen").size == size  # the field takes the notes' row
        assert len(view.matches) == 10  # line 010 .. line 019
        assert view.current_match == 9 and "line 019" in terminal_text(app)
        await pilot.press("up")
        assert view.current_match == 8
        await pilot.press("escape")
        assert view.matches == [] and app.focused is view


@pytest.mark.parametrize("engine", ENGINES)
async def test_scrolled_back_lines_are_drawn_in_their_colours(tmp_path, engine):
    from textual.geometry import Offset
    from textual.selection import Selection

    lab = [(kind, f"{spec},engine={engine}" if spec.startswith("vc,") else spec) for kind, spec in LAB]
    app = make_app(tmp_path, lab)
    async with running(app, (100, 30)) as pilot:
        vc, view = app.session.chardevs.get("screen"), app.main.terminal
        assert vc.engine == engine
        await write(app, b"".join(b"[\x1b[0;32m  OK  \x1b[0m] Started unit%03d.\r\n" % n for n in range(100)))
        await wait_until(lambda: "unit099" in terminal_text(app), what="the newest line shown")
        assert vc.scrollback()[0] == "[  OK  ] Started unit000."
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not view.live

        def styles() -> dict[str, object]:
            return {segment.text: segment.style for segment in view.render_line(0) if segment.text.strip()}

        drawn = styles()
        assert "".join(drawn) == "[  OK  ] Started unit000."  # the oldest line, from the scrollback
        assert drawn["  OK  "].color == Color.from_ansi(2)  # green, as it was on the live screen
        assert drawn["] Started unit000."].color != Color.from_ansi(2)
        # Search highlights over the colours, and copy reads the text.
        assert view.search("unit000") == 1 and view.matches[0][0] == 0
        drawn = styles()
        assert drawn["  OK  "].color == Color.from_ansi(2)
        assert drawn["unit000"].bgcolor == view.get_component_rich_style("terminal--current-match").bgcolor
        text, _ = view.get_selection(Selection(Offset(0, 0), Offset(25, 0)))
        assert text == "[  OK  ] Started unit000."


async def test_selected_text_is_what_the_screen_shows(tmp_path):
    from textual.geometry import Offset
    from textual.selection import Selection

    app = make_app(tmp_path, LAB)
    async with running(app, (100, 30)):
        await write(app, b"alpha beta\r\ngamma\r\n")
        view = app.main.terminal
        await wait_until(lambda: "gamma" in terminal_text(app), what="text on screen")
        lines = view.all_lines()
        row = next(i for i, line in enumerate(lines) if line.startswith("alpha"))
        text, _ = view.get_selection(Selection(Offset(6, row), Offset(5, row + 1)))
        assert text == "beta\ngamma"


async def test_state_changes_are_told_and_noted_under_the_console(tmp_path):
    path = tmp_path / "share.sock"
    steps = [("chardev", "mux-be,id=console"), ("chardev", "vc,id=screen,mux-be-id=console"),
             ("chardev", f"socket,id=share,path={path},server=on,wait=off,mux-be-id=console")]
    app = make_app(tmp_path, steps)
    async with running(app, (120, 40)) as pilot:
        card = app.main.sidebar.cards["share"]
        assert card.state == "closed"
        reader, writer = await asyncio.open_unix_connection(str(path))
        await wait_until(lambda: card.state == "open", what="the card turning open")
        notes = lambda: app.main.console.notes("screen")  # noqa: E731
        await wait_until(lambda: any("share: connected" in n for n in notes()), what="the note")
        assert any("share: connected" in n.message for n in app._notifications)
        writer.close()
        await writer.wait_closed()
        await wait_until(lambda: any("share: disconnected" in n for n in notes()), what="left")
        await wait_until(lambda: card.state == "closed", what="the card closed")
        await pilot.pause()
        assert "share: disconnected" in str(app.main.console.query_one("#notes").render())


async def test_a_pty_closed_under_a_serial_chardev_is_told(tmp_path):
    master, slave = os.openpty()
    port = os.ttyname(slave)
    steps = [("chardev", "mux-be,id=console"), ("chardev", "vc,id=screen,mux-be-id=console"),
             ("chardev", f"serial,id=ser0,path={port}"), ("device", "bridge,id=b,chardev=ser0,peer=console")]
    app = make_app(tmp_path, steps)
    try:
        async with running(app, (120, 40)):
            card = app.main.sidebar.cards["ser0"]
            await wait_until(lambda: card.state == "open", what="the port open")
            os.close(master)  # the far end of the line goes away
            master = -1
            await wait_until(lambda: card.state in ("closed", "error"), what="the port gone")
            await wait_until(lambda: any("ser0: device gone" in n
                                         for n in app.main.console.notes("screen")), what="noted")
    finally:
        if master >= 0:
            os.close(master)
        os.close(slave)


async def test_filter_and_go_to_with_64_chardevs(tmp_path):
    steps = [("chardev", "vc,id=screen")] + [("chardev", f"ringbuf,id=r{i:02d}") for i in range(63)]
    app = make_app(tmp_path, steps)
    async with running(app, (80, 24)) as pilot:
        assert len(app.main.sidebar.cards) == 64
        await pilot.press("slash", *"r4")
        await pilot.pause()
        shown = [c.chardev_id for c in app.query(ChardevCard) if c.display]
        assert shown == [f"r{i}" for i in range(40, 50)]
        await pilot.press("escape")
        assert all(c.display for c in app.query(ChardevCard))
        app.go_to("r61")  # what the palette's "Go to chardev r61" runs
        card = app.main.sidebar.cards["r61"]
        await wait_until(lambda: app.focused is card, what="the card focused")
        await wait_until(lambda: 0 <= card.region.y < 23, what="the card scrolled into sight")


async def test_display_modes_show_timestamps_and_hex_and_change_no_byte(tmp_path, monkeypatch):
    from tuicon.ui import display_modes

    when = 1_700_000_000.25
    monkeypatch.setattr(display_modes, "clock", lambda: when)
    app = make_app(tmp_path, LAB)
    async with running(app, (120, 40)) as pilot:
        view = app.main.terminal
        await pilot.press("m")
        assert view.mode == "timestamps"
        assert "timestamps view" in str(app.main.console.query_one("#console-title").render())
        stream = b"\x1b[32mboot ok\x1b[0m\r\nsecond\r\nAB\x00\xff"
        await write(app, stream)
        expected_stamp = display_modes.stamp(when)
        await wait_until(lambda: f"{expected_stamp} second" in terminal_text(app), what="stamped")
        lines = view.all_lines()
        assert lines[:2] == [f"{expected_stamp} boot ok", f"{expected_stamp} second"]
        await pilot.press("m")
        assert view.mode == "hex"
        assert view.all_lines()[0].startswith("00000000  1b 5b 33 32 6d 62 6f 6f  74 20 6f 6b 1b 5b 30 6d")
        assert view.all_lines()[0].endswith("|.[32mboot ok.[0m|")
        # Display only: the log member got the stream exactly, the screen model too.
        assert app.session.chardevs.get("log.1").contents() == stream
        assert "boot ok" in "\n".join(app.session.chardevs.get("screen").lines())
        ui = app.current_ui()
        assert ui["display"] == {"screen": "hex"}
        await pilot.press("m")
        assert view.mode == "screen" and "display" not in app.current_ui()
        assert not app.session.chardevs.get("screen")._taps  # no cost while unused
    again = make_app(tmp_path, LAB, ui={"display": {"screen": "timestamps"}})
    async with running(again, (120, 40)):
        assert again.main.terminal.mode == "timestamps"


def test_display_log_is_bounded_whatever_arrives():
    from tuicon.ui.display_modes import HEX_KEPT, LINE_LIMIT, LINES_KEPT, DisplayLog

    log = DisplayLog()
    log.feed(b"x" * (LINE_LIMIT * 3 + 5))  # no newline at all
    log.feed(b"y\n" * (LINES_KEPT + 100))
    assert len(log.lines) == LINES_KEPT
    assert len(log.raw) <= HEX_KEPT and log.raw_offset % 16 == 0
    assert log.text_lines("hex")[0].startswith(f"{log.raw_offset:08x}")


async def test_the_demo_board_boots_into_a_console_already_at_its_size(tmp_path, monkeypatch):
    """At 80x24 the board's first lines are not written at 80 columns and then cropped to the view."""
    from tuicon.session import default_steps

    monkeypatch.setenv("HOME", str(tmp_path))
    log = tmp_path / ".local" / "state" / "tuicon" / "log" / "console.log"
    log.parent.mkdir(parents=True)
    from tuicon.chardev.backends.vc import VcChardev

    fed_at_resize: list[int] = []
    resize = VcChardev.resize

    def recorded(vc, cols: int, rows: int) -> None:
        fed_at_resize.append((vc.fed_bytes, cols))
        resize(vc, cols, rows)

    monkeypatch.setattr(VcChardev, "resize", recorded)
    app = make_app(tmp_path, default_steps(log))
    async with running(app, (80, 24)):
        board, vc = app.session.devices.get("board"), app.session.chardevs.get("screen")
        # Sized to its view's width before the board (built after it) wrote a byte:
        assert [fed for fed, cols in fed_at_resize if cols == vc.size[0]][0] == 0, fed_at_resize
        await wait_until(lambda: board.state == "shell", what="the prompt")
        await vc.idle()
        assert vc.size == tuple(app.main.terminal.scrollable_size) and vc.size[0] < 80
        shown = "".join(line.rstrip() if len(line.rstrip()) < vc.size[0] else line
                        for line in vc.scrollback() + vc.lines())
        assert "log: ~/.local/state/tuicon/log/console.log · share: nc 127.0.0.1 " in shown


async def test_the_title_says_when_the_console_skipped_output(tmp_path):
    steps = [("chardev", "ringbuf,id=ser0,size=65536"), ("chardev", "mux-be,id=console"),
             ("chardev", "vc,id=screen,engine=pyte,mux-be-id=console"),
             ("device", "bridge,id=b0,chardev=ser0,peer=console")]
    app = make_app(tmp_path, steps)
    async with running(app, (100, 30)):
        vc, title = app.session.chardevs.get("screen"), app.main.console.query_one("#console-title")
        assert "skipped" not in str(title.render())
        flood = b"".join(b"output line %07d\r\n" % i for i in range(300_000))  # ~6 MB: pyte skips
        ser0 = app.session.chardevs.get("ser0")
        for start in range(0, len(flood), 1 << 20):
            ser0.be_write(flood[start:start + (1 << 20)])
        await asyncio.wait_for(vc.idle(), 30)
        assert vc.skipped_bytes > 0
        app.main.tick()  # the slow timer's redraw, now
        await wait_until(lambda: " · skipped " in str(title.render()), what="the title says so")
