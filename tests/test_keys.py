"""The key table against xterm's documented sequences, and every key and paste reaching a device.

The expected bytes below are written from xterm's ctlseqs ("PC-Style
Function Keys", "Bracketed Paste Mode"; Ctrl with a character as Xlib's
XLookupString maps it), not from tuicon/ui/keys.py.  Each pairs the bytes
xterm sends with the name Textual 8 gives them, so the same list checks
three things: the table (name -> bytes), Textual's parser (bytes -> name,
with tuicon's fix of its Alt keys) and the whole way through a real app
(xterm's bytes in, the same bytes out at a ringbuf behind an echo device).
"""

from __future__ import annotations

import asyncio

from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from tuicon.profiles import ProfileStore
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui.keys import STOP_TYPING, encode_key, encode_paste, key_bytes, paste_bytes
from tuicon.ui.terminal import TerminalView

from helpers import wait_until

CSI, SS3 = b"\x1b[", b"\x1bO"

# (the name Textual gives the key, the bytes xterm sends for it)
XTERM_KEYS = [
    # printable keys, as typed
    ("a", b"a"), ("z", b"z"), ("A", b"A"), ("0", b"0"), ("9", b"9"),
    ("space", b" "), ("full_stop", b"."), ("tilde", b"~"), ("left_square_bracket", b"["),
    ("é", "é".encode()), ("euro_sign", "€".encode()),
    # the C0 keys
    ("enter", b"\r"), ("backspace", b"\x7f"), ("tab", b"\t"), ("escape", b"\x1b"),
    ("shift+tab", CSI + b"Z"),  # CBT
    # Ctrl + letter: the letter's low five bits
    ("ctrl+a", b"\x01"), ("ctrl+b", b"\x02"), ("ctrl+c", b"\x03"), ("ctrl+d", b"\x04"),
    ("ctrl+e", b"\x05"), ("ctrl+f", b"\x06"), ("ctrl+g", b"\x07"), ("ctrl+j", b"\n"),
    ("ctrl+k", b"\x0b"), ("ctrl+l", b"\x0c"), ("ctrl+n", b"\x0e"), ("ctrl+o", b"\x0f"),
    ("ctrl+p", b"\x10"), ("ctrl+q", b"\x11"), ("ctrl+r", b"\x12"), ("ctrl+s", b"\x13"),
    ("ctrl+t", b"\x14"), ("ctrl+u", b"\x15"), ("ctrl+v", b"\x16"), ("ctrl+w", b"\x17"),
    ("ctrl+x", b"\x18"), ("ctrl+y", b"\x19"), ("ctrl+z", b"\x1a"),
    # Ctrl + @ \ ^ _ (and space, 2, 6, /: the same bytes)
    ("ctrl+@", b"\x00"), ("ctrl+backslash", b"\x1c"), ("ctrl+circumflex_accent", b"\x1e"),
    ("ctrl+underscore", b"\x1f"),
    # Alt: ESC before the key (metaSendsEscape)
    ("alt+x", b"\x1bx"), ("alt+b", b"\x1bb"), ("alt+f", b"\x1bf"), ("alt+shift+x", b"\x1bX"),
    ("alt+1", b"\x1b1"), ("alt+full_stop", b"\x1b."), ("alt+minus", b"\x1b-"),
    ("alt+space", b"\x1b "), ("alt+ctrl+x", b"\x1b\x18"), ("alt+ctrl+a", b"\x1b\x01"),
    ("alt+backspace", b"\x1b\x7f"), ("alt+enter", b"\x1b\r"),
    # cursor keys, normal mode (DECCKM reset)
    ("up", CSI + b"A"), ("down", CSI + b"B"), ("right", CSI + b"C"), ("left", CSI + b"D"),
    ("home", CSI + b"H"), ("end", CSI + b"F"),
    # the editing keypad
    ("insert", CSI + b"2~"), ("delete", CSI + b"3~"), ("pageup", CSI + b"5~"), ("pagedown", CSI + b"6~"),
    # function keys
    ("f1", SS3 + b"P"), ("f2", SS3 + b"Q"), ("f3", SS3 + b"R"), ("f4", SS3 + b"S"),
    ("f5", CSI + b"15~"), ("f6", CSI + b"17~"), ("f7", CSI + b"18~"), ("f8", CSI + b"19~"),
    ("f9", CSI + b"20~"), ("f10", CSI + b"21~"), ("f11", CSI + b"23~"), ("f12", CSI + b"24~"),
    # modified: the parameter is 2 Shift, 3 Alt, 4 Shift+Alt, 5 Ctrl, 6 Shift+Ctrl,
    # 7 Alt+Ctrl, 8 Shift+Alt+Ctrl, 9 Meta
    ("shift+up", CSI + b"1;2A"), ("alt+up", CSI + b"1;3A"), ("alt+shift+up", CSI + b"1;4A"),
    ("ctrl+up", CSI + b"1;5A"), ("ctrl+shift+up", CSI + b"1;6A"), ("alt+ctrl+up", CSI + b"1;7A"),
    ("alt+ctrl+shift+up", CSI + b"1;8A"), ("super+up", CSI + b"1;9A"),
    ("shift+down", CSI + b"1;2B"), ("ctrl+down", CSI + b"1;5B"),
    ("shift+right", CSI + b"1;2C"), ("ctrl+right", CSI + b"1;5C"), ("alt+right", CSI + b"1;3C"),
    ("shift+left", CSI + b"1;2D"), ("ctrl+left", CSI + b"1;5D"), ("ctrl+shift+left", CSI + b"1;6D"),
    ("shift+home", CSI + b"1;2H"), ("ctrl+home", CSI + b"1;5H"),
    ("shift+end", CSI + b"1;2F"), ("ctrl+end", CSI + b"1;5F"),
    ("shift+insert", CSI + b"2;2~"), ("ctrl+insert", CSI + b"2;5~"),
    ("shift+delete", CSI + b"3;2~"), ("ctrl+delete", CSI + b"3;5~"), ("alt+delete", CSI + b"3;3~"),
    ("shift+pageup", CSI + b"5;2~"), ("ctrl+pageup", CSI + b"5;5~"),
    ("shift+pagedown", CSI + b"6;2~"), ("ctrl+pagedown", CSI + b"6;5~"),
    ("shift+f1", CSI + b"1;2P"), ("ctrl+f1", CSI + b"1;5P"), ("alt+f2", CSI + b"1;3Q"),
    ("ctrl+shift+f4", CSI + b"1;6S"),
    ("shift+f5", CSI + b"15;2~"), ("ctrl+f5", CSI + b"15;5~"), ("alt+f6", CSI + b"17;3~"),
    ("ctrl+f8", CSI + b"19;5~"), ("shift+f10", CSI + b"21;2~"), ("ctrl+f12", CSI + b"24;5~"),
    ("alt+ctrl+shift+f12", CSI + b"24;8~"),
]

