"""``pipe``: ``PATH.in`` / ``PATH.out`` FIFOs, or one bidirectional ``PATH``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from ..chardev import check_open_failure
from ..options import option
from ..registry import register
from .fdio import FdChardev


@dataclass(frozen=True)
class PipeOptions:
    path: str = option(
        qapi="device",
        help="base path: reads PATH.in and writes PATH.out, or uses PATH both ways",
        cli_required_text="chardev: pipe: no device path given",
    )


def _open_rw(path: str) -> int:
    # Read-write, so opening a FIFO does not wait for the other side and
    # the FIFO never reports end-of-file while tuicon holds it.
    return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)


@register()
class PipeChardev(FdChardev):
    type_name: ClassVar[str] = "pipe"
    summary: ClassVar[str] = "named pipes PATH.in (input) and PATH.out (output), or one PATH"
    Options = PipeOptions

    def open(self) -> bool:
        path = self.options.path
        in_fd = out_fd = -1
        try:
            in_fd = _open_rw(f"{path}.in")
            out_fd = _open_rw(f"{path}.out")
            self._fds = [in_fd, out_fd]
        except OSError:
            for fd in (in_fd, out_fd):
                if fd >= 0:
                    os.close(fd)
            try:
                in_fd = out_fd = _open_rw(path)
            except OSError as err:
                raise check_open_failure(self.label, path, err) from err
            self._fds = [in_fd]
        self._use(out_fd, f"pipe '{path}'", in_fd)
        return True
