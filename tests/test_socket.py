"""``socket``: real TCP (127.0.0.1, ::1) and UNIX sockets, server and client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket as so
import stat

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, Feature, InvalidOption
from tuicon.chardev.telnet import OFFER

from helpers import Recorder, wait_until

E = ChardevEvent


async def read_until(reader: asyncio.StreamReader, wanted: bytes, timeout: float = 5) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while wanted not in seen:
            chunk = await reader.read(65536)
            if not chunk:
                break
            seen += chunk
    return seen


class Client:
    """A test-side connection; closed by the test or the fixture."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):  # the other side may have gone first
            await self.writer.wait_closed()


@pytest.fixture
async def connect():
    made: list[Client] = []

    async def open_(path: str | None = None, host: str = "127.0.0.1", port: int = 0) -> Client:
        if path is not None:
            client = Client(*await asyncio.open_unix_connection(path))
        else:
            client = Client(*await asyncio.open_connection(host, port))
        made.append(client)
        return client

    yield open_
    for client in made:
        await client.close()


def port_of(manager, chardev_id: str) -> int:
    return int(manager.get(chardev_id).port)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_tcp_server_both_ways(manager, connect, host):
    await manager.add("s", f"socket,host={host},port=0,server=on,wait=off")
    chardev = manager.get("s")
    port = port_of(manager, "s")
    shown = f"[{host}]" if ":" in host else host
    assert chardev.filename == f"disconnected:tcp:{shown}:{port},server=on"
    fe = Recorder(chardev).install()
    client = await connect(host=host, port=port)
    await fe.wait_event(E.OPENED)
    peer_port = client.writer.get_extra_info("sockname")[1]
    assert chardev.filename == f"tcp:{shown}:{port},server=on <-> {shown}:{peer_port}"
    client.writer.write(b"from client")
    assert await fe.wait_data(11) == b"from client"
    fe.fe.write(b"from tuicon")
    assert await read_until(client.reader, b"from tuicon") == b"from tuicon"
    await client.close()
    await fe.wait_event(E.CLOSED)
    assert chardev.filename == f"disconnected:tcp:{shown}:{port},server=on"
    client = await connect(host=host, port=port)  # the next client is served
    await fe.wait_event(E.OPENED, 2)
    assert not fe.mismatch


async def test_unix_server_is_private_and_removed(manager, connect, tmp_path):
    path = str(tmp_path / "con.sock")
    await manager.add("s", {"type": "socket", "data": {
        "addr": {"type": "unix", "data": {"path": path}}}})  # QMP: server on, wait off
    chardev = manager.get("s")
    assert chardev.is_server and chardev.features & Feature.FD_PASS
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert chardev.filename == f"disconnected:unix:{path},server=on"
    fe = Recorder(chardev).install()
    client = await connect(path)
    await fe.wait_event(E.OPENED)
    assert chardev.filename == f"unix:{path},server=on"
    fe.fe.detach()
    await manager.remove("s")
    assert not os.path.exists(path)
    assert await client.reader.read() == b""  # the client sees the end


async def test_server_wait_on_holds_creation_until_a_client(manager, connect, tmp_path, caplog):
    path = str(tmp_path / "wait.sock")
    caplog.set_level("INFO")
    adding = asyncio.create_task(manager.add("s", f"socket,path={path},server=on"))
    await wait_until(lambda: os.path.exists(path), what="listening")
    assert not adding.done() and "s" not in manager
    assert f"waiting for connection on: disconnected:unix:{path},server=on" in caplog.text
    await connect(path)
    await asyncio.wait_for(adding, 5)
    assert manager.get("s").be_open


async def test_a_second_client_is_told_and_closed(manager, connect):
    await manager.add("s", "socket,port=0,server=on,wait=off")
    fe = Recorder(manager.get("s")).install()
    first = await connect(port=port_of(manager, "s"))
    await fe.wait_event(E.OPENED)
    second = await connect(port=port_of(manager, "s"))
    assert await second.reader.read() == b"tuicon: chardev 's' is busy (one client at a time)\r\n"
    first.writer.write(b"still")
    assert await fe.wait_data(5) == b"still"


