"""`CharFrontend`: the handle a consumer (a device, a monitor, a mux) holds on a chardev."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .chardev import Buffer
from .errors import ChardevError, ChardevStateError
from .events import ChardevEvent

if TYPE_CHECKING:
    from .chardev import Chardev

log = logging.getLogger(__name__)

CanRead = Callable[[], int]
Read = Callable[[bytes], None]
EventHandler = Callable[[ChardevEvent], None]
BeChange = Callable[[], bool | None]


class CharFrontend:
    """One consumer's attachment to one chardev (or one slot of a mux).

    The handle outlives hot-swaps: ``chardev`` changes, the handle stays.
    A frontend with a ``be_change`` handler accepts hot-swap; the handler
    returns ``False`` (or raises) to refuse, and usually re-registers its
    handlers so it is told ``OPENED`` by the new backend.
    """

    def __init__(self, chardev: Chardev | None = None, *, owner: str = "", connect: bool = True):
        self.owner = owner
        """Who holds this handle, for status and error messages."""
        self.chardev: Chardev | None = None
        self.tag = 0
        """The mux slot this handle occupies (0 on a plain chardev)."""
        self.fe_open = False
        self._can_read: CanRead | None = None
        self._read: Read | None = None
        self._event: EventHandler | None = None
        self.be_change: BeChange | None = None
        self.told_open = False
        """Whether the event handler was last told OPENED (not CLOSED) by this backend."""
        if chardev is not None:
            self.attach(chardev, connect=connect)

    def __repr__(self) -> str:
        target = self.chardev.label if self.chardev else None
        return f"<CharFrontend owner={self.owner!r} chardev={target!r}>"

    # -- attach / detach -----------------------------------------------------------

    def attach(self, chardev: Chardev, *, connect: bool = True) -> None:
        """Attach to ``chardev``; run its postponed connect unless ``connect=False``."""
        if self.chardev is not None:
            raise ChardevStateError(
                f"frontend {self.owner or ''} is already attached to '{self.chardev.label}'"
            )
        self.tag = chardev.attach_frontend(self)
        self.chardev = chardev
        if connect:
            try:
                chardev.ensure_connected()
            except BaseException:
                self.detach()
                raise

    def detach(self) -> None:
        """Clear the handlers and release the chardev (no events are sent)."""
        chardev = self.chardev
        if chardev is None:
            return
        self._can_read = self._read = self._event = None
        self.be_change = None
        if self.fe_open:
            self.fe_open = False
            chardev.fe_open_changed(False)
        chardev.detach_frontend(self)
        self.chardev = None

    def move_to(self, chardev: Chardev) -> None:
        """Hot-swap plumbing: leave the current chardev for ``chardev``, keeping handlers.

        Raises (and stays where it was) if the new chardev refuses it.
        """
        old = self.chardev
        if old is not None:
            old.detach_frontend(self)
        # A new backend is a new peer: it owes this frontend its own OPENED.
        self.told_open = False
        try:
            self.tag = chardev.attach_frontend(self)
            self.chardev = chardev
            chardev.ensure_connected()
        except BaseException:
            if self.chardev is chardev:
                chardev.detach_frontend(self)
            self.chardev = old
            if old is not None:
                self.tag = old.attach_frontend(self)
            raise

    # -- handlers -------------------------------------------------------------------

    def set_handlers(
        self,
        *,
        can_read: CanRead | None = None,
        read: Read | None = None,
        event: EventHandler | None = None,
        be_change: BeChange | None = None,
        set_open: bool = True,
        sync_state: bool = True,
    ) -> None:
        """Install handlers (all ``None`` closes the frontend).

        With any handler set the frontend takes its mux's focus, and if the
        backend is open it is told ``OPENED`` now (unless ``sync_state=False``).
        """
        if event != self._event:
            self.told_open = False  # a new handler has been told nothing yet
        self._can_read, self._read, self._event = can_read, read, event
        self.be_change = be_change
        if set_open:
            self.set_open(self.has_handlers)
        if self.chardev is not None:
            if self.has_handlers:
                self.chardev.take_focus(self)
            self.chardev.handlers_changed(self, sync_state=sync_state)

    def clear_handlers(self) -> None:
        self.set_handlers()

    @property
    def has_handlers(self) -> bool:
        return any(h is not None for h in (self._can_read, self._read, self._event))

    @property
    def has_read_handler(self) -> bool:
        return self._read is not None

    # -- delivery (called by the chardev) -------------------------------------------------

    def can_read(self) -> int:
        if self._can_read is None or self._read is None:
            return 0
        return max(0, self._can_read())

    def deliver_read(self, data: bytes) -> None:
        if self._read is not None:
            self._read(data)

    def deliver_event(self, event: ChardevEvent) -> None:
        if self._event is None:
            return
        if event is ChardevEvent.OPENED:
            self.told_open = True
        elif event is ChardevEvent.CLOSED:
            self.told_open = False
        self._event(event)

    # -- operations ---------------------------------------------------------------------------

    @property
    def backend_open(self) -> bool:
        return self.chardev is not None and self.chardev.be_open

    def write(self, data: Buffer) -> int:
        """Write what the backend accepts now; returns the count (0 when full)."""
        if self.chardev is None:
            return 0
        return self.chardev.write(data)

    async def write_all(self, data: Buffer) -> int:
        """Write everything, waiting while the backend is full."""
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            chardev = self.chardev
            if chardev is None:
                raise ChardevError(f"frontend {self.owner} has no chardev")
            written = chardev.write(view[done:])
            done += written
            if done < len(view) and written == 0:
                await chardev.wait_writable()
                if chardev.closed and self.chardev is chardev:
                    raise ChardevError(f"Chardev '{chardev.label}' closed during write")
        return done

    async def wait_writable(self) -> None:
        if self.chardev is not None:
            await self.chardev.wait_writable()

    def accept_input(self) -> None:
        """Tell the backend this frontend can read again."""
        if self.chardev is not None:
            self.chardev.accept_input(self)

    def set_open(self, is_open: bool) -> None:
        if self.fe_open == is_open:
            return
        self.fe_open = is_open
        if self.chardev is not None:
            self.chardev.fe_open_changed(is_open)

    def take_focus(self) -> None:
        if self.chardev is not None:
            self.chardev.take_focus(self)

    async def wait_connected(self) -> None:
        if self.chardev is None:
            raise ChardevError("missing associated backend")
        await self.chardev.wait_connected()

    def disconnect(self) -> None:
        if self.chardev is not None:
            self.chardev.disconnect()

    def send_break(self) -> None:
        """Send a break through the backend (a serial line break)."""
        if self.chardev is not None:
            self.chardev.send_break()
