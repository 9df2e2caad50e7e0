"""file, pipe, pty and the common logfile option, with real files, FIFOs and ptys."""

from __future__ import annotations

import os
import stat

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, ChardevNotFound, CharFrontend

from helpers import Recorder, read_fifo, wait_until

E = ChardevEvent


async def test_file_output(manager, tmp_path):
    """QEMU's /char/file: QAPI ``out`` only; what is written is on disk at once."""
    out = tmp_path / "out"
    out.write_bytes(b"old contents")
    await manager.add("f", {"type": "file", "data": {"out": str(out)}})
    fe = CharFrontend(manager.get("f"))
    assert await fe.write_all(b"hello!") == 6
    assert out.read_bytes() == b"hello!"  # truncated, written through
    fe.detach()
    await manager.change("f", f"file,path={out},append=on")
    assert await CharFrontend(manager.get("f")).write_all(b" again") == 6
    assert out.read_bytes() == b"hello! again"


async def test_file_qapi_append_and_input_file(manager, tmp_path):
    out, src = tmp_path / "out", tmp_path / "in"
    out.write_bytes(b"kept ")
    src.write_bytes(b"from the input file")
    await manager.add("f", {"type": "file",
                            "data": {"out": str(out), "in": str(src), "append": True}})
    fe = Recorder(manager.get("f")).install()
    assert await fe.wait_data(19) == b"from the input file"
    assert await fe.fe.write_all(b"added") == 5
    assert out.read_bytes() == b"kept added"  # append: old contents stay
    await fe.wait_event(E.CLOSED)  # end of the input file
    fe.fe.detach()
    await manager.change("f", {"type": "file", "data": {"out": str(out), "append": False}})
    assert await CharFrontend(manager.get("f")).write_all(b"new") == 3
    assert out.read_bytes() == b"new"


async def test_file_with_fifo_input_and_send_break(manager, tmp_path):
    """QEMU's /char/file-fifo."""
    fifo = tmp_path / "in"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDWR)  # the test holds it, as QEMU's does
    try:
        os.write(keep, b"fifo-in\0")
        await manager.add("label-file", {"type": "file",
                                         "data": {"in": str(fifo), "out": str(tmp_path / "out")}})
        fe = Recorder(manager.get("label-file")).install()
        assert fe.last_event is not E.BREAK
        with pytest.raises(ChardevNotFound):
            manager.send_break("label-foo")
        assert fe.last_event is not E.BREAK
        manager.send_break("label-file")
        assert fe.last_event is E.BREAK  # synchronously
        assert await fe.wait_data(8) == b"fifo-in\0"
    finally:
        os.close(keep)


async def test_file_input_from_a_regular_file_ends_with_closed(manager, tmp_path):
    (tmp_path / "in").write_bytes(b"x" * 100_000)
    await manager.add("f", f"file,path={tmp_path}/out,input-path={tmp_path}/in")
    fe = Recorder(manager.get("f"), capacity=1000).install()
    got = bytearray()
    while len(got) < 100_000:
        await fe.wait_data(1)
        got += fe.take()  # flow control: never more than can_read allowed
    assert max(fe.reads) <= 1000
    await fe.wait_event(E.CLOSED)


async def test_file_errors(manager, tmp_path):
    with pytest.raises(ChardevError, match="^chardev: file: no filename given$"):
        await manager.add("f", "file")
    with pytest.raises(ChardevError, match=rf"^Could not open '{tmp_path}/no/such': No such file"):
        await manager.add("f", f"file,path={tmp_path}/no/such")
    assert "f" not in manager


async def test_pipe_pair(manager, tmp_path):
    """QEMU's /char/pipe: output to PATH.out, input from PATH.in, early input kept."""
    base = tmp_path / "pipe"
    os.mkfifo(f"{base}.in")
    os.mkfifo(f"{base}.out")
    await manager.add("p", f"pipe,path={base}")
    fe = Recorder(manager.get("p"))
    assert fe.fe.write(b"pipe-out\0") == 9
    assert read_fifo(f"{base}.out", 100) == b"pipe-out\0"
    writer = os.open(f"{base}.in", os.O_WRONLY | os.O_NONBLOCK)
    os.write(writer, b"pipe-in\0")
    os.close(writer)
    fe.install()  # handlers set after the data arrived: nothing lost
    assert await fe.wait_data(8) == b"pipe-in\0"
    fe.fe.detach()
    await manager.remove("p")
    assert sorted(os.listdir(tmp_path)) == ["pipe.in", "pipe.out"]  # nothing added or removed


async def test_pipe_single_fifo_and_back_pressure(manager, tmp_path):
    path = tmp_path / "both"
    os.mkfifo(path)
    await manager.add("p", {"type": "pipe", "data": {"device": str(path)}})
    fe = Recorder(manager.get("p")).install()
    # One FIFO both ways: what is written comes back as input.
    fe.fe.write(b"loop")
    assert await fe.wait_data(4) == b"loop"
    fe.fe.clear_handlers()
    total = 0
    while (n := fe.fe.write(b"z" * 4096)) > 0:
        total += n
    assert 0 < total <= 1 << 20  # full: write says 0 instead of blocking


async def test_pipe_missing(manager, tmp_path):
    with pytest.raises(ChardevError, match=rf"Could not open '{tmp_path}/nope'"):
        await manager.add("p", f"pipe,path={tmp_path}/nope")
    with pytest.raises(ChardevError, match="^chardev: pipe: no device path given$"):
        await manager.add("p", "pipe")


