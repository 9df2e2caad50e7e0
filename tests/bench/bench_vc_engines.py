"""Benchmark: the vc's screen engines, through the whole vc path.

For each installed engine: MB/s from a chardev write into a vc until its
screen model has parsed it (plain lines, SGR-coloured text, full-screen
cursor-addressed redraws; 80x24 and 200x50; scrollback 0 and 1000), the
cost of building one frame for the pane, and a 10 MB/s flood through the
vc's own feeder (what it skipped).  MB/s are bytes over process CPU time.
Target: ghostty >= 50x pyte on plain text.

    .venv/bin/python tests/bench/bench_vc_engines.py [--pyte-bytes N] [--ghostty-bytes N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tuicon.chardev import CharFrontend, ChardevManager
from tuicon.chardev.screen import ghostty_available
from tuicon.ui import render

SIZES = [(80, 24), (200, 50)]
CHUNK = 64 * 1024


def plain(size: int, cols: int, rows: int) -> bytes:
    line = b"[ %6d.%06d] systemd[1]: Started Session %d of user root on tty%d.\r\n"
    out, i = bytearray(), 0
    while len(out) < size:
        out += line % (i // 1000, i % 1000000, i, i % 7)
        i += 1
    return bytes(out)


def coloured(size: int, cols: int, rows: int) -> bytes:
    out, i = bytearray(), 0
    while len(out) < size:
        out += b"\x1b[1;3%dmword%d\x1b[0m \x1b[38;5;%dmmore\x1b[0m \x1b[38;2;%d;%d;0mrgb\x1b[0m " % (
            i % 8, i, i % 256, i % 256, (i * 7) % 256)
        if i % 6 == 5:
            out += b"\r\n"
        i += 1
    return bytes(out)


def redraw(size: int, cols: int, rows: int) -> bytes:
    out, frame = bytearray(), 0
    while len(out) < size:
        out += b"\x1b[H"
        for y in range(rows):
            text = (b"%03d %05d " % (y, frame) + b"x" * cols)[:cols - 12]
            out += b"\x1b[%d;1H\x1b[3%dm%s\x1b[0m\x1b[K" % (y + 1, (y + frame) % 8, text)
        frame += 1
    return bytes(out)


STREAMS = {"plain": plain, "sgr": coloured, "redraw": redraw}


async def through_vc(manager: ChardevManager, engine: str, cols: int, rows: int, scrollback: int,
                     data: bytes) -> tuple[float, float]:
    """MB/s through write -> backlog -> slices -> model, and one frame's cost in ms."""
    await manager.add("vc", f"vc,cols={cols},rows={rows},scrollback={scrollback},engine={engine}")
    vc = manager.get("vc")
    fe = CharFrontend(vc)
    started = time.process_time()
    for start in range(0, len(data), CHUNK):
        fe.write(data[start:start + CHUNK])
        while vc.backlog:  # the feeder's work, without its rests or jump-ahead
            vc._feed_slice()
    elapsed = time.process_time() - started
    frames = []
    for _ in range(30):
        vc.version += 1
        vc.model.feed(b"")  # a changed screen: no cached frame
        if hasattr(vc.model, "_frame"):
            vc.model._frame = None
        t0 = time.perf_counter()
        render.vc_text(vc, rows)
        frames.append((time.perf_counter() - t0) * 1000)
    fe.detach()
    await manager.remove("vc")
    return len(data) / elapsed / 1e6, statistics.median(frames)


async def flood(manager: ChardevManager, engine: str, rate: float = 10e6, seconds: float = 2.0) -> dict:
    """``rate`` bytes/s of plain lines for ``seconds`` into a 160x45 vc, through its real feeder."""
    await manager.add("vc", f"vc,cols=160,rows=45,scrollback=1000,engine={engine}")
    vc = manager.get("vc")
    fe = CharFrontend(vc)
    data = plain(int(rate * seconds), 160, 45)
    step = int(rate / 100)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n, start in enumerate(range(0, len(data), step)):
        fe.write(data[start:start + step])
        await asyncio.sleep(max(0.0, started + (n + 1) / 100 - loop.time()))
    await vc.idle()
    result = {"MB": len(data) / 1e6, "seconds": round(loop.time() - started, 2),
              "skipped-bytes": vc.skipped_bytes, "measured MB/s": round(vc.rate / 1e6, 1)}
    fe.detach()
    await manager.remove("vc")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyte-bytes", type=int, default=256 * 1024)
    parser.add_argument("--ghostty-bytes", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args()
    engines = {"pyte": args.pyte_bytes}
    if ghostty_available():
        engines["ghostty"] = args.ghostty_bytes
    else:
        print("ghostty: not installed (pip install 'tuicon[ghostty]'), pyte only")
    manager = ChardevManager()
    plain_rates: dict[str, list[float]] = {}
    print(f"{'engine':8} {'stream':7} {'size':>7} {'scrollback':>10} {'MB/s':>8} {'frame ms':>9}")
    for engine, size in engines.items():
        for name, make in STREAMS.items():
            for cols, rows in SIZES:
                for scrollback in (0, 1000):
                    rate, frame = await through_vc(manager, engine, cols, rows, scrollback,
                                                   make(size, cols, rows))
                    if name == "plain":
                        plain_rates.setdefault(engine, []).append(rate)
                    print(f"{engine:8} {name:7} {cols:>3}x{rows:<3} {scrollback:>10} {rate:8.2f} {frame:9.2f}")
    if "ghostty" in plain_rates:
        ratios = [g / p for g, p in zip(plain_rates["ghostty"], plain_rates["pyte"])]
        print(f"plain text, ghostty / pyte: {min(ratios):.0f}x - {max(ratios):.0f}x (target >= 50x)")
    for engine in engines:
        print(f"10 MB/s flood for 2 s into a 160x45 vc, {engine}: {await flood(manager, engine)}")
    await manager.close()


if __name__ == "__main__":
    asyncio.run(main())
