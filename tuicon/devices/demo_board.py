"""``demo-board``: a simulated board on a serial console, for demos, tests and CI.

On start and on ``reboot`` it prints a short boot log in colour, with
kernel-style timestamps, then an optional message of the day and a
login-free shell.  The shell edits the line (Backspace, C-u, C-c, C-l;
cursor keys are swallowed), answers Enter with CR LF and knows ``help``,
``uname``, ``ls``, ``cat``, ``echo``, ``clear``, ``dmesg``, ``uptime``,
``top`` (redrawn every second on the alternate screen until ``q``),
``flood N`` and ``reboot``.  A BREAK shows a ``BREAK received`` line.

Input is handled in order by one owned task; it writes with the
frontend's ``write_all``, so a console that does not keep up pauses the
board (and, once ``INPUT_LIMIT`` bytes wait, the board stops reading):
nothing is buffered without bound, ``flood`` included.  As a tty does,
C-c during ``flood`` stops it and discards what was typed meanwhile.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import random
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import ChardevError, ChardevEvent, ChardevManager
from ..chardev.aio import TaskSet
from ..chardev.options import ascii_number, option
from .base import Device

INPUT_LIMIT = 64 * 1024
"""Unprocessed input the board holds before it stops reading its chardev."""
MAX_LINE = 1024
"""Characters a command line may hold; typing past it is ignored."""
MAX_ESCAPE = 16
FLOOD_MAX = 10_000_000
FLOOD_BATCH = 512
"""Lines written at once by ``flood``: one write, then a turn for everyone else."""
TOP_SECONDS = 1.0
HOSTNAME = "demo-board"

GREEN, YELLOW, CYAN, BLUE, BOLD, REVERSE, RESET = (
    "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[1;34m", "\x1b[1m", "\x1b[7m", "\x1b[0m")
PROMPT = f"\x1b[1;32mroot@{HOSTNAME}{RESET}:{BLUE}~{RESET}# "
ALT_SCREEN_ON, ALT_SCREEN_OFF = "\x1b[?1049h\x1b[?25l", "\x1b[H\x1b[2J\x1b[?25h\x1b[?1049l"
"""top's screen: a terminal restores the shell's screen; a vc (no alternate screen) is cleared."""

KERNEL_LOG = [
    (0.000000, "Booting Linux on physical CPU 0x0"),
    (0.000000, "Linux version 6.6.30-tuicon (gcc 13.2.0) #1 SMP PREEMPT"),
    (0.000000, "Machine model: tuicon demo board (simulated, no hardware needed)"),
    (0.000000, "Memory: 512MiB available"),
    (0.012480, "CPU: ARMv7 Processor [410fc075] revision 5 (ARMv7)"),
    (0.104211, "Serial: 8250/16550 driver, 4 ports, IRQ sharing disabled"),
    (0.230117, "console [ttyS0] enabled"),
    (0.391882, "usb 1-1: new high-speed USB device number 2 using ehci-platform"),
    (0.512004, "mmcblk0: mmc0:0001 DEMO 3.69 GiB"),
    (0.612300, f"{YELLOW}rtc-demo: no battery, the clock starts at the epoch{RESET}"),
    (0.734551, "EXT4-fs (mmcblk0p2): mounted filesystem with ordered data mode"),
    (0.981230, "Run /sbin/init as init process"),
]
SERVICES = ["syslogd", "klogd", "network"]

FILES = {
    "README": "This is tuicon's demo board: a simulated device on a serial console.\n"
              "Everything it prints goes through the console's mux-be: the vc, the log,\n"
              "the TCP share and the pty all see the same bytes.\n"
              "Try: top (q quits), flood 100000, cat boot.cfg, reboot.\n",
    "boot.cfg": "console=ttyS0,115200n8\nroot=/dev/mmcblk0p2 rootwait\nloglevel=7\n",
    "hello.txt": "Hello from the demo board!\n",
    "os-release": 'NAME="tuicon demo"\nVERSION="1.0"\nID=tuicon-demo\n'
                  'PRETTY_NAME="tuicon demo board 1.0"\n',
}

HELP = [
    ("help", "this list"),
    ("uname [-a]", "the kernel's name (and everything else)"),
    ("ls", "the files"),
    ("cat FILE", "show a file"),
    ("echo TEXT", "print TEXT"),
    ("clear", "clear the screen"),
    ("dmesg", "the kernel log"),
    ("uptime", "time since boot"),
    ("top", "processes, redrawn every second; q quits"),
    ("flood N", "print N lines as fast as the console takes them; C-c stops"),
    ("reboot", "restart the board"),
]

TOP_HEADER = (f"{'PID':>5} {'USER':<8} {'PR':>3} {'NI':>3} {'VIRT':>7} {'RES':>6} {'S':>2}"
              f" {'%CPU':>5} {'%MEM':>5} {'TIME+':>9} COMMAND")
TOP_ROW = ("{pid:5d} root      20   0 {virt:7d} {res:6d} {state:>2} {cpu:5.1f} {mem:5.1f}"
           " {time:>9} {name}")
PROCESSES = ["init", "syslogd", "klogd", "udhcpc", "getty", "sh", "kworker/0:1", "ksoftirqd/0",
             "top"]

PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_.-]*)\}")


@dataclass(frozen=True)
class DemoBoardOptions:
    chardev: str = option(help="the board's console (a mux-be with a vc, a pty, a socket...)")
    motd: str | None = option(None, help="a line shown after boot; {ID} is where chardev ID is"
                                         " (a path, or a host and port as nc takes them)")


def where(chardevs: ChardevManager, chardev_id: str) -> str | None:
    """Where a user finds chardev ``chardev_id``: a path, or "HOST PORT"; None if absent."""
    chardev = chardevs.find(chardev_id)
    if chardev is None:
        return None
    options: Any = chardev.options
    if chardev.type_name == "socket":
        return options.path if options.path is not None else f"{chardev.host} {chardev.port}"
    if chardev.type_name == "pty":
        return chardev.filename.removeprefix("pty:")
    if chardev.type_name == "file":
        home = os.path.expanduser("~")
        path = str(options.path)
        return "~" + path[len(home):] if home != "/" and path.startswith(home + "/") else path
    return chardev.filename


def stamp(seconds: float) -> str:
    """A kernel log timestamp: ``[    0.000000]``."""
    return f"{GREEN}[{seconds:12.6f}]{RESET}"


class DemoBoardDevice(Device):
    """A fake board; ``state`` says what it is doing (booting, shell, top, flood)."""

    driver: ClassVar[str] = "demo-board"
    summary: ClassVar[str] = "a simulated board: boot log, a small shell, top, flood (for demos)"
    Options = DemoBoardOptions

    def __init__(self, device_id: str, options: Any, chardevs: ChardevManager) -> None:
        super().__init__(device_id, options, chardevs)
        self.tasks = TaskSet(f"demo-board '{device_id}'", self._pump_failed)
        self._input: deque[bytes | ChardevEvent] = deque()
        self._queued = 0
        self._arrived = asyncio.Event()
        self._interrupted = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.line: list[str] = []
        self._escape = ""
        self._after_cr = False
        self.state = "booting"
        self.booted_at = time.monotonic()
        self.kernel_log: list[str] = []
        self.commands = 0
        self.dropped = 0
        """Output bytes the console could not carry (it was closed)."""

    def start(self) -> None:
        self.fe = self._attach("chardev", self.options.chardev)
        self._install()
        self.tasks.spawn(self._run(), "shell")

    def _install(self) -> None:
        self.fe.set_handlers(can_read=self._can_read, read=self._read, event=self._event,
                             be_change=self._changed)

    def _changed(self) -> bool:
        self._install()  # hot-swap: the same board on the new backend
        return True

    async def close(self) -> None:
        await self.tasks.close()
        await super().close()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "state": self.state, "commands": self.commands,
                "dropped": self.dropped}

    # -- input: bounded, handled in order by the shell task --------------------------------

    def _can_read(self) -> int:
        return max(0, INPUT_LIMIT - self._queued)

    def _read(self, data: bytes) -> None:
        self._queued += len(data)
        self._input.append(data)
        self._interrupted |= b"\x03" in data
        self._arrived.set()

    def _event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.BREAK:
            self._input.append(event)
            self._arrived.set()

    async def _next(self, timeout: float | None = None) -> bytes | ChardevEvent | None:
        """The next input (bytes or BREAK), or None after ``timeout`` seconds without any."""
        while not self._input:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        item = self._input.popleft()
        if isinstance(item, bytes):
            self._queued -= len(item)
            self.fe.accept_input()
        return item

    def _unread(self, text: str) -> None:
        """Put typed-ahead text back, so the command that runs now can read it."""
        if text:
            data = text.encode()
            self._queued += len(data)
            self._input.appendleft(data)

    def _discard_input(self) -> None:
        """C-c while a command runs: what was typed meanwhile is dropped, as a tty does."""
        kept = [item for item in self._input if isinstance(item, ChardevEvent)]
        self._input = deque(kept)
        self._queued = 0
        self._interrupted = False
        self.fe.accept_input()

    # -- output ----------------------------------------------------------------------------

    async def _say(self, text: str) -> None:
        """Write ``text`` (lines end in "\\n", sent as CR LF), waiting while the console is full."""
        data = text.replace("\n", "\r\n").encode()
        try:
            await self.fe.write_all(data)
        except ChardevError:
            self.dropped += len(data)  # the console went away: lost, as on a serial line

    def _uptime(self) -> float:
        return time.monotonic() - self.booted_at

    # -- the shell -------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._boot()
        await self._say(PROMPT)
        while True:
            item = await self._next()
            if isinstance(item, ChardevEvent):
                await self._break()
            elif item is not None:
                await self._typed(self._decoder.decode(item))

    async def _boot(self) -> None:
        self.state = "booting"
        self.booted_at = time.monotonic()
        self.kernel_log = [f"{stamp(t)} {text}" for t, text in KERNEL_LOG]
        lines = list(self.kernel_log)
        lines += [f"Starting {name}: {GREEN}OK{RESET}" for name in SERVICES]
        lines += ["", f"{BOLD}Welcome to the tuicon demo board{RESET} - type 'help' for the commands"]
        if self.options.motd:
            lines.append(f"{CYAN}{self._motd()}{RESET}")
        await self._say("\n".join(lines) + "\n\n")
        self.state = "shell"

    def _motd(self) -> str:
        def replace(match: re.Match[str]) -> str:
            found = where(self.chardevs, match.group(1))
            return found if found is not None else match.group(0)

        return PLACEHOLDER.sub(replace, self.options.motd)

    async def _break(self) -> None:
        line = f"{stamp(self._uptime())} {YELLOW}ttyS0: BREAK received{RESET}"
        self.kernel_log.append(line)
        await self._say(f"\n{line}\n{PROMPT}{''.join(self.line)}")

    async def _typed(self, text: str) -> None:
        """Typed characters: edit the line; Enter runs it (the rest waits its turn)."""
        echo: list[str] = []
        for i, ch in enumerate(text):
            if self._escape:
                self._escape_key(ch)
            elif ch in "\r\n":
                if ch == "\n" and self._after_cr:  # the LF of a CR LF
                    self._after_cr = False
                    continue
                self._after_cr = ch == "\r"
                echo.append("\n")
                await self._say("".join(echo))
                line, self.line = "".join(self.line), []
                self._unread(text[i + 1:])
                await self._execute(line)
                await self._say(PROMPT)
                return
            else:
                self._after_cr = False
                echo.append(self._key(ch))
        if echo:
            await self._say("".join(echo))

    def _key(self, ch: str) -> str:
        """One key that is not Enter: what to echo."""
        if ch == "\x1b":
            self._escape = ch
            return ""
        if ch in "\x7f\x08":
            if not self.line:
                return ""
            self.line.pop()
            return "\b \b"
        if ch == "\x03":  # C-c
            self.line = []
            self._interrupted = False
            return f"^C\n{PROMPT}"
        if ch == "\x15":  # C-u
            erased, self.line = len(self.line), []
            return "\b \b" * erased
        if ch == "\x0c":  # C-l
            return f"\x1b[H\x1b[2J{PROMPT}{''.join(self.line)}"
        if ch < " " or len(self.line) >= MAX_LINE:
            return ""
        self.line.append(ch)
        return ch

    def _escape_key(self, ch: str) -> None:
        """Swallow an escape sequence (cursor keys): this shell has no history."""
        self._escape += ch
        if len(self._escape) == 2 and ch in "[O":
            return
        if len(self._escape) > 2 and not "@" <= ch <= "~" and len(self._escape) < MAX_ESCAPE:
            return
        self._escape = ""

    async def _execute(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        self.commands += 1
        name, args = words[0], words[1:]
        command = {
            "help": self._help, "uname": self._uname, "ls": self._ls, "cat": self._cat,
            "echo": self._echo, "clear": self._clear, "dmesg": self._dmesg,
            "uptime": self._uptime_command, "top": self._top, "flood": self._flood,
            "reboot": self._reboot,
        }.get(name)
        if command is None:
            await self._say(f"sh: {name}: not found\n")
            return
        await command(args)

    # -- the commands ----------------------------------------------------------------------

    async def _help(self, args: list[str]) -> None:
        width = max(len(usage) for usage, _ in HELP)
        await self._say("".join(f"  {usage:<{width}}  {text}\n" for usage, text in HELP))

    async def _uname(self, args: list[str]) -> None:
        if "-a" in args:
            await self._say(f"Linux {HOSTNAME} 6.6.30-tuicon #1 SMP PREEMPT armv7l GNU/Linux\n")
        else:
            await self._say("Linux\n")

    async def _ls(self, args: list[str]) -> None:
        await self._say("  ".join(sorted(FILES)) + "\n")

    async def _cat(self, args: list[str]) -> None:
        if not args:
            await self._say("cat: missing file operand (try 'ls')\n")
        for name in args:
            text = FILES.get(name)
            await self._say(text if text is not None else f"cat: {name}: No such file or directory\n")

    async def _echo(self, args: list[str]) -> None:
        await self._say(" ".join(args) + "\n")

    async def _clear(self, args: list[str]) -> None:
        await self._say("\x1b[H\x1b[2J")

    async def _dmesg(self, args: list[str]) -> None:
        await self._say("\n".join(self.kernel_log) + "\n")

    def _uptime_text(self) -> str:
        minutes = int(self._uptime() // 60)
        up = f"{minutes} min" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}"
        return f"{time.strftime('%H:%M:%S')} up {up},  1 user,  load average: 0.08, 0.03, 0.01"

    async def _uptime_command(self, args: list[str]) -> None:
        await self._say(f" {self._uptime_text()}\n")

    async def _top(self, args: list[str]) -> None:
        self.state = "top"
        loop = asyncio.get_running_loop()
        await self._say(ALT_SCREEN_ON)
        frame = 0
        while True:
            await self._say(self._top_frame(frame))
            frame += 1
            deadline = loop.time() + TOP_SECONDS
            while (left := deadline - loop.time()) > 0:
                item = await self._next(left)
                if item is None:
                    break
                if isinstance(item, ChardevEvent):
                    self.kernel_log.append(f"{stamp(self._uptime())} ttyS0: BREAK received")
                elif any(key in item for key in (b"q", b"Q", b"\x03")):
                    await self._say(ALT_SCREEN_OFF)
                    self._interrupted = False
                    self.state = "shell"
                    return

    def _top_frame(self, frame: int) -> str:
        """One screen of top (fits 80x24); the numbers move a little each second."""
        rng = random.Random(frame)
        cpu = [rng.uniform(0, 4) for _ in PROCESSES]
        user = sum(cpu)
        rows = [
            f"top - {self._uptime_text()}",
            f"Tasks: {len(PROCESSES):3d} total,   1 running, {len(PROCESSES) - 1:3d} sleeping,"
            "   0 stopped,   0 zombie",
            f"%Cpu(s): {user:4.1f} us,  1.0 sy,  0.0 ni, {100 - user - 1:4.1f} id,  0.0 wa,"
            "  0.0 hi,  0.0 si",
            "MiB Mem :    512.0 total,    431.2 free,     48.6 used,     32.2 buff/cache",
            "",
            f"{REVERSE}{TOP_HEADER:<79}{RESET}",
        ]
        for pid, (name, load) in enumerate(zip(PROCESSES, cpu), start=1):
            rows.append(TOP_ROW.format(pid=pid * 37 % 900 + 1, virt=2360 + pid * 512,
                                       res=1480 + pid * 64, state="R" if name == "top" else "S",
                                       cpu=load, mem=0.3 + pid / 10,
                                       time=f"0:{frame % 60:02d}.{pid:02d}", name=name))
        rows += ["", f"{BOLD}q{RESET} quits"]
        return "\x1b[H\x1b[2J" + "\n".join(rows)

    async def _flood(self, args: list[str]) -> None:
        count = ascii_number(args[0]) if len(args) == 1 else None
        if count is None or not 1 <= count <= FLOOD_MAX:
            await self._say(f"usage: flood N (N lines, 1 to {FLOOD_MAX})\n")
            return
        self.state = "flood"
        self._interrupted = False
        for first in range(1, count + 1, FLOOD_BATCH):
            last = min(count, first + FLOOD_BATCH - 1)
            await self._say("".join(
                f"{GREEN}{n:>8}{RESET} of {count}: the quick brown fox jumps over the lazy dog\n"
                for n in range(first, last + 1)))
            await asyncio.sleep(0)  # a console that takes everything must not starve the others
            if self._interrupted:
                self._discard_input()
                await self._say("^C\n")
                break
        self.state = "shell"

    async def _reboot(self, args: list[str]) -> None:
        await self._say("The system is going down NOW!\nreboot: Restarting system\n")
        await self._boot()
