"""The readline monitor (``-mon mode=readline``): QEMU's human monitor for chardevs.

A ``(tuicon) `` prompt with line editing (left/right, Home/End, Backspace,
Delete, C-a/C-e style keys are left to the mux, C-u kills the line, C-c
drops it) and history (up/down).  Commands take QEMU's HMP syntax::

    info chardev | info devices
    chardev-add TYPE,id=ID[,...]     chardev-change ID TYPE[,...]
    chardev-remove ID                chardev-send-break ID
    ringbuf_write DEVICE DATA        ringbuf_read DEVICE SIZE
    device_add DRIVER[,id=ID][,...]  device_del ID
    mux-be-attach MUX_BE ID          mux-be-detach MUX_BE ID
    help [COMMAND]                   quit

On a ``mux=on`` chardev it shares the line with other frontends; ``C-a c``
switches, and the prompt is shown again when the monitor gets the focus.
"""

from __future__ import annotations

import asyncio
import codecs
from typing import TYPE_CHECKING, Any

from ..chardev import ChardevEvent
from ..chardev.options import ascii_number, shown
from . import commands
from .base import Monitor
from .commands import CommandError

if TYPE_CHECKING:
    from ..session import Session

PROMPT = "(tuicon) "
BANNER = "tuicon monitor - type 'help' for more information"
HISTORY = 100
MAX_LINE = 1 << 18
"""Characters a line may hold; typing past it is ignored (the line stays bounded)."""
MAX_ESCAPE = 16
"""An escape sequence longer than this is not one tuicon knows: it is dropped."""

HMP_HELP = [
    ("help [command]", "show this help, or one command's"),
    ("info chardev", "list the chardevs: label, filename, state"),
    ("info devices", "list the devices and the chardevs they use"),
    ("chardev-add args", "add a chardev: TYPE,id=ID[,opt=val...] as -chardev"),
    ("chardev-change id args", "swap chardev ID to a new backend: TYPE[,opt=val...]"),
    ("chardev-remove id", "remove a chardev"),
    ("chardev-send-break id", "send a break to the chardev's frontend"),
    ("ringbuf_write device data", "write DATA into a ringbuf"),
    ("ringbuf_read device size", "read (and consume) up to SIZE bytes of a ringbuf"),
    ("device_add driver[,prop=value][,...]", "add a device: bridge (chardev=, peer=), echo (chardev=)"),
    ("device_del id", "remove a device"),
    ("serial_set id setting=value[,...]",
     "change a serial port live: baud, bits, parity, stop, flow; dtr, rts (on/off); break-ms"),
    ("mux-be-attach mux_be id", "make chardev ID a member of mux-be MUX_BE"),
    ("mux-be-detach mux_be id", "take chardev ID out of mux-be MUX_BE (it stays, free to remove)"),
    ("quit", "stop tuicon"),
]


