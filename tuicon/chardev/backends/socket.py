"""``socket``: TCP or UNIX stream sockets, as a server (one client or several) or a client.

QEMU's options and meaning (``chardev/char-socket.c``), including the two
sets of defaults: on the command line a socket is a client unless
``server=on``, and a server waits for its first client unless ``wait=off``;
over QMP ``server`` defaults to true and ``wait`` to false.

* A server listens from creation; with ``wait=on`` creation is held until the
  first client connects (logged, so nobody wonders why start-up stopped).
  It takes ``max-clients`` clients at once (default 1, as QEMU); one more is
  told so in one line and closed.  Servers bind to 127.0.0.1 when no host is
  given; UNIX socket files are private to the user and removed on close.
* Sharing (``max-clients`` > 1): output goes to every client; ``OPENED``
  comes with the first client and ``CLOSED`` after the last.  A client whose
  queued output stays above :data:`HIGH_WATER` for ``stall-ms`` is cut loose
  (mux-be's rule): the others go on, it misses bytes, and when it drains it
  is told ``[tuicon: N bytes dropped]`` and rejoins at the current position.
  With one client its pace is the console's pace, as in QEMU.
* ``writers=all|one|none`` says whose input reaches the frontend: every
  client's, only the writer's (conserver's arbitration: the first client,
  then the longest-connected one when it leaves, or whoever
  :meth:`SocketChardev.hand_write_role` names), or nobody's (a read-only
  port).  A reader's input is discarded with a one-line notice, at most one
  every :data:`NOTICE_SECONDS`.
* ``replay=SIZE`` keeps the last SIZE bytes of output (also those written
  while nobody was connected) and sends them to each new client before the
  live stream (see :mod:`tuicon.chardev.replay`).
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
* ``telnet=on`` speaks telnet (see :mod:`tuicon.chardev.telnet`), with each
  client.

Data moves through an asyncio Protocol per connection: input beyond what the
frontend can take stops that socket reading until ``accept_input``; output
beyond a transport's high-water mark makes writes partial until it drains
(or, when sharing, until the slow client is cut loose).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
import stat
import struct
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from .. import telnet
from ..aio import Signal
from ..chardev import Change, Chardev
from ..errors import ChardevError, ChardevStateError, InvalidOption
from ..events import ChardevEvent, Feature
from ..options import Kind, ascii_number, check_host, option, shown
from ..registry import register
from ..replay import ReplayRing, check_replay_size
from .streamlink import InputHold, WriteGate

log = logging.getLogger(__name__)

HIGH_WATER = 1 << 20
"""Bytes queued on a connection before writes report back-pressure."""
DEFAULT_HOST = "127.0.0.1"
CLOSE_FLUSH_SECONDS = 2.0
"""How long closing waits for queued output to reach a slow peer."""
HOLD_SECONDS = 5.0
"""Longest writes wait for a client's first connect attempt (after an add or a swap)."""
MAX_CLIENTS = 1024
"""The most clients one server takes (each is a descriptor and up to HIGH_WATER of memory)."""
NOTICE_SECONDS = 2.0
"""At most one 'input discarded' notice per reader in this time (a held-down key is one)."""
WRITERS = ("all", "one", "none")
SERVER_ONLY = {"max-clients": 1, "writers": "all", "replay": 0, "stall-ms": 2000}
"""Options that only a server takes, with their defaults."""


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
    max_clients: int = option(
        1, name="max-clients",
        help=f"servers: clients at once, 1-{MAX_CLIENTS}; output goes to all (1 = QEMU: one"
        " more is told busy)",
    )
    writers: str = option(
        "all", choices=WRITERS,
        help="servers: whose input reaches the frontend: all, one (the first client; the others"
        " read until the writer leaves or hands over), none (a read-only port)",
    )
    replay: int = option(
        0, kind=Kind.SIZE,
        help="servers: a new client first gets the last SIZE bytes of output (64K, 1M; at most"
        " 64M); 0 = none",
    )
    stall_ms: int = option(
        2000, name="stall-ms",
        help="servers with max-clients > 1: cut loose a client that takes nothing for this long"
        " (ms) instead of waiting for it; 0 = wait for every client",
    )

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
        if not 1 <= self.max_clients <= MAX_CLIENTS:
            raise InvalidOption(
                f"Parameter 'max-clients' must be a number from 1 to {MAX_CLIENTS}"
                f" (got {self.max_clients})", option="max-clients",
            )
        check_replay_size(self.replay)
        if not self.server:
            for name, default in SERVER_ONLY.items():
                if getattr(self, name.replace("-", "_")) != default:
                    raise InvalidOption(
                        f"'{name}' option is only for socket servers (server=on)", option=name
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
    """One accepted or made connection, and what the chardev knows of it as a client."""

    def __init__(self, chardev: SocketChardev) -> None:
        self.chardev = chardev
        self.transport: asyncio.Transport | None = None
        self.accepted = False
        """Taken by the chardev (not a client refused as busy)."""
        self.number = 0
        """The client's number on its server: 1 for the first, counting up, never reused."""
        self.address = ""
        self.since = 0.0
        self.bytes_in = 0
        self.bytes_out = 0
        self.writer = True
        """Its input reaches the frontend (``writers=``)."""
        self.discarded = 0
        """Input bytes thrown away because it is a reader."""
        self.noticed_at: float | None = None
        """When it was last told its input is discarded (the notice is rate-limited)."""
        self.paused = False
        """Its transport holds more than HIGH_WATER of output."""
        self.paused_since = 0.0
        self.cut = False
        """Cut loose (sharing): skipped until its queue drains."""
        self.missed = 0
        """Bytes it missed since it was cut loose."""
        self.dropped = 0
        """Bytes it missed in earlier cuts (it was told of those)."""
        self.decoder: telnet.TelnetDecoder | None = None
        self.hold = InputHold(chardev, self._input)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.chardev._connection_made(self)

    def data_received(self, data: bytes) -> None:
        self.chardev._data_received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chardev._connection_lost(self)

    def pause_writing(self) -> None:
        self.paused = True
        self.paused_since = asyncio.get_running_loop().time()
        self.chardev._update_gate()

    def resume_writing(self) -> None:
        self.paused = False
        self.chardev._writing_resumed(self)

    def _input(self, chunk: bytes) -> None:
        self.chardev._input(self, chunk)

    def tell(self, text: str) -> None:
        """Give this client one line from tuicon (not console output)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(f"\r\n[tuicon: {text}]\r\n".encode())

    def describe(self) -> dict[str, Any]:
        return {
            "client": self.number,
            "address": self.address,
            "since": datetime.fromtimestamp(self.since).astimezone().isoformat(timespec="milliseconds"),
            "bytes-in": self.bytes_in,
            "bytes-out": self.bytes_out,
            "role": "writer" if self.writer else "reader",
            "stalled": self.cut,
            "dropped": self.dropped + self.missed,
            "discarded": self.discarded,
        }


@register()
class SocketChardev(Chardev):
    type_name: ClassVar[str] = "socket"
    summary: ClassVar[str] = "TCP or UNIX socket, server or client (telnet, reconnect, sharing)"
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
        self.clients: list[_Connection] = []
        """The connections, oldest first (a client socket has at most one)."""
        self._numbered = 0
        self.client_event: dict[str, Any] | None = None
        """The client that just came or went (``{"client": N, "address": ...}``), for events."""
        self.keeps_history = bool(self.options.replay)
        self._replay = ReplayRing(opts.replay) if opts.replay else None
        self._listener: socket.socket | None = None
        self._bound_inode: tuple[int, int] | None = None
        self._server: asyncio.Server | None = None
        self._connected = Signal()
        self._lost = Signal()
        self.gate = WriteGate()
        """Paused while a client's queue is full (and it is not cut loose)."""
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

    @property
    def conn(self) -> _Connection | None:
        """The oldest connection, if any."""
        return self.clients[0] if self.clients else None

    @property
    def sharing(self) -> bool:
        """Several clients may be connected: a slow one is cut loose, not waited for."""
        return self.options.max_clients > 1

    # -- names ------------------------------------------------------------------------

    def _address(self) -> str:
        opts = self.options
        if opts.path is not None:
            return f"unix:{opts.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'telnet' if opts.telnet else 'tcp'}:{host}:{self.port}"

    def _disconnected_name(self) -> str:
        return f"disconnected:{self._address()}{',server=on' if self.is_server else ''}"

    def _connected_name(self) -> str:
        oldest = self.clients[0].transport
        assert oldest is not None
        more = f" (+{len(self.clients) - 1} more)" if len(self.clients) > 1 else ""
        if self.options.path is not None:
            return f"unix:{self.options.path}{',server=on' if self.is_server else ''}{more}"
        local = oldest.get_extra_info("sockname") or ("?", 0)
        kind = "telnet" if self.options.telnet else "tcp"
        listen = ",server=on" if self.is_server else ""
        return f"{kind}:{_host_port(local)}{listen} <-> {self.clients[0].address}{more}"

    def _peer_address(self, transport: asyncio.Transport) -> str:
        if self.options.path is None:
            return _host_port(transport.get_extra_info("peername") or ("?", 0))
        pid = _peer_pid(transport)
        return f"unix:{self.options.path}" + (f" (pid {pid})" if pid else "")

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
        while not self.clients:
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
        if len(self.clients) >= self.options.max_clients:
            for old in list(self.clients):
                if _peer_gone(old):
                    # That client left while its input was paused (nobody read its EOF).
                    self._drop_connection(old)
        if len(self.clients) >= self.options.max_clients or self.closed:
            transport.write(self._busy_text().encode())
            transport.close()
            return
        transport.set_write_buffer_limits(high=HIGH_WATER)
        if self.options.nodelay:
            _set_nodelay(transport)
        self._numbered += 1
        conn.accepted = True
        conn.number = self._numbered
        conn.address = self._peer_address(transport)
        conn.since = time.time()
        writer = self._writer()
        conn.writer = self.options.writers == "all" or (self.options.writers == "one" and writer is None)
        first = not self.clients
        self.clients.append(conn)
        self.connecting = False
        self._connect_failed = False
        self._hold_until = None
        self.set_error(None)
        self._update_gate()
        self.gate.wake()  # writes held for this connection go now
        if self.options.telnet:
            conn.decoder = telnet.TelnetDecoder()
            transport.write(telnet.OFFER)
        if writer is not None and not conn.writer:
            conn.tell(f"you are a reader: client {writer.number} ({writer.address}) has the"
                      " write role")
        self._send_history(conn)
        self.set_filename(self._connected_name())
        self._client_changed(Change.CLIENT_CONNECTED, conn)
        self._connected.fire()
        if first:
            self.be_event(ChardevEvent.OPENED)

    def _busy_text(self) -> str:
        most = self.options.max_clients
        limit = "one client at a time" if most == 1 else f"{most} clients at most"
        return f"tuicon: chardev '{self.label}' is busy ({limit})\r\n"

    def _send_history(self, conn: _Connection) -> None:
        """A new client first gets the recorded output; live output follows, seamlessly."""
        if self._replay is None or conn.transport is None:
            return
        history = self._replay.contents()
        if history:
            conn.transport.write(telnet.escape(history) if self.options.telnet else history)
            conn.bytes_out += len(history)

    def _client_changed(self, change: Change, conn: _Connection) -> None:
        if self.is_server:
            self.client_event = {"client": conn.number, "address": conn.address}
            self._notify(change)

    def _drop_connection(self, conn: _Connection) -> None:
        if conn.transport is not None:
            conn.transport.abort()
        self._connection_lost(conn)

    def _connection_lost(self, conn: _Connection) -> None:
        if conn not in self.clients:
            return  # a refused client, or one already dropped
        self.clients.remove(conn)
        conn.hold.clear()
        self._update_gate()
        self.gate.wake()
        self._lost.fire()
        if self.closed:
            return
        if conn.writer and self.options.writers == "one" and self.clients:
            self._promote(self.clients[0], f"client {conn.number} (the writer) left; you are the"
                          " writer now")
        self._client_changed(Change.CLIENT_DISCONNECTED, conn)
        if self.clients:
            self.set_filename(self._connected_name())
            return
        self.set_filename(self._disconnected_name())
        self.be_event(ChardevEvent.CLOSED)
        if not self.is_server and self.options.retry_delay:
            self.tasks.spawn(self._reconnect_later(), "reconnect")

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(self.options.retry_delay)
        await self._connect_loop()

    # -- who may write --------------------------------------------------------------------

    def _writer(self) -> _Connection | None:
        """The client with the write role (``writers=one``), if any."""
        return next((c for c in self.clients if c.writer), None)

    def _promote(self, conn: _Connection, text: str) -> None:
        conn.writer = True
        conn.tell(text)
        self._notify(Change.CLIENTS)

    def _demote(self, conn: _Connection, text: str) -> None:
        conn.writer = False
        conn.discarded += len(conn.hold.pending)  # typed as writer, not yet taken: not sent late
        conn.hold.clear()
        if conn.transport is not None and not conn.transport.is_closing():
            conn.transport.resume_reading()  # a reader's input is read (and discarded) at once
        conn.tell(text)

    def hand_write_role(self, number: int) -> None:
        """Give the write role to client ``number`` (``chardev-client-writer``, writers=one)."""
        if not self.is_server:
            raise ChardevStateError(f"Chardev '{self.label}' is a socket client, not a server")
        mode = self.options.writers
        if mode != "one":
            raise ChardevStateError(
                f"Chardev '{self.label}' has writers={mode}: only writers=one has a write role"
                " to hand over"
            )
        conn = self._client(number)
        old = self._writer()
        if old is conn:
            return
        if old is not None:
            self._demote(old, f"client {number} ({conn.address}) has taken the write role; you"
                         " are a reader now")
        self._promote(conn, "you have been given the write role; you are the writer now")

    def _client(self, number: int) -> _Connection:
        conn = next((c for c in self.clients if c.number == number), None)
        if conn is None:
            numbers = ", ".join(str(c.number) for c in self.clients) or "none"
            raise ChardevError(f"Chardev '{self.label}' has no client {number} (clients: {numbers})")
        return conn

    def disconnect_client(self, number: int) -> None:
        """Drop client ``number`` (the UI's disconnect): it is told why, the others go on.

        What follows is what any client leaving causes: the writer role passes
        on, ``CLIENT_DISCONNECTED``, and ``CLOSED`` after the last one.
        """
        conn = self._client(number)
        conn.tell("disconnected by tuicon's operator")
        transport = conn.transport
        if transport is not None:
            transport.close()  # the notice goes first ...
            if transport.get_write_buffer_size():
                transport.abort()  # ... unless it could only wait in a full queue

    # -- input ----------------------------------------------------------------------------

    def _data_received(self, conn: _Connection, data: bytes) -> None:
        if not conn.accepted:
            return
        conn.bytes_in += len(data)
        if conn.writer:
            conn.hold.add(data, conn.transport)
        else:
            self._reader_input(conn, data)

    def _input(self, conn: _Connection, chunk: bytes) -> None:
        if conn.decoder is None:
            self.be_write(chunk)
            return
        for piece in conn.decoder.feed(chunk):
            if piece is None:
                self.be_event(ChardevEvent.BREAK)
            else:
                self.be_write(piece)

    def _reader_input(self, conn: _Connection, data: bytes) -> None:
        """A reader typed: nothing reaches the frontend; it is told (not at every key)."""
        pieces = conn.decoder.feed(data) if conn.decoder is not None else [data]
        count = sum(1 if piece is None else len(piece) for piece in pieces)
        if not count:
            return  # telnet negotiation only
        conn.discarded += count
        now = asyncio.get_running_loop().time()
        if conn.noticed_at is not None and now - conn.noticed_at < NOTICE_SECONDS:
            return
        conn.noticed_at = now
        if self.options.writers == "none":
            conn.tell("input discarded: this port is read-only")
        else:
            writer = self._writer()
            who = f"client {writer.number} ({writer.address}) writes" if writer else "nobody writes"
            conn.tell(f"input discarded: you are a reader; {who}")

    def _input_resumed(self) -> None:
        for conn in self.clients:
            if conn.writer:
                conn.hold.flush(conn.transport)

    # -- output ---------------------------------------------------------------------

    def _write(self, data: memoryview) -> int:
        clients = self.clients
        if not clients or all(c.transport is None or c.transport.is_closing() for c in clients):
            if self._holding():
                return 0  # just added or swapped in, connecting: no loss across a swap
            self.stats.dropped_out += len(data)  # nobody there: as on a dead line
            if self._replay is not None:
                self._replay.record(data)
            return len(data)
        if self.gate.paused and not self._cut_stalled():
            return 0
        out = telnet.escape(data) if self.options.telnet else data
        for conn in clients:
            transport = conn.transport
            if conn.cut:
                conn.missed += len(data)
            elif transport is not None and not transport.is_closing():
                transport.write(out)
                conn.bytes_out += len(data)
        if self._replay is not None:
            self._replay.record(data)
        return len(data)

    def _update_gate(self) -> None:
        """Writes wait while a client that is not cut loose has a full queue."""
        if any(c.paused and not c.cut for c in self.clients):
            self.gate.pause()
        elif self.gate.paused:
            self.gate.resume()

    def _stall_due(self) -> float | None:
        """When the first blocking client has stalled for ``stall-ms`` (sharing only)."""
        if not self.sharing or not self.options.stall_ms:
            return None
        stalled = [c.paused_since for c in self.clients if c.paused and not c.cut]
        return min(stalled) + self.options.stall_ms / 1000 if stalled else None

    def _cut_stalled(self) -> bool:
        """Cut loose the clients stalled too long; True when no client blocks writes any more."""
        due = self._stall_due()
        if due is None or asyncio.get_running_loop().time() < due:
            return False
        limit = asyncio.get_running_loop().time() - self.options.stall_ms / 1000
        for conn in self.clients:
            if conn.paused and not conn.cut and conn.paused_since <= limit:
                conn.cut = True
                log.info("chardev '%s': client %d (%s) took nothing for %d ms: cut loose",
                         self.label, conn.number, conn.address, self.options.stall_ms)
        self._update_gate()
        self._notify(Change.CLIENTS)
        return not self.gate.paused

    def _writing_resumed(self, conn: _Connection) -> None:
        """A client's queue drained: a cut-loose one is told what it missed and rejoins."""
        if conn.cut:
            conn.cut = False
            conn.tell(f"{conn.missed} bytes dropped")
            conn.dropped += conn.missed
            conn.missed = 0
            self._notify(Change.CLIENTS)
        self._update_gate()

    async def _wait_writable(self) -> None:
        hold_until = self._hold_until
        if not self.clients and hold_until is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(hold_until):
                    await self.gate.wait(lambda: not self.clients and self._hold_until is not None)
            return
        due = self._stall_due()
        with contextlib.suppress(TimeoutError):
            # Sharing: wake when the slow client's time is up, so the next write cuts it loose.
            async with asyncio.timeout_at(due):
                await self.gate.wait(lambda: self.gate.paused and bool(self.clients))

    def _disconnect(self) -> None:
        for conn in list(self.clients):
            if conn.transport is not None:
                transport = conn.transport
                transport.close()
                if transport.get_write_buffer_size():
                    # close() waits for the peer to take what is queued: a peer that
                    # does not read would keep the connection (and the memory) forever.
                    transport.abort()

    # -- lifetime -----------------------------------------------------------------------

    async def _close(self) -> None:
        await self.tasks.close()
        leaving = [c for c in self.clients if c.transport is not None]
        for conn in leaving:
            assert conn.transport is not None
            # Flush what was written (a swap must not lose it), but not forever, and
            # not at all to a client cut loose (it is not reading).
            if conn.cut:
                conn.transport.abort()
            else:
                conn.transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_FLUSH_SECONDS):
                while any(c in self.clients for c in leaving):
                    await self._lost.wait()
        for conn in leaving:
            assert conn.transport is not None
            conn.transport.abort()
        self.clients.clear()
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
        extra: dict[str, Any] = {"server": self.is_server, "connected": bool(self.clients)}
        if not self.is_server:
            extra["connecting"] = self.connecting and not self.clients
        if self.is_server:
            opts = self.options
            extra.update({"max-clients": opts.max_clients, "writers": opts.writers,
                          "clients": [c.describe() for c in self.clients]})
            if self._replay is not None:
                extra["replay"] = {"size": self._replay.size, "kept": len(self._replay)}
        return extra


def _host_port(addr: tuple[Any, ...]) -> str:
    host = str(addr[0])
    return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"


def _peer_pid(transport: asyncio.Transport) -> int | None:
    """The process at the other end of a UNIX socket, where the kernel tells."""
    sock = transport.get_extra_info("socket")
    peercred = getattr(socket, "SO_PEERCRED", None)
    if sock is None or peercred is None:
        return None
    try:
        pid, _, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, peercred, 12))
    except OSError:
        return None
    return pid or None


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
