"""Benchmark: the app under a 10 MB/s flood into a vc — key latency, frame rate, no loss.

A writer process pushes ``--rate`` MB/s into a FIFO read by a ``pipe``
chardev, bridged to a ``mux-be`` whose members are the ``vc`` (far slower
than that: pyte parses under 1 MB/s), a log file and a TCP share socket read
by another process.  The app runs headless (Textual's pilot) with the vc
pane focused and in typing mode.  Printed: the latency from a key press to
its byte leaving tuicon (through the vc input, the mux-be and the bridge),
the frame rate of the vc pane, and whether the log and the share received
every byte.  Targets: key < 100 ms, >= 20 frames/s, nothing lost.

    .venv/bin/python tests/bench/bench_ui_responsiveness.py [--seconds N] [--rate MB/s]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual import events

from tuicon.profiles import ProfileStore
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui.panes import ChardevPane

WRITER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
rate, seconds = float(sys.argv[2]) * 1e6, float(sys.argv[3])
line = b"\\x1b[32m[  OK  ]\\x1b[0m Started a unit of the flood test, line padding....\\r\\n"
chunk = line * int(rate / 100 / len(line))
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


async def run(seconds: float, rate: float) -> None:
    def say(text): print(text, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="tuicon-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for fifo in ("src.in", "src.out"):
            os.mkfifo(tmp / fifo)
        steps = [
            ("chardev", f"pipe,id=src,path={tmp}/src"),
            ("chardev", "mux-be,id=console"),
            ("chardev", "vc,id=screen,mux-be-id=console"),
            ("chardev", f"file,id=log,path={tmp}/log,mux-be-id=console"),
            ("chardev", "socket,id=share,port=0,server=on,wait=off,mux-be-id=console"),
            ("device", "bridge,id=b,chardev=src,peer=console"),
        ]
        app = TuiconApp(steps, store=ProfileStore(tmp / "p"), settings=Settings(tmp / "s.toml"))
        async with app.run_test(size=(160, 50)) as pilot:
            await app.started.wait()  # the session is built in the background
            share = app.session.chardevs.get("share")
            reader = subprocess.Popen([sys.executable, "-c", READER, share.port], stdout=subprocess.PIPE)
            say("app up")
            while not share.be_open:
                await asyncio.sleep(0.01)
            pane = app.query_one("#pane-screen", ChardevPane)
            frames = 0
            original = pane.render

            def counting_render():
                nonlocal frames
                frames += 1
                return original()

            pane.render = counting_render
            say("share connected")
            await pilot.press("enter")  # typing into the vc
            say("typing")
            out_fd = os.open(tmp / "src.out", os.O_RDONLY | os.O_NONBLOCK)
            writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp / "src.in"), str(rate),
                                       str(seconds)], stdout=subprocess.PIPE)
            started = time.perf_counter()
            frames = 0
            latencies = []
            while writer.poll() is None:
                pressed = time.perf_counter()
                # As the terminal driver delivers it (the pilot would wait for idle).
                app.post_message(events.Key("x", "x"))
                while True:  # until the key's byte leaves tuicon through the bridge
                    try:
                        if b"x" in os.read(out_fd, 4096):
                            break
                    except BlockingIOError:
                        pass
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - pressed)
                await asyncio.sleep(0.2)
            say("writer done")
            elapsed = time.perf_counter() - started
            fps = frames / elapsed
            sent = int(writer.stdout.read())
            log = tmp / "log"
            deadline = time.monotonic() + 60
            while log.stat().st_size < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await pilot.press("ctrl+right_square_bracket")
            vc = app.session.chardevs.get("screen")
            skipped = vc.skipped_bytes
            os.close(out_fd)
            await app.action_quit(confirmed=True)
        shared = int(reader.communicate(timeout=30)[0])
        print(f"flood: {sent / 1e6:.1f} MB in {elapsed:.1f} s ({sent / 1e6 / elapsed:.1f} MB/s) into a vc")
        print(f"key press -> byte out: median {1000 * statistics.median(latencies):.1f} ms,"
              f" max {1000 * max(latencies):.1f} ms over {len(latencies)} presses (target < 100 ms)")
        print(f"vc pane frames: {fps:.1f} per second (target >= 20)")
        print(f"log file got {log.stat().st_size} of {sent} bytes, share socket got {shared} of {sent}"
              f" ({'nothing lost' if log.stat().st_size == sent == shared else 'LOSS'});"
              f" vc skipped {skipped / 1e6:.1f} MB to stay current")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10.0, help="MB/s into the vc")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rate))


if __name__ == "__main__":
    main()
