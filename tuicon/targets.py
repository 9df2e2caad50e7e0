"""``tuicon TARGET``: one step to a console, and ``tuicon --list`` (the serial ports).

A TARGET is what tio takes, plus sockets:

* a serial device path (``/dev/ttyUSB0``, a ``/dev/serial/by-id/...`` link),
* a by-id name, or a unique prefix or substring of one (``FTDI``, ``usb-1a86``),
* ``unix:PATH``, ``tcp:HOST:PORT`` or ``telnet:HOST:PORT``.

:func:`console_steps` turns it into ordinary session steps: the source
chardev (with ``reconnect`` on, so an unplugged adapter or a restarted VM
comes back), a ``mux-be`` named ``console`` with the ``vc`` ``screen`` and
a ``file`` log ``log`` as members, and a ``bridge`` between the source and
the console.  Everything here is a pure function of its arguments except
the by-id directory and the port listing, which are passed in (tests give
their own).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chardev.options import ascii_number, shown
from .session import Step

BY_ID = Path("/dev/serial/by-id")
DEV = Path("/dev")
SOCKET_KINDS = ("unix", "tcp", "telnet")
LOG_NAME_LIMIT = 80


class TargetError(ValueError):
    """A TARGET (or an option that goes with it) that cannot be used; one line for the user."""


@dataclass(frozen=True)
class Target:
    """Where the console is: ``kind`` is serial, unix, tcp or telnet."""

    kind: str
    address: str
    """The device path or UNIX socket path, or HOST:PORT."""
    label: str
    """A short name for it (a by-id name, ``ttyUSB0``, ``tcp-host-port``): names the log file."""
    host: str = ""
    port: str = ""

    @property
    def source_id(self) -> str:
        return "serial" if self.kind == "serial" else "remote"


def parse_target(text: str, *, by_id_dir: Path = BY_ID, dev_dir: Path = DEV) -> Target:
    """Read a TARGET; serial names are looked up in ``by_id_dir`` (then ``dev_dir``)."""
    kind, colon, rest = text.partition(":")
    if colon and kind in SOCKET_KINDS:
        if kind == "unix":
            if not rest:
                raise TargetError(f"TARGET {shown(text)}: expected unix:PATH")
            return Target("unix", rest, "unix-" + Path(rest).name)
        return _network_target(text, kind, rest)
    return Target("serial", *resolve_serial(text, by_id_dir=by_id_dir, dev_dir=dev_dir))


def _network_target(text: str, kind: str, rest: str) -> Target:
    host, colon, port = rest.rpartition(":")
    number = ascii_number(port)
    if not colon or number is None or not 1 <= number <= 65535:
        raise TargetError(f"TARGET {shown(text)}: expected {kind}:HOST:PORT with a port from 1 to"
                          " 65535")
    host = host.strip("[]") or "127.0.0.1"
    return Target(kind, f"{host}:{number}", f"{kind}-{host}-{number}", host=host, port=str(number))


def resolve_serial(text: str, *, by_id_dir: Path = BY_ID, dev_dir: Path = DEV) -> tuple[str, str]:
    """A serial TARGET as (path, label), as tio finds it.

    A path is taken as given (it may appear later: the port waits for it).
    Otherwise the by-id names are searched: the exact name, then a unique
    prefix, then a unique substring (then one ignoring case); a name in
    ``dev_dir`` (``ttyUSB0``) comes last.  Several matches at the first
    level that has any is an error listing them.
    """
    if not text:
        raise TargetError("TARGET is empty: give a serial port, unix:PATH, tcp:HOST:PORT or"
                          " telnet:HOST:PORT")
    if "/" in text:
        return text, _label_of_path(text, by_id_dir, dev_dir)
    names = by_id_names(by_id_dir)
    folded = text.casefold()
    for matches in ([n for n in names if n == text], [n for n in names if n.startswith(text)],
                    [n for n in names if text in n], [n for n in names if folded in n.casefold()]):
        if len(matches) == 1:
            return str(by_id_dir / matches[0]), matches[0]
        if matches:
            raise TargetError(f"TARGET {shown(text)} matches {len(matches)} serial ports:"
                              f" {', '.join(matches)}; give more of the name")
    if (dev_dir / text).exists():
        return str(dev_dir / text), text
    raise TargetError(f"no serial port matches {shown(text)} (not a path, nor part of a name in"
                      f" {by_id_dir}, nor in {dev_dir}); 'tuicon --list' shows the ports")


def _label_of_path(path: str, by_id_dir: Path, dev_dir: Path) -> str:
    for directory in (by_id_dir, dev_dir):
        prefix = f"{directory}/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix):]
    return Path(path).name or path


def by_id_names(by_id_dir: Path = BY_ID) -> list[str]:
    """The names in the by-id directory, sorted; none when it does not exist."""
    try:
        return sorted(entry.name for entry in os.scandir(by_id_dir))
    except OSError:
        return []


def log_path(target: Target, directory: Path, day: datetime.date) -> Path:
    """The console log for ``target``: named after it and the day (appended to all day)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", target.label).strip("-.")[:LOG_NAME_LIMIT]
    return directory / f"{stem or 'console'}-{day.isoformat()}.log"


