"""The backend multiplexer (``mux-be``, and QEMU 10's ``hub``): one frontend, many backends.

Frontend output goes to every open member.  Each member's written count is
kept, and a write returns the minimum any member took, so the caller
re-offers the rest: members that already have those bytes are skipped, the
slow one catches up, nothing is sent twice and order is kept.  Input and
events from any member reach the one frontend; OPENED is forwarded for the
first open member and CLOSED for the last.

Beyond QEMU: members can join and leave while data flows (up to
:data:`MAX_MEMBERS`), a member joining late starts at the current position,
and a member can be hot-swapped, keeping its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .aio import Signal, first_completed
from .chardev import Chardev
from .errors import ChardevError, ChardevInUse, InvalidOption
from .events import ChardevEvent
from .frontend import CharFrontend
from .options import option
from .registry import register

MAX_MEMBERS = 32


@dataclass(frozen=True)
class MuxBeOptions:
    chardevs: tuple[str, ...] = option(
        (), help="ids of the member chardevs (members can also join with mux-be-id=)"
    )


@dataclass(eq=False)
class Member:
    """One backend of the mux-be, seen through the mux-be's own handle."""

    fe: CharFrontend
    written: int
    is_open: bool = False
    dropped: int = 0

    @property
    def chardev(self) -> Chardev | None:
        return self.fe.chardev


@register("hub")
class MuxBeChardev(Chardev):
    """One frontend writing to, and reading from, several backends."""

    type_name: ClassVar[str] = "mux-be"
    summary: ClassVar[str] = "one frontend, several backends (members join with mux-be-id=)"
    Options = MuxBeOptions
    is_multiplexer: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: list[Member] = []
        self.min_written = 0
        self._open_count = 0
        self._blocked: Member | None = None
        self._membership = Signal()

    @property
    def _prefix(self) -> str:
        return "hub" if self.spec.type == "hub" else "mux-be"

    # -- creation and membership --------------------------------------------------

    def open(self) -> bool:
        ids = self.options.chardevs
        if self.spec.type == "hub" and not ids:
            raise InvalidOption("hub: 'chardevs' list is not defined", option="chardevs")
        for member_id in ids:
            chardev = self.lookup.find(member_id)
            if chardev is None:
                raise InvalidOption(
                    f"{self._prefix}: chardev can't be found by id '{member_id}'",
                    option="chardevs",
                )
            self.add_member(chardev)
        return False  # open once a member is

    def add_member(self, chardev: Chardev) -> None:
        """Attach ``chardev`` as a member; it starts at the current position."""
        if chardev.is_multiplexer:
            raise InvalidOption(
                f"{self._prefix}: multiplexers and hub devices can't be stacked, check chardev"
                f" '{chardev.label}', chardev should not be a hub device or have 'mux=on' enabled",
                option="chardevs",
            )
        if len(self.members) >= MAX_MEMBERS:
            raise ChardevInUse(
                self.label,
                f"too many uses of multiplexed chardev '{self.label}' (maximum is {MAX_MEMBERS})",
            )
        fe = CharFrontend(chardev, owner=f"{self.spec.type} '{self.label}'")
        member = Member(fe, written=self.min_written)
        self.members.append(member)
        fe.set_handlers(
            can_read=self._member_can_read,
            read=self.be_write,
            event=lambda event: self._member_event(member, event),
            be_change=lambda: self._member_changed(member),
        )
        self._membership.fire()

    def remove_member(self, chardev: Chardev) -> None:
        """Detach a member; the others are not disturbed."""
        member = self.member_of(chardev)
        if member is None:
            raise ChardevError(f"Chardev '{chardev.label}' is not a member of '{self.label}'")
        self._member_event(member, ChardevEvent.CLOSED)
        member.fe.detach()
        self.members.remove(member)
        if self._blocked is member:
            self._blocked = None
        self._membership.fire()

    def member_of(self, chardev: Chardev) -> Member | None:
        return next((m for m in self.members if m.chardev is chardev), None)

    async def _close(self) -> None:
        for fe in self.frontends():
            fe.detach()
        for member in self.members:
            member.fe.detach()
        self.members.clear()
        self._membership.fire()

    # -- the one frontend --------------------------------------------------------------

    def attach_frontend(self, fe: CharFrontend) -> int:
        if self.frontend is not None:
            if self.spec.type == "hub":
                raise ChardevInUse(self.label)
            raise ChardevInUse(
                self.label,
                f"multiplexed chardev '{self.label}' is already used for multiplexing",
            )
        return super().attach_frontend(fe)

    def _input_resumed(self) -> None:
        for member in self.members:
            member.fe.accept_input()

    def describe_extra(self) -> dict[str, Any]:
        return {
            "members": [
                {
                    "id": m.chardev.label if m.chardev else None,
                    "open": m.is_open,
                    "ahead": self._ahead(m) if m.is_open else 0,
                    "dropped": m.dropped,
                }
                for m in self.members
            ]
        }

    # -- member -> frontend -----------------------------------------------------------

    def _member_can_read(self) -> int:
        return self.be_can_write()

    def _member_event(self, member: Member, event: ChardevEvent) -> None:
        if event is ChardevEvent.OPENED:
            if member.is_open:
                return  # a re-sync of a member we already count
            member.is_open = True
            member.written = self.min_written  # catch up from now on
            self._open_count += 1
            if self._open_count == 1:
                self.be_event(ChardevEvent.OPENED)
        elif event is ChardevEvent.CLOSED:
            if not member.is_open:
                return
            member.is_open = False
            self._open_count -= 1
            if self._open_count == 0:
                self.be_event(ChardevEvent.CLOSED)
        else:
            self.be_event(event)

    def _member_changed(self, member: Member) -> bool:
        # Hot-swap of a member: keep its position, listen on the new backend.
        member.fe.set_handlers(
            can_read=self._member_can_read,
            read=self.be_write,
            event=lambda event: self._member_event(member, event),
            be_change=lambda: self._member_changed(member),
        )
        self._membership.fire()
        return True

    # -- frontend -> members -----------------------------------------------------------

    def _ahead(self, member: Member) -> int:
        return member.written - self.min_written

    def _write(self, data: memoryview) -> int:
        accepted = len(data)
        self._blocked = None
        for member in self.members:
            if not member.is_open:
                continue
            ahead = self._ahead(member)
            if ahead > 0:
                # It already has these bytes from an earlier, partial call.
                accepted = min(accepted, ahead)
                continue
            try:
                written = member.fe.write(data)
            except ChardevError:
                written = len(data)  # a broken member must not stall the others
                member.dropped += written
            if written == 0:
                self._blocked = member
                return 0
            member.written += written
            accepted = min(accepted, written)
        self.min_written += accepted
        return accepted

    async def _wait_writable(self) -> None:
        member = self._blocked
        if member is None or member not in self.members:
            return
        await first_completed(member.fe.wait_writable(), self._membership.wait())
