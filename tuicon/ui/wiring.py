"""How the session is wired, as the UI needs to show it: consoles, trees, links.

Pure functions of the session's managers (no Textual here), so they are
tested without an app:

* :func:`console_of` — the vc a chardev is seen through: itself, the vc of
  its mux-be, or one reached through bridges (the serial port bridged into
  the console's mux-be shows that console).
* :func:`tree` — every chardev once, a mux-be's members and a mux's base
  under it, for the side column.
* :func:`links` — one line per device, naming what it joins.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..chardev.mux import MuxChardev
from ..chardev.mux_be import MuxBeChardev

if TYPE_CHECKING:
    from ..chardev.chardev import Chardev
    from ..session import Session


def _neighbours(session: Session) -> dict[str, list[str]]:
    """Which chardevs are joined: mux-be and members, mux and base, a device's chardevs."""
    chardevs = session.chardevs
    edges: dict[str, list[str]] = {chardev_id: [] for chardev_id in chardevs.ids()}

    def join(a: str, b: str) -> None:
        if a in edges and b in edges and a != b:
            edges[a].append(b)
            edges[b].append(a)

    for chardev_id in chardevs.ids():
        chardev = chardevs.get(chardev_id)
        if isinstance(chardev, MuxBeChardev):
            for member in chardev.members:
                if member.chardev is not None:
                    join(chardev_id, member.chardev.label)
        elif isinstance(chardev, MuxChardev) and chardev.base is not None:
            join(chardev_id, chardev.base.label)
    for device in session.devices.query():
        used = device["chardevs"]
        for other in used[1:]:
            join(used[0], other)
    return edges


def backend_of(session: Session, chardev_id: str) -> Chardev:
    """The chardev itself, or for a ``mux=on`` id the backend under its mux."""
    chardev = session.chardevs.get(chardev_id)
    if isinstance(chardev, MuxChardev) and chardev.base is not None:
        return chardev.base
    return chardev


def console_of(session: Session, chardev_id: str) -> str | None:
    """The id of the vc that shows ``chardev_id`` (the nearest one), or None."""
    chardevs = session.chardevs
    if chardev_id not in chardevs:
        return None
    edges = _neighbours(session)
    seen, queue = {chardev_id}, deque([chardev_id])
    while queue:
        current = queue.popleft()
        if chardevs.get(current).type_name == "vc":
            return current
        for nxt in edges[current]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return None


def consoles(session: Session) -> list[str]:
    """Every vc, in the manager's order."""
    return [i for i in session.chardevs.ids() if session.chardevs.get(i).type_name == "vc"]


@dataclass(frozen=True)
class TreeRow:
    chardev_id: str
    depth: int
    """0 at the top; 1 for a mux-be's members and a mux's base."""


def tree(session: Session, order: list[str] | None = None) -> list[TreeRow]:
    """Every chardev once: parents in ``order`` (default: the manager's), children under them."""
    chardevs = session.chardevs
    ids = order if order is not None else chardevs.ids()
    children: dict[str, list[str]] = {}
    has_parent: set[str] = set()
    for chardev_id in chardevs.ids():
        chardev = chardevs.get(chardev_id)
        kids: list[str] = []
        if isinstance(chardev, MuxBeChardev):
            kids = [m.chardev.label for m in chardev.members if m.chardev is not None]
        elif isinstance(chardev, MuxChardev) and chardev.base is not None:
            kids = [chardev.base.label]
        children[chardev_id] = kids
        has_parent.update(kids)
    rows: list[TreeRow] = []
    placed: set[str] = set()

    def place(chardev_id: str, depth: int) -> None:
        if chardev_id in placed:
            return
        placed.add(chardev_id)
        rows.append(TreeRow(chardev_id, depth))
        for kid in children.get(chardev_id, []):
            place(kid, depth + 1)

    for chardev_id in _in_order(ids, chardevs.ids()):
        if chardev_id not in has_parent:
            place(chardev_id, 0)
    for chardev_id in chardevs.ids():  # anything left (a cycle cannot happen; be safe)
        place(chardev_id, 0)
    return rows


def _in_order(preferred: list[str], every: list[str]) -> Iterator[str]:
    known = set(every)
    yield from (i for i in preferred if i in known)
    shown = set(preferred)
    yield from (i for i in every if i not in shown)


def links(session: Session) -> list[str]:
    """One line per device: ``bridge b0: ser0 ⇄ console``, ``echo dev: console``."""
    lines = []
    for device in session.devices.query():
        joined = " ⇄ ".join(device["chardevs"]) or "(detached)"
        line = f"{device['driver']} {device['id']}: {joined}"
        if device.get("error"):
            line += f" — {device['error']}"
        lines.append(line)
    return lines
