"""A vc's scrollback keeps its colours: runs in tuicon's pens, on every engine, bounded per line.

``scrollback()`` (text: search, copy, query-vc) and ``scrollback_runs()``
(what the console draws) come from one store, so they never disagree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuicon.chardev.screen import DEFAULT_PEN, MAX_LINE_RUNS, Pen, make_engine
from tuicon.chardev.screen.base import BOLD, ITALIC, UNDERLINE, fold_runs, trim_runs
from tuicon.chardev.screen.pyte_engine import RUN, History, pack_pen, unpack_pen

from test_vc import ENGINES, engine, vc  # noqa: F401  (the fixtures)

GREEN, RED = Pen(fg=2), Pen(fg=1)
BOOT = b"".join(b"[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39munit%d.service\x1b[0m.\r\n" % i
                for i in range(10))


def model_of(engine: str, data: bytes, cols: int = 60, rows: int = 4, scrollback: int = 100):
    model = make_engine(engine, cols, rows, scrollback, lambda reply: None)
    model.feed(data)
    return model


def joined(runs) -> str:
    return "".join(text for text, _ in runs)


def check_agrees(model) -> None:
    """Text and runs are one store: each line's runs join to its text, within the cap."""
    lines, runs = model.scrollback(), model.scrollback_runs()
    assert len(runs) == len(lines)
    for line, line_runs in zip(lines, runs):
        assert joined(line_runs) == line
        assert len(line_runs) <= MAX_LINE_RUNS
        assert all(text for text, _ in line_runs)  # no empty runs


async def test_a_coloured_line_keeps_its_pens_in_the_scrollback(vc):
    screen, fe = await vc("vc,cols=60,rows=4,scrollback=100")
    fe.fe.write(BOOT)
    await screen.idle()
    assert screen.scrollback()[0] == "[  OK  ] Started unit0.service."
    assert screen.scrollback_runs(0, 1) == [[
        ("[", DEFAULT_PEN), ("  OK  ", GREEN), ("] Started ", DEFAULT_PEN),
        ("unit0.service", Pen(attrs=BOLD)), (".", DEFAULT_PEN)]]
    check_agrees(screen.model)
    assert screen.scrollback_runs() == screen.scrollback_runs(0, len(screen.scrollback()))


def test_true_colour_attributes_and_blank_lines(engine):
    model = model_of(engine, b"\x1b[91;48;2;1;2;3mx\x1b[0m\x1b[3;4my\x1b[0m\r\n"  # bright / RGB / italic
                             b"\r\n"  # blank
                             b"plain\r\n"
                             b"\x1b[31mred\x1b[44m     \x1b[0m")  # blanks at the end, coloured
    on_screen = [trim_runs(model.row_runs(y)) for y in range(4)]
    model.feed(b"\r\n" * 4)
    runs = model.scrollback_runs()
    assert runs == on_screen == [
        [("x", Pen(fg=9, bg=(1, 2, 3))), ("y", Pen(attrs=ITALIC | UNDERLINE))],
        [],
        [("plain", DEFAULT_PEN)],
        [("red", RED)],  # as the text: blanks at a line's end are not kept, whatever their colour
    ]
    check_agrees(model)
    model.close()


def test_256_colours_as_the_screen_showed_them(engine):
    model = model_of(engine, b"\x1b[38;5;208mx\x1b[48;5;17my\x1b[0m")
    on_screen = trim_runs(model.row_runs(0))
    model.feed(b"\r\n" * 4)
    assert model.scrollback_runs(0, 1) == [on_screen]  # pyte keeps them as RGB, ghostty as indexes
    assert on_screen[0][1].fg in (208, (255, 135, 0))
    model.close()


def test_a_line_of_many_colour_changes_folds_into_the_last_run(engine):
    line = b"".join(b"\x1b[3%dm%c" % (1 + i % 7, ord("a") + i % 26) for i in range(200)) + b"\x1b[0m\r\n"
    model = model_of(engine, line + b"\r\n" * 4, cols=200)
    text = "".join(chr(ord("a") + i % 26) for i in range(200))
    [runs] = model.scrollback_runs(0, 1)
    assert len(runs) == MAX_LINE_RUNS and joined(runs) == text == model.scrollback()[0]
    assert runs[:3] == [("a", Pen(fg=1)), ("b", Pen(fg=2)), ("c", Pen(fg=3))]  # exact up to the cap
    assert runs[-1] == (text[MAX_LINE_RUNS - 1:], Pen(fg=1 + (MAX_LINE_RUNS - 1) % 7))  # the rest, one pen
    model.close()


def test_lines_pushed_off_by_a_resize_keep_their_colours(engine):
    model = model_of(engine, b"\x1b[32mone\x1b[0m\r\n\x1b[1mtwo\x1b[0m\r\nthree\r\nfour", cols=20, rows=4)
    model.resize(20, 2)
    assert model.scrollback()[-2:] == ["one", "two"]
    assert model.scrollback_runs()[-2:] == [[("one", GREEN)], [("two", Pen(attrs=BOLD))]]
    check_agrees(model)
    model.close()


