"""Devices: consumers that own chardev frontends."""

from .base import Device
from .bridge import BridgeDevice
from .echo import EchoDevice
from .manager import DRIVERS, DeviceError, DeviceManager

__all__ = ["DRIVERS", "BridgeDevice", "Device", "DeviceError", "DeviceManager", "EchoDevice"]
