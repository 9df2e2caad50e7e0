"""The monitor commands: one table, used by QMP and by the readline monitor alike.

Every command acts through the session's chardev and device managers, so
what a monitor does is exactly what the UI and profiles do.  Names,
arguments and return shapes are QEMU's; ``query-devices`` and ``query-vc``
are tuicon's additions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..chardev import ChardevError
from ..chardev.aio import describe_exception

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)

QEMU_VERSION = {"major": 9, "minor": 2, "micro": 0}
"""The QEMU release whose chardev QMP tuicon speaks (clients check the shape)."""


class CommandError(Exception):
    """A command failed; ``error_class`` is QMP's (GenericError, CommandNotFound)."""

    def __init__(self, desc: str, error_class: str = "GenericError") -> None:
        super().__init__(desc)
        self.desc = desc
        self.error_class = error_class


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # "str", "int", "bool", "object"
    required: bool = True


Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str
    args: tuple[Arg, ...] = ()
    more_args: bool = False
    """Other arguments are allowed (device_add's device properties)."""
    hmp: str | None = None
    """The readline monitor's usage line, if it has the command."""


@dataclass
class Context:
    """What a command may touch: the session, and the quit request."""

    session: Session
    monitor_name: str = "monitor"
    extra: dict[str, Any] = field(default_factory=dict)


INT_RANGE = range(-(1 << 63), 1 << 64)
"""QMP integers are int64 (or uint64): anything else is not an integer to QEMU."""

TYPE_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "str": ("string", lambda v: isinstance(v, str)),
    "int": ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v in INT_RANGE),
    "bool": ("boolean", lambda v: isinstance(v, bool)),
    "object": ("object", lambda v: isinstance(v, dict)),
    "list": ("array", lambda v: isinstance(v, list)),
}


