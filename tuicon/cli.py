"""The ``tuicon`` command line: QEMU-style options, profiles, headless or full-screen."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, targets
from .chardev import ChardevError, backends
from .chardev.aio import first_completed
from .chardev.options import shown
from .profiles import Profile, ProfileError, ProfileStore
from .session import Session, Step, default_log_path, default_steps, make_private_directory

EPILOG = """\
One step to a console (a vc, a log in tuicon's state directory, reconnecting):
  tuicon /dev/ttyUSB0 --baud 9600     a serial port (or a /dev/serial/by-id link)
  tuicon FTDI                         a unique part of a /dev/serial/by-id name
  tuicon tcp:HOST:PORT | telnet:HOST:PORT | unix:PATH
  tuicon --list                       the serial ports

Options are QEMU's and are processed in order, so later ones may refer to
earlier ids:
  -chardev socket,id=con,path=/tmp/vm.sock      a VM's serial console
  -chardev mux-be,id=hub -chardev vc,id=screen,mux-be-id=hub
  -device bridge,id=b0,chardev=con,peer=hub     join two chardevs both ways
  -qmp unix:/tmp/tuicon.qmp,server=on,wait=off  QMP monitor (qemu.qmp, qmp-shell)
'-chardev help' lists backend types, '-chardev TYPE,help' a type's options.
Without options tuicon reopens the last session, or its built-in demo session.

  tuicon profile list | show NAME | delete NAME | export NAME
"""


class CommandLineError(Exception):
    """A bad command line: reported as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandLineError(message)


class _InOrder(argparse.Action):
    """Collect the QEMU-style options in the order given (they refer to each other)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, values))
        namespace.steps = steps


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tuicon",
        description="A console manager on QEMU's character-device model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ordered = parser.add_argument_group("session (QEMU syntax, repeatable, processed in order)")
    ordered.add_argument("-chardev", dest="chardev", action=_InOrder, metavar="TYPE,id=ID[,...]",
                         help="create a chardev")
    ordered.add_argument("-device", dest="device", action=_InOrder, metavar="DRIVER,id=ID[,...]",
                         help="create a device: bridge (chardev=, peer=), echo (chardev=, map=)"
                              " or demo-board (chardev=, motd=)")
    ordered.add_argument("-mon", dest="mon", action=_InOrder,
                         metavar="chardev=ID,mode=control|readline",
                         help="run a monitor on a chardev: QMP (control) or human (readline)")
    ordered.add_argument("-qmp", dest="qmp", action=_InOrder,
                         metavar="unix:PATH|tcp:HOST:PORT[,server=on,wait=off]",
                         help="QMP monitor on a new socket (shorthand for -chardev + -mon)")
    ordered.add_argument("-monitor", dest="monitor", action=_InOrder,
                         metavar="unix:PATH|tcp:HOST:PORT[,server=on,wait=off]",
                         help="readline monitor on a new socket (shorthand for -chardev + -mon)")
    console = parser.add_argument_group("one step to a console")
    console.add_argument("target", nargs="?", metavar="TARGET",
                         help="a serial port (path, by-id name or a unique part of one),"
                              " unix:PATH, tcp:HOST:PORT or telnet:HOST:PORT")
    console.add_argument("--baud", metavar="N", help="a serial TARGET's speed (default 115200)")
    logging_group = console.add_mutually_exclusive_group()
    logging_group.add_argument("--log", metavar="PATH",
                               help="log the console to PATH (appending) instead of the state"
                                    " directory's TARGET-DATE.log")
    logging_group.add_argument("--no-log", action="store_true", help="do not log the console")
    console.add_argument("--list", action="store_true", help="list the serial ports and exit")
    run = parser.add_argument_group("running")
    run.add_argument("--headless", action="store_true",
                     help="run without the UI until SIGINT/SIGTERM or the QMP 'quit' command")
    run.add_argument("--profile", metavar="NAME", help="build the session from a saved profile")
    run.add_argument("--save-profile", metavar="NAME",
                     help="save the session given by the other options as a profile, and exit")
    parser.add_argument("--version", action="version", version=f"tuicon {__version__}")
    parser.set_defaults(steps=None)
    return parser


def steps_from_args(args: argparse.Namespace) -> list[Step]:
    """The session steps, with -qmp / -monitor expanded as QEMU does."""
    steps: list[Step] = []
    shorthand = 0
    for kind, argument in args.steps or []:
        if kind in ("qmp", "monitor"):
            chardev_id = f"compat_monitor{shorthand}"
            shorthand += 1
            mode = "control" if kind == "qmp" else "readline"
            steps.append(("chardev", socket_shorthand(chardev_id, argument, f"-{kind}")))
            steps.append(("mon", f"chardev={chardev_id},mode={mode}"))
        else:
            steps.append((kind, argument))
    return steps


def socket_shorthand(chardev_id: str, text: str, option: str) -> str:
    """``unix:PATH,...`` or ``tcp:HOST:PORT,...`` as a ``-chardev socket`` argument."""
    address, comma, rest = text.partition(",")
    extra = f",{rest}" if comma else ",server=on,wait=off"
    if address.startswith("unix:") and len(address) > 5:
        return f"socket,id={chardev_id},path={address[5:]}{extra}"
    if address.startswith("tcp:"):
        host, colon, port = address[4:].rpartition(":")
        if colon and port:
            host = host.strip("[]") or "127.0.0.1"
            return f"socket,id={chardev_id},host={host},port={port}{extra}"
    raise CommandLineError(
        f"{option} {text}: expected unix:PATH or tcp:HOST:PORT, optionally followed by"
        " ,server=on,wait=off"
    )


def target_session(args: argparse.Namespace) -> tuple[list[Step], str]:
    """The steps for ``tuicon TARGET`` and the status line saying where the log is."""
    if args.target is None:
        for given, option in ((args.baud, "--baud"), (args.log, "--log"), (args.no_log, "--no-log")):
            if given:
                raise CommandLineError(f"{option} goes with a TARGET (tuicon TARGET {option} ...)")
        return [], ""
    if args.profile:
        raise CommandLineError("a TARGET and --profile do not mix: choose one")
    target = targets.parse_target(args.target)
    if args.no_log:
        log = None
    elif args.log:
        log = Path(args.log)
    else:
        directory = default_log_path().parent
        log = targets.log_path(target, directory, datetime.date.today())
    steps = targets.console_steps(target, baud=args.baud, log=log)
    if log is not None and not args.log:
        make_private_directory(log.parent)  # logs hold what was typed
    where = f"logged to {log}" if log is not None else "not logged"
    return steps, f"Console on {target.kind} {target.address}, {where}."


def help_request(steps: Sequence[Step]) -> str | None:
    """The text for ``-chardev help`` or ``-chardev TYPE,help``, if asked."""
    for kind, argument in steps:
        if kind != "chardev":
            continue
        if argument == "help":
            lines = [f"  {name:<10} {backends.backend_class(name).summary}" for name in backends.names()]
            return "Available chardev backend types:\n" + "\n".join(lines)
        head, _, rest = argument.partition(",")
        if rest == "help":
            return backends.help(head)
    return None


# --- running a session --------------------------------------------------------------


async def run_headless(steps: Sequence[Step], *, demo: bool = False, note: str = "") -> int:
    # Progress worth seeing (a server waiting for its client) is logged.
    logging.basicConfig(level=logging.INFO, format="tuicon: %(message)s", stream=sys.stdout)
    session = Session()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    session.on_quit(lambda reason: stop.set())
    try:
        # Start-up may wait (a server with wait=on); Ctrl-C must still stop it.
        building = asyncio.create_task(session.apply(steps))
        await first_completed(asyncio.shield(building), stop.wait())
        if not building.done():
            building.cancel()
            await asyncio.gather(building, return_exceptions=True)
            print("tuicon: interrupted during start-up.", flush=True)
        else:
            building.result()  # a bad option: reported by main()
            print_status(session, demo, note)
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await session.close()
    print("tuicon: stopped, everything closed.", flush=True)
    return 0


def print_status(session: Session, demo: bool, note: str = "") -> None:
    for info in session.chardevs.query():
        state = "open" if info.be_open else "closed"
        users = ", ".join(info.frontends) or "-"
        print(f"  chardev {info.label:<10} {info.type:<8} {state:<6} {info.filename}  [{users}]")
    for device in session.devices.query():
        print(f"  device  {device['id']:<10} {device['driver']:<8} on {', '.join(device['chardevs'])}")
    if demo:
        port = session.chardevs.get("share").port
        pty = session.chardevs.get("pty").filename.removeprefix("pty:")
        print(
            f"Type into the console from another terminal: nc 127.0.0.1 {port}"
            f" (or telnet 127.0.0.1 {port}, or picocom {pty}).\n"
            f"The demo board answers (type help); everything is logged to {default_log_path()}."
        )
    if note:
        print(note)
    chardevs, devices = len(session.chardevs), len(session.devices.ids())
    print(f"tuicon: ready ({chardevs} chardevs, {devices} devices); Ctrl-C stops.", flush=True)


def run_session(steps: Sequence[Step], *, headless: bool, demo: bool, ui: dict[str, Any],
                note: str = "") -> int:
    if headless:
        return asyncio.run(run_headless(steps, demo=demo, note=note))
    try:
        from .ui.app import run_app
    except ImportError:
        print("tuicon: the full-screen UI is not available in this build; running headless.")
        return asyncio.run(run_headless(steps, demo=demo, note=note))
    return run_app(steps, ui=ui)


def run_last_or_demo(store: ProfileStore, *, headless: bool) -> int:
    """Plain ``tuicon``: the session it had when it last quit, else the demo.

    A last session that does not load, or loads but does not build (a fixed
    port now taken), never locks the user out: one line says why, the file is
    moved aside as ``last-session.toml.bad`` and the demo opens instead.
    """
    try:
        last = store.load_last_session()
    except ProfileError as err:
        set_aside_last_session(store, str(err))
        last = None
    if last is not None and last.steps:
        try:
            return run_session(last.steps, headless=headless, demo=False, ui=last.ui)
        except ChardevError as err:
            set_aside_last_session(store, f"{store.last_session_path}: does not build: {err}")
    return run_session(demo_steps(), headless=headless, demo=True, ui={})


def set_aside_last_session(store: ProfileStore, reason: str) -> None:
    try:
        where = f"moved to {store.set_aside_last_session()}"
    except ProfileError as err:
        where = str(err)
    print(f"tuicon: last session not reopened: {reason}; {where}; opening the demo",
          file=sys.stderr, flush=True)


def demo_steps() -> list[Step]:
    log_path = default_log_path()
    make_private_directory(log_path.parent)
    return default_steps(log_path)


# --- profiles -------------------------------------------------------------------------


def profile_command(argv: Sequence[str], store: ProfileStore) -> int:
    parser = _Parser(prog="tuicon profile", description="Manage saved session profiles.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list saved profiles")
    for action, text in (
        ("show", "print a profile's TOML"),
        ("delete", "delete a profile (its .bak backup stays)"),
        ("export", "print the equivalent tuicon/QEMU command-line options"),
    ):
        sub.add_parser(action, help=text).add_argument("name")
    args = parser.parse_args(argv)
    if args.action == "list":
        names = store.names()
        print("\n".join(names) if names else f"no profiles in {store.directory}")
    elif args.action == "show":
        store.load(args.name)  # report mistakes rather than print a broken file
        print(store.read_text(args.name), end="")
    elif args.action == "delete":
        store.delete(args.name)
        print(f"deleted profile '{args.name}'")
    else:
        print(shlex.join(store.load(args.name).command_line()))
    return 0


def save_profile(name: str, steps: list[Step], store: ProfileStore) -> int:
    try:
        path = store.save(name, Profile(steps=steps))
    except ProfileError as err:
        raise ProfileError(f"profile '{name}' not saved: {err}") from None
    print(f"saved profile '{name}' to {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    store = ProfileStore()
    try:
        if argv[:1] == ["profile"]:
            return profile_command(argv[1:], store)
        args = build_parser().parse_args(argv)
        if args.list:
            print(targets.port_list())
            return 0
        console, note = target_session(args)
        steps = console + steps_from_args(args)
        text = help_request(steps)
        if text is not None:
            print(text)
            return 0
        if args.save_profile:
            return save_profile(args.save_profile, steps, store)
        ui: dict[str, Any] = {}
        if args.profile:
            profile = store.load(args.profile)
            try:
                return run_session(profile.steps + steps, headless=args.headless, demo=False,
                                   ui=profile.ui)
            except ChardevError as err:  # say which file the failing entry came from
                raise ChardevError(f"{store.path(args.profile)}: does not build: {err}") from None
        if not steps:
            return run_last_or_demo(store, headless=args.headless)
        return run_session(steps, headless=args.headless, demo=False, ui=ui, note=note)
    except (CommandLineError, ChardevError, targets.TargetError) as err:
        print(f"tuicon: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # HOME or a state directory that cannot be used, say
        where = f" ({shown(str(err.filename))})" if err.filename else ""
        print(f"tuicon: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
