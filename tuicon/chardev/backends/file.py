"""``file``: output to a file (truncated or appended), optional input from another."""

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
class FileChardev(Chardev):
    type_name: ClassVar[str] = "file"
    summary: ClassVar[str] = "write output to a file, optionally read input from another"
    Options = FileOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._out_fd = -1
        self._in_fd = -1
        self._writer: FdWriter | None = None
        self._reader: FdReader | None = None

    def open(self) -> bool:
        opts = self.options
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
        flags |= os.O_APPEND if opts.append else os.O_TRUNC
        try:
            self._out_fd = os.open(opts.path, flags, 0o666)
        except OSError as err:
            raise check_open_failure(self.label, opts.path, err) from err
        self._writer = FdWriter(self._out_fd, what=f"file '{opts.path}'")
        if opts.input_path:
            try:
                self._in_fd = os.open(opts.input_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as err:
                raise check_open_failure(self.label, opts.input_path, err) from err
            self._reader = FdReader(self._in_fd, self, on_eof=self._input_ended)
            self._reader.start()
        return True

    def _input_ended(self) -> None:
        # As in QEMU: the end of the input is the end of the "connection".
        self.be_event(ChardevEvent.CLOSED)

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
        for fd in (self._in_fd, self._out_fd):
            if fd >= 0:
                os.close(fd)
        self._in_fd = self._out_fd = -1

    def describe_extra(self) -> dict[str, Any]:
        return {"path": self.options.path}
