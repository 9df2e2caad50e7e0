"""A session: the chardev manager and the device table, built from QEMU-style options."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import platformdirs

from .chardev import ChardevError, ChardevManager
from .devices import DeviceManager

Step = tuple[str, str]
"""One command-line option in order: ("chardev" | "device", argument)."""


def state_directory() -> Path:
    """tuicon's state directory (logs, crash reports): private to the user."""
    return Path(platformdirs.user_state_dir("tuicon"))


def default_log_path() -> Path:
    return Path(platformdirs.user_log_dir("tuicon")) / "console.log"


def make_private_directory(path: Path) -> Path:
    """Create ``path`` (and tuicon's state directory above it) as 0700: logs hold what was typed.

    Raises ChardevError, naming the directory, if it cannot be made.
    """
    state = state_directory()
    for directory in ([state] if path.is_relative_to(state) else []) + [path]:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise ChardevError(f"cannot create the directory {directory}: {err.strerror or err}"
                               " (check HOME and XDG_STATE_HOME)") from None
    return path


DEMO_MOTD = "Enter: type into this console · Ctrl+]: stop typing · log: {log} · share: nc {share}"
"""The demo's first screen: how to type, how to stop, where the log and the share are.

The board prints it after its boot log ({ID} is where chardev ID is), so it
is on the screen whichever member of the console one looks at, after every
reboot too, and a profile saved from the demo keeps it.
"""


def default_steps(log_path: Path) -> list[Step]:
    """The built-in session: a console any new user can try without hardware.

    A simulated board (``demo-board``) plays the device; its console is a
    mux-be whose members are the built-in vc, a log file, a TCP share on
    loopback (nc, telnet) and a pty (picocom, screen).
    """
    return [
        ("chardev", "mux-be,id=console"),
        ("chardev", "vc,id=screen,mux-be-id=console"),
        ("chardev", f"file,id=log,path={str(log_path).replace(',', ',,')},append=on,mux-be-id=console"),
        # Loopback only, on a free port (shown in its pane): nc or telnet to it.
        ("chardev", "socket,id=share,host=127.0.0.1,port=0,server=on,wait=off,mux-be-id=console"),
        ("chardev", "pty,id=pty,mux-be-id=console"),
        ("device", f"demo-board,id=board,chardev=console,motd={DEMO_MOTD}"),
    ]


class Session:
    """Everything one tuicon process runs; closing it releases everything."""

    def __init__(self) -> None:
        self.chardevs = ChardevManager()
        self.devices = DeviceManager(self.chardevs)
        self.monitors: Any = None
        """The monitor table, made when the first ``-mon`` is applied."""
        self._quit: Callable[[str], None] | None = None

    def on_quit(self, callback: Callable[[str], None]) -> None:
        """Who acts on a request to quit (QMP ``quit``, mux ``C-a x`` on a vc)."""
        self._quit = callback
        self.chardevs.quit_requested = callback

    def request_quit(self, reason: str) -> None:
        if self._quit is not None:
            self._quit(reason)

    async def apply(self, steps: Iterable[Step]) -> None:
        """Run ``-chardev`` / ``-device`` / ``-mon`` options in order."""
        for kind, argument in steps:
            if kind == "chardev":
                await self.chardevs.add(None, argument)
            elif kind == "device":
                await self.devices.add_cli(argument)
            elif kind == "mon":
                await self._monitor_table().add_cli(argument)
            else:
                raise ValueError(f"unknown session step {kind!r}")

    def _monitor_table(self) -> Any:
        if self.monitors is None:
            from .monitor import MonitorManager

            self.monitors = MonitorManager(self)
        return self.monitors

    async def close(self) -> None:
        if self.monitors is not None:
            await self.monitors.close()
        await self.devices.close()
        await self.chardevs.close()
