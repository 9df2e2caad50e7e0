"""``echo``: sends everything it reads straight back (for demos and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import ChardevEvent
from ..chardev.options import option
from .base import Device


@dataclass(frozen=True)
class EchoOptions:
    chardev: str = option(help="chardev to echo")


class EchoDevice(Device):
    driver: ClassVar[str] = "echo"
    summary: ClassVar[str] = "loopback: everything read is written back"
    Options = EchoOptions

    def start(self) -> None:
        fe = self._attach("chardev", self.options.chardev)
        self.pump = self._pump(fe, fe)
        self.breaks = 0
        self._install()

    def _install(self) -> None:
        fe = self.frontends[0]
        fe.set_handlers(
            can_read=self.pump.can_read,
            read=self.pump.read,
            event=self._event,
            be_change=self._changed,
        )

    def _event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.BREAK:
            self.breaks += 1

    def _changed(self) -> bool:
        self._install()
        self.pump.kick()
        return True

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "echoed": self.pump.moved}
