"""QMP in detail, in-process over real UNIX sockets: framing, negotiation, errors, events."""

from __future__ import annotations

import asyncio
import json

import pytest

from tuicon.session import Session

from conftest import assert_no_leaks, open_fds


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
