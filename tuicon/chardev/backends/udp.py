"""``udp``: datagrams to a remote host/port, and from whoever sends to the local address.

As QEMU: ``host`` (default localhost) and ``port`` name the remote end,
``localaddr``/``localport`` the local one (tuicon binds to loopback unless a
local address is given, port 0 = any).  Open from creation: there is no
connection to wait for.  Input the frontend cannot take yet stays queued
(one datagram at a time, as QEMU) and the socket is not read meanwhile.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chardev import Chardev
from ..errors import ChardevError, InvalidOption
from ..options import ascii_number, check_host, option, shown
from ..registry import register

MAX_QUEUED = 64
"""Datagrams kept while the frontend cannot read; older ones beyond are dropped."""


@dataclass(frozen=True)
class UdpOptions:
    port: str = option(help="remote port", cli_required_text="chardev: udp: remote port not specified")
    host: str = option("localhost", help="remote host")
    localaddr: str | None = option(None, help="local address to bind (default: loopback)")
    localport: str = option("0", help="local port (0: any)")
    ipv4: bool = option(False, help="IPv4 only")
    ipv6: bool = option(False, help="IPv6 only")

    def __post_init__(self) -> None:
        check_host("host", self.host)
        if self.localaddr:
            check_host("localaddr", self.localaddr)
        for name in ("port", "localport"):
            value = getattr(self, name)
            number = ascii_number(value)
            if number is None or number > 65535:
                raise InvalidOption(
                    f"chardev: udp: {name} '{shown(value)}' is not a number from 0 to 65535",
                    option=name)

    @staticmethod
    def flatten_qapi(data: dict[str, Any]) -> dict[str, Any]:
        """QEMU's ``remote`` / ``local`` address members as flat options."""
        data = dict(data)
        for member, host_key, port_key in (("remote", "host", "port"), ("local", "localaddr", "localport")):
            addr = data.pop(member, None)
            if addr is None:
                continue
            fields = addr.get("data", addr) if isinstance(addr, dict) else None
            if not isinstance(fields, dict) or addr.get("type", "inet") != "inet":
                raise InvalidOption(f"Invalid parameter '{member}': expected an inet address", option=member)
            if "host" in fields:
                data[host_key] = fields["host"]
            if "port" in fields:
                data[port_key] = str(fields["port"])
            for flag in ("ipv4", "ipv6"):
                if flag in fields:
                    data[flag] = fields[flag]
        return data

    @staticmethod
    def nest_qapi(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        remote = {"host": data.pop("host", "localhost"), "port": data.pop("port")}
        flags = {k: data.pop(k) for k in ("ipv4", "ipv6") if k in data}
        data["remote"] = {"type": "inet", "data": {**remote, **flags}}
        if "localaddr" in data or "localport" in data:
            local = {"host": data.pop("localaddr", ""), "port": data.pop("localport", "0")}
            data["local"] = {"type": "inet", "data": local}
        return data


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, chardev: UdpChardev) -> None:
        self.chardev = chardev

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.chardev._received(data)


@register()
class UdpChardev(Chardev):
    type_name: ClassVar[str] = "udp"
    summary: ClassVar[str] = "UDP datagrams to host:port, from localaddr:localport"
    Options = UdpOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport: asyncio.DatagramTransport | None = None
        self._queue: deque[bytes] = deque()
        self._sock: socket.socket | None = None

    def open(self) -> bool:
        opts = self.options
        family = socket.AF_INET6 if opts.ipv6 or ":" in opts.host else socket.AF_INET
        local = opts.localaddr or ("::1" if family == socket.AF_INET6 else "127.0.0.1")
        try:
            remote = socket.getaddrinfo(opts.host, int(opts.port), family, socket.SOCK_DGRAM)[0][4]
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as err:
            raise ChardevError(f"chardev: udp: cannot resolve '{opts.host}': {err}") from None
        try:
            sock.bind((local, int(opts.localport)))
        except OSError as err:
            sock.close()
            raise ChardevError(f"chardev: udp: cannot bind to '{shown(local)}' port"
                               f" {opts.localport}: {err.strerror or err}") from None
        try:
            sock.connect(remote)
            sock.setblocking(False)
        except OSError as err:
            sock.close()
            raise ChardevError(f"chardev: udp: {err.strerror or err}") from None
        self._sock = sock
        bound = sock.getsockname()
        self.filename = f"udp:{opts.host}:{opts.port}@{bound[0]}:{bound[1]}"
        loop = asyncio.get_running_loop()
        # The transport is made from the bound socket in the next loop turn;
        # datagrams arriving meanwhile wait in the kernel.
        self.tasks.spawn(self._start(loop, sock), "datagram endpoint")
        return True

    async def _start(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)
        self._transport = transport

    @property
    def local_port(self) -> int:
        assert self._sock is not None
        return self._sock.getsockname()[1]

    def _received(self, data: bytes) -> None:
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.stats.dropped_in += 1
        self._queue.append(data)
        self._deliver()

    def _deliver(self) -> None:
        while self._queue:
            room = self.be_can_write()
            if room <= 0:
                if self._transport is not None:
                    self._transport.pause_reading()
                return
            datagram = self._queue.popleft()
            self.be_write(datagram[:room])
            if len(datagram) > room:
                self._queue.appendleft(datagram[room:])
        if self._transport is not None:
            self._transport.resume_reading()

    def _input_resumed(self) -> None:
        self._deliver()

    def _write(self, data: memoryview) -> int:
        try:
            if self._transport is not None:
                self._transport.sendto(bytes(data))
            elif self._sock is not None:
                self._sock.send(data)
        except OSError:
            pass  # no listener at the far end: a datagram is simply lost
        return len(data)

    async def _close(self) -> None:
        await self.tasks.close()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            await asyncio.sleep(0)  # the transport closes its socket on the next turn
        elif self._sock is not None:
            self._sock.close()
        self._sock = None
