"""Telnet (RFC 854) for ``socket,telnet=on``: the opening offer, a decoder and an encoder.

QEMU drops three bytes after any IAC; this decoder follows the protocol:
two-byte commands, three-byte option negotiation (WILL/WONT/DO/DONT) and
subnegotiation (SB ... IAC SE) are removed from the data, ``IAC IAC`` is one
0xFF byte, and ``IAC BREAK`` is reported so it can become a BREAK event.
"""

from __future__ import annotations

import enum

IAC = 255
DONT, DO, WONT, WILL = 254, 253, 252, 251
SB, SE = 250, 240
BREAK = 243
OPT_BINARY, OPT_ECHO, OPT_SGA = 0, 1, 3

OFFER = bytes([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA, IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY])
"""What a server sends on connect (as QEMU): character mode, binary both ways."""


def escape(data: bytes | memoryview) -> bytes:
    """Frontend output as telnet data: a 0xFF byte is sent as ``IAC IAC``."""
    return bytes(data).replace(b"\xff", b"\xff\xff")


class _State(enum.Enum):
    DATA = 0
    IAC = 1
    OPTION = 2
    SUB = 3
    SUB_IAC = 4


class TelnetDecoder:
    """Splits a telnet byte stream into data and BREAKs; state survives across reads."""

    def __init__(self) -> None:
        self._state = _State.DATA

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """Return the pieces of ``chunk`` in order: data as bytes, a BREAK as ``None``."""
        if self._state is _State.DATA and IAC not in chunk:
            return [chunk] if chunk else []  # the common case, without a byte loop
        pieces: list[bytes | None] = []
        data = bytearray()
        for byte in chunk:
            state = self._state
            if state is _State.DATA:
                if byte == IAC:
                    self._state = _State.IAC
                else:
                    data.append(byte)
            elif state is _State.IAC:
                self._state = _State.DATA
                if byte == IAC:
                    data.append(IAC)
                elif byte in (WILL, WONT, DO, DONT):
                    self._state = _State.OPTION
                elif byte == SB:
                    self._state = _State.SUB
                elif byte == BREAK:
                    if data:
                        pieces.append(bytes(data))
                        data.clear()
                    pieces.append(None)
                # other two-byte commands (NOP, AYT, GA, ...) carry no data
            elif state is _State.OPTION:
                self._state = _State.DATA  # the option byte of a negotiation
            elif state is _State.SUB:
                if byte == IAC:
                    self._state = _State.SUB_IAC
            else:  # SUB_IAC
                self._state = _State.DATA if byte == SE else _State.SUB
        if data:
            pieces.append(bytes(data))
        return pieces
