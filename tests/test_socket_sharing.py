"""Sharing a socket server: many real TCP clients on loopback, who may write, slow clients, QMP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket as so

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, InvalidOption
from tuicon.chardev.backends import socket as socket_backend
from tuicon.chardev.telnet import OFFER
from tuicon.monitor import commands
from tuicon.session import Session

from conftest import assert_no_leaks, open_fds
from helpers import Recorder, wait_until
from test_qmp import QmpClient, qmp_session

E = ChardevEvent
READER_LINE = re.compile(rb"\r\n\[tuicon: you are a reader: client (\d+) \([^)]*\) has the write role\]\r\n")


class Peer:
    """A test-side TCP client that keeps everything it has read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen = bytearray()

    async def until(self, wanted: bytes, timeout: float = 5) -> bytes:
        """Read until ``wanted`` has been seen; returns everything seen so far."""
        async with asyncio.timeout(timeout):
            while wanted not in self.seen:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise AssertionError(f"connection ended before {wanted!r}; saw {bytes(self.seen)!r}")
                self.seen += chunk
        return bytes(self.seen)

    async def exactly(self, size: int, timeout: float = 5) -> bytes:
        async with asyncio.timeout(timeout):
            while len(self.seen) < size:
                chunk = await self.reader.read(size - len(self.seen))
                if not chunk:
                    break
                self.seen += chunk
        return bytes(self.seen)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@pytest.fixture
async def connect():
    made: list[Peer] = []

    async def open_(port: int, **kwargs) -> Peer:
        peer = Peer(*await asyncio.open_connection("127.0.0.1", port, **kwargs))
        made.append(peer)
        return peer

    yield open_
    for peer in made:
        await peer.close()


@pytest.fixture
async def session():
    before = open_fds()
    session = Session()
    yield session
    await session.close()
    await assert_no_leaks(before)


def port_of(chardev) -> int:
    return int(chardev.port)


def clients(chardev) -> list[dict]:
    return chardev.describe_extra()["clients"]


async def join(connect, chardev, count: int) -> Peer:
    """Connect one more client and wait until the server has counted it."""
    peer = await connect(port_of(chardev))
    await wait_until(lambda: len(chardev.clients) == count, what=f"{count} clients")
    return peer


# --- several clients, output to all -------------------------------------------------------


