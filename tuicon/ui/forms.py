"""Forms: pick a type, add or swap a backend, wire a bridge, confirm, save or open a profile.

Every form only builds a request; it runs through the session's managers,
exactly as QMP would, in a Textual worker: the form stays usable, shows
what is going on (a server waiting for its client says so), and Escape
cancels it.  The engine's error is shown inline, once the user touched
the field it is about or tried to submit: a new form never opens in red.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, LoadingIndicator, OptionList, Select, Static, Switch
from textual.widgets._select import SelectCurrent, SelectOverlay
from textual.widgets.option_list import Option
from textual.worker import Worker

from ..chardev import ChardevError, InvalidOption
from ..chardev.options import (COMMON_OPTIONS, ChardevSpec, Kind, OptionInfo, describe, escape_value,
                               format_value, split_option_string)
from ..chardev.registry import BackendRegistry
from .footer import KeysFooter

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)
HIDDEN_TYPES = {"mux"}  # made by mux=on, not by hand
ResultT = TypeVar("ResultT")

# -- progress of a running job ---------------------------------------------------------

PROGRESS: ContextVar[Progress | None] = ContextVar("tuicon_progress", default=None)
"""The progress line of the job running in this task (a worker sets it)."""


class Progress(Horizontal):
    """A spinner and what a running job is doing now; hidden while nothing runs."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        """What is shown now ("" while hidden)."""
        self._line = Static("", classes="progress-text")

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield self._line

    def show(self, text: str) -> None:
        self.text = text
        self._line.update(f"{text}  (Escape cancels)")
        self.set_class(True, "-busy")

    def hide(self) -> None:
        self.text = ""
        self.set_class(False, "-busy")


def note(text: str) -> None:
    """Say what the job running in this task is doing now (if it shows progress)."""
    progress = PROGRESS.get()
    if progress is not None and progress.is_attached:
        progress.show(text)


class EngineProgress(logging.Handler):
    """Puts the engine's progress lines into the progress of the job that caused them.

    The engine logs what is worth seeing while it waits (a server waiting for
    its client); the task doing that wait inherits the job's context, so the
    line lands in the right form, or in the app's progress line.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        if PROGRESS.get() is not None:
            note(progress_text(record))


def progress_text(record: logging.LogRecord) -> str:
    """An engine log line as a progress line."""
    if record.msg.startswith("waiting for connection on") and record.args:
        filename = str(record.args[0]) if isinstance(record.args, tuple) else ""
        address = filename.removeprefix("disconnected:").removesuffix(",server=on")
        return f"Waiting for a client on {address}…"
    return record.getMessage()


Report = Callable[[str, str], None]
"""Says one line about a job: (text, severity "warning" for a cancel or "error")."""


async def run_job(progress: Progress, text: str, work: Callable[[], Awaitable[Any]],
                  report: Report, cancelled: str | Callable[[], str]) -> None:
    """Run ``work`` with its progress shown; any failure or a cancel is reported in one line.

    Meant to be a worker: nothing it runs can take the app down.
    """
    PROGRESS.set(progress)
    progress.show(text)
    try:
        await work()
    except asyncio.CancelledError:
        report(cancelled if isinstance(cancelled, str) else cancelled(), "warning")
        raise
    except ChardevError as err:
        report(str(err), "error")
    except Exception as err:  # a bug: said in one line (logged in full), and the app goes on
        log.error("%s failed", text, exc_info=err)
        report(f"{text.rstrip('…')} failed unexpectedly: {err}", "error")
    finally:
        progress.hide()


def worker_busy(worker: Worker[Any] | None) -> bool:
    return worker is not None and not worker.is_finished


# -- widgets ----------------------------------------------------------------------------


class _Choices(SelectOverlay):
    """Textual's Select list, without its crash (Textual 8.2): PageUp/PageDown in a
    list that has just opened, before it is laid out, raise ``KeyError``."""

    def _move_page(self, direction: Any) -> None:
        try:
            super()._move_page(direction)
        except (KeyError, IndexError):
            pass  # nothing laid out to page through yet


class Choice(Select[Any]):
    """A Select whose drop-down list takes every key without raising."""

    def compose(self) -> ComposeResult:
        yield SelectCurrent(self.prompt)
        yield _Choices(type_to_search=self._type_to_search).data_bind(compact=Select.compact)


# -- modal screens -----------------------------------------------------------------------


