"""Benchmark: what the full-screen app costs — idle with many chardevs, and under light traffic.

An app left open for weeks next to a lab must cost nothing while nothing
happens.  Two scenarios, each in the app itself (headless, Textual's pilot,
at 160x45), measured as CPU time of this process over a window:

* ``idle``: 64, then ``--idle`` chardevs (a vc and ringbufs, default 256)
  that carry nothing.  Target: under 1 % of a core.  Also printed: the time
  from starting the app to its first frame (target for 64: under 1 s).
* ``traffic``: 64 chardevs: 16 UNIX socket servers, each fed by a writer
  process at ``--rate`` lines per second (a busy boot log, say) and bridged
  to its own ringbuf, and 32 idle ringbufs.  Printed: CPU and the event loop's lag (how late a 10 ms
  timer fires), the closest measure of how long the app blocks per frame.

    .venv/bin/python tests/bench/bench_ui_cpu.py [--seconds N] [--idle N] [--rate N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tuicon.profiles import ProfileStore
from tuicon.ui.app import TuiconApp
from tuicon.ui.settings import Settings

WRITER = r"""
import socket, sys, time
paths, rate, seconds = sys.argv[1].split(","), float(sys.argv[2]), float(sys.argv[3])
socks = [socket.socket(socket.AF_UNIX) for _ in paths]
for s, p in zip(socks, paths):
    s.connect(p)
line = b"\x1b[32m[  OK  ]\x1b[0m Reached target of the traffic test, line %d\r\n"
start, n = time.monotonic(), 0
while time.monotonic() - start < seconds:
    for s in socks:
        s.sendall(line % n)
    n += 1
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 10 ms sleep wakes: time the loop was busy elsewhere (drawing)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - started - 0.01)


def make_app(tmp: Path, steps: list[tuple[str, str]]) -> TuiconApp:
    return TuiconApp(steps, store=ProfileStore(tmp / "profiles"), settings=Settings(tmp / "s.toml"))


async def idle(tmp: Path, count: int, seconds: float) -> None:
    steps = [("chardev", "vc,id=screen")]
    steps += [("chardev", f"ringbuf,id=r{i},size=4096") for i in range(count - 1)]
    started = time.perf_counter()
    app = make_app(tmp, steps)
    async with app.run_test(size=(160, 45)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        while len(app.session.chardevs) < count:
            await pilot.pause(0.01)
        await pilot.pause()
        first_frame = time.perf_counter() - started
        await asyncio.sleep(1.0)  # let start-up settle
        before, t0 = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(seconds)
        used = (cpu_seconds() - before) / (time.perf_counter() - t0)
        await app.action_quit(confirmed=True)
    print(f"idle, {count} chardevs: first frame after {first_frame:.2f} s;"
          f" CPU {100 * used:.2f} % of a core over {seconds:.0f} s (target < 1 %)")


async def traffic(tmp: Path, seconds: float, rate: float) -> None:
    busy = [str(tmp / f"s{i}.sock") for i in range(16)]
    steps = [("chardev", f"socket,id=s{i},path={path},server=on,wait=off")
             for i, path in enumerate(busy)]
    steps += [("chardev", f"ringbuf,id=r{i},size=4096") for i in range(48)]
    steps += [("device", f"bridge,id=b{i},chardev=s{i},peer=r{i}") for i in range(16)]
    app = make_app(tmp, steps)
    async with app.run_test(size=(160, 45)) as pilot:
        await asyncio.wait_for(app.started.wait(), 10)  # built in the background
        while len(app.session.chardevs) < 64:
            await pilot.pause(0.01)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, ",".join(busy), str(rate),
                                   str(seconds)])
        stop, lags = asyncio.Event(), []
        lagger = asyncio.ensure_future(loop_lag(stop, lags))
        before, t0 = cpu_seconds(), time.perf_counter()
        while writer.poll() is None:
            await asyncio.sleep(0.1)
        used = (cpu_seconds() - before) / (time.perf_counter() - t0)
        stop.set()
        await lagger
        received = sum(app.session.chardevs.get(f"s{i}").stats.bytes_in for i in range(16))
        await app.action_quit(confirmed=True)
    lags.sort()
    print(f"traffic, 64 chardevs, 16 fed at {rate:.0f} lines/s each ({received / 1e3:.0f} kB in):"
          f" CPU {100 * used:.1f} % of a core; loop lag median {1000 * statistics.median(lags):.1f} ms,"
          f" p99 {1000 * lags[int(len(lags) * 0.99)]:.1f} ms, max {1000 * lags[-1]:.1f} ms")


async def run(args: argparse.Namespace) -> None:
    for count in (64, args.idle):
        with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir:
            await idle(Path(tmpdir), count, args.seconds)
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir:
        await traffic(Path(tmpdir), args.seconds, args.rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=int, default=256, help="idle chardevs in the first scenario")
    parser.add_argument("--rate", type=float, default=50.0, help="lines per second per busy chardev")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
