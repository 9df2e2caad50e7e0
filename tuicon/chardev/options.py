"""Backend options: declared once, parsed from either of QEMU's two syntaxes.

Each backend declares its options as a frozen dataclass whose fields are made
with :func:`option`.  That one declaration gives the option's command-line
name, its QAPI (``chardev-add``) name, its kind, default and help text, so the
``-chardev`` parser, the QMP parser, ``-chardev TYPE,help``, profiles and the
UI forms all read the same table.

Two inputs produce the same :class:`ChardevSpec`:

* a QEMU option string: ``ringbuf,id=r0,size=1024`` (``,,`` is a literal comma);
* a QAPI-shaped dict: ``{"type": "ringbuf", "data": {"size": 1024}}``.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import InvalidOption

Source = Literal["cli", "qapi"]


class Kind(enum.Enum):
    """How an option's value is written and checked."""

    STR = "string"
    INT = "number"
    BOOL = "on|off"
    SIZE = "size"
    STRLIST = "list of ids"


_REQUIRED = dataclasses.MISSING


def option(
    default: Any = _REQUIRED,
    *,
    help: str,
    name: str | None = None,
    qapi: str | None = None,
    kind: Kind | None = None,
    choices: Iterable[str] | None = None,
    cli_required_text: str | None = None,
    cli_only: bool = False,
) -> Any:
    """Declare one backend option as a dataclass field.

    ``name`` is the command-line spelling (default: the field name with ``_``
    as ``-``), ``qapi`` the ``chardev-add`` member name (default: ``name``).
    An option without a default is required.  ``cli_required_text`` is QEMU's
    own wording when the option is missing on the command line.
    """
    meta = {
        "help": help,
        "name": name,
        "qapi": qapi,
        "kind": kind,
        "choices": tuple(choices) if choices else None,
        "cli_required_text": cli_required_text,
        "cli_only": cli_only,
    }
    if default is _REQUIRED:
        return field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class OptionInfo:
    """Everything known about one option, read off its declaration."""

    attr: str
    name: str
    qapi: str
    kind: Kind
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    cli_required_text: str | None = None
    cli_only: bool = False

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe_default(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "unset"
        return format_value(self.kind, self.default)


@dataclass(frozen=True)
class NoOptions:
    """Backends with only the common options."""


_KIND_BY_TYPE = {int: Kind.INT, bool: Kind.BOOL, str: Kind.STR}


def _kind_from_hint(hint: Any) -> Kind:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return Kind.STRLIST
    if args:
        return _kind_from_hint(args[0])
    try:
        return _KIND_BY_TYPE[hint]
    except KeyError:
        raise TypeError(f"no option kind for type {hint!r}") from None


def describe(options_cls: type) -> tuple[OptionInfo, ...]:
    """The option table of an options dataclass, in declaration order."""
    cached = options_cls.__dict__.get("_tuicon_option_table")
    if cached is not None:
        return cached
    hints = typing.get_type_hints(options_cls)
    table = []
    for f in dataclasses.fields(options_cls):
        meta = f.metadata
        name = meta.get("name") or f.name.replace("_", "-")
        table.append(
            OptionInfo(
                attr=f.name,
                name=name,
                qapi=meta.get("qapi") or name,
                kind=meta.get("kind") or _kind_from_hint(hints[f.name]),
                default=f.default,
                help=meta.get("help", ""),
                choices=meta.get("choices"),
                cli_required_text=meta.get("cli_required_text"),
                cli_only=meta.get("cli_only", False),
            )
        )
    result = tuple(table)
    setattr(options_cls, "_tuicon_option_table", result)
    return result


# --- value conversion -------------------------------------------------------

_TRUE = {"on", "yes", "true", "y"}
_FALSE = {"off", "no", "false", "n"}
# ASCII digits only: str.isdigit() and int() also take '²' and '٣'.
_NUMBER_RE = re.compile(r"[0-9]{1,20}", re.ASCII)
_SIZE_RE = re.compile(r"([0-9]{1,20})\s*([kKmMgGtT]?)[bB]?", re.ASCII)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
NUMBER_LIMIT = 1 << 64
"""Numbers are unsigned 64-bit, as QEMU's option parser reads them."""
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}", re.ASCII)


def shown(text: str, limit: int = 40) -> str:
    """A user's value quoted in an error: controls escaped, long values shortened."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF
                   else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text)


def ascii_number(text: str) -> int | None:
    """The value of ``text`` if it is ASCII digits below 2^64, else None."""
    if not _NUMBER_RE.fullmatch(text):
        return None
    value = int(text)
    return value if value < NUMBER_LIMIT else None


def check_id(value: str, what: str = "id") -> str:
    """QEMU's rule for ids: a letter, then letters, digits, '-', '.' or '_'."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidOption(f"Parameter '{what}' expects an identifier", option=what)
    return value


