"""Keys and pastes typed into a vc, as the bytes xterm would send for them.

The one table of the keyboard: every Textual key event a typing pane gets is
turned into what xterm sends to its program, so a console in tuicon feels
like one in xterm (readline, BIOS menus over serial, full-screen editors).
Sources, from xterm's "XTerm Control Sequences" (ctlseqs,
https://invisible-island.net/xterm/ctlseqs/ctlseqs.html):

* "PC-Style Function Keys": the cursor keys send ``CSI A`` .. ``CSI D``,
  Home/End ``CSI H``/``CSI F``, or ``SS3 A`` .. ``SS3 F`` when the program
  set application cursor mode (DECCKM, ``CSI ? 1 h``); Insert, Delete,
  PageUp, PageDown send ``CSI 2 ~``, ``CSI 3 ~``, ``CSI 5 ~``, ``CSI 6 ~``;
  F1-F4 ``SS3 P`` .. ``SS3 S``; F5-F12 ``CSI 15 ~``, ``CSI 17 ~`` ..
  ``CSI 24 ~``.  A modified key carries the modifier parameter
  1 + (Shift 1, Alt 2, Ctrl 4, Meta 8): ``CSI 1 ; 5 D`` is Ctrl+Left,
  ``CSI 1 ; 2 P`` Shift+F1, ``CSI 15 ; 5 ~`` Ctrl+F5 (modified cursor keys
  always use ``CSI``, whatever DECCKM says).
* "Bracketed Paste Mode" (``CSI ? 2004 h``): a paste goes between
  ``CSI 200 ~`` and ``CSI 201 ~``.
* Shift+Tab is ``CSI Z`` (CBT); Backspace sends DEL (0x7f), Enter CR, and
  Alt+key sends ESC before the key (xterm's ``metaSendsEscape``, the
  default of most terminals).
* Ctrl with a character maps as Xlib's ``XLookupString`` does for xterm:
  ``@``..``~`` and space to their low five bits (Ctrl+A is 0x01, Ctrl+[ ESC,
  Ctrl+space NUL), Ctrl+2 NUL, Ctrl+3..7 ESC..0x1f, Ctrl+8 DEL, Ctrl+/ 0x1f.

Only :data:`STOP_TYPING` (Ctrl+]) stays with tuicon; the pane checks it
before asking this table.

Textual's legacy key table reads some of xterm's Alt keys as other keys
(``ESC b`` as Ctrl+Left, ``ESC DEL`` as Ctrl+W, ``ESC 1`` as a macOS Option
character) and its parser drops the Alt of ESC + a symbol or a control:
importing this module corrects that table (:func:`read_esc_as_alt`), so
Alt+b, Alt+., Alt+Ctrl+X, Alt+Backspace reach the console as xterm sends
them.  What remains ambiguous sends what the terminal sent: Ctrl+H arrives
as Backspace (with the BS character), Ctrl+I as Tab, Ctrl+M as Enter.
Alt+[ (``ESC [``, how every CSI sequence starts) arrives as a bare ``[``.
Terminals speaking the kitty keyboard protocol (Textual turns it
on) keep every combination distinct anyway.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS  # Textual's legacy key table
from textual.keys import REPLACED_KEYS, _character_to_key, key_to_character

STOP_TYPING = "ctrl+right_square_bracket"
"""The one key that stays with tuicon while typing: it ends typing."""

ESC = b"\x1b"
CSI = b"\x1b["
SS3 = b"\x1bO"

CURSOR_KEYS = {"up": b"A", "down": b"B", "right": b"C", "left": b"D", "home": b"H", "end": b"F"}
"""Final bytes of the keys DECCKM switches between CSI and SS3."""
SS3_FUNCTION_KEYS = {"f1": b"P", "f2": b"Q", "f3": b"R", "f4": b"S"}
TILDE_KEYS = {
    "insert": 2, "delete": 3, "pageup": 5, "pagedown": 6,
    "f5": 15, "f6": 17, "f7": 18, "f8": 19, "f9": 20, "f10": 21, "f11": 23, "f12": 24,
}
"""Keys sent as CSI number ~ (the numbers skip 16 and 22, as on a VT220)."""
SHIFTED_FUNCTION_KEYS = {f"f{n + 12}": f"f{n}" for n in range(1, 13)}
"""F13-F24 are Shift+F1-F12: Textual names them so when it does not decode
the modifier (``TEXTUAL_DISABLE_KITTY_KEY``; its table reads ``CSI 1 ; 2 P``
as F13, ``CSI 15 ; 2 ~`` as F17)."""
MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8, "super": 8}
"""xterm's modifier parameter is 1 + these bits.  Textual decodes the
parameter by the kitty protocol's bits, where 8 is ``super``: xterm's Meta
(``CSI 1 ; 9 A``) arrives as ``super+up``.  Kitty's ``hyper`` has no xterm
code and is left out."""
PLAIN_KEYS = {"enter": b"\r", "tab": b"\t", "escape": ESC, "backspace": b"\x7f"}

BRACKETED_PASTE_START = b"\x1b[200~"
BRACKETED_PASTE_END = b"\x1b[201~"
PASTE_CONTROLS = "\x00\x04\x05\x08\x1b\x7f" + "\x03\x1c\x15\x1a\x11\x13\x17\x16\x12\x0f"
"""xterm's default ``disallowedPasteControls``, ``BS,DEL,ENQ,EOT,ESC,NUL,STTY``:
NUL EOT ENQ BS ESC DEL, and (``STTY``) the tty's special characters, here at
their usual values since the far end's termios is out of sight: INTR ^C,
QUIT ^\\, KILL ^U, SUSP ^Z, START ^Q, STOP ^S, WERASE ^W, LNEXT ^V,
REPRINT ^R, DISCARD ^O.  xterm sends them as spaces, so does tuicon: a pasted
ESC could end a bracketed paste early (``ESC [ 201 ~`` inside the text) and
type the rest as keys, a pasted ^C would interrupt the program."""
PASTE_REPLACED = str.maketrans({c: " " for c in PASTE_CONTROLS})


def encode_key(key: str, character: str | None = None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes xterm sends for Textual's ``key`` (None: it sends nothing).

    ``character`` is the event's character, when Textual gave one;
    ``app_cursor`` is DECCKM, set by the program on the console.
    """
    *modifiers, base = key.split("+")
    mods = {m for m in modifiers if m in MODIFIER_BITS}
    if base in SHIFTED_FUNCTION_KEYS:
        base = SHIFTED_FUNCTION_KEYS[base]
        mods.add("shift")
    code = 1 + functools.reduce(operator.or_, (MODIFIER_BITS[m] for m in mods), 0)
    if base in CURSOR_KEYS:
        if code > 1:
            return CSI + b"1;%d" % code + CURSOR_KEYS[base]
        return (SS3 if app_cursor else CSI) + CURSOR_KEYS[base]
    if base in SS3_FUNCTION_KEYS:
        if code > 1:
            return CSI + b"1;%d" % code + SS3_FUNCTION_KEYS[base]
        return SS3 + SS3_FUNCTION_KEYS[base]
    if base in TILDE_KEYS:
        parameters = b"%d;%d" % (TILDE_KEYS[base], code) if code > 1 else b"%d" % TILDE_KEYS[base]
        return CSI + parameters + b"~"
    data = _plain_key(base, mods, character)
    if data is None:
        return None
    return ESC + data if mods & {"alt", "meta", "super"} else data


def _plain_key(base: str, mods: set[str], character: str | None) -> bytes | None:
    """A key without CSI encoding, before the ESC that Alt adds."""
    if base == "tab" and "shift" in mods:
        return CSI + b"Z"
    if base == "backspace" and ("ctrl" in mods or character == "\x08"):
        return b"\x08"  # Ctrl+Backspace, or a terminal whose Backspace sends BS
    if base in PLAIN_KEYS:
        return PLAIN_KEYS[base]
    char = _character(base, mods, character)
    if char is None:
        return None
    if "ctrl" in mods:
        char = control_character(char)
    return char.encode("utf-8", "replace")


def _character(base: str, mods: set[str], character: str | None) -> str | None:
    """The character a key types, before Ctrl."""
    if character and character.isprintable() and "ctrl" not in mods:
        return character  # the terminal's own (keeps case and keyboard layout)
    char = base if len(base) == 1 else key_to_character(REPLACED_KEYS.get(base, base))
    if char is not None and "shift" in mods and "ctrl" not in mods:
        char = char.upper()
    return char


def control_character(char: str) -> str:
    """Ctrl + ``char`` as Xlib's XLookupString maps it for xterm."""
    if char == " " or "@" <= char <= "~":
        return chr(ord(char) & 0x1F)
    if char == "2":
        return "\x00"
    if "3" <= char <= "7":
        return chr(ord(char) - ord("3") + 0x1B)
    if char == "8":
        return "\x7f"
    if char == "/":
        return "\x1f"
    return char  # Ctrl adds nothing to the other characters


def key_bytes(event: events.Key, vc: Any = None) -> bytes | None:
    """What ``event`` sends to the program on ``vc`` (None: nothing).

    DECCKM is read from the vc's screen model when it reports it
    (``application_cursor``); without that the cursor keys send CSI.
    """
    return encode_key(event.key, event.character, app_cursor=bool(getattr(vc, "application_cursor", False)))


def encode_paste(text: str, *, bracketed: bool = False) -> bytes:
    """A paste as a terminal sends it.

    Newlines go as CR (CRLF as one CR), as xterm and VTE send them, since a
    program reading a terminal expects Enter; xterm's disallowed paste
    controls go as spaces (:data:`PASTE_CONTROLS`).  With bracketed paste on,
    the text is wrapped in ``CSI 200 ~`` ... ``CSI 201 ~``.
    """
    data = text.replace("\r\n", "\r").replace("\n", "\r").translate(PASTE_REPLACED)
    encoded = data.encode("utf-8", "replace")
    return BRACKETED_PASTE_START + encoded + BRACKETED_PASTE_END if bracketed else encoded


def paste_bytes(text: str, vc: Any = None) -> bytes:
    """What a paste of ``text`` sends to the program on ``vc``.

    Bracketed-paste mode (2004) is read from the vc's screen model when it
    reports it (``bracketed_paste``); without that the text goes unbracketed.
    """
    return encode_paste(text, bracketed=bool(getattr(vc, "bracketed_paste", False)))


ALT_CONTROL_NAMES = {"\t": "tab", "\r": "enter", "\x7f": "backspace"}
ALT_SKIPPED = "[O\x1b"
"""ESC [ and ESC O begin CSI and SS3 sequences; ESC ESC is Textual's Escape."""


class _KeyName(str):
    """A key name where Textual's legacy table holds a ``Keys`` member (its parser reads ``.value``)."""

    @property
    def value(self) -> str:
        return str(self)


def _alt_name(char: str) -> str:
    """Textual's name for Alt + ``char`` (the names its kitty-protocol parser gives)."""
    if char in ALT_CONTROL_NAMES:
        return "alt+" + ALT_CONTROL_NAMES[char]
    if char < " ":
        return "alt+ctrl+" + _character_to_key(chr(ord(char) + 0x40).lower())
    if char.isupper():
        return "alt+shift+" + char.lower()
    return "alt+" + _character_to_key(char)


def read_esc_as_alt() -> None:
    """Make Textual read ESC + any ASCII character as Alt + that key, as xterm means it.

    Textual's legacy table maps ``ESC b``/``ESC f`` to Ctrl+Left/Right,
    ``ESC DEL`` to Ctrl+W, ``ESC 0`` .. ``ESC 9``, ``ESC -``, ``ESC =`` to
    the characters Option types on macOS, and its parser drops the Alt of
    ESC + a symbol (Alt+. arrives as a bare ``.``) or a control (Alt+Ctrl+X
    as Ctrl+X).  xterm sends those bytes for Alt+b, Alt+f, Alt+Backspace,
    Alt+1, Alt+., Alt+Ctrl+X: readline's word moves, digit arguments,
    yank-last-arg.  This puts ``alt+...`` entries, named as Textual's
    kitty-protocol parser names them, in that table.  In tuicon's own
    fields Alt+b no longer moves a word (Ctrl+Left still does).  Safe to
    call again.  tests/test_keys.py feeds xterm's bytes through Textual's
    parser, so a Textual that changes this is caught.
    """
    table: Any = ANSI_SEQUENCES_KEYS  # a dict, typed Mapping
    # ASCII, and the non-ASCII characters Textual lists (macOS Option on WezTerm)
    chars = {chr(code) for code in range(0x80)} | {s[1] for s in table if len(s) == 2 and s[0] == "\x1b"}
    for char in sorted(chars - set(ALT_SKIPPED)):
        table["\x1b" + char] = (_KeyName(_alt_name(char)),)


read_esc_as_alt()
