"""``serial`` (alias ``tty``): a serial port through pyserial-asyncio, with unplug and return.

The port is opened when a frontend attaches (postponed connect), with
tuicon's line settings (``baud``, ``bits``, ``parity``, ``stop``, ``flow``).
A device that vanishes (USB unplugged, the far end of a pty gone) shows up
as ``connection_lost`` carrying a SerialException; a device path that
disappears while the port still looks fine (a ``/dev/serial/by-id`` link
removed) is noticed by checking the path twice a second.  Either way the
chardev sends ``CLOSED`` and its filename says it is disconnected; with
``reconnect=SECONDS`` (or ``reconnect-ms``) it reopens the port when the
device returns, as tio does, and sends ``OPENED`` again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import termios
from dataclasses import dataclass
from typing import Any, ClassVar

import serial
import serial_asyncio

from ..aio import Signal
from ..chardev import Chardev
from ..errors import ChardevError, InvalidOption
from ..events import ChardevEvent, Feature
from ..options import option
from ..registry import register
from .streamlink import InputHold, WriteGate

log = logging.getLogger(__name__)

HIGH_WATER = 64 * 1024
PATH_CHECK_SECONDS = 0.5
PARITIES = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD,
            "mark": serial.PARITY_MARK, "space": serial.PARITY_SPACE}
STOP_BITS = {"1": serial.STOPBITS_ONE, "1.5": serial.STOPBITS_ONE_POINT_FIVE, "2": serial.STOPBITS_TWO}


@dataclass(frozen=True)
class SerialOptions:
    path: str = option(qapi="device", help="the serial device, e.g. /dev/ttyUSB0 or a /dev/serial/by-id link",
                       cli_required_text="chardev: serial/tty: no device path given")
    baud: int = option(115200, help="line speed in bits per second")
    bits: int = option(8, help="data bits: 5, 6, 7 or 8")
    parity: str = option("none", choices=PARITIES, help="parity")
    stop: str = option("1", choices=STOP_BITS, help="stop bits")
    flow: str = option("none", choices=("none", "rtscts", "xonxoff"), help="flow control")
    reconnect: int = option(0, help="seconds between attempts to reopen a missing device; 0 = never")
    reconnect_ms: int = option(0, name="reconnect-ms", help="the same in milliseconds")

    def __post_init__(self) -> None:
        if not 1 <= self.baud <= 20_000_000:
            raise InvalidOption(f"Parameter 'baud' must be a speed from 1 to 20000000 (got {self.baud})",
                                option="baud")
        if self.bits not in (5, 6, 7, 8):
            raise InvalidOption(f"Parameter 'bits' must be 5, 6, 7 or 8 (got {self.bits})", option="bits")
        if self.reconnect < 0 or self.reconnect_ms < 0:
            raise InvalidOption("Parameter 'reconnect' must not be negative", option="reconnect")
        if self.reconnect and self.reconnect_ms:
            raise InvalidOption("'reconnect' and 'reconnect-ms' are mutually exclusive",
                                option="reconnect-ms")

    @property
    def retry_delay(self) -> float:
        return self.reconnect_ms / 1000 if self.reconnect_ms else float(self.reconnect)


class _Port(asyncio.Protocol):
    def __init__(self, chardev: SerialChardev) -> None:
        self.chardev = chardev
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.chardev._opened(self)

    def data_received(self, data: bytes) -> None:
        self.chardev._data_received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chardev._lost(self, exc)

    def pause_writing(self) -> None:
        self.chardev.gate.pause()

    def resume_writing(self) -> None:
        self.chardev.gate.resume()


@register("tty")
class SerialChardev(Chardev):
    type_name: ClassVar[str] = "serial"
    summary: ClassVar[str] = "serial port (baud, bits, parity, stop, flow; unplug and reconnect)"
    Options = SerialOptions
    postponed_connect: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.port: _Port | None = None
        self.last_error = ""
        self.breaks_sent = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.hold = InputHold(self, self.be_write)
        self.gate = WriteGate()
        self._state_changed = Signal()
        if self.options.retry_delay:
            self.features |= Feature.RECONNECTABLE

    @property
    def settings(self) -> str:
        o = self.options
        flow = "" if o.flow == "none" else f",{o.flow}"
        return f"{o.baud},{o.bits}{o.parity[0].upper()}{o.stop}{flow}"

    def init(self) -> None:
        self.filename = f"disconnected:serial:{self.options.path}"

    def connect(self) -> None:
        self._spawn(self._open_loop())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_loop(self) -> None:
        o = self.options
        loop = asyncio.get_running_loop()
        while not self.closed:
            try:
                await serial_asyncio.create_serial_connection(
                    loop, lambda: _Port(self), o.path, baudrate=o.baud, bytesize=o.bits,
                    parity=PARITIES[o.parity], stopbits=STOP_BITS[o.stop],
                    rtscts=o.flow == "rtscts", xonxoff=o.flow == "xonxoff",
                )
                return
            except (serial.SerialException, OSError, ValueError) as err:
                self._failed(f"cannot open {o.path}: {getattr(err, 'strerror', None) or err}")
                if not o.retry_delay:
                    log.warning("chardev '%s': %s", self.label, self.last_error)
                    return
                await asyncio.sleep(o.retry_delay)

    def _failed(self, error: str) -> None:
        self.last_error = error
        self._state_changed.fire()
        self.gate.wake()

    async def _wait_connected(self) -> None:
        while self.port is None:
            if self.closed:
                raise ChardevError(f"Chardev '{self.label}' is closed")
            if self.last_error and not self.options.retry_delay:
                raise ChardevError(self.last_error)
            await self._state_changed.wait()

    # -- the open port ----------------------------------------------------------------

    def _opened(self, port: _Port) -> None:
        if self.closed:
            port.transport.abort()
            return
        port.transport.set_write_buffer_limits(high=HIGH_WATER)
        self.port = port
        self.last_error = ""
        self.gate.resume()
        self.hold.clear()
        self.set_filename(f"serial:{self.options.path}")
        self._spawn(self._watch_path(port))
        self._state_changed.fire()
        self.be_event(ChardevEvent.OPENED)

    async def _watch_path(self, port: _Port) -> None:
        """Notice a device path that vanished while the port still looks open."""
        while self.port is port:
            await asyncio.sleep(PATH_CHECK_SECONDS)
            if self.port is port and not os.path.exists(self.options.path):
                if not port.transport.is_closing():
                    port.transport.abort()

    def _lost(self, port: _Port, exc: Exception | None) -> None:
        if port is not self.port:
            return
        self.port = None
        self.hold.clear()
        self.gate.wake()
        if self.closed:
            return
        reason = f"{exc}" if exc is not None else "closed"
        self.last_error = f"device lost: {reason}"
        self.set_filename(f"disconnected:serial:{self.options.path}")
        self._state_changed.fire()
        self.be_event(ChardevEvent.CLOSED)
        if self.options.retry_delay:
            self._spawn(self._reopen_later())

    async def _reopen_later(self) -> None:
        await asyncio.sleep(self.options.retry_delay)
        await self._open_loop()

    def _data_received(self, port: _Port, data: bytes) -> None:
        if port is self.port:
            self.hold.add(data, port.transport)

    def _input_resumed(self) -> None:
        self.hold.flush(self.port.transport if self.port is not None else None)

    def _write(self, data: memoryview) -> int:
        port = self.port
        if port is None or port.transport.is_closing():
            return len(data)  # unplugged: output goes nowhere, as on a dead line
        if self.gate.paused:
            return 0
        port.transport.write(bytes(data))
        return len(data)

    async def _wait_writable(self) -> None:
        await self.gate.wait(lambda: self.gate.paused and self.port is not None)

    def _send_break(self) -> None:
        port = self.port
        if port is None:
            return
        fd = port.transport.serial.fd
        # tcsendbreak blocks for the break's length (0.25-0.5 s): not on the loop.
        self._spawn(self._break_in_thread(fd))

    async def _break_in_thread(self, fd: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._break_on, fd)

    def _break_on(self, fd: int) -> None:
        try:
            termios.tcsendbreak(fd, 0)
            self.breaks_sent += 1
        except OSError as err:
            log.warning("chardev '%s': break failed: %s", self.label, err)

    def _disconnect(self) -> None:
        if self.port is not None and not self.port.transport.is_closing():
            self.port.transport.abort()

    async def _close(self) -> None:
        port = self.port
        self.port = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if port is not None and not port.transport.is_closing():
            port.transport.abort()
            await asyncio.sleep(0)  # the transport closes the port on the next turn
        self._state_changed.fire()
        self.gate.wake()

    def describe_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"settings": self.settings, "connected": self.port is not None}
        if self.last_error:
            extra["error"] = self.last_error
        return extra
