"""Forms: add or swap a backend, wire a bridge, confirm, save or open a profile.

Every form only builds a request; it runs through the session's managers,
exactly as QMP would, in a Textual worker: the form stays usable, shows
what is going on (a server waiting for its client says so), and Escape
cancels it.  The engine's error is shown inline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, LoadingIndicator, Select, Static
from textual.widgets._select import SelectCurrent, SelectOverlay
from textual.worker import Worker

from ..chardev import ChardevError
from ..chardev.options import COMMON_OPTIONS, Kind, OptionInfo, describe, escape_value, split_option_string

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
        ok = self.query_one("#ok", Button)
        ok.disabled = True
        try:
            await run_job(self.query_one(Progress), text, work, self.show_error, cancelled)
        finally:
            ok.disabled = False

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.job is not None and self.busy:
            self.job.cancel()
            return
        self.close(None)


class BackendForm(JobForm[str]):
    """Pick a type, fill in exactly that type's options; validated as you type.

    Dismissed with the ``-chardev`` text once the engine accepted it.
    """

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
            yield Choice([(t, t) for t in types], value=self.initial_type, allow_blank=False,
                         id="type")
            yield VerticalScroll(id="options")
            yield from self.form_buttons("Add" if self.swap_id is None else "Swap")

    async def on_mount(self) -> None:
        await self._show_options(self.initial_type)
        self.query_one("#chardev-id" if self.swap_id is None else "#type").focus()

    @on(Select.Changed, "#type")
    async def _type_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
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

    def new_id(self) -> str:
        return self.query_one("#chardev-id", Input).value.strip()

    def cli_text(self) -> str:
        """The form as a ``-chardev`` argument."""
        parts = [str(self.query_one("#type", Select).value)]
        if self.swap_id is None:
            parts.append(f"id={escape_value(self.new_id())}")
        for field in self.query(".option").results(Input):
            value = field.value.strip()
            if value:
                parts.append(f"{field.option_name}={escape_value(value)}")  # type: ignore[attr-defined]
        return ",".join(parts)

    def validate(self) -> bool:
        """Check the form with the engine's own parser; show the first problem."""
        try:
            if self.swap_id is None:
                new_id = self.new_id()
                if not new_id:
                    raise ChardevError("id: required")
                if new_id in self.session.chardevs:
                    raise ChardevError(f"Chardev with id '{new_id}' already exists")
            self.session.chardevs.parse(self.swap_id, self.cli_text())
        except ChardevError as err:
            self.show_error(str(err))
            return False
        self.show_error("")
        return True

    @on(Input.Changed)
    def _changed(self) -> None:
        if not self.busy:  # the error line belongs to the running job meanwhile
            self.validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.busy or not self.validate():
            return
        text = self.cli_text()
        if self.swap_id is None:
            self.start_job(f"Adding '{self.new_id()}'…", lambda: self._apply(text),
                           f"cancelled: '{self.new_id()}' was not added")
        else:
            self.start_job(f"Swapping the backend of '{self.swap_id}'…", lambda: self._apply(text),
                           f"cancelled: '{self.swap_id}' keeps its backend")

    async def _apply(self, text: str) -> None:
        if self.swap_id is None:
            result = await self.session.chardevs.add(None, text)
        else:
            result = await self.session.chardevs.change(self.swap_id, text)
        if "pty" in result:
            self.app.notify(f"pty at {result['pty']}")
        self.close(text)


def _placeholder(info: OptionInfo) -> str:
    kind = "|".join(info.choices) if info.choices else info.kind.value
    return f"{kind} — {info.describe_default()}"


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