# Other names for the same bytes: Textual's aliases and the kitty protocol's names.
XTERM_ALIASES = [
    ("ctrl+at", b"\x00"), ("ctrl+space", b"\x00"), ("ctrl+2", b"\x00"),
    ("ctrl+left_square_bracket", b"\x1b"), ("ctrl+3", b"\x1b"), ("ctrl+4", b"\x1c"),
    ("ctrl+6", b"\x1e"), ("ctrl+7", b"\x1f"), ("ctrl+slash", b"\x1f"), ("ctrl+8", b"\x7f"),
    ("ctrl+1", b"1"), ("ctrl+h", b"\x08"), ("ctrl+i", b"\t"), ("ctrl+m", b"\r"),
    ("ctrl+shift+a", b"\x01"), ("ctrl+backspace", b"\x08"), ("alt+ctrl+h", b"\x1b\x08"),
    ("shift+space", b" "), ("alt+shift+tab", b"\x1b" + CSI + b"Z"),
    ("alt+escape", b"\x1b\x1b"), ("meta+up", CSI + b"1;9A"), ("meta+x", b"\x1bx"),
    ("f13", CSI + b"1;2P"), ("f16", CSI + b"1;2S"), ("f17", CSI + b"15;2~"), ("f24", CSI + b"24;2~"),
    ("ctrl+f13", CSI + b"1;6P"),
]

# DECCKM set: unmodified cursor keys go as SS3, all else as before.
APPLICATION_CURSOR = [
    ("up", SS3 + b"A"), ("down", SS3 + b"B"), ("right", SS3 + b"C"), ("left", SS3 + b"D"),
    ("home", SS3 + b"H"), ("end", SS3 + b"F"),
    ("ctrl+left", CSI + b"1;5D"), ("shift+up", CSI + b"1;2A"), ("f1", SS3 + b"P"),
    ("delete", CSI + b"3~"), ("a", b"a"),
]


