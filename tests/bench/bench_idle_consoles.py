"""Benchmark: a headless tuicon holding 256 idle consoles.

128 bridges, each between a UNIX socket server and a ringbuf (256 chardevs),
given on the command line and then as a profile.  Prints the startup time
(process start to "ready"), the CPU used while idle (share of one core over
``--idle`` seconds) and the resident memory.  Targets: startup < 2 s,
CPU < 2 %, memory < 300 MB.

    .venv/bin/python tests/bench/bench_idle_consoles.py [--bridges N] [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def options(tmp: Path, bridges: int) -> list[str]:
    args: list[str] = []
    for i in range(bridges):
        args += ["-chardev", f"socket,id=s{i},path={tmp}/s{i}.sock,server=on,wait=off"]
        args += ["-chardev", f"ringbuf,id=r{i},size=65536"]
        args += ["-device", f"bridge,id=b{i},chardev=s{i},peer=r{i}"]
    return args


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def start(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    """Start tuicon; return it and the seconds until it said it was ready."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("tuicon: ready"):
            return proc, time.perf_counter() - started
    proc.wait()
    raise SystemExit(f"tuicon exited ({proc.returncode}) before ready: {proc.stderr.read()}")


def measure(label: str, cmd: list[str], env: dict[str, str], idle: float) -> None:
    proc, startup = start(cmd, env)
    try:
        before = cpu_seconds(proc.pid)
        time.sleep(idle)  # the measurement window itself
        used = cpu_seconds(proc.pid) - before
        print(
            f"{label:<12} startup {startup:5.2f} s   idle CPU {100 * used / idle:5.2f} % of a core"
            f"   RSS {rss_mb(proc.pid):6.1f} MB"
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bridges", type=int, default=128, help="bridges (2 chardevs each)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    args = parser.parse_args()
    tuicon = [sys.executable, "-m", "tuicon", "--headless"]
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "config")}
        opts = options(tmp, args.bridges)
        print(f"{2 * args.bridges} chardevs, {args.bridges} bridges, idle window {args.idle:.0f} s")
        measure("command line", tuicon + opts, env, args.idle)
        subprocess.run(tuicon[:-1] + ["--save-profile", "bench", *opts], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        measure("profile", tuicon + ["--profile", "bench"], env, args.idle)


if __name__ == "__main__":
    main()