def check_host(name: str, value: str) -> str:
    """A host name the resolver can take: IDNA-encodable (labels of at most 63 characters)."""
    check_text(name, value)
    try:
        value.encode("idna")
    except UnicodeError as err:
        raise InvalidOption(f"Parameter '{name}': '{shown(value)}' is not a valid host name"
                            f" ({err.__cause__ or err})", option=name) from None
    return value


def check_text(name: str, value: str) -> str:
    """Refuse strings no path, host or name can hold: NUL, lone surrogates."""
    if "\0" in value:
        raise InvalidOption(f"Parameter '{name}' must not contain a NUL character", option=name)
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise InvalidOption(f"Parameter '{name}' is not valid text (it holds a lone surrogate)",
                            option=name) from None
    return value


def _parse_cli_value(info: OptionInfo, text: str) -> Any:
    if info.kind is Kind.BOOL:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InvalidOption(f"Parameter '{info.name}' expects 'on' or 'off'", option=info.name)
    if info.kind is Kind.INT:
        value = ascii_number(text)
        if value is None:
            raise InvalidOption(
                f"Parameter '{info.name}' expects a number, not '{shown(text)}'", option=info.name
            )
        return value
    if info.kind is Kind.SIZE:
        match = _SIZE_RE.fullmatch(text.strip())
        value = (int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]) if match else None
        if value is None or value >= NUMBER_LIMIT:
            raise InvalidOption(
                f"Parameter '{info.name}' expects a size (a number with an optional"
                f" suffix K, M, G or T), not '{shown(text)}'",
                option=info.name,
            )
        return value
    return check_text(info.name, text)


def _check_qapi_value(info: OptionInfo, value: Any, path: str) -> Any:
    expected = {
        Kind.BOOL: ("boolean", lambda v: isinstance(v, bool)),
        Kind.INT: ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        Kind.SIZE: ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        Kind.STR: ("string", lambda v: isinstance(v, str)),
        Kind.STRLIST: (
            "array of strings",
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        ),
    }[info.kind]
    type_name, ok = expected
    if not ok(value):
        raise InvalidOption(
            f"Invalid parameter type for '{path}', expected: {type_name}", option=info.qapi
        )
    if info.kind in (Kind.INT, Kind.SIZE) and not 0 <= value < NUMBER_LIMIT:
        raise InvalidOption(
            f"Parameter '{path}' is out of range (expected a number from 0 to {NUMBER_LIMIT - 1})",
            option=info.qapi,
        )
    if info.kind is Kind.STR:
        check_text(path, value)
    if info.kind is Kind.STRLIST:
        for item in value:
            check_text(path, item)
        return tuple(value)
    return value


def format_value(kind: Kind, value: Any) -> str:
    """A value as the command line writes it."""
    if kind is Kind.BOOL:
        return "on" if value else "off"
    if kind is Kind.STRLIST:
        return ",".join(value)
    return str(value)


def _check_choices(info: OptionInfo, value: Any) -> None:
    if info.choices and value not in info.choices:
        raise InvalidOption(
            f"Parameter '{info.name}' does not accept value '{value}'"
            f" (allowed: {', '.join(info.choices)})",
            option=info.name,
        )


# --- option strings ---------------------------------------------------------


def split_option_string(text: str) -> list[tuple[str, str | None]]:
    """Split ``a=1,b=x,,y,c`` into pairs; ``,,`` is a literal comma.

    A bare word (no ``=``) gives ``(word, None)``.
    """
    items: list[tuple[str, str | None]] = []
    buf: list[str] = []
    i = 0
    while i <= len(text):
        if i == len(text) or text[i] == ",":
            if i < len(text) - 1 and text[i + 1] == ",":
                buf.append(",")
                i += 2
                continue
            item = "".join(buf)
            buf = []
            if item:
                key, sep, value = item.partition("=")
                items.append((key, value if sep else None))
            elif i < len(text):
                raise InvalidOption("Empty parameter in option string", option=None)
            i += 1
            continue
        buf.append(text[i])
        i += 1
    return items


def escape_value(value: str) -> str:
    return value.replace(",", ",,")


# --- the spec ---------------------------------------------------------------


