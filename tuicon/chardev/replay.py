"""History on attach (``replay=SIZE``): the newest output of a chardev, kept for late joiners.

A backend records every byte of output it accepts -- also what it drops
because nobody is connected -- and hands a new peer :meth:`ReplayRing.contents`
before the live stream.  Recording and handing over happen on the event loop
without an ``await`` in between, so the seam between history and live output
is exact: nothing is sent twice and nothing is missing.
"""

from __future__ import annotations

from .errors import InvalidOption

MAX_REPLAY = 64 << 20
"""The largest history kept per chardev (it is memory, twice over while trimming)."""


def check_replay_size(size: int) -> None:
    """Refuse a history larger than :data:`MAX_REPLAY`, naming the option."""
    if size > MAX_REPLAY:
        raise InvalidOption(
            f"Parameter 'replay' must be at most {MAX_REPLAY >> 20}M (got {size})", option="replay"
        )


class ReplayRing:
    """The last ``size`` bytes written, in order.

    The buffer grows to twice ``size`` before the oldest half is cut, so a
    record costs an append, not a copy of the whole history every time.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._buf = bytearray()

    def __len__(self) -> int:
        return min(len(self._buf), self.size)

    def record(self, data: bytes | bytearray | memoryview) -> None:
        """Remember ``data`` as the newest output."""
        if len(data) >= self.size:
            self._buf[:] = data[len(data) - self.size:]
            return
        self._buf += data
        if len(self._buf) > 2 * self.size:
            del self._buf[: len(self._buf) - self.size]

    def contents(self) -> bytes:
        """The history a new peer gets, oldest byte first."""
        return bytes(self._buf[-self.size:]) if self.size else b""
