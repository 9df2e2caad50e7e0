"""Open a console in one step from the app: on a TARGET, or on a chardev no console shows.

``O`` asks for a TARGET as ``tuicon TARGET`` takes it (a serial port, picked
from the detected ones or typed, ``unix:PATH``, ``tcp:HOST:PORT``,
``telnet:HOST:PORT``), a baud rate and where to log, and builds the same
wiring as the command line (:func:`tuicon.targets.console_steps`) into the
running session.  Enter on a chardev that no console shows offers the same
on it: a ``mux-be`` with a ``vc`` and an optional log, bridged to it (or,
for a mux-be or one of its members, a ``vc`` joining that mux-be).

Ids already taken in the session get a number (``console2``, ``screen2``).
The steps run in order as one background job through the session's
managers; if one fails, or the job is cancelled, what was built of it is
taken down again.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static, Switch
from textual.widgets.option_list import Option

from .. import targets
from ..chardev import ChardevError
from ..chardev.mux import MuxChardev
from ..chardev.mux_be import MuxBeChardev
from ..chardev.options import escape_value, split_option_string
from ..session import Step, make_private_directory
from .forms import JobForm, PortRows, detected_ports, note, port_choices

if TYPE_CHECKING:
    from ..session import Session

RENAMED_KEYS = ("id", "mux-be-id", "chardev", "peer")
"""The options of a step that name a chardev or a device."""


@dataclass(frozen=True)
class Opened:
    """What an open-console form made: the vc to show, and the notice to give."""

    vc_id: str
    text: str


# -- the steps -------------------------------------------------------------------------------


def step_id(argument: str) -> str:
    """The ``id=`` of a ``-chardev`` / ``-device`` argument ("" if it has none)."""
    return next((value or "" for key, value in split_option_string(argument) if key == "id"), "")


def taken_ids(session: Session) -> set[str]:
    return set(session.chardevs.ids()) | set(session.devices.ids())


def unique_id(taken: set[str], wanted: str) -> str:
    """``wanted``, or ``wanted2``, ``wanted3``... whichever is free; it is then taken."""
    chosen, number = wanted, 1
    while chosen in taken:
        number += 1
        chosen = f"{wanted}{number}"
    taken.add(chosen)
    return chosen


def renamed(steps: Sequence[Step], names: dict[str, str]) -> list[Step]:
    """``steps`` with every id in ``names`` replaced, wherever a step refers to it."""
    result = []
    for kind, argument in steps:
        (head, _), *items = split_option_string(argument)
        parts = [head]
        for key, value in items:
            if value is not None and key in RENAMED_KEYS:
                value = names.get(value, value)
            parts.append(key if value is None else f"{key}={escape_value(value)}")
        result.append((kind, ",".join(parts)))
    return result


def without_clashes(session: Session, steps: Sequence[Step]) -> list[Step]:
    """``steps`` whose new ids do not clash with what the session already has."""
    taken = taken_ids(session)
    names = {}
    for _, argument in steps:
        ident = step_id(argument)
        names[ident] = unique_id(taken, ident)
    return renamed(steps, names)


def vc_of(steps: Sequence[Step]) -> str:
    """The id of the vc the steps make."""
    return next(step_id(a) for kind, a in steps if kind == "chardev" and a.startswith("vc,"))


def target_steps(session: Session, target: targets.Target, *, baud: str | None,
                 log: Path | None) -> list[Step]:
    """``tuicon TARGET``'s wiring, its ids made free in this session."""
    return without_clashes(session, targets.console_steps(target, baud=baud, log=log))


def host_of(session: Session, chardev_id: str) -> str | None:
    """The mux-be a console for ``chardev_id`` joins: itself, or the mux-be it is a member of."""
    chardev = session.chardevs.get(chardev_id)
    if isinstance(chardev, MuxBeChardev):
        return chardev_id
    for other_id in session.chardevs.ids():
        other = session.chardevs.get(other_id)
        if isinstance(other, MuxBeChardev) and other.member_of(chardev) is not None:
            return other_id
    return None