@dataclass(frozen=True)
class CommonOptions:
    """Options every backend takes (QEMU's ChardevCommon plus the CLI-only keys)."""

    logfile: str | None = option(
        None, help="file that receives a copy of everything written to the backend"
    )
    logappend: bool = option(False, help="append to the logfile instead of truncating it")
    logfile_timestamps: bool = option(
        False, help="start each logfile line with its local time (ISO 8601, milliseconds)"
    )
    logfile_rotate_size: int | None = option(
        None, kind=Kind.SIZE, help="start a new logfile once it holds this many bytes (at a line end)"
    )
    logfile_rotate_time: str | None = option(
        None, help="start a new logfile every DURATION (30s, 15m, 1h, 1d), on the wall clock"
    )
    logfile_keep: int | None = option(
        None, help="keep at most N logfiles (the one being written counts); the oldest go"
    )
    mux: bool = option(
        False,
        cli_only=True,
        help="multiplex: create the backend as ID-base and a mux ID for up to 4 frontends",
    )
    mux_be_id: str | None = option(
        None,
        name="mux-be-id",
        help="attach this backend as a member of the mux-be (or hub) with this id",
    )

    def __post_init__(self) -> None:
        extras = (self.logfile_timestamps, self.logfile_rotate_size, self.logfile_rotate_time,
                  self.logfile_keep)
        if self.logfile is not None or any(value not in (None, False) for value in extras):
            from .logfile import logfile_policy  # (it imports this module)

            logfile_policy(self)  # one-line errors naming the logfile-* option


COMMON_OPTIONS = describe(CommonOptions)


@dataclass(frozen=True)
class ChardevSpec:
    """A validated description of one chardev: id, type, typed options."""

    id: str
    type: str
    options: Any
    common: CommonOptions = CommonOptions()

    def to_cli(self) -> str:
        """The ``-chardev`` argument that builds this chardev again."""
        parts = [self.type, f"id={escape_value(self.id)}"]
        for obj in (self.options, self.common):
            for info in describe(type(obj)):
                value = getattr(obj, info.attr)
                if value is None or (not info.required and value == info.default):
                    continue
                if info.kind is Kind.STRLIST:
                    parts += [f"{info.name}.{i}={escape_value(v)}" for i, v in enumerate(value)]
                else:
                    parts.append(f"{info.name}={escape_value(format_value(info.kind, value))}")
        return ",".join(parts)

    def to_qapi(self) -> dict[str, Any]:
        """The ``backend`` argument of ``chardev-add`` for this chardev."""
        data: dict[str, Any] = {}
        for obj in (self.options, self.common):
            for info in describe(type(obj)):
                value = getattr(obj, info.attr)
                if info.cli_only or value is None:
                    continue
                if not info.required and value == info.default:
                    continue
                data[info.qapi] = list(value) if info.kind is Kind.STRLIST else value
        nest = getattr(type(self.options), "nest_qapi", None)
        if nest is not None:
            data = nest(data)
        return {"type": self.type, "data": data}


class BackendTypes(typing.Protocol):
    """What the parser needs from the backend registry."""

    def options_class(self, type_name: str) -> type: ...

    def resolver(self, type_name: str) -> Callable[..., dict[str, Any]] | None: ...


def values_from_cli(
    table: tuple[OptionInfo, ...], pairs: Mapping[str, str]
) -> tuple[dict[str, Any], set[str]]:
    by_name = {info.name: info for info in table}
    values: dict[str, Any] = {}
    lists: dict[str, dict[int, str]] = {}
    for key, text in pairs.items():
        base, dot, index = key.partition(".")
        info = by_name.get(base)
        position = ascii_number(index) if dot else None
        if info is not None and info.kind is Kind.STRLIST and position is not None:
            lists.setdefault(info.attr, {})[position] = check_text(key, text)
            continue
        if info is None or dot:
            raise InvalidOption.unknown(key, by_name)
        values[info.attr] = _parse_cli_value(info, text)
    for attr, indexed in lists.items():
        info = next(i for i in table if i.attr == attr)
        expected = list(range(len(indexed)))
        if sorted(indexed) != expected:
            missing = next(i for i in expected if i not in indexed)
            raise InvalidOption(
                f"Parameter '{info.name}.{missing}' is missing", option=info.name
            )
        values[attr] = tuple(indexed[i] for i in expected)
    return values, set(values)