class LineEditor:
    """The line being typed: insert, move, delete, history; returns what to echo.

    The line is a list of characters, so typing at the end costs the same
    whatever the length (a pasted 200,000-character line is linear); an edit
    in the middle redraws only the tail, as a terminal needs.  Lines are
    capped at ``MAX_LINE`` characters; the rest is ignored.
    """

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.cursor = 0
        self.history: list[str] = []
        self._browse = 0
        self._escape = ""

    @property
    def line(self) -> str:
        return "".join(self.chars)

    def key(self, ch: str) -> tuple[str, str | None]:
        """Handle one character: (text to echo, finished line or None)."""
        if self._escape:
            return self._escape_key(ch), None
        if ch in "\r\n":
            return "\r\n", self._finish()
        if ch == "\x1b":
            self._escape = ch
            return "", None
        if ch in "\x7f\x08":
            return self._backspace(), None
        if ch == "\x15":  # C-u
            return self._replace(""), None
        if ch == "\x03":  # C-c
            self.chars, self.cursor = [], 0
            return f"^C\r\n{PROMPT}", None
        if ch < " ":
            return "", None  # other control keys: ignored
        return self._insert(ch), None

    def _finish(self) -> str:
        line = self.line
        self.chars, self.cursor = [], 0
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history = (self.history + [line])[-HISTORY:]
        self._browse = len(self.history)
        return line

    def _escape_key(self, ch: str) -> str:
        self._escape += ch
        seq = self._escape
        if len(seq) < MAX_ESCAPE and (
                seq in ("\x1b[", "\x1bO") or (seq.startswith("\x1b[") and ch.isdigit())):
            return ""  # not complete yet
        self._escape = ""
        final = seq[-1]
        if seq in ("\x1b[A", "\x1bOA"):
            return self._recall(-1)
        if seq in ("\x1b[B", "\x1bOB"):
            return self._recall(+1)
        if final == "C" and self.cursor < len(self.chars):
            self.cursor += 1
            return "\x1b[C"
        if final == "D" and self.cursor > 0:
            self.cursor -= 1
            return "\x1b[D"
        if final == "H" or seq == "\x1b[1~":
            moved, self.cursor = self.cursor, 0
            return "\b" * moved
        if final == "F" or seq == "\x1b[4~":
            rest, self.cursor = "".join(self.chars[self.cursor:]), len(self.chars)
            return rest
        if seq == "\x1b[3~" and self.cursor < len(self.chars):  # Delete
            del self.chars[self.cursor]
            return self._redraw_tail(erase=1)
        return ""

    def _insert(self, ch: str) -> str:
        if len(self.chars) >= MAX_LINE:
            return ""
        if self.cursor == len(self.chars):  # the usual case: typing at the end
            self.chars.append(ch)
            self.cursor += 1
            return ch
        self.chars.insert(self.cursor, ch)
        self.cursor += 1
        return ch + self._redraw_tail(erase=0)

    def _backspace(self) -> str:
        if self.cursor == 0:
            return ""
        self.cursor -= 1
        del self.chars[self.cursor]
        return "\b" + self._redraw_tail(erase=1)

    def _redraw_tail(self, erase: int) -> str:
        tail = self.chars[self.cursor:]
        if not tail:
            return " " * erase + "\b" * erase
        return "".join(tail) + " " * erase + "\b" * (len(tail) + erase)

    def _replace(self, text: str) -> str:
        back = "\b" * self.cursor
        old_len = len(self.chars)
        self.chars, self.cursor = list(text), len(text)
        pad = max(0, old_len - len(text))
        return back + text + " " * pad + "\b" * pad

    def _recall(self, step: int) -> str:
        if not self.history:
            return ""
        self._browse = max(0, min(len(self.history), self._browse + step))
        text = self.history[self._browse] if self._browse < len(self.history) else ""
        return self._replace(text)


