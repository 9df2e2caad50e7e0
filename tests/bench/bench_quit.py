"""Benchmark: how long quitting takes with a serial port and a bridge (target: under 0.5 s).

``tuicon /dev/pts/N --no-log`` on a real pty pair (the test is the board at
the far end), two ways, ``--runs`` times each:

* ``headless``: ``tuicon --headless TARGET``, SIGTERM, until the process
  has exited;
* ``app``: the full-screen app in a pty of its own (as in a terminal): once
  the port is open, the board's line is waited for on the app's screen (read
  with pyte), then
  ``q`` is typed, until the process has exited.

Printed: the median and the worst run of each.

    .venv/bin/python tests/bench/bench_quit.py [--runs N]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path

import pyte

COLS, ROWS = 120, 36
BOARD_LINE = b"board: ready for the quit benchmark\r\n"
TIMEOUT = 30.0


def board_pty() -> tuple[int, str]:
    """A pty pair: tuicon opens the slave as its serial port; the master is the board."""
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
            "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)}


def wait_for_line(proc: subprocess.Popen[bytes], text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            raise SystemExit(f"tuicon exited before '{text}': {proc.stderr.read() if proc.stderr else ''}")
        if text in line:
            return
    raise SystemExit(f"no '{text}' within {TIMEOUT} s")


def quit_headless(home: Path) -> float:
    master, path = board_pty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tuicon", "--headless", path, "--no-log"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(home))
        try:
            wait_for_line(proc, "tuicon: ready")
            os.write(master, BOARD_LINE)
            started = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            proc.wait(TIMEOUT)
            return time.perf_counter() - started
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    finally:
        os.close(master)


class AppInPty:
    """The full-screen app on a pty of its own, its screen read with pyte."""

    def __init__(self, home: Path, *args: str) -> None:
        self.fd, slave = os.openpty()
        os.set_blocking(self.fd, False)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "tuicon", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=environment(home), start_new_session=True)
        os.close(slave)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)

    def read(self) -> None:
        try:
            while data := os.read(self.fd, 65536):
                self.stream.feed(data)
        except (BlockingIOError, OSError):
            pass

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self.read()
            if any(text in line for line in self.screen.display):
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"the app exited before showing '{text}'")
            time.sleep(0.01)  # polling a pty: nothing to wait on but its output
        raise SystemExit(f"the app never showed '{text}':\n" + "\n".join(self.screen.display))

    def wait_exit(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None:
            self.read()  # keep draining: a full pty would block the app's last frames
            if time.monotonic() > deadline:
                raise SystemExit("the app did not exit after q:\n" + "\n".join(self.screen.display))
            time.sleep(0.001)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)


def quit_app(home: Path) -> float:
    master, path = board_pty()
    app = AppInPty(home, path, "--no-log")
    try:
        app.wait_for(f"{path} is there")  # the port is open (opening it flushed what came before)
        os.write(master, BOARD_LINE)
        app.wait_for(BOARD_LINE.decode().strip())
        started = time.perf_counter()
        os.write(app.fd, b"q")
        app.wait_exit()
        return time.perf_counter() - started
    finally:
        app.close()
        os.close(master)


def report(name: str, seconds: list[float]) -> None:
    print(f"{name:9} quit: median {statistics.median(seconds):.3f} s, worst {max(seconds):.3f} s"
          f" over {len(seconds)} runs (target < 0.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-quit-") as tmp:
        home = Path(tmp)
        report("headless", [quit_headless(home) for _ in range(args.runs)])
        report("app", [quit_app(home) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
