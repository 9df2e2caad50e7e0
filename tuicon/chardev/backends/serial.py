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

The line settings are applied one at a time and read back, so a setting the
device or the kernel refuses (or silently ignores: a Linux pty keeps 8 data
bits and no parity) is reported by name in ``error`` and the port stays
closed.  ``chardev-send-break`` sends a line break (``tcsendbreak``) rather
than QEMU's BREAK event to the frontend: at a board's console that is the
SysRq a user wants.

``serial-set`` (:meth:`SerialChardev.apply_settings`, through the manager)
changes the line settings of an open port without closing it: output
already written leaves at the old settings first, then each changed setting
is applied and read back; a refusal puts the old settings back.  No
``CLOSED``/``OPENED``, no byte lost.  It also raises or lowers DTR and RTS
and sends a timed break.  On a port that is not open the settings are kept
for its next open.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import termios
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import serial
import serial_asyncio

from ..aio import Signal, describe_exception
from ..chardev import Chardev, Lifecycle
from ..errors import ChardevError, InvalidOption
from ..events import ChardevEvent, Feature
from ..options import (
    build_options,
    describe,
    option,
    shown,
    split_option_string,
    values_from_cli,
    values_from_qapi,
)
from ..registry import register
from .streamlink import InputHold, WriteGate

log = logging.getLogger(__name__)

HIGH_WATER = 64 * 1024
PATH_CHECK_SECONDS = 0.5
PARITIES = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD,
            "mark": serial.PARITY_MARK, "space": serial.PARITY_SPACE}
STOP_BITS = {"1": serial.STOPBITS_ONE, "1.5": serial.STOPBITS_ONE_POINT_FIVE, "2": serial.STOPBITS_TWO}
FLOWS = ("none", "rtscts", "xonxoff")
LINE_FIELDS = ("baud", "bits", "parity", "stop", "flow")
"""The options ``serial-set`` changes; the rest (path, reconnect) need ``chardev-change``."""
DRAIN_SECONDS = 5.0
"""How long a live change waits for output already written to leave at the old settings
(a line held by flow control keeps its bytes queued: they go out after the change)."""
DRAIN_POLL_SECONDS = 0.005
BREAK_MS_MAX = 10_000
"""The longest timed break: bootloaders that want a held break need a few seconds."""
ABSENT = (errno.ENOENT, errno.ENODEV, errno.ENXIO)
"""Open errors that mean "no device there (yet)", which reconnect waits out."""

# What the termios flags must read back as after each setting (Linux values).
CMSPAR = getattr(termios, "CMSPAR", 0o10000000000)
PARITY_MASK = termios.PARENB | termios.PARODD | CMSPAR
PARITY_FLAGS = {"none": 0, "even": termios.PARENB, "odd": termios.PARENB | termios.PARODD,
                "mark": termios.PARENB | termios.PARODD | CMSPAR, "space": termios.PARENB | CMSPAR}
SIZE_FLAGS = {5: termios.CS5, 6: termios.CS6, 7: termios.CS7, 8: termios.CS8}
IFLAG, CFLAG = 0, 2  # indexes in tcgetattr's list


@dataclass(frozen=True)
class SerialOptions:
    path: str = option(qapi="device", help="the serial device, e.g. /dev/ttyUSB0 or a /dev/serial/by-id link",
                       cli_required_text="chardev: serial/tty: no device path given")
    baud: int = option(115200, help="line speed in bits per second")
    bits: int = option(8, help="data bits: 5, 6, 7 or 8")
    parity: str = option("none", choices=PARITIES, help="parity")
    stop: str = option("1", choices=STOP_BITS, help="stop bits (1.5 only with 5 data bits)")
    flow: str = option("none", choices=FLOWS, help="flow control")
    reconnect: int = option(0, help="seconds between attempts to reopen a missing device; 0 = never")
    reconnect_ms: int = option(0, name="reconnect-ms", help="the same in milliseconds")

    def __post_init__(self) -> None:
        if "://" in self.path:
            raise InvalidOption(f"serial: '{shown(self.path)}' is a pyserial URL; only device paths "
                                "are supported (RFC 2217 is planned)", option="path")
        if not 1 <= self.baud <= 20_000_000:
            raise InvalidOption(f"Parameter 'baud' must be a speed from 1 to 20000000 (got {self.baud})",
                                option="baud")
        if self.bits not in (5, 6, 7, 8):
            raise InvalidOption(f"Parameter 'bits' must be 5, 6, 7 or 8 (got {self.bits})", option="bits")
        if self.stop == "1.5" and self.bits != 5:
            # termios has no 1.5: a UART sends 1.5 stop bits for CSTOPB only at 5 data bits, else 2.
            raise InvalidOption(f"Parameter 'stop' can be 1.5 only with bits=5 (got bits={self.bits})",
                                option="stop")
        if self.reconnect < 0 or self.reconnect_ms < 0:
            raise InvalidOption("Parameter 'reconnect' must not be negative", option="reconnect")
        if self.reconnect and self.reconnect_ms:
            raise InvalidOption("'reconnect' and 'reconnect-ms' are mutually exclusive",
                                option="reconnect-ms")

    @property
    def retry_delay(self) -> float:
        return self.reconnect_ms / 1000 if self.reconnect_ms else float(self.reconnect)


