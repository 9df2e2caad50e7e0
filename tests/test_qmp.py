"""QMP in detail, in-process over real UNIX sockets: framing, negotiation, errors, events."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from tuicon.session import Session

from conftest import assert_no_leaks, open_fds
from helpers import wait_until


@pytest.fixture
async def session():
    before = open_fds()
    session = Session()
    quits: list[str] = []
    session.on_quit(quits.append)
    session.quits = quits
    yield session
    await session.close()
    await assert_no_leaks(before)


class QmpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.events: list[dict] = []

    @classmethod
    async def open(cls, path) -> QmpClient:
        client = cls(*await asyncio.open_unix_connection(str(path)))
        client.greeting = await client.message()
        return client

    async def message(self) -> dict:
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), 5)
        return json.loads(line)

    async def raw(self, data: bytes) -> dict:
        """Send, and return the answer; events arriving meanwhile are kept in ``events``."""
        self.writer.write(data)
        while "event" in (answer := await self.message()):
            self.events.append(answer)
        return answer

    async def event(self) -> dict:
        if self.events:
            return self.events.pop(0)
        return await self.message()

    async def cmd(self, name: str, **arguments) -> dict:
        request = {"execute": name}
        if arguments:
            request["arguments"] = arguments
        return await self.raw(json.dumps(request).encode())

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def qmp_session(session, tmp_path, name="qmp", pretty=False):
    path = tmp_path / f"{name}.sock"
    await session.chardevs.add(name, f"socket,path={path},server=on,wait=off")
    await session.apply([("mon", f"chardev={name},mode=control" + (",pretty=on" if pretty else ""))])
    return path


async def test_greeting_negotiation_and_ids(session, tmp_path):
    client = await QmpClient.open(await qmp_session(session, tmp_path))
    version = client.greeting["QMP"]["version"]
    assert set(version["qemu"]) == {"major", "minor", "micro"} and version["package"].startswith("tuicon")
    assert client.greeting["QMP"]["capabilities"] == []
    assert await client.cmd("query-chardev") == {"error": {
        "class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}
    assert await client.cmd("qmp_capabilities") == {"return": {}}
    assert (await client.cmd("qmp_capabilities"))["error"]["class"] == "CommandNotFound"
    for ident in (1, "x", None, [1, {"a": True}], {"nested": [1.5]}):
        answer = await client.raw(json.dumps({"execute": "query-version", "id": ident}).encode())
        assert answer["id"] == ident and "return" in answer
    await client.close()


async def test_stream_framing(session, tmp_path):
    client = await QmpClient.open(await qmp_session(session, tmp_path))
    # No newlines, two values in one write, one value split across writes.
    client.writer.write(b'{"execute":"qmp_capabilities"}{"execute":"query-version","id":7}')
    assert (await client.message()) == {"return": {}}
    assert (await client.message())["id"] == 7
    client.writer.write(b'{"execute": "query-')
    await client.writer.drain()
    assert (await client.raw(b'commands", "id": "split"}'))["id"] == "split"
    await client.close()


@pytest.mark.parametrize(("raw", "desc"), [
    (b"[1, 2]", "QMP input must be a JSON object"),
    (b'"text"', "QMP input must be a JSON object"),
    (b'{"arguments": {}}', "QMP input lacks member 'execute'"),
    (b'{"execute": 1}', "QMP input member 'execute' must be a string"),
    (b'{"execute": "quit", "arguments": []}', "QMP input member 'arguments' must be an object"),
    (b'{"execute": "quit", "bogus": 1}', "QMP input member 'bogus' is unexpected"),
    (b'{"execute": "chardev-remove"}', "Parameter 'id' is missing"),
    (b'{"execute": "chardev-remove", "arguments": {"id": 5}}',
     "Invalid parameter type for 'id', expected: string"),
    (b'{"execute": "chardev-remove", "arguments": {"id": "x", "force": true}}',
     "Parameter 'force' is unexpected"),
    (b'{"execute": "chardev-remove", "arguments": {"id": "nope"}}', "Chardev 'nope' not found"),
    (b"nonsense\n", "JSON parse error, expecting value"),
    (b"\x01", "JSON parse error, stray '\x01'"),
])
async def test_errors_keep_the_connection(session, tmp_path, raw, desc):
    client = await QmpClient.open(await qmp_session(session, tmp_path))
    await client.cmd("qmp_capabilities")
    answer = await client.raw(raw)
    assert answer == {"error": {"class": "GenericError", "desc": desc}}
    assert (await client.cmd("no-such"))["error"] == {
        "class": "CommandNotFound", "desc": "The command no-such has not been found"}
    assert "return" in await client.cmd("query-version")
    await client.close()


async def test_commands_events_and_two_clients(session, tmp_path):
    a = await QmpClient.open(await qmp_session(session, tmp_path, "qa"))
    b = await QmpClient.open(await qmp_session(session, tmp_path, "qb"))
    for client in (a, b):
        await client.cmd("qmp_capabilities")
    assert {"name": "chardev-add"} in (await a.cmd("query-commands"))["return"]
    assert {"name": "socket"} in (await a.cmd("query-chardev-backends"))["return"]
    assert (await a.cmd("chardev-add", id="r", backend={"type": "ringbuf", "data": {"size": 64}})) == {"return": {}}
    event = await b.event()  # b hears about what a did
    assert event["event"] == "CHARDEV_ADDED" and event["data"] == {"id": "r"}
    assert set(event["timestamp"]) == {"seconds", "microseconds"}
    pty = (await a.cmd("chardev-add", id="p", backend={"type": "pty", "data": {}}))["return"]
    assert pty["pty"].startswith("/dev/pts/")
    await a.cmd("ringbuf-write", device="r", data="aGVsbG8=", format="base64")
    assert (await a.cmd("ringbuf-read", device="r", size=10))["return"] == "hello"
    assert (await a.cmd("device_add", driver="echo", id="e", chardev="r")) == {"return": {}}
    assert (await a.cmd("query-devices"))["return"] == [
        {"id": "e", "driver": "echo", "chardevs": ["r"], "echoed": 0}]
    assert (await a.cmd("chardev-remove", id="r"))["error"]["desc"] == "Chardev 'r' is busy"
    assert (await a.cmd("chardev-change", id="r", backend={"type": "ringbuf", "data": {"size": 128}})) == {"return": {}}
    assert (await a.cmd("device_del", id="e")) == {"return": {}}
    info = {c["label"]: c for c in (await a.cmd("query-chardev"))["return"]}
    assert info["r"]["filename"] == "ringbuf" and info["qa"]["frontend-open"] is True
    assert set(info["r"]) >= {"label", "filename", "frontend-open"}
    seen = []
    while ("CHARDEV_CHANGED", "r") not in seen:
        event = await b.event()  # each within 5 s, or the test fails
        seen.append((event["event"], event["data"]["id"]))
    assert seen == [("CHARDEV_ADDED", "p"), ("CHARDEV_CHANGED", "r")]
    await a.cmd("quit")
    assert session.quits == ["quit from monitor on 'qa'"]
    await a.close()
    await b.close()


async def test_query_vc_and_pretty_output(session, tmp_path):
    client = await QmpClient.open(await qmp_session(session, tmp_path, pretty=True))
    await session.chardevs.add("screen", "vc,cols=20,rows=2")
    screen = session.chardevs.get("screen")
    from tuicon.chardev import CharFrontend

    fe = CharFrontend(screen)
    fe.write(b"hi there")
    await screen.idle()
    client.writer.write(b'{"execute": "qmp_capabilities"}')
    text = await asyncio.wait_for(client.reader.readuntil(b"}\r\n"), 5)
    assert b"\n" in text.rstrip()  # indented
    client.writer.write(b'{"execute": "query-vc", "arguments": {"id": "screen"}}')
    answer = json.loads(await asyncio.wait_for(client.reader.readuntil(b"}\r\n"), 5))
    assert answer["return"]["cols"] == 20 and answer["return"]["cursor"] == {"x": 8, "y": 0}
    assert answer["return"]["lines"][0].rstrip() == "hi there"
    fe.detach()
    await client.close()


# --- hardening: failures, strict parsing, limits, slow clients --------------------------


async def negotiated(session, tmp_path, name="qmp") -> QmpClient:
    client = await QmpClient.open(await qmp_session(session, tmp_path, name))
    assert await client.cmd("qmp_capabilities") == {"return": {}}
    return client


async def test_a_failure_deep_in_the_engine_is_a_generic_error(session, tmp_path, caplog, monkeypatch):
    client = await negotiated(session, tmp_path)

    def broken():
        return None.label  # an AttributeError nobody foresaw

    monkeypatch.setattr(session.chardevs, "query", broken)
    answer = await client.cmd("query-chardev")
    assert answer["error"]["class"] == "GenericError"
    assert answer["error"]["desc"].startswith("'query-chardev' failed unexpectedly: ")
    assert "Traceback" not in answer["error"]["desc"]
    logged = [r for r in caplog.records if r.exc_info and "query-chardev" in r.getMessage()]
    assert len(logged) == 1  # the traceback, once
    monkeypatch.undo()
    # The monitor and the connection are still there.
    assert any(c["label"] == "qmp" for c in (await client.cmd("query-chardev"))["return"])
    await client.close()


async def test_duplicate_keys_never_run_the_last_command(session, tmp_path):
    client = await negotiated(session, tmp_path)
    answer = await client.raw(b'{"execute":"query-version","execute":"quit"}')
    assert answer == {"error": {"class": "GenericError", "desc": "JSON parse error, duplicate key"}}
    assert session.quits == []
    await client.close()


async def test_non_finite_numbers_are_refused_not_echoed(session, tmp_path):
    client = await negotiated(session, tmp_path)
    for raw in (b'{"execute": "query-version", "id": NaN}', b'{"execute": "query-version", "id": 1e400}',
                b'{"execute": "query-version", "id": -Infinity}'):
        client.writer.write(raw)
        line = await asyncio.wait_for(client.reader.readuntil(b"\r\n"), 5)
        answer = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} echoed"))
        assert answer["error"]["class"] == "GenericError" and "id" not in answer
    big = {"execute": "ringbuf-read", "arguments": {"device": "qmp", "size": 1 << 64}}
    assert (await client.raw(json.dumps(big).encode()))["error"]["desc"] == (
        "Invalid parameter type for 'size', expected: integer")
    await client.close()


async def test_exact_texts_on_the_wire(session, tmp_path):
    client = await negotiated(session, tmp_path)
    # C-a C-a through a mux hands a raw C-a to QMP: QEMU's lexer calls it a stray byte.
    client.writer.write(b"\x01")
    assert await asyncio.wait_for(client.reader.readuntil(b"\r\n"), 5) == (
        b'{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\u0001\'"}}\r\n')
    client.writer.write(b"}")
    assert await asyncio.wait_for(client.reader.readuntil(b"\r\n"), 5) == (
        b'{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}\r\n')
    await client.close()


async def test_limits_and_resync_keep_the_connection(session, tmp_path):
    client = await negotiated(session, tmp_path)
    assert await client.raw(b"[" * 10_000 + b"]" * 10_000) == {
        "error": {"class": "GenericError", "desc": "JSON nesting depth limit exceeded"}}
    # An id nested as deep as QEMU allows is echoed back as it came.
    client.writer.write(b'{"execute": "query-version", "id": ' + b"[" * 1023 + b"]" * 1023 + b"}")
    line = await asyncio.wait_for(client.reader.readuntil(b"\r\n"), 5)
    assert line.startswith(b'{"return": ') and line.endswith(b'"id": ' + b"[" * 1023 + b"]" * 1023 + b"}\r\n")
    # An unterminated value, then QEMU's resync byte: the next request is answered.
    client.writer.write(b'{"execute": "query-version", "arguments": {"x": "never closed')
    assert (await client.raw(b"\xff"))["error"]["desc"] == "JSON parse error, stray '\\xff'"
    assert (await client.cmd("query-version"))["return"]["qemu"]["major"] == 9
    await client.close()


async def test_a_split_utf8_character_and_a_50mb_value_do_not_stall(session, tmp_path):
    client = await negotiated(session, tmp_path)
    await session.chardevs.add("r", "ringbuf,size=64")
    client.writer.write(b'{"execute": "ringbuf-write", "arguments": {"device": "r", "data": "caf\xc3')
    await client.writer.drain()
    assert await client.raw(b'\xa9"}}') == {"return": {}}
    assert (await client.cmd("ringbuf-read", device="r", size=64))["return"] == "café"
    # While 50 MB arrive and are parsed, the loop keeps turning (other consoles go on).
    gaps: list[float] = []

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        payload = b"y" * 50_000_000
        answer = await client.raw(b'{"execute": "ringbuf-write", "arguments": {"device": "r", "data": "'
                                  + payload + b'"}}')
    finally:
        tick.cancel()
        await asyncio.gather(tick, return_exceptions=True)
    assert answer == {"return": {}}
    assert (await client.cmd("ringbuf-read", device="r", size=64))["return"] == "y" * 64
    assert gaps and max(gaps) < 1.5  # seconds; a loose bound, typically well under 0.3
    await client.close()


async def test_the_monitors_own_chardev_cannot_be_swapped(session, tmp_path):
    client = await negotiated(session, tmp_path)
    answer = await client.cmd("chardev-change", id="qmp", backend={"type": "null", "data": {}})
    assert answer["error"]["class"] == "GenericError"
    assert answer["error"]["desc"].startswith("Chardev user does not support chardev hotswap")
    assert (await client.cmd("query-version"))["return"]
    await client.close()


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_a_client_that_never_reads_is_dropped(session, tmp_path, caplog, transport):
    if transport == "unix":
        path = await qmp_session(session, tmp_path)
        connect = lambda: asyncio.open_unix_connection(str(path))  # noqa: E731
    else:
        await session.chardevs.add("qmp", "socket,host=127.0.0.1,port=0,server=on,wait=off")
        await session.apply([("mon", "chardev=qmp,mode=control")])
        port = session.chardevs.get("qmp").port
        connect = lambda: asyncio.open_connection("127.0.0.1", port)  # noqa: E731
    monitor = session.monitors.monitors[0]
    reader, writer = await connect()
    writer.write(b'{"execute": "qmp_capabilities"}')
    request = b'{"execute": "query-chardev"}'
    # Flood: requests whose answers (and the events of a busy session) are never read.
    for _ in range(60):
        writer.write(request * 1000)
        try:
            await writer.drain()
        except ConnectionError:
            break  # dropped while flooding (big answers fill the limit sooner)
        if monitor.dropped_clients:
            break
    await wait_until(lambda: monitor.dropped_clients == 1, what="the slow client dropped")
    await wait_until(lambda: monitor._output_bytes < 4096 and monitor._output.empty(),
                     what="its queued output freed")
    assert any("does not read its output" in r.getMessage() for r in caplog.records)
    # The dropped client sees its connection end (after what was already on its way).
    async with asyncio.timeout(10):
        try:
            while await reader.read(1 << 20):
                pass
        except ConnectionError:  # reset, or the broken pipe the flood ran into
            pass
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    # The monitor serves the next client as usual.
    reader, writer = await connect()
    client = QmpClient(reader, writer)
    client.greeting = await client.message()
    assert await client.cmd("qmp_capabilities") == {"return": {}}
    assert any(c["label"] == "qmp" for c in (await client.cmd("query-chardev"))["return"])
    await client.close()