def chardev_steps(session: Session, chardev_id: str, log: Path | None) -> list[Step]:
    """A console on an existing chardev; a ChardevError says why there cannot be one."""
    chardev = session.chardevs.get(chardev_id)
    taken = taken_ids(session)
    host = host_of(session, chardev_id)
    bridged = host is None  # a new mux-be, bridged to the chardev
    steps: list[Step] = []
    if host is None:
        users = [fe.owner for fe in chardev.frontends()]
        if users and not isinstance(chardev, MuxChardev):
            raise ChardevError(
                f"'{chardev_id}' is used by {', '.join(users)}: a console needs it free"
                " (W lists the wiring: remove or detach that first)")
        host = unique_id(taken, f"{chardev_id}-console")
        steps.append(("chardev", f"mux-be,id={escape_value(host)}"))
    member = f"mux-be-id={escape_value(host)}"
    vc = unique_id(taken, f"{host.removesuffix('-console')}-screen")
    steps.append(("chardev", f"vc,id={escape_value(vc)},{member}"))
    if log is not None:
        log_id = unique_id(taken, f"{host.removesuffix('-console')}-log")
        steps.append(("chardev", f"file,id={escape_value(log_id)},path={escape_value(str(log))},"
                                 f"append=on,{member}"))
    if bridged:
        bridge = unique_id(taken, f"{chardev_id}-bridge")
        steps.append(("device", f"bridge,id={escape_value(bridge)},chardev={escape_value(chardev_id)},"
                                f"peer={escape_value(host)}"))
    return steps


async def build(session: Session, steps: Sequence[Step]) -> None:
    """Apply ``steps`` in order; if one fails (or this is cancelled), undo the ones before it."""
    made: list[Step] = []
    try:
        for number, (kind, argument) in enumerate(steps, 1):
            note(f"Opening the console ({number}/{len(steps)}): -{kind} {argument}…")
            await session.apply([(kind, argument)])
            made.append((kind, argument))
    except BaseException:
        await undo(session, made)
        raise


async def undo(session: Session, made: Sequence[Step]) -> None:
    """Take down what ``made`` built, last first (devices, then members, then the mux-be)."""
    for kind, argument in reversed(made):
        ident = step_id(argument)
        with contextlib.suppress(ChardevError):
            if kind == "device":
                await session.devices.remove(ident)
                continue
            with contextlib.suppress(ChardevError):
                session.chardevs.detach_member(ident)  # a member is its mux-be's: free it first
            await session.chardevs.remove(ident)


def default_log(directory: Path, label: str) -> Path:
    """Where a console's log goes unless told: named after what it shows and the day."""
    return targets.log_path(targets.Target("serial", "", label), directory, datetime.date.today())


# -- the form --------------------------------------------------------------------------------


