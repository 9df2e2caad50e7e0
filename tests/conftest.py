"""Shared fixtures: a manager that must leave no task, descriptor or file behind."""

from __future__ import annotations

import asyncio
import os

import pytest

from tuicon.chardev import ChardevManager
from tuicon.devices import DeviceManager

os.environ.pop("NO_COLOR", None)


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def fd_targets(fds: set[int]) -> dict[int, str]:
    targets = {}
    for fd in fds:
        try:
            targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return targets


async def assert_no_leaks(fds_before: set[int]) -> None:
    """No task but the test's own is alive, and no descriptor was left open."""
    for _ in range(3):
        await asyncio.sleep(0)  # let cancelled callbacks finish
    current = asyncio.current_task()
    alive = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not alive, f"tasks left running: {alive}"
    leaked = open_fds() - fds_before
    # The event loop's own selector and self-pipe exist before the fixture.
    assert not leaked, f"descriptors left open: {fd_targets(leaked)}"


@pytest.fixture
async def manager():
    """A chardev manager; closing it must release every task and descriptor."""
    before = open_fds()
    mgr = ChardevManager()
    yield mgr
    await mgr.close()
    await assert_no_leaks(before)


@pytest.fixture
async def session():
    """A chardev manager and a device manager, checked for leaks afterwards."""
    before = open_fds()
    chardevs = ChardevManager()
    devices = DeviceManager(chardevs)
    yield chardevs, devices
    await devices.close()
    await chardevs.close()
    await assert_no_leaks(before)
