"""Forms: add or swap a backend, wire a bridge, confirm, save or open a profile.

Every form only builds a request; the app runs it through the session's
managers, exactly as QMP would, and shows the engine's error inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ..chardev import ChardevError
from ..chardev.options import COMMON_OPTIONS, Kind, OptionInfo, describe, escape_value, split_option_string

if TYPE_CHECKING:
    from ..session import Session

HIDDEN_TYPES = {"mux"}  # made by mux=on, not by hand


class BackendForm(ModalScreen[str | None]):
    """Pick a type, fill in exactly that type's options; validated as you type.

    Dismissed with the ``-chardev`` text once the engine accepted it.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, session: Session, *, chardev_id: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.swap_id = chardev_id  # None: add a new chardev
        self.initial: dict[str, str] = {}
        self.initial_type = "ringbuf"
        if chardev_id is not None:
            spec = session.chardevs.get(chardev_id).spec
            head, *rest = split_option_string(spec.to_cli())
            self.initial_type = head[0]
            self.initial = {k: v or "" for k, v in rest if k != "id" and "." not in k}

    def compose(self) -> ComposeResult:
        types = [t for t in self.session.chardevs.registry.names() if t not in HIDDEN_TYPES]
        title = f"Swap the backend of '{self.swap_id}'" if self.swap_id else "Add a chardev"
        with Vertical(id="form"):
            yield Label(title, classes="form-title")
            if self.swap_id is None:
                yield Input(placeholder="id (required)", id="chardev-id")
            yield Select([(t, t) for t in types], value=self.initial_type, allow_blank=False,
                         id="type")
            yield VerticalScroll(id="options")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Add" if self.swap_id is None else "Swap", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    async def on_mount(self) -> None:
        await self._show_options(self.initial_type)
        self.query_one("#chardev-id" if self.swap_id is None else "#type").focus()

    @on(Select.Changed, "#type")
    async def _type_changed(self, event: Select.Changed) -> None:
        await self._show_options(str(event.value))
        self.validate()

    async def _show_options(self, type_name: str) -> None:
        box = self.query_one("#options", VerticalScroll)
        await box.remove_children()
        table = describe(self.session.chardevs.registry.options_class(type_name)) + COMMON_OPTIONS
        rows = []
        for info in table:
            if info.kind is Kind.STRLIST or (self.swap_id and info.name in ("mux", "mux-be-id")):
                continue
            field = Input(value=self.initial.get(info.name, "") if type_name == self.initial_type else "",
                          placeholder=_placeholder(info), id=f"opt-{info.name}",
                          classes="option", tooltip=info.help)
            field.option_name = info.name  # type: ignore[attr-defined]
            rows.append(Horizontal(Label(info.name, classes="option-name"), field, classes="option-row"))
        await box.mount_all(rows)

    def cli_text(self) -> str:
        """The form as a ``-chardev`` argument."""
        parts = [str(self.query_one("#type", Select).value)]
        if self.swap_id is None:
            parts.append(f"id={escape_value(self.query_one('#chardev-id', Input).value.strip())}")
        for field in self.query(".option").results(Input):
            value = field.value.strip()
            if value:
                parts.append(f"{field.option_name}={escape_value(value)}")  # type: ignore[attr-defined]
        return ",".join(parts)

    def validate(self) -> bool:
        """Check the form with the engine's own parser; show the first problem."""
        error = self.query_one("#error", Static)
        try:
            if self.swap_id is None:
                new_id = self.query_one("#chardev-id", Input).value.strip()
                if not new_id:
                    raise ChardevError("id: required")
                if new_id in self.session.chardevs:
                    raise ChardevError(f"Chardev with id '{new_id}' already exists")
            self.session.chardevs.parse(self.swap_id, self.cli_text())
        except ChardevError as err:
            error.update(str(err))
            return False
        error.update("")
        return True

    @on(Input.Changed)
    def _changed(self) -> None:
        self.validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    async def submit(self) -> None:
        if not self.validate():
            return
        text = self.cli_text()
        try:
            if self.swap_id is None:
                result = await self.session.chardevs.add(None, text)
            else:
                result = await self.session.chardevs.change(self.swap_id, text)
        except ChardevError as err:
            self.query_one("#error", Static).update(str(err))
            return
        if "pty" in result:
            self.app.notify(f"pty at {result['pty']}")
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _placeholder(info: OptionInfo) -> str:
    kind = "|".join(info.choices) if info.choices else info.kind.value
    return f"{kind} — {info.describe_default()}"


class BridgeForm(ModalScreen[str | None]):
    """Wire a bridge between two chardevs (a device, through the device manager)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, session: Session, first: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.first = first

    def compose(self) -> ComposeResult:
        ids = [(i, i) for i in self.session.chardevs.ids()]
        with Vertical(id="form"):
            yield Label("Wire a bridge (both ways)", classes="form-title")
            yield Input(placeholder="device id (optional)", id="device-id")
            yield Select(ids, prompt="chardev (one side)", id="side-a",
                         value=self.first if self.first in self.session.chardevs else Select.BLANK)
            yield Select(ids, prompt="peer (the other side)", id="side-b")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Wire", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#ok")
    async def submit(self) -> None:
        a, b = self.query_one("#side-a", Select).value, self.query_one("#side-b", Select).value
        error = self.query_one("#error", Static)
        if a is Select.BLANK or b is Select.BLANK:
            error.update("choose both sides")
            return
        props: dict[str, Any] = {"chardev": a, "peer": b}
        device_id = self.query_one("#device-id", Input).value.strip() or None
        try:
            device = await self.session.devices.add("bridge", device_id, props)
        except ChardevError as err:
            error.update(str(err))
            return
        self.dismiss(device.id)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; Enter or y confirms, Escape or n declines."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(self.question, classes="form-title")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class NameForm(ModalScreen[str | None]):
    """Ask for a profile name (save), or pick one of the saved ones (open)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, names: list[str], *, pick: bool) -> None:
        super().__init__()
        self.title_text = title
        self.names = names
        self.pick = pick

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(self.title_text, classes="form-title")
            if self.pick:
                yield Select([(n, n) for n in self.names], prompt="profile", id="name")
            else:
                yield Input(placeholder="profile name", id="name",
                            value=self.names[0] if self.names else "")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        widget = self.query_one("#name")
        value = widget.value
        if value is Select.BLANK or not str(value).strip():
            self.query_one("#error", Static).update("a name is needed")
            return
        self.dismiss(str(value).strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