async def test_output_reaches_every_client_and_events_follow_the_first_and_last(manager, connect):
    await manager.add("s", "socket,port=0,server=on,wait=off,max-clients=3")
    chardev = manager.get("s")
    fe = Recorder(chardev).install()
    a = await join(connect, chardev, 1)
    b = await join(connect, chardev, 2)
    c = await join(connect, chardev, 3)
    assert fe.events == [E.OPENED]  # one OPENED for the first client
    assert chardev.filename.endswith(" (+2 more)")
    fe.fe.write(b"to everyone")
    for peer in (a, b, c):
        assert await peer.until(b"to everyone") == b"to everyone"
    for peer, text in ((a, b"A"), (b, b"B"), (c, b"C")):  # writers=all: every client writes
        peer.send(text)
        await fe.wait_data(len(fe.data) + 1)
    assert sorted(bytes(fe.data)) == sorted(b"ABC")

    fourth = await connect(port_of(chardev))
    assert await fourth.reader.read() == b"tuicon: chardev 's' is busy (3 clients at most)\r\n"

    rows = clients(chardev)
    assert [r["client"] for r in rows] == [1, 2, 3]
    assert all(r["role"] == "writer" and r["bytes-out"] == 11 and r["bytes-in"] == 1 for r in rows)
    assert rows[0]["address"] == "127.0.0.1:%d" % a.writer.get_extra_info("sockname")[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", rows[0]["since"])

    await a.close()
    await b.close()
    await wait_until(lambda: len(chardev.clients) == 1, what="two left")
    assert fe.events == [E.OPENED] and chardev.be_open
    await c.close()
    await fe.wait_event(E.CLOSED)
    assert fe.events == [E.OPENED, E.CLOSED]
    assert chardev.filename.startswith("disconnected:")


async def test_three_clients_with_one_writer_promotion_and_qmp_hand_over(session, tmp_path, connect):
    qmp_path = await qmp_session(session, tmp_path)
    qmp = await QmpClient.open(qmp_path)
    assert await qmp.cmd("qmp_capabilities") == {"return": {}}
    await session.chardevs.add("s", "socket,port=0,server=on,wait=off,max-clients=3,writers=one")
    chardev = session.chardevs.get("s")
    fe = Recorder(chardev).install()
    one = await join(connect, chardev, 1)
    two = await join(connect, chardev, 2)
    three = await join(connect, chardev, 3)
    # Readers are told so in one line when they connect; the writer is told nothing.
    for peer in (two, three):
        seen = await peer.until(b"write role]\r\n")
        assert READER_LINE.fullmatch(seen) and READER_LINE.fullmatch(seen).group(1) == b"1"
        peer.seen.clear()
    assert [r["role"] for r in clients(chardev)] == ["writer", "reader", "reader"]

    # Only the writer's bytes reach the frontend; a reader is told, once for a burst.
    two.send(b"two-1")
    three.send(b"three")
    two.send(b"two-2")
    one.send(b"one")
    assert await fe.wait_data(3) == b"one"
    await wait_until(lambda: [r["discarded"] for r in clients(chardev)] == [0, 10, 5],
                     what="reader input discarded")
    assert bytes(fe.data) == b"one"
    notice = b"\r\n[tuicon: input discarded: you are a reader; client 1 (%s) writes]\r\n" % (
        clients(chardev)[0]["address"].encode())
    assert await two.until(notice) == notice  # one notice for both of its sends
    fe.fe.write(b"out")
    assert await two.until(b"out") == notice + b"out"
    assert await three.until(b"out") == notice + b"out"

    # The writer leaves: the longest-connected reader writes now, and is told.
    await one.close()
    assert (await two.until(b"writer now]\r\n")).endswith(
        b"[tuicon: client 1 (the writer) left; you are the writer now]\r\n")
    two.send(b"+two")
    three.send(b"+three")
    assert await fe.wait_data(7) == b"one+two"
    await wait_until(lambda: clients(chardev)[1]["discarded"] == 11, what="three discarded")

    # QMP hands the role to client 3 (conserver's force-attach); client 2 is told.
    assert await qmp.cmd("chardev-client-writer", id="s", client=3) == {"return": {}}
    assert (await two.until(b"reader now]\r\n")).endswith(
        b"has taken the write role; you are a reader now]\r\n")
    assert (await three.until(b"writer now]\r\n")).endswith(
        b"[tuicon: you have been given the write role; you are the writer now]\r\n")
    three.send(b"+3")
    two.send(b"+2")
    assert await fe.wait_data(9) == b"one+two+3"
    await wait_until(lambda: clients(chardev)[0]["discarded"] == 12, what="two discarded")
    assert [r["role"] for r in clients(chardev)] == ["reader", "writer"]

    # Hand-over mistakes are one-line errors.
    answer = await qmp.cmd("chardev-client-writer", id="s", client=9)
    assert answer["error"]["desc"] == "Chardev 's' has no client 9 (clients: 2, 3)"
    answer = await qmp.cmd("chardev-client-writer", id="qmp", client=1)
    assert answer["error"]["desc"].startswith("Chardev 'qmp' has writers=all: only writers=one")
    await session.chardevs.add("n", "null")
    answer = await qmp.cmd("chardev-client-writer", id="n", client=1)
    assert answer["error"]["desc"] == "Chardev 'n' is not a socket server (it is a null)"
    answer = await qmp.cmd("chardev-client-writer", id="s")
    assert answer["error"]["desc"] == "Parameter 'client' is missing"
    await qmp.close()


async def test_the_command_table_hands_over_too(session, connect):
    await session.chardevs.add("s", "socket,port=0,server=on,wait=off,max-clients=2,writers=one")
    chardev = session.chardevs.get("s")
    fe = Recorder(chardev).install()
    await join(connect, chardev, 1)
    second = await join(connect, chardev, 2)
    await commands.run(commands.Context(session), "chardev-client-writer", {"id": "s", "client": 2})
    second.send(b"mine")
    assert await fe.wait_data(4) == b"mine"
    with pytest.raises(commands.CommandError, match="has no client 7"):
        await commands.run(commands.Context(session), "chardev-client-writer", {"id": "s", "client": 7})


async def test_a_read_only_port_with_telnet(manager, connect):
    await manager.add("spy", "socket,port=0,server=on,wait=off,max-clients=2,writers=none,telnet=on")
    chardev = manager.get("spy")
    fe = Recorder(chardev).install()
    a = await join(connect, chardev, 1)
    b = await join(connect, chardev, 2)
    for peer in (a, b):  # the offer, and no 'reader' line: nobody writes here
        assert await peer.until(OFFER) == OFFER
        peer.seen.clear()
    a.send(b"\xff\xfd\x01\xff\xfa\x18\x01\xff\xf0")  # negotiation only: not input, no notice
    fe.fe.write(b"log line\xff\r\n")
    assert await a.until(b"\r\n") == b"log line\xff\xff\r\n"
    assert await b.until(b"\r\n") == b"log line\xff\xff\r\n"
    a.seen.clear()
    a.send(b"reboot\r\n")
    a.send(b"\xff\xf3")  # IAC BREAK from a spy: no BREAK either
    await wait_until(lambda: clients(chardev)[0]["discarded"] == 9, what="spy input discarded")
    assert fe.data == b"" and E.BREAK not in fe.events
    notice = b"\r\n[tuicon: input discarded: this port is read-only]\r\n"
    assert await a.until(notice) == notice
    assert [r["role"] for r in clients(chardev)] == ["reader", "reader"]
    fe.fe.write(b"more")
    assert await a.until(b"more") == notice + b"more"  # still one notice for the burst


async def test_the_discard_notice_is_rate_limited_not_silenced(manager, connect):
    await manager.add("spy", "socket,port=0,server=on,wait=off,writers=none")
    chardev = manager.get("spy")
    Recorder(chardev).install()
    peer = await join(connect, chardev, 1)
    notice = b"\r\n[tuicon: input discarded: this port is read-only]\r\n"
    peer.send(b"x")
    await peer.until(notice)
    peer.send(b"y")  # within the interval: discarded, not told again
    await wait_until(lambda: clients(chardev)[0]["discarded"] == 2, what="y discarded")
    # The interval passes (moved back in time rather than waited for).
    chardev.clients[0].noticed_at -= socket_backend.NOTICE_SECONDS
    peer.send(b"z")
    await wait_until(lambda: clients(chardev)[0]["discarded"] == 3, what="z discarded")
    peer.writer.write_eof()  # the server closes on EOF: read everything it sent
    assert bytes(peer.seen) + await asyncio.wait_for(peer.reader.read(), 5) == notice * 2


# --- a slow client --------------------------------------------------------------------------


async def write_in_chunks(fe: Recorder, data: bytes, chunk: int = 1 << 16) -> None:
    """Write as a bridge does: a read's worth at a time (a transport takes any one write whole)."""
    for start in range(0, len(data), chunk):
        await fe.fe.write_all(data[start:start + chunk])


async def test_a_client_that_never_reads_is_cut_loose_and_the_others_get_every_byte(
        manager, connect, monkeypatch):
    monkeypatch.setattr(socket_backend, "HIGH_WATER", 1 << 16)
    await manager.add("s", "socket,port=0,server=on,wait=off,max-clients=3,stall-ms=100")
    chardev = manager.get("s")
    fe = Recorder(chardev).install()
    fast = [await join(connect, chardev, 1), await join(connect, chardev, 2)]
    raw = so.socket()
    raw.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 4096)  # a small window: it fills quickly
    raw.connect(("127.0.0.1", port_of(chardev)))
    await wait_until(lambda: len(chardev.clients) == 3, what="the slow client")
    slow = Peer(*await asyncio.open_connection(sock=raw, limit=1024))
    try:
        stream = os.urandom(6 << 20)
        readers = [asyncio.create_task(peer.exactly(len(stream), timeout=30)) for peer in fast]
        await asyncio.wait_for(write_in_chunks(fe, stream), 30)  # not held by the slow one for long
        for task in readers:
            assert await task == stream
        row = clients(chardev)[2]
        assert row["stalled"] and row["dropped"] > 0
        assert not any(r["stalled"] for r in clients(chardev)[:2])

        # It reads at last: a prefix of the stream, what it missed, then the live stream.
        await slow.until(b" bytes dropped]\r\n", timeout=30)
        fe.fe.write(b"after")
        seen = await slow.until(b"after")
        prefix, count, rest = re.fullmatch(rb"(.*)\r\n\[tuicon: (\d+) bytes dropped\]\r\n(.*)",
                                           seen, re.S).groups()
        assert stream.startswith(prefix) and len(prefix) + int(count) == len(stream)
        assert rest == b"after"
        for peer in fast:
            assert await peer.until(b"after") == stream + b"after"
        assert not clients(chardev)[2]["stalled"] and clients(chardev)[2]["dropped"] == int(count)
    finally:
        await slow.close()