async def test_pty(manager, tmp_path):
    link = tmp_path / "console"
    result = await manager.add("p", f"pty,path={link}")
    chardev = manager.get("p")
    device = result["pty"]
    assert chardev.filename == f"pty:{device}" and device.startswith("/dev/pts/")
    assert os.readlink(link) == device
    fe = Recorder(chardev).install()
    assert not chardev.be_open and fe.events == []
    assert fe.fe.write(b"nobody") == 6  # dropped while nobody listens, never blocks
    peer = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        await fe.wait_event(E.OPENED)
        assert chardev.be_open
        os.write(peer, b"typed")
        assert await fe.wait_data(5) == b"typed"
        assert fe.fe.write(b"shown") == 5
        seen = bytearray()

        def read_peer() -> bool:
            try:
                seen.extend(os.read(peer, 100))
            except BlockingIOError:
                pass
            return b"shown" in seen

        await wait_until(read_peer, what="pty output")
        assert b"nobody" not in seen
    finally:
        os.close(peer)
    await fe.wait_event(E.CLOSED)
    assert not chardev.be_open and fe.openclose == 2 and not fe.mismatch
    fe.fe.detach()
    await manager.remove("p")
    assert not link.exists()  # the symlink goes with the chardev


async def test_pty_symlink_failure(manager, tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ChardevError, match=rf"^Failed to create PTY symlink '{tmp_path}/taken': File exists"):
        await manager.add("p", f"pty,path={tmp_path}/taken")


async def test_logfile_and_logappend(manager, tmp_path):
    log = tmp_path / "copy.log"
    log.write_bytes(b"before\n")
    await manager.add("r", f"ringbuf,logfile={log},logappend=on")
    fe = CharFrontend(manager.get("r"))
    fe.write(b"guest output\n")
    manager.get("r").flush_log()
    assert log.read_bytes() == b"before\nguest output\n"
    fe.detach()
    await manager.remove("r")
    await manager.add("r", {"type": "null", "data": {"logfile": str(log)}})
    CharFrontend(manager.get("r")).write(b"fresh")
    manager.get("r").flush_log()
    assert log.read_bytes() == b"fresh"  # without logappend the log is truncated
    mode = stat.S_IMODE(os.stat(log).st_mode)
    assert mode & 0o002 == 0


async def test_logfile_that_cannot_be_created(manager, tmp_path):
    with pytest.raises(ChardevError, match=rf"Could not create '{tmp_path}/no/log'"):
        await manager.add("r", f"null,logfile={tmp_path}/no/log")
    assert "r" not in manager


async def test_pty_peer_can_come_back(manager):
    result = await manager.add("p", {"type": "pty", "data": {}})
    chardev = manager.get("p")
    fe = Recorder(chardev).install()
    for round_number in (1, 2):
        peer = os.open(result["pty"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            await fe.wait_event(E.OPENED, count=round_number)
            os.write(peer, b"%d" % round_number)
            await fe.wait_data(round_number)
        finally:
            os.close(peer)
        await fe.wait_event(E.CLOSED, count=round_number)
    assert bytes(fe.data) == b"12" and not fe.mismatch


async def test_file_output_to_a_fifo_never_blocks(manager, tmp_path):
    """A FIFO as file output: opened at once, back-pressure as partial writes, no hang."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    await manager.add("f", f"file,path={fifo}")  # no reader yet: must not block
    fe = CharFrontend(manager.get("f"), owner="test")
    total = 0
    while (written := fe.write(b"z" * 4096)):  # fills the FIFO, then takes nothing
        total += written
    assert 0 < total < 16 << 20
    assert read_fifo(str(fifo), 4096) == b"z" * 4096
    fe.detach()


async def test_output_files_and_logfiles_are_private(manager, tmp_path):
    await manager.add("f", f"file,path={tmp_path / 'out.log'},logfile={tmp_path / 'copy.log'}")
    for name in ("out.log", "copy.log"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600


async def test_a_logfile_cannot_be_a_fifo(manager, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ChardevError, match="a logfile cannot be a FIFO"):
        await manager.add("r", f"ringbuf,logfile={fifo}")


async def test_file_rotation_is_invisible_to_the_frontend(manager, tmp_path):
    """A frontend write loop over many rotations: no CLOSED/OPENED, every file 0600, all bytes."""
    log = tmp_path / "loop.log"
    await manager.add("f", f"file,path={log},rotate-size=4K,keep=1000")
    chardev = manager.get("f")
    fe = Recorder(chardev).install()
    stream = b"".join(b"%06d the console goes on\r\n" % i for i in range(20_000))
    for i in range(0, len(stream), 1000):
        assert await fe.fe.write_all(stream[i:i + 1000]) == len(stream[i:i + 1000])
    assert fe.events == [E.OPENED] and chardev.be_open
    rotated = sorted(tmp_path.glob("loop.log.*"), key=lambda p: -int(p.suffix[1:]))
    assert len(rotated) > 100
    assert b"".join(p.read_bytes() for p in rotated + [log]) == stream
    assert {stat.S_IMODE(p.stat().st_mode) for p in rotated + [log]} == {0o600}
    assert manager.info(chardev).extra == {"path": str(log)} and chardev.error is None
    fe.fe.detach()


async def test_a_file_member_that_cannot_write_never_stalls_the_mux_be(manager, tmp_path):
    await manager.add("console", "mux-be")
    await manager.add("full", "file,path=/dev/full,mux-be-id=console")
    await manager.add("ring", "ringbuf,size=64K,mux-be-id=console")
    fe = CharFrontend(manager.get("console"))
    assert await fe.write_all(b"x" * 50_000) == 50_000
    assert manager.get("ring").contents() == b"x" * 50_000
    full = manager.get("full")
    assert full.error == "file '/dev/full': No space left on device"
    assert full.stats.dropped_out == 50_000
    fe.detach()
