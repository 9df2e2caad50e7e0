"""``bridge``: joins two chardevs both ways, with flow control and hot-swap on both sides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import ChardevEvent, CharFrontend
from ..chardev.options import option
from .base import Device
from .pump import Pump


@dataclass(frozen=True)
class BridgeOptions:
    chardev: str = option(help="one side (e.g. the serial port)")
    peer: str = option(help="the other side (e.g. a mux-be with a vc, a log and a share socket)")


class BridgeDevice(Device):
    """Data read from one side is written to the other; a BREAK crosses too."""

    driver: ClassVar[str] = "bridge"
    summary: ClassVar[str] = "join two chardevs both ways"
    Options = BridgeOptions

    def start(self) -> None:
        self.a = self._attach("chardev", self.options.chardev)
        self.b = self._attach("peer", self.options.peer)
        self.a_to_b = self._pump(self.a, self.b)
        self.b_to_a = self._pump(self.b, self.a)
        self._install(self.a, self.a_to_b, self.b)
        self._install(self.b, self.b_to_a, self.a)

    def _install(self, fe: CharFrontend, out: Pump, other: CharFrontend) -> None:
        def on_event(event: ChardevEvent) -> None:
            if event is ChardevEvent.BREAK:
                other.send_break()

        def on_change() -> bool:
            self._install(fe, out, other)
            out.kick()
            (self.b_to_a if out is self.a_to_b else self.a_to_b).kick()
            return True

        fe.set_handlers(can_read=out.can_read, read=out.read, event=on_event, be_change=on_change)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "forward": self.a_to_b.moved,
            "backward": self.b_to_a.moved,
            "dropped": self.a_to_b.dropped + self.b_to_a.dropped,
        }
