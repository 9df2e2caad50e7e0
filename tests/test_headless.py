"""A real ``tuicon --headless`` process, driven as scripts and QEMU's tools drive it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from qemu.qmp import QMPClient
from qemu.qmp.error import QMPError

from helpers import wait_until

READY_TIMEOUT = 30


class Tuicon:
    """A headless tuicon subprocess; ``ready`` waits for its ready line."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.tmp = tmp
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []

    async def start(self) -> Tuicon:
        env = {**os.environ, "XDG_CONFIG_HOME": str(self.tmp / "config"),
               "XDG_STATE_HOME": str(self.tmp / "state")}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tuicon", "--headless", *self.args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    err = (await self.proc.stderr.read()).decode()
                    raise AssertionError(f"tuicon exited before ready: {self.output} {err}")
                self.output.append(line)
                if line.startswith("tuicon: ready"):
                    return self

    async def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        assert self.proc is not None
        async with asyncio.timeout(timeout):
            out, err = await self.proc.communicate()
        return self.proc.returncode, "".join(self.output) + out.decode(), err.decode()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def disconnect(client: QMPClient) -> None:
    """After 'quit' the server is gone; qemu.qmp reports that EOF when disconnecting
    (QEMU's own test harness ignores it the same way)."""
    try:
        await client.disconnect()
    except EOFError:
        pass


@pytest.fixture
async def tuicon(tmp_path):
    started: list[Tuicon] = []

    async def start(*args: str) -> Tuicon:
        started.append(await Tuicon(tmp_path, *args).start())
        return started[-1]

    yield start
    for proc in started:
        await proc.kill()


async def test_qmp_with_qemus_own_client(tuicon, tmp_path):
    qmp_path = tmp_path / "qmp.sock"
    proc = await tuicon("-qmp", f"unix:{qmp_path},server=on,wait=off")
    client = QMPClient("test")
    await client.connect(str(qmp_path))
    try:
        assert client.greeting is not None
        await client.execute("chardev-add", {"id": "r", "backend": {"type": "ringbuf",
                                                                   "data": {"size": 1024}}})
        await client.execute("ringbuf-write", {"device": "r", "data": "hello"})
        assert await client.execute("ringbuf-read", {"device": "r", "size": 100}) == "hello"
        labels = {c["label"] for c in await client.execute("query-chardev")}
        assert {"r", "compat_monitor0"} <= labels
        with pytest.raises(QMPError, match="Chardev with id 'r' already exists"):
            await client.execute("chardev-add", {"id": "r", "backend": {"type": "null"}})
        await client.execute("quit")
    finally:
        await disconnect(client)
    code, out, err = await proc.finish()
    assert code == 0, err
    assert not qmp_path.exists(), "the QMP socket file was left behind"


async def test_qmp_raw_malformed_input_keeps_the_connection(tuicon, tmp_path):
    qmp_path = tmp_path / "qmp.sock"
    await tuicon("-qmp", f"unix:{qmp_path},server=on,wait=off")
    reader, writer = await asyncio.open_unix_connection(str(qmp_path))
    try:
        greeting = json.loads(await reader.readline())
        assert greeting["QMP"]["version"]["qemu"].keys() >= {"major", "minor", "micro"}

        async def ask(raw: bytes) -> dict:
            writer.write(raw)
            line = await reader.readline()
            assert line.endswith(b"\r\n")
            return json.loads(line)

        early = await ask(b'{"execute": "query-chardev"}')
        assert early["error"]["class"] == "CommandNotFound"
        assert (await ask(b'{"execute": "qmp_capabilities", "id": [1, {"a": null}]}')) == {
            "return": {}, "id": [1, {"a": None}]}
        assert (await ask(b"[1, 2]\n"))["error"]["desc"] == "QMP input must be a JSON object"
        assert (await ask(b'{"execute": "no-such-command"}'))["error"] == {
            "class": "CommandNotFound", "desc": "The command no-such-command has not been found"}
        # Still served after the mistakes.
        assert "return" in await ask(b'{"execute": "query-version"}')
    finally:
        writer.close()
        await writer.wait_closed()


def waiter(reader: asyncio.StreamReader, seen: bytearray):
    """``await until(text)``: read into ``seen`` until ``text`` is there (10 s at most)."""

    async def until(text: bytes) -> None:
        async with asyncio.timeout(10):
            while text not in seen:
                seen.extend(await reader.read(4096))

    return until


async def test_readline_monitor_over_a_unix_socket(tuicon, tmp_path):
    mon_path = tmp_path / "mon.sock"
    proc = await tuicon("-monitor", f"unix:{mon_path},server=on,wait=off",
                        "-chardev", "ringbuf,id=r,size=1024")
    reader, writer = await asyncio.open_unix_connection(str(mon_path))
    seen = bytearray()
    until = waiter(reader, seen)
    await until(b"(tuicon) ")
    writer.write(b"ringbuf_write r hi-there\r")
    writer.write(b"ringbuf_read r 100\r")
    await until(b"hi-there\r\n")
    writer.write(b"info chardev\r")
    await until(b"r: filename=ringbuf")
    writer.write(b"quit\r")
    code, out, err = await proc.finish()
    assert code == 0, err
    assert not mon_path.exists()
    writer.close()


async def test_readline_monitor_shares_a_mux_with_an_echo_device(tuicon, tmp_path):
    path = tmp_path / "con.sock"
    proc = await tuicon("-chardev", f"socket,id=con,path={path},server=on,wait=off,mux=on",
                        "-mon", "chardev=con,mode=readline",
                        "-device", "echo,id=dev,chardev=con")
    reader, writer = await asyncio.open_unix_connection(str(path))
    seen = bytearray()
    until = waiter(reader, seen)
    # The echo device attached last, so it has the focus: it echoes.
    writer.write(b"ping")
    await until(b"ping")
    writer.write(b"\x01c")  # C-a c: focus to the monitor
    await until(b"(tuicon) ")
    writer.write(b"info devices\r")
    await until(b"dev")
    writer.write(b"\x01c")  # and back to the device
    seen.clear()
    writer.write(b"pong")
    await until(b"pong")
    writer.close()
    proc.proc.send_signal(signal.SIGTERM)
    code, out, err = await proc.finish()
    assert code == 0, err
    assert not path.exists()


async def test_sigterm_closes_everything_and_removes_socket_files(tuicon, tmp_path):
    paths = [tmp_path / f"s{i}.sock" for i in range(3)]
    args = []
    for i, path in enumerate(paths):
        args += ["-chardev", f"socket,id=s{i},path={path},server=on,wait=off"]
    proc = await tuicon(*args)
    await wait_until(lambda: all(p.exists() for p in paths))
    proc.proc.send_signal(signal.SIGTERM)
    code, out, err = await proc.finish()
    assert code == 0, err
    assert "everything closed" in out
    assert not any(p.exists() for p in paths)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-chardev", "bogus,id=x"], "tuicon: 'bogus' is not a valid char driver name"),
        (["-chardev", "ringbuf,id=x,sise=4"], "tuicon: Invalid parameter 'sise'"),
        (["-chardev", "null,id=x", "-chardev", "null,id=x"],
         "tuicon: Chardev with id 'x' already exists"),
        (["-chardev", "null"], "tuicon: chardev: no id specified"),
        (["-device", "echo,id=e,chardev=nope"], "tuicon: Property 'echo.chardev' can't find value 'nope'"),
        (["-mon", "chardev=nope,mode=control"], "tuicon: "),
    ],
)
async def test_bad_command_lines_give_one_line_and_status_1(tmp_path, args, line):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuicon", "--headless", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode == 1
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(line), lines
    assert "Traceback" not in err.decode()


async def test_sigint_while_a_server_waits_for_its_first_client(tmp_path):
    path = tmp_path / "wait.sock"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuicon", "--headless",
        "-chardev", f"socket,id=s,path={path},server=on",  # wait=on: start-up holds
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )
    async with asyncio.timeout(30):
        line = await proc.stdout.readline()
        assert b"waiting for connection on: disconnected:unix:" in line
        proc.send_signal(signal.SIGINT)
        out, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert b"interrupted during start-up" in out
    assert not path.exists()


async def test_qmp_over_tcp_shorthand(tuicon, tmp_path):
    proc = await tuicon("-qmp", "tcp:127.0.0.1:0,server=on,wait=off")
    status = "".join(proc.output)
    port = int(status.split("disconnected:tcp:127.0.0.1:")[1].split(",")[0])
    client = QMPClient("tcp-test")
    await client.connect(("127.0.0.1", port))
    try:
        version = await client.execute("query-version")
        assert version["package"].startswith("tuicon")
        await client.execute("quit")
    finally:
        await disconnect(client)
    code, out, err = await proc.finish()
    assert code == 0, err


async def test_start_up_warns_about_monitors_others_can_reach(tuicon, tmp_path):
    # A readline monitor sharing a mux with a TCP socket that listens on every address.
    proc = await tuicon("-chardev", "socket,id=con,host=0.0.0.0,port=0,server=on,wait=off,mux=on",
                        "-mon", "con", "-qmp", "tcp:127.0.0.1:0")
    out = "".join(proc.output)
    assert "monitor on 'con': it shares a mux with network socket 'con-base'" in out
    assert "add local-only=on to prevent it" in out
    assert "monitor on 'con': 'con-base' uses 0.0.0.0, which is not a loopback address" in out
    assert "compat_monitor0" not in out.split("chardev con-base")[0]  # loopback QMP: no warning
    await proc.kill()
    # local-only=on: only the non-loopback warning is left.
    proc = await tuicon("-chardev", "socket,id=con,host=0.0.0.0,port=0,server=on,wait=off,mux=on",
                        "-mon", "chardev=con,local-only=on")
    out = "".join(proc.output)
    assert "shares a mux" not in out and "not a loopback address" in out


async def test_mon_mistakes_read_as_in_a_profile(tuicon, tmp_path):
    proc = Tuicon(tmp_path, "-chardev", "null,id=n", "-mon", "chardev=n,mode=json")
    with pytest.raises(AssertionError) as caught:
        await proc.start()
    assert ("-mon: Parameter 'mode' does not accept value 'json' (allowed: control, readline)"
            in str(caught.value))
    proc = Tuicon(tmp_path, "-chardev", "null,id=n", "-mon", "chardev=n,color=on")
    with pytest.raises(AssertionError) as caught:
        await proc.start()
    assert ("Invalid parameter 'color' (allowed: chardev, mode, pretty, local-only)"
            in str(caught.value))