async def test_stall_ms_0_waits_for_the_slowest_and_one_client_is_never_cut(manager, connect, monkeypatch):
    monkeypatch.setattr(socket_backend, "HIGH_WATER", 1 << 14)
    await manager.add("s", "socket,port=0,server=on,wait=off,max-clients=2,stall-ms=0")
    await manager.add("one", "socket,port=0,server=on,wait=off")  # QEMU's: one client, no cutting
    for name in ("s", "one"):
        chardev = manager.get(name)
        fe = Recorder(chardev).install()
        peer = await join(connect, chardev, 1)
        writing = asyncio.create_task(write_in_chunks(fe, b"z" * (8 << 20)))
        await wait_until(lambda: chardev.gate.paused, what="back-pressure")
        assert not writing.done() and not chardev.clients[0].cut
        assert await peer.exactly(8 << 20, timeout=30) == b"z" * (8 << 20)  # nothing lost
        await asyncio.wait_for(writing, 10)


# --- QMP events and query -------------------------------------------------------------------


async def test_client_events_and_query_over_qmp(session, tmp_path, connect):
    qmp = await QmpClient.open(await qmp_session(session, tmp_path))
    await qmp.cmd("qmp_capabilities")
    await session.chardevs.add("s", "socket,port=0,server=on,wait=off,max-clients=2")
    chardev = session.chardevs.get("s")
    Recorder(chardev).install()
    assert (await qmp.event())["event"] == "CHARDEV_ADDED"
    a = await join(connect, chardev, 1)
    b = await join(connect, chardev, 2)
    address = lambda peer: "127.0.0.1:%d" % peer.writer.get_extra_info("sockname")[1]  # noqa: E731
    expected = [
        ("CHARDEV_CLIENT_CONNECTED", {"id": "s", "client": 1, "address": address(a)}),
        ("CHARDEV_OPENED", {"id": "s"}),
        ("CHARDEV_CLIENT_CONNECTED", {"id": "s", "client": 2, "address": address(b)}),
    ]
    got = [await qmp.event() for _ in expected]
    assert [(e["event"], e["data"]) for e in got] == expected
    info = next(c for c in (await qmp.cmd("query-chardev"))["return"] if c["label"] == "s")
    assert info["max-clients"] == 2 and info["writers"] == "all"
    assert [(c["client"], c["address"], c["role"]) for c in info["clients"]] == [
        (1, address(a), "writer"), (2, address(b), "writer")]
    gone = address(a), address(b)
    await a.close()
    await b.close()
    expected = [
        ("CHARDEV_CLIENT_DISCONNECTED", {"id": "s", "client": 1, "address": gone[0]}),
        ("CHARDEV_CLIENT_DISCONNECTED", {"id": "s", "client": 2, "address": gone[1]}),
        ("CHARDEV_CLOSED", {"id": "s"}),
    ]
    got = [await qmp.event() for _ in expected]
    assert [(e["event"], e["data"]) for e in got] == expected
    await qmp.close()


