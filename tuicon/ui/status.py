"""What a chardev's state is, in a word and a colour, and what an engine event means to a user.

Pure functions of the managers' query results, shared by the side column's
cards, the grid's panes, the zoom status bar and the notifications.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..chardev.manager import ChardevInfo, ManagerEvent
from . import render

if TYPE_CHECKING:
    from ..session import Session

STATES = ("open", "closed", "connecting", "error", "stalled")
"""The states a pane is coloured by (the CSS classes are ``state-<name>``)."""


def state_of(info: ChardevInfo) -> str:
    """One word for how a chardev is doing: error, stalled, connecting, open or closed."""
    extra = info.extra
    if info.error:
        return "error"
    if any(m.get("stalled") for m in extra.get("members", ())) or any(
            c.get("stalled") for c in extra.get("clients", ())):
        return "stalled"
    if info.be_open:
        return "open"
    if info.connect_postponed or extra.get("connecting"):
        return "connecting"
    return "closed"


def badge(info: ChardevInfo) -> str:
    """The state and what matters most about it, in a few words."""
    state = state_of(info)
    extra = info.extra
    if state == "error":
        return f"error: {info.error}"
    if state == "stalled":
        stalled = [m["id"] for m in extra.get("members", ()) if m.get("stalled")]
        return f"stalled: {', '.join(stalled)} cut loose" if stalled else "stalled client"
    if "clients" in extra and extra["clients"]:
        return f"open · {len(extra['clients'])} clients"
    if state == "connecting":
        return "connect postponed" if info.connect_postponed else "connecting"
    return state


DETAIL_CLIENTS = 4
"""Clients listed in a pane (the clients screen lists them all)."""


def details(info: ChardevInfo) -> list[str]:
    """The lines a pane shows about a chardev's own kind of state, under its status.

    A serial port's line settings; a socket server's clients, each with its
    address, role, bytes and whether it was cut loose (at most
    :data:`DETAIL_CLIENTS`, then how many more); output dropped because
    nobody was there.
    """
    extra = info.extra
    lines = []
    if "settings" in extra:
        lines.append(f"line {extra['settings']}")
    if "clients" in extra:
        clients = extra["clients"]
        lines.append(f"clients {len(clients)} of {extra.get('max-clients', '?')}"
                     f" · writers={extra.get('writers', 'all')}")
        lines.extend(_client_line(client) for client in clients[:DETAIL_CLIENTS])
        if len(clients) > DETAIL_CLIENTS:
            lines.append(f"  … {len(clients) - DETAIL_CLIENTS} more")
    if info.dropped:
        lines.append(f"dropped {render.size(info.dropped)} (nobody there)")
    return lines


def _client_line(client: dict[str, Any]) -> str:
    line = (f"  {client['client']}: {client['address']} {client['role']}"
            f" · in {render.size(client['bytes-in'])} out {render.size(client['bytes-out'])}")
    if client.get("stalled"):
        line += " · cut loose"
    if client.get("dropped"):
        line += f" · missed {render.size(client['dropped'])}"
    return line


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def event_text(session: Session, event: ManagerEvent) -> str | None:
    """What a user should hear about an engine event, as tio says it; None for the routine."""
    kind, chardev_id = event.kind, event.chardev_id
    chardev = session.chardevs.find(chardev_id)
    if chardev is None:
        return f"{chardev_id}: removed" if kind == "removed" else None
    what = chardev.type_name
    if kind == "opened":
        if what == "socket":
            return f"{chardev_id}: connected ({_peer(chardev.filename)})"
        if what == "serial":
            return f"{chardev_id}: {chardev.options.path} is there"
        if what == "pty":
            return f"{chardev_id}: a program opened {chardev.filename.removeprefix('pty:')}"
        return None
    if kind == "closed":
        reason = f": {chardev.last_error}" if chardev.last_error else ""
        if what == "socket":
            return f"{chardev_id}: disconnected{reason}"
        if what == "serial":
            return f"{chardev_id}: device gone{reason}"
        if what == "pty":
            return f"{chardev_id}: the pty's program closed it"
        return f"{chardev_id}: closed{reason}" if reason else None
    if kind == "changed":
        return f"{chardev_id}: swapped to {what} ({chardev.filename})"
    if kind == "error":
        return f"{chardev_id}: {chardev.error}" if chardev.error else f"{chardev_id}: working again"
    if kind == "members":
        stalled = [m["id"] for m in chardev.describe_extra().get("members", ()) if m.get("stalled")]
        if stalled:
            return f"{chardev_id}: {', '.join(stalled)} took nothing for a while: cut loose"
        return f"{chardev_id}: every member is keeping up again"
    return None


def _peer(filename: str) -> str:
    return filename.split(" <-> ", 1)[1] if " <-> " in filename else filename


def stamped(text: str) -> str:
    """A status line as the console shows it: ``[12:00:01] text``."""
    return f"[{_stamp()}] {text}"


def info_of(session: Session, chardev_id: str) -> ChardevInfo | None:
    chardev = session.chardevs.find(chardev_id)
    return session.chardevs.info(chardev) if chardev is not None else None


def extra_of(info: ChardevInfo | None) -> dict[str, Any]:
    return info.extra if info is not None else {}