class OpenConsoleForm(JobForm[Opened]):
    """Open a console: on a TARGET (``chardev_id`` None) or on an existing chardev."""

    DEFAULT_CSS = """
    OpenConsoleForm { align: center middle; }
    OpenConsoleForm #ports-row { height: auto; }
    OpenConsoleForm #ports { height: auto; max-height: 8; }
    OpenConsoleForm .explain { color: $text-muted; padding-bottom: 1; }
    """

    def __init__(self, session: Session, *, log_directory: Path, chardev_id: str | None = None,
                 ports: PortRows | None = None, by_id_dir: Path = targets.BY_ID) -> None:
        super().__init__()
        self.session = session
        self.chardev_id = chardev_id
        self.ports = ports
        self.log_directory = log_directory
        self.by_id_dir = by_id_dir
        self._port_paths: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            if self.chardev_id is None:
                yield Label("Open a console", classes="form-title")
                yield Static("As 'tuicon TARGET' does: a serial port (pick one below or type its path or"
                             " by-id name), unix:PATH, tcp:HOST:PORT or telnet:HOST:PORT.",
                             classes="explain")
                with Horizontal(classes="option-row"):
                    yield Label("target", classes="option-name")
                    yield Input(placeholder="/dev/ttyUSB0, FTDI, tcp:HOST:PORT…", id="target",
                                classes="option")
                with Horizontal(id="ports-row"):  # as tall as the list (an option row is 3)
                    yield Label("detected", classes="option-name")
                    yield OptionList(id="ports", classes="option")
                with Horizontal(classes="option-row"):
                    yield Label("baud", classes="option-name")
                    yield Input(placeholder="115200 (serial ports only)", id="baud", classes="option")
            else:
                yield Label(f"Open a console on '{self.chardev_id}'", classes="form-title")
                yield Static(self._explain(), classes="explain")
            with Horizontal(classes="option-row"):
                yield Label("log", classes="option-name")
                yield Switch(value=True, id="log")
                yield Input(placeholder=self._log_placeholder(), id="log-path", classes="option")
            yield from self.form_buttons("Open")

    def _explain(self) -> str:
        assert self.chardev_id is not None
        host = host_of(self.session, self.chardev_id)
        if host is None:
            return (f"'{self.chardev_id}' is not shown in any console. This adds a mux-be with a vc"
                    " (and a log) and bridges it to the chardev, as 'tuicon TARGET' does.")
        return f"A vc (and a log) joins the mux-be '{host}', which no console shows yet."

    def _log_placeholder(self) -> str:
        label = self.chardev_id or "TARGET"
        directory = str(self.log_directory)
        home = str(Path.home())
        if directory == home or directory.startswith(home + os.sep):
            directory = "~" + directory[len(home):]  # the field is narrow: the part that says where
        return f"{directory}/{label}-{datetime.date.today().isoformat()}.log"

    async def on_mount(self) -> None:
        if self.chardev_id is None:
            self.query_one("#target", Input).focus()
            await self._show_ports()
        else:
            self.query_one("#ok", Button).focus()

    async def _show_ports(self) -> None:
        choices = port_choices(await detected_ports(self.ports), str(self.by_id_dir))
        self._port_paths = [path for _, path in choices]
        ports = self.query_one("#ports", OptionList)
        ports.clear_options()
        if choices:
            ports.add_options(Option(label) for label, _ in choices)
            ports.highlighted = 0
        else:
            ports.add_option(Option("no serial ports detected: type a TARGET", disabled=True))

    @on(OptionList.OptionSelected, "#ports")
    def _port_picked(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self._port_paths):
            field = self.query_one("#target", Input)
            field.value = self._port_paths[event.option_index]
            field.focus()

    def log_file(self, label: str) -> Path | None:
        """The log the form asks for: None for no log."""
        if not self.query_one("#log", Switch).value:
            return None
        typed = self.query_one("#log-path", Input).value.strip()
        return Path(typed).expanduser() if typed else default_log(self.log_directory, label)

    def steps(self) -> tuple[list[Step], str]:
        """The wiring the form asks for, and what it is in words; raises what is wrong."""
        if self.chardev_id is not None:
            log = self.log_file(self.chardev_id)
            return chardev_steps(self.session, self.chardev_id, log), self._said(self.chardev_id, log)
        text = self.query_one("#target", Input).value.strip()
        target = targets.parse_target(text, by_id_dir=self.by_id_dir)
        baud = self.query_one("#baud", Input).value.strip() or None
        log = self.log_file(target.label)
        steps = target_steps(self.session, target, baud=baud, log=log)
        return steps, self._said(f"{target.kind} {target.address}", log)

    @staticmethod
    def _said(what: str, log: Path | None) -> str:
        return f"Opened a console on {what}, " + (f"logged to {log}" if log else "not logged")

    def problem(self) -> str:
        try:
            self.steps()
        except (ChardevError, targets.TargetError) as err:
            return str(err)
        return ""

    @on(Input.Changed)
    @on(Switch.Changed)
    def _changed(self) -> None:
        if not self.busy:  # the error line belongs to the running job meanwhile
            self.show_error(self.problem())

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.busy:
            return
        try:
            steps, said = self.steps()
        except (ChardevError, targets.TargetError) as err:
            self.show_error(str(err))
            return
        default_path = self.query_one("#log-path", Input).value.strip() == ""
        self.start_job("Opening the console…", lambda: self._open(steps, said, default_path),
                       "cancelled: no console was opened (what was built of it is gone)")

    async def _open(self, steps: list[Step], said: str, default_path: bool) -> None:
        if default_path and self.query_one("#log", Switch).value:
            make_private_directory(self.log_directory)  # logs hold what was typed
        await build(self.session, steps)
        self.close(Opened(vc_of(steps), said))

