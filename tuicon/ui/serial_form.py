"""Line settings of a serial port, changed live (``serial-set``), as picocom and tio do.

The form shows the port's settings (speed, data bits, parity, stop bits,
flow control); Apply sends what differs through the chardev manager's
``serial_set``, in a worker, so the port never closes and the frontend
sees no CLOSED/OPENED.  The DTR and RTS switches raise or lower their line
at once, and "Send break" holds the line in break for the milliseconds
given.  Every value is checked by the engine's own parser as you type; a
bad one is shown in one line and nothing is sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static, Switch

from ..chardev import ChardevError
from ..chardev.backends.serial import (
    LINE_FIELDS,
    SERIAL_SET_OPTIONS,
    SerialChardev,
    parse_serial_set,
    serial_set_arguments,
)
from .forms import Choice, JobForm
from .wiring import backend_of

if TYPE_CHECKING:
    from ..session import Session

COMMON_SPEEDS = (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
                 921600, 1000000, 1500000, 2000000, 3000000)
"""The speeds offered in the list (any other can be typed in)."""
DEFAULT_BREAK_MS = "250"
CHOICES = {info.attr: info.choices or () for info in SERIAL_SET_OPTIONS}
LABELS: dict[str, dict[Any, str]] = {
    "bits": {n: f"{n} data bits" for n in (5, 6, 7, 8)},
    "parity": {p: "no parity" if p == "none" else f"{p} parity" for p in CHOICES["parity"]},
    "stop": {s: f"{s} stop bit{'' if s == '1' else 's'}" for s in CHOICES["stop"]},
    "flow": {"none": "no flow control", "rtscts": "RTS/CTS (hardware)",
             "xonxoff": "XON/XOFF (software)"},
}
"""What the Selects show for serial-set's values (the values themselves are serial-set's)."""


def serial_port(session: Session, chardev_id: str | None) -> SerialChardev:
    """The serial port behind ``chardev_id`` (a ``mux=on`` id reaches its base).

    Raises ChardevError with one line saying why it has no line settings.
    """
    if chardev_id is None:
        raise ChardevError("Select a serial port to change its line settings")
    chardev = backend_of(session, chardev_id)
    if not isinstance(chardev, SerialChardev):
        raise ChardevError(f"Chardev '{chardev_id}' is not a serial port (it is a"
                           f" {chardev.type_name}): only a serial port has line settings")
    return chardev


def modem_lines(port: SerialChardev) -> dict[str, bool]:
    """DTR and RTS as last set on the open port (pyserial raises both when it opens one)."""
    device = port.port.transport.serial if port.port is not None else None
    return {name: bool(getattr(device, name, True)) for name in ("dtr", "rts")}


class SerialForm(JobForm[str]):
    """Change a serial port's line settings live, toggle DTR/RTS, send a timed break.

    Open it with ``SerialForm.of(session, chardev_id)``, which says in one
    line (ChardevError) why a chardev has no line settings.  Dismissed with
    the new settings (``9600,8E1``) once the engine applied them.
    """

    DEFAULT_CSS = """
    SerialForm { align: center middle; }
    SerialForm .line-row { height: 3; }
    SerialForm .line-name { width: 8; padding: 1 1 0 0; }
    SerialForm .line-field { width: 1fr; }
    SerialForm #baud-other { width: 20; }
    SerialForm #break-ms { width: 12; }
    SerialForm .switch-name { width: auto; padding: 1 1 0 1; }
    SerialForm .unit { width: auto; padding: 1 2 0 1; }
    SerialForm #message { color: $text-muted; }
    """

    def __init__(self, session: Session, chardev_id: str) -> None:
        super().__init__()
        self.session = session
        self.chardev_id = chardev_id

    @classmethod
    def of(cls, session: Session, chardev_id: str | None) -> SerialForm:
        """The form for ``chardev_id``; ChardevError if it is not a serial port."""
        serial_port(session, chardev_id)
        assert chardev_id is not None
        return cls(session, chardev_id)

    @property
    def port(self) -> SerialChardev:
        return serial_port(self.session, self.chardev_id)

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        port = self.port
        now = port.settings_dict()
        speeds = sorted({*COMMON_SPEEDS, now["baud"]})
        lines = modem_lines(port)
        with Vertical(id="form"):
            yield Label(self._title(port), id="title", classes="form-title")
            with Horizontal(classes="line-row"):
                yield Label("speed", classes="line-name")
                yield Choice([(f"{s} baud", s) for s in speeds], value=now["baud"],
                             allow_blank=False, id="baud", classes="line-field")
                yield Input(placeholder="or type one", id="baud-other", type="integer",
                            tooltip="any speed from 1 to 20000000 (the device may refuse it)")
            with Horizontal(classes="line-row"):
                yield Label("frame", classes="line-name")
                for name in ("bits", "parity", "stop"):
                    yield self._choice(name, now[name])
            with Horizontal(classes="line-row"):
                yield Label("flow", classes="line-name")
                yield self._choice("flow", now["flow"])
            with Horizontal(classes="line-row"):
                yield Label("lines", classes="line-name")
                for name in ("dtr", "rts"):
                    yield Label(name.upper(), classes="switch-name")
                    yield Switch(lines[name], id=name, disabled=port.port is None,
                                 tooltip=f"raise or lower {name.upper()} now")
            with Horizontal(classes="line-row"):
                yield Label("break", classes="line-name")
                yield Input(DEFAULT_BREAK_MS, id="break-ms", type="integer")
                yield Label("ms", classes="unit")
                yield Button("Send break", id="break", disabled=port.port is None)
            yield Static("", id="message")
            yield from self.form_buttons("Apply")

    def _choice(self, name: str, value: Any) -> Choice:
        options = [(text, v) for v, text in LABELS[name].items()]
        return Choice(options, value=value, allow_blank=False, id=name, classes="line-field")

    def _title(self, port: SerialChardev) -> str:
        state = "" if port.port is not None else " (not open: kept for its next open)"
        return f"Line settings of '{self.chardev_id}' · now {port.settings}{state}"

    def on_mount(self) -> None:
        self.query_one("#baud", Select).focus()

    # -- the settings asked for ------------------------------------------------------------

    def wanted(self) -> dict[str, Any]:
        """The form's line settings (serial-set's names and types); ChardevError if one is bad."""
        typed = self.query_one("#baud-other", Input).value.strip()
        settings = {name: self.query_one(f"#{name}", Select).value for name in LINE_FIELDS}
        if typed:
            settings.update(serial_set_arguments(f"baud={typed}"))
        return settings

    def changes(self) -> dict[str, Any]:
        """What differs from the port's settings, checked as ``serial-set`` checks it."""
        port = self.port
        now = port.settings_dict()
        changes = {k: v for k, v in self.wanted().items() if v != now[k]}
        if changes:
            request = parse_serial_set(changes)
            replace(port.options, **request.line_changes())  # the port's own checks (stop=1.5)
        return changes

    def validate(self) -> bool:
        """Check the form; show the first problem in one line."""
        try:
            self.changes()
        except ChardevError as err:
            self.show_error(str(err))
            return False
        self.show_error("")
        return True

    @on(Input.Changed, "#baud-other")
    @on(Select.Changed)
    def _changed(self) -> None:
        if not self.busy:  # the error line belongs to the running job meanwhile
            self.validate()

    # -- actions -----------------------------------------------------------------------

    @on(Input.Submitted, "#baud-other")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.busy or not self.validate():
            return
        changes = self.changes()
        if not changes:
            self.show_error(f"nothing to change: the port is at {self.port.settings}")
            return
        self.start_job(f"Changing the line settings of '{self.chardev_id}'…",
                       lambda: self._apply(changes),
                       f"cancelled: '{self.chardev_id}' keeps {self.port.settings}")

    async def _apply(self, changes: dict[str, Any]) -> None:
        await self.session.chardevs.serial_set(self.chardev_id, **changes)
        settings = self.port.settings
        self.app.notify(f"'{self.chardev_id}': line settings now {settings}")
        self.close(settings)

    @on(Switch.Changed)
    def _modem_line(self, event: Switch.Changed) -> None:
        name, on = str(event.switch.id), event.value
        if self.busy:
            self._set_switch(event.switch, not on)
            self.show_error("wait until the change under way has finished")
            return
        action = f"{'Raising' if on else 'Lowering'} {name.upper()}"
        self.start_job(f"{action}…", lambda: self._send_modem_line(event.switch, on),
                       f"cancelled: {name.upper()} may not have changed")

    async def _send_modem_line(self, switch: Switch, on: bool) -> None:
        name = str(switch.id)
        try:
            await self.session.chardevs.serial_set(self.chardev_id, **{name: on})
        except ChardevError:
            self._set_switch(switch, not on)  # the line is as it was
            raise
        self._say(f"{name.upper()} {'raised' if on else 'lowered'}")

    def _set_switch(self, switch: Switch, on: bool) -> None:
        with self.prevent(Switch.Changed):
            switch.value = on

    @on(Input.Submitted, "#break-ms")
    @on(Button.Pressed, "#break")
    def send_break(self) -> None:
        if self.busy:
            return
        try:
            settings = serial_set_arguments(f"break-ms={self.query_one('#break-ms', Input).value.strip()}")
            parse_serial_set(settings)
        except ChardevError as err:
            self.show_error(str(err))
            return
        self.start_job(f"Sending a break of {settings['break-ms']} ms…", lambda: self._break(settings),
                       "cancelled: the break ended early")

    async def _break(self, settings: dict[str, Any]) -> None:
        await self.session.chardevs.serial_set(self.chardev_id, **settings)
        self._say(f"break of {settings['break-ms']} ms sent")

    def _say(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#message", Static).update(text)