class ReadlineMonitor(Monitor):
    mode = "readline"

    def __init__(self, session: Session, chardev_id: str) -> None:
        super().__init__(session, chardev_id)
        self.editor = LineEditor()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def say(self, text: str) -> None:
        self.send(text.replace("\n", "\r\n").encode("utf-8", "replace"))

    async def on_event(self, event: ChardevEvent) -> None:
        if event is ChardevEvent.OPENED and self.focused:
            self.say(f"{BANNER}\n{PROMPT}")
        elif event is ChardevEvent.MUX_IN:
            self.say(f"\n{PROMPT}{self.editor.line}")

    async def on_data(self, data: bytes) -> None:
        # A character split across two reads is decoded once both halves are here.
        text = self._decoder.decode(data)
        echo: list[str] = []  # one send per read, not one per character
        for ch in text:
            out, line = self.editor.key(ch)
            echo.append(out)
            if line is not None:
                self._echo(echo)
                await self.execute(line)
                self.say(PROMPT)
                await asyncio.sleep(0)  # many lines in one read: let the other consoles run
        self._echo(echo)

    def _echo(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        pieces.clear()
        if text:
            self.send(text.encode("utf-8", "replace"))

    async def execute(self, line: str) -> None:
        words = line.strip().split(None, 1)
        if not words:
            return
        name, rest = words[0], (words[1] if len(words) > 1 else "")
        try:
            await commands.guarded(self.ctx, name, lambda: self._command(name, rest))
        except CommandError as err:
            self.say(f"Error: {err.desc}\n")

    async def _command(self, name: str, rest: str) -> None:
        run = lambda cmd, **args: commands.run(self.ctx, cmd, args)  # noqa: E731
        if name == "help":
            self.say(self._help(rest.strip()))
        elif name == "info":
            await self._info(rest.strip())
        elif name == "chardev-add":
            if not rest.strip():
                _usage(name)
            spec = self.session.chardevs.parse(None, rest.strip())
            self._announce(spec.id, await self.session.chardevs.add(None, spec))
        elif name == "chardev-change":
            chardev_id, _, args = rest.strip().partition(" ")
            if not chardev_id or not args.strip():
                _usage(name)
            self._announce(chardev_id, await self.session.chardevs.change(chardev_id, args.strip()))
        elif name in ("chardev-remove", "chardev-send-break", "device_del"):
            (arg,) = _args(name, rest, 1)
            await run(name, id=arg)
        elif name == "ringbuf_write":
            device, _, data = rest.strip().partition(" ")
            if not device or not data:
                _usage(name)
            await run("ringbuf-write", device=device, data=data)
        elif name == "ringbuf_read":
            device, size = _args(name, rest, 2)
            count = ascii_number(size)
            if count is None:
                raise CommandError(f"Parameter 'size' expects a number, not '{shown(size)}'")
            text = await run("ringbuf-read", device=device, size=count)
            self.say(text.replace("\r\n", "\n") + "\n")
        elif name == "device_add":
            await self._device_add(rest.strip())
        elif name == "serial_set":
            # Imported here: loading tuicon.chardev.backends early shadows tuicon.chardev.backends
            # (the registry) with the package of the same name.
            from ..chardev.backends.serial import serial_set_arguments

            chardev_id, _, settings = rest.strip().partition(" ")
            if not chardev_id or not settings.strip():
                _usage(name)
            await run("serial-set", id=chardev_id, **serial_set_arguments(settings.strip()))
        elif name in ("mux-be-attach", "mux-be-detach"):
            mux_be, member = _args(name, rest, 2)
            await run(name, id=mux_be, member=member)
        elif name == "quit":
            await run("quit")
        else:
            raise CommandError(f"unknown command: '{name}' (try 'help')")

    def _announce(self, chardev_id: str, result: dict[str, Any]) -> None:
        if "pty" in result:  # as QEMU prints it
            self.say(f"char device redirected to {result['pty']} (label {chardev_id})\n")

    async def _info(self, what: str) -> None:
        if what == "chardev":
            for info in self.session.chardevs.query():
                self.say(f"{info.label}: filename={info.filename}\n")
        elif what == "devices":
            for device in self.session.devices.query():
                self.say(f"{device['id']}: driver={device['driver']} chardevs={','.join(device['chardevs'])}\n")
        else:
            raise CommandError("info: expected 'chardev' or 'devices'")

    async def _device_add(self, text: str) -> None:
        if not text:
            _usage("device_add")
        await self.session.devices.add_cli(text)

    def _help(self, topic: str) -> str:
        rows = [(usage, text) for usage, text in HMP_HELP if not topic or usage.split()[0] == topic]
        if not rows:
            return f"unknown command: '{topic}'\n"
        width = max(len(usage) for usage, _ in rows)
        return "".join(f"{usage:<{width}}  -- {text}\n" for usage, text in rows)


def _args(name: str, rest: str, count: int) -> list[str]:
    words = rest.split()
    if len(words) != count:
        _usage(name)
    return words


def _usage(name: str) -> Any:
    usage = next((u for u, _ in HMP_HELP if u.split()[0] == name), name)
    raise CommandError(f"usage: {usage}")

