"""``tuicon TARGET``: parsing, by-id lookup, the steps it builds, and real runs on real ptys."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import sys
import time
import tty
from pathlib import Path

import pytest
from qemu.qmp import QMPClient

from tuicon import cli, targets
from tuicon.session import Session
from tuicon.targets import Target, TargetError, console_steps, parse_target

from conftest import assert_no_leaks, open_fds
from helpers import wait_until

FTDI = "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
CH340 = "usb-1a86_USB_Serial-if00-port0"
CP2102 = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0"


@pytest.fixture
def by_id(tmp_path) -> Path:
    """A by-id directory as udev makes it: links to the devices."""
    directory = tmp_path / "by-id"
    directory.mkdir()
    for n, name in enumerate((FTDI, CH340, CP2102)):
        (directory / name).symlink_to(f"../../ttyUSB{n}")
    return directory


@pytest.mark.parametrize(("text", "name"), [
    (FTDI, FTDI),  # the whole name
    ("usb-1a86", CH340),  # a unique prefix
    ("A50285BI", FTDI),  # a unique substring (the adapter's serial number)
    ("cp2102", CP2102),  # ignoring case, when nothing else matches
])
def test_by_id_names_prefixes_and_substrings(by_id, text, name):
    target = parse_target(text, by_id_dir=by_id, dev_dir=by_id / "none")
    assert target == Target("serial", str(by_id / name), name)


def test_ambiguous_and_unknown_names_say_what_matched(by_id):
    with pytest.raises(TargetError) as err:
        parse_target("USB", by_id_dir=by_id, dev_dir=by_id / "none")
    assert str(err.value) == (f"TARGET USB matches 3 serial ports: {CH340}, {FTDI}, {CP2102};"
                              " give more of the name")
    with pytest.raises(TargetError, match="^no serial port matches nothing-here .*'tuicon --list'"):
        parse_target("nothing-here", by_id_dir=by_id, dev_dir=by_id / "none")
    with pytest.raises(TargetError, match="^TARGET is empty"):
        parse_target("", by_id_dir=by_id)


def test_paths_and_dev_names(tmp_path, by_id):
    assert parse_target("/dev/ttyUSB7") == Target("serial", "/dev/ttyUSB7", "ttyUSB7")
    assert parse_target(f"{by_id}/{FTDI}", by_id_dir=by_id).label == FTDI
    (tmp_path / "ttyACM0").touch()
    assert parse_target("ttyACM0", by_id_dir=by_id, dev_dir=tmp_path) == Target(
        "serial", f"{tmp_path}/ttyACM0", "ttyACM0")


@pytest.mark.parametrize(("text", "option"), [
    ("unix:/run/vm,1.sock", "socket,id=remote,path=/run/vm,,1.sock,reconnect=1"),
    ("tcp:localhost:4321", "socket,id=remote,host=localhost,port=4321,reconnect=1"),
    ("tcp:[::1]:4321", "socket,id=remote,host=::1,port=4321,reconnect=1"),
    ("telnet:10.0.0.2:23", "socket,id=remote,host=10.0.0.2,port=23,telnet=on,reconnect=1"),
    ("/dev/tty,USB0", "serial,id=serial,path=/dev/tty,,USB0,reconnect=1"),
])
def test_sources_reconnect(text, option):
    assert targets.source_option(parse_target(text)) == option


@pytest.mark.parametrize(("text", "message"), [
    ("tcp:host", "TARGET tcp:host: expected tcp:HOST:PORT with a port from 1 to 65535"),
    ("tcp:host:0", "TARGET tcp:host:0: expected tcp:HOST:PORT"),
    ("telnet:host:\u00b2", "TARGET telnet:host:\u00b2: expected telnet:HOST:PORT"),
    ("unix:", "TARGET unix:: expected unix:PATH"),
])
def test_bad_socket_targets(text, message):
    with pytest.raises(TargetError, match=f"^{message.replace('[', '.')}"):
        parse_target(text)


def test_the_console_steps_and_the_log_name():
    target = parse_target("tcp:example.org:2323")
    log = targets.log_path(target, Path("/logs"), datetime.date(2025, 3, 9))
    assert log == Path("/logs/tcp-example.org-2323-2025-03-09.log")
    assert console_steps(target, log=log) == [
        ("chardev", "mux-be,id=console"),
        ("chardev", "vc,id=screen,mux-be-id=console"),
        ("chardev", "file,id=log,path=/logs/tcp-example.org-2323-2025-03-09.log,append=on,"
                    "mux-be-id=console"),
        ("chardev", "socket,id=remote,host=example.org,port=2323,reconnect=1"),
        ("device", "bridge,id=bridge,chardev=remote,peer=console"),
    ]
    serial = Target("serial", "/dev/ttyUSB0", "ttyUSB0")
    steps = console_steps(serial, baud="9600", log=None)
    assert [kind for kind, _ in steps] == ["chardev"] * 3 + ["device"]  # no log
    assert steps[2] == ("chardev", "serial,id=serial,path=/dev/ttyUSB0,baud=9600,reconnect=1")
    assert targets.log_path(Target("serial", "/x", "a b/ü*"), Path("/l"), datetime.date(2025, 1, 2)) \
        == Path("/l/a-b-2025-01-02.log")


def test_baud_is_checked():
    with pytest.raises(TargetError, match=r"^--baud is for a serial port, not for tcp:h:1$"):
        console_steps(parse_target("tcp:h:1"), baud="9600")
    with pytest.raises(TargetError, match=r"^--baud expects a number .*not 9600,,path=x"):
        console_steps(Target("serial", "/dev/x", "x"), baud="9600,,path=x")


# --- real sessions on real ptys ------------------------------------------------------------


def pty_pair() -> tuple[int, str]:
    """A pty: the master (the "board" side, raw) and the slave's path (what tuicon opens)."""
    master, slave = os.openpty()
    tty.setraw(master)
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


