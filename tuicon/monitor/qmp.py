"""QMP (``-mon mode=control``): QEMU's machine protocol, as QEMU's clients expect it.

Input is a stream of JSON values, not lines (``qemu.qmp`` sends no newline),
split by :class:`~tuicon.monitor.jsonstream.JsonStreamer` with QEMU's
parser rules and limits (nesting 1024, 64 MiB per value, duplicate keys and
non-finite numbers refused, ``0xFF`` resynchronises); every message out ends
with ``\\r\\n``.  A connection starts in capabilities negotiation: only
``qmp_capabilities`` is accepted until it has been sent.  Malformed input,
and any failure inside a command, gets an error and the connection stays.
Error classes and texts are QEMU's.  A client that stops reading is dropped
once 8 MiB of output wait for it.

Events (tuicon's, named in QEMU's style; ``data`` is ``{"id": ...}``):
``CHARDEV_OPENED`` and ``CHARDEV_CLOSED`` when a chardev's backend opens or
closes (a client connects, a serial port is plugged), ``CHARDEV_CHANGED``
after a hot-swap, ``CHARDEV_ADDED`` and ``CHARDEV_REMOVED``;
``CHARDEV_CLIENT_CONNECTED`` and ``CHARDEV_CLIENT_DISCONNECTED`` for every
client of a socket server, with ``"client": N, "address": ...`` in ``data``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from ..chardev import ChardevEvent
from ..chardev.manager import ManagerEvent
from . import commands
from .base import Monitor
from .commands import CommandError
from .jsonstream import JsonError, JsonStreamer

if TYPE_CHECKING:
    from ..session import Session

EVENT_NAMES = {
    "opened": "CHARDEV_OPENED",
    "closed": "CHARDEV_CLOSED",
    "changed": "CHARDEV_CHANGED",
    "added": "CHARDEV_ADDED",
    "removed": "CHARDEV_REMOVED",
    "client-connected": "CHARDEV_CLIENT_CONNECTED",
    "client-disconnected": "CHARDEV_CLIENT_DISCONNECTED",
}
CLIENT_EVENTS = {"client-connected", "client-disconnected"}
"""Events whose data names the client (the chardev's ``client_event``, read as it happens)."""
ALLOWED_MEMBERS = {"execute", "arguments", "id", "exec-oob"}
YIELD_EVERY = 64
"""Requests handled in a row before the loop gets a turn (other consoles go on)."""


def encode(message: dict[str, Any], pretty: bool = False) -> bytes:
    """One message as QMP sends it; an ``id`` nested 1024 deep is echoed too."""
    options: dict[str, Any] = {"indent": 4} if pretty else {"separators": (", ", ": ")}
    try:
        text = json.dumps(message, **options)
    except RecursionError:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 2500)  # json's C encoder counts nesting as recursion
        try:
            text = json.dumps(message, **options)
        finally:
            sys.setrecursionlimit(limit)
    return text.encode() + b"\r\n"


def error(desc: str, error_class: str = "GenericError") -> dict[str, Any]:
    return {"error": {"class": error_class, "desc": desc}}


class QmpMonitor(Monitor):
    mode = "control"

    def __init__(self, session: Session, chardev_id: str, pretty: bool = False) -> None:
        super().__init__(session, chardev_id)
        self.pretty = pretty
        self.negotiated = False
        self._stream = JsonStreamer()
        # Input is handled after it arrives, so a client may be gone (and the
        # next one connected) while its last requests still run: connections
        # are counted as they come and go (``_live``) and as the handling
        # reaches them (``_handled``); answers for a gone client are dropped.
        self._live = 0
        self._handled = 0
        self._unsubscribe = session.chardevs.subscribe(self._on_manager_event)

    def _event(self, event: ChardevEvent) -> None:
        if event in (ChardevEvent.OPENED, ChardevEvent.CLOSED):
            self._live += 1
        super()._event(event)

    async def on_event(self, event: ChardevEvent) -> None:
        if event not in (ChardevEvent.OPENED, ChardevEvent.CLOSED):
            return
        # A connection starts or ends: a fresh session, with nothing left of the last.
        self._handled += 1
        self.negotiated = False
        self._stream = JsonStreamer()
        if event is ChardevEvent.OPENED:
            version = await commands.query_version(self.ctx)
            self.reply({"QMP": {"version": version, "capabilities": []}})

    async def on_data(self, data: bytes) -> None:
        for count, value in enumerate(self._stream.feed(data), 1):
            if isinstance(value, JsonError):
                self.reply(error(str(value)))
            else:
                self.reply(await self.dispatch(value))
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0)  # a flood of input must not starve the other consoles

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
        """Answer the client whose input is being handled (if it is still there)."""
        if self._handled == self._live:
            self.send(encode(message, self.pretty))

    def _on_manager_event(self, event: ManagerEvent) -> None:
        name = EVENT_NAMES.get(event.kind)
        if name is None or not self.negotiated or self.fe.chardev is None:
            return
        data: dict[str, Any] = {"id": event.chardev_id}
        if event.kind in CLIENT_EVENTS:
            chardev = self.session.chardevs.find(event.chardev_id)
            data.update(getattr(chardev, "client_event", None) or {})
        now = time.time()
        seconds = int(now)
        self.reply({
            "event": name,
            "data": data,
            "timestamp": {"seconds": seconds, "microseconds": int((now - seconds) * 1e6)},
        })

    async def close(self) -> None:
        self._unsubscribe()
        await super().close()