def check_arguments(command: Command, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """QEMU's argument checks and texts: missing, mistyped, unexpected."""
    known = {arg.name: arg for arg in command.args}
    for arg in command.args:
        if arg.name not in arguments:
            if arg.required:
                raise CommandError(f"Parameter '{arg.name}' is missing")
            continue
        type_name, ok = TYPE_CHECKS[arg.type]
        if not ok(arguments[arg.name]):
            raise CommandError(f"Invalid parameter type for '{arg.name}', expected: {type_name}")
    if not command.more_args:
        for name in arguments:
            if name not in known:
                raise CommandError(f"Parameter '{name}' is unexpected")
    return dict(arguments)


async def run(ctx: Context, name: str, arguments: Mapping[str, Any]) -> Any:
    """Check and run one command; every failure is a CommandError."""
    command = COMMANDS.get(name)
    if command is None:
        raise CommandError(f"The command {name} has not been found", "CommandNotFound")
    args = check_arguments(command, arguments)
    return await guarded(ctx, name, lambda: command.handler(ctx, **args))


async def guarded(ctx: Context, name: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``call()``; any failure comes out as a CommandError, nothing else.

    The one net under every monitor request: a failure nobody foresaw (a bug
    deep in the engine) is logged once with its traceback and answered as a
    GenericError, and the monitor and its connection go on.
    """
    try:
        return await call()
    except CommandError:
        raise
    except ChardevError as err:
        raise CommandError(str(err)) from None
    except Exception as err:
        log.error("%s: '%s' failed unexpectedly", ctx.monitor_name, name, exc_info=True)
        raise CommandError(f"'{name}' failed unexpectedly: {describe_exception(err)}") from None


# --- the commands ----------------------------------------------------------------


async def query_version(ctx: Context) -> dict[str, Any]:
    return {"qemu": dict(QEMU_VERSION), "package": f"tuicon {__version__}"}


async def query_commands(ctx: Context) -> list[dict[str, str]]:
    return [{"name": name} for name in sorted(COMMANDS)]


async def query_chardev(ctx: Context) -> list[dict[str, Any]]:
    return [info.to_qmp() for info in ctx.session.chardevs.query()]


async def query_chardev_backends(ctx: Context) -> list[dict[str, str]]:
    return [{"name": name} for name in ctx.session.chardevs.registry.names()]


async def chardev_add(ctx: Context, id: str, backend: dict[str, Any]) -> dict[str, Any]:
    return await ctx.session.chardevs.add(id, backend)


async def chardev_change(ctx: Context, id: str, backend: dict[str, Any]) -> dict[str, Any]:
    return await ctx.session.chardevs.change(id, backend)


async def chardev_remove(ctx: Context, id: str) -> dict[str, Any]:
    await ctx.session.chardevs.remove(id)
    return {}


async def chardev_send_break(ctx: Context, id: str) -> dict[str, Any]:
    ctx.session.chardevs.send_break(id)
    return {}


async def ringbuf_write(ctx: Context, device: str, data: str, format: str = "utf8") -> dict[str, Any]:
    ctx.session.chardevs.ringbuf_write(device, data, format)
    return {}


async def ringbuf_read(ctx: Context, device: str, size: int, format: str = "utf8") -> str:
    return ctx.session.chardevs.ringbuf_read(device, size, format)


async def device_add(ctx: Context, driver: str, id: str | None = None, **props: Any) -> dict[str, Any]:
    await ctx.session.devices.add(driver, id, props)
    return {}


async def device_del(ctx: Context, id: str) -> dict[str, Any]:
    await ctx.session.devices.remove(id)
    return {}


async def query_devices(ctx: Context) -> list[dict[str, Any]]:
    return ctx.session.devices.query()


async def query_vc(ctx: Context, id: str) -> dict[str, Any]:
    chardev = ctx.session.chardevs.get(id)
    if chardev.type_name != "vc":
        raise CommandError(f"Chardev '{id}' is not a vc (it is a {chardev.type_name})")
    cols, rows = chardev.size
    x, y = chardev.cursor
    return {"id": id, "cols": cols, "rows": rows, "cursor": {"x": x, "y": y}, "engine": chardev.engine,
            "skipped-bytes": chardev.skipped_bytes, "lines": chardev.lines()}


async def chardev_client_writer(ctx: Context, id: str, client: int) -> dict[str, Any]:
    """tuicon: hand a socket server's write role to client N (writers=one; conserver's force)."""
    chardev = ctx.session.chardevs.get(id)
    hand_over = getattr(chardev, "hand_write_role", None)
    if hand_over is None:
        raise CommandError(f"Chardev '{id}' is not a socket server (it is a {chardev.type_name})")
    hand_over(client)
    return {}


async def quit(ctx: Context) -> dict[str, Any]:
    ctx.session.request_quit(f"quit from {ctx.monitor_name}")
    return {}


async def qmp_capabilities(ctx: Context, enable: list[Any] | None = None) -> dict[str, Any]:
    # Reaching here means negotiation is already over (the QMP layer handles it first).
    raise CommandError("Capabilities negotiation is already complete, command ignored",
                       "CommandNotFound")


async def serial_set(ctx: Context, id: str, **settings: Any) -> dict[str, Any]:
    await ctx.session.chardevs.serial_set(id, **settings)
    return {}


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("qmp_capabilities", qmp_capabilities, "leave capabilities negotiation",
                (Arg("enable", "list", False),)),
        Command("query-version", query_version, "tuicon's version, in QEMU's shape"),
        Command("query-commands", query_commands, "the commands available"),
        Command("query-chardev", query_chardev, "every chardev with its status",
                hmp="info chardev"),
        Command("query-chardev-backends", query_chardev_backends, "the backend types"),
        Command("chardev-add", chardev_add, "create a chardev",
                (Arg("id", "str"), Arg("backend", "object")), hmp="chardev-add TYPE,id=ID[,...]"),
        Command("chardev-change", chardev_change, "swap a chardev's backend (hot-swap)",
                (Arg("id", "str"), Arg("backend", "object")), hmp="chardev-change ID TYPE[,...]"),
        Command("chardev-remove", chardev_remove, "remove a chardev", (Arg("id", "str"),),
                hmp="chardev-remove ID"),
        Command("chardev-send-break", chardev_send_break, "send a BREAK to a chardev's frontend",
                (Arg("id", "str"),), hmp="chardev-send-break ID"),
        Command("ringbuf-write", ringbuf_write, "write into a ringbuf",
                (Arg("device", "str"), Arg("data", "str"), Arg("format", "str", False)),
                hmp="ringbuf_write DEVICE DATA"),
        Command("ringbuf-read", ringbuf_read, "read (and consume) from a ringbuf",
                (Arg("device", "str"), Arg("size", "int"), Arg("format", "str", False)),
                hmp="ringbuf_read DEVICE SIZE"),
        Command("device_add", device_add, "create a device (bridge, echo)",
                (Arg("driver", "str"), Arg("id", "str", False)), more_args=True,
                hmp="device_add DRIVER[,id=ID][,prop=value...]"),
        Command("device_del", device_del, "remove a device", (Arg("id", "str"),),
                hmp="device_del ID"),
        Command("query-devices", query_devices, "tuicon: every device and the chardevs it uses",
                hmp="info devices"),
        Command("query-vc", query_vc, "tuicon: a vc's size, cursor and screen text",
                (Arg("id", "str"),)),
        Command("quit", quit, "stop tuicon, closing everything", hmp="quit"),
        Command("serial-set", serial_set,
                "tuicon: change a serial port's line settings live; DTR, RTS, a timed break",
                (Arg("id", "str"), Arg("baud", "int", False), Arg("bits", "int", False),
                 Arg("parity", "str", False), Arg("stop", "str", False), Arg("flow", "str", False),
                 Arg("dtr", "bool", False), Arg("rts", "bool", False), Arg("break-ms", "int", False)),
                hmp="serial_set ID setting=value[,...]"),
        Command("chardev-client-writer", chardev_client_writer,
                "tuicon: give the write role of a writers=one socket server to client N",
                (Arg("id", "str"), Arg("client", "int"))),
    )
}


# --- mux-be membership (tuicon's own, in QEMU's style) ------------------------------


def _mux_be(ctx: Context, id: str) -> Any:
    chardev = ctx.session.chardevs.get(id)
    if chardev.type_name != "mux-be":
        raise CommandError(f"Chardev '{id}' is not a mux-be (it is a {chardev.type_name})")
    return chardev


async def mux_be_attach(ctx: Context, id: str, member: str) -> dict[str, Any]:
    _mux_be(ctx, id)
    ctx.session.chardevs.attach_member(id, member)
    return {}


async def mux_be_detach(ctx: Context, id: str, member: str) -> dict[str, Any]:
    mux_be = _mux_be(ctx, id)
    chardev = ctx.session.chardevs.get(member)
    if mux_be.member_of(chardev) is None:
        raise CommandError(f"Chardev '{member}' is not a member of mux-be '{id}'")
    ctx.session.chardevs.detach_member(member)
    return {}


COMMANDS.update({
    c.name: c
    for c in (
        Command("mux-be-attach", mux_be_attach, "tuicon: make a chardev a member of a mux-be",
                (Arg("id", "str"), Arg("member", "str")), hmp="mux-be-attach MUX_BE ID"),
        Command("mux-be-detach", mux_be_detach, "tuicon: take a member out of its mux-be (it stays)",
                (Arg("id", "str"), Arg("member", "str")), hmp="mux-be-detach MUX_BE ID"),
    )
})
