"""Log files that never stop: per-line timestamps, rotation by size and time, ``keep``.

:class:`RotatingFile` writes one byte stream to a file and, when asked,

* starts every line (and every file) with the local wall-clock time, ISO 8601
  to milliseconds with the UTC offset (``2026-12-01T22:13:02.123+00:00 ``);
* switches to a new file once the current one holds ``rotate-size`` bytes or
  a ``rotate-time`` period of the wall clock has ended (hourly at :00, daily
  at local midnight).  The switch happens inside the writer, between two
  writes, at a line end -- a line is held in the old file until its newline,
  up to :data:`HOLD_LIMIT` bytes -- so nothing is lost, duplicated or split,
  and whoever writes (a chardev's frontend) sees no CLOSED/OPENED;
* deletes the oldest files beyond ``keep``.

A ``path`` holding strftime fields (``console-%Y%m%d-%H%M%S.log``) names a new
file at each open and rotation; a plain ``path`` is rotated as logrotate
does (``path`` is always the live file, older ones are ``path.1``, ``path.2``...).

Time comes from the module-level :data:`clock` (an aware ``datetime``), so
tests set it instead of waiting.  Write failures are reported through
``on_error`` and dropped (counted); the file is reopened, appending, at most
once every :data:`RETRY_SECONDS`, and a ``[tuicon: N bytes dropped]`` line
marks the gap.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidOption
from .options import shown

log = logging.getLogger(__name__)


def local_now() -> datetime:
    """The local wall-clock time, with its UTC offset."""
    return datetime.now().astimezone()


clock: Callable[[], datetime] = local_now
"""Where every log writer reads the time (tests replace it)."""

HOLD_LIMIT = 64 * 1024
"""A line not ended this many bytes after a rotation is due is split after all."""
RETRY_SECONDS = 1.0
"""After a failed write, the file is reopened at most this often (on the next write)."""
DAY = 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY}
_DURATION_RE = re.compile(r"([0-9]{1,9})([smhd])", re.ASCII)
_FIELD_RE = re.compile(r"(%.)", re.DOTALL)
_FIELD_PATTERNS = {"Y": "[0-9]{4}", "G": "[0-9]{4}", "j": "[0-9]{3}", "s": "[0-9]+", "%": "%",
                   **{f: "[0-9]{2}" for f in "mdHMSyIUWVgCe"}}


@dataclass(frozen=True)
class Policy:
    """What a log writer does beyond writing: stamps, rotation and keep."""

    timestamps: bool = False
    rotate_size: int | None = None
    rotate_seconds: int | None = None
    keep: int | None = None

    @property
    def rotates(self) -> bool:
        return self.rotate_size is not None or self.rotate_seconds is not None

    @property
    def plain(self) -> bool:
        """Nothing beyond a plain file (the writer may still be used)."""
        return self == Policy()


# --- option checks (shared by the file backend and logfile=) -------------------------------


def parse_duration(name: str, text: str) -> int:
    """``30s``, ``15m``, ``1h``, ``1d`` -> seconds; a period of the wall clock."""
    match = _DURATION_RE.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        raise InvalidOption(f"Parameter '{name}' expects a duration such as 30s, 15m, 1h or 1d,"
                            f" not '{shown(text)}'", option=name)
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if (seconds < DAY and DAY % seconds) or (seconds > DAY and seconds % DAY):
        raise InvalidOption(f"Parameter '{name}' must divide a day evenly (30s, 15m, 1h, 6h...)"
                            f" or be whole days, not '{shown(text)}'", option=name)
    return seconds


def make_policy(prefix: str, path_name: str, path: str | None, *, timestamps: bool,
                rotate_size: int | None, rotate_time: str | None, keep: int | None) -> Policy:
    """Check the options together and return the policy; errors name the option.

    ``prefix`` is ``""`` for the file backend and ``"logfile-"`` for the common
    option; ``path_name`` is how the path option is spelled (``path``, ``out``, ``logfile``).
    """
    seconds = parse_duration(prefix + "rotate-time", rotate_time) if rotate_time is not None else None
    if rotate_size == 0:
        raise InvalidOption(f"Parameter '{prefix}rotate-size' must be at least 1 byte",
                            option=prefix + "rotate-size")
    if keep == 0:
        raise InvalidOption(f"Parameter '{prefix}keep' must be at least 1 (it counts the file"
                            " being written)", option=prefix + "keep")
    policy = Policy(timestamps, rotate_size, seconds, keep)
    if path is None:
        if not policy.plain:
            given = next(n for n, v in (("timestamps", timestamps), ("rotate-size", rotate_size),
                                        ("rotate-time", rotate_time), ("keep", keep)) if v)
            raise InvalidOption(f"Parameter '{prefix}{given}' needs {path_name}=PATH",
                                option=prefix + given)
        return policy
    check_pattern(path_name, path, seconds, f"{prefix}rotate-time={rotate_time}")
    return policy


def check_pattern(name: str, path: str, seconds: int | None, rotate_text: str) -> None:
    """A strftime ``path``: valid, fields in the file name only, a new name every period."""
    try:
        directory = os.path.dirname(path)
        if is_pattern(directory):
            raise InvalidOption(f"Parameter '{name}': strftime fields are allowed in the file"
                                f" name only, not in the directory ('{shown(path, 120)}')", option=name)
        if not is_pattern(path) or seconds is None:
            return
        start = datetime(2026, 1, 1)
        names = [render(path, start + timedelta(seconds=i * seconds)) for i in range(4)]
    except ValueError as err:
        raise InvalidOption(f"Parameter '{name}': '{shown(path, 120)}' is not a valid strftime"
                            f" pattern ({err})", option=name) from None
    if len(set(names)) < len(names):
        finest = "%d" if seconds >= DAY else "%H" if seconds >= 3600 else "%M" if seconds >= 60 else "%S"
        raise InvalidOption(f"Parameter '{name}': '{shown(os.path.basename(path))}' gives the"
                            " same name twice"
                            f" within one {rotate_text} period (add {finest} or a finer field)",
                            option=name)


def render(pattern: str, when: datetime) -> str:
    """The name ``pattern`` gives at ``when`` (a path without ``%`` is itself)."""
    return when.strftime(pattern) if "%" in pattern else pattern


def is_pattern(path: str) -> bool:
    """Whether ``path`` names a different file at different times."""
    return render(path, datetime(2001, 2, 3, 4, 5, 6)) != render(path, datetime(2012, 11, 10, 9, 8, 7))


def period_end(now: datetime, seconds: int) -> datetime:
    """When the wall-clock period holding ``now`` ends (naive local time).

    Periods start at local midnight: ``1h`` ends at the next :00, ``1d`` at
    the next midnight, ``Nd`` at a midnight every N days (counted from the
    first day of year 1, so ``7d`` ends on Monday mornings).
    """
    wall = now.replace(tzinfo=None)
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if seconds < DAY:
        elapsed = int((wall - midnight).total_seconds())
        return midnight + timedelta(seconds=(elapsed // seconds + 1) * seconds)
    days = seconds // DAY
    offset = (midnight.toordinal() - 1) % days
    return midnight + timedelta(days=days - offset)


def stamp(now: datetime) -> bytes:
    return now.isoformat(timespec="milliseconds").encode("ascii") + b" "


class NotAFile(OSError):
    """The output cannot be written as asked: a FIFO (writing could block
    tuicon), or a device where rotation or ``keep`` was asked for."""


class RotatingFile:
    """One output stream written to a file that rotates (see the module docstring).

    ``on_error(text, previous)`` is told each new error text, and ``(None,
    previous)`` once writing works again.
    """

    def __init__(self, path: str, policy: Policy, *, append: bool,
                 on_error: Callable[[str | None, str | None], None], what: str = "file") -> None:
        self.pattern = path
        self.policy = policy
        self.what = what
        self.name = ""
        self.error: str | None = None
        self._error_kind = ""
        self.dropped = 0
        """Bytes lost to write failures, in all."""
        self._gap = 0
        self._fd = -1
        self._append = append
        self._on_error = on_error
        self._named = is_pattern(path)
        self._made: list[str] = []
        self._size = 0
        self._period_end: datetime | None = None
        self._due = False
        self._held = 0
        self._line_start = True
        self._retry_at: datetime | None = None

    # -- opening and closing ---------------------------------------------------------

    def open(self) -> None:
        """Open the first file (following ``append``); raises OSError or NotAFile."""
        now = clock()
        self.name = render(self.pattern, now)
        self._fd = self._open(self.name, append=self._append)
        self._started(now)
        self._line_start = True
        self._prune()

    def _open(self, name: str, *, append: bool) -> int:
        # A console log holds everything typed, passwords included: user-only.
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
        flags |= os.O_APPEND if append else os.O_TRUNC
        if _is_fifo(name):
            raise NotAFile("a FIFO")
        fd = os.open(name, flags, 0o600)
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode):  # made a FIFO since the check
            os.close(fd)
            raise NotAFile("a FIFO")
        if not stat.S_ISREG(mode) and (self.policy.rotates or self.policy.keep):
            os.close(fd)
            raise NotAFile("not a regular file (it cannot be rotated)")
        os.set_blocking(fd, True)  # a regular file (or /dev/null): writes complete
        if name not in self._made:
            self._made.append(name)
        return fd

    def _started(self, now: datetime) -> None:
        """A new file (or a failed switch): count from zero, up to the next period."""
        self._size = 0
        self._due = False
        self._held = 0
        seconds = self.policy.rotate_seconds
        self._period_end = period_end(now, seconds) if seconds else None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    # -- writing ------------------------------------------------------------------

    def write(self, data: memoryview | bytes) -> int:
        """Write all of ``data``; return how many of its bytes were dropped (0 normally)."""
        if self._fd >= 0 and self.policy.plain:  # nothing to stamp or count: as it comes
            return 0 if self._put(data) else self._lost(len(data))
        now = clock()
        if self._fd < 0 and not self._reopen(now):
            return self._lost(len(data))
        if self._period_end is not None and now.replace(tzinfo=None) >= self._period_end:
            self._due = True
        prefix = stamp(now) if self.policy.timestamps else b""
        buf = bytes(data)
        batch = bytearray()
        start = pos = 0
        while pos < len(buf):
            if self._due and (self._line_start or self._held >= HOLD_LIMIT):
                if not self._put(batch):
                    return self._lost(len(buf) - start)
                batch.clear()
                start = pos
                self._rotate(now)
            end = self._piece_end(buf, pos)
            if prefix and self._line_start:
                batch += prefix
                self._size += len(prefix)
            batch += buf[pos:end]
            self._size += end - pos
            if self._due:
                self._held += end - pos
            self._line_start = buf[end - 1] == 0x0A
            limit = self.policy.rotate_size
            if limit is not None and self._size >= limit:
                self._due = True
            pos = end
        if not self._put(batch):
            return self._lost(len(buf) - start)
        return 0

    def _piece_end(self, buf: bytes, pos: int) -> int:
        """Where the next piece ends: a line (when lines matter) or a size budget."""
        end = len(buf)
        if self._due:
            end = min(end, pos + max(1, HOLD_LIMIT - self._held))
        elif self.policy.rotate_size is not None:
            end = min(end, pos + max(1, self.policy.rotate_size - self._size))
        if self.policy.timestamps or self._due:
            newline = buf.find(b"\n", pos, end)
            if newline >= 0:
                end = newline + 1
        return end

    def _put(self, data: bytes | bytearray | memoryview) -> bool:
        """Write ``data`` to the current file; on failure, report and close it."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as err:
            self.close()
            self._retry_at = clock() + timedelta(seconds=RETRY_SECONDS)
            self._report("write", f"{self.what} '{self.name}': {err.strerror}")
            return False
        if self._error_kind == "write":
            self._report("", None)
        return True

    def _lost(self, count: int) -> int:
        self.dropped += count
        self._gap += count
        return count

    def _reopen(self, now: datetime) -> bool:
        """After a failure: reopen the same file (appending) once the retry time has come."""
        if self._retry_at is not None:
            wait = (self._retry_at - now).total_seconds()
            if 0 < wait <= RETRY_SECONDS:  # (a clock set back does not delay it forever)
                return False
        try:
            self._fd = self._open(self.name, append=True)
        except OSError as err:
            self._retry_at = now + timedelta(seconds=RETRY_SECONDS)
            self._report("write", f"{self.what} '{self.name}': {err.strerror or err}")
            return False
        notice = f"[tuicon: {self._gap} bytes dropped]".encode()
        if self.policy.timestamps:
            notice = (b"" if self._line_start else b"\n") + stamp(now) + notice + b"\n"
            self._line_start = True
        else:
            notice = b"\r\n" + notice + b"\r\n"
        self._gap = 0
        self._size += len(notice)
        return self._put(notice)

    def _report(self, kind: str, text: str | None) -> None:
        previous = self.error
        self.error, self._error_kind = text, kind
        if text is not None and text != previous:
            log.warning("%s", text)
        if text != previous:
            self._on_error(text, previous)

    # -- rotation -------------------------------------------------------------------

    def _rotate(self, now: datetime) -> None:
        """Switch to the next file; on failure keep writing the current one."""
        try:
            if self._named:
                name = self._fresh_name(render(self.pattern, now))
                fd = self._open(name, append=False)
            else:
                name = self.name
                self._shift()
                fd = self._open(name, append=False)
        except OSError as err:
            self._started(now)  # try again after another period or rotate-size
            self._report("rotate", f"{self.what} '{self.name}': rotating failed:"
                         f" {err.strerror or err} (still writing to it)")
            return
        os.close(self._fd)
        self._fd, self.name = fd, name
        self._started(now)
        self._line_start = True  # every file starts with a stamp, even after a forced split
        if self._error_kind == "rotate":
            self._report("", None)
        self._prune()

    def _fresh_name(self, name: str) -> str:
        """``name``, or ``name.1``, ``name.2``... when it was used (same second, say)."""
        candidate, n = name, 0
        while candidate in self._made or os.path.lexists(candidate):
            n += 1
            candidate = f"{name}.{n}"
        return candidate

    def _numbered(self) -> list[tuple[int, str]]:
        """The rotated ``path.N`` files of a plain path, highest N first."""
        directory, base = os.path.split(self.name)
        found = re.compile(re.escape(base) + r"\.([0-9]{1,9})")
        entries = [(int(m.group(1)), os.path.join(directory, entry))
                   for entry in os.listdir(directory or ".") if (m := found.fullmatch(entry))]
        return sorted(entries, reverse=True)

    def _shift(self) -> None:
        """logrotate's scheme: ``path.N`` -> ``path.N+1``, ``path`` -> ``path.1``."""
        keep = self.policy.keep
        for n, old in self._numbered():
            if keep is not None and n + 1 >= keep:
                os.unlink(old)
            else:
                os.rename(old, f"{self.name}.{n + 1}")
        if keep == 1:
            os.unlink(self.name)
        else:
            os.rename(self.name, f"{self.name}.1")

    def _prune(self) -> None:
        """Delete the oldest files beyond ``keep`` (the one being written counts)."""
        keep = self.policy.keep
        if keep is None:
            return
        try:
            if self._named:
                older = self._older_named()
                doomed = older[:max(0, len(older) - (keep - 1))]
            else:
                doomed = [path for n, path in self._numbered() if n >= keep]
            for path in doomed:
                os.unlink(path)
        except OSError as err:
            self._report("rotate", f"{self.what} '{self.name}': deleting old files beyond"
                         f" keep={keep} failed: {err.strerror or err}")

    def _older_named(self) -> list[str]:
        """Files the pattern names, oldest first: earlier runs' by time, then this run's."""
        base = os.path.basename(self.pattern)
        directory = os.path.dirname(self.name)
        parts = _FIELD_RE.split(base)  # literal, field, literal, field...
        regex = "".join(_FIELD_PATTERNS.get(part[1], ".+?") if i % 2 else re.escape(part)
                        for i, part in enumerate(parts))
        return self._order(directory, re.compile(regex + r"(?:\.[0-9]+)?", re.DOTALL))

    def _order(self, directory: str, regex: re.Pattern[str]) -> list[str]:
        earlier: list[tuple[float, str]] = []
        for entry in os.listdir(directory or "."):
            path = os.path.join(directory, entry)
            if path in self._made or not regex.fullmatch(entry):
                continue
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                earlier.append((info.st_mtime, path))
        mine = [p for p in self._made if p != self.name and os.path.lexists(p)]
        return [p for _, p in sorted(earlier)] + mine


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False
