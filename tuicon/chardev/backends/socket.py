"""``socket``: TCP or UNIX stream sockets, as a server (one client at a time) or a client.

QEMU's options and meaning (``chardev/char-socket.c``), including the two
sets of defaults: on the command line a socket is a client unless
``server=on``, and a server waits for its first client unless ``wait=off``;
over QMP ``server`` defaults to true and ``wait`` to false.

* A server listens from creation; with ``wait=on`` creation is held until the
  first client connects (logged, so nobody wonders why start-up stopped).  A
  second client, while one is connected, is told so in one line and closed.
  Servers bind to 127.0.0.1 when no host is given; UNIX socket files are
  private to the user and removed on close.
* A client uses postponed connect: creating it only validates; it connects
  when a frontend attaches.  With ``reconnect=SECONDS`` it keeps retrying
  after a failure or a loss (``CLOSED`` and ``OPENED`` each time); without,
  a failed connect leaves it disconnected and says why.  A hot-swap to a
  client without ``reconnect`` waits for the connection and fails (keeping
  the old backend) if it cannot be made, as in QEMU.
* Output while no peer is connected is dropped and counted (``dropped``),
  as QEMU drops it: a key typed while a VM is down must never reach its next
  boot.  Only while the first connect attempt after an add or a hot-swap is
  under way do writes wait, for at most :data:`HOLD_SECONDS`, so a swap under
  a bridge loses nothing.
* ``telnet=on`` speaks telnet (see :mod:`tuicon.chardev.telnet`).

Data moves through an asyncio Protocol: input beyond what the frontend can
take stops the socket reading until ``accept_input``; output beyond the
transport's high-water mark makes writes partial until it drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
import stat
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import telnet
from ..aio import Signal
from ..chardev import Chardev
from ..errors import ChardevError, InvalidOption
from ..events import ChardevEvent, Feature
from ..options import ascii_number, check_host, option, shown
from ..registry import register
from .streamlink import InputHold, WriteGate

log = logging.getLogger(__name__)

HIGH_WATER = 1 << 20
"""Bytes queued on a connection before writes report back-pressure."""
DEFAULT_HOST = "127.0.0.1"
CLOSE_FLUSH_SECONDS = 2.0
"""How long closing waits for queued output to reach a slow peer."""
HOLD_SECONDS = 5.0
"""Longest writes wait for a client's first connect attempt (after an add or a swap)."""


