"""``file``: output to a file (truncated or appended), optional input from another."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import check_open_failure
from ..options import option
from ..registry import register
from .fdio import FdChardev


@dataclass(frozen=True)
class FileOptions:
    path: str = option(
        qapi="out",
        help="file that receives the output",
        cli_required_text="chardev: file: no filename given",
    )
    input_path: str | None = option(
        None, qapi="in", help="file (or FIFO) to read input from; no input without it"
    )
    append: bool = option(False, help="append to the output file instead of truncating it")


@register()
class FileChardev(FdChardev):
    type_name: ClassVar[str] = "file"
    summary: ClassVar[str] = "write output to a file, optionally read input from another"
    Options = FileOptions

    def open(self) -> bool:
        opts = self.options
        try:
            out_fd = _open_output(opts.path, append=opts.append)
        except OSError as err:
            raise check_open_failure(self.label, opts.path, err) from err
        self._fds = [out_fd]
        in_fd = None
        if opts.input_path:
            try:
                in_fd = os.open(opts.input_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as err:
                raise check_open_failure(self.label, opts.input_path, err) from err
            self._fds.append(in_fd)
        self._use(out_fd, f"file '{opts.path}'", in_fd)
        return True

    def describe_extra(self) -> dict[str, Any]:
        return {"path": self.options.path}


def _open_output(path: str, *, append: bool) -> int:
    """The output file, private to the user (a console log holds what was typed).

    A FIFO is opened read-write and non-blocking, as the pipe backend does:
    opening does not wait for a reader, and a full FIFO makes writes partial
    instead of blocking tuicon.
    """
    try:
        is_fifo = stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        is_fifo = False
    if is_fifo:
        return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    return os.open(path, flags, 0o600)