async def test_a_by_id_link_found_by_a_substring_reaches_the_console(tmp_path):
    master, path = pty_pair()
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / FTDI).symlink_to(path)
    before = open_fds()
    session = Session()
    try:
        target = parse_target("FT232R", by_id_dir=by_id)
        assert target.address == str(by_id / FTDI)  # the link, not the device: it follows replugs
        await session.apply(console_steps(target, baud="57600", log=tmp_path / "con.log"))
        serial = session.chardevs.get("serial")
        await wait_until(lambda: serial.be_open, what="serial port open")
        os.write(master, b"U-Boot 2024.01 says hello\r\n")
        vc = session.chardevs.get("screen")
        await wait_until(lambda: "U-Boot 2024.01 says hello" in vc.lines()[0], what="text in the vc")
        session.chardevs.get("screen").send_input(b"version\r")  # typing reaches the board side
        got = bytearray()

        def typed() -> bool:
            try:
                got.extend(os.read(master, 100))
            except BlockingIOError:
                pass
            return b"version\r" in got

        await wait_until(typed, what="typing in the vc reaching the port")
        assert b"says hello" in (tmp_path / "con.log").read_bytes()
    finally:
        await session.close()
        await assert_no_leaks(before)
        os.close(master)


class Headless:
    """``tuicon --headless ARGS`` as a subprocess, up to its ready line."""

    def __init__(self, tmp: Path) -> None:
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "config"),
                    "XDG_STATE_HOME": str(tmp / "state")}
        self.proc: asyncio.subprocess.Process | None = None
        self.output = ""

    async def start(self, *args: str) -> str:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tuicon", "--headless", *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env)
        async with asyncio.timeout(30):
            while "tuicon: ready" not in self.output:
                line = (await self.proc.stdout.readline()).decode()
                assert line, f"exited before ready: {self.output} {(await self.proc.stderr.read())!r}"
                self.output += line
        return self.output

    async def stop(self) -> tuple[float, int, str]:
        """SIGTERM; the seconds until it exited, its status and stderr."""
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            out, err = await self.proc.communicate()
        self.output += out.decode()
        return time.perf_counter() - started, self.proc.returncode, err.decode()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def headless(tmp_path):
    runs: list[Headless] = []

    def make() -> Headless:
        runs.append(Headless(tmp_path))
        return runs[-1]

    yield make
    for run in runs:
        await run.kill()


