"""``mux=on``: focus, events, the 32-byte buffer, C-a escapes (QEMU's /char/mux and more)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re

import pytest

from tuicon.chardev import ChardevBusy, ChardevEvent, ChardevInUse

from helpers import Recorder, wait_until

E = ChardevEvent


async def test_focus_routing_and_events(manager):
    """QEMU's char_mux_test, step by step, on a ringbuf base."""
    await manager.add("mux-label", "ringbuf,size=4096,mux=on")
    mux, base = manager.get("mux-label"), manager.get("mux-label-base")
    assert base.type_name == "ringbuf" and mux.type_name == "mux"

    h1 = Recorder(mux, capacity=128, owner="h1").install()
    assert h1.events == [E.MUX_IN, E.OPENED]
    h2 = Recorder(mux, capacity=128, owner="h2").install()
    # The frontend that last set handlers has the focus.
    assert h1.events[-1] is E.MUX_OUT
    assert h2.events == [E.MUX_IN, E.OPENED]
    assert mux.focused_owner() == "h2"

    base.be_write(b"hello")
    assert bytes(h2.data) == b"hello" and h1.data == b""

    base.be_write(b"\x01c")  # C-a c: the focus moves on, wrapping round
    assert mux.focused_owner() == "h1"
    assert h2.events[-1] is E.MUX_OUT and h1.events[-1] is E.MUX_IN
    base.be_write(b"to h1")
    assert bytes(h1.data) == b"to h1" and bytes(h2.data) == b"hello"

    # Output from any frontend reaches the base, in order.
    h1.fe.write(b"one ")
    h2.fe.write(b"two")
    assert manager.ringbuf_read("mux-label-base", 100) == "one two"

    # Events from the base go to every frontend; events on the mux to the focused one.
    base.be_event(E.BREAK)
    assert h1.events[-1] is E.BREAK and h2.events[-1] is E.BREAK
    base.be_write(b"\x01b")  # C-a b: BREAK to the focused frontend only
    assert h1.events.count(E.BREAK) == 2 and h2.events.count(E.BREAK) == 1

    base.be_write(b"\x01\x01")  # C-a C-a sends one C-a
    assert bytes(h1.data).endswith(b"\x01") and h1.data.count(b"\x01") == 1
    base.be_write(b"\x01h")  # help goes to the base
    assert "C-a c    switch to the next frontend" in manager.ringbuf_read("mux-label-base", 4096)

    info = {i.label: i for i in manager.query()}
    assert info["mux-label"].frontends == ["h1", "h2"]
    assert info["mux-label"].extra["focus"] == "h1"
    assert info["mux-label-base"].frontends == ["mux 'mux-label'"]

    with pytest.raises(ChardevBusy, match="Chardev 'mux-label' is busy"):
        await manager.remove("mux-label")
    with pytest.raises(ChardevBusy, match="Chardev 'mux-label-base' is busy"):
        await manager.remove("mux-label-base")
    h1.fe.detach()
    h2.fe.detach()
    await manager.remove("mux-label")
    await manager.remove("mux-label-base")
    assert len(manager) == 0


async def test_at_most_four_frontends(manager):
    await manager.add("m", "null,mux=on")
    handles = [Recorder(manager.get("m"), owner=f"fe{i}") for i in range(4)]
    assert [h.fe.tag for h in handles] == [0, 1, 2, 3]
    with pytest.raises(ChardevInUse, match=r"too many uses of multiplexed chardev 'm' \(maximum is 4\)"):
        Recorder(manager.get("m"))
    handles[1].fe.detach()
    assert Recorder(manager.get("m")).fe.tag == 1  # the freed slot is reused


@pytest.fixture
def fifo_pair(tmp_path):
    path = tmp_path / "base"
    os.mkfifo(f"{path}.in")
    os.mkfifo(f"{path}.out")
    writer = os.open(f"{path}.in", os.O_RDWR)
    yield str(path), writer
    os.close(writer)


async def test_a_full_frontend_gets_32_buffered_bytes_and_the_rest_waits(manager, fifo_pair):
    """Real pipe input: nothing is lost while the focused frontend cannot read."""
    path, writer = fifo_pair
    await manager.add("m", f"pipe,path={path},mux=on")
    slow = Recorder(manager.get("m"), capacity=10).install()
    payload = bytes(range(32, 127)) * 3  # 285 bytes
    os.write(writer, payload)
    await slow.wait_data(10)
    mux = manager.get("m")
    await wait_until(lambda: len(mux.buffers[slow.fe.tag]) == 32, what="32 bytes buffered")
    assert len(slow.data) == 10
    got = bytearray()
    while len(got) < len(payload):
        await slow.wait_data(1)
        got += slow.take()  # frees room and calls accept_input
    assert bytes(got) == payload


