"""The monitor table: ``-mon [chardev=]ID[,mode=control|readline][,pretty=on][,local-only=on]``.

Every ``-mon`` option is read by :func:`parse_monitor_options`, from the
command line and from a profile's ``[[monitor]]`` table alike, so both
accept the same things and say the same words.

``local-only=on`` (tuicon's option) is for a monitor on a ``mux=on`` chardev.
As in QEMU's ``mon:``, whoever types on a mux's base can switch to any of its
frontends with ``C-a c`` -- the monitor included, and a monitor controls all
of tuicon.  With ``local-only=on`` the mux skips this monitor whenever its
base is not a local console (the built-in ``vc``): a network peer, a pty or a
serial line never reaches it.  tuicon warns at start when a monitor shares a
mux with a network socket without it, and when a monitor sits on a TCP
address other than loopback (monitors have no authentication); the texts
are kept in :attr:`MonitorManager.warnings` for the UI.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..chardev import Chardev, InvalidOption
from ..chardev.mux import MuxChardev
from ..chardev.options import check_id, shown, split_option_string
from .base import Monitor
from .qmp import QmpMonitor
from .readline import ReadlineMonitor

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)

MODES = ("control", "readline")
OPTION_NAMES = ("chardev", "mode", "pretty", "local-only")
_ON = ("on", "yes", "true", "y")
_OFF = ("off", "no", "false", "n")


@dataclass(frozen=True)
class MonitorOptions:
    """One ``-mon``, checked."""

    chardev: str
    mode: str = "readline"
    pretty: bool = False
    local_only: bool = False

    def cli(self) -> str:
        """The ``-mon`` argument (defaults left out, except the mode)."""
        text = f"chardev={self.chardev.replace(',', ',,')},mode={self.mode}"
        if self.pretty:
            text += ",pretty=on"
        if self.local_only:
            text += ",local-only=on"
        return text

    def table(self) -> dict[str, Any]:
        """The profile's ``[[monitor]]`` table (typed values)."""
        table: dict[str, Any] = {"chardev": self.chardev, "mode": self.mode}
        if self.pretty:
            table["pretty"] = True
        if self.local_only:
            table["local-only"] = True
        return table


def parse_monitor_options(source: str | Mapping[str, Any]) -> MonitorOptions:
    """Check a ``-mon`` argument or a profile's ``[[monitor]]`` table.

    Switches take ``on``/``off`` (the command line) or ``true``/``false``
    (TOML).  Raises InvalidOption with the same text for either source.
    """
    values = _cli_values(source) if isinstance(source, str) else dict(source)
    for key in values:
        if key not in OPTION_NAMES:
            raise InvalidOption(
                f"Invalid parameter '{shown(str(key))}' (allowed: {', '.join(OPTION_NAMES)})",
                option=str(key),
            )
    chardev = values.get("chardev")
    if chardev is None:
        raise InvalidOption.missing("chardev")
    if not isinstance(chardev, str):
        raise InvalidOption("Parameter 'chardev' expects a chardev id", option="chardev")
    check_id(chardev, "chardev")
    mode = values.get("mode", "readline")
    if mode not in MODES:
        raise InvalidOption(
            f"Parameter 'mode' does not accept value '{shown(str(mode))}'"
            f" (allowed: {', '.join(MODES)})",
            option="mode",
        )
    return MonitorOptions(chardev, mode, _switch(values, "pretty"), _switch(values, "local-only"))


def _cli_values(text: str) -> dict[str, Any]:
    # QEMU's -mon syntax: the first item may be the bare chardev id; a bare
    # switch means on.
    values: dict[str, Any] = {}
    for index, (key, value) in enumerate(split_option_string(text)):
        if value is None:
            key, value = ("chardev", key) if index == 0 and key not in OPTION_NAMES else (key, "on")
        values[key] = value
    return values


def _switch(values: Mapping[str, Any], name: str) -> bool:
    value = values.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _ON + _OFF:
        return value.lower() in _ON
    raise InvalidOption(f"Parameter '{name}' expects 'on' or 'off'", option=name)