async def test_tuicon_on_a_pty_shows_it_in_the_vc_and_the_log(tmp_path, headless):
    master, path = pty_pair()
    qmp_path = tmp_path / "qmp.sock"
    tuicon = headless()
    client = QMPClient("test")
    try:
        output = await tuicon.start(path, "-qmp", f"unix:{qmp_path},server=on,wait=off")
        log = Path(output.split("logged to ")[1].split(".log")[0] + ".log")
        assert log.parent == tmp_path / "state" / "tuicon" / "log"
        assert log.name == f"{Path(path).parent.name}-{Path(path).name}-{datetime.date.today()}.log"
        assert oct(log.parent.stat().st_mode & 0o777) == "0o700"  # logs hold what was typed
        assert f"chardev serial     serial   open   serial:{path}" in output
        await client.connect(str(qmp_path))
        far_end = b"\x1b[32mboard>\x1b[0m from the far end\r\n"
        os.write(master, far_end)

        async def vc_text() -> str:
            return "\n".join((await client.execute("query-vc", {"id": "screen"}))["lines"])

        async with asyncio.timeout(10):
            while "board> from the far end" not in await vc_text():
                await asyncio.sleep(0.02)
        devices = await client.execute("query-devices")
        assert devices == [{"id": "bridge", "driver": "bridge", "chardevs": ["serial", "console"],
                            "forward": len(far_end), "backward": 0, "dropped": 0}]
        await client.disconnect()
        seconds, status, err = await tuicon.stop()
        assert status == 0 and "Traceback" not in err, err
        assert log.read_bytes() == far_end
    finally:
        os.close(master)


async def test_quit_with_a_serial_port_and_a_bridge_is_fast(tmp_path, headless):
    """SIGTERM to exit; the issue asks for under 0.5 s (the bound here allows a loaded machine)."""
    master, path = pty_pair()
    try:
        tuicon = headless()
        await tuicon.start(path, "--no-log")
        os.write(master, b"some output\r\n")
        seconds, status, err = await tuicon.stop()
        assert status == 0 and "everything closed" in tuicon.output, err
        print(f"quit took {seconds:.3f} s")
        assert seconds < 2.0, seconds
    finally:
        os.close(master)


@pytest.mark.parametrize(("args", "line"), [
    (["--baud", "9600"], "tuicon: --baud goes with a TARGET (tuicon TARGET --baud ...)"),
    (["--no-log"], "tuicon: --no-log goes with a TARGET"),
    (["/dev/x", "--log", "a", "--no-log"], "tuicon: argument --no-log: not allowed with argument --log"),
    (["/dev/x", "--profile", "p"], "tuicon: a TARGET and --profile do not mix"),
    (["tcp:h:1", "--baud", "9600"], "tuicon: --baud is for a serial port, not for tcp:h:1"),
    (["/dev/x", "--baud", "0"], "tuicon: Parameter 'baud' must be a speed from 1 to 20000000"),
    (["telnet:h"], "tuicon: TARGET telnet:h: expected telnet:HOST:PORT"),
    (["no-such-port-anywhere"], "tuicon: no serial port matches no-such-port-anywhere"),
])
def test_target_mistakes_are_one_line(tmp_path, monkeypatch, capsys, args, line):
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path))
    monkeypatch.setattr(cli, "print_status", lambda *a: pytest.fail("the session was built"))
    assert cli.main(["--headless", *args]) == 1
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and err.startswith(line), err
