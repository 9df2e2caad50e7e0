"""The common ``logfile``/``logappend`` option: a copy of all backend output.

``logfile-timestamps``, ``logfile-rotate-size``, ``logfile-rotate-time`` and
``logfile-keep`` give it what the ``file`` backend's ``timestamps``,
``rotate-size``, ``rotate-time`` and ``keep`` give a file (see rotation.py):
one writer does both, so a console's log needs no mux-be to rotate.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import ChardevError
from .options import CommonOptions
from .rotation import NotAFile, Policy, RotatingFile, make_policy


def logfile_policy(common: CommonOptions) -> Policy:
    """The policy the ``logfile-*`` options of ``common`` ask for."""
    return make_policy("logfile-", "logfile", common.logfile,
                       timestamps=common.logfile_timestamps,
                       rotate_size=common.logfile_rotate_size,
                       rotate_time=common.logfile_rotate_time, keep=common.logfile_keep)


class LogFile:
    """Appends every byte a backend accepted to a file (stamped and rotated when asked).

    A failing write is reported (in the log, in :attr:`error`, which the
    status shows, and through ``on_error(text, previous)``; ``(None,
    previous)`` once writes work again) and the file is reopened, instead of
    output being dropped silently.  The file is private to the user: a
    console log holds everything typed, passwords included.  A FIFO is
    refused, since writing to one would block the process while nobody reads it.
    """

    def __init__(self, path: str, *, append: bool, owner: str,
                 on_error: Callable[[str | None, str | None], None] | None = None,
                 policy: Policy = Policy()) -> None:
        self.path = path
        self.owner = owner
        self._on_error = on_error
        self._file = RotatingFile(path, policy, append=append, on_error=self._changed,
                                  what="logfile")
        try:
            self._file.open()
        except NotAFile as err:
            if "FIFO" in str(err):
                raise _fifo_refused(path) from err
            raise ChardevError(f"Could not create '{path}': {err}") from err
        except OSError as err:
            raise ChardevError(f"Could not create '{path}': {err.strerror}") from err

    @classmethod
    def for_options(cls, common: CommonOptions, *, owner: str,
                    on_error: Callable[[str | None, str | None], None] | None = None) -> LogFile:
        """The logfile ``common`` (with ``logfile`` set) asks for."""
        return cls(common.logfile, append=common.logappend, owner=owner, on_error=on_error,
                   policy=logfile_policy(common))

    @property
    def error(self) -> str | None:
        return self._file.error

    @property
    def name(self) -> str:
        """The file being written now (differs from ``path`` with strftime fields)."""
        return self._file.name

    def _changed(self, text: str | None, previous: str | None) -> None:
        if self._on_error is not None:
            self._on_error(text, previous)

    def write(self, data: memoryview) -> None:
        self._file.write(data)

    def sync(self) -> None:
        self._file.sync()

    def close(self) -> None:
        self._file.close()


def _fifo_refused(path: str) -> ChardevError:
    return ChardevError(f"Could not create '{path}': a logfile cannot be a FIFO"
                        " (make the FIFO a pipe chardev in a mux-be instead)")
