"""The wiring, editable (``W``): devices and monitors with remove, mux-be members with detach/attach.

Also what removing a chardev that is in use takes first
(:func:`removal_plan`): a bridge or another device using it is removed, a
mux-be member is detached, a mux on it (``mux=on``'s base) is removed with
whatever uses that mux, a monitor on it is stopped.  The app says all of
it before asking, then does it in order as one background job.

Everything acts through the session's managers, as QMP's ``device_del``,
``mux-be-attach`` and ``mux-be-detach`` do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ..chardev import ChardevError, CharFrontend
from ..chardev.chardev import Chardev
from ..chardev.mux import MuxChardev
from ..chardev.mux_be import MuxBeChardev
from .forms import Choice, JobForm, Modal, Progress, note

if TYPE_CHECKING:
    from ..session import Session


# -- what uses a chardev, and how to free it ---------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One step of freeing or removing a chardev, said in words."""

    text: str
    run: Callable[[], Awaitable[Any]]


@dataclass
class Plan:
    """Removing a chardev: the steps in order (its own removal last), and users it cannot undo."""

    actions: list[Action] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Owners of frontends tuicon cannot take away from here."""

    @property
    def first(self) -> list[Action]:
        """What is done before the chardev itself is removed."""
        return self.actions[:-1]


def removal_plan(session: Session, chardev_id: str) -> Plan:
    """What removing ``chardev_id`` takes, users first."""
    plan = Plan()
    _plan_removal(session, session.chardevs.get(chardev_id), plan, set())
    return plan


def _plan_removal(session: Session, chardev: Chardev, plan: Plan, done: set[str]) -> None:
    for fe in chardev.frontends():
        _plan_freeing(session, chardev, fe, plan, done)
    label = chardev.label
    kind = "the mux" if isinstance(chardev, MuxChardev) else "chardev"
    plan.actions.append(Action(f"remove {kind} '{label}'", lambda: session.chardevs.remove(label)))


def _plan_freeing(session: Session, chardev: Chardev, fe: CharFrontend, plan: Plan,
                  done: set[str]) -> None:
    """The step that takes ``fe`` (a user of ``chardev``) away."""
    device = next((d for d in session.devices.ids() if fe in session.devices.get(d).frontends), None)
    if device is not None:
        if f"device {device}" not in done:
            done.add(f"device {device}")
            driver = session.devices.get(device).driver
            plan.actions.append(Action(f"remove device '{device}' ({driver})",
                                       lambda: session.devices.remove(device)))
        return
    for other_id in session.chardevs.ids():
        other = session.chardevs.get(other_id)
        member = other.member_of(chardev) if isinstance(other, MuxBeChardev) else None
        if member is not None and member.fe is fe:
            plan.actions.append(Action(f"detach '{chardev.label}' from mux-be '{other_id}'",
                                       _detach(session, chardev.label)))
            return
        if isinstance(other, MuxChardev) and other.base is chardev and f"mux {other_id}" not in done:
            done.add(f"mux {other_id}")
            _plan_removal(session, other, plan, done)
            return
    monitor = _monitor_of(session, fe)
    if monitor is not None:
        plan.actions.append(Action(f"stop the monitor on '{chardev.label}'",
                                   lambda: session.monitors.remove(monitor)))
        return
    plan.blocked.append(fe.owner or "a frontend")


def _detach(session: Session, member_id: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        session.chardevs.detach_member(member_id)

    return run


def _monitor_of(session: Session, fe: CharFrontend) -> Any:
    monitors = session.monitors.monitors if session.monitors is not None else []
    return next((m for m in monitors if m.fe is fe), None)


async def run_plan(plan: Plan) -> None:
    """Do the plan's steps in order, saying each one."""
    for action in plan.actions:
        note(f"{action.text[0].upper()}{action.text[1:]}…")
        await action.run()


# -- the screen ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the wiring list: what it is about, and how it is shown."""

    kind: str
    """heading, device, monitor, mux-be, member, attach or none."""
    key: str = ""
    """The device id, the monitor's chardev, or the mux-be id."""
    member: str = ""
    text: str = ""