class MonitorManager:
    """Owns every monitor of a session; closing it stops them all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.monitors: list[Monitor] = []
        self._options: dict[Monitor, MonitorOptions] = {}
        self.warnings: list[str] = []
        """What a user should know about the monitors' exposure (shown by the UI)."""

    async def add(self, chardev_id: str, mode: str = "readline", pretty: bool = False,
                  local_only: bool = False) -> Monitor:
        """Start a monitor; the arguments are checked as a ``-mon`` table."""
        options = parse_monitor_options(
            {"chardev": chardev_id, "mode": mode, "pretty": pretty, "local-only": local_only})
        return await self.add_options(options)

    async def add_cli(self, text: str) -> Monitor:
        """``-mon`` argument: ``[chardev=]ID[,mode=control|readline][,pretty=on][,local-only=on]``."""
        try:
            options = parse_monitor_options(text)
        except InvalidOption as err:
            raise InvalidOption(f"-mon: {err}", option=err.option) from None
        return await self.add_options(options)

    async def add_options(self, options: MonitorOptions) -> Monitor:
        chardev = self.session.chardevs.find(options.chardev)
        if chardev is None:
            raise InvalidOption(f"chardev '{options.chardev}' not found", option="chardev")
        if options.local_only and not isinstance(chardev, MuxChardev):
            raise InvalidOption(
                f"Parameter 'local-only' needs a chardev with mux=on ('{options.chardev}' is a"
                f" {chardev.type_name}: whoever is at its other end reaches the monitor anyway)",
                option="local-only",
            )
        monitor: Monitor = (QmpMonitor(self.session, options.chardev, options.pretty)
                            if options.mode == "control"
                            else ReadlineMonitor(self.session, options.chardev))
        if isinstance(chardev, MuxChardev):
            chardev.set_local_only(monitor.fe, options.local_only)
        try:
            monitor.start()
        except BaseException:
            if isinstance(chardev, MuxChardev):
                chardev.set_local_only(monitor.fe, False)
            await monitor.close()
            raise
        self.monitors.append(monitor)
        self._options[monitor] = options
        for text in exposure_warnings(chardev, options):
            log.warning("%s", text)
            self.warnings.append(text)
        return monitor

    def cli_args(self) -> list[str]:
        """The ``-mon`` arguments that make these monitors again (for profiles)."""
        return [self._options[monitor].cli() for monitor in self.monitors]

    def query(self) -> list[dict[str, str]]:
        return [{"chardev": m.chardev_id, "mode": m.mode} for m in self.monitors]

    async def remove(self, monitor: Monitor) -> None:
        """Stop one monitor and free its chardev (the UI's devices list removes it)."""
        self.monitors.remove(monitor)
        self._options.pop(monitor, None)
        chardev = monitor.fe.chardev
        if isinstance(chardev, MuxChardev):
            chardev.set_local_only(monitor.fe, False)
        await monitor.close()

    async def close(self) -> None:
        while self.monitors:
            monitor = self.monitors.pop()
            self._options.pop(monitor, None)
            await monitor.close()


# --- who can reach a monitor ---------------------------------------------------------


def exposure_warnings(chardev: Chardev, options: MonitorOptions) -> list[str]:
    """Warnings for a monitor on ``chardev``: a remote peer that can reach it."""
    who = f"monitor on '{options.chardev}'"
    warnings = []
    base = chardev.base if isinstance(chardev, MuxChardev) else chardev
    if base is None:
        return warnings
    if chardev is not base and not options.local_only and network_address(base) is not None:
        warnings.append(
            f"{who}: it shares a mux with network socket '{base.label}' ({base.filename}),"
            " whose peer can switch to the monitor with C-a c; add local-only=on to prevent it"
        )
    exposed = [address for address in network_addresses(base) if not is_loopback(address)]
    if exposed:
        warnings.append(
            f"{who}: '{base.label}' uses {exposed[0]}, which is not a loopback address; monitors"
            " have no authentication, so anyone who can reach it controls tuicon"
        )
    return warnings


def network_address(chardev: Chardev) -> str | None:
    """The chardev's first network host (a TCP socket or UDP), None for anything local."""
    addresses = network_addresses(chardev)
    return addresses[0] if addresses else None


def network_addresses(chardev: Chardev) -> list[str]:
    options = chardev.options
    if chardev.type_name == "socket" and getattr(options, "path", None) is None:
        return [str(getattr(chardev, "host", None) or getattr(options, "host", None) or "")]
    if chardev.type_name == "udp":
        return [str(options.host), str(options.localaddr or "127.0.0.1")]
    return []


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere
