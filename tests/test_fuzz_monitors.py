"""Fuzzing the monitors (hypothesis, derandomized and bounded): whatever arrives, they answer.

One running session per test; every generated example goes to the same live
monitor over a real UNIX socket, as a misbehaving client would send it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuicon.chardev import InvalidOption
from tuicon.monitor.commands import COMMANDS
from tuicon.monitor.manager import MonitorOptions, parse_monitor_options
from tuicon.session import Session

from conftest import assert_no_leaks, open_fds

FUZZ = settings(max_examples=80, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TIMEOUT = 10

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
arg_names = st.sampled_from(sorted({a.name for c in COMMANDS.values() for a in c.args} | {"x"}))
# Valid request shapes with arguments of any type (mostly the wrong one).
requests = st.fixed_dictionaries(
    {"execute": st.sampled_from(sorted(set(COMMANDS) - {"quit"}))},
    optional={"arguments": st.dictionaries(arg_names, json_values, max_size=4),
              "id": json_values},
)
wire_inputs = st.one_of(
    requests.map(lambda r: json.dumps(r).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=120),
    st.lists(st.sampled_from([b"{", b"}", b"[", b"]", b'"', b"\\", b":", b",", b"1", b"e",
                              b"\n", b"\x01", b"\xff", b"\xc3", b"null", b'"execute"']),
             max_size=40).map(b"".join),
)


def well_formed(message: dict[str, Any]) -> bool:
    if "return" in message:
        return set(message) <= {"return", "id"}
    if "event" in message:
        return set(message) == {"event", "data", "timestamp"}
    error = message.get("error")
    return (set(message) <= {"error", "id"} and isinstance(error, dict)
            and set(error) == {"class", "desc"} and all(isinstance(v, str) for v in error.values()))


class Wire:
    """A QMP client that reads every line and checks its shape."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.unexpected: list[str] = []
        self.count = 0

    async def until_id(self, ident: str) -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await self.reader.readuntil(b"\r\n"))
                assert well_formed(message), message
                desc = message.get("error", {}).get("desc", "")
                if "failed unexpectedly" in desc:
                    self.unexpected.append(desc)
                if message.get("id") == ident:
                    return message

    async def sync(self) -> dict[str, Any]:
        """Reset the parser (QEMU's 0xFF) and wait for the answer to a marked request."""
        self.count += 1
        ident = f"sync-{self.count}"
        self.writer.write(b"\xff" + json.dumps({"execute": "query-version", "id": ident}).encode())
        return await self.until_id(ident)


@pytest.fixture
async def qmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a generated chardev-add that happens to be valid writes here
    before = open_fds()
    session = Session()
    session.on_quit(lambda reason: None)
    path = tmp_path / "qmp.sock"
    await session.apply([("chardev", f"socket,id=qmp,path={path},server=on,wait=off"),
                         ("chardev", "ringbuf,id=r,size=64"),
                         ("mon", "chardev=qmp,mode=control")])
    wire = Wire(*await asyncio.open_unix_connection(str(path)))
    json.loads(await wire.reader.readuntil(b"\r\n"))  # the greeting
    wire.writer.write(b'{"execute": "qmp_capabilities", "id": "caps"}')
    assert (await wire.until_id("caps"))["return"] == {}
    yield session, wire
    wire.writer.close()
    await wire.writer.wait_closed()
    await session.close()
    await assert_no_leaks(before)


@FUZZ
@given(data=wire_inputs)
async def test_qmp_answers_whatever_arrives(qmp, data):
    session, wire = qmp
    wire.writer.write(data)
    assert "return" in await wire.sync()


async def test_qmp_after_the_fuzz_still_answers_query_chardev(qmp):
    session, wire = qmp
    # The same run as above, but then the final check on the same connection.
    for data in (b'{"execute": "chardev-add", "arguments": {"id": 5, "backend": []}}',
                 b'{"execute": "ringbuf-read", "arguments": {"device": "r", "size": -1}}',
                 b'{"execute": "device_add", "arguments": {"driver": {"x": [null]}}}',
                 b'{"execute": "query-vc", "arguments": {"id": "r"}}', b"\x00\x01\x02", b"{{{{"):
        wire.writer.write(data)
        await wire.sync()
    wire.writer.write(b'{"execute": "query-chardev", "id": "final"}')
    labels = {c["label"] for c in (await wire.until_id("final"))["return"]}
    assert {"qmp", "r"} <= labels
    monitor = session.monitors.monitors[0]
    assert monitor.last_error is None and wire.unexpected == []


@FUZZ
@given(data=st.lists(wire_inputs, min_size=1, max_size=5))
async def test_qmp_fuzz_then_query_chardev(qmp, data):
    session, wire = qmp
    for chunk in data:
        wire.writer.write(chunk)
    await wire.sync()
    wire.writer.write(b'{"execute": "query-chardev", "id": "final"}')
    answer = await wire.until_id("final")
    assert {"qmp", "r"} <= {c["label"] for c in answer["return"]}
    assert session.monitors.monitors[0].last_error is None
    assert wire.unexpected == [], wire.unexpected  # no failure nobody foresaw


# --- the readline monitor ------------------------------------------------------------------

MARKER = "quit  -- stop tuicon\r\n(tuicon) "
line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                    max_size=60)
commands = st.sampled_from(["info", "help", "chardev-add", "chardev-change", "chardev-remove",
                            "chardev-send-break", "ringbuf_write r", "ringbuf_read r",
                            "device_add", "device_del", "info chardev", "chardev-change r"])
words = st.sampled_from(["²", "٣", "99999999999999999999999", "-1", "0", "64", "1e3", "r", "mon",
                         "null", "ringbuf,size=٣", "socket,port=²", "echo,chardev=r", "bridge",
                         "id=x", "\x00", "\\ud800"])
lines = st.one_of(
    line_text,
    st.tuples(commands, line_text).map(" ".join),
    st.tuples(commands, st.lists(words, max_size=3).map(" ".join)).map(" ".join),
    # Numbers as the fuzzer found them: digits that are not ASCII, far too many digits.
    st.tuples(st.sampled_from(["ringbuf_read r ", "chardev-add ringbuf,id=q,size=",
                               "chardev-add socket,id=q,port=", "chardev-add socket,id=q,path=s,"
                               "server=on,reconnect="]),
              st.sampled_from(["²", "٣", "1" * 400, "99999999999999999999999", "-1", "0x10"])
              ).map("".join),
)


@pytest.fixture
async def readline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = open_fds()
    session = Session()
    session.on_quit(lambda reason: None)
    path = tmp_path / "mon.sock"
    await session.apply([("chardev", f"socket,id=mon,path={path},server=on,wait=off"),
                         ("chardev", "ringbuf,id=r,size=64"),
                         ("mon", "chardev=mon,mode=readline")])
    reader, writer = await asyncio.open_unix_connection(str(path))
    seen = bytearray()
    async with asyncio.timeout(TIMEOUT):
        while b"(tuicon) " not in seen:
            seen += await reader.read(4096)
    yield session, reader, writer
    writer.close()
    await writer.wait_closed()
    await session.close()
    await assert_no_leaks(before)


@FUZZ
@given(line=lines)
async def test_readline_answers_every_line_with_the_prompt(readline, line):
    session, reader, writer = readline
    # The line, then a second Enter (an escape sequence may have swallowed the first),
    # C-u, and a marker command whose answer ends this example's output.
    writer.write(line.encode("utf-8") + b"\r\r\x15help quit\r")
    seen = bytearray()
    async with asyncio.timeout(TIMEOUT):
        while not seen.endswith(MARKER.encode()):
            seen += await reader.read(4096)
    out = seen.decode("utf-8", "replace")
    before_marker = out[: out.rindex("help quit")]
    assert before_marker.endswith("(tuicon) ")  # the line was answered, prompt back
    assert "Traceback" not in out and "failed unexpectedly" not in out
    assert session.monitors.monitors[0].last_error is None


# --- the -mon parser -----------------------------------------------------------------------

mon_strings = st.one_of(
    st.text(max_size=40),
    st.lists(st.tuples(st.sampled_from(["chardev", "mode", "pretty", "local-only", "x", ""]),
                       st.sampled_from(["on", "off", "control", "readline", "c1", "", "²", "a,,b"])),
             max_size=4).map(lambda items: ",".join(f"{k}={v}" for k, v in items)),
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(text=mon_strings)
def test_mon_parser_accepts_or_says_why(text):
    try:
        options = parse_monitor_options(text)
    except InvalidOption as err:
        assert str(err) and "\n" not in str(err)
        return
    assert isinstance(options, MonitorOptions)
    # What it accepts round-trips through the command line and through a profile table.
    assert parse_monitor_options(options.cli()) == options
    assert parse_monitor_options(options.table()) == options
