"""Untrusted bytes into a vc: hypothesis-made escape sequences through each engine, a vc and the app.

Whatever a device sends, the vc keeps parsing (a marker written afterwards
shows up), its memory stays bounded by its size, and the app still draws
and answers keys.
"""

from __future__ import annotations

import asyncio

from pathlib import Path

import pytest
from wcwidth import wcwidth
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tuicon.chardev import CharFrontend
from tuicon.chardev.screen import MAX_LINE_RUNS, ScreenModel, make_engine
from tuicon.chardev.screen.pyte_engine import MAX_CELL_TEXT, SAVED_CURSORS, ConsoleScreen
from tuicon.profiles import ProfileStore
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui import render
from tuicon.ui.help import HelpScreen

from helpers import Recorder, wait_until
from test_ui import pane, shown
from test_vc import ENGINES, engine  # noqa: F401  (the fixture)

TRUECOLOUR_OVER_255 = b"\x1b[38;2;300;0;0mred?"
PRIVATE_DSR = b"\x1b[?6n"
# Ends whatever the garbage left open: ESC \ and BEL end an OSC string, ESC
# ends a CSI, RIS resets modes (insert, origin, no wrap), ESC % G is UTF-8.
RESYNC = b"\x1b\\\x07\x18\x1bc\x1b%G"

numbers = st.one_of(st.integers(0, 300), st.integers(0, 10**9), st.just(10**9))
csi = st.builds(
    lambda intro, marker, params, seps, inter, final, cut: (
        intro + marker + b"".join(b"%d%s" % (p, s) for p, s in zip(params, seps)) + inter + final
    )[: cut if cut else None],
    st.sampled_from([b"\x1b[", "\x9b".encode(), b"\x9b"]),  # 7-bit, C1 in UTF-8, raw 8-bit
    st.sampled_from([b"", b"?", b">", b"=", b"<", b"?>"]),
    st.lists(numbers, max_size=6),
    st.lists(st.sampled_from([b";", b":", b""]), min_size=6, max_size=6),
    st.binary(max_size=2).map(lambda b: bytes(0x20 + x % 16 for x in b)),
    st.integers(0x40, 0x7E).map(lambda b: bytes([b])),
    st.one_of(st.none(), st.integers(1, 12)),  # truncated sequences
)
strings = st.builds(
    lambda intro, body, end: intro + body + end,
    st.sampled_from([b"\x1b]", b"\x1b]0;", b"\x1b]8;;", b"\x1bP", b"\x1b_", b"\x1b^", b"\x1bX", "\x9d".encode()]),
    st.binary(max_size=40),
    st.sampled_from([b"\x07", b"\x1b\\", "\x9c".encode(), b""]),
)
escapes = st.builds(lambda a, b: b"\x1b" + a + b, st.binary(min_size=1, max_size=1), st.binary(max_size=2))
c1 = st.one_of(st.integers(0x80, 0x9F).map(lambda b: bytes([b])),
               st.integers(0x80, 0x9F).map(lambda b: chr(b).encode()))
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20).map(str.encode)
marks = st.builds(lambda base, n: base.encode() + "\u0301\u0e49".encode() * n,
                  st.sampled_from(["a", "中", ""]), st.integers(1, 200))
known = st.sampled_from([
    b"\x1b#8", b"\x1b7", b"\x1b8", b"\x1bc", b"\x1b%@", b"\x1b%G", b"\x1b(0", b"\x0e", b"\x0f",
    b"\x1b[?3h", b"\x1b[?3l", b"\x1b[?5h", b"\x1b[?6h", b"\x1b[4h", b"\x1b[?7l", b"\x1b[3g",
    b"\x1bH", b"\t", b"\x1b[999999999@", b"\x1b[1000000000L", b"\x1b[9;999999999r", b"\x1b[105m",
])
garbage = st.lists(st.one_of(csi, strings, escapes, c1, text, marks, known, st.binary(max_size=16)),
                   max_size=24).map(b"".join)


def check_bounded(model: ScreenModel, cols: int, rows: int) -> None:
    """The screen's structures are bounded by its size, whatever it was sent."""
    assert model.size == (cols, rows)
    x, y = model.cursor
    assert 0 <= x < cols and 0 <= y < rows
    assert len(model.lines()) == rows
    for row in range(rows):
        cells = model.row_cells(row)
        assert len(cells) == cols
        assert max(len(cell.char) for cell in cells) <= 2 * MAX_CELL_TEXT  # NFC may expand a mark into two
        runs = model.row_runs(row)
        assert sum(max(wcwidth(ch), 0) for text, _ in runs for ch in text) <= cols
        assert not any(ch < " " or "\x7f" <= ch < "\xa0" for text, _ in runs for ch in text)  # no controls
    check_scrollback_bounded(model)
    if isinstance(getattr(model, "screen", None), ConsoleScreen):
        check_pyte_bounded(model.screen, cols, rows)


def check_scrollback_bounded(model: ScreenModel) -> None:
    """Scrollback text and runs agree line for line, within the runs' cap, without controls."""
    lines, styled = model.scrollback(), model.scrollback_runs()
    assert len(lines) == len(styled) <= model.scrollback_limit
    for line, runs in zip(lines, styled):
        assert "".join(text for text, _ in runs) == line
        assert len(runs) <= MAX_LINE_RUNS and all(text for text, _ in runs)
        assert not any(ch < " " or "\x7f" <= ch < "\xa0" for ch in line)


