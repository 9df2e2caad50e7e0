"""The demo board: boot log, shell, top, flood, reboot, BREAK, hot-swap, through real ptys and a vc."""

from __future__ import annotations

import asyncio
import os
import re
import tty
from collections.abc import Callable

import pytest

from tuicon.devices.demo_board import DemoBoardDevice, FILES
from tuicon.session import Session, default_steps

from conftest import assert_no_leaks, open_fds
from helpers import wait_until

PROMPT = b"root@demo-board\x1b[0m:\x1b[1;34m~\x1b[0m# "
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


async def settled(read: Callable[[], int], turns: int = 200) -> int:
    """Wait until ``read()`` stays the same for ``turns`` loop turns; return it."""
    last, same = read(), 0
    deadline = asyncio.get_running_loop().time() + 10
    while same < turns:
        assert asyncio.get_running_loop().time() < deadline, "never settled"
        await asyncio.sleep(0)
        now = read()
        same = same + 1 if now == last else 0
        last = now
    return last


class Peer:
    """The user's end of a pty: type, and wait for what the board answers."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.seen = bytearray()
        """Output not yet consumed by an ``expect``."""
        self.reading = True

    def _pull(self) -> None:
        if not self.reading:
            return
        try:
            self.seen += os.read(self.fd, 1 << 16)
        except BlockingIOError:
            pass

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def expect(self, wanted: bytes, timeout: float = 5) -> bytes:
        """Output up to and including ``wanted`` (consumed)."""
        def arrived() -> bool:
            self._pull()
            return wanted in self.seen

        await wait_until(arrived, timeout, what=f"{wanted!r} in {bytes(self.seen[-300:])!r}")
        end = self.seen.index(wanted) + len(wanted)
        out = bytes(self.seen[:end])
        del self.seen[:end]
        return out

    async def run(self, command: bytes) -> str:
        """Type a command and Enter; its output as plain text, up to the next prompt."""
        self.type(command + b"\r")
        out = await self.expect(PROMPT)
        echo = command + b"\r\n"
        assert out.startswith(echo), out
        return ANSI.sub(b"", out[len(echo):-len(PROMPT)]).decode()

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
async def board(session):
    """A demo board on a pty, and the test at the other end of the pty."""
    chardevs, devices = session
    result = await chardevs.add("p", "pty")
    device = await devices.add_cli("demo-board,id=board,chardev=p")
    peer = Peer(result["pty"])
    await wait_until(lambda: chardevs.get("p").be_open, what="pty open")
    await wait_until(lambda: device.state == "shell", what="booted")
    peer.type(b"\r")  # the boot log went nowhere (no one had the pty open): ask for a prompt
    await peer.expect(PROMPT)
    yield peer, device, chardevs
    peer.close()


async def test_shell_commands_through_a_pty(board):
    peer, device, _ = board
    help_text = await peer.run(b"help")
    assert "uname [-a]" in help_text and "flood N" in help_text and "top " in help_text
    assert await peer.run(b"uname -a") == "Linux demo-board 6.6.30-tuicon #1 SMP PREEMPT armv7l GNU/Linux\r\n"
    assert await peer.run(b"uname") == "Linux\r\n"
    assert await peer.run(b"ls") == "  ".join(sorted(FILES)) + "\r\n"
    assert await peer.run(b"cat hello.txt") == "Hello from the demo board!\r\n"
    assert await peer.run(b"cat nope") == "cat: nope: No such file or directory\r\n"
    assert await peer.run(b"echo a  b") == "a b\r\n"
    assert await peer.run(b"frobnicate now") == "sh: frobnicate: not found\r\n"
    assert "[    0.000000] Booting Linux on physical CPU 0x0" in await peer.run(b"dmesg")
    assert re.fullmatch(r" \d\d:\d\d:\d\d up 0 min,  1 user,  load average: .*\r\n",
                        await peer.run(b"uptime"))
    assert await peer.run(b"") == ""  # an empty line: just a new prompt
    assert device.describe()["commands"] == 10  # the empty line is none


async def test_line_editing_and_enter(board):
    peer, _, _ = board
    peer.type(b"lx\x7fs")  # Backspace erases on screen and in the line
    assert await peer.expect(b"s") == b"lx\b \bs"
    peer.type(b"\r\n")  # CR LF is one Enter, answered with CR LF
    out = await peer.expect(PROMPT)
    assert out.startswith(b"\r\n") and b"hello.txt" in out
    peer.type(b"\x1b[Aecho \x1b[1;5Cok\r")  # cursor keys are swallowed, not typed
    assert b"echo ok\r\nok\r\n" in await peer.expect(PROMPT)
    peer.type(b"cat README\x15uname\r")  # C-u kills the line
    assert b"\r\nLinux\r\n" in await peer.expect(PROMPT)
    peer.type(b"half a line\x03")  # C-c drops it
    assert (await peer.expect(PROMPT)).endswith(b"^C\r\n\x1b[1;32m" + PROMPT)
    peer.type(b"echo h\xc3")  # UTF-8, even split across reads
    await peer.expect(b"echo ")
    peer.type(b"\xa9llo w\xc3\xb6rld\r")
    assert "héllo wörld\r\n".encode() in await peer.expect(PROMPT)


async def test_reboot_prints_the_boot_log_in_colour(board):
    peer, device, _ = board
    peer.type(b"reboot\r")
    out = await peer.expect(PROMPT)
    assert b"reboot: Restarting system" in out
    assert b"\x1b[32m[    0.000000]\x1b[0m Booting Linux on physical CPU 0x0" in out
    assert b"\x1b[32m[    0.981230]\x1b[0m Run /sbin/init" in out
    assert b"Starting syslogd: \x1b[32mOK" in out and b"type 'help'" in out
    assert out.count(PROMPT) == 1 and device.state == "shell"
    assert (await peer.run(b"uptime")).count(" up 0 min,") == 1


async def test_break_shows_a_line(board):
    peer, device, chardevs = board
    peer.type(b"par")
    await peer.expect(b"par")
    chardevs.send_break("p")  # chardev-send-break: a BREAK to the board
    out = await peer.expect(b"par")  # the line being typed is shown again
    assert re.search(rb"\[ +\d+\.\d{6}\]\x1b\[0m \x1b\[33mttyS0: BREAK received", out), out
    peer.type(b"\x15")
    await peer.expect(b"\b \b" * 3)
    assert "BREAK received" in await peer.run(b"dmesg")


async def test_top_redraws_every_second_until_q(board):
    peer, device, _ = board
    peer.type(b"top\r")
    await peer.expect(b"\x1b[?1049h")  # the alternate screen
    first = await peer.expect(b"q\x1b[0m quits")
    second = await peer.expect(b"q\x1b[0m quits", timeout=5)  # redrawn a second later
    for frame in (first, second):
        text = ANSI.sub(b"", frame).decode()
        assert "Tasks:   9 total" in text and "PID USER" in text
        assert max(len(line) for line in text.split("\r\n")) <= 80  # fits a vc's 80 columns
    assert device.state == "top"
    peer.type(b"x")  # other keys do nothing
    peer.type(b"q")
    out = await peer.expect(PROMPT)
    assert b"\x1b[?1049l" in out and device.state == "shell"


async def test_flood_waits_for_a_slow_console_and_loses_nothing(board):
    peer, device, chardevs = board
    lines = 20_000
    pty = chardevs.get("p")
    dropped = pty.stats.dropped_out  # the boot log, before anyone had the pty open
    peer.type(f"flood {lines}\r".encode())
    await peer.expect(f"flood {lines}\r\n".encode())
    peer.reading = False  # the user's terminal stops reading
    await wait_until(lambda: device.state == "flood", what="flooding")
    stalled = await settled(lambda: pty.stats.bytes_out)  # the pty is full: the board waits
    assert device.state == "flood" and stalled < lines * 60 // 4, stalled
    peer.reading = True
    out = ANSI.sub(b"", await peer.expect(PROMPT, timeout=30)).decode()
    numbers = [int(line.split()[0]) for line in out.split("\r\n") if " of 20000: " in line]
    assert numbers == list(range(1, lines + 1))
    assert pty.stats.dropped_out == dropped and device.dropped == 0


async def test_flood_stops_on_ctrl_c_and_checks_its_number(board):
    peer, device, _ = board
    assert await peer.run(b"flood") == "usage: flood N (N lines, 1 to 10000000)\r\n"
    assert await peer.run(b"flood \xd9\xa3") == "usage: flood N (N lines, 1 to 10000000)\r\n"
    peer.type(b"flood 10000000\r")
    await peer.expect(b" of 10000000: ")
    peer.type(b"\x03")
    await peer.expect(b"^C\r\n" + b"\x1b[1;32m" + PROMPT, timeout=10)
    assert device.state == "shell"
    assert await peer.run(b"echo still here") == "still here\r\n"


async def test_hot_swap_keeps_the_board(session):
    chardevs, devices = session
    await chardevs.add("c", "ringbuf,size=65536")
    device = await devices.add_cli("demo-board,id=board,chardev=c")
    await wait_until(lambda: b"# " in chardevs.get("c").contents(), what="boot on the ringbuf")
    result = await chardevs.change("c", "pty")
    peer = Peer(result["pty"])
    try:
        await wait_until(lambda: chardevs.get("c").be_open, what="pty open")
        assert await peer.run(b"echo moved") == "moved\r\n"
        assert device.uses() == ["c"] and device.error is None
    finally:
        peer.close()


async def test_a_failure_stops_the_board_and_says_why(session, monkeypatch):
    chardevs, devices = session
    await chardevs.add("c", "ringbuf,size=65536")
    device = await devices.add_cli("demo-board,id=board,chardev=c")

    async def broken(self, args):
        raise RuntimeError("the fake kernel oopsed")

    monkeypatch.setattr(DemoBoardDevice, "_uname", broken)
    await wait_until(lambda: device.state == "shell", what="booted")
    chardevs.get("c").be_write(b"uname\r")
    await wait_until(lambda: device.error is not None, what="the error")
    assert device.error == "stopped: shell failed: the fake kernel oopsed"
    assert devices.query()[0]["error"] == device.error
    assert "Traceback" not in chardevs.get("c").contents().decode()


async def test_motd_says_where_things_are(session, tmp_path):
    chardevs, devices = session
    await chardevs.add("console", "mux-be")
    await chardevs.add("screen", "vc,cols=200,rows=30,mux-be-id=console")
    await chardevs.add("log", f"file,path={tmp_path}/x.log,mux-be-id=console")
    await chardevs.add("share", "socket,host=127.0.0.1,port=0,server=on,wait=off,mux-be-id=console")
    await devices.add_cli("demo-board,id=b,chardev=console,motd=log {log} share nc {share}"
                          " pty {nope} {}")
    vc = chardevs.get("screen")
    await wait_until(lambda: any("root@demo-board:~#" in line for line in vc.lines()), what="prompt")
    port = chardevs.get("share").port
    motd = f"log {tmp_path}/x.log share nc 127.0.0.1 {port} pty {{nope}} {{}}"
    assert motd in [line.rstrip() for line in vc.lines()]
    assert b"share nc 127.0.0.1" in (tmp_path / "x.log").read_bytes()  # every member saw it


async def test_the_demo_session_opens_on_the_prompt_with_how_to_type(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    before = open_fds()
    session = Session()
    try:
        (tmp_path / ".local").mkdir()
        await session.apply(default_steps(tmp_path / ".local" / "console.log"))
        vc = session.chardevs.get("screen")
        await wait_until(lambda: vc.lines()[vc.cursor[1]].startswith("root@demo-board:~# "),
                         what="the prompt, with the cursor on it")
        await vc.idle()
        text = "".join(vc.lines())  # the line is longer than 80 columns: it wraps
        port = session.chardevs.get("share").port
        assert ("Enter: type into this console · Ctrl+]: stop typing · log: ~/.local/console.log"
                f" · share: nc 127.0.0.1 {port}") in text
        assert vc.lines()[0].startswith("[    0.000000] Booting Linux")
        assert vc.line_cells(0)[1].fg == 2  # the timestamps are in colour (palette green)
        assert session.devices.query()[0]["driver"] == "demo-board"
    finally:
        await session.close()
        await assert_no_leaks(before)


async def test_board_options_are_checked(session):
    chardevs, devices = session
    with pytest.raises(Exception, match="Property 'demo-board.chardev' can't find value 'x'"):
        await devices.add_cli("demo-board,id=b,chardev=x")
    with pytest.raises(Exception, match="Invalid parameter 'motto'"):
        await devices.add_cli("demo-board,id=b,chardev=x,motto=hi")
    assert devices.ids() == []
