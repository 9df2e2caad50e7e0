"""The common ``logfile``/``logappend`` option: a copy of all backend output."""

from __future__ import annotations

import logging
import os

from .errors import ChardevError

log = logging.getLogger(__name__)


class LogFile:
    """Appends every byte a backend accepted to a file.

    A failing write is reported once (in the log and in :attr:`error`, which
    the status shows) instead of being dropped silently.
    """

    def __init__(self, path: str, *, append: bool, owner: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
        flags |= os.O_APPEND if append else os.O_TRUNC
        try:
            self._fd = os.open(path, flags, 0o666)
        except OSError as err:
            raise ChardevError(f"Could not create '{path}': {err.strerror}") from err
        self.path = path
        self.owner = owner
        self.error: str | None = None

    def write(self, data: memoryview) -> None:
        if self._fd < 0:
            return
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as err:
            if self.error is None:
                self.error = f"logfile '{self.path}': {err.strerror}"
                log.warning("chardev '%s': writing %s", self.owner, self.error)

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