def test_wide_characters_and_marks_keep_their_cells_text(engine):
    model = model_of(engine, "\x1b[32m中文\x1b[0m e\u0301 \x1b[41m文\x1b[0m\r\n".encode(), cols=20)
    on_screen = model.lines()[0].rstrip()  # pyte composes e + U+0301, ghostty keeps both
    model.feed(b"\r\n" * 4)
    assert model.scrollback()[0] == on_screen
    assert model.scrollback_runs(0, 1)[0][0] == ("中文", GREEN)
    check_agrees(model)
    model.close()


def test_the_alternate_screen_adds_nothing_and_the_limit_holds(engine):
    model = model_of(engine, BOOT + b"\x1b[?1049h" + b"\x1b[31mfull screen\r\n" * 20 + b"\x1b[?1049l",
                     scrollback=5)
    assert len(model.scrollback()) <= 5 and len(model.scrollback_runs()) == len(model.scrollback())
    assert not any("full screen" in line for line in model.scrollback())
    check_agrees(model)
    model.close()


# -- the pieces ---------------------------------------------------------------------------

def test_fold_and_trim():
    runs = [(str(i), Pen(fg=i)) for i in range(10)]
    assert fold_runs(runs, 10) is runs
    assert fold_runs(runs, 4) == runs[:3] + [("3456789", Pen(fg=3))]
    assert trim_runs([("ab ", GREEN), ("  ", RED), ("", RED)]) == [("ab", GREEN)]
    assert trim_runs([("abc", GREEN), ("def", RED)], limit=4) == [("abc", GREEN), ("d", RED)]
    assert trim_runs([("   ", RED)]) == []


colours = st.one_of(st.none(), st.integers(0, 255), st.tuples(*[st.integers(0, 255)] * 3))
pens = st.builds(Pen, colours, colours, st.integers(0, 255))


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8).filter(lambda t: t.strip() == t), pens),
                max_size=MAX_LINE_RUNS))
def test_pyte_history_packs_runs_without_loss(runs):
    history = History(3)
    history.append(runs)
    assert history.lines() == [joined(runs)]
    expected = [] if not runs else runs
    got = history.runs()[0]
    # Packed runs come back as they went in, but runs of one default pen keep no style at all.
    assert got == expected or (len(runs) == 1 and runs[0][1] == DEFAULT_PEN and got == runs)


def test_pyte_packed_style_is_small_and_pens_round_trip():
    for pen in (DEFAULT_PEN, GREEN, Pen(255, (255, 0, 128), 255), Pen(None, 0, BOLD)):
        assert unpack_pen(pack_pen(pen)) == pen
    history = History(2)
    history.append([("[", DEFAULT_PEN), ("  OK  ", GREEN), ("] Started", DEFAULT_PEN)])
    history.append([("plain", DEFAULT_PEN)])
    history.append([])
    assert list(history.styles) == [None, None]  # the oldest went; plain and blank lines keep no style
    history.append([("[", DEFAULT_PEN), ("  OK  ", GREEN)])
    assert len(history.styles[-1]) == 2 * RUN.size == 22  # 11 bytes a run


@pytest.mark.parametrize("params, pen", [
    ("0;32", GREEN), ("1;31", Pen(fg=1, attrs=BOLD)), ("38;5;208", Pen(fg=208)),
    ("38:2::1:2:3", Pen(fg=(1, 2, 3))), ("48;2;300;0;0", Pen(bg=(255, 0, 0))), ("4:3", Pen(attrs=UNDERLINE)),
    ("31;39", DEFAULT_PEN), ("1;22", DEFAULT_PEN), ("99999999;;38;5", Pen(fg=None)), ("", DEFAULT_PEN),
])
def test_ghostty_reads_back_sgr_forms(params, pen):
    ghostty = pytest.importorskip("tuicon.chardev.screen.ghostty_engine",
                                  reason="pyghostty (tuicon[ghostty]) does not install or load here")
    assert ghostty.parse_line(f"\x1b[{params}mX\x1b[0m") == [("X", pen)]


def test_ghostty_history_parser_keeps_only_text_and_sgr():
    ghostty = pytest.importorskip("tuicon.chardev.screen.ghostty_engine",
                                  reason="pyghostty (tuicon[ghostty]) does not install or load here")
    dump = "a\x1b[31mb\x1b[0m  \r\n\r\n\x1b]8;;x\x07c\x7f\x1b[2Jd\r\nlast"
    lines, known = ghostty.parse_history(dump, 10)
    assert [runs for runs, _ in lines] == [
        [("a", DEFAULT_PEN), ("b", RED)], [], [(" ]8;;x c  [2Jd", DEFAULT_PEN)], [("last", DEFAULT_PEN)]]
    assert [text for _, text in lines] == ["ab", "", " ]8;;x c  [2Jd", "last"]
    assert ghostty.parse_history(dump, 2)[0] == lines[-2:]  # the newest


def test_ghostty_history_lines_parsed_once_are_reused():
    ghostty = pytest.importorskip("tuicon.chardev.screen.ghostty_engine",
                                  reason="pyghostty (tuicon[ghostty]) does not install or load here")
    first, known = ghostty.parse_history("\x1b[32mok\x1b[0m\r\ngone", 10)
    later, known = ghostty.parse_history("\x1b[32mok\x1b[0m\r\nnew", 10, known)
    assert later[0] is first[0]  # the same line: not parsed again
    assert later[1] == ([("new", DEFAULT_PEN)], "new")
    assert set(known) == {"\x1b[32mok\x1b[0m", "new"}  # what left the history is forgotten
