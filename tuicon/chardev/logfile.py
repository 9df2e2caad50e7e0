"""The common ``logfile``/``logappend`` option: a copy of all backend output."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable

from .errors import ChardevError

log = logging.getLogger(__name__)


class LogFile:
    """Appends every byte a backend accepted to a file.

    A failing write is reported once (in the log and in :attr:`error`, which
    the status shows, and through ``on_error``) instead of being dropped
    silently.  The file is private to the user: a console log holds
    everything typed, passwords included.  A FIFO is refused, since writing
    to one would block the process while nobody reads it.
    """

    def __init__(self, path: str, *, append: bool, owner: str,
                 on_error: Callable[[str], None] | None = None) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
        flags |= os.O_APPEND if append else os.O_TRUNC
        if _is_fifo(path):
            raise _fifo_refused(path)
        try:
            self._fd = os.open(path, flags, 0o600)
        except OSError as err:
            raise ChardevError(f"Could not create '{path}': {err.strerror}") from err
        if stat.S_ISFIFO(os.fstat(self._fd).st_mode):  # made a FIFO since the check
            os.close(self._fd)
            raise _fifo_refused(path)
        os.set_blocking(self._fd, True)
        self.path = path
        self.owner = owner
        self.error: str | None = None
        self._on_error = on_error

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
                if self._on_error is not None:
                    self._on_error(self.error)

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _fifo_refused(path: str) -> ChardevError:
    return ChardevError(f"Could not create '{path}': a logfile cannot be a FIFO"
                        " (make the FIFO a pipe chardev in a mux-be instead)")
