"""History on attach (``replay=SIZE``): real TCP clients and a real pty peer, byte-exact seams."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuicon.chardev import ChardevEvent, Change
from tuicon.chardev.replay import ReplayRing

from helpers import Recorder, wait_until

E = ChardevEvent


class Peer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen = bytearray()

    async def exactly(self, size: int, timeout: float = 5) -> bytes:
        async with asyncio.timeout(timeout):
            while len(self.seen) < size:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                self.seen += chunk
        return bytes(self.seen)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@pytest.fixture
async def connect():
    made: list[Peer] = []

    async def open_(port: int) -> Peer:
        made.append(Peer(*await asyncio.open_connection("127.0.0.1", port)))
        return made[-1]

    yield open_
    for peer in made:
        await peer.close()


@settings(max_examples=200, derandomize=True, deadline=None)
@given(size=st.integers(1, 64), writes=st.lists(st.binary(max_size=100), max_size=20))
def test_the_ring_keeps_exactly_the_newest_bytes(size, writes):
    ring = ReplayRing(size)
    for data in writes:
        ring.record(memoryview(data))
    everything = b"".join(writes)
    assert ring.contents() == everything[-size:] and len(ring) == len(ring.contents())


async def test_a_client_gets_what_was_written_while_nobody_was_connected(manager, connect):
    await manager.add("s", "socket,port=0,server=on,wait=off,max-clients=2,replay=64")
    chardev = manager.get("s")
    greeting = b"<hello>"

    def on_event(event: ChardevEvent) -> None:
        # Written at the very moment the first client is there: the seam itself.
        if event is E.OPENED:
            fe.fe.write(greeting)

    fe = Recorder(chardev)
    fe.fe.set_handlers(can_read=fe.can_read, read=fe.read, event=on_event)
    before = bytes(range(100))
    assert fe.fe.write(before) == 100  # nobody is connected: dropped, but kept for replay
    assert manager.info(chardev).dropped == 100
    first = await connect(int(chardev.port))
    assert await first.exactly(64 + len(greeting)) == before[-64:] + greeting

    fe.fe.write(b"live")
    second = await connect(int(chardev.port))
    await wait_until(lambda: len(chardev.clients) == 2, what="the second client")
    history = (before + greeting + b"live")[-64:]
    assert await second.exactly(64) == history
    fe.fe.write(b"!")
    assert await first.exactly(64 + len(greeting) + 5) == before[-64:] + greeting + b"live!"
    assert await second.exactly(65) == history + b"!"
    assert chardev.describe_extra()["replay"] == {"size": 64, "kept": 64}


async def test_clients_joining_a_running_stream_see_a_seamless_suffix(manager, connect):
    """Under a continuous write, each client gets the SIZE bytes before it joined, then the rest."""
    size = 4096
    await manager.add("s", f"socket,port=0,server=on,wait=off,max-clients=8,replay={size}")
    chardev = manager.get("s")
    fe = Recorder(chardev).install()
    joined_at: dict[int, int] = {}

    def on_change(changed, change: Change) -> None:
        if change is Change.CLIENT_CONNECTED:  # told synchronously, as the client is taken
            joined_at[changed.client_event["client"]] = changed.stats.bytes_out

    chardev.watch(on_change)
    stream = os.urandom(1 << 20)
    peers: list[Peer] = []

    async def writer() -> None:
        for start in range(0, len(stream), 1000):
            await fe.fe.write_all(stream[start:start + 1000])
            await asyncio.sleep(0)

    writing = asyncio.create_task(writer())
    for count in range(1, 7):
        await wait_until(lambda: chardev.stats.bytes_out >= count * len(stream) // 8,
                         what="the stream to move on")
        peers.append(await connect(int(chardev.port)))
        await wait_until(lambda: len(chardev.clients) == count, what=f"client {count}")
    await asyncio.wait_for(writing, 30)
    for number, peer in enumerate(peers, 1):
        start = max(0, joined_at[number] - size)
        expected = stream[start:]
        assert 0 < joined_at[number] < len(stream)
        assert await peer.exactly(len(expected), timeout=20) == expected, number


async def test_a_mux_be_member_keeps_history_while_closed_without_duplicates(manager, connect,
                                                                          monkeypatch):
    """The lab case: the console is a mux-be; a slow member makes its writes partial."""
    from tuicon.chardev.backends import socket as socket_backend

    monkeypatch.setattr(socket_backend, "HIGH_WATER", 1 << 14)
    size = 64 << 10
    await manager.add("console", "mux-be,stall-ms=0")
    # ops first: it takes each write whole while slow, after it, takes part (ops is then ahead).
    await manager.add("ops", f"socket,port=0,server=on,wait=off,replay={size},mux-be-id=console")
    await manager.add("slow", "socket,port=0,server=on,wait=off,mux-be-id=console")
    fe = Recorder(manager.get("console")).install()
    slow = await connect(int(manager.get("slow").port))
    await fe.wait_event(E.OPENED)
    ops = manager.get("ops")
    joined_at: list[int] = []
    ops.watch(lambda chardev, change: change is Change.CLIENT_CONNECTED
              and joined_at.append(chardev.stats.bytes_out))
    stream = os.urandom(4 << 20)

    async def writer() -> None:
        for start in range(0, len(stream), 1 << 16):
            await fe.fe.write_all(stream[start:start + (1 << 16)])

    writing = asyncio.create_task(writer())
    await wait_until(lambda: manager.get("console").stats.bytes_out > 1 << 20, what="some output")
    late = await connect(int(ops.port))  # joins mid-stream, while the slow member lags
    reading = asyncio.create_task(slow.exactly(len(stream), timeout=30))
    assert await reading == stream
    await asyncio.wait_for(writing, 30)
    start = joined_at[0] - size
    assert start > 0
    assert await late.exactly(len(stream) - start, timeout=30) == stream[start:]


async def test_telnet_replay_is_escaped(manager, connect):
    from tuicon.chardev.telnet import OFFER

    await manager.add("t", "socket,port=0,server=on,wait=off,telnet=on,replay=1K")
    chardev = manager.get("t")
    fe = Recorder(chardev).install()
    fe.fe.write(b"a\xffb")
    peer = await connect(int(chardev.port))
    assert await peer.exactly(len(OFFER) + 4) == OFFER + b"a\xff\xffb"


# --- pty -------------------------------------------------------------------------------------


def read_available(fd: int, into: bytearray) -> None:
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            into += chunk


async def read_pty(fd: int, size: int, timeout: float = 10) -> bytes:
    seen = bytearray()
    await wait_until(lambda: read_available(fd, seen) or len(seen) >= size, timeout,
                     f"{size} bytes from the pty")
    return bytes(seen)


async def test_a_pty_peer_gets_the_history_when_it_opens(manager):
    size = 16 << 10
    await manager.add("p", f"pty,replay={size // 1024}K")
    chardev = manager.get("p")
    fe = Recorder(chardev).install()
    before = os.urandom(20 << 10)  # more than kept, and more than a pty holds at once
    for start in range(0, len(before), 4096):
        assert fe.fe.write(before[start:start + 4096]) == 4096  # no peer: dropped, kept
    peer = os.open(chardev.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        await fe.wait_event(E.OPENED)
        assert fe.fe.write(b"live") == 0  # the pty is full of history: live output waits
        live = asyncio.create_task(fe.fe.write_all(b"live"))
        assert await read_pty(peer, size + 4) == before[-size:] + b"live"
        await asyncio.wait_for(live, 5)
    finally:
        os.close(peer)
    await fe.wait_event(E.CLOSED)

    fe.fe.write(b"while closed")
    peer = os.open(chardev.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        await fe.wait_event(E.OPENED, 2)
        expected = (before + b"live" + b"while closed")[-size:]
        assert await read_pty(peer, size) == expected
        fe.fe.write(b"!")
        assert await read_pty(peer, 1) == b"!"
    finally:
        os.close(peer)
    assert chardev.describe_extra()["replay"] == {"size": size, "kept": size}


async def test_a_pty_without_replay_still_drops_what_nobody_reads(manager):
    await manager.add("p", "pty")
    chardev = manager.get("p")
    fe = Recorder(chardev).install()
    fe.fe.write(b"lost")
    peer = os.open(chardev.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        await fe.wait_event(E.OPENED)
        fe.fe.write(b"seen")
        assert await read_pty(peer, 4) == b"seen"
        assert "replay" not in chardev.describe_extra()
    finally:
        os.close(peer)