async def test_a_unix_client_is_named_by_its_process(manager, tmp_path):
    path = str(tmp_path / "s.sock")
    await manager.add("s", f"socket,path={path},server=on,wait=off,max-clients=2")
    chardev = manager.get("s")
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        await wait_until(lambda: len(chardev.clients) == 1, what="the client")
        assert clients(chardev)[0]["address"] == f"unix:{path} (pid {os.getpid()})"
    finally:
        writer.close()
        await writer.wait_closed()


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("socket,port=0,server=on,max-clients=0",
     "^Parameter 'max-clients' must be a number from 1 to 1024 \\(got 0\\)$"),
    ("socket,port=0,server=on,max-clients=5000", "^Parameter 'max-clients' must be a number from 1"),
    ("socket,port=0,server=on,writers=foo",
     "^Parameter 'writers' does not accept value 'foo' \\(allowed: all, one, none\\)$"),
    ("socket,port=1,replay=64K", "^'replay' option is only for socket servers \\(server=on\\)$"),
    ("socket,port=1,max-clients=2", "^'max-clients' option is only for socket servers"),
    ("socket,port=1,writers=none", "^'writers' option is only for socket servers"),
    ("socket,port=0,server=on,replay=65M", "^Parameter 'replay' must be at most 64M"),
    ("socket,port=0,server=on,replay=lots", "^Parameter 'replay' expects a size"),
    ("pty,replay=1G", "^Parameter 'replay' must be at most 64M"),
])
async def test_option_errors_name_the_option(manager, text, message):
    with pytest.raises(InvalidOption, match=message) as caught:
        await manager.add("s", text)
    assert "\n" not in str(caught.value)
    assert "s" not in manager


async def test_qapi_takes_the_same_options(manager, connect):
    await manager.add("s", {"type": "socket", "data": {
        "addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "0"}},
        "max-clients": 2, "writers": "one", "replay": 1024, "stall-ms": 50}})
    spec = manager.get("s").spec
    assert (spec.options.max_clients, spec.options.writers, spec.options.replay,
            spec.options.stall_ms) == (2, "one", 1024, 50)
    assert "max-clients=2,writers=one,replay=1024,stall-ms=50" in spec.to_cli()
    with pytest.raises(ChardevError, match="Invalid parameter type for 'writers'"):
        await manager.add("t", {"type": "socket", "data": {
            "addr": {"type": "inet", "data": {"port": "0"}}, "writers": 1}})


def test_socket_help_lists_the_sharing_options():
    from tuicon.chardev.options import help_text
    from tuicon.chardev.registry import backends

    text = help_text("socket", backends.options_class("socket"))
    assert "  max-clients=<number>" in text and "(default: 1)" in text
    assert "  writers=<all|one|none>" in text
    assert "  replay=<size>" in text and "  stall-ms=<number>" in text
