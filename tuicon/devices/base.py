"""Devices: the consumers that own frontends (bridge, echo, monitors)."""

from __future__ import annotations

from typing import Any, ClassVar

import logging

from ..chardev import ChardevManager, CharFrontend, InvalidOption
from ..chardev.aio import describe_exception
from ..chardev.options import NoOptions
from .pump import Pump

log = logging.getLogger(__name__)


class Device:
    """Base of every device; subclasses declare ``Options`` and attach in ``start``."""

    driver: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions

    def __init__(self, device_id: str, options: Any, chardevs: ChardevManager) -> None:
        self.id = device_id
        self.options = options
        self.chardevs = chardevs
        self.frontends: list[CharFrontend] = []
        self.pumps: list[Pump] = []
        """Data paths this device owns; closed with it (even after a failed start)."""
        self.error: str | None = None
        """Why the device stopped (a data path failed), shown by query-devices and the UI."""

    def _attach(self, prop: str, chardev_id: str) -> CharFrontend:
        chardev = self.chardevs.find(chardev_id)
        if chardev is None:
            raise InvalidOption(
                f"Property '{self.driver}.{prop}' can't find value '{chardev_id}'", option=prop
            )
        fe = CharFrontend(chardev, owner=f"{self.driver} '{self.id}'")
        self.frontends.append(fe)
        return fe

    def start(self) -> None:
        """Attach frontends and install handlers."""

    def _pump(self, src: CharFrontend, dst: CharFrontend) -> Pump:
        src_id = src.chardev.label if src.chardev else "?"
        dst_id = dst.chardev.label if dst.chardev else "?"
        pump = Pump(src, dst, name=f"{src_id} -> {dst_id}", on_failure=self._pump_failed)
        self.pumps.append(pump)
        return pump

    def _pump_failed(self, what: str, exc: BaseException) -> None:
        """A data path broke: stop moving data (the frontends stay, so it shows) and say why."""
        if self.error is None:
            self.error = f"stopped: {what} failed: {describe_exception(exc)}"
            log.warning("%s '%s' %s", self.driver, self.id, self.error)
        for fe in self.frontends:
            fe.clear_handlers()

    async def close(self) -> None:
        """Stop every task and detach every frontend."""
        for pump in self.pumps:
            await pump.close()
        self.pumps.clear()
        for fe in self.frontends:
            fe.detach()
        self.frontends.clear()

    def uses(self) -> list[str]:
        """Ids of the chardevs this device is attached to, now."""
        return [fe.chardev.label for fe in self.frontends if fe.chardev is not None]

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"id": self.id, "driver": self.driver, "chardevs": self.uses()}
        if self.error:
            info["error"] = self.error
        return info
