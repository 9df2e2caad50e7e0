"""The chardev manager: the one place where chardevs are created, swapped and removed.

The UI, the monitors, the command line and profiles all go through it, so a
change made by one is seen by all (subscribe to :meth:`ChardevManager.subscribe`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .aio import describe_exception
from .chardev import Change, Chardev
from .errors import (
    ChardevBusy,
    ChardevError,
    ChardevExists,
    ChardevNotFound,
    ChardevStateError,
    InvalidOption,
)
from .events import ChardevEvent
from .options import ChardevSpec, parse_cli, parse_qapi
from .registry import BackendRegistry, backends

log = logging.getLogger(__name__)

BackendArg = ChardevSpec | Mapping[str, Any] | str


@dataclass(frozen=True)
class ChardevInfo:
    """One row of :meth:`ChardevManager.query` (QEMU's ChardevInfo plus status)."""

    label: str
    filename: str
    frontend_open: bool
    type: str
    be_open: bool
    features: list[str]
    connect_postponed: bool
    frontends: list[str]
    bytes_in: int
    bytes_out: int
    dropped: int = 0
    """Output discarded because nobody was there (a client socket that is down)."""
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    """What is wrong with it (a failed connect, a dead task, a log write), if anything."""

    def to_qmp(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "filename": self.filename,
            "frontend-open": self.frontend_open,
            "type": self.type,
            "backend-open": self.be_open,
            "features": self.features,
            "connect-postponed": self.connect_postponed,
            "frontends": self.frontends,
            "bytes-in": self.bytes_in,
            "bytes-out": self.bytes_out,
            "dropped": self.dropped,
            **self.extra,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class ManagerEvent:
    """What subscribers hear: ``kind`` is added, removed, changed, settings (after a
    ``serial-set``) or a Change value."""

    kind: str
    chardev_id: str


Subscriber = Callable[[ManagerEvent], None]


class ChardevManager:
    """Holds every chardev by id and is the only way to add, change or remove one."""

    def __init__(self, registry: BackendRegistry = backends) -> None:
        self.registry = registry
        self._chardevs: dict[str, Chardev] = {}
        self._changing: set[str] = set()
        self._subscribers: list[Subscriber] = []
        self.quit_requested: Callable[[str], None] | None = None
        """Called when a local console asks tuicon to quit (mux ``C-a x`` on a vc)."""

    # -- lookup ---------------------------------------------------------------------

    def find(self, chardev_id: str) -> Chardev | None:
        return self._chardevs.get(chardev_id)

    def get(self, chardev_id: str) -> Chardev:
        chardev = self._chardevs.get(chardev_id)
        if chardev is None:
            raise ChardevNotFound(chardev_id)
        return chardev

    def ids(self) -> list[str]:
        return list(self._chardevs)

    def __contains__(self, chardev_id: str) -> bool:
        return chardev_id in self._chardevs

    def __len__(self) -> int:
        return len(self._chardevs)

    # -- parsing --------------------------------------------------------------------

    def parse(self, chardev_id: str | None, backend: BackendArg) -> ChardevSpec:
        """Turn any accepted backend form into a validated spec."""
        if isinstance(backend, ChardevSpec):
            if chardev_id is not None and backend.id != chardev_id:
                backend = ChardevSpec(chardev_id, backend.type, backend.options, backend.common)
            return backend
        if isinstance(backend, str):
            return parse_cli(backend, self.registry, chardev_id=chardev_id)
        if chardev_id is None:
            raise InvalidOption.missing("id")
        return parse_qapi(chardev_id, backend, self.registry)

    # -- add ------------------------------------------------------------------------

    async def add(self, chardev_id: str | None, backend: BackendArg) -> dict[str, Any]:
        """Create a chardev (``chardev-add``); returns ``{"pty": path}`` for a pty."""
        spec = self.parse(chardev_id, backend)
        common = spec.common
        if common.mux and common.mux_be_id:
            raise InvalidOption(
                "chardev: mux and mux-be can't be used for the same device", option="mux-be-id"
            )
        if common.mux:
            return await self._add_with_mux(spec)
        chardev = await self._build(spec)
        self._register(chardev)
        return self._creation_result(chardev)

    async def _add_with_mux(self, spec: ChardevSpec) -> dict[str, Any]:
        base_id = f"{spec.id}-base"
        for taken in (spec.id, base_id):
            if taken in self._chardevs:
                raise ChardevExists(taken)
        # The base keeps the log options (logfile, logappend, logfile-*), not the mux ones.
        base_common = replace(spec.common, mux=False, mux_be_id=None)
        base = await self._build(ChardevSpec(base_id, spec.type, spec.options, base_common))
        mux_spec = self.parse(spec.id, {"type": "mux", "data": {"chardev": base_id}})
        self._register(base)
        try:
            mux = await self._build(mux_spec)
        except BaseException:
            self._chardevs.pop(base_id, None)
            await base.close()
            raise
        self._register(mux)
        return self._creation_result(base)

    async def _build(self, spec: ChardevSpec) -> Chardev:
        """Create and start a chardev without registering it; nothing is left on failure."""
        if spec.id in self._chardevs:
            raise ChardevExists(spec.id)
        cls = self.registry.backend_class(spec.type)
        chardev = cls(spec, self)
        try:
            with unexpected_errors(spec.id):
                chardev.start()
                await chardev.wait_started()
            if spec.common.mux_be_id:
                self._join_mux_be(chardev, spec.common.mux_be_id)
        except BaseException:
            await chardev.close()
            raise
        return chardev

    def _join_mux_be(self, chardev: Chardev, mux_be_id: str) -> None:
        from .mux_be import MuxBeChardev

        if chardev.is_multiplexer:
            raise InvalidOption("chardev: multiplexers can't be stacked", option="mux-be-id")
        target = self._chardevs.get(mux_be_id)
        if target is None:
            raise InvalidOption(
                f"chardev: mux-be device can't be found by id '{mux_be_id}'", option="mux-be-id"
            )
        if not isinstance(target, MuxBeChardev):
            raise InvalidOption(
                f"chardev: device '{mux_be_id}' is not a multiplexer device of 'mux-be' type",
                option="mux-be-id",
            )
        target.add_member(chardev)

    def _register(self, chardev: Chardev) -> None:
        self._chardevs[chardev.label] = chardev
        chardev.watch(self._on_chardev_change)
        self._publish("added", chardev.label)

    @staticmethod
    def _creation_result(chardev: Chardev) -> dict[str, Any]:
        if chardev.type_name == "pty" and chardev.filename.startswith("pty:"):
            return {"pty": chardev.filename[len("pty:") :]}
        return {}

    # -- mux-be membership ---------------------------------------------------------------

    def attach_member(self, mux_be_id: str, member_id: str) -> None:
        """Make an existing chardev a member of a mux-be (data flows at once)."""
        self._join_mux_be(self.get(member_id), mux_be_id)
        self._publish("changed", mux_be_id)

    def detach_member(self, member_id: str) -> str:
        """Take a chardev out of its mux-be; it stays, free to remove. Returns the mux-be id."""
        from .mux_be import MuxBeChardev

        member = self.get(member_id)
        for mux_be in self._chardevs.values():
            if isinstance(mux_be, MuxBeChardev) and mux_be.member_of(member) is not None:
                mux_be.remove_member(member)
                self._publish("changed", mux_be.label)
                return mux_be.label
        raise ChardevStateError(f"Chardev '{member_id}' is not a member of a mux-be")

    # -- change (hot-swap) --------------------------------------------------------------

    async def change(self, chardev_id: str, backend: BackendArg) -> dict[str, Any]:
        """Replace a chardev's backend, keeping its id and frontend (``chardev-change``).

        The new backend is built first; whenever anything fails, the old
        chardev is left as it was.
        """
        old = self.get(chardev_id)
        if chardev_id in self._changing:
            raise ChardevStateError(
                f"Chardev '{chardev_id}' is already being changed; try again when that change"
                " has finished"
            )
        if old.is_multiplexer:
            raise ChardevStateError("For mux or hub device hotswap is not supported yet")
        spec = self.parse(chardev_id, backend)
        if spec.common.mux or spec.common.mux_be_id:
            raise InvalidOption(
                "chardev-change cannot set 'mux' or 'mux-be-id'; the frontend stays as it is",
                option="mux" if spec.common.mux else "mux-be-id",
            )
        fe = old.frontend
        if fe is not None and fe.be_change is None:
            raise ChardevStateError(
                f"Chardev user does not support chardev hotswap ('{chardev_id}' is used by"
                f" {fe.owner or 'a frontend'})"
            )
        self._changing.add(chardev_id)
        try:
            new = self.registry.backend_class(spec.type)(spec, self)
            try:
                with unexpected_errors(chardev_id):
                    new.start()
                    await new.wait_started()
                    if fe is not None:
                        await new.ready_for_swap()
            except BaseException:
                await new.close()
                raise
            if fe is not None:
                await self._move_frontend(fe, old, new)
            self._chardevs[chardev_id] = new
            new.watch(self._on_chardev_change)
            await old.close()
        finally:
            self._changing.discard(chardev_id)
        self._publish("changed", chardev_id)
        return self._creation_result(new)

    async def _move_frontend(self, fe: Any, old: Chardev, new: Chardev) -> None:
        closed_sent = old.be_open and not new.be_open
        if closed_sent:
            old.be_event(ChardevEvent.CLOSED)
        try:
            fe.move_to(new)
        except BaseException:
            await self._undo_change(old, new, closed_sent)
            raise
        try:
            accepted = fe.be_change()
        except Exception as err:
            log.info("be_change of %s failed: %s", fe.owner, err)
            accepted = False
        if accepted is False:
            fe.move_to(old)
            await self._undo_change(old, new, closed_sent)
            raise ChardevError(f"Chardev '{old.label}' change failed")

    @staticmethod
    async def _undo_change(old: Chardev, new: Chardev, closed_sent: bool) -> None:
        if closed_sent:
            old.be_event(ChardevEvent.OPENED)
        await new.close()

    def changing(self, chardev_id: str) -> bool:
        """True while a hot-swap of ``chardev_id`` is in progress."""
        return chardev_id in self._changing

    # -- remove ---------------------------------------------------------------------

    async def remove(self, chardev_id: str) -> None:
        """Remove a chardev (``chardev-remove``); refused while it has users."""
        chardev = self.get(chardev_id)
        if chardev_id in self._changing or chardev.busy:
            raise ChardevBusy(chardev_id)
        del self._chardevs[chardev_id]
        await chardev.close()
        self._publish("removed", chardev_id)

    async def close(self) -> None:
        """Remove every chardev, users first (muxes before their bases)."""
        while self._chardevs:
            free = [c for c in self._chardevs.values() if not c.busy]
            victims = free or list(self._chardevs.values())
            for chardev in victims:
                if not free:
                    for fe in chardev.frontends():
                        fe.detach()
                self._chardevs.pop(chardev.label, None)
                await chardev.close()
                self._publish("removed", chardev.label)

    # -- query and small commands -------------------------------------------------------------

    def query(self) -> list[ChardevInfo]:
        return [self.info(c) for c in self._chardevs.values()]

    def info(self, chardev: Chardev) -> ChardevInfo:
        frontends = chardev.frontends()
        return ChardevInfo(
            label=chardev.label,
            filename=chardev.filename,
            frontend_open=any(fe.fe_open for fe in frontends),
            type=chardev.type_name,
            be_open=chardev.be_open,
            features=chardev.features.names(),
            connect_postponed=chardev.connect_postponed,
            frontends=[fe.owner for fe in frontends],
            bytes_in=chardev.stats.bytes_in,
            bytes_out=chardev.stats.bytes_out,
            dropped=chardev.stats.dropped_out,
            extra=chardev.describe_extra(),
            error=chardev.error,
        )

    def send_break(self, chardev_id: str) -> None:
        """``chardev-send-break``: a BREAK event to the frontend (a line break on a serial port)."""
        self.get(chardev_id).send_break_command()

    async def serial_set(self, chardev_id: str, **settings: Any) -> None:
        """``serial-set``: change a serial port's line settings live, set DTR/RTS, send a timed break.

        ``settings`` are serial-set's (``baud=9600``, ``parity="even"``,
        ``**{"break-ms": 250}``); see ``SerialChardev.apply_settings``.  The
        id of a ``mux=on`` serial reaches its base.  No CLOSED/OPENED; a
        hot-swap or removal waits its turn (refused meanwhile).
        """
        from .backends.serial import SerialChardev
        from .mux import MuxChardev

        chardev = self.get(chardev_id)
        if isinstance(chardev, MuxChardev) and chardev.base is not None:
            chardev = chardev.base
        if not isinstance(chardev, SerialChardev):
            raise ChardevError(
                f"Chardev '{chardev_id}' is not a serial port (it is a {chardev.type_name})"
            )
        if chardev.label in self._changing:
            raise ChardevStateError(
                f"Chardev '{chardev.label}' is already being changed; try again when that change"
                " has finished"
            )
        self._changing.add(chardev.label)
        try:
            with unexpected_errors(chardev_id):
                await chardev.apply_settings(settings)
        finally:
            self._changing.discard(chardev.label)
            self._publish("settings", chardev.label)

    def ringbuf_write(self, device: str, data: str, format: str = "utf8") -> None:
        ring = self._ringbuf(device)
        ring.ring_write(_decode(data, format))

    def ringbuf_read(self, device: str, size: int, format: str = "utf8") -> str:
        ring = self._ringbuf(device)
        if size <= 0:
            raise InvalidOption("size must be greater than zero", option="size")
        return _encode(ring.ring_read(size), format)

    def _ringbuf(self, device: str) -> Any:
        from .backends.ringbuf import RingbufChardev

        chardev = self.get(device)
        if not isinstance(chardev, RingbufChardev):
            raise ChardevError(f"{device} is not a ringbuf device")
        return chardev

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Hear about every addition, removal, swap and state change."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _on_chardev_change(self, chardev: Chardev, change: Change) -> None:
        if self._chardevs.get(chardev.label) is chardev:
            self._publish(change.value, chardev.label)

    def _publish(self, kind: str, chardev_id: str) -> None:
        event = ManagerEvent(kind, chardev_id)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("manager subscriber failed")

    def request_quit(self, reason: str) -> bool:
        """A local console asked to quit; returns whether anyone will act on it."""
        if self.quit_requested is None:
            return False
        self.quit_requested(reason)
        return True


@contextlib.contextmanager
def unexpected_errors(chardev_id: str) -> Iterator[None]:
    """Report any failure a backend did not foresee as a ChardevError naming the chardev.

    Backends turn the errors they expect into worded ChardevErrors; this is the
    net under them, so no caller (QMP, a form, a profile) ever sees a traceback.
    """
    try:
        yield
    except (ChardevError, asyncio.CancelledError):
        raise
    except Exception as err:
        log.warning("chardev '%s': unexpected failure", chardev_id, exc_info=True)
        raise ChardevError(f"Chardev '{chardev_id}': {describe_exception(err)}") from err


def _decode(data: str, format: str) -> bytes:
    if format == "utf8":
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidOption("Parameter 'data' is not valid text (a lone surrogate)",
                                option="data") from None
    if format == "base64":
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error as err:
            raise InvalidOption(f"Invalid base64 data: {err}", option="data") from None
    raise InvalidOption(
        f"Parameter 'format' does not accept value '{format}' (allowed: utf8, base64)",
        option="format",
    )


def _encode(data: bytes, format: str) -> str:
    if format == "utf8":
        return data.decode("utf-8", errors="replace")
    if format == "base64":
        return base64.b64encode(data).decode("ascii")
    raise InvalidOption(
        f"Parameter 'format' does not accept value '{format}' (allowed: utf8, base64)",
        option="format",
    )
