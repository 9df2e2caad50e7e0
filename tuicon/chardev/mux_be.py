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

A stalled member never stalls the console: one that has accepted nothing
for ``stall-ms`` while bytes wait for it (a pty held open by a program that
never reads, a share client behind a dead network) is cut loose.  The others
and the frontend go on at full speed; the bytes it misses are dropped for it
alone and counted; when it takes bytes again it is told
``[tuicon: N bytes dropped]`` and rejoins at the current position.
``stall-ms=0`` keeps QEMU's rule: everyone waits for the slowest.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from .aio import Signal, first_completed
from .chardev import Change, Chardev
from .errors import ChardevError, ChardevInUse, InvalidOption
from .events import ChardevEvent
from .frontend import CharFrontend
from .options import option
from .registry import register

log = logging.getLogger(__name__)

MAX_MEMBERS = 32


@dataclass(frozen=True)
class MuxBeOptions:
    chardevs: tuple[str, ...] = option(
        (), help="ids of the member chardevs (members can also join with mux-be-id=)"
    )
    stall_ms: int = option(
        2000, name="stall-ms",
        help="cut loose a member that takes nothing for this long (ms) instead of waiting"
        " for it; 0 = wait for every member (QEMU)",
    )


@dataclass(eq=False)
class Member:
    """One backend of the mux-be, seen through the mux-be's own handle."""

    fe: CharFrontend
    written: int
    is_open: bool = False
    dropped: int = 0
    """Bytes this member missed while it was cut loose (counted when it rejoins)."""
    stalled_since: float | None = None
    """When a write to it last found it full, while it has accepted nothing since."""
    cut: bool = False
    """Cut loose: skipped until it takes bytes again."""
    notice: bytes = b""
    """What is left to write of the 'bytes dropped' line before it rejoins."""

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
            "stall-ms": self.options.stall_ms,
            "members": [
                {
                    "id": m.chardev.label if m.chardev else None,
                    "open": m.is_open,
                    "ahead": self._ahead(m) if m.is_open and not m.cut else 0,
                    "stalled": m.cut,
                    "dropped": self._dropped(m),
                }
                for m in self.members
            ],
        }

    def _dropped(self, member: Member) -> int:
        missed = self.min_written - member.written if member.cut else 0
        return member.dropped + missed

    # -- member -> frontend -----------------------------------------------------------

    def _member_can_read(self) -> int:
        return self.be_can_write()

    def _member_event(self, member: Member, event: ChardevEvent) -> None:
        if event is ChardevEvent.OPENED:
            if member.is_open:
                return  # a re-sync of a member we already count
            member.is_open = True
            if not _keeps_history(member):
                member.written = self.min_written  # catch up from now on
            self._open_count += 1
            if self._open_count == 1:
                self.be_event(ChardevEvent.OPENED)
        elif event is ChardevEvent.CLOSED:
            if not member.is_open:
                return
            member.is_open = False
            if member.cut or not _keeps_history(member):
                self._rejoin(member)  # whoever comes next on it starts clean
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
        now = asyncio.get_running_loop().time()
        for member in self.members:
            if not member.is_open and not _keeps_history(member):
                continue
            if member.cut and not self._try_rejoin(member):
                continue  # still not taking anything: the bytes go on without it
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
                if self._stalled_too_long(member, now):
                    self._cut_loose(member)
                    continue
                if member.stalled_since is None:
                    member.stalled_since = now
                self._blocked = member
                return 0
            member.stalled_since = None
            member.written += written
            accepted = min(accepted, written)
        self.min_written += accepted
        return accepted

    # -- stalled members ------------------------------------------------------------

    def _stalled_too_long(self, member: Member, now: float) -> bool:
        stall = self.options.stall_ms / 1000
        return bool(stall) and member.stalled_since is not None and now - member.stalled_since >= stall

    def _cut_loose(self, member: Member) -> None:
        member.cut = True
        member.stalled_since = None
        label = member.chardev.label if member.chardev else "?"
        log.info("mux-be '%s': member '%s' took nothing for %d ms: cut loose", self.label,
                 label, self.options.stall_ms)
        self._notify(Change.MEMBERS)
        self.tasks.spawn(self._watch_cut_member(member), f"waiting for member '{label}'")

    async def _watch_cut_member(self, member: Member) -> None:
        """Rejoin a cut-loose member as soon as it takes bytes, not at the next write."""
        while member.cut and member in self.members:
            await first_completed(member.fe.wait_writable(), self._membership.wait())
            if member.cut and member in self.members and member.is_open:
                self._try_rejoin(member)

    def _try_rejoin(self, member: Member) -> bool:
        """Offer a cut-loose member its notice; True once it took it all and is back."""
        if not member.notice:
            missed = self.min_written - member.written
            member.notice = f"\r\n[tuicon: {missed} bytes dropped]\r\n".encode()
        try:
            taken = member.fe.write(member.notice)
        except ChardevError:
            taken = 0
        if not taken:
            member.notice = b""  # still full: the count is made again next time
            return False
        member.notice = member.notice[taken:]
        if member.notice:
            return False
        self._rejoin(member)
        self._notify(Change.MEMBERS)
        return True

    def _rejoin(self, member: Member) -> None:
        """Back at the current position, with what it missed counted."""
        if member.cut:
            member.dropped += self.min_written - member.written
        member.cut = False
        member.notice = b""
        member.stalled_since = None
        member.written = self.min_written

    async def _wait_writable(self) -> None:
        member = self._blocked
        if member is None or member not in self.members:
            return
        waits = [member.fe.wait_writable(), self._membership.wait()]
        if self.options.stall_ms and member.stalled_since is not None:
            # Wake when its time is up, so the next write can cut it loose.
            due = member.stalled_since + self.options.stall_ms / 1000
            waits.append(asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time())))
        await first_completed(*waits)


def _keeps_history(member: Member) -> bool:
    """A member with ``replay=`` is written to while closed too (it records, never blocks)."""
    return member.chardev is not None and member.chardev.keeps_history
