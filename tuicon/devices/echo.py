"""``echo``: sends everything it reads straight back (for demos and tests).

By default it answers like a terminal with local echo: a CR (the Enter key)
comes back as CR LF, so typed lines do not overwrite each other (``map=crlf``;
a CR LF the user sends stays one CR LF).  ``map=none`` is a loopback plug:
every byte back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import ChardevEvent
from ..chardev.options import option
from .base import Device

MAPS = {"crlf": "a CR comes back as CR LF (as a terminal shows Enter)",
        "none": "every byte comes back unchanged (a loopback plug)"}


@dataclass(frozen=True)
class EchoOptions:
    chardev: str = option(help="chardev to echo")
    map: str = option("crlf", choices=MAPS, help="line endings sent back: crlf or none")


class CrToCrLf:
    """CR becomes CR LF; the LF of a CR LF the user sent is not doubled (even across reads)."""

    def __init__(self) -> None:
        self._after_cr = False

    def __call__(self, data: bytes) -> bytes:
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
            self._after_cr = False
        if data:
            self._after_cr = data.endswith(b"\r")
        return data.replace(b"\r\n", b"\r").replace(b"\r", b"\r\n")


class EchoDevice(Device):
    driver: ClassVar[str] = "echo"
    summary: ClassVar[str] = "loopback: everything read is written back (CR as CR LF)"
    Options = EchoOptions

    def start(self) -> None:
        fe = self._attach("chardev", self.options.chardev)
        self.pump = self._pump(fe, fe)
        self.breaks = 0
        self._map = CrToCrLf() if self.options.map == "crlf" else None
        self._install()

    def _install(self) -> None:
        fe = self.frontends[0]
        fe.set_handlers(
            can_read=self.pump.can_read,
            read=self._read,
            event=self._event,
            be_change=self._changed,
        )

    def _read(self, data: bytes) -> None:
        self.pump.read(self._map(data) if self._map is not None else data)

    def _event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.BREAK:
            self.breaks += 1

    def _changed(self) -> bool:
        self._install()
        self.pump.kick()
        return True

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "echoed": self.pump.moved}
