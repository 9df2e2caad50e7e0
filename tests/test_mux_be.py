"""``mux-be`` / ``hub``: QEMU's /char/hub and /char/mux-be, and members coming and going under load."""

from __future__ import annotations

import asyncio
import os

import pytest

from tuicon.chardev import (
    ChardevBusy,
    ChardevEvent,
    ChardevInUse,
    CharFrontend,
    InvalidOption,
)
from tuicon.chardev.mux_be import MAX_MEMBERS

from helpers import Recorder, read_fifo, wait_until

E = ChardevEvent
STREAM = bytes(range(251)) * 4096  # ~1 MiB; 251 is prime, so a slip shows


async def test_hub_errors_and_fan_out(manager):
    """QEMU's char_hub_test steps 1-10 (tuicon allows 32 members, not 4)."""
    with pytest.raises(InvalidOption, match="^hub: 'chardevs' list is not defined$"):
        await manager.add("hub0", "hub")
    await manager.add("chr0", "ringbuf,size=128,mux=on")
    with pytest.raises(InvalidOption, match=(
            r"^hub: multiplexers and hub devices can't be stacked, check chardev 'chr0', chardev"
            r" should not be a hub device or have 'mux=on' enabled$")):
        await manager.add("hub0", "hub,chardevs.0=chr0")
    with pytest.raises(ChardevInUse, match="^chardev 'chr0-base' is already in use$"):
        await manager.add("hub0", "hub,chardevs.0=chr0-base")
    await manager.remove("chr0")
    await manager.remove("chr0-base")

    await manager.add("chr1", "ringbuf,size=128")
    await manager.add("chr2", "ringbuf,size=128")
    await manager.add("hub0", "hub,chardevs.0=chr1,chardevs.1=chr2")
    fe = Recorder(manager.get("hub0")).install()
    with pytest.raises(ChardevInUse, match="^chardev 'hub0' is already in use$"):
        CharFrontend(manager.get("hub0"))

    manager.get("chr1").be_write(b"hello\0")
    manager.get("chr2").be_write(b"olleh\0")
    assert bytes(fe.data) == b"hello\0olleh\0"
    assert fe.fe.write(b"heyhey") == 6
    assert manager.ringbuf_read("chr1", 128) == manager.ringbuf_read("chr2", 128) == "heyhey"

    with pytest.raises(ChardevBusy, match="^Chardev 'chr1' is busy$"):
        await manager.remove("chr1")
    with pytest.raises(ChardevBusy, match="^Chardev 'hub0' is busy$"):
        await manager.remove("hub0")
    fe.fe.detach()
    await manager.remove("hub0")
    await manager.remove("chr1")
    await manager.remove("chr2")


async def test_mux_be_creation_errors(manager):
    """QEMU's v5 char_mux_be_test steps 1-4, with tuicon's limit of 32 members."""
    with pytest.raises(InvalidOption, match="^chardev: multiplexers can't be stacked$"):
        await manager.add("mux0", "mux-be,mux-be-id=something")
    with pytest.raises(InvalidOption, match="^chardev: mux-be device can't be found by id 'nope'$"):
        await manager.add("chr0", "ringbuf,mux-be-id=nope")
    await manager.add("ring", "ringbuf")
    with pytest.raises(InvalidOption, match=(
            "^chardev: device 'ring' is not a multiplexer device of 'mux-be' type$")):
        await manager.add("chr0", "null,mux-be-id=ring")

    await manager.add("mux0", "mux-be")
    for i in range(MAX_MEMBERS):
        await manager.add(f"chr{i}", "ringbuf,size=128,mux-be-id=mux0")
    with pytest.raises(ChardevInUse, match=(
            rf"^too many uses of multiplexed chardev 'mux0' \(maximum is {MAX_MEMBERS}\)$")):
        await manager.add(f"chr{MAX_MEMBERS}", "ringbuf,size=128,mux-be-id=mux0")
    assert f"chr{MAX_MEMBERS}" not in manager  # nothing left half-made
    # The mux-be has no frontend, so it can go, and then every member.
    await manager.remove("mux0")
    for i in range(MAX_MEMBERS):
        await manager.remove(f"chr{i}")

    await manager.add("mux0", "mux-be")
    with pytest.raises(InvalidOption, match="^chardev: mux and mux-be can't be used for the same device$"):
        await manager.add("chr1", "ringbuf,mux-be-id=mux0,mux=on")
    await manager.add("chr1", {"type": "ringbuf", "data": {"size": 128, "mux-be-id": "mux0"}})
    Recorder(manager.get("mux0")).install()
    with pytest.raises(ChardevInUse, match="^multiplexed chardev 'mux0' is already used for multiplexing$"):
        CharFrontend(manager.get("mux0"))
    members = manager.info(manager.get("mux0")).extra["members"]
    assert [m["id"] for m in members] == ["chr1"]