@dataclass(frozen=True)
class SocketOptions:
    host: str | None = option(None, help="TCP host (servers: address to bind, default 127.0.0.1)")
    port: str | None = option(None, help="TCP port, 0-65535")
    path: str | None = option(None, help="UNIX socket path (instead of host/port)")
    server: bool | None = option(
        None, help="listen for a client; unset: off on the command line, on over QMP"
    )
    wait: bool | None = option(
        None, help="servers: hold start-up until the first client; unset: on on the command"
        " line, off over QMP"
    )
    nodelay: bool = option(
        False, help="TCP: set TCP_NODELAY (send small writes at once) on every connection"
    )
    telnet: bool = option(False, help="speak telnet (negotiate character mode, IAC escaping)")
    reconnect: int = option(0, help="clients: seconds between attempts to (re)connect; 0 = never")
    reconnect_ms: int = option(0, name="reconnect-ms", help="the same in milliseconds")
    ipv4: bool = option(False, help="TCP: IPv4 only")
    ipv6: bool = option(False, help="TCP: IPv6 only")

    def __post_init__(self) -> None:
        if self.path is not None and (self.host is not None or self.port is not None):
            raise InvalidOption("chardev: socket: give either path= or host=/port=, not both",
                                option="path")
        if self.path is not None and not self.path:
            raise InvalidOption("chardev: socket: path= must not be empty", option="path")
        if self.host:
            check_host("host", self.host)
        if self.path is None:
            if self.port is None:
                raise InvalidOption("chardev: socket: no port given", option="port")
            number = ascii_number(self.port)
            if number is None or number > 65535:
                raise InvalidOption(
                    f"chardev: socket: port '{shown(self.port)}' is not a number from 0 to 65535",
                    option="port",
                )
        if self.reconnect < 0 or self.reconnect_ms < 0:
            raise InvalidOption("Parameter 'reconnect' must not be negative", option="reconnect")
        if self.reconnect and self.reconnect_ms:
            raise InvalidOption("'reconnect' and 'reconnect-ms' are mutually exclusive",
                                option="reconnect-ms")
        if self.ipv4 and self.ipv6:
            raise InvalidOption("chardev: socket: ipv4 and ipv6 exclude each other", option="ipv6")
        if not self.server and self.wait:
            raise InvalidOption(
                "'wait' option is incompatible with socket in client connect mode", option="wait"
            )
        if self.server and self.retry_delay:
            raise InvalidOption(
                "'reconnect' option is incompatible with socket in server listen mode",
                option="reconnect",
            )

    @property
    def retry_delay(self) -> float:
        """Seconds between connection attempts of a client; 0 = no retries."""
        return self.reconnect_ms / 1000 if self.reconnect_ms else float(self.reconnect)

    @staticmethod
    def flatten_qapi(data: dict[str, Any]) -> dict[str, Any]:
        """QEMU's ``addr`` member (``{"type": "inet", "data": {...}}``) as flat options."""
        data = dict(data)
        addr = data.pop("addr", None)
        if addr is None:
            return data
        if not isinstance(addr, dict) or addr.get("type") not in ("inet", "unix"):
            raise InvalidOption("Invalid parameter 'addr': expected type 'inet' or 'unix'", option="addr")
        fields = addr.get("data", {k: v for k, v in addr.items() if k != "type"})
        if addr["type"] == "unix":
            data["path"] = fields.get("path")
        else:
            for key in ("host", "port", "ipv4", "ipv6"):
                if key in fields:
                    data[key] = str(fields[key]) if key == "port" else fields[key]
        return data

    @staticmethod
    def nest_qapi(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        if "path" in data:
            data["addr"] = {"type": "unix", "data": {"path": data.pop("path")}}
        else:
            inet = {k: data.pop(k) for k in ("host", "port", "ipv4", "ipv6") if k in data}
            data["addr"] = {"type": "inet", "data": inet}
        return data


class _Connection(asyncio.Protocol):
    """One accepted or made connection; hands everything to its chardev."""

    def __init__(self, chardev: SocketChardev) -> None:
        self.chardev = chardev
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.chardev._connection_made(self)

    def data_received(self, data: bytes) -> None:
        self.chardev._data_received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chardev._connection_lost(self)

    def pause_writing(self) -> None:
        self.chardev.gate.pause()

    def resume_writing(self) -> None:
        self.chardev.gate.resume()


@register()
class SocketChardev(Chardev):
    type_name: ClassVar[str] = "socket"
    summary: ClassVar[str] = "TCP or UNIX socket, server or client (telnet, reconnect)"
    Options = SocketOptions
    peer_can_be_dropped: ClassVar[bool] = True

    @classmethod
    def resolve_options(cls, values: dict[str, Any], given: set[str], source: str) -> dict[str, Any]:
        values = dict(values)
        if "server" not in given:
            values["server"] = source == "qapi"
        if "wait" not in given:
            values["wait"] = source == "cli" and values["server"]
        return values

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        opts = self.options
        self.is_server = bool(opts.server)
        self.postponed_connect = not self.is_server  # type: ignore[misc]
        self.host = opts.host or ("::1" if opts.ipv6 else DEFAULT_HOST)
        self.port = opts.port
        self.conn: _Connection | None = None
        self.peer = ""
        self._listener: socket.socket | None = None
        self._bound_inode: tuple[int, int] | None = None
        self._server: asyncio.Server | None = None
        self._connected = Signal()
        self._lost = Signal()
        self.gate = WriteGate()
        self.hold = InputHold(self, self._input)
        self._decoder: telnet.TelnetDecoder | None = None
        self._connect_failed = False
        if opts.path is not None:
            self.features |= Feature.FD_PASS
        if opts.retry_delay:
            self.features |= Feature.RECONNECTABLE
        self.connecting = False
        """A client's connection attempt is under way."""
        self._hold_until: float | None = None
        """While set, writes wait (the first connect attempt after an add or a swap)."""
        self.filename = self._disconnected_name()

    # -- names ------------------------------------------------------------------------

    def _address(self) -> str:
        opts = self.options
        if opts.path is not None:
            return f"unix:{opts.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'telnet' if opts.telnet else 'tcp'}:{host}:{self.port}"

    def _disconnected_name(self) -> str:
        return f"disconnected:{self._address()}{',server=on' if self.is_server else ''}"

    def _connected_name(self, transport: asyncio.Transport) -> str:
        if self.options.path is not None:
            return f"unix:{self.options.path}{',server=on' if self.is_server else ''}"
        local = transport.get_extra_info("sockname") or ("?", 0)
        peer = transport.get_extra_info("peername") or ("?", 0)
        kind = "telnet" if self.options.telnet else "tcp"

        def fmt(addr: tuple[Any, ...]) -> tuple[str, Any]:
            host = str(addr[0])
            return (f"[{host}]" if ":" in host else host), addr[1]

        lhost, lport = fmt(local)
        phost, pport = fmt(peer)
        listen = ",server=on" if self.is_server else ""
        return f"{kind}:{lhost}:{lport}{listen} <-> {phost}:{pport}"

    # -- server ------------------------------------------------------------------------

    def open(self) -> bool:
        """Servers: listen now (so a taken port fails the add); clients come via connect()."""
        self._listener = self._listen()
        if self.options.path is None:
            self.port = str(self._listener.getsockname()[1])  # port=0: the kernel chose
            self.set_filename(self._disconnected_name())
        self.tasks.spawn(self._serve(self._listener), "listener")
        return False

    def _listen(self) -> socket.socket:
        opts = self.options
        try:
            if opts.path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                with contextlib.suppress(FileNotFoundError):
                    if os.path.exists(opts.path) and _is_socket(opts.path):
                        os.unlink(opts.path)  # a stale socket from an earlier run
                old_umask = os.umask(0o177)  # the socket file is the user's alone
                try:
                    sock.bind(opts.path)
                finally:
                    os.umask(old_umask)
                info = os.stat(opts.path)
                self._bound_inode = (info.st_dev, info.st_ino)
            else:
                family = self._family()
                # The TCP protocol number is what makes asyncio (and accept())
                # treat connections as TCP: TCP_NODELAY is set on them too.
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, int(self.port)))
            sock.listen(4)
            sock.setblocking(False)
        except OSError as err:
            with contextlib.suppress(UnboundLocalError):
                sock.close()
            raise ChardevError(f"Failed to listen on '{self._address()}': {err.strerror or err}") from None
        return sock

    def _family(self) -> socket.AddressFamily:
        if self.options.ipv6 or ":" in self.host:
            return socket.AF_INET6
        return socket.AF_INET

    async def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), sock=sock)

    async def _wait_started(self) -> None:
        if self.is_server and self.options.wait:
            log.info("waiting for connection on: %s", self.filename)
            await self._wait_connected()

    # -- client ------------------------------------------------------------------------

    def init(self) -> None:
        """Clients: validated by the options; nothing is opened before connect()."""

    def connect(self) -> None:
        # Just added or swapped in: what the frontend writes now waits for this attempt.
        self._hold_until = asyncio.get_running_loop().time() + HOLD_SECONDS
        self.tasks.spawn(self._connect_loop(), "connect")

    async def _connect_loop(self) -> None:
        loop = asyncio.get_running_loop()
        opts = self.options
        first_failure = True
        while not self.closed:
            self.connecting = True
            try:
                if opts.path is not None:
                    await loop.create_unix_connection(lambda: _Connection(self), opts.path)
                else:
                    family = socket.AF_INET6 if opts.ipv6 else socket.AF_INET if opts.ipv4 else 0
                    await loop.create_connection(lambda: _Connection(self), self.host,
                                                 int(opts.port), family=family)
                return  # connection_lost restarts this loop when reconnecting
            except OSError as err:
                self._connect_failed = True
                self.set_error(f"Failed to connect to '{self._address()}': {err.strerror or err}")
                self._stop_holding()
                self._connected.fire()  # wake wait_connected to report it
                if first_failure:  # reported once, as QEMU does, not at every retry
                    log.warning("chardev '%s': %s", self.label, self.last_error)
                    first_failure = False
                if not opts.retry_delay:
                    self.connecting = False
                    return
                await asyncio.sleep(opts.retry_delay)

    def _stop_holding(self) -> None:
        """Writes stop waiting: from now on they are dropped until a peer is there."""
        if self._hold_until is not None:
            self._hold_until = None
            self.gate.wake()

    def _holding(self) -> bool:
        if self._hold_until is None:
            return False
        if asyncio.get_running_loop().time() >= self._hold_until:
            self._hold_until = None
            return False
        return True

    async def _wait_connected(self) -> None:
        while self.conn is None:
            if self.closed:
                raise ChardevError(f"Chardev '{self.label}' is closed")
            if self._connect_failed and not self.is_server and not self.options.retry_delay:
                raise ChardevError(self.last_error or f"Chardev '{self.label}' is not connected")
            await self._connected.wait()

    async def ready_for_swap(self) -> None:
        """A client without reconnect must connect before it replaces a backend (QEMU)."""
        if not self.is_server and not self.options.retry_delay:
            await self.wait_connected()

    def _task_failed(self, name: str, exc: BaseException) -> None:
        # Whatever broke, writers must not keep waiting for a connection that won't come.
        self.connecting = False
        self._connect_failed = True
        self._stop_holding()
        self._connected.fire()
        super()._task_failed(name, exc)

    # -- connections ----------------------------------------------------------------------

    def _connection_made(self, conn: _Connection) -> None:
        transport = conn.transport
        assert transport is not None
        if self.conn is not None and _peer_gone(self.conn):
            # The client left while its input was paused (nobody read its EOF).
            self._drop_connection(self.conn)
        if self.conn is not None or self.closed:
            transport.write(f"tuicon: chardev '{self.label}' is busy (one client at a time)\r\n".encode())
            transport.close()
            return
        transport.set_write_buffer_limits(high=HIGH_WATER)
        if self.options.nodelay:
            _set_nodelay(transport)
        self.conn = conn
        self.connecting = False
        self._connect_failed = False
        self._hold_until = None
        self.set_error(None)
        self.gate.resume()
        self.hold.clear()
        self.set_filename(self._connected_name(transport))
        if self.options.telnet:
            self._decoder = telnet.TelnetDecoder()
            transport.write(telnet.OFFER)
        self._connected.fire()
        self.be_event(ChardevEvent.OPENED)

    def _drop_connection(self, conn: _Connection) -> None:
        if conn.transport is not None:
            conn.transport.abort()
        self._connection_lost(conn)

    def _connection_lost(self, conn: _Connection) -> None:
        if conn is not self.conn:
            return  # a refused second client, or one already dropped
        self.conn = None
        self.hold.clear()
        self.gate.wake()
        self._lost.fire()
        if self.closed:
            return
        self.set_filename(self._disconnected_name())
        self.be_event(ChardevEvent.CLOSED)
        if not self.is_server and self.options.retry_delay:
            self.tasks.spawn(self._reconnect_later(), "reconnect")

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(self.options.retry_delay)
        await self._connect_loop()

    def _data_received(self, conn: _Connection, data: bytes) -> None:
        if conn is self.conn:
            self.hold.add(data, conn.transport)

    def _input(self, chunk: bytes) -> None:
        if self._decoder is None:
            self.be_write(chunk)
            return
        for piece in self._decoder.feed(chunk):
            if piece is None:
                self.be_event(ChardevEvent.BREAK)
            else:
                self.be_write(piece)

    def _input_resumed(self) -> None:
        self.hold.flush(self.conn.transport if self.conn is not None else None)

    # -- output ---------------------------------------------------------------------

    def _write(self, data: memoryview) -> int:
        conn = self.conn
        if conn is None or conn.transport is None or conn.transport.is_closing():
            if self._holding():
                return 0  # just added or swapped in, connecting: no loss across a swap
            self.stats.dropped_out += len(data)  # nobody there: as on a dead line
            return len(data)
        if self.gate.paused:
            return 0
        conn.transport.write(telnet.escape(data) if self.options.telnet else data)
        return len(data)

    async def _wait_writable(self) -> None:
        hold_until = self._hold_until
        if self.conn is None and hold_until is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(hold_until):
                    await self.gate.wait(lambda: self.conn is None and self._hold_until is not None)
            return
        await self.gate.wait(lambda: self.gate.paused and self.conn is not None)

    def _disconnect(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            transport = self.conn.transport
            transport.close()
            if transport.get_write_buffer_size():
                # close() waits for the peer to take what is queued: a peer that
                # does not read would keep the connection (and the memory) forever.
                transport.abort()

    # -- lifetime -----------------------------------------------------------------------

    async def _close(self) -> None:
        await self.tasks.close()
        conn = self.conn
        if conn is not None and conn.transport is not None:
            # Flush what was written (a swap must not lose it), but not forever.
            conn.transport.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_FLUSH_SECONDS):
                    while self.conn is conn:
                        await self._lost.wait()
            conn.transport.abort()
        self.conn = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        elif self._listener is not None:
            self._listener.close()
        self._listener = None
        if self.is_server and self.options.path is not None:
            self._unlink_own_socket(self.options.path)
        self._connected.fire()
        self.gate.wake()
        await asyncio.sleep(0)  # let the aborted transport finish closing its socket

    def _unlink_own_socket(self, path: str) -> None:
        # Only the file this listener made: after a swap to the same path the
        # new listener's file is there, and it must stay.
        try:
            info = os.stat(path)
        except OSError:
            return
        if (info.st_dev, info.st_ino) == self._bound_inode:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def describe_extra(self) -> dict[str, Any]:
        return {"server": self.is_server, "connected": self.conn is not None}


def _is_socket(path: str) -> bool:
    return stat.S_ISSOCK(os.stat(path).st_mode)


def _peer_gone(conn: _Connection) -> bool:
    """True when the peer has hung up, even if nobody has read its EOF yet."""
    transport = conn.transport
    if transport is None or transport.is_closing():
        return True
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(0))


def _set_nodelay(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