def escape(value: str) -> str:
    """A value inside a QEMU option string (``,`` is written ``,,``)."""
    return value.replace(",", ",,")


def source_option(target: Target, baud: str | None = None) -> str:
    """The ``-chardev`` argument of the source, reconnecting when it goes away."""
    chardev_id = target.source_id
    if baud is not None:
        if target.kind != "serial":
            raise TargetError(f"--baud is for a serial port, not for {target.kind}:{target.address}")
        if ascii_number(baud) is None:
            raise TargetError(f"--baud expects a number of bits per second (e.g. 115200), not"
                              f" {shown(baud)}")
    if target.kind == "serial":
        speed = f",baud={baud}" if baud is not None else ""
        return f"serial,id={chardev_id},path={escape(target.address)}{speed},reconnect=1"
    if target.kind == "unix":
        return f"socket,id={chardev_id},path={escape(target.address)},reconnect=1"
    telnet = ",telnet=on" if target.kind == "telnet" else ""
    return (f"socket,id={chardev_id},host={escape(target.host)},port={target.port}{telnet}"
            ",reconnect=1")


def console_steps(target: Target, *, baud: str | None = None, log: Path | None = None) -> list[Step]:
    """The session for ``tuicon TARGET``: source, console mux-be (vc + log), bridge."""
    steps: list[Step] = [
        ("chardev", "mux-be,id=console"),
        ("chardev", "vc,id=screen,mux-be-id=console"),
    ]
    if log is not None:
        steps.append(("chardev", f"file,id=log,path={escape(str(log))},append=on,mux-be-id=console"))
    steps.append(("chardev", source_option(target, baud)))
    steps.append(("device", f"bridge,id=bridge,chardev={target.source_id},peer=console"))
    return steps


# --- tuicon --list -----------------------------------------------------------------------


def _comports() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


PortSource = Callable[[], Iterable[Any]]


def port_rows(source: PortSource = _comports, by_id_dir: Path = BY_ID) -> list[tuple[str, ...]]:
    """(by-id name, device, description, USB ids) for each port pyserial sees."""
    links: dict[str, str] = {}
    for name in by_id_names(by_id_dir):
        links.setdefault(os.path.realpath(by_id_dir / name), name)
    rows = []
    for port in sorted(source(), key=lambda p: p.device):
        usb = ""
        if port.vid is not None and port.pid is not None:
            usb = f"{port.vid:04x}:{port.pid:04x}"
            if port.serial_number:
                usb += f" {port.serial_number}"
        description = port.description if port.description not in (None, "n/a") else ""
        rows.append((links.get(os.path.realpath(port.device), ""), port.device, description, usb))
    return rows


def port_list(source: PortSource = _comports, by_id_dir: Path = BY_ID) -> str:
    """``tuicon --list``: the serial ports as a table (as tio lists them)."""
    rows = port_rows(source, by_id_dir)
    if not rows:
        return "no serial ports found"
    header = ("by-id name", "device", "description", "USB vid:pid serial")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        cells = [(cell or "-").ljust(width) for cell, width in zip(row[:3], widths)]
        lines.append("  ".join([*cells, row[3] or "-"]).rstrip())
    return "\n".join(lines)
