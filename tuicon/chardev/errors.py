"""The chardev error family.

Every failure the engine reports is a :class:`ChardevError`; the subclasses
carry the object they are about, so callers (the QMP layer, the UI) can map
them without parsing text::

    ChardevError
     ├── InvalidOption        bad, unknown, missing or malformed option
     ├── UnknownBackend       no backend type of that name
     ├── ChardevNotFound      no chardev with that id
     ├── ChardevExists        id already taken
     ├── ChardevBusy          refused: the chardev has users
     ├── ChardevInUse         a frontend cannot attach: already taken
     ├── ChardevStateError    the operation does not fit the current state
     └── ChardevIOError       the backend cannot carry data right now

Each wording is built here, once, so one condition always reads the same.
Texts follow QEMU's where QEMU has one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChardevError(Exception):
    """Base of every error the chardev engine raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidOption(ChardevError):
    """An option is unknown, malformed, missing or has a value not allowed."""

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option

    @classmethod
    def unknown(cls, name: str, allowed: Iterable[str]) -> InvalidOption:
        allowed = sorted(allowed)
        text = f"Invalid parameter '{name}'"
        close = difflib.get_close_matches(name, allowed, n=1)
        if close:
            text += f" (did you mean '{close[0]}'?)"
        elif allowed:
            text += f"; allowed: {', '.join(allowed)}"
        return cls(text, option=name)

    @classmethod
    def missing(cls, name: str) -> InvalidOption:
        return cls(f"Parameter '{name}' is missing", option=name)


class UnknownBackend(ChardevError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(
            f"'{name}' is not a valid char driver name"
            f" (available: {', '.join(sorted(known))})"
        )
        self.name = name


class ChardevNotFound(ChardevError):
    def __init__(self, chardev_id: str) -> None:
        super().__init__(f"Chardev '{chardev_id}' not found")
        self.chardev_id = chardev_id


class ChardevExists(ChardevError):
    def __init__(self, chardev_id: str) -> None:
        super().__init__(f"Chardev with id '{chardev_id}' already exists")
        self.chardev_id = chardev_id


class ChardevBusy(ChardevError):
    def __init__(self, chardev_id: str, user: str | None = None) -> None:
        text = f"Chardev '{chardev_id}' is busy"
        if user:
            text += f" (used by {user})"
        super().__init__(text)
        self.chardev_id = chardev_id


class ChardevInUse(ChardevError):
    def __init__(self, chardev_id: str, message: str | None = None) -> None:
        super().__init__(message or f"chardev '{chardev_id}' is already in use")
        self.chardev_id = chardev_id


class ChardevStateError(ChardevError):
    """The operation is not possible in the object's current state."""


class ChardevIOError(ChardevError):
    """The backend cannot carry data now (e.g. not connected); like EIO."""
