"""The table of backend types, keyed by QEMU's type names."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import UnknownBackend
from .options import help_text

if TYPE_CHECKING:
    from .chardev import Chardev

_BACKENDS: dict[str, type[Chardev]] = {}
_ALIASES: dict[str, str] = {}

C = TypeVar("C", bound="type[Chardev]")


def register(*aliases: str) -> Callable[[C], C]:
    """Class decorator: make a backend type known under its ``type_name``."""

    def wrap(cls: C) -> C:
        _BACKENDS[cls.type_name] = cls
        for alias in aliases:
            _ALIASES[alias] = cls.type_name
        return cls

    return wrap


def _ensure_loaded() -> None:
    # The backends register themselves on import; import them lazily so this
    # module stays importable from the backends themselves.
    importlib.import_module(f"{__package__}.backends")


class BackendRegistry:
    """Looks backend classes up by type name (aliases included)."""

    def backend_class(self, type_name: str) -> type[Chardev]:
        _ensure_loaded()
        name = _ALIASES.get(type_name, type_name)
        try:
            return _BACKENDS[name]
        except KeyError:
            raise UnknownBackend(type_name, self.names()) from None

    def options_class(self, type_name: str) -> type:
        return self.backend_class(type_name).Options

    def resolver(self, type_name: str) -> Callable[..., dict[str, Any]] | None:
        return getattr(self.backend_class(type_name), "resolve_options", None)

    def names(self) -> list[str]:
        _ensure_loaded()
        return sorted(set(_BACKENDS) | set(_ALIASES))

    def help(self, type_name: str) -> str:
        cls = self.backend_class(type_name)
        return help_text(type_name, cls.Options, cls.summary)


backends = BackendRegistry()


def unregister(type_name: str) -> None:
    """Forget a backend type and its aliases (tests and plug-ins that come and go)."""
    _BACKENDS.pop(type_name, None)
    for alias in [a for a, target in _ALIASES.items() if target == type_name]:
        del _ALIASES[alias]
