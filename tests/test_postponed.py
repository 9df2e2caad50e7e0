"""Postponed connect (seed 001): init validates, connect runs on the first frontend attach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from tuicon.chardev import Chardev, ChardevError, ChardevEvent, CharFrontend
from tuicon.chardev.chardev import Lifecycle
from tuicon.chardev.options import option
from tuicon.chardev.registry import register, unregister

from helpers import Recorder


@dataclass(frozen=True)
class LaterOptions:
    target: str = option(help="what to connect to")
    fail: bool = option(False, help="make connect fail")


class LaterChardev(Chardev):
    """A backend that only connects when somebody uses it (like a socket client)."""

    type_name: ClassVar[str] = "test-later"
    Options = LaterOptions
    postponed_connect: ClassVar[bool] = True
    connects: ClassVar[list[str]] = []

    def init(self) -> None:
        if not self.options.target:
            raise ChardevError("test-later: empty target")
        self.set_filename(f"disconnected:{self.options.target}")

    def connect(self) -> None:
        self.connects.append(self.label)
        if self.options.fail:
            raise ChardevError(f"Failed to connect to '{self.options.target}'")
        self.set_filename(f"later:{self.options.target}")
        self.be_event(ChardevEvent.OPENED)


@pytest.fixture(autouse=True)
def later_backend():
    register()(LaterChardev)
    LaterChardev.connects = []
    yield
    unregister("test-later")


async def test_add_validates_without_connecting(manager):
    with pytest.raises(ChardevError, match="empty target"):
        await manager.add("c", "test-later,target=")
    await manager.add("c", "test-later,target=far")
    chardev = manager.get("c")
    assert chardev.lifecycle is Lifecycle.POSTPONED
    assert LaterChardev.connects == []
    (info,) = manager.query()
    assert info.connect_postponed and info.filename == "disconnected:far" and not info.be_open


async def test_first_attach_connects(manager):
    await manager.add("c", "test-later,target=far")
    fe = Recorder(manager.get("c")).install()
    assert LaterChardev.connects == ["c"]
    assert fe.events == [ChardevEvent.OPENED]
    assert manager.get("c").filename == "later:far"
    assert not manager.query()[0].connect_postponed
    fe.fe.detach()
    Recorder(manager.get("c")).install()
    assert LaterChardev.connects == ["c"]  # once only


async def test_attach_without_connect_then_wait_connected(manager):
    await manager.add("c", "test-later,target=far")
    fe = Recorder(manager.get("c"), connect=False).install()
    assert LaterChardev.connects == [] and manager.get("c").connect_postponed
    await fe.fe.wait_connected()
    assert LaterChardev.connects == ["c"] and fe.events == [ChardevEvent.OPENED]


async def test_failed_connect_leaves_nothing_attached(manager):
    await manager.add("c", "test-later,target=far,fail=on")
    fe = CharFrontend(owner="dev")
    with pytest.raises(ChardevError, match="Failed to connect to 'far'"):
        fe.attach(manager.get("c"))
    assert fe.chardev is None and not manager.get("c").busy
    await manager.remove("c")


async def test_change_to_a_postponed_backend_connects_it(manager):
    await manager.add("c", "ringbuf")
    fe = Recorder(manager.get("c"), be_change=lambda: fe.install() or True).install()
    await manager.change("c", "test-later,target=new")
    assert LaterChardev.connects == ["c"]
    assert manager.get("c").filename == "later:new" and fe.fe.backend_open
    assert fe.events == [ChardevEvent.OPENED, ChardevEvent.CLOSED, ChardevEvent.OPENED]
    assert not fe.mismatch  # told OPENED once by the new backend, not twice


async def test_devices_connect_what_they_use(session):
    chardevs, devices = session
    await chardevs.add("a", "test-later,target=a")
    await chardevs.add("b", "ringbuf")
    assert LaterChardev.connects == []
    await devices.add_cli("bridge,id=br,chardev=a,peer=b")
    assert LaterChardev.connects == ["a"]