@pytest.fixture
def pipe_path(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(f"{path}.in")
    os.mkfifo(f"{path}.out")
    return str(path)


def drain(path: str) -> bytes:
    out = bytearray()
    while chunk := read_fifo(f"{path}.out", 1 << 16):
        out += chunk
    return bytes(out)


async def test_late_member_and_a_full_pipe(manager, pipe_path):
    """QEMU's v5 steps 5-8 and hub step 11: EAGAIN, catch-up, nothing twice."""
    await manager.add("mux0", "mux-be")
    await manager.add("chr1", "ringbuf,size=128,mux-be-id=mux0")
    await manager.add("chr2", "ringbuf,size=128,mux-be-id=mux0")
    fe = Recorder(manager.get("mux0")).install()
    assert fe.fe.write(b"heyhey") == 6
    await manager.add("chr3", f"pipe,path={pipe_path},mux-be-id=mux0")  # joins late
    for ring in ("chr1", "chr2"):
        manager.ringbuf_read(ring, 128)  # empty them, so they show only what follows
    assert fe.fe.write(b"thisis") == 6
    assert manager.ringbuf_read("chr1", 128) == manager.ringbuf_read("chr2", 128) == "thisis"
    assert drain(pipe_path) == b"thisis"  # it never saw "heyhey"

    mux = manager.get("mux0")
    # Nothing is blocked: nothing to wait for.
    await asyncio.wait_for(fe.fe.wait_writable(), 5)
    while fe.fe.write(b"thisisit") == 8:
        pass
    assert fe.fe.write(b"b") == 0  # the blocked member is served first
    writable = asyncio.ensure_future(fe.fe.wait_writable())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not writable.done()  # it waits for the full pipe
    piped = drain(pipe_path)
    await asyncio.wait_for(writable, 5)
    for ring in ("chr1", "chr2"):
        assert len(manager.ringbuf_read(ring, 128)) == 128  # the rings kept accepting
    assert fe.fe.write(b"thisisit") == 8  # the lost write, offered again
    assert fe.fe.write(b"streamisrestored") == 16
    assert manager.ringbuf_read("chr1", 128) == manager.ringbuf_read("chr2", 128) == "streamisrestored"
    assert piped.startswith(b"thisisit") and len(piped) % 8 == 0
    # The pipe gets what it missed, exactly once, in order; the rings are not re-sent it.
    assert drain(pipe_path) == b"thisisitstreamisrestored"
    assert mux.min_written == 6 + 6 + len(piped) + 24


async def test_slow_member_loses_nothing(manager, pipe_path, tmp_path):
    """write_all through a mux-be whose pipe member is slow: every member gets it all, once, in order."""
    await manager.add("mux0", "mux-be")
    await manager.add("fast", f"file,path={tmp_path}/fast,mux-be-id=mux0")
    await manager.add("slow", f"pipe,path={pipe_path},mux-be-id=mux0")
    fe = Recorder(manager.get("mux0")).install()
    received = bytearray()
    reader = os.open(f"{pipe_path}.out", os.O_RDONLY | os.O_NONBLOCK)
    loop = asyncio.get_running_loop()

    def on_readable() -> None:
        received.extend(os.read(reader, 4096))  # small reads: a slow consumer

    loop.add_reader(reader, on_readable)
    try:
        assert await fe.fe.write_all(STREAM) == len(STREAM)
        await wait_until(lambda: len(received) >= len(STREAM), what="slow member drained")
    finally:
        loop.remove_reader(reader)
        os.close(reader)
    assert bytes(received) == STREAM
    assert (tmp_path / "fast").read_bytes() == STREAM


class Writer:
    """Pushes STREAM through a frontend in chunks; the test can step along with it."""

    CHUNK = 4096

    def __init__(self, fe: CharFrontend) -> None:
        self.fe = fe
        self.sent = 0
        self._progress = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        view = memoryview(STREAM)
        while self.sent < len(STREAM):
            chunk = view[self.sent:self.sent + self.CHUNK]
            await self.fe.write_all(chunk)
            self.sent += len(chunk)
            self._progress.set()
            await asyncio.sleep(0)

    async def reach(self, count: int) -> None:
        """Return once at least ``count`` bytes (and one more chunk) went through."""
        while not self.task.done():
            self._progress.clear()
            progress = asyncio.ensure_future(self._progress.wait())
            await asyncio.wait([self.task, progress], return_when=asyncio.FIRST_COMPLETED)
            progress.cancel()
            if self.sent >= count:
                return


async def test_detach_and_attach_under_load(manager, tmp_path):
    await manager.add("mux0", "mux-be")
    await manager.add("keep", f"file,path={tmp_path}/keep,mux-be-id=mux0")
    await manager.add("flap", "ringbuf,size=1024")
    fe = Recorder(manager.get("mux0")).install()
    writer = Writer(fe.fe)
    cycles = 0
    while not writer.task.done() and cycles < 20:
        manager.attach_member("mux0", "flap")
        await writer.reach(writer.sent + 1)
        assert manager.detach_member("flap") == "mux0"
        await writer.reach(writer.sent + 1)
        cycles += 1
    assert not writer.task.done()  # every cycle happened while data flowed
    await writer.task
    assert cycles == 20
    assert (tmp_path / "keep").read_bytes() == STREAM
    await manager.remove("flap")  # free again once detached


async def test_member_hot_swap_under_load(manager, tmp_path):
    await manager.add("mux0", "mux-be")
    await manager.add("keep", f"file,path={tmp_path}/keep,mux-be-id=mux0")
    await manager.add("log", f"file,path={tmp_path}/log.1,mux-be-id=mux0")
    fe = Recorder(manager.get("mux0")).install()
    writer = Writer(fe.fe)
    for n in (2, 3, 4):
        await writer.reach(len(STREAM) * (n - 1) // 4)
        assert not writer.task.done()
        await manager.change("log", f"file,path={tmp_path}/log.{n}")  # rotate the log
    await writer.task
    parts = [(tmp_path / f"log.{n}").read_bytes() for n in (1, 2, 3, 4)]
    assert all(parts), [len(p) for p in parts]
    assert b"".join(parts) == STREAM  # the swapped member went on from where it was
    assert (tmp_path / "keep").read_bytes() == STREAM


async def test_open_and_close_follow_the_members(manager):
    """OPENED with the first open member, CLOSED only with the last (real ptys)."""
    await manager.add("mux0", "mux-be")
    results = [await manager.add(f"p{i}", "pty,mux-be-id=mux0") for i in range(2)]
    fe = Recorder(manager.get("mux0")).install()
    assert fe.events == []
    first = os.open(results[0]["pty"], os.O_RDWR | os.O_NOCTTY)
    await fe.wait_event(E.OPENED)
    second = os.open(results[1]["pty"], os.O_RDWR | os.O_NOCTTY)
    await wait_until(lambda: manager.get("p1").be_open, what="second pty open")
    os.close(first)
    await wait_until(lambda: not manager.get("p0").be_open, what="first pty closed")
    assert fe.events == [E.OPENED]
    # Input from any member reaches the frontend; output reaches the open member.
    os.write(second, b"typed")
    await fe.wait_data(5)
    assert fe.fe.write(b"shown") == 5
    os.close(second)
    await fe.wait_event(E.CLOSED)
    assert fe.events == [E.OPENED, E.CLOSED] and not fe.mismatch


async def test_a_closed_member_is_skipped_not_waited_for(manager, tmp_path):
    await manager.add("mux0", "mux-be")
    await manager.add("nobody", "pty,mux-be-id=mux0")  # nobody opens it: never open
    await manager.add("log", f"file,path={tmp_path}/log,mux-be-id=mux0")
    fe = Recorder(manager.get("mux0")).install()
    assert await asyncio.wait_for(fe.fe.write_all(STREAM), 10) == len(STREAM)
    assert (tmp_path / "log").read_bytes() == STREAM


# -- a stalled member never stalls the console ----------------------------------------

HOLDER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
print("holding", flush=True)
sys.stdin.readline()  # hold the pty open, never reading, until told to read
got = bytearray()
while b"END" not in got:
    got += os.read(fd, 65536)
sys.stdout.buffer.write(bytes(got))
"""


async def test_a_pty_member_that_never_reads_is_cut_loose(manager, tmp_path):
    """Issue 10's stall test: 20 MB through a mux-be whose pty member is held but never read."""
    log_path = tmp_path / "console.log"
    await manager.add("console", "mux-be,stall-ms=300")
    await manager.add("log", f"file,path={log_path},mux-be-id=console")
    result = await manager.add("pty", "pty,mux-be-id=console")
    holder = await asyncio.create_subprocess_exec(
        "python3", "-c", HOLDER, result["pty"], stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    try:
        assert await holder.stdout.readline() == b"holding\n"
        mux_be = manager.get("console")
        await wait_until(lambda: all(m.is_open for m in mux_be.members), what="pty peer seen")
        fe = CharFrontend(mux_be, owner="test")
        total = 20 * 1024 * 1024
        chunk = b"x" * 65536
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(total // len(chunk)):
            await asyncio.wait_for(fe.write_all(chunk), 5)
        elapsed = loop.time() - started
        assert os.path.getsize(log_path) == total
        assert elapsed < 0.3 + 2.0, f"the log took {elapsed:.2f} s past a 0.3 s stall"
        pty_member = mux_be.members[1]
        assert pty_member.cut
        info = manager.info(mux_be).extra["members"][1]
        assert info["stalled"] and info["dropped"] > total - 1024 * 1024  # the pty buffer held the rest

        holder.stdin.write(b"go\n")
        await holder.stdin.drain()
        # The reader takes bytes again: the member rejoins, notice first.
        await wait_until(lambda: not pty_member.cut, what="the pty member rejoining")
        dropped = pty_member.dropped
        assert dropped >= info["dropped"]
        for text in (b"LIVE\r\n", b"END"):
            await asyncio.wait_for(fe.write_all(text), 5)
        got = await asyncio.wait_for(holder.stdout.read(), 10)
        notice = f"[tuicon: {dropped} bytes dropped]".encode()
        assert notice in got, got[-200:]
        assert got.endswith(notice + b"\r\nLIVE\r\nEND")
        assert not pty_member.cut and pty_member.dropped == dropped
        assert manager.info(mux_be).extra["members"][1]["dropped"] == dropped
        assert os.path.getsize(log_path) == total + len(b"LIVE\r\nEND")
        fe.detach()
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()


async def test_stall_ms_zero_waits_for_every_member(manager):
    """QEMU's rule, kept with stall-ms=0: a full member holds everyone back."""
    await manager.add("console", "mux-be,stall-ms=0")
    await manager.add("ring", "ringbuf,size=1024,mux-be-id=console")
    result = await manager.add("pty", "pty,mux-be-id=console")
    peer = os.open(result["pty"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        mux_be = manager.get("console")
        await wait_until(lambda: all(m.is_open for m in mux_be.members), what="pty peer seen")
        fe = CharFrontend(mux_be, owner="test")
        while fe.write(b"y" * 4096):
            pass  # fill the pty until it takes nothing
        stuck = asyncio.ensure_future(fe.write_all(b"z" * 4096))
        # Well past what stall-ms would allow: still waiting, nobody cut loose.
        done, _ = await asyncio.wait([stuck], timeout=0.5)
        assert not done and not mux_be.members[1].cut
        await asyncio.wait_for(_drain_until(peer, stuck), 5)  # the reader drains: all go on
        assert manager.info(mux_be).extra["members"][1]["dropped"] == 0
        fe.detach()
    finally:
        os.close(peer)


async def _drain_until(fd: int, task: asyncio.Future) -> None:
    while not task.done():
        try:
            os.read(fd, 65536)
        except BlockingIOError:
            await asyncio.sleep(0.01)
    await task
