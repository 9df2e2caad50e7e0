"""Benchmark: the app under a 10 MB/s flood into the console it shows — key latency, frames, no loss.

A writer process pushes ``--rate`` MB/s into a FIFO read by a ``pipe``
chardev, bridged to a ``mux-be`` whose members are a ``vc`` (``engine=`` from
``--engine``), a log file and a TCP share socket on 127.0.0.1 read by another
process.  The app runs headless (Textual's pilot) at 160x45 in the console
view: the vc is shown at full size (no ``cols``/``rows``, so it takes the size
of its view) and the console is in typing mode (Enter).  For ``--seconds``
it presses a key every 0.2 s, as the terminal driver delivers one.

Printed, one block per engine: the vc's size (query-vc) and its view's, the
flood delivered, the latency from a key press to its byte leaving tuicon
(vc input -> mux-be -> bridge -> pipe), the frames per second of the
console's TerminalView (redraws that really rendered its lines), how much
the vc skipped to stay current, the CPU the app's process took, and whether
the log and the share received every byte.  Targets: key press < 100 ms,
>= 20 frames/s, nothing lost.  The app is one event loop: the frame rate is
what the data path and the vc's feeder leave of a core, so it drops on a
machine whose cores are busy with something else.  The default runs both
engines, pyte then ghostty.

    .venv/bin/python tests/bench/bench_ui_responsiveness.py \\
        [--engine pyte|ghostty|all] [--seconds N] [--rate MB/s]

Every run is bounded (the flood lasts ``--seconds``, the drain at most
:data:`DRAIN_SECONDS`), and its processes and temporary files are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

# The tuicon of this tree (run as a script, the venv's editable install would win).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual import events  # noqa: E402
from textual.geometry import Region  # noqa: E402
from textual.strip import Strip  # noqa: E402

from tuicon.monitor.commands import Context, query_vc  # noqa: E402
from tuicon.profiles import ProfileStore  # noqa: E402
from tuicon.ui.app import TuiconApp  # noqa: E402
from tuicon.ui.settings import Settings  # noqa: E402
from tuicon.ui.terminal import TerminalView  # noqa: E402

SIZE = (160, 45)
KEY_EVERY = 0.2
"""Seconds between two key presses."""
KEY_TIMEOUT = 5.0
"""A key whose byte has not come out after this counts as this (and the run goes on)."""
STARTUP_TIMEOUT = 10.0
DRAIN_SECONDS = 30.0
"""Longest wait, after the flood, for the log and the share to catch up."""

WRITER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
rate, seconds = float(sys.argv[2]) * 1e6, float(sys.argv[3])
line = b"\\x1b[32m[  OK  ]\\x1b[0m Started a unit of the flood test, line padding....\\r\\n"
chunk = line * max(1, int(rate / 100 / len(line)))
start, sent = time.monotonic(), 0
while time.monotonic() - start < seconds:
    target = (time.monotonic() - start) * rate
    while sent < target:
        sent += os.write(fd, chunk)
    time.sleep(0.005)
os.close(fd)
print(sent)
"""

READER = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
total = 0
while True:
    data = s.recv(1 << 20)
    if not data:
        break
    total += len(data)
