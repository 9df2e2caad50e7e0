"""xterm-behaviour probes: each sequence with the result xterm gives, run on every engine.

Where pyte cannot match xterm, the probe says why (``xfail`` with a reason,
or a marked pyte expectation); ghostty must match everywhere.
"""

from __future__ import annotations

import pytest

from tuicon.chardev.screen import make_engine
from tuicon.chardev.screen.base import BOLD, REVERSE, UNDERLINE

from test_vc import ENGINES, engine  # noqa: F401  (the fixture)


def screen(engine: str, data: bytes | list[bytes], cols: int = 10, rows: int = 4, scrollback: int = 10):
    """A fresh screen model fed ``data`` (a list: one feed each), and the replies it wrote."""
    replies: list[bytes] = []
    model = make_engine(engine, cols, rows, scrollback, replies.append)
    for piece in data if isinstance(data, list) else [data]:
        model.feed(piece)
    return model, b"".join(replies)


def rows(model) -> list[str]:
    return [line.rstrip() for line in model.lines()]


def pyte_cannot(engine: str, why: str) -> None:
    if engine == "pyte":
        pytest.xfail(f"pyte: {why}")


def test_deferred_wrap_at_the_last_column(engine):
    model, replies = screen(engine, b"0123456789\x1b[6n")
    assert model.cursor == (9, 0)  # the wrap is pending: the cursor stays on the last column
    assert replies == b"\x1b[1;10R"  # xterm reports column 10 on a 10-column line
    model.feed(b"X")
    assert rows(model)[:2] == ["0123456789", "X"]


def test_tabs(engine):
    model, _ = screen(engine, b"a\tb\x1b[3g\x1bH", cols=20)  # TBC 3 clears all stops; HTS sets one here
    assert rows(model)[0] == "a       b"
    model.feed(b"\r\tc\r\n\t\td")
    assert rows(model)[0] == "a       bc"  # the one stop left, at column 10
    assert rows(model)[1] == " " * 19 + "d"  # no stop further on: the last column


def test_erase_in_line_and_display(engine):
    model, _ = screen(engine, b"aaaaaaaaaa\r\nbbbbbbbbbb\r\ncccccccccc\x1b[2;5H\x1b[K\x1b[1K")
    assert rows(model)[:3] == ["aaaaaaaaaa", "", "cccccccccc"]  # EL 0 then EL 1: the whole line
    model.feed(b"\x1b[1;3H\x1b[1J")
    assert rows(model)[:3] == ["   aaaaaaa", "", "cccccccccc"]  # ED 1: up to and including the cursor
    model.feed(b"\x1b[3;2H\x1b[J")
    assert rows(model)[:3] == ["   aaaaaaa", "", "c"]


def test_insert_and_delete_line(engine):
    model, _ = screen(engine, b"1\r\n2\r\n3\r\n4\x1b[2H\x1b[L")
    assert rows(model) == ["1", "", "2", "3"]
    model.feed(b"\x1b[M\x1b[M")
    assert rows(model) == ["1", "3", "", ""]


def test_scroll_region(engine):
    model, _ = screen(engine, b"1\r\n2\r\n3\r\n4\x1b[2;3r\x1b[3H\n", scrollback=10)
    assert rows(model) == ["1", "3", "", "4"]  # only rows 2-3 scrolled
    assert model.scrollback() == []  # a region that does not start at the top keeps nothing


def test_origin_mode(engine):
    model, replies = screen(engine, b"\x1b[2;3r\x1b[?6h\x1b[HX\x1b[6n")
    assert rows(model)[1] == "X"  # home is the region's top
    assert replies == b"\x1b[1;2R"  # and reports count from it


def test_256_colour_and_truecolour(engine):
    model, _ = screen(engine, b"\x1b[38;5;196mA\x1b[48;5;21mB\x1b[0;38;2;1;2;3mC\x1b[1;4;7mD")
    a, b, c, d = model.row_cells(0)[:4]
    if engine == "pyte":  # marked: pyte stores a palette colour as its RGB value (drawn the same)
        assert (a.fg, b.bg) == ((255, 0, 0), (0, 0, 255))
    else:
        assert (a.fg, b.bg) == (196, 21)
    assert c.fg == (1, 2, 3) and c.bg is None
    assert d.attrs & BOLD and d.attrs & UNDERLINE and d.attrs & REVERSE