def values_from_qapi(
    table: tuple[OptionInfo, ...], data: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    by_qapi = {info.qapi: info for info in table if not info.cli_only}
    values: dict[str, Any] = {}
    for key, value in data.items():
        info = by_qapi.get(key)
        if info is None:
            raise InvalidOption.unknown(key, by_qapi)
        values[info.attr] = _check_qapi_value(info, value, key)
    return values, set(values)


def build_options(cls: type, table: tuple[OptionInfo, ...], values: dict[str, Any], source: Source) -> Any:
    for info in table:
        if info.attr not in values and info.required:
            if source == "cli" and info.cli_required_text:
                raise InvalidOption(info.cli_required_text, option=info.name)
            raise InvalidOption.missing(info.name if source == "cli" else info.qapi)
        if info.attr in values:
            _check_choices(info, values[info.attr])
    return cls(**values)


def _split_common(
    pairs: Mapping[str, Any], key_of: Callable[[OptionInfo], str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    common_keys = {key_of(info) for info in COMMON_OPTIONS}
    common = {k: v for k, v in pairs.items() if k in common_keys}
    own = {k: v for k, v in pairs.items() if k not in common_keys}
    return common, own


def parse_cli(text: str, types: BackendTypes, *, chardev_id: str | None = None) -> ChardevSpec:
    """Parse a ``-chardev`` argument such as ``ringbuf,id=r0,size=1024``."""
    items = split_option_string(text)
    if not items:
        raise InvalidOption("chardev: no backend type given", option="backend")
    type_name: str | None = None
    pairs: dict[str, str] = {}
    for index, (key, value) in enumerate(items):
        if value is None:
            if index == 0:
                type_name = key
                continue
            raise InvalidOption(f"Expected '=' after parameter '{key}'", option=key)
        if key == "backend" and type_name is None:
            type_name = value
            continue
        if key in pairs:
            raise InvalidOption(f"Parameter '{key}' given more than once", option=key)
        pairs[key] = value
    given_id = pairs.pop("id", None)
    if given_id is not None and chardev_id is not None and given_id != chardev_id:
        raise InvalidOption(
            f"chardev id given twice: '{chardev_id}' and id={given_id}", option="id"
        )
    the_id = chardev_id if chardev_id is not None else given_id
    if not the_id:
        raise InvalidOption("chardev: no id specified", option="id")
    check_id(the_id)
    if type_name is None:
        raise InvalidOption(f'chardev: "{the_id}" missing backend', option="backend")
    options_cls = types.options_class(type_name)
    common_pairs, own_pairs = _split_common(pairs, lambda i: i.name)
    common_values, _ = values_from_cli(COMMON_OPTIONS, common_pairs)
    table = describe(options_cls)
    values, given = values_from_cli(table, own_pairs)
    resolve = types.resolver(type_name)
    if resolve is not None:
        values = resolve(values, given, "cli")
    return ChardevSpec(
        id=the_id,
        type=type_name,
        options=build_options(options_cls, table, values, "cli"),
        common=build_options(CommonOptions, COMMON_OPTIONS, common_values, "cli"),
    )


def parse_qapi(chardev_id: str, backend: Mapping[str, Any], types: BackendTypes) -> ChardevSpec:
    """Parse ``chardev-add``'s ``backend`` argument: ``{"type": ..., "data": {...}}``."""
    check_id(chardev_id)
    if not isinstance(backend, Mapping):
        raise InvalidOption("Invalid parameter type for 'backend', expected: object")
    extra = set(backend) - {"type", "data"}
    if extra:
        raise InvalidOption.unknown(sorted(extra)[0], ["type", "data"])
    type_name = backend.get("type")
    if not isinstance(type_name, str):
        raise InvalidOption.missing("backend.type") if type_name is None else InvalidOption(
            "Invalid parameter type for 'backend.type', expected: string"
        )
    data = backend.get("data", {})
    if not isinstance(data, Mapping):
        raise InvalidOption("Invalid parameter type for 'backend.data', expected: object")
    options_cls = types.options_class(type_name)
    flatten = getattr(options_cls, "flatten_qapi", None)
    if flatten is not None:
        # Nested QAPI members (a socket's "addr") become the flat option table's.
        data = flatten(data)
    common_data, own_data = _split_common(data, lambda i: i.qapi)
    common_values, _ = values_from_qapi(COMMON_OPTIONS, common_data)
    table = describe(options_cls)
    values, given = values_from_qapi(table, own_data)
    resolve = types.resolver(type_name)
    if resolve is not None:
        values = resolve(values, given, "qapi")
    return ChardevSpec(
        id=chardev_id,
        type=type_name,
        options=build_options(options_cls, table, values, "qapi"),
        common=build_options(CommonOptions, COMMON_OPTIONS, common_values, "qapi"),
    )


def help_text(type_name: str, options_cls: type, summary: str = "") -> str:
    """The text of ``-chardev TYPE,help``: every option with its default."""
    lines = [f"{type_name} options:" + (f"  ({summary})" if summary else "")]
    for info in describe(options_cls) + COMMON_OPTIONS:
        kind = info.kind.value
        if info.choices:
            kind = "|".join(info.choices)
        name = f"{info.name}.N" if info.kind is Kind.STRLIST else info.name
        lines.append(
            f"  {name}=<{kind}>  - {info.help} (default: {info.describe_default()})"
        )
    return "\n".join(lines)