def check_pyte_bounded(screen: ConsoleScreen, cols: int, rows: int) -> None:
    """pyte's own structures, which tuicon bounds."""
    assert (screen.columns, screen.lines) == (cols, rows)
    assert 0 <= screen.cursor.x <= cols and 0 <= screen.cursor.y < rows
    assert all(0 <= y < rows for y in screen.buffer)
    assert all(0 <= x <= cols for line in screen.buffer.values() for x in line)
    assert max((len(c.data) for line in screen.buffer.values() for c in line.values()), default=0) \
        <= 2 * MAX_CELL_TEXT  # NFC may expand a mark into two
    assert len(screen.savepoints) <= SAVED_CURSORS
    assert len(screen.tabstops) <= cols + 1


@pytest.mark.parametrize("name", ENGINES)
def test_the_screen_model_survives_any_bytes(name):
    @settings(max_examples=400, derandomize=True, deadline=None, database=None)
    @given(garbage)
    @example(TRUECOLOUR_OVER_255)
    @example(PRIVATE_DSR)
    def survives(data):
        model = make_engine(name, 20, 6, 5, lambda reply: None)
        try:
            for start in range(0, len(data), 7):  # sequences cut across feeds too
                model.feed(data[start:start + 7])
            check_bounded(model, 20, 6)
            model.feed(RESYNC + b"MARK")
            assert model.lines()[0].startswith("MARK")  # RIS took the cursor home
        finally:
            model.close()

    survives()


def examples(strategy, count: int) -> list[bytes]:
    """``count`` byte strings from ``strategy`` (the fixed ones first), reproducibly."""
    found: list[bytes] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    @example(TRUECOLOUR_OVER_255)
    @example(PRIVATE_DSR)
    def collect(data):
        found.append(data)

    collect()
    return found


async def test_a_vc_keeps_parsing_whatever_its_frontend_writes(manager, engine):
    await manager.add("con", f"vc,cols=40,rows=8,scrollback=20,engine={engine}")
    vc = manager.get("con")
    fe = Recorder(vc).install()
    for number, data in enumerate(examples(garbage, 300)):
        fe.fe.write(data)
        marker = f"MARK{number}"
        fe.fe.write(RESYNC + marker.encode())
        await vc.idle()
        assert vc.last_error is None, data
        assert len(vc.tasks) == 1, f"feeder gone after {data!r}"
        assert any(marker in line for line in vc.lines()), f"not parsing after {data!r}"
        check_bounded(vc.model, 40, 8)
        fe.data.clear()  # replies to queries
    if engine == "pyte":
        assert manager.info(vc).extra["bad-sequences"] > 0  # the fixed examples are bad ones for pyte


def console_text(app: TuiconApp) -> str:
    """What the console view's terminal draws now, line by line (rendering every line)."""
    view = app.main.terminal
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


@pytest.mark.parametrize("view", ["console", "grid"])
async def test_the_app_draws_and_answers_keys_whatever_a_vc_shows(tmp_path: Path, engine, view):
    steps = [("chardev", f"vc,id=screen,cols=60,rows=10,engine={engine}"), ("chardev", "null,id=spare")]
    app = TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                    settings=Settings(tmp_path / "settings.toml"), ui={"view": view})
    drawn_now = console_text if view == "console" else lambda app: shown(pane(app, "screen"))
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        vc = app.session.chardevs.get("screen")
        fe = CharFrontend(vc)
        try:
            for number, data in enumerate(examples(garbage, 40 if view == "console" else 20)):
                # Colours and attributes left on are part of the point: no RESYNC first.
                fe.write(data + b"X" * 8 + b"\r\n")
                await vc.idle()
                await pilot.pause()  # the view redraws what the vc shows now
                drawn = drawn_now(app)
                assert "render error" not in drawn, data
                if number % 10 == 0 or data in (TRUECOLOUR_OVER_255, PRIVATE_DSR):
                    await pilot.press("question_mark")
                    assert isinstance(app.screen, HelpScreen), f"no answer after {data!r}"
                    await pilot.press("escape")
                    await wait_until(lambda: not isinstance(app.screen, HelpScreen), what="help closed")
            fe.write(RESYNC + b"THE END")
            await vc.idle()
            await wait_until(lambda: "THE END" in drawn_now(app), what="the last text drawn")
            assert app.is_running
        finally:
            fe.detach()


async def test_a_console_that_fails_to_draw_says_so_and_the_app_goes_on(tmp_path: Path, monkeypatch):
    from tuicon.ui import terminal

    steps = [("chardev", "vc,id=screen,cols=60,rows=10"), ("chardev", "ringbuf,id=ring,size=1024")]
    app = TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                    settings=Settings(tmp_path / "settings.toml"))
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background

        def broken(pen):
            raise ValueError("no such colour")

        monkeypatch.setattr(terminal, "pen_style", broken)
        fe = CharFrontend(app.session.chardevs.get("screen"))
        fe.write(b"\x1b[31mred\r\n")
        await wait_until(lambda: "render error: no such colour" in console_text(app),
                         what="the error in the console")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        fe.detach()


async def test_a_pane_that_fails_to_draw_says_so_and_the_app_goes_on(tmp_path: Path, monkeypatch):
    steps = [("chardev", "vc,id=screen,cols=60,rows=10"), ("chardev", "ringbuf,id=ring,size=1024")]
    app = TuiconApp(steps, store=ProfileStore(tmp_path / "profiles"),
                    settings=Settings(tmp_path / "settings.toml"), ui={"view": "grid"})
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        def broken(vc, rows, cursor=True):
            raise ValueError("no such colour")

        monkeypatch.setattr(render, "vc_text", broken)
        app.session.chardevs.ringbuf_write("ring", "still drawn")
        await pilot.pause()
        assert "render error: no such colour" in shown(pane(app, "screen"))
        assert "still drawn" in shown(pane(app, "ring"))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