def test_colon_form_of_sgr(engine):
    model, _ = screen(engine, b"\x1b[38:2::10:20:30mA\x1b[38:5:9mB\x1b[4:3mC\x1b[4:0mD")
    a, b, c, d = model.row_cells(0)[:4]
    assert a.char == "A" and a.fg == (10, 20, 30)
    assert b.fg == (9 if engine == "ghostty" else (255, 0, 0))  # marked: pyte gives palette 9 as RGB
    assert c.attrs & UNDERLINE and not d.attrs & UNDERLINE
    assert rows(model)[0] == "ABCD"  # no parameters leaked as text


def test_utf8_split_across_writes(engine):
    data = "é中€".encode()
    model, _ = screen(engine, [data[i:i + 1] for i in range(len(data))])
    assert rows(model)[0] == "é中€"
    assert model.cursor == (4, 0)  # é 1 cell, 中 2, € 1


def test_wide_character_at_the_last_column(engine):
    pyte_cannot(engine, "puts a wide character in the last column instead of wrapping it")
    model, _ = screen(engine, "123456789中".encode())
    assert rows(model)[:2] == ["123456789", "中"]


def test_invalid_utf8_is_a_replacement_character(engine):
    model, _ = screen(engine, b"a\xffb\xc3(c")
    assert rows(model)[0] == "a\ufffdb\ufffd(c"


def test_device_status_and_attributes(engine):
    _, replies = screen(engine, b"\x1b[5n")
    assert replies == b"\x1b[0n"
    _, replies = screen(engine, b"\x1b[c")
    assert replies.startswith(b"\x1b[?") and replies.endswith(b"c")  # primary DA: a VT class
    if engine == "pyte":
        pytest.xfail("pyte: its parser drops the '>' of a secondary DA query and answers the primary one")
    _, replies = screen(engine, b"\x1b[>c")
    assert replies.startswith(b"\x1b[>") and replies.endswith(b"c")


@pytest.mark.parametrize("mode", [1049, 1047, 47])
def test_alternate_screen(engine, mode):
    model, _ = screen(engine, b"main1\r\nmain2\x1b[?%dh" % mode, scrollback=100)
    assert model.alternate_screen
    model.feed(b"\x1b[H\x1b[2J" + b"".join(b"top %d\r\n" % i for i in range(20)))  # top-like output
    assert model.scrollback() == []  # nothing of the alternate screen scrolls back
    model.feed(b"\x1b[?%dl" % mode)
    assert not model.alternate_screen
    assert rows(model)[:2] == ["main1", "main2"]
    if mode == 1049:
        assert model.cursor == (5, 1)  # 1049 saved the cursor too
    assert model.scrollback() == []


def test_dec_line_drawing(engine):
    # G0 as graphics and back to ASCII; then G1 as graphics, shifted in and out with SO/SI.
    model, _ = screen(engine, b"\x1b(0lqk\x1b(Bx\x1b)0\x0ex\x0fx")
    assert rows(model)[0] == "┌─┐x│x"


def test_modes_for_the_keyboard(engine):
    model, _ = screen(engine, b"")
    assert not model.application_cursor and not model.bracketed_paste
    model.feed(b"\x1b[?1h\x1b[?2004h")
    assert model.application_cursor and model.bracketed_paste
    model.feed(b"\x1b[?1l\x1b[?2004l")
    assert not model.application_cursor and not model.bracketed_paste


def test_cursor_visibility_and_resize(engine):
    model, _ = screen(engine, b"1\r\n2\r\n3\r\n4\x1b[?25l", scrollback=10)
    assert not model.cursor_visible
    model.resize(8, 2)
    assert model.size == (8, 2)
    assert rows(model) == ["3", "4"]  # the rows above the cursor scrolled off ...
    assert model.scrollback()[-2:] == ["1", "2"]  # ... into the scrollback
    assert model.cursor == (1, 1)
    model.resize(12, 5)
    assert model.size == (12, 5) and len(model.row_cells(4)) == 12
