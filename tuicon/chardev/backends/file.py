"""``file``: output to a file (truncated or appended), optional input from another.

Beyond QEMU, the output can be a log that never stops: ``timestamps=on``
stamps each line, ``rotate-size``/``rotate-time`` switch to a new file and
``keep`` deletes the oldest, with strftime fields in ``path`` naming each
file (see rotation.py).  Rotation happens inside the backend, between two
writes: the frontend sees no CLOSED/OPENED and no byte is lost or repeated.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import check_open_failure
from ..errors import ChardevError
from ..options import Kind, option
from ..registry import register
from ..rotation import Policy, RotatingFile, is_pattern, make_policy
from .fdio import FdChardev, FdReader


@dataclass(frozen=True)
class FileOptions:
    path: str = option(
        qapi="out",
        help="file that receives the output (strftime fields such as %Y%m%d-%H%M%S allowed)",
        cli_required_text="chardev: file: no filename given",
    )
    input_path: str | None = option(
        None, qapi="in", help="file (or FIFO) to read input from; no input without it"
    )
    append: bool = option(False, help="append to the output file instead of truncating it")
    timestamps: bool = option(
        False, help="start each line with its local time (ISO 8601, milliseconds, UTC offset)"
    )
    rotate_size: int | None = option(
        None, kind=Kind.SIZE, help="start a new file once this one holds this many bytes"
        " (at a line end)"
    )
    rotate_time: str | None = option(
        None, help="start a new file every DURATION (30s, 15m, 1h, 1d), aligned to the wall clock"
    )
    keep: int | None = option(
        None, help="keep at most N files (the one being written counts); the oldest are deleted"
    )


def _policy(values: dict[str, Any], path_name: str) -> Policy:
    return make_policy("", path_name, values.get("path"),
                       timestamps=values.get("timestamps", False),
                       rotate_size=values.get("rotate_size"),
                       rotate_time=values.get("rotate_time"), keep=values.get("keep"))


@register()
class FileChardev(FdChardev):
    type_name: ClassVar[str] = "file"
    summary: ClassVar[str] = "write output to a file, optionally read input from another"
    Options = FileOptions

    @classmethod
    def resolve_options(cls, values: dict[str, Any], given: set[str], source: str) -> dict[str, Any]:
        if "path" in values:  # (a missing path has its own error)
            _policy(values, "path" if source == "cli" else "out")
        return values

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output: RotatingFile | None = None
        """The output file's writer; None when the output is a FIFO."""

    def open(self) -> bool:
        opts = self.options
        policy = _policy(vars(opts), "path")
        if _is_fifo(opts.path) and not is_pattern(opts.path):
            out_fd = self._open_fifo(opts.path, policy)
            self._fds = [out_fd]
            self._use(out_fd, f"file '{opts.path}'")
        else:
            self.output = RotatingFile(opts.path, policy, append=opts.append,
                                       on_error=self._log_error_changed, what="file")
            try:
                self.output.open()
            except OSError as err:
                raise check_open_failure(self.label, opts.path, err) from err
        if opts.input_path:
            try:
                in_fd = os.open(opts.input_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as err:
                self._close_output()
                raise check_open_failure(self.label, opts.input_path, err) from err
            self._fds.append(in_fd)
            self._reader = FdReader(in_fd, self, on_eof=self._input_ended)
            self._reader.start()
        return True

    def _open_fifo(self, path: str, policy: Policy) -> int:
        """A FIFO is opened read-write and non-blocking, as the pipe backend does:
        opening does not wait for a reader, and a full FIFO makes writes partial
        instead of blocking tuicon."""
        if not policy.plain:
            raise ChardevError(f"Could not open '{path}': timestamps, rotate-size, rotate-time"
                               " and keep need a regular file, not a FIFO")
        try:
            return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise check_open_failure(self.label, path, err) from err

    def _write(self, data: memoryview) -> int:
        if self.output is None:
            return super()._write(data)
        # A failing disk never stalls the console: the bytes are dropped and
        # counted, the error shows, and the file is reopened on a later write.
        self.stats.dropped_out += self.output.write(data)
        return len(data)

    def flush_log(self) -> None:
        super().flush_log()
        if self.output is not None:
            self.output.sync()

    def _close_output(self) -> None:
        if self.output is not None:
            self.output.close()

    async def _close(self) -> None:
        await super()._close()
        self._close_output()

    def describe_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"path": self.options.path}
        if self.output is not None and self.output.name != self.options.path:
            extra["file"] = self.output.name
        return extra


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False
