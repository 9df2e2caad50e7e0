"""The ``tuicon`` command line (QEMU-style ``-chardev`` and ``-device`` options)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from . import __version__
from .chardev import ChardevError, backends
from .session import Session, Step, default_log_path, default_steps


class _InOrder(argparse.Action):
    """Collect -chardev and -device in the order given (they may refer to each other)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, values))
        namespace.steps = steps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuicon",
        description="A console manager on QEMU's character-device model.",
        epilog=(
            "Without options tuicon runs its built-in demo session: an echo device behind a "
            "mux-be with a virtual console, a log file and a pty. "
            "'-chardev help' lists backend types, '-chardev TYPE,help' their options."
        ),
    )
    parser.add_argument("-chardev", dest="chardev", action=_InOrder, metavar="TYPE,id=ID[,...]",
                        help="create a chardev (QEMU syntax); repeatable, processed in order")
    parser.add_argument("-device", dest="device", action=_InOrder, metavar="DRIVER,id=ID[,...]",
                        help="create a device: bridge (chardev=, peer=) or echo (chardev=)")
    parser.add_argument("--headless", action="store_true",
                        help="run the engine without the UI until Ctrl-C or SIGTERM")
    parser.add_argument("--version", action="version", version=f"tuicon {__version__}")
    parser.set_defaults(steps=None)
    return parser


def _help_request(steps: Sequence[Step]) -> str | None:
    for kind, argument in steps:
        if kind != "chardev":
            continue
        if argument == "help":
            return "Available chardev backend types:\n  " + "\n  ".join(backends.names())
        head, _, rest = argument.partition(",")
        if rest == "help":
            return backends.help(head)
    return None


async def _run_headless(steps: Sequence[Step], announce: bool) -> int:
    session = Session()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    session.chardevs.quit_requested = lambda reason: stop.set()
    try:
        await session.apply(steps)
        _print_status(session, announce)
        await stop.wait()
    finally:
        await session.close()
    print("tuicon: stopped, everything closed.", flush=True)
    return 0


def _print_status(session: Session, announce: bool) -> None:
    if announce:
        print(
            f"tuicon {__version__}: running the built-in demo session headless "
            "(the full-screen UI comes in a later release).",
        )
    for info in session.chardevs.query():
        state = "open" if info.be_open else "closed"
        users = ", ".join(info.frontends) or "-"
        print(f"  chardev {info.label:<10} {info.type:<8} {state:<6} {info.filename}  [{users}]")
    for device in session.devices.query():
        print(f"  device  {device['id']:<10} {device['driver']:<8} on {', '.join(device['chardevs'])}")
    if announce:
        share = session.chardevs.get("share")
        print(
            f"Type into the console from another terminal: screen {share.filename[4:]}\n"
            f"  (or: picocom {share.filename[4:]}). The echo device answers; "
            f"everything is logged to {default_log_path()}."
        )
    print("Press Ctrl-C to stop.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    steps: list[Step] = args.steps or []
    try:
        text = _help_request(steps)
    except ChardevError as err:
        print(f"tuicon: {err}", file=sys.stderr)
        return 1
    if text is not None:
        print(text)
        return 0
    announce = not steps
    if announce:
        log_path = default_log_path()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        steps = default_steps(log_path)
    try:
        return asyncio.run(_run_headless(steps, announce))
    except ChardevError as err:
        print(f"tuicon: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
