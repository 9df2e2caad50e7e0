"""``null``: swallows all output, never produces input, never opens."""

from __future__ import annotations

from typing import ClassVar

from ..chardev import Chardev
from ..registry import register


@register()
class NullChardev(Chardev):
    type_name: ClassVar[str] = "null"
    summary: ClassVar[str] = "discard everything written; never any input"

    def open(self) -> bool:
        return False  # as in QEMU: a null backend never sends OPENED
