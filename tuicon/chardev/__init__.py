"""The chardev engine: backends, frontend handles, mux, mux-be, the manager.

This package never imports the UI.
"""

from .chardev import Change, Chardev, Lifecycle, Stats
from .errors import (
    ChardevBusy,
    ChardevError,
    ChardevExists,
    ChardevInUse,
    ChardevIOError,
    ChardevNotFound,
    ChardevStateError,
    InvalidOption,
    UnknownBackend,
)
from .events import ChardevEvent, Feature
from .frontend import CharFrontend
from .manager import ChardevInfo, ChardevManager, ManagerEvent
from .options import ChardevSpec, CommonOptions, option
from .registry import backends

__all__ = [
    "Change",
    "Chardev",
    "ChardevBusy",
    "ChardevError",
    "ChardevEvent",
    "ChardevExists",
    "ChardevIOError",
    "ChardevInUse",
    "ChardevInfo",
    "ChardevManager",
    "ChardevNotFound",
    "ChardevSpec",
    "ChardevStateError",
    "CharFrontend",
    "CommonOptions",
    "Feature",
    "InvalidOption",
    "Lifecycle",
    "ManagerEvent",
    "Stats",
    "UnknownBackend",
    "backends",
    "option",
]
