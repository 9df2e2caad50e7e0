"""Benchmark: TCP relays, tuicon next to socat, same sender and receivers, one run.

1. ``relay``:  sender → TCP → [socket server ⇄ bridge ⇄ socket server] → TCP → receiver,
   against ``socat -b 65536 TCP-LISTEN:A TCP-LISTEN:B``.
2. ``fanout``: sender → TCP → [socket server ⇄ bridge ⇄ mux-be with 4 socket-server
   members] → 4 receivers; each leg is compared with socat's single relay.

Every receiver hashes what it gets and the hash is compared with the sender's:
a relay that loses, duplicates or reorders a byte fails the run.  tuicon runs
as a real ``tuicon --headless`` subprocess.  Needs socat (``apt-get install socat``).

    .venv/bin/python tests/bench/bench_tcp_relay.py [--size MIB] [--runs N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

HOST = "127.0.0.1"
BLOCK = os.urandom(4 << 20)  # incompressible, every byte value
CONNECT_TIMEOUT = 20.0


def free_ports(count: int) -> list[int]:
    holders = [socket.socket() for _ in range(count)]
    for s in holders:
        s.bind((HOST, 0))
    ports = [s.getsockname()[1] for s in holders]
    for s in holders:
        s.close()
    return ports


def connect(port: int, proc: subprocess.Popen) -> socket.socket:
    """Connect once the relay listens (bounded retries; the relay must stay alive)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"relay exited with status {proc.returncode} before port {port} listened")
        try:
            return socket.create_connection((HOST, port), timeout=CONNECT_TIMEOUT)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise SystemExit(f"port {port} never listened") from None
            time.sleep(0.02)  # the relay is still starting; not a measurement


@dataclass
class Leg:
    sock: socket.socket
    received: int = 0
    finished: float = 0.0
    digest: str = ""


def receive(leg: Leg, total: int) -> None:
    hasher = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while leg.received < total:
        n = leg.sock.recv_into(view)
        if n == 0:
            break
        hasher.update(view[:n])
        leg.received += n
    leg.finished = time.perf_counter()
    leg.digest = hasher.hexdigest()


def send(sock: socket.socket, total: int) -> str:
    hasher = hashlib.sha256()
    left = total
    while left:
        chunk = BLOCK[: min(left, len(BLOCK))]
        sock.sendall(chunk)
        hasher.update(chunk)
        left -= len(chunk)
    return hasher.hexdigest()


def run_relay(cmd: list[str], order: list[str], ports: dict[str, int], total: int) -> list[float]:
    """Start ``cmd``; connect in ``order`` ("in" is the sender); return each leg's MB/s."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    legs: list[Leg] = []
    sender = None
    try:
        for name in order:
            sock = connect(ports[name], proc)
            if name == "in":
                sender = sock
            else:
                legs.append(Leg(sock))
        assert sender is not None
        threads = [threading.Thread(target=receive, args=(leg, total)) for leg in legs]
        started = time.perf_counter()
        for t in threads:
            t.start()
        expected = send(sender, total)
        for t in threads:
            t.join(timeout=300)
        for leg in legs:
            if leg.digest != expected:
                raise SystemExit(
                    f"data corrupted: received {leg.received} of {total} bytes, hash differs"
                )
        return [total / (leg.finished - started) / 1e6 for leg in legs]
    finally:
        for sock in [sender, *(leg.sock for leg in legs)]:
            if sock is not None:
                sock.close()
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode not in (0, -15, 143):
            print(err.decode(errors="replace"), file=sys.stderr)


def socat_relay(total: int) -> list[float]:
    a, b = free_ports(2)
    cmd = ["socat", "-b", "65536", f"TCP-LISTEN:{a},bind={HOST},reuseaddr",
           f"TCP-LISTEN:{b},bind={HOST},reuseaddr"]
    # socat opens its first address (waits for the sender) before listening on the second.
    return run_relay(cmd, ["in", "out0"], {"in": a, "out0": b}, total)


def tuicon(*options: str) -> list[str]:
    return [sys.executable, "-m", "tuicon", "--headless", *options]


def server(chardev_id: str, port: int, *extra: str) -> list[str]:
    return ["-chardev", ",".join([f"socket,id={chardev_id},host={HOST},port={port},server=on", *extra])]


def tuicon_relay(total: int) -> list[float]:
    a, b = free_ports(2)
    cmd = tuicon(
        *server("out0", b, "wait=on"),  # the receiver is there before anything is sent
        *server("in", a, "wait=off"),
        "-device", "bridge,id=relay,chardev=in,peer=out0",
    )
    return run_relay(cmd, ["out0", "in"], {"in": a, "out0": b}, total)


def tuicon_fanout(total: int, members: int = 4) -> list[float]:
    ports = dict(zip(["in", *(f"out{i}" for i in range(members))], free_ports(members + 1)))
    options = ["-chardev", "mux-be,id=fan"]
    for i in range(members):
        options += server(f"out{i}", ports[f"out{i}"], "wait=on", "mux-be-id=fan")
    options += server("in", ports["in"], "wait=off")
    options += ["-device", "bridge,id=relay,chardev=in,peer=fan"]
    order = [f"out{i}" for i in range(members)] + ["in"]
    return run_relay(tuicon(*options), order, ports, total)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def measure(what: str, runs: int, run: Callable[[], list[float]]) -> float:
    results = []
    for _ in range(runs):
        legs = run()
        results.append(min(legs))
        print(f"  {what:<22} " + "  ".join(f"{rate:7.1f}" for rate in legs) + "  MB/s")
    return median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="MiB per run (default 512)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    if shutil.which("socat") is None:
        raise SystemExit("socat not found: apt-get install socat")
    total = args.size << 20
    print(f"{args.size} MiB per run, {args.runs} runs each, sha256 checked on every leg")
    socat = measure("socat relay", args.runs, lambda: socat_relay(total))
    relay = measure("tuicon bridge relay", args.runs, lambda: tuicon_relay(total))
    fanout = measure("tuicon mux-be fan-out", args.runs, lambda: tuicon_fanout(total))
    print(f"median socat relay:            {socat:7.1f} MB/s")
    print(f"median tuicon bridge relay:    {relay:7.1f} MB/s  = {relay / socat:.2f}x socat (target 0.8x)")
    print(f"median tuicon fan-out, slowest leg: {fanout:7.1f} MB/s  = {fanout / socat:.2f}x socat (target 0.2x)")


if __name__ == "__main__":
    main()
