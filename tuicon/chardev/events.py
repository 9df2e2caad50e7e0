"""Events a backend sends to its frontend, and backend feature flags."""

from __future__ import annotations

import enum


class ChardevEvent(enum.IntEnum):
    """What a backend tells its frontend (numbered as in QEMU)."""

    BREAK = 0
    """A serial break: `send_break`, mux `C-a b`, telnet IAC BREAK."""
    OPENED = 1
    """A connection is established; the backend can carry data."""
    MUX_IN = 2
    """This frontend gained the focus of its mux."""
    MUX_OUT = 3
    """This frontend is about to lose the focus of its mux."""
    CLOSED = 4
    """The connection is gone (read side reached its end)."""


class Feature(enum.Flag):
    """Capabilities a backend advertises (shown in status and the UI)."""

    NONE = 0
    RECONNECTABLE = enum.auto()
    """The peer can go and come back (sockets, serial with reconnect)."""
    FD_PASS = enum.auto()
    """File descriptors can be passed (UNIX sockets)."""
    REPLAY = enum.auto()
    """Record/replay is active; change and remove are refused."""

    def names(self) -> list[str]:
        return [f.name.lower().replace("_", "-") for f in Feature if f and f in self and f.name]
