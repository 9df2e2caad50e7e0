"""`Chardev`: a named byte endpoint (the backend), and the hooks backends fill in.

A backend class overrides a few hooks; everything else (events, `be_open`,
logging, statistics, the frontend link, postponed connect) is done here once:

* ``open() -> bool`` starts the backend; return ``False`` when it opens later
  and will send ``OPENED`` itself (sockets, ptys).  Or, for postponed connect,
  set ``postponed_connect = True`` and provide ``init()`` (validate, set
  ``filename``, no side effects) and ``connect()`` (really start), which runs
  when the first frontend attaches or on ``wait_connected``.
* ``_write(data) -> int`` takes frontend output; return how much was accepted
  (0 means "full, try after ``_wait_writable``").
* ``_input_resumed()`` is called when the frontend can take input again.
* ``_close()`` (async) releases everything the backend owns.  Background
  work is started with ``self.tasks.spawn(coro, name)``: the base class
  cancels and awaits those tasks on close, and a task that raises is logged,
  shown as :attr:`last_error` and ends in :meth:`_task_failed` (by default:
  the chardev reports ``CLOSED``).

Backends push input and events to the frontend with :meth:`be_write`,
:meth:`be_can_write` and :meth:`be_event`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .aio import TaskSet, describe_exception, first_completed
from .errors import ChardevError, ChardevInUse, ChardevStateError
from .events import ChardevEvent, Feature
from .logfile import LogFile
from .options import ChardevSpec, NoOptions

if TYPE_CHECKING:
    from .frontend import CharFrontend

log = logging.getLogger(__name__)

Buffer = bytes | bytearray | memoryview
TAIL = 2048
"""Recent traffic kept per chardev, for a live tail in the UI."""


class ChardevLookup(Protocol):
    """How a backend finds other chardevs (the manager provides it)."""

    def find(self, chardev_id: str) -> Chardev | None: ...


class Lifecycle(enum.Enum):
    """Where a chardev is in its life; transitions are checked."""

    NEW = "new"
    POSTPONED = "connect postponed"
    ACTIVE = "active"
    CLOSED = "closed"


_LEGAL = {
    Lifecycle.NEW: {Lifecycle.POSTPONED, Lifecycle.ACTIVE, Lifecycle.CLOSED},
    Lifecycle.POSTPONED: {Lifecycle.ACTIVE, Lifecycle.CLOSED},
    Lifecycle.ACTIVE: {Lifecycle.CLOSED},
    Lifecycle.CLOSED: set(),
}


class Change(enum.Enum):
    """What changed on a chardev, for whoever watches (UI, QMP events)."""

    OPENED = "opened"
    CLOSED = "closed"
    FILENAME = "filename"
    FRONTEND = "frontend"
    STATE = "state"
    ERROR = "error"
    MEMBERS = "members"
    CLIENT_CONNECTED = "client-connected"
    """A socket server took one more client (``Chardev.client_event`` says which)."""
    CLIENT_DISCONNECTED = "client-disconnected"
    """One client of a socket server left (``Chardev.client_event`` says which)."""
    CLIENTS = "clients"
    """A client's role or state changed (writer hand-over, cut loose, rejoined)."""


@dataclass
class Stats:
    """Byte counters, for status lines and rates."""

    bytes_in: int = 0
    """Bytes the backend delivered towards its frontend."""
    bytes_out: int = 0
    """Bytes the frontend wrote that the backend accepted."""
    dropped_in: int = 0
    """Input bytes dropped because no frontend could take them."""
    dropped_out: int = 0
    """Output bytes dropped because nobody was there to take them (a client that is down)."""


