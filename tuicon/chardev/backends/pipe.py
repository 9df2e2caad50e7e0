"""``pipe``: ``PATH.in`` / ``PATH.out`` FIFOs, or one bidirectional ``PATH``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import Chardev, check_open_failure
from ..events import ChardevEvent
from ..options import option
from ..registry import register
from .fdio import FdReader, FdWriter


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
class PipeChardev(Chardev):
    type_name: ClassVar[str] = "pipe"
    summary: ClassVar[str] = "named pipes PATH.in (input) and PATH.out (output), or one PATH"
    Options = PipeOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fds: list[int] = []
        self._writer: FdWriter | None = None
        self._reader: FdReader | None = None

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
        self._writer = FdWriter(out_fd, what=f"pipe '{path}'")
        self._reader = FdReader(in_fd, self, on_eof=lambda: self.be_event(ChardevEvent.CLOSED))
        self._reader.start()
        return True

    def _write(self, data: memoryview) -> int:
        assert self._writer is not None
        return self._writer.write(data)

    async def _wait_writable(self) -> None:
        if self._writer is not None:
            await self._writer.wait_writable()

    def _input_resumed(self) -> None:
        if self._reader is not None:
            self._reader.resume()

    async def _close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        for fd in self._fds:
            os.close(fd)
        self._fds = []
