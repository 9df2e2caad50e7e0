"""``change`` (QEMU's chardev-change): swap, refusals, rollback, events, and no byte lost."""

from __future__ import annotations

import asyncio
import os

import pytest

from tuicon.chardev import (
    ChardevBusy,
    ChardevError,
    ChardevEvent,
    ChardevNotFound,
    ChardevStateError,
    InvalidOption,
    UnknownBackend,
)

from conftest import open_fds
from helpers import Recorder, wait_until

E = ChardevEvent


async def test_swap_refused_then_accepted(manager, tmp_path):
    """QEMU's /char/hotswap: a refusing be_change keeps the old backend working."""
    await manager.add("c", "ringbuf,size=64")
    old = manager.get("c")
    fe = Recorder(old, be_change=lambda: False).install()
    fds = open_fds()
    with pytest.raises(ChardevError, match="^Chardev 'c' change failed$"):
        await manager.change("c", f"file,path={tmp_path}/out")
    assert manager.get("c") is old and fe.fe.chardev is old
    assert open_fds() == fds  # the new file was closed again
    fe.fe.write(b"still")
    assert manager.ringbuf_read("c", 64) == "still"

    fe._be_change = lambda: True
    fe.install()
    await manager.change("c", f"file,path={tmp_path}/out")
    new = manager.get("c")
    assert new is not old and fe.fe.chardev is new and old.closed
    assert fe.fe.write(b"hello!") == 6
    assert (tmp_path / "out").read_bytes() == b"hello!"


async def test_refusals_and_their_texts(manager, tmp_path):
    with pytest.raises(ChardevNotFound, match="^Chardev 'nope' not found$"):
        await manager.change("nope", "null")
    await manager.add("m", "null,mux=on")
    with pytest.raises(ChardevStateError, match="^For mux or hub device hotswap is not supported yet$"):
        await manager.change("m", "null")
    await manager.add("hub", "mux-be")
    with pytest.raises(ChardevStateError, match="^For mux or hub device hotswap is not supported yet$"):
        await manager.change("hub", "null")
    await manager.add("c", "null")
    with pytest.raises(InvalidOption, match="cannot set 'mux' or 'mux-be-id'"):
        await manager.change("c", "null,mux=on")
    with pytest.raises(InvalidOption, match="cannot set 'mux' or 'mux-be-id'"):
        await manager.change("c", "null,mux-be-id=hub")
    with pytest.raises(UnknownBackend, match="'bogus' is not a valid char driver name"):
        await manager.change("c", "bogus")
    Recorder(manager.get("c")).install()  # a frontend without be_change
    with pytest.raises(ChardevStateError, match="^Chardev user does not support chardev hotswap"):
        await manager.change("c", "ringbuf")
    assert manager.get("c").type_name == "null"


async def test_swap_without_frontend_and_a_failing_new_backend(manager, tmp_path):
    await manager.add("c", f"file,path={tmp_path}/a")
    old = manager.get("c")
    with pytest.raises(ChardevError, match="Could not open"):
        await manager.change("c", f"file,path={tmp_path}/missing/dir/b")
    assert manager.get("c") is old and not old.closed  # better than QEMU: nothing lost
    result = await manager.change("c", "ringbuf")
    assert result == {} and manager.get("c").type_name == "ringbuf"


async def test_swap_to_a_pty_returns_its_path_and_events_follow(manager):
    await manager.add("c", "ringbuf")
    fe = Recorder(manager.get("c"), be_change=lambda: fe.install() or True).install()
    assert fe.events == [E.OPENED]
    result = await manager.change("c", "pty")
    path = result["pty"]
    assert manager.get("c").filename == f"pty:{path}"
    # The old backend was open and the new one is not (nobody holds the pty).
    assert fe.events == [E.OPENED, E.CLOSED]
    peer = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        await fe.wait_event(E.OPENED, 2)
        os.write(peer, b"in")
        await fe.wait_data(2)
    finally:
        os.close(peer)
    assert not fe.mismatch