class Modal(ModalScreen[ResultT]):
    """A modal screen that closes once, however many keys ask for it.

    A second Escape (or Cancel) arriving while the screen is already closing,
    or a result arriving while another screen is on top, must never pop
    someone else's screen.
    """

    def __init__(self) -> None:
        super().__init__()
        self._dismissing = False
        self._deferred: tuple[ResultT | None] | None = None

    async def on_mount(self) -> None:
        # Its own footer: the keys of this screen, not those of the console behind it.
        await self.mount(KeysFooter())

    def close(self, result: ResultT | None = None) -> None:
        if self._dismissing:
            return
        if not self.is_active:  # e.g. the quit question is on top: close when back
            self._deferred = (result,)
            return
        self._dismissing = True
        self.dismiss(result)

    def on_screen_resume(self) -> None:
        if self._deferred is None:
            self._dismissing = False  # shown again (an installed screen such as the help)
        else:
            (result,) = self._deferred
            self._deferred = None
            self.close(result)


class JobForm(Modal[ResultT]):
    """A form whose action runs as a worker.

    While it runs, OK is disabled and the progress line says what is going
    on; Escape (or Cancel) cancels it and the form stays, a second one
    closes the form.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.job: Worker[None] | None = None

    @property
    def busy(self) -> bool:
        return worker_busy(self.job)

    def form_buttons(self, ok: str) -> ComposeResult:
        yield Static("", id="error", classes="error")
        yield Progress(classes="progress")
        with Horizontal(classes="buttons"):
            yield Button(ok, variant="primary", id="ok")
            yield Button("Cancel", id="cancel")

    def show_error(self, text: str, severity: str = "error") -> None:
        """Show one line under the form (a cancel and an error look alike here)."""
        if self.is_attached:
            self.query_one("#error", Static).update(text)

    def start_job(self, text: str, work: Callable[[], Awaitable[Any]], cancelled: str) -> None:
        if self.busy:
            return
        self.show_error("")
        self.job = self.run_worker(self._job(text, work, cancelled), group="form",
                                   exclusive=True, exit_on_error=False)

    async def _job(self, text: str, work: Callable[[], Awaitable[Any]], cancelled: str) -> None:
        buttons = list(self.query("#ok").results(Button))  # a screen without OK has none to disable
        for ok in buttons:
            ok.disabled = True
        try:
            await run_job(self.query_one(Progress), text, work, self.show_error, cancelled)
        finally:
            for ok in buttons:
                ok.disabled = False

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.job is not None and self.busy:
            self.job.cancel()
            return
        self.close(None)


# -- the add / swap form -------------------------------------------------------------------

PortRows = Callable[[], list[tuple[str, ...]]]
"""The detected serial ports, as :func:`tuicon.targets.port_rows` gives them:
(by-id name, device, description, USB ids)."""

NOUNS = {"serial": "serial port", "udp": "UDP socket", "null": "null chardev", "file": "file"}
"""How a success notice names a type (the rest by their type name)."""


@dataclass(frozen=True)
class TypeRow:
    """One line of the type picker."""

    name: str
    summary: str
    aliases: tuple[str, ...]


def type_rows(registry: BackendRegistry) -> list[TypeRow]:
    """Every type a user adds by hand, with its one-line summary; aliases folded into their type."""
    classes: dict[str, Any] = {}
    aliases: dict[str, list[str]] = {}
    for name in registry.names():
        cls = registry.backend_class(name)
        classes[cls.type_name] = cls
        if name != cls.type_name:
            aliases.setdefault(cls.type_name, []).append(name)
    return [TypeRow(name, classes[name].summary, tuple(sorted(aliases.get(name, []))))
            for name in sorted(classes) if name not in HIDDEN_TYPES]


def port_choices(rows: list[tuple[str, ...]], by_id_dir: str = "/dev/serial/by-id") -> list[tuple[str, str]]:
    """(label, path) for each detected port; a by-id link is preferred (it follows replugs)."""
    choices = []
    for by_id, device, description, usb in rows:
        label = "  ".join(part for part in (device, description, usb) if part)
        choices.append((label, f"{by_id_dir}/{by_id}" if by_id else device))
    return choices


async def detected_ports(source: PortRows | None) -> list[tuple[str, ...]]:
    """The ports ``source`` lists, read off the event loop; none if it cannot list them."""
    if source is None:
        return []
    try:
        return list(await asyncio.to_thread(source))
    except (OSError, ImportError) as err:
        log.info("no serial port list: %s", err)
        return []


def notice(spec: ChardevSpec, result: dict[str, Any], *, swapped: bool = False) -> str:
    """A success in plain words: ``Added serial port ser0 on /dev/ttyUSB0``."""
    what = f"{NOUNS.get(spec.type, spec.type)}"
    where = result.get("pty") or _where(spec)
    text = f"Swapped '{spec.id}' to a {what}" if swapped else f"Added {what} {spec.id}"
    if where:
        text += f" on {where}"
    if spec.common.mux_be_id:
        text += f", a member of {spec.common.mux_be_id}"
    if spec.common.mux:
        text += f" (shared: mux {spec.id} on {spec.id}-base)"
    return text


def _where(spec: ChardevSpec) -> str:
    options = spec.options
    path = getattr(options, "path", None)
    if spec.type == "socket":
        address = f"unix:{path}" if path else f"{options.host or '127.0.0.1'}:{options.port}"
        return f"{address} ({'server' if options.server else 'client'})"
    if spec.type == "udp":
        return f"{options.host}:{options.port}"
    return str(path) if path else ""


@dataclass
class Field:
    """One control of the form and the values that decide whether it is written out."""

    name: str
    widget: Widget
    default: str
    """The text that means "leave the option out" ("" for an option without a default)."""
    initial: str = ""

    def text(self) -> str:
        widget = self.widget
        if isinstance(widget, Switch):
            return "on" if widget.value else "off"
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()


TRUE_WORDS = ("on", "yes", "true", "y")


class TypePicker(Modal[str]):
    """Every backend type with what it is for; Enter picks one."""

    DEFAULT_CSS = """
    TypePicker { align: center middle; }
    TypePicker #picker { width: 100; max-width: 100%; height: auto; max-height: 90%;
                         border: round $primary; background: $surface; padding: 1 2; }
    TypePicker #types { height: auto; max-height: 20; }
    TypePicker .hint { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, registry: BackendRegistry, current: str = "serial",
                 title: str = "Add a chardev: what kind?") -> None:
        super().__init__()
        self.rows = type_rows(registry)
        self.current = current
        self.title_text = title

    def compose(self) -> ComposeResult:
        width = max(len(row.name) for row in self.rows) + 2
        options = []
        for row in self.rows:
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(row.name.ljust(width), style="bold")
            text.append(row.summary)
            if row.aliases:
                text.append(f"  (also {', '.join(row.aliases)})", style="dim")
            options.append(Option(text, id=row.name))
        with Vertical(id="picker"):
            yield Label(self.title_text, classes="form-title")
            yield OptionList(*options, id="types")
            yield Static("↑/↓ choose · Enter: fill in its options · Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        types = self.query_one("#types", OptionList)
        names = [row.name for row in self.rows]
        types.highlighted = names.index(self.current) if self.current in names else 0
        types.focus()

    @on(OptionList.OptionSelected, "#types")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.close(event.option.id)

    def action_cancel(self) -> None:
        self.close(None)


class BackendForm(JobForm[str]):
    """Fill in exactly one type's options, as controls; checked by the engine's own parser.

    Switches for on/off options, selects for the ones with a fixed set of
    values and for ``mux-be-id`` (the mux-bes that exist), the detected ports
    for a serial ``path``, defaults shown as values.  A problem is shown once
    the user touched the field it is about, or tried to submit.  Dismissed with
    the success notice once the engine accepted it.
    """

    DEFAULT_CSS = """
    BackendForm .type-summary { width: 1fr; height: 3; padding: 1 0 0 2; color: $text-muted; }
    BackendForm .ports-hint { color: $text-muted; padding: 0 0 1 14; }
    """

    def __init__(self, session: Session, *, chardev_id: str | None = None,
                 type_name: str = "ringbuf", ports: PortRows | None = None) -> None:
        super().__init__()
        self.session = session
        self.swap_id = chardev_id  # None: add a new chardev
        self.ports = ports
        self.initial: dict[str, str] = {}
        self.initial_type = self.type_name = type_name
        if chardev_id is not None:
            spec = session.chardevs.get(chardev_id).spec
            head, *rest = split_option_string(spec.to_cli())
            self.initial_type = self.type_name = head[0]
            self.initial = {k: v or "" for k, v in rest if k != "id" and "." not in k}
        self.fields: dict[str, Field] = {}
        self._touched: set[str] = set()
        self._submitted = False
        self._port_rows: list[tuple[str, ...]] | None = None

    def compose(self) -> ComposeResult:
        title = f"Swap the backend of '{self.swap_id}'" if self.swap_id else "Add a chardev"
        with Vertical(id="form"):
            yield Label(title, classes="form-title")
            if self.swap_id is None:
                with Horizontal(classes="option-row"):
                    yield Label("id", classes="option-name")
                    yield Input(placeholder="a name for it (required): ser0, console, log",
                                id="chardev-id", classes="option")
            with Horizontal(classes="option-row"):
                yield Label("type", classes="option-name")
                yield Button(self.type_name, id="type", tooltip="pick another type")
                yield Static("", id="summary", classes="type-summary")
            yield VerticalScroll(id="options")
            yield from self.form_buttons("Add" if self.swap_id is None else "Swap")

    async def on_mount(self) -> None:
        await self.set_type(self.type_name)
        self.query_one("#chardev-id" if self.swap_id is None else "#type").focus()

    @on(Button.Pressed, "#type")
    def _pick_type(self) -> None:
        async def picked(type_name: str | None) -> None:
            if type_name:
                await self.set_type(type_name)

        self.app.push_screen(TypePicker(self.session.chardevs.registry, self.type_name,
                                        "Which type?"), picked)

    async def set_type(self, type_name: str) -> None:
        """Show ``type_name``'s options (a swap starts from the chardev's own values)."""
        registry = self.session.chardevs.registry
        self.type_name = type_name
        self.query_one("#type", Button).label = self.type_name
        self.query_one("#summary", Static).update(registry.backend_class(type_name).summary)
        box = self.query_one("#options", VerticalScroll)
        await box.remove_children()
        self.fields = {}
        table = describe(registry.options_class(type_name)) + COMMON_OPTIONS
        rows = []
        for info in table:
            if info.kind is Kind.STRLIST or (self.swap_id and info.name in ("mux", "mux-be-id")):
                continue
            initial = self.initial.get(info.name) if type_name == self.initial_type else None
            field = self._field(info, initial)
            self.fields[info.name] = field
            rows.append(Horizontal(Label(info.name, classes="option-name"), field.widget,
                                   classes="option-row"))
            if info.name == "path" and self.type_name == "serial":
                rows.extend(await self._port_row())
        await box.mount_all(rows)
        for field in self.fields.values():
            field.initial = field.text()
        self.validate()

    def _field(self, info: OptionInfo, initial: str | None) -> Field:
        default = "" if info.required or info.default is None else format_value(info.kind, info.default)
        value = default if initial is None else initial
        options = {"id": f"opt-{info.name}", "tooltip": info.help}
        widget: Widget
        if info.name == "mux-be-id":
            ids = [i for i in self.session.chardevs.ids()
                   if self.session.chardevs.get(i).type_name == "mux-be"]
            if value and value not in ids:
                ids.append(value)
            widget = Choice([(i, i) for i in ids], prompt="(none: not a member)",
                            value=value or Select.NULL, **options)
        elif info.kind is Kind.BOOL and isinstance(info.default, bool):
            widget = Switch(value=value.lower() in TRUE_WORDS, **options)
        elif info.kind is Kind.BOOL or info.choices:
            choices = list(info.choices or ("on", "off"))
            if value and value not in choices:
                choices.append(value)
            widget = Choice([(c, c) for c in choices], prompt=f"(default: {_unset_text(info)})",
                            value=value or Select.NULL, allow_blank=not default, **options)
        else:
            widget = Input(value=value, placeholder=_placeholder(info), **options)
        if not isinstance(widget, Switch):  # a switch keeps its own small size
            widget.add_class("option")
        return Field(info.name, widget, default)

    async def _port_row(self) -> list[Widget]:
        """Under a serial ``path``: the ports detected now, to pick one from."""
        if self._port_rows is None:
            self._port_rows = await detected_ports(self.ports)
        choices = port_choices(self._port_rows)
        if not choices:
            return [Static("no serial ports detected: type the path", classes="ports-hint")]
        picker = Choice(choices, prompt=f"pick one of the {len(choices)} detected ports",
                        id="ports", classes="option")
        return [Horizontal(Label("detected", classes="option-name"), picker, classes="option-row")]

    @on(Select.Changed, "#ports")
    def _port_picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.query_one("#opt-path", Input).value = str(event.value)

    def new_id(self) -> str:
        return self.query_one("#chardev-id", Input).value.strip()

    def cli_text(self) -> str:
        """The form as a ``-chardev`` argument (values equal to the default are left out)."""
        parts = [self.type_name]
        if self.swap_id is None:
            parts.append(f"id={escape_value(self.new_id())}")
        for field in self.fields.values():
            value = field.text()
            if value and value != field.default:
                parts.append(f"{field.name}={escape_value(value)}")
        return ",".join(parts)

    def problem(self) -> ChardevError | None:
        """What the engine's own parser says is wrong with the form now (None: nothing)."""
        try:
            if self.swap_id is None:
                new_id = self.new_id()
                if not new_id:
                    raise InvalidOption("id: required (a name for the new chardev)", option="id")
                if new_id in self.session.chardevs:
                    raise InvalidOption(f"Chardev with id '{new_id}' already exists", option="id")
            self.session.chardevs.parse(self.swap_id, self.cli_text())
        except ChardevError as err:
            return err
        return None

    def validate(self) -> bool:
        """Check the form; show its problem if the user touched that field or submitted."""
        err = self.problem()
        if err is None:
            self.show_error("")
            return True
        option = getattr(err, "option", None)
        seen = self._submitted or (option in self._touched if option else bool(self._touched))
        self.show_error(str(err) if seen else "")
        return False

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Switch.Changed | Select.Changed) -> None:
        widget = event.control if isinstance(event, (Input.Changed, Select.Changed)) else event.switch
        name = "id" if widget.id == "chardev-id" else next(
            (f.name for f in self.fields.values() if f.widget is widget), None)
        field = self.fields.get(name or "")
        if name == "id" or (field is not None and field.text() != field.initial):
            self._touched.add(str(name))
        if not self.busy:  # the error line belongs to the running job meanwhile
            self.validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.busy:
            return
        self._submitted = True
        if not self.validate():
            return
        text = self.cli_text()
        if self.swap_id is None:
            self.start_job(f"Adding '{self.new_id()}'…", lambda: self._apply(text),
                           f"cancelled: '{self.new_id()}' was not added")
        else:
            self.start_job(f"Swapping the backend of '{self.swap_id}'…", lambda: self._apply(text),
                           f"cancelled: '{self.swap_id}' keeps its backend")

    async def _apply(self, text: str) -> None:
        spec = self.session.chardevs.parse(self.swap_id, text)
        if self.swap_id is None:
            result = await self.session.chardevs.add(None, text)
        else:
            result = await self.session.chardevs.change(self.swap_id, text)
        self.close(notice(spec, result, swapped=self.swap_id is not None))


