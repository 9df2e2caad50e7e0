"""``ringbuf`` (alias ``memory``): keeps the newest SIZE bytes of output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import Chardev
from ..errors import InvalidOption
from ..options import Kind, option
from ..registry import register


@dataclass(frozen=True)
class RingbufOptions:
    size: int = option(
        65536, kind=Kind.SIZE, help="buffer size in bytes, a power of two (suffixes K, M allowed)"
    )

    def __post_init__(self) -> None:
        # QEMU refuses non-powers of two; 0 would crash it, so it is refused too.
        if self.size <= 0 or self.size & (self.size - 1):
            raise InvalidOption(
                f"size of ringbuf chardev must be power of two (got {self.size})", option="size"
            )


@register("memory")
class RingbufChardev(Chardev):
    """A ring buffer: writes always succeed, overwriting the oldest bytes."""

    type_name: ClassVar[str] = "ringbuf"
    summary: ClassVar[str] = "keep the newest SIZE bytes written, read them with ringbuf-read"
    Options = RingbufOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.size: int = self.options.size
        self._ring = bytearray()
        self._start = 0  # bytes before this offset are consumed or overwritten
        self.filename = self.spec.type  # "ringbuf" or "memory", as QEMU reports

    def _write(self, data: memoryview) -> int:
        self.ring_write(data)
        return len(data)

    def ring_write(self, data: bytes | memoryview) -> None:
        """Put bytes into the ring (what ``ringbuf-write`` does); the oldest give way."""
        self._ring += data[-self.size :]
        self._start = max(self._start, len(self._ring) - self.size)
        if self._start >= self.size:
            # Compact once a ring's worth is dead, not on every write: a full
            # 1 MiB ring would otherwise move 1 MiB per write.
            del self._ring[: self._start]
            self._start = 0

    def ring_read(self, size: int) -> bytes:
        """Take up to ``size`` of the oldest bytes out of the ring."""
        taken = bytes(self._ring[self._start : self._start + size])
        self._start += len(taken)
        return taken

    def contents(self) -> bytes:
        """The ring's bytes, without consuming them (for display)."""
        return bytes(self._ring[self._start :])

    def describe_extra(self) -> dict[str, Any]:
        return {"size": self.size, "used": len(self._ring) - self._start}
