"""Session profiles: the whole wiring saved as a human-editable TOML file.

A profile is the same thing as a command line -- an ordered list of
``-chardev`` / ``-device`` / ``-mon`` options -- written as TOML tables with
typed values, plus the UI state worth keeping::

    version = 1

    [ui]
    theme = "textual-dark"
    pane-order = ["screen", "console"]

    [[chardev]]
    id = "console"
    type = "mux-be"

    [[chardev]]
    id = "log"
    type = "file"
    path = "/home/me/console.log"
    mux-be-id = "console"

    [[device]]
    id = "device"
    driver = "echo"
    chardev = "console"

    [[monitor]]
    chardev = "qmp0"
    mode = "control"

Keys are the ``-chardev`` option names (``tuicon -chardev TYPE,help``).
Loading checks every entry before anything is built, and an error names the
file, the entry and the field.  Saving never loses anything: the new text is
written to a temporary file, flushed to disk and renamed over the old one,
which is kept as ``NAME.toml.bak``; a profile that does not parse is never
overwritten, and a lock file serialises two tuicon processes saving at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
import tomli_w

from .chardev import ChardevError, ChardevManager
from .chardev.mux import MuxChardev
from .chardev.mux_be import MuxBeChardev
from .chardev.options import (
    COMMON_OPTIONS,
    ChardevSpec,
    Kind,
    OptionInfo,
    describe,
    escape_value,
    format_value,
    parse_cli,
    shown,
    split_option_string,
)
from .chardev.registry import backends
from .devices.manager import DeviceManager
from .monitor.manager import parse_monitor_options

if TYPE_CHECKING:
    from .session import Session, Step

VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
UI_KEYS = {"theme": str, "pane-order": list, "view": str, "display": dict}
MAX_FILE_SIZE = 1 << 20
"""A profile is a few kilobytes; anything past this is not one (and is not read)."""
SECTIONS = {"chardev": "chardev", "device": "device", "monitor": "mon"}
"""The TOML arrays of tables, and the session step each entry becomes."""
_HEADER_RE = re.compile(
    r"""^[ \t]*\[\[[ \t]*(["']?)(chardev|device|monitor)\1[ \t]*\]\][ \t]*(?:#.*)?\r?$""",
    re.MULTILINE,
)


class ProfileError(ChardevError):
    """A profile could not be read, checked or written; the text says where."""


@dataclass
class Profile:
    """A session as data: the steps that build it, and UI state."""

    steps: list[Step] = field(default_factory=list)
    ui: dict[str, Any] = field(default_factory=dict)

    def command_line(self) -> list[str]:
        """The equivalent QEMU-style arguments, ready to paste after ``tuicon``."""
        args: list[str] = []
        for kind, text in self.steps:
            args += [f"-{kind}", text]
        return args


# --- TOML text <-> Profile ----------------------------------------------------------


def dumps(profile: Profile) -> str:
    """The TOML text of a profile: one ``[[chardev]]``-style table per entry, in order.

    Every step is checked as the command line would check it first, so a
    mistake is a :class:`ProfileError` naming the option, never a crash.
    """
    # Written table by table: tomli-w alone would squeeze short entries
    # into inline tables, which are harder to edit by hand.
    chunks = [
        "# tuicon session profile: keys are the -chardev / -device option names\n",
        tomli_w.dumps({"version": VERSION}),
    ]
    if profile.ui:
        chunks.append("\n[ui]\n" + tomli_w.dumps(dict(profile.ui)))
    for kind, text in profile.steps:
        where = f"-{kind} {shown(text, 60)}"
        table = _step_to_table(kind, text, where)
        chunk = f"\n[[{_TABLE_OF_KIND[kind]}]]\n" + tomli_w.dumps(table)
        try:
            chunk.encode("utf-8")
        except UnicodeEncodeError:
            # A Linux path may be any bytes; a TOML file is UTF-8 text.
            raise ProfileError(f"{where}: a value is not valid UTF-8 text;"
                               " a profile cannot hold it") from None
        chunks.append(chunk)
    return "".join(chunks)


def loads(text: str, source: str = "<profile>") -> Profile:
    """Parse and check a profile; every error is one line naming ``source``, the entry and the field."""
    doc = _parse_toml(text, source)
    version = doc.get("version")
    if type(version) is not int or version != VERSION:  # noqa: E721 -- true is not 1
        raise ProfileError(
            f"{source}: field 'version' must be {VERSION} (got {_shown_value(version)});"
            " this tuicon reads profile version 1"
        )
    unknown = set(doc) - {"version", "ui", *SECTIONS}
    if unknown:
        raise ProfileError(
            f"{source}: unknown section '{shown(sorted(unknown)[0])}'"
            " (allowed: version, ui, chardev, device, monitor)"
        )
    profile = Profile(ui=_check_ui(doc.get("ui", {}), source))
    for section, index, entry in _entries_in_file_order(doc, text, source):
        where = f"{source}: {section} #{index}"
        if not isinstance(entry, dict):
            raise ProfileError(f"{where}: must be a table")
        if "id" in entry:
            where += f" (id '{shown(str(entry['id']))}')"
        kind = SECTIONS[section]
        profile.steps.append((kind, _table_to_step(kind, entry, where)))
    return profile


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{source}: not valid TOML: {err}") from None
    except RecursionError:
        raise ProfileError(f"{source}: not valid TOML: nested too deeply") from None
    except ValueError as err:  # an integer beyond Python's digit limit, say
        raise ProfileError(f"{source}: not valid TOML: {shown(str(err), 80)}") from None


def _entries_in_file_order(
    doc: Mapping[str, Any], text: str, source: str
) -> Iterator[tuple[str, int, Any]]:
    """``(section, index, entry)`` for every entry, in the order the file lists them.

    tomllib keeps each array in order but not the order across them, and
    that order matters: it is the order of the command line, which decides
    a mux's frontend numbers and what a later entry may refer to.  It is
    recovered from the ``[[section]]`` headers, cross-checked against what
    tomllib parsed.
    """
    arrays: dict[str, list[Any]] = {}
    for section in SECTIONS:
        entries = doc.get(section, [])
        if not isinstance(entries, list):
            raise ProfileError(f"{source}: '{section}' must be an array of tables ([[{section}]])")
        if entries:
            arrays[section] = entries
    headers = [match.group(2) for match in _HEADER_RE.finditer(text)]
    counts_match = all(headers.count(section) == len(arrays.get(section, ())) for section in SECTIONS)
    if len(arrays) > 1 and not counts_match:
        found = ", ".join(f"{len(entries)} {section}" for section, entries in arrays.items())
        raise ProfileError(
            f"{source}: cannot tell the order of the entries ({found}, not all written as"
            " [[chardev]] / [[device]] / [[monitor]] tables); write each entry as its own table"
        )
    order = headers if counts_match else [section for section in arrays for _ in arrays[section]]
    taken = dict.fromkeys(SECTIONS, 0)
    for section in order:
        taken[section] += 1
        yield section, taken[section], arrays[section][taken[section] - 1]


_TABLE_OF_KIND = {kind: section for section, kind in SECTIONS.items()}


def _shown_value(value: Any) -> str:
    """A TOML value in an error: its type and a short, one-line repr."""
    return f"{type(value).__name__} {shown(repr(value))}" if value is not None else "nothing"


def _check_ui(ui: Any, source: str) -> dict[str, Any]:
    if not isinstance(ui, dict):
        raise ProfileError(f"{source}: 'ui' must be a table")
    for key, value in ui.items():
        expected = UI_KEYS.get(key)
        if expected is None:
            raise ProfileError(
                f"{source}: ui: unknown field '{shown(key)}' (allowed: {', '.join(UI_KEYS)})"
            )
        if not isinstance(value, expected):
            raise ProfileError(f"{source}: ui: field '{key}' must be a {expected.__name__}")
        if expected is list and not all(isinstance(item, str) for item in value):
            raise ProfileError(f"{source}: ui: field '{key}' must be an array of strings")
    return dict(ui)


def _option_table(kind: str, entry: Mapping[str, Any], where: str) -> tuple[str, tuple[OptionInfo, ...]]:
    """The head of the command-line argument and the options allowed after it."""
    if kind == "chardev":
        type_name = _require_str(entry, "type", where)
        try:
            options = backends.options_class(type_name)
        except ChardevError as err:
            raise ProfileError(f"{where}: field 'type': {err}") from None
        return type_name, describe(options) + COMMON_OPTIONS
    if kind == "device":
        driver = _require_str(entry, "driver", where)
        try:
            cls = DeviceManager.driver_class(driver)
        except ChardevError as err:
            raise ProfileError(f"{where}: field 'driver': {err}") from None
        return driver, describe(cls.Options)
    return "", ()


def _require_str(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value is None:
        raise ProfileError(f"{where}: field '{key}' is missing")
    if not isinstance(value, str):
        raise ProfileError(f"{where}: field '{key}' must be a string")
    return value


def _table_to_step(kind: str, entry: Mapping[str, Any], where: str) -> str:
    """One TOML entry as its command-line argument, every field checked."""
    if kind == "mon":
        return _monitor_step(entry, where)
    head, table = _option_table(kind, entry, where)
    by_name = {info.name: info for info in table}
    parts = [head, f"id={escape_value(_require_str(entry, 'id', where))}"]
    for key, value in entry.items():
        if key in ("id", "type", "driver"):
            continue
        info = by_name.get(key)
        if info is None:
            allowed = ", ".join(sorted(by_name)) or "none"
            raise ProfileError(f"{where}: unknown field '{shown(str(key))}' (allowed: {allowed})")
        parts += _field_parts(info, value, where)
    text = ",".join(parts)
    _validate(kind, text, where)
    return text


def _field_parts(info: OptionInfo, value: Any, where: str) -> list[str]:
    expected = {
        Kind.STR: (str,),
        Kind.INT: (int,),
        Kind.SIZE: (int, str),
        Kind.BOOL: (bool,),
        Kind.STRLIST: (list,),
    }[info.kind]
    wrong_bool = isinstance(value, bool) and bool not in expected
    if wrong_bool or not isinstance(value, expected):
        want = {Kind.STR: "a string", Kind.INT: "an integer", Kind.SIZE: "an integer or size",
                Kind.BOOL: "true or false", Kind.STRLIST: "an array of strings"}[info.kind]
        raise ProfileError(f"{where}: field '{info.name}' must be {want} (got {_shown_value(value)})")
    if info.kind is Kind.STRLIST:
        if not all(isinstance(item, str) for item in value):
            raise ProfileError(f"{where}: field '{info.name}' must be an array of strings")
        return [f"{info.name}.{i}={escape_value(item)}" for i, item in enumerate(value)]
    text = value if isinstance(value, str) else format_value(info.kind, value)
    return [f"{info.name}={escape_value(text)}"]


def _validate(kind: str, text: str, where: str) -> None:
    """Parse the argument as the command line would, so errors show at load time."""
    try:
        if kind == "chardev":
            parse_cli(text, backends)
        elif kind == "device":
            driver, device_id, props = DeviceManager.split_cli(text)
            DeviceManager.build_options(driver, props, cli=True)
            if device_id is None:
                raise ProfileError(f"{where}: a device in a profile needs an id (add id=NAME)")
    except ProfileError:
        raise
    except ChardevError as err:
        option = getattr(err, "option", None)
        field_note = f"field '{option}': " if option else ""
        raise ProfileError(f"{where}: {field_note}{err}") from None


def _monitor_step(entry: Mapping[str, Any], where: str) -> str:
    # The monitor table's own -mon parser: the same checks and words as -mon.
    try:
        return parse_monitor_options(entry).cli()
    except ChardevError as err:
        option = getattr(err, "option", None)
        field_note = f"field '{option}': " if option else ""
        raise ProfileError(f"{where}: {field_note}{err}") from None


def _step_to_table(kind: str, text: str, where: str) -> dict[str, Any]:
    """A command-line argument as a TOML table with typed values (checked first)."""
    if kind not in _TABLE_OF_KIND:
        raise ProfileError(f"{where}: not a -chardev, -device or -mon option")
    _validate(kind, text, where)
    try:
        items = split_option_string(text)
    except ChardevError as err:
        raise ProfileError(f"{where}: {err}") from None
    table: dict[str, Any] = {}
    if kind == "mon":
        try:
            return parse_monitor_options(text).table()
        except ChardevError as err:
            raise ProfileError(f"{where}: {err}") from None
    head = items[0][0]
    pairs = dict((k, v) for k, v in items[1:])
    table["id"] = pairs.pop("id")
    table["type" if kind == "chardev" else "driver"] = head
    _, options = _option_table(kind, table, "")
    by_name = {info.name: info for info in options}
    for key, value in pairs.items():
        base, dot, _ = key.partition(".")
        info = by_name[base]
        if info.kind is Kind.STRLIST:
            table.setdefault(base, []).append(value)
        elif info.kind is Kind.BOOL:
            table[key] = value in ("on", "yes", "true", "y")
        elif info.kind is Kind.INT or (info.kind is Kind.SIZE and value.isdigit()):
            table[key] = int(value)
        else:
            table[key] = value
    return table


# --- a live session -> Profile --------------------------------------------------------------


def profile_of(session: Session, ui: Mapping[str, Any] | None = None) -> Profile:
    """The session as it is now (after every add, swap and remove)."""
    profile = Profile(steps=chardev_steps(session) + device_steps(session), ui=dict(ui or {}))
    monitors = getattr(session, "monitors", None)
    if monitors is not None:
        profile.steps += [("mon", text) for text in monitors.cli_args()]
    return profile


def savable_steps(steps: list[Step]) -> tuple[list[Step], list[str]]:
    """The steps a profile can hold, and a note for each one left out.

    A step is left out when it cannot be written (its own error is given),
    and so is every later step that names a chardev already left out.
    """
    kept: list[Step] = []
    notes: list[str] = []
    gone: set[str] = set()
    for kind, text in steps:
        own, uses = _ids_of_step(kind, text)
        what = f"{kind if kind != 'mon' else 'monitor'} '{shown(own or text)}'"
        needed = sorted(uses & gone)
        if needed:
            notes.append(f"{what} (it uses '{needed[0]}')")
        else:
            try:
                # The last session is saved entry by entry so that nothing wrong
                # with one of them, whatever it is, loses the others.
                loads(dumps(Profile(steps=[(kind, text)])))
            except Exception as err:  # noqa: BLE001 -- reported, never raised
                reason = str(err) if isinstance(err, ProfileError) else f"{what}: {err!r}"
                notes.append(shown(reason, 160))
            else:
                kept.append((kind, text))
                continue
        if own:
            gone.add(own)
    return kept, notes


_REFERENCES = ("chardev", "peer", "mux-be-id")


def _ids_of_step(kind: str, text: str) -> tuple[str | None, set[str]]:
    """A step's own id and the chardev ids it refers to (nothing if it does not parse)."""
    try:
        items = split_option_string(text)
    except ChardevError:
        return None, set()
    values = {key: value for key, value in items if value is not None}
    uses = {value for key, value in values.items()
            if key in _REFERENCES or key.startswith("chardevs.")}
    return values.get("id") if kind != "mon" else None, uses


def chardev_steps(session: Session) -> list[Step]:
    """Chardev options in an order that builds again: what each needs comes first."""
    manager = session.chardevs
    member_of: dict[str, str] = {}
    for chardev in map(manager.get, manager.ids()):
        if isinstance(chardev, MuxBeChardev):
            for member in chardev.members:
                if member.chardev is not None:
                    member_of[member.chardev.label] = chardev.label
    steps: list[Step] = []
    emitted: set[str] = set()

    def emit(chardev_id: str) -> None:
        if chardev_id in emitted:
            return
        emitted.add(chardev_id)
        chardev = manager.get(chardev_id)
        spec = chardev.spec
        if isinstance(chardev, MuxChardev):
            base_id = chardev.options.chardev
            base = manager.find(base_id)
            if base_id == f"{chardev_id}-base" and base is not None:
                # Written as the user would: the base's options plus mux=on.
                emitted.add(base_id)
                steps.append(("chardev", _with_common(base.spec, chardev_id, mux=True)))
                return
            emit(base_id)
        elif isinstance(chardev, MuxBeChardev) and spec.type == "hub":
            for member in chardev.members:
                if member.chardev is not None:
                    emit(member.chardev.label)
            steps.append(("chardev", _hub_text(chardev)))
            return
        mux_be_id = member_of.get(chardev_id)
        if mux_be_id is not None and manager.get(mux_be_id).spec.type == "hub":
            mux_be_id = None  # a hub lists its members itself, after them
        if mux_be_id is not None:
            emit(mux_be_id)
        if isinstance(chardev, MuxBeChardev):
            steps.append(("chardev", _plain_mux_be_text(chardev)))
        else:
            steps.append(("chardev", _with_common(spec, chardev_id, mux_be_id=mux_be_id)))

    for chardev_id in manager.ids():
        emit(_mux_of_base(manager, chardev_id) or chardev_id)
    return steps


def _mux_of_base(manager: ChardevManager, chardev_id: str) -> str | None:
    """The mux that ``mux=on`` made for ``chardev_id`` (named ID-base), if any."""
    if not chardev_id.endswith("-base"):
        return None
    mux = manager.find(chardev_id[: -len("-base")])
    if isinstance(mux, MuxChardev) and mux.options.chardev == chardev_id:
        return mux.label
    return None


def _with_common(
    spec: ChardevSpec, chardev_id: str, *, mux: bool = False, mux_be_id: str | None = None
) -> str:
    common = replace(spec.common, mux=mux, mux_be_id=mux_be_id)
    return ChardevSpec(chardev_id, spec.type, spec.options, common).to_cli()


def _plain_mux_be_text(mux_be: Any) -> str:
    # Members are written with mux-be-id=, so the list would join them twice.
    return f"mux-be,id={escape_value(mux_be.label)}"


def _hub_text(hub: Any) -> str:
    ids = [m.chardev.label for m in hub.members if m.chardev is not None]
    parts = [f"hub,id={escape_value(hub.label)}"]
    parts += [f"chardevs.{i}={escape_value(member)}" for i, member in enumerate(ids)]
    return ",".join(parts)


def device_steps(session: Session) -> list[Step]:
    steps: list[Step] = []
    for device_id in session.devices.ids():
        device = session.devices.get(device_id)
        parts = [device.driver, f"id={escape_value(device.id)}"]
        for info in describe(type(device.options)):
            value = getattr(device.options, info.attr)
            if value is None:
                continue
            parts.append(f"{info.name}={escape_value(format_value(info.kind, value))}")
        steps.append(("device", ",".join(parts)))
    return steps


# --- files ---------------------------------------------------------------------------------


def default_directory() -> Path:
    return Path(platformdirs.user_config_dir("tuicon")) / "profiles"


class ProfileStore:
    """Named profiles in one directory (by default the user's config directory)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_directory()

    def path(self, name: str) -> Path:
        if not NAME_RE.match(name):
            raise ProfileError(
                f"invalid profile name '{name}': use letters, digits, '.', '_' and '-'"
                " (at most 64, starting with a letter or digit)"
            )
        return self.directory / f"{name}.toml"

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.toml") if NAME_RE.match(p.stem))

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def read_text(self, name: str) -> str:
        path = self.path(name)
        try:
            return read_profile_file(path)
        except (FileNotFoundError, NotADirectoryError):
            known = ", ".join(self.names()) or "none saved yet"
            raise ProfileError(f"profile '{name}' not found in {self.directory} (known: {known})") from None

    def load(self, name: str) -> Profile:
        return loads(self.read_text(name), str(self.path(name)))

    def save(self, name: str, profile: Profile) -> Path:
        """Write atomically; keep the previous version as NAME.toml.bak."""
        path = self.path(name)
        self._save(path, profile, keep_broken=True)
        return path

    @property
    def last_session_path(self) -> Path:
        """Where the app keeps the session it had when it quit (not a named profile)."""
        return self.directory.parent / "last-session.toml"

    def save_last_session(self, profile: Profile) -> list[str]:
        """Save what can be saved; returns what was left out (see ``save_problem``).

        One entry that cannot be written (a path that is not UTF-8, say) must
        not lose the whole session: it is left out, with whatever needs it.
        """
        steps, left_out = savable_steps(profile.steps)
        self.save_problem = None
        try:
            self._save(self.last_session_path, replace(profile, steps=steps), keep_broken=False)
        except ProfileError as err:
            self.save_problem = f"last session not saved: {err}"
            raise
        if left_out:
            self.save_problem = "last session saved without " + "; ".join(left_out)
        return left_out

    save_problem: str | None = None
    """What went wrong with the last :meth:`save_last_session` (one line), if anything."""

    def load_last_session(self) -> Profile | None:
        """The session tuicon had when it last quit, if there is one."""
        path = self.last_session_path
        try:
            text = read_profile_file(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return loads(text, str(path))

    def set_aside_last_session(self) -> Path:
        """Move a last session that does not load or build to ``last-session.toml.bad``."""
        path = self.last_session_path
        bad = path.with_name(path.name + ".bad")
        try:
            os.replace(path, bad)
        except OSError as err:
            raise ProfileError(f"cannot move {path} aside: {err.strerror or err}") from None
        return bad

    def _save(self, path: Path, profile: Profile, *, keep_broken: bool) -> None:
        text = dumps(profile)
        loads(text, str(path))  # never write what could not be read back
        try:
            with self._locked(path):
                old = self._current_text(path, keep_broken)
                if old is not None:
                    atomic_write(path.with_name(path.name + ".bak"), old)
                atomic_write(path, text)
        except OSError as err:
            raise ProfileError(f"cannot write {path}: {err.strerror or err}") from None

    def delete(self, name: str) -> None:
        path = self.path(name)
        with self._locked(path):
            try:
                path.unlink()
            except FileNotFoundError:
                raise ProfileError(f"profile '{name}' not found in {self.directory}") from None

    def _current_text(self, path: Path, keep_broken: bool) -> str | None:
        """The existing file's text (to keep as .bak); refuses to replace one that does not load."""
        old: str | None = None
        try:
            old = read_profile_file(path)
            loads(old, str(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ProfileError as err:
            if not keep_broken:
                return old  # replaced all the same; kept as the .bak if it was text
            raise ProfileError(
                f"not overwriting {path}: it does not load ({err}); fix it, or delete it"
                " with 'tuicon profile delete'"
            ) from None
        return old

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)


def atomic_write(path: Path, text: str) -> None:
    """Temporary file in the same directory, fsync, rename, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_profile_file(path: Path) -> str:
    """A profile's text, read safely: a regular file, at most 1 MiB, UTF-8.

    A FIFO, a device (``/dev/zero``) or a symlink to one is refused without
    reading it, so a bad file can never hang or exhaust tuicon at start-up.
    Raises FileNotFoundError if there is no file, ProfileError otherwise.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except (OSError, ValueError) as err:
        raise ProfileError(f"{path}: cannot read: {_os_reason(err)}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ProfileError(f"{path}: not a regular file ({_file_kind(mode)}); not read")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(MAX_FILE_SIZE + 1)
        except OSError as err:
            raise ProfileError(f"{path}: cannot read: {_os_reason(err)}") from None
    if len(data) > MAX_FILE_SIZE:
        raise ProfileError(f"{path}: larger than {MAX_FILE_SIZE // 1024} KiB; not a profile")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProfileError(f"{path}: not UTF-8 text (byte {err.start})") from None


def _os_reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err)


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"),
             (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a file")