def textual_events(data: bytes) -> list[events.Key]:
    """The key events Textual's own parser makes of what a terminal sent."""
    parser = XTermParser()
    parsed = list(parser.feed(data.decode())) + list(parser.feed(""))  # "" ends a lone ESC
    assert all(isinstance(event, events.Key) for event in parsed), parsed
    return parsed


# -- the table ------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), XTERM_KEYS + XTERM_ALIASES)
def test_table_sends_what_xterm_sends(key, expected):
    assert encode_key(key) == expected


@pytest.mark.parametrize(("key", "expected"), XTERM_KEYS)
def test_textual_reads_xterm_bytes_as_the_key(key, expected):
    """Textual (with tuicon's Alt fix) names xterm's bytes so; the table turns them back."""
    parsed = textual_events(expected)
    assert [event.key for event in parsed] == [key]
    assert key_bytes(parsed[0]) == expected


@pytest.mark.parametrize(("key", "expected"), APPLICATION_CURSOR)
def test_application_cursor_mode(key, expected):
    assert encode_key(key, app_cursor=True) == expected


class Screen:
    """A vc as keys.py sees it: only the modes its screen model reports."""

    def __init__(self, application_cursor: bool = False, bracketed_paste: bool = False) -> None:
        self.application_cursor = application_cursor
        self.bracketed_paste = bracketed_paste


def test_modes_are_read_from_the_vc():
    up = events.Key("up", None)
    assert key_bytes(up, Screen(application_cursor=True)) == SS3 + b"A"
    assert key_bytes(up, Screen()) == CSI + b"A"
    assert key_bytes(up, object()) == CSI + b"A"  # a vc that does not report DECCKM yet
    assert paste_bytes("x", Screen(bracketed_paste=True)) == b"\x1b[200~x\x1b[201~"
    assert paste_bytes("x", object()) == b"x"


def test_keys_without_bytes_send_nothing():
    for key in ("caps_lock", "num_lock", "print_screen", "menu", "f25", "<ignore>"):
        assert encode_key(key) is None, key


def test_the_character_textual_gives_wins():
    """The terminal's own character keeps the keyboard layout and the case."""
    assert encode_key("alt+shift+a", "A") == b"\x1bA"
    assert encode_key("alt+shift+a") == b"\x1bA"
    assert encode_key("backspace", "\x08") == b"\x08"  # a terminal whose Backspace sends BS


# -- paste ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("echo hi", b"echo hi"),
    ("one\ntwo\n", b"one\rtwo\r"),           # newlines go as CR, as xterm and VTE send them
    ("dos\r\nline", b"dos\rline"),           # CRLF is one Enter, not two
    ("a\tb", b"a\tb"),                       # tabs stay
    ("x\x1b[201~; rm -rf ~", b"x [201~; rm -rf ~"),  # an ESC cannot end the bracket early
    ("\x03\x04\x1a\x7f\x08", b"     "),      # xterm's disallowedPasteControls go as spaces
    ("grüße €", "grüße €".encode()),
])
def test_paste_encoding(text, expected):
    assert encode_paste(text) == expected
    assert encode_paste(text, bracketed=True) == b"\x1b[200~" + expected + b"\x1b[201~"


# -- through a real app: xterm's bytes in, the same bytes out at the device -------------------

CONSOLE = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=60,rows=10,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=65536,mux-be-id=console"),
    ("device", "echo,id=dev,chardev=console,map=none"),
]


def make_app(tmp_path: Path) -> TuiconApp:
    return TuiconApp(CONSOLE, store=ProfileStore(tmp_path / "profiles"),
                     settings=Settings(tmp_path / "settings.toml"))


async def start_typing(app: TuiconApp, pilot) -> TerminalView:
    """Enter in the console view (the default with a vc): the full-size console types."""
    await pilot.pause()
    await pilot.press("enter")
    view = app.main.terminal
    assert view.typing and app.focused is view and view.vc_id == "screen"
    return view


async def type_bytes(app: TuiconApp, pilot, data: bytes) -> None:
    """What a terminal sends for a key, through Textual's parser into the app."""
    for event in textual_events(data):
        app.post_message(event)
    await pilot.pause()


def first_difference(got: bytes, keys: list[tuple[str, bytes]]) -> str:
    """Which key's bytes went wrong (for the failure message)."""
    offset = 0
    for key, data in keys:
        if got[offset:offset + len(data)] != data:
            return f"{key}: sent {data!r}, the device got {got[offset:offset + len(data)]!r}"
        offset += len(data)
    return f"extra bytes after the last key: {got[offset:]!r}"