async def test_rollback_sends_opened_back(manager):
    await manager.add("c", "ringbuf")
    fe = Recorder(manager.get("c"), be_change=lambda: False).install()
    with pytest.raises(ChardevError, match="change failed"):
        await manager.change("c", "pty")
    assert fe.events == [E.OPENED, E.CLOSED, E.OPENED] and not fe.mismatch
    assert manager.get("c").type_name == "ringbuf"


async def test_a_raising_be_change_is_a_refusal(manager):
    def broken() -> bool:
        raise RuntimeError("device cannot switch now")

    await manager.add("c", "ringbuf")
    fe = Recorder(manager.get("c"), be_change=broken).install()
    with pytest.raises(ChardevError, match="change failed"):
        await manager.change("c", "null")
    assert fe.fe.chardev is manager.get("c") and manager.get("c").type_name == "ringbuf"


async def test_concurrent_change_and_remove_are_refused(manager):
    # Closing a vc awaits its feeder task, so the first change is still in
    # progress when the test gets control back.
    await manager.add("c", "vc")
    first = asyncio.create_task(manager.change("c", "ringbuf"))
    for _ in range(10):  # loop iterations, not time: the change starts on the first
        await asyncio.sleep(0)
        if manager.changing("c"):
            break
    assert manager.changing("c")
    with pytest.raises(ChardevStateError, match="already being changed"):
        await manager.change("c", "null")
    with pytest.raises(ChardevBusy, match="^Chardev 'c' is busy$"):
        await manager.remove("c")
    await first
    assert manager.get("c").type_name == "ringbuf" and not manager.changing("c")
    await manager.change("c", "null")  # and free again afterwards


async def write_fifo(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a non-blocking FIFO, waiting while it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view[:65536]):]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(fd)


async def test_bridge_keeps_running_across_swaps(session, tmp_path):
    """1 MiB through a bridge while its destination is swapped three times: nothing lost."""
    chardevs, devices = session
    os.mkfifo(tmp_path / "src.in")
    os.mkfifo(tmp_path / "src.out")
    await chardevs.add("src", f"pipe,path={tmp_path}/src")
    await chardevs.add("dst", f"file,path={tmp_path}/out.0")
    await devices.add_cli("bridge,id=b,chardev=src,peer=dst")
    stream = bytes(range(251)) * 4200
    fd = os.open(tmp_path / "src.in", os.O_WRONLY | os.O_NONBLOCK)
    quarter = len(stream) // 4
    try:
        for n in range(4):
            # Once the writer is through, up to a pipe-full is still in flight: swap then.
            await write_fifo(fd, stream[n * quarter:(n + 1) * quarter if n < 3 else None])
            if n < 3:
                await chardevs.change("dst", f"file,path={tmp_path}/out.{n + 1}")
        bridge = devices.get("b")
        await wait_until(lambda: bridge.a_to_b.moved == len(stream), what="all moved")
    finally:
        os.close(fd)
    parts = [(tmp_path / f"out.{n}").read_bytes() for n in range(4)]
    assert all(parts) and b"".join(parts) == stream


async def test_bridge_source_side_swap(session, tmp_path):
    chardevs, devices = session
    for name in ("one", "two"):
        os.mkfifo(tmp_path / f"{name}.in")
        os.mkfifo(tmp_path / f"{name}.out")
    await chardevs.add("src", f"pipe,path={tmp_path}/one")
    await chardevs.add("dst", f"file,path={tmp_path}/out")
    await devices.add_cli("bridge,id=b,chardev=src,peer=dst")
    for name, data in (("one", b"from one;"), ("two", b"from two")):
        if name == "two":
            await chardevs.change("src", f"pipe,path={tmp_path}/two")
        fd = os.open(tmp_path / f"{name}.in", os.O_WRONLY | os.O_NONBLOCK)
        try:
            await write_fifo(fd, data)
        finally:
            os.close(fd)
        await wait_until(lambda: (tmp_path / "out").read_bytes().endswith(data), what=name)
    assert (tmp_path / "out").read_bytes() == b"from one;from two"