@dataclass(frozen=True)
class SerialSet:
    """What ``serial-set`` takes, any subset of it; None leaves a thing as it is.

    The line settings are checked again as :class:`SerialOptions` once merged
    with the port's (so ``stop=1.5`` still needs ``bits=5``).
    """

    baud: int | None = option(None, help="line speed in bits per second")
    bits: int | None = option(None, help="data bits: 5, 6, 7 or 8")
    parity: str | None = option(None, choices=PARITIES, help="parity")
    stop: str | None = option(None, choices=STOP_BITS, help="stop bits (1.5 only with 5 data bits)")
    flow: str | None = option(None, choices=FLOWS, help="flow control")
    dtr: bool | None = option(None, help="raise (on) or lower (off) DTR; the port must be open")
    rts: bool | None = option(None, help="raise (on) or lower (off) RTS; the port must be open, "
                                         "without flow=rtscts")
    break_ms: int | None = option(None, name="break-ms",
                                  help=f"send a break of this many milliseconds (1 to {BREAK_MS_MAX}); "
                                       "the port must be open")

    def __post_init__(self) -> None:
        if self.break_ms is not None:
            _check_break_ms(self.break_ms)
        if all(getattr(self, info.attr) is None for info in SERIAL_SET_OPTIONS):
            raise InvalidOption("serial-set: nothing to set (give baud, bits, parity, stop, flow, "
                                "dtr, rts or break-ms)")

    def line_changes(self) -> dict[str, Any]:
        """The line settings asked for, as SerialOptions fields."""
        return {name: getattr(self, name) for name in LINE_FIELDS if getattr(self, name) is not None}


SERIAL_SET_OPTIONS = describe(SerialSet)
"""``serial-set``'s table (names, kinds, choices, help): what a form on a serial pane shows."""


def _check_break_ms(value: int) -> None:
    if not 1 <= value <= BREAK_MS_MAX:
        raise InvalidOption(f"Parameter 'break-ms' must be from 1 to {BREAK_MS_MAX} milliseconds "
                            f"(got {value})", option="break-ms")


def parse_serial_set(settings: Mapping[str, Any]) -> SerialSet:
    """``serial-set``'s arguments (QMP names and JSON types) checked as chardev-add checks its own."""
    ms = settings.get("break-ms")
    if isinstance(ms, int) and not isinstance(ms, bool) and ms < 0:
        _check_break_ms(ms)  # its own range, not the generic "0 to 2^64" of any number
    values, _ = values_from_qapi(SERIAL_SET_OPTIONS, settings)
    return build_options(SerialSet, SERIAL_SET_OPTIONS, values, "qapi")


def serial_set_arguments(text: str) -> dict[str, Any]:
    """``baud=9600,parity=even,dtr=off`` (the readline monitor's form) as serial-set's arguments."""
    pairs: dict[str, str] = {}
    for key, value in split_option_string(text):
        if value is None:
            raise InvalidOption(f"Expected '=' after parameter '{shown(key)}'", option=key)
        if key in pairs:
            raise InvalidOption(f"Parameter '{shown(key)}' given more than once", option=key)
        pairs[key] = value
    values, _ = values_from_cli(SERIAL_SET_OPTIONS, pairs)
    qapi_name = {info.attr: info.qapi for info in SERIAL_SET_OPTIONS}
    return {qapi_name[attr]: value for attr, value in values.items()}


# -- opening and configuring the device ---------------------------------------------------


class _OpenFailed(Exception):
    """The port could not be opened or configured; ``absent``: there is no device (yet)."""

    def __init__(self, text: str, *, absent: bool = False) -> None:
        super().__init__(text)
        self.absent = absent


