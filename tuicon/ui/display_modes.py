"""Display modes of a console: wall-clock timestamps at line starts, and a hex view.

Display-side only: a :class:`DisplayLog` taps what the vc is sent
(:meth:`Chardev.add_tap`) and keeps its own bounded record; the bytes that
reach the vc, the other members of its mux-be and the logs are untouched.
(A mux's own ``C-a t`` timestamps, which are written into the stream, stay
as in QEMU.)

* ``timestamps``: each line as text (escape sequences removed), with the
  wall-clock time its first byte came, ``[12:00:01.234] text``.
* ``hex``: the newest bytes as ``hexdump -C`` shows them: offset, 16 bytes
  in hex, and the same as ASCII.
"""

from __future__ import annotations

import codecs
import time
from collections import deque
from collections.abc import Callable

from .render import ESCAPES

MODES = ("screen", "timestamps", "hex")
LINES_KEPT = 10_000
"""Timestamped lines kept per console."""
HEX_KEPT = 256 * 1024
"""Bytes kept for the hex view (16 per line: 16,384 lines)."""
LINE_LIMIT = 4096
"""A line longer than this (a device sending no newline) is cut into pieces."""


def clock() -> float:
    """Wall-clock time; tests replace it."""
    return time.time()


def stamp(when: float) -> str:
    local = time.localtime(when)
    return f"[{time.strftime('%H:%M:%S', local)}.{int(when * 1000) % 1000:03d}]"


def hex_line(offset: int, data: bytes) -> str:
    """One ``hexdump -C`` line: ``00000010  41 42 ...  |AB..|``."""
    left = " ".join(f"{b:02x}" for b in data[:8])
    right = " ".join(f"{b:02x}" for b in data[8:16])
    text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in data)
    return f"{offset:08x}  {left:<23}  {right:<23}  |{text}|"


class DisplayLog:
    """What a console was sent, kept for its display modes (bounded, whatever arrives)."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.lines: deque[tuple[float, str]] = deque(maxlen=LINES_KEPT)
        self._partial = ""
        self._partial_time: float | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.raw = bytearray()
        self.raw_offset = 0
        """Stream offset of ``raw[0]``."""
        self.version = 0
        self._on_change = on_change

    def feed(self, data: memoryview | bytes) -> None:
        data = bytes(data)
        self._keep_raw(data)
        now = clock()
        *ended, tail = self._decoder.decode(data).split("\n")
        for piece in ended:
            self._add(piece, now)
            self._end_line()
        if tail:
            self._add(tail, now)
        self.version += 1
        if self._on_change is not None:
            self._on_change()

    def _add(self, text: str, now: float) -> None:
        if self._partial_time is None:
            self._partial_time = now
        self._partial += text
        while len(self._partial) > LINE_LIMIT:
            head, self._partial = self._partial[:LINE_LIMIT], self._partial[LINE_LIMIT:]
            self.lines.append((self._partial_time, _clean(head)))

    def _end_line(self) -> None:
        self.lines.append((self._partial_time or clock(), _clean(self._partial)))
        self._partial, self._partial_time = "", None

    def _keep_raw(self, data: bytes) -> None:
        self.raw += data
        extra = len(self.raw) - HEX_KEPT
        if extra > 0:
            extra += (-(self.raw_offset + extra)) % 16  # keep lines aligned to 16 bytes
            del self.raw[:extra]
            self.raw_offset += extra

    def text_lines(self, mode: str) -> list[str]:
        """The lines a mode shows, oldest first."""
        if mode == "timestamps":
            lines = [f"{stamp(when)} {text}" for when, text in self.lines]
            if self._partial:
                lines.append(f"{stamp(self._partial_time or clock())} {_clean(self._partial)}")
            return lines
        if mode == "hex":
            raw = bytes(self.raw)
            return [hex_line(self.raw_offset + i, raw[i:i + 16]) for i in range(0, len(raw), 16)]
        return []


def _clean(text: str) -> str:
    """A line as readable text: escape sequences removed, controls (CR too) dropped or shown."""
    text = ESCAPES.sub("", text)
    return "".join(ch if ch >= " " or ch == "\t" else "" if ch == "\r" else "·" for ch in text)


class DisplayModes:
    """Which display mode each console is in, and the logs that feed them.

    A console in ``screen`` mode has no tap at all: the vc's data path pays
    nothing for a mode nobody uses.
    """

    def __init__(self) -> None:
        self.modes: dict[str, str] = {}
        self.logs: dict[str, DisplayLog] = {}
        self._untap: dict[str, tuple[object, Callable[[], None]]] = {}

    def mode(self, vc_id: str | None) -> str:
        return self.modes.get(vc_id or "", "screen")

    def set(self, vc: object, mode: str) -> None:
        """Put the console ``vc`` (a VcChardev) in ``mode``; its log starts now."""
        if mode not in MODES:
            raise ValueError(f"display mode must be one of {', '.join(MODES)}")
        label = vc.label  # type: ignore[attr-defined]
        if mode == "screen":
            self.modes.pop(label, None)
            self.logs.pop(label, None)
            self._drop_tap(label)
            return
        self.modes[label] = mode
        self.logs.setdefault(label, DisplayLog())
        self.follow(vc)

    def follow(self, vc: object) -> None:
        """Tap ``vc`` if its console is in a mode (again, after a swap made a new vc)."""
        label = vc.label  # type: ignore[attr-defined]
        if label not in self.modes:
            return
        tapped = self._untap.get(label)
        if tapped is not None and tapped[0] is vc:
            return
        self._drop_tap(label)
        self._untap[label] = (vc, vc.add_tap(self.logs[label].feed))  # type: ignore[attr-defined]

    def _drop_tap(self, label: str) -> None:
        tapped = self._untap.pop(label, None)
        if tapped is not None:
            tapped[1]()

    def next_mode(self, vc_id: str) -> str:
        modes = list(MODES)
        return modes[(modes.index(self.mode(vc_id)) + 1) % len(modes)]

    def close(self) -> None:
        for label in list(self._untap):
            self._drop_tap(label)