SCROLL_KEYS = {"shift+pageup", "shift+pagedown"}
"""While typing these scroll the console's scrollback, as in xterm; they never reach it."""
TYPED_KEYS = [(key, data) for key, data in XTERM_KEYS if key not in SCROLL_KEYS]


async def test_every_key_reaches_the_device_byte_exact(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        pane = await start_typing(app, pilot)
        ring = app.session.chardevs.get("ring")
        start = len(ring.contents())
        sent = b"".join(data for _, data in TYPED_KEYS)
        for _, data in TYPED_KEYS:
            for event in textual_events(data):
                app.post_message(event)  # in order, as a terminal's keys come
        try:
            await wait_until(lambda: len(ring.contents()) - start >= len(sent), what="every key echoed")
        finally:  # a key that went missing times out: say which one
            got = ring.contents()[start:]
            assert got == sent, first_difference(got, TYPED_KEYS)
        assert pane.typing and app.is_running


async def test_ctrl_close_bracket_stays_with_tuicon(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        pane = await start_typing(app, pilot)
        ring = app.session.chardevs.get("ring")
        await type_bytes(app, pilot, b"a")
        await wait_until(lambda: ring.contents().endswith(b"a"), what="a echoed")
        await type_bytes(app, pilot, b"\x1d")  # Ctrl+]
        assert [event.key for event in textual_events(b"\x1d")] == [STOP_TYPING]
        assert not pane.typing
        vc = app.session.chardevs.get("screen")
        vc.send_input(b"z")  # a byte after, so a sent GS would show before it
        await wait_until(lambda: ring.contents().endswith(b"z"), what="z echoed")
        assert ring.contents().endswith(b"az")


def needs_vc_mode(name: str) -> pytest.MarkDecorator:
    from tuicon.chardev.backends.vc import VcChardev

    return pytest.mark.skipif(
        not hasattr(VcChardev, name),
        reason=f"VcChardev.{name} (the screen model's mode, being added to the vc by another "
               f"engineer) does not exist yet; keys.py's side is tested above",
    )


async def set_mode(app: TuiconApp, sequence: bytes, mode: str) -> None:
    """The program on the console sets a mode: its output reaches the vc's screen."""
    vc = app.session.chardevs.get("screen")
    vc.send_input(sequence)  # the echo device writes it back into the console
    await wait_until(lambda: getattr(vc, mode), what=f"{mode} set on the vc")


async def test_paste_reaches_the_device_whole(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        await start_typing(app, pilot)
        ring = app.session.chardevs.get("ring")
        start = len(ring.contents())
        app.post_message(events.Paste("ls -l\ncd /tmp\n"))
        await wait_until(lambda: len(ring.contents()) - start >= 14, what="paste echoed")
        assert ring.contents()[start:] == b"ls -l\rcd /tmp\r"


async def test_paste_goes_nowhere_unless_typing(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        await pilot.pause()
        ring = app.session.chardevs.get("ring")
        app.post_message(events.Paste("rm -rf /\n"))
        await pilot.pause()
        app.session.chardevs.get("screen").send_input(b"z")
        await wait_until(lambda: ring.contents().endswith(b"z"), what="z echoed")
        assert b"rm" not in ring.contents()


@needs_vc_mode("bracketed_paste")
async def test_bracketed_paste_reaches_the_device(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        await start_typing(app, pilot)
        await set_mode(app, b"\x1b[?2004h", "bracketed_paste")
        ring = app.session.chardevs.get("ring")
        start = len(ring.contents())
        app.post_message(events.Paste("a\nb"))
        expected = b"\x1b[200~a\rb\x1b[201~"
        await wait_until(lambda: len(ring.contents()) - start >= len(expected), what="paste echoed")
        assert ring.contents()[start:] == expected


@needs_vc_mode("application_cursor")
async def test_application_cursor_keys_reach_the_device(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        await start_typing(app, pilot)
        await set_mode(app, b"\x1b[?1h", "application_cursor")
        ring = app.session.chardevs.get("ring")
        start = len(ring.contents())
        sent = b""
        for key, expected in APPLICATION_CURSOR:
            await type_bytes(app, pilot, dict(XTERM_KEYS)[key])  # what the outer terminal sends
            sent += expected
            await wait_until(lambda: len(ring.contents()) - start >= len(sent), what=f"{key} echoed")
            assert ring.contents()[start:] == sent, f"after {key}"
