"""The monitor table: ``-mon chardev=ID,mode=control|readline[,pretty=on]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..chardev import InvalidOption
from ..chardev.options import split_option_string
from .base import Monitor
from .qmp import QmpMonitor
from .readline import ReadlineMonitor

if TYPE_CHECKING:
    from ..session import Session

MODES = ("control", "readline")


class MonitorManager:
    """Owns every monitor of a session; closing it stops them all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.monitors: list[Monitor] = []

    async def add(self, chardev_id: str, mode: str = "readline", pretty: bool = False) -> Monitor:
        if mode not in MODES:
            raise InvalidOption(
                f"Parameter 'mode' does not accept value '{mode}' (allowed: control, readline)",
                option="mode",
            )
        if self.session.chardevs.find(chardev_id) is None:
            raise InvalidOption(f"chardev '{chardev_id}' not found", option="chardev")
        monitor: Monitor = (QmpMonitor(self.session, chardev_id, pretty) if mode == "control"
                            else ReadlineMonitor(self.session, chardev_id))
        try:
            monitor.start()
        except BaseException:
            await monitor.close()
            raise
        self.monitors.append(monitor)
        return monitor

    async def add_cli(self, text: str) -> Monitor:
        """``-mon`` argument: ``chardev=ID[,mode=control|readline][,pretty=on|off]``."""
        values: dict[str, str] = {}
        for key, value in split_option_string(text):
            if key not in ("chardev", "mode", "pretty") or value is None:
                raise InvalidOption(f"-mon: Invalid parameter '{key}' (allowed: chardev, mode, pretty)",
                                    option=key)
            values[key] = value
        if "chardev" not in values:
            raise InvalidOption("-mon: Parameter 'chardev' is missing", option="chardev")
        pretty = values.get("pretty", "off")
        if pretty not in ("on", "off"):
            raise InvalidOption("-mon: Parameter 'pretty' expects 'on' or 'off'", option="pretty")
        return await self.add(values["chardev"], values.get("mode", "readline"), pretty == "on")

    def cli_args(self) -> list[str]:
        """The ``-mon`` arguments that make these monitors again (for profiles)."""
        args = []
        for monitor in self.monitors:
            text = f"chardev={monitor.chardev_id},mode={monitor.mode}"
            if getattr(monitor, "pretty", False):
                text += ",pretty=on"
            args.append(text)
        return args

    def query(self) -> list[dict[str, str]]:
        return [{"chardev": m.chardev_id, "mode": m.mode} for m in self.monitors]

    async def close(self) -> None:
        while self.monitors:
            await self.monitors.pop().close()