class Chardev:
    """Base class of every backend."""

    type_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions
    postponed_connect: ClassVar[bool] = False
    is_multiplexer: ClassVar[bool] = False
    local_console: ClassVar[bool] = False
    """True where the person at tuicon's own keyboard types (the vc): only
    there does mux ``C-a x`` quit tuicon; elsewhere it drops the peer."""
    keeps_history = False
    """Records its output for replay (``replay=``): a mux-be writes to it even while it is
    closed, and it takes such writes at once."""
    peer_can_be_dropped: ClassVar[bool] = False
    """Whether :meth:`disconnect` can drop the peer (a socket's client, a serial line);
    a pty's peer, say, holds its side open and tuicon cannot take it away."""

    def __init__(self, spec: ChardevSpec, lookup: ChardevLookup) -> None:
        self.spec = spec
        self.label = spec.id
        self.options: Any = spec.options
        self.lookup = lookup
        self.filename = spec.type
        self.be_open = False
        self.features = Feature.NONE
        self.frontend: CharFrontend | None = None
        self.stats = Stats()
        self.tail_in = bytearray()
        """The newest input (towards the frontend), at most about 2 KiB, for the UI."""
        self.tail_out = bytearray()
        """The newest output (from the frontend), likewise."""
        self.created = time.monotonic()
        self.lifecycle = Lifecycle.NEW
        self._log: LogFile | None = None
        self._watchers: list[Callable[[Chardev, Change], None]] = []
        self._closed_event = asyncio.Event()
        self._taps: list[Callable[[memoryview], None]] = []
        self.last_error: str | None = None
        """Why the chardev is not working as asked (shown as ``error``); None when fine."""
        self.tasks = TaskSet(f"chardev '{self.label}'", self._on_task_failure)
        """Every background task of this chardev; cancelled and awaited by :meth:`close`."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r} {self.filename!r}>"

    # -- lifecycle (driven by the manager) ------------------------------------

    def _set_lifecycle(self, state: Lifecycle) -> None:
        if state not in _LEGAL[self.lifecycle]:
            raise ChardevStateError(
                f"Chardev '{self.label}' cannot go from {self.lifecycle.value} to {state.value}"
            )
        self.lifecycle = state
        self._notify(Change.STATE)

    @property
    def connect_postponed(self) -> bool:
        return self.lifecycle is Lifecycle.POSTPONED

    @property
    def closed(self) -> bool:
        return self.lifecycle is Lifecycle.CLOSED

    def start(self) -> None:
        """Open the logfile, then open (or init) the backend."""
        common = self.spec.common
        if common.logfile:
            self._log = LogFile.for_options(common, owner=self.label,
                                            on_error=self._log_error_changed)
        if self.postponed_connect:
            self.init()
            self._set_lifecycle(Lifecycle.POSTPONED)
            return
        opened = self.open()
        self._set_lifecycle(Lifecycle.ACTIVE)
        if opened:
            self.be_event(ChardevEvent.OPENED)

    async def wait_started(self) -> None:
        """Return when the chardev may be registered: a server with ``wait=on``
        holds start-up here until its first client is connected."""
        await first_completed(self._wait_started(), self._closed_event.wait())

    def ensure_connected(self) -> None:
        """Run a postponed connect now (once; a failure is not retried)."""
        if self.lifecycle is not Lifecycle.POSTPONED:
            return
        self._set_lifecycle(Lifecycle.ACTIVE)
        self.connect()

    async def wait_connected(self) -> None:
        """Connect if postponed, then wait until the backend is connected."""
        self.ensure_connected()
        await self._wait_connected()

    async def close(self) -> None:
        """Release everything: tasks, descriptors, the logfile."""
        if self.closed:
            return
        self._set_lifecycle(Lifecycle.CLOSED)
        self._closed_event.set()
        try:
            await self._close()
        finally:
            await self.tasks.close()
            if self._log is not None:
                self._log.close()
                self._log = None
            self.be_open = False
            self._watchers.clear()

    # -- hooks for backend classes -------------------------------------------

    def open(self) -> bool:
        """Start the backend; return whether it is open now."""
        return True

    def init(self) -> None:
        """Postponed connect: validate and set ``filename``; no side effects."""
        raise NotImplementedError

    def connect(self) -> None:
        """Postponed connect: really start (send ``OPENED`` when connected)."""
        raise NotImplementedError

    async def _wait_connected(self) -> None:
        """Wait until connected; backends that are always ready return at once."""

    async def _wait_started(self) -> None:
        """Hold start-up until the backend is usable (most are at once)."""

    async def ready_for_swap(self) -> None:
        """Before a hot-swap moves a frontend here: wait for what must work first.

        Raising fails the swap and keeps the old backend (a socket client that
        cannot connect, as in QEMU).
        """

    def _write(self, data: memoryview) -> int:
        """Take frontend output; return how many bytes were accepted."""
        return len(data)

    async def _wait_writable(self) -> None:
        """Return when ``_write`` may accept more (or the chardev closed)."""

    def _input_resumed(self) -> None:
        """The frontend can read again: deliver what is pending, resume reading."""

    def _send_break(self) -> None:
        """Send a break on the line (serial); nothing for other backends."""

    def _disconnect(self) -> None:
        """Drop the current peer (sockets, serial); nothing elsewhere."""

    def _fe_open_changed(self, is_open: bool) -> None:
        """The frontend opened or closed (QEMU's chr_set_fe_open)."""

    async def _close(self) -> None:
        """Release the backend's own resources and tasks."""

    def describe_extra(self) -> dict[str, Any]:
        """Backend-specific status for query() and the UI."""
        return {}

    def _task_failed(self, name: str, exc: BaseException) -> None:
        """A background task died: stop pretending to be connected.

        Backends with more state (a socket's pending connect) extend this.
        """
        if self.be_open and not self.closed:
            self.be_event(ChardevEvent.CLOSED)

    # -- errors ------------------------------------------------------------------

    def set_error(self, text: str | None) -> None:
        """Record (or, with None, clear) what is wrong, for ``query-chardev`` and the UI."""
        if text != self.last_error:
            self.last_error = text
            self._notify(Change.ERROR)

    def _log_error_changed(self, text: str | None, previous: str | None) -> None:
        """A log writer failed (``text``) or works again (None): show it as ``error``."""
        if text is not None or self.last_error == previous:
            self.set_error(text)

    def _on_task_failure(self, name: str, exc: BaseException) -> None:
        self.set_error(f"{name} failed: {describe_exception(exc)}")
        self._task_failed(name, exc)

    # -- frontend side (called through CharFrontend) ---------------------------

    def attach_frontend(self, fe: CharFrontend) -> int:
        """Take ``fe`` as this chardev's frontend; return its mux tag."""
        if self.closed:
            raise ChardevStateError(f"Chardev '{self.label}' is closed")
        if self.frontend is not None:
            raise ChardevInUse(self.label)
        self.frontend = fe
        self._notify(Change.FRONTEND)
        return 0

    def detach_frontend(self, fe: CharFrontend) -> None:
        if self.frontend is fe:
            self.frontend = None
            self._notify(Change.FRONTEND)

    def frontends(self) -> list[CharFrontend]:
        return [self.frontend] if self.frontend is not None else []

    @property
    def busy(self) -> bool:
        return bool(self.frontends())

    def handlers_changed(self, fe: CharFrontend, *, sync_state: bool) -> None:
        """``fe`` set its handlers: tell it OPENED if open (once), resume input."""
        if fe.has_handlers and sync_state and self.be_open and not fe.told_open:
            fe.deliver_event(ChardevEvent.OPENED)
        if fe.has_handlers:
            self._input_resumed()

    def take_focus(self, fe: CharFrontend) -> None:
        """Only a mux has a focus; elsewhere this does nothing."""

    def write(self, data: Buffer) -> int:
        """Frontend output: returns the number of bytes accepted (may be partial)."""
        if self.closed:
            raise ChardevStateError(f"Chardev '{self.label}' is closed")
        view = memoryview(data).cast("B")
        accepted = self._write(view)
        if accepted:
            self.stats.bytes_out += accepted
            _remember(self.tail_out, view[:accepted])
            if self._log is not None:
                self._log.write(view[:accepted])
            for tap in self._taps:
                tap(view[:accepted])
        return accepted

    def add_tap(self, tap: Callable[[memoryview], None]) -> Callable[[], None]:
        """See every byte of output this chardev accepts (a display mode); returns the remover.

        A tap only looks: it cannot change what reaches the backend or its log.
        """
        self._taps.append(tap)
        return lambda: self._taps.remove(tap) if tap in self._taps else None

    async def wait_writable(self) -> None:
        """Wait until a write may make progress, or the chardev is closed."""
        if self.closed:
            return
        await first_completed(self._wait_writable(), self._closed_event.wait())

    def accept_input(self, fe: CharFrontend) -> None:
        self._input_resumed()

    def send_break(self) -> None:
        self._send_break()

    def send_break_command(self) -> None:
        """``chardev-send-break``: as QEMU, a BREAK event to the frontend.

        A serial port overrides this to send a line break on its port instead.
        """
        self.be_event(ChardevEvent.BREAK)

    def disconnect(self) -> None:
        self._disconnect()

    def fe_open_changed(self, is_open: bool) -> None:
        self._fe_open_changed(is_open)

    def flush_log(self) -> None:
        if self._log is not None:
            self._log.sync()

    # -- backend side (called by backend implementations) ----------------------

    def be_event(self, event: ChardevEvent) -> None:
        """Report an event: update ``be_open`` and tell the frontend."""
        if event is ChardevEvent.OPENED:
            self.be_open = True
        elif event is ChardevEvent.CLOSED:
            self.be_open = False
        self._deliver_event(event)
        if event is ChardevEvent.OPENED:
            self._notify(Change.OPENED)
        elif event is ChardevEvent.CLOSED:
            self._notify(Change.CLOSED)

    def _deliver_event(self, event: ChardevEvent) -> None:
        if self.frontend is not None:
            self.frontend.deliver_event(event)

    def be_can_write(self) -> int:
        """How many bytes the frontend can take now (0 without a reader)."""
        fe = self.frontend
        return fe.can_read() if fe is not None else 0

    def be_write(self, data: Buffer) -> None:
        """Deliver input to the frontend; dropped when nobody reads."""
        if not data:
            return
        fe = self.frontend
        if fe is None or not fe.has_read_handler:
            self.stats.dropped_in += len(data)
            return
        self.stats.bytes_in += len(data)
        _remember(self.tail_in, data)
        fe.deliver_read(bytes(data))

    def set_filename(self, filename: str) -> None:
        if filename != self.filename:
            self.filename = filename
            self._notify(Change.FILENAME)

    # -- watching ----------------------------------------------------------------

    def watch(self, callback: Callable[[Chardev, Change], None]) -> Callable[[], None]:
        """Call ``callback(chardev, change)`` on every state change."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def _notify(self, change: Change) -> None:
        for callback in list(self._watchers):
            try:
                callback(self, change)
            except Exception:  # a broken watcher must not break the data path
                log.exception("chardev watcher failed for %s", self.label)

    @property
    def log_error(self) -> str | None:
        return self._log.error if self._log is not None else None

    @property
    def error(self) -> str | None:
        """What to show as the chardev's ``error``: its own problem, else its log's."""
        return self.last_error or self.log_error


def _remember(tail: bytearray, data: Buffer) -> None:
    tail += data[-TAIL:]
    if len(tail) > 2 * TAIL:
        del tail[:-TAIL]


def check_open_failure(label: str, what: str, err: OSError) -> ChardevError:
    """The error for a path a backend could not open, in QEMU's words."""
    return ChardevError(f"Could not open '{what}': {err.strerror or err}")
