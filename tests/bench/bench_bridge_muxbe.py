"""Benchmark: a writer → pipe → ``bridge`` → ``mux-be`` with 4 members.

The members are what a console typically fans out to: a log file on disk,
a named pipe drained by another process (a "share"), a ringbuf and the
built-in ``vc``.  A separate process writes ``--size`` MiB into the source
FIFO; the clock stops when every member has accepted every byte.

Prints MB/s and the process's peak memory (RSS).  Run:

    .venv/bin/python tests/bench/bench_bridge_muxbe.py [--size MIB] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tuicon.session import Session

MEMBERS = ("log", "share", "ring", "screen")

WRITER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
block = bytes(range(256)) * 256  # 64 KiB of varied bytes, with newlines and escapes
left = int(sys.argv[2])
while left:
    left -= os.write(fd, block[:left])
os.close(fd)
"""


def rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steps(tmp: Path) -> list[tuple[str, str]]:
    return [
        ("chardev", f"pipe,id=src,path={tmp}/src"),
        ("chardev", "mux-be,id=console"),
        ("chardev", f"file,id=log,path={tmp}/console.log,mux-be-id=console"),
        ("chardev", f"pipe,id=share,path={tmp}/share,mux-be-id=console"),
        ("chardev", "ringbuf,id=ring,size=1048576,mux-be-id=console"),
        ("chardev", "vc,id=screen,mux-be-id=console"),
        ("device", "bridge,id=bridge,chardev=src,peer=console"),
    ]


async def wait_for(session: Session, total: int, timeout: float) -> None:
    """Poll the members' counters (cheap: a few attribute reads per tick)."""
    members = [session.chardevs.get(name) for name in MEMBERS]
    deadline = time.monotonic() + timeout
    while any(m.stats.bytes_out < total for m in members):
        if time.monotonic() > deadline:
            done = {m.label: m.stats.bytes_out for m in members}
            raise SystemExit(f"timed out after {timeout:.0f} s: {done} of {total}")
        await asyncio.sleep(0.01)


async def one_run(size: int, timeout: float) -> float:
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for fifo in ("src.in", "src.out", "share.in", "share.out"):
            os.mkfifo(tmp / fifo)
        session = Session()
        # The share's reader: another process, as a real consumer would be.
        drain = subprocess.Popen(["cat", str(tmp / "share.out")], stdout=subprocess.DEVNULL)
        try:
            await session.apply(steps(tmp))
            started = time.perf_counter()
            writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp / "src.in"), str(size)])
            try:
                await wait_for(session, size, timeout)
                elapsed = time.perf_counter() - started
            finally:
                writer.wait()
        finally:
            await session.close()
            drain.kill()
            drain.wait()
        return size / elapsed / 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="MiB per run (default 256)")
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run")
    args = parser.parse_args()
    size = args.size * 1024 * 1024
    print(f"bridge -> mux-be (members: {', '.join(MEMBERS)}), {args.size} MiB per run")
    print(f"RSS before: {rss_mib():.1f} MiB")
    rates = []
    for run in range(1, args.runs + 1):
        rate = await one_run(size, args.timeout)
        rates.append(rate)
        print(f"run {run}: {rate:8.1f} MB/s   peak RSS {rss_mib():.1f} MiB")
    rates.sort()
    print(f"median: {rates[len(rates) // 2]:.1f} MB/s   peak RSS {rss_mib():.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