def wiring_rows(session: Session) -> list[Row]:
    """The devices, the monitors and each mux-be with its members, in the session's order."""
    rows = [Row("heading", text="Devices and monitors — d: remove")]
    for device in session.devices.query():
        joined = " ⇄ ".join(device["chardevs"]) or "(detached)"
        error = f" — {device['error']}" if device.get("error") else ""
        rows.append(Row("device", device["id"], text=f"{device['driver']} {device['id']}: {joined}{error}"))
    monitors = session.monitors.monitors if session.monitors is not None else []
    for monitor in monitors:
        rows.append(Row("monitor", monitor.chardev_id,
                        text=f"monitor ({monitor.mode}) on {monitor.chardev_id}"))
    if len(rows) == 1:
        rows.append(Row("none", text="  (none)"))
    rows.append(Row("heading", text="mux-be members — d: detach · a: attach a chardev"))
    mux_bes = [i for i in session.chardevs.ids() if isinstance(session.chardevs.get(i), MuxBeChardev)]
    for mux_be_id in mux_bes:
        mux_be = session.chardevs.get(mux_be_id)
        assert isinstance(mux_be, MuxBeChardev)
        users = ", ".join(fe.owner for fe in mux_be.frontends()) or "no frontend"
        rows.append(Row("mux-be", mux_be_id, text=f"{mux_be.spec.type} {mux_be_id} (used by {users})"))
        for member in mux_be.members:
            if member.chardev is None:
                continue
            state = "open" if member.is_open else "closed"
            if member.cut:
                state = "stalled"
            rows.append(Row("member", mux_be_id, member.chardev.label,
                            f"  {member.chardev.label}  {member.chardev.type_name} · {state}"))
        rows.append(Row("attach", mux_be_id, text="  + attach a chardev…"))
    if not mux_bes:
        rows.append(Row("none", text="  (no mux-be)"))
    return rows


def free_chardevs(session: Session) -> list[str]:
    """Chardevs that could join a mux-be now: not a multiplexer, nobody using them."""
    return [i for i in session.chardevs.ids()
            if not session.chardevs.get(i).is_multiplexer and not session.chardevs.get(i).busy]


class AttachForm(Modal[str]):
    """Pick a free chardev to join a mux-be."""

    DEFAULT_CSS = "AttachForm { align: center middle; }"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, mux_be_id: str, candidates: list[str]) -> None:
        super().__init__()
        self.mux_be_id = mux_be_id
        self.candidates = candidates

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(f"Attach a chardev to mux-be '{self.mux_be_id}'", classes="form-title")
            yield Choice([(i, i) for i in self.candidates], prompt="chardev (free ones only)",
                         id="member")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Attach", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        picked = self.query_one("#member", Select).value
        if picked is Select.NULL:
            self.query_one("#error", Static).update("choose a chardev")
            return
        self.close(str(picked))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.close(None)