class PeerServer:
    """A listening peer for client-mode tests, restartable on the same port."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.clients: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.arrived = asyncio.Event()

    async def start(self) -> PeerServer:
        async def on_client(reader, writer):
            self.clients.append((reader, writer))
            self.arrived.set()

        self.server = await asyncio.start_server(on_client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for _, writer in self.clients:
            writer.close()
        await self.server.wait_closed()
        self.clients.clear()
        self.arrived.clear()


@pytest.fixture
async def peer():
    server = await PeerServer().start()
    yield server
    if server.server is not None and server.server.is_serving():
        await server.stop()


async def test_client_connects_on_attach(manager, peer):
    await manager.add("c", f"socket,host=127.0.0.1,port={peer.port}")
    chardev = manager.get("c")
    assert chardev.connect_postponed and peer.clients == []
    assert chardev.filename == f"disconnected:tcp:127.0.0.1:{peer.port}"
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    reader, writer = peer.clients[0]
    fe.fe.write(b"hi")
    assert await read_until(reader, b"hi") == b"hi"
    writer.write(b"yo")
    assert await fe.wait_data(2) == b"yo"
    assert chardev.filename.startswith("tcp:127.0.0.1:") and chardev.filename.endswith(f"<-> 127.0.0.1:{peer.port}")


async def test_client_without_reconnect_reports_the_failure(manager, peer):
    port = peer.port
    await peer.stop()
    await manager.add("c", f"socket,port={port}")
    fe = Recorder(manager.get("c"), connect=False).install()
    with pytest.raises(ChardevError, match=f"Failed to connect to 'tcp:127.0.0.1:{port}'"):
        await fe.fe.wait_connected()
    assert fe.fe.write(b"lost") == 4  # not connected: dropped, never blocking
    assert "Failed to connect" in manager.info(manager.get("c")).error


async def test_client_reconnects_after_its_server_restarts(manager, peer):
    await manager.add("c", f"socket,port={peer.port},reconnect-ms=20")
    chardev = manager.get("c")
    assert chardev.features & Feature.RECONNECTABLE
    fe = Recorder(chardev).install()
    for round_ in range(1, 4):
        await fe.wait_event(E.OPENED, round_)
        await asyncio.wait_for(peer.arrived.wait(), 5)
        reader, writer = peer.clients[0]
        fe.fe.write(b"round %d" % round_)
        assert await read_until(reader, b"round %d" % round_)
        await peer.stop()
        await fe.wait_event(E.CLOSED, round_)
        await peer.start()  # same port
    assert not fe.mismatch


async def test_telnet_negotiation_and_escaping(manager, connect):
    await manager.add("t", "socket,port=0,server=on,wait=off,telnet=on")
    fe = Recorder(manager.get("t")).install()
    client = await connect(port=port_of(manager, "t"))
    assert await read_until(client.reader, OFFER) == OFFER
    assert manager.get("t").filename.startswith("telnet:127.0.0.1:")
    client.writer.write(
        b"\xff\xfd\x01"  # IAC DO ECHO: negotiation, dropped
        b"\xff\xfa\x18\x01\xff\xf0"  # IAC SB TERMINAL-TYPE SEND IAC SE: dropped
        b"a\xff\xffb"  # IAC IAC is one 0xFF
        b"\xff\xf1"  # IAC NOP: dropped
        b"c\xff\xf3d"  # IAC BREAK between c and d
    )
    await fe.wait_data(5)
    assert bytes(fe.data) == b"a\xffbcd"
    assert fe.events.count(E.BREAK) == 1
    fe.fe.write(b"x\xffy")
    assert await read_until(client.reader, b"y") == b"x\xff\xffy"


async def test_option_errors(manager, tmp_path):
    with pytest.raises(InvalidOption, match="port '70000' is not a number from 0 to 65535"):
        await manager.add("s", "socket,port=70000,server=on")
    with pytest.raises(InvalidOption, match="no port given"):
        await manager.add("s", "socket,host=localhost")
    with pytest.raises(InvalidOption, match="either path= or host=/port="):
        await manager.add("s", f"socket,path={tmp_path}/x,port=1")
    with pytest.raises(InvalidOption, match="'wait' option is incompatible with socket in client"):
        await manager.add("s", "socket,port=1,wait=on")
    with pytest.raises(InvalidOption, match="'reconnect' option is incompatible with socket in server"):
        await manager.add("s", "socket,port=1,server=on,reconnect=1")
    await manager.add("a", "socket,port=0,server=on,wait=off")
    taken = port_of(manager, "a")
    with pytest.raises(ChardevError, match=f"Failed to listen on 'tcp:127.0.0.1:{taken}'"):
        await manager.add("b", f"socket,port={taken},server=on,wait=off")
    assert "b" not in manager


async def test_socket_under_mux_and_as_a_mux_be_member(manager, connect, tmp_path):
    await manager.add("m", "socket,port=0,server=on,wait=off,mux=on")
    a = Recorder(manager.get("m"), owner="a").install()
    b = Recorder(manager.get("m"), owner="b").install()
    client = await connect(port=int(manager.get("m-base").port))
    client.writer.write(b"to b\x01cto a")
    await a.wait_data(4)
    assert (bytes(a.data), bytes(b.data)) == (b"to a", b"to b")

    await manager.add("hub", "mux-be")
    await manager.add("share", "socket,port=0,server=on,wait=off,mux-be-id=hub")
    await manager.add("log", f"file,path={tmp_path}/log,mux-be-id=hub")
    fe = Recorder(manager.get("hub")).install()
    viewer = await connect(port=int(manager.get("share").port))
    await wait_until(lambda: manager.get("share").be_open, what="share open")
    fe.fe.write(b"to all")
    assert await read_until(viewer.reader, b"to all") == b"to all"
    assert (tmp_path / "log").read_bytes() == b"to all"


async def test_swap_a_socket_under_a_running_bridge(session, tmp_path):
    """A bridge feeds a client socket; the socket is swapped to another server mid-stream."""
    chardevs, devices = session
    one, two = await PeerServer().start(), await PeerServer().start()
    try:
        os.mkfifo(tmp_path / "src.in")
        os.mkfifo(tmp_path / "src.out")
        await chardevs.add("src", f"pipe,path={tmp_path}/src")
        await chardevs.add("dst", f"socket,port={one.port}")
        await devices.add_cli("bridge,id=b,chardev=src,peer=dst")
        await asyncio.wait_for(one.arrived.wait(), 5)
        stream = bytes(range(251)) * 2000
        half = len(stream) // 2
        fd = os.open(tmp_path / "src.in", os.O_WRONLY | os.O_NONBLOCK)
        try:
            from test_hotswap import write_fifo

            await write_fifo(fd, stream[:half])
            await chardevs.change("dst", f"socket,port={two.port}")
            await write_fifo(fd, stream[half:])
            await asyncio.wait_for(two.arrived.wait(), 5)
            first = await asyncio.wait_for(one.clients[0][0].readexactly(half), 10)
            second = await asyncio.wait_for(two.clients[0][0].readexactly(len(stream) - half), 10)
        finally:
            os.close(fd)
        assert first + second == stream
    finally:
        await one.stop()
        await two.stop()


async def test_unix_client(manager, tmp_path):
    path = str(tmp_path / "vm.sock")
    arrived: asyncio.Queue = asyncio.Queue()

    async def on_client(reader, writer):
        await arrived.put((reader, writer))

    server = await asyncio.start_unix_server(on_client, path)
    try:
        await manager.add("c", f"socket,path={path}")
        assert manager.get("c").filename == f"disconnected:unix:{path}"
        fe = Recorder(manager.get("c")).install()
        reader, writer = await asyncio.wait_for(arrived.get(), 5)
        await fe.wait_event(E.OPENED)
        assert manager.get("c").filename == f"unix:{path}"
        writer.write(b"console")
        assert await fe.wait_data(7) == b"console"
        fe.fe.write(b"keys")
        assert await read_until(reader, b"keys") == b"keys"
        writer.close()
        await fe.wait_event(E.CLOSED)
    finally:
        server.close()
        await server.wait_closed()


async def test_qmp_defaults_to_a_server_that_does_not_wait(manager, connect):
    # Over QMP server defaults to true and wait to false: add returns at once.
    await asyncio.wait_for(manager.add("q", {"type": "socket", "data": {
        "addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": "0"}}}}), 5)
    chardev = manager.get("q")
    assert chardev.is_server and not chardev.be_open
    assert not chardev.postponed_connect
    fe = Recorder(chardev).install()
    await connect(port=port_of(manager, "q"))
    await fe.wait_event(E.OPENED)


async def test_flow_control_both_ways(manager, connect):
    await manager.add("s", "socket,port=0,server=on,wait=off")
    fe = Recorder(manager.get("s"), capacity=1000).install()
    client = await connect(port=port_of(manager, "s"))
    await fe.wait_event(E.OPENED)
    # Input: a frontend that takes 1000 bytes at a time still gets every byte, in order.
    sent = bytes(range(256)) * 40
    client.writer.write(sent)
    received = b""
    async with asyncio.timeout(5):
        while len(received) < len(sent):
            await fe.wait_data(min(1000, len(sent) - len(received)))
            assert max(fe.reads) <= 1000
            received += fe.take()
    assert received == sent
    # Output: past the high-water mark, while the peer does not read, a plain
    # write takes nothing and write_all waits until the queue drains.
    big = os.urandom(8 << 20)
    assert await asyncio.wait_for(fe.fe.write_all(big), 5) == len(big)
    await wait_until(lambda: manager.get("s").gate.paused, what="back-pressure")
    assert fe.fe.write(b"more") == 0
    writing = asyncio.create_task(fe.fe.write_all(b"tail"))
    await asyncio.sleep(0)
    assert not writing.done()
    got = await client.reader.readexactly(len(big) + 4)
    assert got == big + b"tail"
    assert await asyncio.wait_for(writing, 5) == 4


async def test_address_family_flags_and_nodelay(manager, connect):
    await manager.add("six", "socket,port=0,server=on,wait=off,ipv6=on,nodelay=on")
    six = manager.get("six")
    assert six.filename == f"disconnected:tcp:[::1]:{six.port},server=on"  # default host ::1
    fe = Recorder(six).install()
    await connect(host="::1", port=int(six.port))
    await fe.wait_event(E.OPENED)
    sock = six.conn.transport.get_extra_info("socket")
    assert sock.family == so.AF_INET6
    assert sock.getsockopt(so.IPPROTO_TCP, so.TCP_NODELAY)  # on the accepted connection too
    # ipv4=on makes a client resolve "localhost" to IPv4 only.
    await manager.add("srv", "socket,port=0,server=on,wait=off")
    await manager.add("four", f"socket,host=localhost,port={port_of(manager, 'srv')},ipv4=on")
    client = Recorder(manager.get("four")).install()
    await client.wait_event(E.OPENED)
    assert manager.get("four").conn.transport.get_extra_info("socket").family == so.AF_INET


# -- output with nobody there, and what is held -----------------------------------------


async def test_a_key_typed_while_the_peer_is_down_never_reaches_its_next_connection(manager, peer):
    """A VM that is down must not get, in its next boot, what was typed meanwhile."""
    await manager.add("vm", f"socket,port={peer.port},reconnect-ms=20")
    chardev = manager.get("vm")
    fe = Recorder(chardev).install()
    await fe.wait_event(E.OPENED)
    await asyncio.wait_for(peer.arrived.wait(), 5)
    await peer.stop()  # the VM goes down
    await fe.wait_event(E.CLOSED)
    assert fe.fe.write(b"reboot\r") == 7  # accepted at once, never held
    assert manager.info(chardev).dropped == 7
    await peer.start()  # the VM is back, same port
    await fe.wait_event(E.OPENED, 2)
    await asyncio.wait_for(peer.arrived.wait(), 5)
    reader, _ = peer.clients[0]
    fe.fe.write(b"after")
    assert await read_until(reader, b"after") == b"after"  # and nothing before it
    assert manager.query()[0].to_qmp()["dropped"] == 7


async def test_writes_wait_only_for_the_first_connect_attempt(manager, peer, monkeypatch):
    """Just added: the first attempt may hold writes (so nothing is lost), briefly."""
    from tuicon.chardev.backends import socket as socket_backend

    await manager.add("c", f"socket,port={peer.port}")
    fe = Recorder(manager.get("c")).install()  # attach: the connect starts now
    await asyncio.wait_for(fe.fe.write_all(b"early"), 5)  # held, then sent
    await asyncio.wait_for(peer.arrived.wait(), 5)
    assert await read_until(peer.clients[0][0], b"early") == b"early"
    assert manager.info(manager.get("c")).dropped == 0

    # A first attempt that never completes holds writes for HOLD_SECONDS only.
    monkeypatch.setattr(socket_backend, "HOLD_SECONDS", 0.2)
    jammed = so.socket()
    jammed.bind(("127.0.0.1", 0))
    jammed.listen(0)  # never accepted: once its queue is full, connects hang
    fillers = []
    try:
        for _ in range(8):
            filler = so.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(jammed.getsockname())
            fillers.append(filler)
        await manager.add("j", f"socket,port={jammed.getsockname()[1]}")
        slow = Recorder(manager.get("j")).install()
        await asyncio.wait_for(slow.fe.write_all(b"x" * 10), 5)  # returns: dropped after the hold
        assert manager.info(manager.get("j")).dropped == 10
    finally:
        for filler in fillers:
            filler.close()
        jammed.close()


async def test_a_swap_to_a_client_that_cannot_connect_keeps_the_old_backend(manager, peer):
    port = peer.port
    await peer.stop()
    await manager.add("c", "ringbuf,size=1024")
    fe = Recorder(manager.get("c"), be_change=lambda: True).install()
    old = manager.get("c")
    with pytest.raises(ChardevError, match=f"Failed to connect to 'tcp:127.0.0.1:{port}'"):
        await manager.change("c", f"socket,port={port}")
    assert manager.get("c") is old and fe.fe.chardev is old
    assert fe.fe.write(b"still here") == 10 and old.contents() == b"still here"


async def test_a_client_whose_connect_task_breaks_says_so_and_holds_nothing(manager, peer, monkeypatch):
    # The one mock here: an event loop failing in a way no real peer can make it.
    async def broken(*args, **kwargs):
        raise RuntimeError("resolver exploded")

    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", broken)
    await manager.add("c", f"socket,port={peer.port},reconnect-ms=20")
    fe = Recorder(manager.get("c")).install()
    await wait_until(lambda: manager.get("c").last_error is not None, what="the error")
    assert "resolver exploded" in manager.info(manager.get("c")).error
    assert await asyncio.wait_for(fe.fe.write_all(b"abc"), 5) == 3  # not held


async def test_a_client_that_left_while_paused_does_not_block_the_next(manager, connect):
    await manager.add("s", "socket,port=0,server=on,wait=off")
    fe = Recorder(manager.get("s"), capacity=0).install()  # takes nothing: reading pauses
    first = await connect(port=port_of(manager, "s"))
    await fe.wait_event(E.OPENED)
    first.writer.write(b"x" * 200_000)
    await first.writer.drain()
    await first.close()  # its EOF sits unread behind the paused input
    second = await connect(port=port_of(manager, "s"))
    await fe.wait_event(E.OPENED, 2)
    fe.capacity = 1 << 20
    fe.fe.accept_input()
    second.writer.write(b"hello")
    await wait_until(lambda: fe.data.endswith(b"hello"), what="the second client's input")
    assert fe.events.count(E.CLOSED) == 1 and not fe.mismatch


async def test_a_swap_to_the_same_unix_path_keeps_the_socket_file(manager, connect, tmp_path):
    path = tmp_path / "console.sock"
    await manager.add("s", f"socket,path={path},server=on,wait=off")
    Recorder(manager.get("s"), be_change=lambda: True).install()
    await manager.change("s", f"socket,path={path},server=on,wait=off")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    client = await connect(path=str(path))
    client.writer.write(b"hi")
    await wait_until(lambda: manager.get("s").be_open, what="the new listener's client")


async def test_a_failing_logfile_write_shows_as_the_error(manager):
    await manager.add("r", "ringbuf,size=1024,logfile=/dev/full")
    fe = Recorder(manager.get("r")).install()
    fe.fe.write(b"to the log")
    assert manager.info(manager.get("r")).error == "logfile '/dev/full': No space left on device"
    assert manager.get("r").contents() == b"to the log"  # the chardev itself goes on