@dataclass(frozen=True)
class _Setting:
    """One line setting: the pyserial attribute to set, and how termios must read it back."""

    attr: str
    value: Any
    what: str
    """The setting as an error names it: ``7 data bits``."""
    field: int | None = None
    """The termios field to read back (None: not checked)."""
    mask: int = 0
    flags: int = 0

    def took(self, attrs: list[Any]) -> bool:
        return self.field is None or attrs[self.field] & self.mask == self.flags


def line_settings(o: SerialOptions) -> list[_Setting]:
    """The settings, in the order they are applied.

    The speed is not read back: a custom speed reads back as ``BOTHER``, not
    as the number; a refused one raises.
    """
    rtscts, xonxoff = o.flow == "rtscts", o.flow == "xonxoff"
    xon = termios.IXON | termios.IXOFF
    return [
        _Setting("baudrate", o.baud, f"baud rate {o.baud}"),
        _Setting("bytesize", o.bits, f"{o.bits} data bits", CFLAG, termios.CSIZE, SIZE_FLAGS[o.bits]),
        _Setting("parity", PARITIES[o.parity], f"{o.parity} parity", CFLAG, PARITY_MASK,
                 PARITY_FLAGS[o.parity]),
        _Setting("stopbits", STOP_BITS[o.stop], "1 stop bit" if o.stop == "1" else f"{o.stop} stop bits",
                 CFLAG, termios.CSTOPB, 0 if o.stop == "1" else termios.CSTOPB),
        _Setting("rtscts", rtscts, f"{'' if rtscts else 'no '}RTS/CTS flow control", CFLAG,
                 termios.CRTSCTS, termios.CRTSCTS if rtscts else 0),
        _Setting("xonxoff", xonxoff, f"{'' if xonxoff else 'no '}XON/XOFF flow control", IFLAG,
                 xon, xon if xonxoff else 0),
    ]


def _errno(err: BaseException) -> int | None:
    """The system error number behind ``err`` (pyserial wraps it; termios.error is no OSError)."""
    for cause in (err, err.__cause__, err.__context__):
        if isinstance(cause, OSError) and cause.errno:
            return cause.errno
        if isinstance(cause, termios.error) and cause.args and isinstance(cause.args[0], int):
            return cause.args[0]
    return None


def _reason(err: BaseException) -> str:
    """Why ``err`` happened, in the system's words (``Invalid argument``) when it has them."""
    code = _errno(err)
    return os.strerror(code) if code else describe_exception(err)


def open_serial(o: SerialOptions) -> serial.Serial:
    """Open the device, then apply each line setting and read it back.

    One setting at a time, so that a refusal names its setting: a kernel may
    refuse a whole ``tcsetattr`` for one value, or accept it and quietly
    keep the old value.  Raises :class:`_OpenFailed`; never leaves the
    device open on failure.
    """
    ser = serial.Serial(timeout=0, write_timeout=0)  # non-blocking, as the transport needs
    ser.port = o.path
    try:
        ser.open()
    except (serial.SerialException, termios.error, ValueError) as err:
        raise _OpenFailed(f"cannot open {o.path}: {_reason(err)}", absent=_errno(err) in ABSENT) from None
    try:
        for setting in line_settings(o):
            _apply(ser, setting, o.path)
    except BaseException:
        ser.close()
        raise
    return ser


def _apply(ser: serial.Serial, setting: _Setting, path: str) -> None:
    try:
        setattr(ser, setting.attr, setting.value)  # pyserial applies it at once (tcsetattr)
        took = setting.took(termios.tcgetattr(ser.fd))
    except (termios.error, OSError, ValueError) as err:
        raise _OpenFailed(f"cannot set {setting.what} on {path}: {_reason(err)}") from None
    if not took:
        raise _OpenFailed(f"cannot set {setting.what} on {path}: the device ignored it")


def _break_line(fd: int) -> str | None:
    """Send a line break on ``fd``, then close it; return why it failed, if it did.

    Runs in a worker thread: ``tcsendbreak`` blocks for the break (0.25-0.5 s).
    """
    try:
        termios.tcsendbreak(fd, 0)
        return None
    except (termios.error, OSError) as err:
        return _reason(err)
    finally:
        os.close(fd)


