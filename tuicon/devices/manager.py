"""The device table: ``-device`` / ``device_add`` / ``device_del`` / ``query-devices``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..chardev import ChardevError, ChardevManager, InvalidOption
from ..chardev.options import (
    build_options,
    check_id,
    values_from_cli,
    values_from_qapi,
    describe,
    split_option_string,
)
from .base import Device
from .bridge import BridgeDevice
from .demo_board import DemoBoardDevice
from .echo import EchoDevice

DRIVERS: dict[str, type[Device]] = {
    cls.driver: cls for cls in (BridgeDevice, DemoBoardDevice, EchoDevice)
}


class DeviceError(ChardevError):
    """A device could not be added or removed."""


class DeviceManager:
    """Creates and removes devices; they reach chardevs only through the chardev manager."""

    def __init__(self, chardevs: ChardevManager) -> None:
        self.chardevs = chardevs
        self._devices: dict[str, Device] = {}

    def get(self, device_id: str) -> Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise DeviceError(f"Device '{device_id}' not found") from None

    def ids(self) -> list[str]:
        return list(self._devices)

    def _new_id(self, driver: str) -> str:
        n = 0
        while f"{driver}{n}" in self._devices:
            n += 1
        return f"{driver}{n}"

    @staticmethod
    def driver_class(driver: str) -> type[Device]:
        try:
            return DRIVERS[driver]
        except KeyError:
            raise DeviceError(
                f"'{driver}' is not a valid device model name"
                f" (available: {', '.join(sorted(DRIVERS))})"
            ) from None

    async def add(
        self, driver: str, device_id: str | None, props: Mapping[str, Any], *, cli: bool = False
    ) -> Device:
        """Create a device (``device_add``); ``cli`` when props are command-line strings."""
        cls = self.driver_class(driver)
        if device_id is not None:
            check_id(device_id)
        if device_id is not None and device_id in self._devices:
            raise DeviceError(f"Duplicate device ID '{device_id}'")
        options = self.build_options(driver, props, cli=cli)
        device = cls(device_id or self._new_id(driver), options, self.chardevs)
        try:
            device.start()
        except BaseException:
            await device.close()
            raise
        self._devices[device.id] = device
        return device

    @classmethod
    def build_options(cls, driver: str, props: Mapping[str, Any], *, cli: bool) -> Any:
        """A driver's typed options from its properties (checked, nothing created)."""
        options_cls = cls.driver_class(driver).Options
        table = describe(options_cls)
        values, _ = (values_from_cli if cli else values_from_qapi)(table, props)
        return build_options(options_cls, table, values, "cli" if cli else "qapi")

    @staticmethod
    def split_cli(text: str) -> tuple[str, str | None, dict[str, str]]:
        """A ``-device`` argument as driver, id and properties."""
        items = split_option_string(text)
        if not items or items[0][1] is not None:
            raise InvalidOption("device: no driver given", option="driver")
        props: dict[str, str] = {}
        for key, value in items[1:]:
            if value is None:
                raise InvalidOption(f"Expected '=' after parameter '{key}'", option=key)
            props[key] = value
        return items[0][0], props.pop("id", None), props

    async def add_cli(self, text: str) -> Device:
        """Create a device from a ``-device`` argument: ``bridge,id=b0,chardev=a,peer=b``."""
        driver, device_id, props = self.split_cli(text)
        return await self.add(driver, device_id, props, cli=True)

    async def remove(self, device_id: str) -> None:
        device = self.get(device_id)
        del self._devices[device_id]
        await device.close()

    def query(self) -> list[dict[str, Any]]:
        return [device.describe() for device in self._devices.values()]

    async def close(self) -> None:
        for device_id in list(self._devices):
            await self.remove(device_id)
