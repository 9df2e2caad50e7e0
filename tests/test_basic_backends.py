"""null, invalid types, ringbuf/memory and option parsing (QEMU's /char/null, /char/invalid, /char/ringbuf)."""

from __future__ import annotations

import pytest

from tuicon.chardev import (
    ChardevExists,
    ChardevInUse,
    ChardevNotFound,
    CharFrontend,
    Feature,
    InvalidOption,
    UnknownBackend,
)


async def test_null(manager):
    assert manager.find("label-null") is None
    await manager.add("label-null", "null")
    chardev = manager.get("label-null")
    assert chardev.features == Feature.NONE
    fe = CharFrontend(chardev)
    with pytest.raises(ChardevInUse, match="chardev 'label-null' is already in use"):
        CharFrontend(chardev)
    fe.detach()
    fe.attach(chardev)
    fe.set_open(True)
    fe.set_handlers()
    assert fe.write(b"buf\0") == 4
    assert not chardev.be_open
    fe.detach()
    await manager.remove("label-null")
    assert manager.find("label-null") is None


async def test_invalid_type(manager):
    with pytest.raises(UnknownBackend, match="'invalid' is not a valid char driver name"):
        await manager.add("x", "invalid")
    assert "x" not in manager


async def test_ringbuf(manager):
    with pytest.raises(InvalidOption, match="size of ringbuf chardev must be power of two"):
        await manager.add("r", "backend=ringbuf,size=5")
    with pytest.raises(InvalidOption, match="must be power of two"):
        await manager.add("r", "ringbuf,size=0")
    await manager.add("r", "ringbuf,size=2")
    fe = CharFrontend(manager.get("r"))
    assert fe.write(b"buff") == 4
    assert manager.ringbuf_read("r", 4) == "ff"
    assert manager.ringbuf_read("r", 4) == ""
    fe.detach()
    await manager.remove("r")
    await manager.add("m", "backend=memory,size=2")
    assert manager.get("m").filename == "memory"


async def test_ringbuf_write_read_formats(manager):
    await manager.add("r", {"type": "ringbuf", "data": {"size": 8}})
    manager.ringbuf_write("r", "abcdefghij")  # 10 bytes into 8: oldest dropped
    assert manager.ringbuf_read("r", 3) == "cde"
    manager.ringbuf_write("r", "AAEC/w==", format="base64")
    # "fghij" + 4 bytes is 9 > 8: the oldest byte ("f") goes
    assert manager.ringbuf_read("r", 100, format="base64") == "Z2hpagABAv8="
    with pytest.raises(InvalidOption, match="size must be greater than zero"):
        manager.ringbuf_read("r", 0)
    with pytest.raises(InvalidOption, match="format"):
        manager.ringbuf_read("r", 1, format="hex")
    with pytest.raises(InvalidOption, match="base64"):
        manager.ringbuf_write("r", "!!!", format="base64")
    await manager.add("n", "null")
    with pytest.raises(Exception, match="n is not a ringbuf device"):
        manager.ringbuf_read("n", 1)
    with pytest.raises(ChardevNotFound, match="Chardev 'nope' not found"):
        manager.ringbuf_read("nope", 1)


async def test_ringbuf_size_suffix(manager):
    await manager.add(None, "ringbuf,id=r,size=64K")
    assert manager.get("r").size == 65536


async def test_cli_and_qapi_give_the_same_spec(manager):
    cli = manager.parse(None, "file,id=f,path=/tmp/out,,x,input-path=/tmp/in,append=on,logfile=/tmp/l")
    qapi = manager.parse(
        "f",
        {"type": "file", "data": {"out": "/tmp/out,x", "in": "/tmp/in", "append": True,
                                  "logfile": "/tmp/l"}},
    )
    assert cli == qapi
    assert manager.parse(None, cli.to_cli()) == cli
    assert manager.parse("f", cli.to_qapi()) == cli


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("ringbuf,sise=4", "Invalid parameter 'sise' (did you mean 'size'?)"),
        ("ringbuf,size=abc", "Parameter 'size' expects a size"),
        ("file", "chardev: file: no filename given"),
        ("pipe", "chardev: pipe: no device path given"),
        ("file,path=/tmp/x,append=maybe", "Parameter 'append' expects 'on' or 'off'"),
        ("ringbuf,size", "Expected '=' after parameter 'size'"),
        ("vc,cols=0", "Parameter 'cols' must be between"),
        ("null,mux=on,mux-be-id=m", "chardev: mux and mux-be can't be used for the same device"),
    ],
)
async def test_cli_errors(manager, backend, message):
    with pytest.raises(InvalidOption) as info:
        await manager.add("x", backend)
    assert message in str(info.value)
    assert "x" not in manager


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ({"type": "ringbuf", "data": {"size": "8"}}, "Invalid parameter type for 'size', expected: integer"),
        ({"type": "file", "data": {}}, "Parameter 'out' is missing"),
        ({"type": "file", "data": {"out": "/tmp/x", "bogus": 1}}, "Invalid parameter 'bogus'"),
        ({"type": "ringbuf", "data": {"mux": True}}, "Invalid parameter 'mux'"),
        ({"data": {}}, "Parameter 'backend.type' is missing"),
    ],
)
async def test_qapi_errors(manager, backend, message):
    with pytest.raises(InvalidOption) as info:
        await manager.add("x", backend)
    assert message in str(info.value)


async def test_missing_id_and_duplicates(manager):
    with pytest.raises(InvalidOption, match="chardev: no id specified"):
        await manager.add(None, "null")
    await manager.add("a", "null")
    with pytest.raises(ChardevExists, match="Chardev with id 'a' already exists"):
        await manager.add("a", "ringbuf")
    with pytest.raises(ChardevNotFound, match="Chardev 'b' not found"):
        await manager.remove("b")


async def test_logfile_copies_output(manager, tmp_path):
    log = tmp_path / "log"
    await manager.add("r", f"ringbuf,logfile={log}")
    fe = CharFrontend(manager.get("r"))
    fe.write(b"one ")
    fe.write(b"two")
    assert log.read_bytes() == b"one two"
    fe.detach()
    await manager.remove("r")
    await manager.add("r", f"ringbuf,logfile={log},logappend=on")
    CharFrontend(manager.get("r")).write(b"!")
    assert log.read_bytes() == b"one two!"
    for fe in manager.get("r").frontends():
        fe.detach()


async def test_logfile_open_failure(manager, tmp_path):
    with pytest.raises(Exception, match="Could not create"):
        await manager.add("r", f"ringbuf,logfile={tmp_path}/missing/dir/log")
    assert "r" not in manager


async def test_ringbuf_wraps_reads_and_compacts(manager):
    await manager.add("r", "ringbuf,size=8")
    fe = CharFrontend(manager.get("r"))
    for chunk in (b"abc", b"defgh", b"ijk", b"l" * 20, b"xyz"):
        fe.write(chunk)
    assert manager.ringbuf_read("r", 3) == "lll"
    assert manager.ringbuf_read("r", 100) == "llxyz"
    assert manager.ringbuf_read("r", 5) == ""
    for i in range(100):  # many wraps: the oldest always give way, the ring stays bounded
        fe.write(b"%02d" % i)
    assert manager.get("r").contents() == b"96979899"
    assert len(manager.get("r")._ring) < 2 * 8 + 2