def _queued_output(transport: Any) -> int:
    """Bytes written but not yet on the line: the transport's buffer and the kernel's."""
    try:
        in_kernel = transport.serial.out_waiting  # TIOCOUTQ
    except (serial.SerialException, termios.error, OSError):
        in_kernel = 0  # a device without the count: the transport's buffer is all we know
    return transport.get_write_buffer_size() + in_kernel


SERIAL_ERRORS = (serial.SerialException, termios.error, OSError, ValueError)
"""What pyserial raises when the device or the kernel refuses something."""


# -- the chardev ---------------------------------------------------------------------------


class _Port(asyncio.Protocol):
    def __init__(self, chardev: SerialChardev) -> None:
        self.chardev = chardev
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # already set (and the port taken) by _open_port

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
    peer_can_be_dropped: ClassVar[bool] = True
    postponed_connect: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.port: _Port | None = None
        self.attempts = 0
        """Open attempts so far, each reconnect try included."""
        self.breaks_sent = 0
        self._awaiting_device = False
        """Between reconnect attempts because the device is absent: wait_connected waits that out."""
        self.hold = InputHold(self, self.be_write)
        self.gate = WriteGate()
        self._state_changed = Signal()
        self._opening = False
        """An open attempt (or the wait before a reopen) is under way."""
        self._output_held = False
        """A live change or a timed break holds the output: writes wait until it is over."""
        self._line_lock = asyncio.Lock()
        """One ``serial-set`` at a time."""
        if self.options.retry_delay:
            self.features |= Feature.RECONNECTABLE

    @property
    def settings(self) -> str:
        o = self.options
        flow = "" if o.flow == "none" else f",{o.flow}"
        return f"{o.baud},{o.bits}{o.parity[0].upper()}{o.stop}{flow}"

    def settings_dict(self) -> dict[str, Any]:
        """The line settings as ``serial-set`` takes them (see SERIAL_SET_OPTIONS for choices)."""
        return {name: getattr(self.options, name) for name in LINE_FIELDS}

    @property
    def _disconnected_name(self) -> str:
        return f"disconnected:serial:{self.options.path}"

    def init(self) -> None:
        self.filename = self._disconnected_name

    def connect(self) -> None:
        self._start_opening("open")

    def _start_opening(self, name: str, delay: float = 0.0) -> None:
        self._opening = True
        self.tasks.spawn(self._open_loop(delay), name)

    async def _open_loop(self, delay: float = 0.0) -> None:
        """Open the port; with reconnect, try again every ``retry_delay`` until it opens."""
        retry = self.options.retry_delay
        try:
            if delay:
                await asyncio.sleep(delay)
            while True:
                self.attempts += 1
                try:
                    await self._open_port()
                    return
                except _OpenFailed as failure:
                    self._failed(str(failure), awaiting_device=failure.absent and bool(retry))
                if not retry:
                    log.warning("chardev '%s': %s", self.label, self.last_error)
                    return
                await asyncio.sleep(retry)
        finally:
            self._opening = False

    async def _open_port(self) -> None:
        ser = open_serial(self.options)
        port = _Port(self)
        try:
            port.transport, _ = await serial_asyncio.connection_for_serial(
                asyncio.get_running_loop(), lambda: port, ser)
        except (termios.error, OSError, ValueError) as err:
            ser.close()
            raise _OpenFailed(f"cannot open {self.options.path}: {_reason(err)}") from None
        except BaseException:
            ser.close()
            raise
        self._opened(port)

    def _failed(self, error: str, *, awaiting_device: bool = False) -> None:
        """The port is not open: say why, and let waiters and writers look again."""
        self._awaiting_device = awaiting_device
        self.set_error(error)
        self._state_changed.fire()
        self.gate.wake()

    async def _wait_connected(self) -> None:
        while self.port is None:
            if self.closed:
                raise ChardevError(f"Chardev '{self.label}' is closed")
            if self.last_error and not self._awaiting_device:
                raise ChardevError(self.last_error)
            await self._state_changed.wait()

    # -- the open port ----------------------------------------------------------------

    def _opened(self, port: _Port) -> None:
        port.transport.set_write_buffer_limits(high=HIGH_WATER)
        self.port = port
        self._awaiting_device = False
        self.set_error(None)
        self.gate.resume()
        self.hold.clear()
        self.set_filename(f"serial:{self.options.path}")
        self.tasks.spawn(self._watch_path(port), "path watcher")
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
        retry = self.options.retry_delay
        reason = describe_exception(exc) if exc is not None else "closed"
        self._failed(f"device lost: {reason}", awaiting_device=bool(retry))
        self.set_filename(self._disconnected_name)
        self.be_event(ChardevEvent.CLOSED)
        if retry:
            self._start_opening("reopen", delay=retry)

    def _task_failed(self, name: str, exc: BaseException) -> None:
        """A task died (a bug): drop the port, say CLOSED, let waiters and writers see the error."""
        port, self.port = self.port, None
        if port is not None and not port.transport.is_closing():
            port.transport.abort()
        self.hold.clear()
        self._awaiting_device = False
        self.set_filename(self._disconnected_name)
        super()._task_failed(name, exc)
        self._state_changed.fire()
        self.gate.wake()

    def _data_received(self, port: _Port, data: bytes) -> None:
        if port is self.port:
            self.hold.add(data, port.transport)

    def _input_resumed(self) -> None:
        self.hold.flush(self.port.transport if self.port is not None else None)

    def _write(self, data: memoryview) -> int:
        port = self.port
        if port is None or port.transport.is_closing():
            return len(data)  # unplugged: output goes nowhere, as on a dead line
        if self.gate.paused or self._output_held:
            return 0
        port.transport.write(bytes(data))
        return len(data)

    async def _wait_writable(self) -> None:
        await self.gate.wait(lambda: (self.gate.paused or self._output_held) and self.port is not None)

    # -- serial-set: live line settings, modem lines, timed breaks ----------------------

    async def apply_settings(self, settings: Mapping[str, Any]) -> None:
        """``serial-set``: change the line settings, set DTR/RTS, send a timed break, in that order.

        ``settings`` uses serial-set's names and JSON types (``break-ms``).  On
        an open port the line settings change live, all or none: a refused
        one leaves the old ones in place and raises with its reason.  On a
        port that is not open they are kept for its next open, and a port
        whose open failed (a refused setting, a lost device) tries again.
        DTR, RTS and the break need the open port.  The chardev's spec takes
        the new settings, so a profile saved afterwards has them.
        """
        request = parse_serial_set(settings)
        async with self._line_lock:
            new = replace(self.options, **request.line_changes())  # SerialOptions checks them
            self._check_port_actions(request, new)
            if new != self.options:
                if self.port is not None:
                    await self._change_line(self.port, new)
                self.options = new
                self.spec = replace(self.spec, options=new)
                if self.port is None:
                    self._open_again()
            for name, on in (("dtr", request.dtr), ("rts", request.rts)):
                if on is not None:
                    self._set_modem_line(name, on)
            if request.break_ms is not None:
                await self._timed_break(request.break_ms)

    def _check_port_actions(self, request: SerialSet, new: SerialOptions) -> None:
        """Refuse what cannot work before anything is changed."""
        path = self.options.path
        wanted = [_modem_action(name, on) for name, on in (("dtr", request.dtr), ("rts", request.rts))
                  if on is not None]
        if request.break_ms is not None:
            wanted.append("send a break")
        if wanted and self.port is None:
            raise ChardevError(f"cannot {wanted[0]} on {path}: the port is not open")
        if request.rts is not None and new.flow == "rtscts":
            raise ChardevError(f"cannot {_modem_action('rts', request.rts)} on {path}: RTS/CTS flow "
                               "control drives it (set flow=none first)")

    async def _change_line(self, port: _Port, new: SerialOptions) -> None:
        """Apply what differs in ``new`` to the open port, or put the old settings back and raise."""
        changed = [s for s in line_settings(new) if s not in line_settings(self.options)]
        async with self._holding_output(port):
            if port is not self.port:
                return  # lost meanwhile: the settings are for the next open
            ser = port.transport.serial
            before = ser.get_settings()
            try:
                for setting in changed:
                    _apply(ser, setting, new.path)
            except _OpenFailed as failure:
                self._restore(ser, before)
                raise ChardevError(str(failure)) from None

    def _restore(self, ser: serial.Serial, before: dict[str, Any]) -> None:
        try:
            ser.apply_settings(before)  # pyserial sets back only what differs
        except SERIAL_ERRORS as err:
            self.set_error(f"cannot restore the line settings of {self.options.path}: {_reason(err)}")
            log.warning("chardev '%s': %s", self.label, self.last_error)

    @contextlib.asynccontextmanager
    async def _holding_output(self, port: _Port) -> AsyncIterator[None]:
        """Hold new output and let what was already written leave first.

        Bytes still queued when the line changes would go out at the new speed
        (garbled) or into a break (lost); held, the frontend's writes simply
        wait and go out afterwards.  Input is read all along.
        """
        self._output_held = True
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_SECONDS
            while port is self.port and _queued_output(port.transport) and loop.time() < deadline:
                await asyncio.sleep(DRAIN_POLL_SECONDS)  # no event says "the kernel queue is empty"
            yield
        finally:
            self._output_held = False
            self.gate.wake()

    def _open_again(self) -> None:
        """A port that is connected-to but not open, and not about to retry, tries the new settings."""
        if self.lifecycle is Lifecycle.ACTIVE and self.port is None and not self._opening:
            self.set_error(None)  # waiters wait for this attempt, not for the old failure
            self._start_opening("open")

    def _set_modem_line(self, name: str, on: bool) -> None:
        port = self._require_port(_modem_action(name, on))
        try:
            setattr(port.transport.serial, name, on)  # pyserial: TIOCMBIS / TIOCMBIC
        except SERIAL_ERRORS as err:
            raise ChardevError(f"cannot {_modem_action(name, on)} on {self.options.path}: "
                               f"{_reason(err)}") from None

    async def _timed_break(self, milliseconds: int) -> None:
        """Hold the line in break for ``milliseconds`` (TIOCSBRK ... TIOCCBRK).

        The wait is the loop's, not a thread's: nothing blocks, and a cancelled
        command (tuicon closing) ends the break at once.
        """
        port = self._require_port("send a break")
        path = self.options.path
        async with self._holding_output(port):
            port = self._require_port("send a break")  # still the same port after the wait?
            ser = port.transport.serial
            try:
                ser.break_condition = True
            except SERIAL_ERRORS as err:
                raise ChardevError(f"cannot send a break on {path}: {_reason(err)}") from None
            try:
                await asyncio.sleep(milliseconds / 1000)
            finally:
                failure = self._end_break(port)
        if failure is not None:
            raise ChardevError(failure)
        self.breaks_sent += 1

    def _end_break(self, port: _Port) -> str | None:
        if port is not self.port or port.transport.is_closing():
            return f"cannot send a break on {self.options.path}: the port closed during the break"
        try:
            port.transport.serial.break_condition = False
        except SERIAL_ERRORS as err:
            return f"cannot end the break on {self.options.path}: {_reason(err)}"
        return None

    def _require_port(self, action: str) -> _Port:
        if self.port is None or self.port.transport.is_closing():
            raise ChardevError(f"cannot {action} on {self.options.path}: the port is not open")
        return self.port

    # -- breaks ----------------------------------------------------------------------

    def send_break_command(self) -> None:
        """``chardev-send-break``: a line break on the port, not QEMU's BREAK to the frontend
        (at a board's console the line break is what a user means: SysRq)."""
        self._send_break()

    def _send_break(self) -> None:
        if self.port is not None:
            self.tasks.spawn(self._line_break(self.port), "line break")

    async def _line_break(self, port: _Port) -> None:
        if port is not self.port or port.transport.is_closing():
            return
        # The thread gets its own descriptor, which it closes: closing the port
        # meanwhile cannot pull the descriptor away from under it.
        fd = os.dup(port.transport.serial.fd)
        done = asyncio.get_running_loop().run_in_executor(None, _break_line, fd)
        try:
            failure = await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])  # closing: the break ends within half a second
            raise
        if failure is not None:
            self.set_error(f"cannot send a break on {self.options.path}: {failure}")
            log.warning("chardev '%s': %s", self.label, self.last_error)
            return
        self.breaks_sent += 1
        if self.port is port:
            self.set_error(None)  # while the port is open, a failed break is its only possible error

    # -- closing -----------------------------------------------------------------------

    def _disconnect(self) -> None:
        if self.port is not None and not self.port.transport.is_closing():
            self.port.transport.abort()

    async def _close(self) -> None:
        # Tasks first (the base class would do it after this): no open attempt
        # may open a port behind this close, and a break in progress ends first.
        await self.tasks.close()
        port, self.port = self.port, None
        if port is not None and not port.transport.is_closing():
            port.transport.abort()
            await asyncio.sleep(0)  # the transport closes the port on the next turn
        self._state_changed.fire()
        self.gate.wake()

    def describe_extra(self) -> dict[str, Any]:
        return {"settings": self.settings, "connected": self.port is not None}


def _modem_action(name: str, on: bool) -> str:
    """``raise DTR`` / ``lower RTS``: a modem line change as an error names it."""
    return f"{'raise' if on else 'lower'} {name.upper()}"
