"""Benchmark: the memory a vc's scrollback holds (pyte), measured with tracemalloc.

Feeds a coloured boot log (systemd's green ``[  OK  ]``, a red ``FAILED``
now and then, plain kernel lines) into a pyte screen of 200 columns with a
scrollback of 100,000 lines, until all of them have scrolled off, and
prints the Python heap the engine holds then (screen and scrollback).

    .venv/bin/python tests/bench/bench_scrollback_memory.py [--lines N] [--cols N]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from tuicon.chardev.screen import make_engine


def boot_log(count: int) -> bytes:
    """``count`` lines of a systemd boot as the console shows it."""
    out = bytearray()
    for i in range(count):
        if i % 10 == 9:
            out += b"[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mmodule%d.service\x1b[0m" \
                   b" - Load Kernel Module %d.\r\n" % (i, i)
        elif i % 5 == 4:
            out += b"[ %5d.%06d] usb 1-%d: new high-speed USB device number %d using xhci_hcd\r\n" % (
                i // 1000, i % 1000000, i % 8, i)
        else:
            out += b"[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39munit%d.service\x1b[0m" \
                   b" - Description of unit %d.\r\n" % (i, i)
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=200)
    args = parser.parse_args()
    rows = 24
    data = boot_log(args.lines + rows)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    model = make_engine("pyte", args.cols, rows, args.lines, lambda reply: None)
    started = time.process_time()
    for start in range(0, len(data), 64 * 1024):
        model.feed(data[start:start + 64 * 1024])
    elapsed = time.process_time() - started
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    lines = model.scrollback()
    assert len(lines) == args.lines, len(lines)
    print(f"pyte {args.cols}x{rows}, {len(lines)} scrolled-off lines of a coloured boot log: "
          f"{held / 1e6:.1f} MB held ({held / len(lines):.0f} bytes a line), "
          f"fed in {elapsed:.1f} s CPU (under tracemalloc)")
    if hasattr(model, "scrollback_runs"):
        print("line 0's runs:", model.scrollback_runs(0, 1))


if __name__ == "__main__":
    main()
