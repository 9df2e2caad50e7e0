"""``udp``: datagrams both ways on 127.0.0.1 and ::1 (QEMU's /char/udp)."""

from __future__ import annotations

import socket

import pytest

from tuicon.chardev import ChardevEvent, InvalidOption

from helpers import Recorder


@pytest.fixture(params=[("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)], ids=["ipv4", "ipv6"])
def peer(request):
    host, family = request.param
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(5)
    yield host, sock
    sock.close()


async def test_udp_both_ways(manager, peer):
    host, sock = peer
    port = sock.getsockname()[1]
    await manager.add("u", f"udp,host={host},port={port}")
    chardev = manager.get("u")
    fe = Recorder(chardev, capacity=10).install()
    assert chardev.be_open and fe.events == [ChardevEvent.OPENED]  # nothing to wait for
    assert await fe.fe.write_all(b"hello") == 5
    data, addr = sock.recvfrom(100)
    assert data == b"hello"
    assert addr[1] == chardev.local_port
    sock.sendto(b"hello", addr)
    assert await fe.wait_data(5) == b"hello"
    assert chardev.filename == f"udp:{host}:{port}@{addr[0]}:{addr[1]}"


async def test_udp_input_waits_for_the_frontend(manager, peer):
    host, sock = peer
    port = sock.getsockname()[1]
    await manager.add("u", {"type": "udp", "data": {
        "remote": {"type": "inet", "data": {"host": host, "port": str(port)}}}})
    fe = Recorder(manager.get("u"), capacity=4).install()
    local = ("::1" if ":" in host else "127.0.0.1", manager.get("u").local_port)
    for word in (b"first", b"second"):
        sock.sendto(word, local)
    got = bytearray()
    while len(got) < 11:
        await fe.wait_data(1)
        got += fe.take()
        assert max(fe.reads) <= 4
    assert bytes(got) == b"firstsecond"


async def test_udp_options(manager):
    with pytest.raises(InvalidOption, match="^chardev: udp: remote port not specified$"):
        await manager.add("u", "udp")
    with pytest.raises(InvalidOption, match="port '99999' is not a number from 0 to 65535"):
        await manager.add("u", "udp,port=99999")


async def test_udp_under_mux_as_member_and_swapped(manager, peer):
    host, sock = peer
    port = sock.getsockname()[1]
    await manager.add("m", f"udp,host={host},port={port},mux=on")
    fe = Recorder(manager.get("m")).install()
    fe.fe.write(b"via mux")
    data, addr = sock.recvfrom(100)
    assert data == b"via mux"
    sock.sendto(b"back", addr)
    assert await fe.wait_data(4) == b"back"
    await manager.add("hub", "mux-be")
    await manager.add("u", f"udp,host={host},port={port},mux-be-id=hub")
    hub = Recorder(manager.get("hub")).install()
    hub.fe.write(b"via hub")
    assert sock.recvfrom(100)[0] == b"via hub"
    await manager.change("u", f"udp,host={host},port={port}")  # a member swapped
    hub.fe.write(b"after swap")
    assert sock.recvfrom(100)[0] == b"after swap"
