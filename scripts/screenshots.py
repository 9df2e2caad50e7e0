"""Make the README's screenshots (screenshots/*.svg) from real runs of the app.

    .venv/bin/python scripts/screenshots.py

Each screenshot is taken from the app running headless on a real session:
the demo session (echo device, mux-be, vc, log, pty), its add form, and a
vc receiving a burst of boot-log output far faster than it can draw.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import tty
from pathlib import Path

from tuicon.profiles import ProfileStore
from tuicon.session import default_steps
from tuicon.ui.app import Settings, TuiconApp

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (132, 40)


async def flood(pty_path: str, data: bytes) -> None:
    """Write ``data`` into the pty while draining what comes back, as a terminal would."""
    fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, lambda: _drain(fd))
    try:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view[:4096]):]
            except BlockingIOError:
                await asyncio.sleep(0.001)
            else:
                await asyncio.sleep(0)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _drain(fd: int) -> None:
    try:
        os.read(fd, 1 << 16)
    except OSError:
        pass


def boot_log(lines: int) -> bytes:
    colours = ["32", "33", "36", "1;34", "35"]
    out = bytearray()
    for i in range(lines):
        ok = "\x1b[1;32m  OK  \x1b[0m" if i % 7 else "\x1b[1;31mFAILED\x1b[0m"
        out += (f"[{i / 1000:10.6f}] [{ok}] \x1b[{colours[i % 5]}mStarted unit-{i:05d}.service"
                f"\x1b[0m - worker {i % 13} of the demo\r\n").encode()
    return bytes(out)


async def shoot(tmp: Path) -> None:
    OUT.mkdir(exist_ok=True)
    app = TuiconApp(default_steps(tmp / "console.log"), store=ProfileStore(tmp / "profiles"),
                    settings=Settings(tmp / "settings.toml"))
    async with app.run_test(size=SIZE) as pilot:
        await app.started.wait()  # the session is built in the background
        await pilot.press("enter", *"hello tuicon", "enter", "ctrl+right_square_bracket")
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / "main.svg"))
        await pilot.press("a", "enter")  # the type picker starts on serial
        await pilot.pause(0.3)
        await pilot.press(*"serial0")
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "add-form.svg"))
        await pilot.press("escape")
        # Someone on the pty floods the console (the echo device sends it all
        # back): the vc jumps ahead to stay current, the log gets every byte.
        await flood(app.session.chardevs.get("pty").filename.removeprefix("pty:"),
                    boot_log(100_000))
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "busy-vc.svg"))
        await app.action_quit(confirmed=True)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.svg')))} to {OUT}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tuicon-shots-") as tmp:
        asyncio.run(shoot(Path(tmp)))


if __name__ == "__main__":
    main()