def _unset_text(info: OptionInfo) -> str:
    """What leaving an option without a default out means (from its help: ``unset: ...``)."""
    _, found, rest = info.help.partition("unset: ")
    return rest.strip() if found else "unset"


def _placeholder(info: OptionInfo) -> str:
    kind = "|".join(info.choices) if info.choices else info.kind.value
    if info.required:
        return f"{kind} — required"
    if info.default is None:
        return f"{kind} — optional"
    return f"{kind} — default {info.describe_default()}"


class BridgeForm(JobForm[str]):
    """Wire a bridge between two chardevs (a device, through the device manager)."""

    def __init__(self, session: Session, first: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.first = first

    def compose(self) -> ComposeResult:
        ids = [(i, i) for i in self.session.chardevs.ids()]
        first = self.first if self.first in self.session.chardevs else Select.NULL
        with Vertical(id="form"):
            yield Label("Wire a bridge (both ways)", classes="form-title")
            yield Input(placeholder="device id (optional)", id="device-id")
            yield Choice(ids, prompt="chardev (one side)", id="side-a", value=first)
            yield Choice(ids, prompt="peer (the other side)", id="side-b")
            yield from self.form_buttons("Wire")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.busy:
            return
        a, b = self.query_one("#side-a", Select).value, self.query_one("#side-b", Select).value
        if a is Select.NULL or b is Select.NULL:
            self.show_error("choose both sides")
            return
        props: dict[str, Any] = {"chardev": a, "peer": b}
        device_id = self.query_one("#device-id", Input).value.strip() or None
        self.start_job(f"Wiring {a} <-> {b}…", lambda: self._wire(device_id, props),
                       "cancelled: no bridge was wired")

    async def _wire(self, device_id: str | None, props: dict[str, Any]) -> None:
        device = await self.session.devices.add("bridge", device_id, props)
        self.close(device.id)


class ConfirmScreen(Modal[bool]):
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
        self.close(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.close(yes)


class NameForm(Modal[str]):
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
                yield Choice([(n, n) for n in self.names], prompt="profile", id="name")
            else:
                yield Input(placeholder="profile name", id="name",
                            value=self.names[0] if self.names else "")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def value(self) -> str:
        """The name given or picked ("" if none)."""
        if self.pick:
            picked = self.query_one("#name", Select).value
            return "" if picked is Select.NULL else str(picked)
        return self.query_one("#name", Input).value.strip()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.value()
        if not name:
            self.query_one("#error", Static).update("a name is needed")
            return
        self.close(name)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.close(None)
