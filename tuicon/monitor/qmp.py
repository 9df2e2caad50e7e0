"""QMP (``-mon mode=control``): QEMU's machine protocol, as QEMU's clients expect it.

Input is a stream of JSON values, not lines (``qemu.qmp`` sends no newline);
every message out ends with ``\\r\\n``.  A connection starts in capabilities
negotiation: only ``qmp_capabilities`` is accepted until it has been sent.
Malformed input gets an error and the connection stays.  Error classes and
texts are QEMU's.

Events (tuicon's, named in QEMU's style; ``data`` is ``{"id": ...}``):
``CHARDEV_OPENED`` and ``CHARDEV_CLOSED`` when a chardev's backend opens or
closes (a client connects, a serial port is plugged), ``CHARDEV_CHANGED``
after a hot-swap, ``CHARDEV_ADDED`` and ``CHARDEV_REMOVED``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ..chardev import ChardevEvent
from ..chardev.manager import ManagerEvent
from . import commands
from .base import Monitor
from .commands import CommandError

if TYPE_CHECKING:
    from ..session import Session

EVENT_NAMES = {
    "opened": "CHARDEV_OPENED",
    "closed": "CHARDEV_CLOSED",
    "changed": "CHARDEV_CHANGED",
    "added": "CHARDEV_ADDED",
    "removed": "CHARDEV_REMOVED",
}
ALLOWED_MEMBERS = {"execute", "arguments", "id", "exec-oob"}


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(", ", ": ")).encode() + b"\r\n"


def error(desc: str, error_class: str = "GenericError") -> dict[str, Any]:
    return {"error": {"class": error_class, "desc": desc}}


class JsonStream:
    """Splits a byte stream into JSON values; a value may span reads."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder = json.JSONDecoder()
        self._pending = b""

    def feed(self, data: bytes) -> list[Any | ValueError]:
        """The complete values in ``data`` (and before); a ValueError for each bad one."""
        text = (self._pending + data).decode("utf-8", errors="replace")
        self._pending = b""
        self._buffer += text
        out: list[Any | ValueError] = []
        while True:
            stripped = self._buffer.lstrip()
            if not stripped:
                self._buffer = ""
                return out
            try:
                value, end = self._decoder.raw_decode(stripped)
            except json.JSONDecodeError as err:
                if err.pos >= len(stripped) or _unfinished(stripped):
                    self._buffer = stripped
                    return out  # wait for the rest of the value
                out.append(ValueError(f"JSON parse error, {err.msg}"))
                self._buffer = _skip_bad_value(stripped, err.pos)
                continue
            out.append(value)
            self._buffer = stripped[end:]


def _unfinished(text: str) -> bool:
    """True while brackets are still open outside strings: more input may complete it."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth < 0:
                return False
    return depth > 0 or in_string


def _skip_bad_value(text: str, pos: int) -> str:
    """Drop a broken value: up to the end of its line, or its closing bracket."""
    newline = text.find("\n", pos)
    if newline >= 0:
        return text[newline + 1:]
    return ""


class QmpMonitor(Monitor):
    mode = "control"

    def __init__(self, session: Session, chardev_id: str, pretty: bool = False) -> None:
        super().__init__(session, chardev_id)
        self.pretty = pretty
        self.negotiated = False
        self._stream = JsonStream()
        self._unsubscribe = session.chardevs.subscribe(self._on_manager_event)

    def _event(self, event: ChardevEvent) -> None:
        if event in (ChardevEvent.OPENED, ChardevEvent.CLOSED):
            self.negotiated = False  # now: events must not reach a client before its greeting
        super()._event(event)

    async def on_event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.OPENED:
            # A new client: a fresh session, starting with the greeting.
            self.negotiated = False
            self._stream = JsonStream()
            version = await commands.query_version(self.ctx)
            self.reply({"QMP": {"version": version, "capabilities": []}})

    async def on_data(self, data: bytes) -> None:
        for value in self._stream.feed(data):
            if isinstance(value, ValueError):
                self.reply(error(str(value)))
            else:
                self.reply(await self.dispatch(value))

    async def dispatch(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return error("QMP input must be a JSON object")
        has_id = "id" in request
        answer = await self._answer(request)
        if has_id:
            answer["id"] = request["id"]
        return answer

    async def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        for member in request:
            if member not in ALLOWED_MEMBERS:
                return error(f"QMP input member '{member}' is unexpected")
        name = request.get("execute")
        if name is None:
            return error("QMP input lacks member 'execute'")
        if not isinstance(name, str):
            return error("QMP input member 'execute' must be a string")
        arguments = request.get("arguments", {})
        if not isinstance(arguments, dict):
            return error("QMP input member 'arguments' must be an object")
        if not self.negotiated:
            if name != "qmp_capabilities":
                return error("Expecting capabilities negotiation with 'qmp_capabilities'",
                             "CommandNotFound")
            try:
                commands.check_arguments(commands.COMMANDS[name], arguments)
            except CommandError as err:
                return error(err.desc, err.error_class)
            self.negotiated = True
            return {"return": {}}
        try:
            result = await commands.run(self.ctx, name, arguments)
        except CommandError as err:
            return error(err.desc, err.error_class)
        return {"return": result}

    def reply(self, message: dict[str, Any]) -> None:
        if self.pretty:
            self.send(json.dumps(message, indent=4).encode() + b"\r\n")
        else:
            self.send(encode(message))

    def _on_manager_event(self, event: ManagerEvent) -> None:
        name = EVENT_NAMES.get(event.kind)
        if name is None or not self.negotiated or self.fe.chardev is None:
            return
        now = time.time()
        seconds = int(now)
        self.reply({
            "event": name,
            "data": {"id": event.chardev_id},
            "timestamp": {"seconds": seconds, "microseconds": int((now - seconds) * 1e6)},
        })

    async def close(self) -> None:
        self._unsubscribe()
        await super().close()