class WiringScreen(JobForm[None]):
    """The wiring as a list; keys act on the highlighted line."""

    DEFAULT_CSS = """
    WiringScreen { align: center middle; }
    WiringScreen #wiring { height: auto; max-height: 24; }
    WiringScreen .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("d,delete", "remove", "Remove / detach"),
        Binding("a", "attach", "Attach"),
    ]

    class Changed(Message):
        """The engine changed something: redraw the list."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.rows: list[Row] = []
        self._unsubscribe: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label("Wiring", classes="form-title")
            yield OptionList(id="wiring")
            yield Static("", id="error", classes="error")
            yield Progress(classes="progress")
            yield Static("d/Delete: remove a device, detach a member · a: attach · Escape: close",
                         classes="hint")

    def on_mount(self) -> None:
        self._unsubscribe = self.session.chardevs.subscribe(lambda _: self.post_message(self.Changed()))
        self.refresh_rows()
        self.query_one("#wiring", OptionList).focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @on(Changed)
    def refresh_rows(self) -> None:
        """Rebuild the list from the session, keeping the highlighted line where it can."""
        wiring = self.query_one("#wiring", OptionList)
        current = self.current()
        self.rows = wiring_rows(self.session)
        wiring.clear_options()
        wiring.add_options(Option(row.text, disabled=row.kind in ("heading", "none"))
                           for row in self.rows)
        keys = [(r.kind, r.key, r.member) for r in self.rows]
        wanted = (current.kind, current.key, current.member) if current else None
        if wanted in keys:
            wiring.highlighted = keys.index(wanted)
        else:
            wiring.highlighted = next((i for i, r in enumerate(self.rows)
                                       if r.kind not in ("heading", "none")), None)

    def current(self) -> Row | None:
        """The highlighted line."""
        index = self.query_one("#wiring", OptionList).highlighted
        return self.rows[index] if index is not None and index < len(self.rows) else None

    def highlight(self, kind: str, key: str, member: str = "") -> None:
        """Highlight a line (for tests and the app)."""
        keys = [(r.kind, r.key, r.member) for r in self.rows]
        self.query_one("#wiring", OptionList).highlighted = keys.index((kind, key, member))

    def action_remove(self) -> None:
        row = self.current()
        if row is None or self.busy:
            return
        if row.kind == "member":
            member, mux_be = row.member, row.key
            self.start_job(f"Detaching '{member}'…", lambda: self._detach_member(member, mux_be),
                           f"cancelled: '{member}' stays a member of '{mux_be}'")
        elif row.kind in ("device", "monitor"):
            what = f"device '{row.key}'" if row.kind == "device" else f"the monitor on '{row.key}'"
            self.app.ask(f"Remove {what}? ({row.text.strip()})",  # type: ignore[attr-defined]
                         lambda yes: yes and self._remove_later(row))
        elif row.kind == "mux-be":
            self.show_error(f"d on a member detaches it; to remove the mux-be '{row.key}' itself,"
                            " select it in the main screen and press d")

    def _remove_later(self, row: Row) -> None:
        label = f"'{row.key}'" if row.kind == "device" else f"the monitor on '{row.key}'"
        self.start_job(f"Removing {label}…", lambda: self._remove_row(row),
                       f"cancelled: {label} was not removed")

    async def _remove_row(self, row: Row) -> None:
        if row.kind == "device":
            driver = self.session.devices.get(row.key).driver
            await self.session.devices.remove(row.key)
            self.app.notify(f"Removed {driver} {row.key}")
        else:
            monitors = self.session.monitors.monitors if self.session.monitors else []
            monitor = next((m for m in monitors if m.chardev_id == row.key), None)
            if monitor is None:
                raise ChardevError(f"no monitor on '{row.key}' any more")
            await self.session.monitors.remove(monitor)
            self.app.notify(f"Stopped the monitor on {row.key}")
        self.refresh_rows()

    async def _detach_member(self, member: str, mux_be: str) -> None:
        self.session.chardevs.detach_member(member)
        self.app.notify(f"Detached {member} from {mux_be}; it stays, free to remove or attach")
        self.refresh_rows()

    @on(OptionList.OptionSelected, "#wiring")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if self.rows[event.option_index].kind == "attach":
            self.action_attach()

    def action_attach(self) -> None:
        row = self.current()
        if row is None or row.kind not in ("mux-be", "member", "attach") or self.busy:
            return
        candidates = free_chardevs(self.session)
        if not candidates:
            self.show_error("no chardev is free to attach (each is in use or a multiplexer);"
                            " add one with 'a' first")
            return
        mux_be = row.key

        def attach(member: str | None) -> None:
            if not member:
                return
            try:
                self.session.chardevs.attach_member(mux_be, member)
            except ChardevError as err:
                self.show_error(str(err))
                return
            self.show_error("")
            self.app.notify(f"Attached {member} to {mux_be}")
            self.refresh_rows()

        self.app.push_screen(AttachForm(mux_be, candidates), attach)