print(total)
"""


def cpu_seconds() -> float:
    """CPU time of this process (the app; not the writer's or the reader's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def say(text: str) -> None:
    """Progress, on stderr (the figures go to stdout)."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


class FrameCounter:
    """Counts the view's real redraws: compositor passes that rendered at least one of its lines.

    Textual asks a widget for its lines (``render_lines``) whenever the screen
    is composed, but only lines made dirty by ``refresh()`` are rendered again
    (``render_line``); a pass that rendered none drew nothing new.
    """

    def __init__(self, view: TerminalView) -> None:
        self.frames = 0
        self._lines = 0
        render_lines, render_line = view.render_lines, view.render_line

        def counting_render_lines(crop: Region) -> list[Strip]:
            before = self._lines
            strips = render_lines(crop)
            if self._lines > before:
                self.frames += 1
            return strips

        def counting_render_line(y: int) -> Strip:
            self._lines += 1
            return render_line(y)

        view.render_lines = counting_render_lines  # type: ignore[method-assign]
        view.render_line = counting_render_line  # type: ignore[method-assign]


def steps_for(tmp: Path, engine: str) -> list[tuple[str, str]]:
    return [
        ("chardev", f"pipe,id=src,path={tmp}/src"),
        ("chardev", "mux-be,id=console"),
        ("chardev", f"vc,id=screen,engine={engine},mux-be-id=console"),
        ("chardev", f"file,id=log,path={tmp}/log,mux-be-id=console"),
        ("chardev", "socket,id=share,host=127.0.0.1,port=0,server=on,wait=off,mux-be-id=console"),
        ("device", "bridge,id=b,chardev=src,peer=console"),
    ]


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        await asyncio.sleep(0.01)


async def key_latency(app: TuiconApp, out_fd: int) -> float:
    """Press ``x`` and wait until its byte leaves tuicon through the pipe; seconds it took."""
    pressed = time.perf_counter()
    # As the terminal driver delivers a key (pilot.press would wait for the app to idle).
    app.post_message(events.Key("x", "x"))
    while time.perf_counter() - pressed < KEY_TIMEOUT:
        try:
            if b"x" in os.read(out_fd, 4096):
                break
        except BlockingIOError:
            pass
        await asyncio.sleep(0.001)
    return time.perf_counter() - pressed


def popen(stack: ExitStack, *args: str) -> subprocess.Popen[bytes]:
    """A Python subprocess that is killed when ``stack`` closes, whatever happened."""
    process = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE)

    def end() -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()

    stack.callback(end)
    return process


async def run(engine: str, seconds: float, rate: float) -> dict[str, Any]:
    """One flood with the vc on ``engine``; the figures measured."""
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        for fifo in ("src.in", "src.out"):
            os.mkfifo(tmp / fifo)
        app = TuiconApp(steps_for(tmp, engine), store=ProfileStore(tmp / "profiles"),
                        settings=Settings(tmp / "settings.toml"))
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.started.wait(), STARTUP_TIMEOUT)
            await pilot.pause()
            share = app.session.chardevs.get("share")
            reader = popen(stack, READER, str(share.port))
            await wait_for(lambda: share.be_open, STARTUP_TIMEOUT, "the share's reader")
            view = app.main.terminal
            await wait_for(lambda: view.vc_id == "screen", STARTUP_TIMEOUT, "the console view")
            await pilot.press("enter")  # typing into the console
            await wait_for(lambda: view.typing and app.focused is view, STARTUP_TIMEOUT, "typing")
            vc_info = await query_vc(Context(app.session), "screen")
            view_size = tuple(view.scrollable_size)  # what the vc may fill: the scrollbar keeps a column
            counter = FrameCounter(view)
            say(f"{engine}: app up, typing; flooding for {seconds:g} s")

            out_fd = os.open(tmp / "src.out", os.O_RDONLY | os.O_NONBLOCK)
            stack.callback(os.close, out_fd)
            writer = popen(stack, WRITER, str(tmp / "src.in"), str(rate), str(seconds))
            started, cpu_started, counter.frames = time.perf_counter(), cpu_seconds(), 0
            latencies = []
            while writer.poll() is None:
                latencies.append(await key_latency(app, out_fd))
                await asyncio.sleep(KEY_EVERY)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_started
            frames = counter.frames
            sent = int(writer.stdout.read()) if writer.stdout else 0
            log = tmp / "log"
            drain = time.monotonic() + DRAIN_SECONDS
            while log.stat().st_size < sent and time.monotonic() < drain:
                await asyncio.sleep(0.05)
            vc = app.session.chardevs.get("screen")
            skipped, fed = vc.skipped_bytes, vc.fed_bytes
            await pilot.press("ctrl+right_square_bracket")
            await app.action_quit(confirmed=True)
        # The share closes with the app: the reader sees EOF and prints its count.
        shared = int(reader.communicate(timeout=DRAIN_SECONDS)[0])
        return {"engine": engine, "vc": vc_info, "view": view_size, "sent": sent,
                "elapsed": elapsed, "latencies": latencies, "fps": frames / elapsed,
                "frames": frames, "cpu": cpu, "logged": log.stat().st_size, "shared": shared,
                "skipped": skipped, "fed": fed}


def report(r: dict[str, Any]) -> None:
    ms = sorted(1000 * x for x in r["latencies"])
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    sent, logged, shared = r["sent"], r["logged"], r["shared"]
    lost = "nothing lost" if logged == sent == shared else "LOSS"
    vc = r["vc"]
    key_ok = "ok" if ms[-1] < 100 else "MISSED"
    fps_ok = "ok" if r["fps"] >= 20 else "MISSED"
    print(f"== engine {r['engine']}: vc {vc['cols']}x{vc['rows']} (query-vc), its view"
          f" {r['view'][0]}x{r['view'][1]}, app {SIZE[0]}x{SIZE[1]}, console view, typing")
    print(f"flood:      {sent / 1e6:.1f} MB in {r['elapsed']:.1f} s"
          f" ({sent / 1e6 / r['elapsed']:.1f} MB/s) through pipe -> bridge -> mux-be")
    print(f"key press:  -> byte out median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms,"
          f" max {ms[-1]:.1f} ms over {len(ms)} presses (target < 100 ms: {key_ok})")
    print(f"frames:     {r['fps']:.1f} per second of the console's TerminalView,"
          f" {r['frames']} in all (target >= 20: {fps_ok})")
    print(f"app CPU:    {100 * r['cpu'] / r['elapsed']:.0f} % of a core (its one event loop:"
          " data path, feeder and drawing)")
    print(f"vc:         drew {r['fed'] / 1e6:.1f} MB, skipped {r['skipped'] / 1e6:.1f} MB to stay current")
    print(f"members:    log file got {logged} of {sent} bytes, share socket got {shared} of {sent}"
          f" ({lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("pyte", "ghostty", "all"), default="all",
                        help="the vc's screen engine (all: each in turn)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the flood lasts")
    parser.add_argument("--rate", type=float, default=10.0, help="MB/s into the console")
    args = parser.parse_args()
    engines = ("pyte", "ghostty") if args.engine == "all" else (args.engine,)
    for number, engine in enumerate(engines):
        if number:
            print()
        report(asyncio.run(run(engine, args.seconds, args.rate)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