async def test_timestamps_toggle(manager):
    await manager.add("m", "ringbuf,size=4096,mux=on")
    fe = Recorder(manager.get("m")).install()
    base = manager.get("m-base")
    base.be_write(b"\x01t")
    assert manager.get("m").timestamps
    fe.fe.write(b"first\nsecond\nthird")
    text = manager.ringbuf_read("m-base", 4096)
    # Stamps start with the next line, counted from the first stamp.
    assert re.fullmatch(r"first\n\[00:00:00\.000\] second\n\[\d\d:\d\d:\d\d\.\d{3}\] third", text), text
    base.be_write(b"\x01t")
    fe.fe.write(b"\nplain\n")
    assert manager.ringbuf_read("m-base", 4096) == "\nplain\n"


async def test_sync_logs(manager, tmp_path):
    log = tmp_path / "m.log"
    await manager.add("m", f"ringbuf,size=4096,mux=on,logfile={log}")
    fe = Recorder(manager.get("m")).install()
    fe.fe.write(b"logged")
    manager.get("m-base").be_write(b"\x01s")
    assert "tuicon: logs synced" in manager.ringbuf_read("m-base", 4096)
    assert log.read_bytes().startswith(b"logged")


async def test_c_a_x_never_quits_from_a_backend_without_a_droppable_peer(manager):
    quits: list[str] = []
    manager.quit_requested = quits.append
    await manager.add("m", "ringbuf,size=4096,mux=on")
    Recorder(manager.get("m")).install()
    manager.get("m-base").be_write(b"\x01x")
    assert quits == []
    assert ("tuicon: C-a x: a ringbuf peer cannot be disconnected by tuicon; close the program"
            " on the other side") in manager.ringbuf_read("m-base", 4096)


async def test_c_a_x_from_a_pty_peer_says_what_it_does(manager):
    quits: list[str] = []
    manager.quit_requested = quits.append
    result = await manager.add("m", "pty,mux=on")
    fe = Recorder(manager.get("m")).install()
    peer = os.open(result["pty"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        await wait_until(lambda: manager.get("m-base").be_open, what="the pty peer")
        os.write(peer, b"\x01x")
        seen = bytearray()

        def readable() -> bool:
            with contextlib.suppress(BlockingIOError):
                seen.extend(os.read(peer, 4096))
            return b"close the program on the other side" in seen

        await wait_until(readable, what="the C-a x notice")
        assert b"a pty peer cannot be disconnected" in seen
        assert quits == [] and manager.get("m-base").be_open  # still there, nothing quit
        assert fe.data == b""
    finally:
        os.close(peer)


async def test_c_a_x_drops_a_socket_client(manager):
    quits: list[str] = []
    manager.quit_requested = quits.append
    await manager.add("m", "socket,port=0,server=on,wait=off,mux=on")
    Recorder(manager.get("m")).install()
    reader, writer = await asyncio.open_connection("127.0.0.1", int(manager.get("m-base").port))
    await wait_until(lambda: manager.get("m-base").be_open, what="the client")
    writer.write(b"\x01x")
    got = await asyncio.wait_for(reader.read(), 5)  # until the server closes it
    assert b"tuicon: disconnecting" in got and quits == []
    writer.close()
    await wait_until(lambda: not manager.get("m-base").be_open, what="the client dropped")


async def test_c_a_x_on_the_local_vc_quits(manager):
    quits: list[str] = []
    manager.quit_requested = quits.append
    await manager.add("con", "vc,mux=on")
    Recorder(manager.get("con")).install()
    vc = manager.get("con-base")
    vc.send_input(b"\x01x")  # typed at tuicon's own keyboard
    assert quits == ["C-a x on 'con'"]
    await vc.idle()
    assert any("tuicon: Terminated" in line for line in vc.lines())


async def test_base_hot_swap_keeps_the_frontends(manager):
    await manager.add("m", "ringbuf,size=1024,mux=on")
    h1 = Recorder(manager.get("m"), owner="h1").install()
    h2 = Recorder(manager.get("m"), owner="h2").install()
    h1.fe.write(b"old")
    await manager.change("m-base", "ringbuf,size=2048")
    assert manager.get("m-base").options.size == 2048
    h1.fe.write(b"new1 ")
    h2.fe.write(b"new2")
    assert manager.ringbuf_read("m-base", 100) == "new1 new2"
    manager.get("m-base").be_write(b"in")
    assert bytes(h2.data) == b"in"  # focus survived the swap
    assert manager.get("m").frontends() == [h1.fe, h2.fe]
