"""The telnet decoder: every command form, split across reads at any point."""

from __future__ import annotations

from tuicon.chardev.telnet import OFFER, TelnetDecoder, escape

STREAM = (
    b"ab\xff\xff"  # IAC IAC: a 0xFF data byte
    b"\xff\xfb\x01"  # IAC WILL ECHO
    b"\xff\xfa\x1f\x00\x50\xff\xff\x00\x18\xff\xf0"  # IAC SB NAWS ... (IAC IAC inside) IAC SE
    b"c\xff\xf3"  # IAC BREAK
    b"\xff\xf1d"  # IAC NOP
)
EXPECTED = [b"ab\xffc", None, b"d"]


def merged(pieces):
    """Adjacent data pieces joined, so splitting reads does not change the answer."""
    out: list[bytes | None] = []
    for piece in pieces:
        if piece is not None and out and out[-1] is not None:
            out[-1] += piece
        else:
            out.append(piece)
    return out


def test_commands_are_removed_and_break_reported():
    assert merged(TelnetDecoder().feed(STREAM)) == EXPECTED


def test_any_split_gives_the_same_result():
    for cut in range(1, len(STREAM)):
        decoder = TelnetDecoder()
        assert merged(decoder.feed(STREAM[:cut]) + decoder.feed(STREAM[cut:])) == EXPECTED, cut
    decoder = TelnetDecoder()
    assert merged([p for b in STREAM for p in decoder.feed(bytes([b]))]) == EXPECTED


def test_plain_data_passes_untouched_and_output_is_escaped():
    assert TelnetDecoder().feed(b"plain") == [b"plain"]
    assert escape(b"\x00\xff\xfe") == b"\x00\xff\xff\xfe"
    assert OFFER == b"\xff\xfb\x01\xff\xfb\x03\xff\xfb\x00\xff\xfd\x00"
