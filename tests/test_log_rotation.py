"""Logs that never stop: timestamps, rotation by size and by time, keep, strftime names.

Time comes from an injected clock (``tuicon.chardev.rotation.clock``), so
rotation by time is tested without waiting.  The sustained tests push a real
FIFO through a bridge into a mux-be whose members are a rotating log and a
plain copy of the stream.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import stat
from datetime import datetime, timedelta, timezone

import pytest

from tuicon.chardev import ChardevError, ChardevEvent, CharFrontend, rotation
from tuicon.chardev.options import parse_cli, parse_qapi
from tuicon.chardev.registry import backends

from helpers import Recorder, wait_until

TZ = timezone(timedelta(hours=1))
STAMP = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) ")


class FakeClock:
    """A wall clock that moves only when told to (or by ``step`` at each reading)."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.step
        return now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock(datetime(2026, 12, 1, 22, 13, 2, 123000, tzinfo=TZ))
    monkeypatch.setattr(rotation, "clock", fake)
    return fake


def make_stream(size: int, seed: int = 7) -> bytes:
    """Numbered lines of random lengths (some with CR LF), about ``size`` bytes."""
    rng = random.Random(seed)
    text = bytes(rng.randrange(32, 127) for _ in range(4096))
    lines, total, n = [], 0, 0
    while total < size:
        start = rng.randrange(0, 4096 - 170)
        line = b"%07d " % n + text[start:start + rng.randrange(0, 170)]
        line += b"\r\n" if n % 5 == 0 else b"\n"
        lines.append(line)
        total += len(line)
        n += 1
    return b"".join(lines)


def unstamp(text: bytes) -> tuple[bytes, list[datetime]]:
    """A stamped file's bytes without the stamps, and the stamps parsed back.

    Every line (and the file's start) must begin with a stamp: a line split
    across two files would show as a file starting without one.
    """
    body, stamps = bytearray(), []
    for line in text.splitlines(keepends=True):
        match = STAMP.match(line)
        assert match, f"line without a timestamp: {line[:80]!r}"
        stamps.append(datetime.fromisoformat(match.group(1).decode()))
        body += line[match.end():]
    return bytes(body), stamps


async def write_fifo(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a non-blocking FIFO, waiting while it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view[:65536]):]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(fd)


async def pump(session, tmp_path, log_spec: str, stream: bytes) -> Recorder:
    """FIFO -> pipe chardev -> bridge -> mux-be {log, a plain copy}; all of ``stream``."""
    chardevs, devices = session
    os.mkfifo(tmp_path / "src.in")
    os.mkfifo(tmp_path / "src.out")
    await chardevs.add("src", f"pipe,path={tmp_path}/src")
    await chardevs.add("console", "mux-be")
    await chardevs.add("log", f"{log_spec},mux-be-id=console")
    await chardevs.add("copy", f"file,path={tmp_path}/copy.out,mux-be-id=console")
    await devices.add_cli("bridge,id=b,chardev=src,peer=console")
    fd = os.open(tmp_path / "src.in", os.O_WRONLY | os.O_NONBLOCK)
    try:
        await write_fifo(fd, stream)
        bridge = devices.get("b")
        await wait_until(lambda: bridge.a_to_b.moved == len(stream), timeout=60, what="all moved")
    finally:
        os.close(fd)
    assert (tmp_path / "copy.out").read_bytes() == stream  # the other member is untouched
    return chardevs.get("log")


async def test_20_mb_rotated_by_size_with_timestamps(session, tmp_path, clock):
    clock.step = timedelta(milliseconds=3)
    stream = make_stream(20 << 20)
    log = tmp_path / "console.log"
    chardev = await pump(session, tmp_path,
                         f"file,id=log,path={log},timestamps=on,rotate-size=1M", stream)
    assert chardev.error is None and chardev.stats.dropped_out == 0
    rotated = sorted((p for p in tmp_path.glob("console.log.*")),
                     key=lambda p: -int(p.suffix[1:]))  # logrotate: .N is the oldest
    files = rotated + [log]
    assert len(files) >= 20
    body, stamps = bytearray(), []
    for path in files:
        data = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        if path is not log:
            assert data.endswith(b"\n")  # rotated at a line end
            assert 1 << 20 <= len(data) < (1 << 20) + 400  # the limit plus the rest of a line
        text, times = unstamp(data)
        body += text
        stamps += times
    assert bytes(body) == stream  # no byte lost or duplicated, in order
    assert stamps == sorted(stamps) and all(t.utcoffset() == timedelta(hours=1) for t in stamps)
    assert len(stamps) == stream.count(b"\n")


async def test_20_mb_rotated_by_time_with_strftime_names(session, tmp_path, clock):
    # The clock moves 20 ms at each write: ~300 writes cross several 1 s periods.
    clock.step = timedelta(milliseconds=20)
    stream = make_stream(20 << 20, seed=3)
    pattern = f"{tmp_path}/logs/console-%Y%m%d-%H%M%S.log"
    (tmp_path / "logs").mkdir()
    await pump(session, tmp_path,
               f"file,id=log,path={pattern},timestamps=on,rotate-time=1s", stream)
    files = sorted((tmp_path / "logs").iterdir())  # names sort as they were made
    assert len(files) >= 3
    body = bytearray()
    for path in files:
        opened = datetime.strptime(path.name, "console-%Y%m%d-%H%M%S.log").replace(tzinfo=TZ)
        text, stamps = unstamp(path.read_bytes())
        body += text
        # Every line is in the file of its second: aligned to the clock, never split.
        assert all(opened <= t < opened + timedelta(seconds=1) for t in stamps), path.name
    assert bytes(body) == stream


async def test_time_rotation_is_aligned_to_the_wall_clock(manager, tmp_path, clock):
    clock.now = datetime(2026, 12, 1, 10, 17, 30, tzinfo=TZ)
    await manager.add("f", f"file,path={tmp_path}/h-%Y%m%d-%H%M.log,rotate-time=1h")
    fe = CharFrontend(manager.get("f"))
    writes = [(datetime(2026, 12, 1, 10, 59, 59, 999000, tzinfo=TZ), b"a\n"),
              (datetime(2026, 12, 1, 11, 0, tzinfo=TZ), b"b\n"),  # 11:00, not 11:17
              (datetime(2026, 12, 1, 11, 42, tzinfo=TZ), b"c\n"),
              (datetime(2026, 12, 2, 0, 0, 1, tzinfo=TZ), b"d\n")]
    for when, data in writes:
        clock.now = when
        assert fe.write(data) == len(data)
    names = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert names == {"h-20261201-1017.log": b"a\n", "h-20261201-1100.log": b"b\nc\n",
                     "h-20261202-0000.log": b"d\n"}
    fe.detach()


async def test_daily_rotation_at_local_midnight_keeps_the_line_whole(manager, tmp_path, clock):
    clock.now = datetime(2026, 12, 1, 23, 59, 59, 500000, tzinfo=TZ)
    await manager.add("f", f"file,path={tmp_path}/day-%Y%m%d.log,rotate-time=1d,timestamps=on")
    chardev = manager.get("f")
    fe = Recorder(chardev).install()
    fe.fe.write(b"login: ")  # a prompt: no newline yet
    clock.advance(seconds=1)  # midnight has passed
    fe.fe.write(b"root\nnext day\n")
    old = (tmp_path / "day-20261201.log").read_bytes()
    new = (tmp_path / "day-20261202.log").read_bytes()
    assert old == b"2026-12-01T23:59:59.500+01:00 login: root\n"  # held to its end
    assert new == b"2026-12-02T00:00:00.500+01:00 next day\n"
    assert fe.events == [ChardevEvent.OPENED]  # rotation is invisible to the frontend
    assert manager.info(chardev).extra["file"] == f"{tmp_path}/day-20261202.log"
    fe.fe.detach()


async def test_a_line_longer_than_the_hold_limit_is_split_after_all(manager, tmp_path, clock):
    await manager.add("f", f"file,path={tmp_path}/b.log,rotate-size=100,timestamps=on")
    fe = CharFrontend(manager.get("f"))
    blob = b"x" * (rotation.HOLD_LIMIT + 5000)
    await fe.write_all(blob)
    old, live = (tmp_path / "b.log.1").read_bytes(), (tmp_path / "b.log").read_bytes()
    assert len(old) == len(b"2026-12-01T22:13:02.123+01:00 ") + 100 + rotation.HOLD_LIMIT
    assert unstamp(old)[0] + unstamp(live)[0] == blob  # each file starts with a stamp
    fe.detach()


async def test_keep_deletes_the_oldest_plain_path(manager, tmp_path, clock):
    log = tmp_path / "c.log"
    (tmp_path / "c.log.7").write_bytes(b"from an earlier run")
    await manager.add("f", f"file,path={log},rotate-size=10,keep=3")
    assert not (tmp_path / "c.log.7").exists()  # beyond keep at open already
    fe = CharFrontend(manager.get("f"))
    stream = b"".join(b"line %03d\n" % i for i in range(50))
    for i in range(0, len(stream), 7):
        fe.write(stream[i:i + 7])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["c.log", "c.log.1", "c.log.2"]
    newest = b"".join((tmp_path / n).read_bytes() for n in ("c.log.2", "c.log.1", "c.log"))
    assert stream.endswith(newest) and newest.startswith(b"line")
    fe.detach()


async def test_keep_with_strftime_names_deletes_oldest_first(manager, tmp_path, clock):
    earlier = tmp_path / "s-20261130-080000.log"
    earlier.write_bytes(b"yesterday")
    os.utime(earlier, (0, 0))
    (tmp_path / "other.txt").write_bytes(b"not a log")
    await manager.add("f", f"file,path={tmp_path}/s-%Y%m%d-%H%M%S.log,rotate-time=1m,keep=2")
    fe = CharFrontend(manager.get("f"))
    for minute in range(4):
        fe.write(b"minute %d\n" % minute)
        clock.advance(minutes=1)
    names = sorted(p.name for p in tmp_path.iterdir())
    # Each file is named when it starts: at the first write of its minute.
    assert names == ["other.txt", "s-20261201-221502.log", "s-20261201-221602.log"]
    fe.detach()


async def test_same_name_twice_gets_a_number(manager, tmp_path, clock):
    """Size rotation within one second of a seconds pattern: a numbered name, nothing overwritten."""
    await manager.add("f", f"file,path={tmp_path}/n-%H%M%S.log,rotate-size=4")
    fe = CharFrontend(manager.get("f"))
    for word in (b"one\n", b"two\n", b"three\n"):
        fe.write(word)
    clock.advance(seconds=1)
    fe.write(b"four\n")
    got = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert got == {"n-221302.log": b"one\n", "n-221302.log.1": b"two\n",
                   "n-221302.log.2": b"three\n", "n-221303.log": b"four\n"}
    fe.detach()


async def test_strftime_name_without_rotation_is_evaluated_at_open(manager, tmp_path, clock):
    await manager.add("f", f"file,path={tmp_path}/run-%Y%m%d-%H%M%S.log,keep=1")
    CharFrontend(manager.get("f"), owner="t").write(b"x")
    assert (tmp_path / "run-20261201-221302.log").read_bytes() == b"x"
    manager.get("f").frontend.detach()
    clock.advance(hours=1)
    await manager.change("f", f"file,path={tmp_path}/run-%Y%m%d-%H%M%S.log,keep=1")
    # A new session log, and keep=1 removed the previous one.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-20261201-231302.log"]


@pytest.mark.parametrize(("text", "message"), [
    ("rotate-time=5x", "Parameter 'rotate-time' expects a duration such as 30s, 15m, 1h or 1d,"
                       " not '5x'"),
    ("rotate-time=7m", "Parameter 'rotate-time' must divide a day evenly"),
    ("rotate-time=0s", "Parameter 'rotate-time' expects a duration"),
    ("rotate-size=1M,keep=0", "Parameter 'keep' must be at least 1"),
    ("rotate-size=0", "Parameter 'rotate-size' must be at least 1 byte"),
    ("rotate-size=ten", "Parameter 'rotate-size' expects a size"),
    ("timestamps=maybe", "Parameter 'timestamps' expects 'on' or 'off'"),
    ("keep=-1", "Parameter 'keep' expects a number"),
])
async def test_option_errors_are_one_line_naming_the_option(manager, tmp_path, text, message):
    with pytest.raises(ChardevError) as caught:
        await manager.add("f", f"file,path={tmp_path}/x.log,{text}")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert "f" not in manager and not (tmp_path / "x.log").exists()


async def test_pattern_errors(manager, tmp_path):
    with pytest.raises(ChardevError, match=r"^Parameter 'path': '.*c-%Y%m%d.log' gives the same"
                       r" name twice within one rotate-time=1h period \(add %H or a finer"
                       r" field\)$"):
        await manager.add("f", f"file,path={tmp_path}/c-%Y%m%d.log,rotate-time=1h")
    with pytest.raises(ChardevError, match=r"^Parameter 'out': .* same name twice .*%M"):
        await manager.add("f", {"type": "file", "data": {"out": f"{tmp_path}/c-%H.log",
                                                         "rotate-time": "15m"}})
    with pytest.raises(ChardevError, match="^Parameter 'path': strftime fields are allowed in"
                       " the file name only"):
        await manager.add("f", f"file,path={tmp_path}/%Y/c.log")
    with pytest.raises(ChardevError, match="^Parameter 'logfile': .* gives the same name"):
        await manager.add("r", f"null,logfile={tmp_path}/l-%Y.log,logfile-rotate-time=1d")
    with pytest.raises(ChardevError, match="^Parameter 'logfile-keep' needs logfile=PATH$"):
        await manager.add("r", "null,logfile-keep=3")
    with pytest.raises(ChardevError, match="^Parameter 'logfile-rotate-time' expects a duration"):
        await manager.add("r", f"null,logfile={tmp_path}/l.log,logfile-rotate-time=1w")
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ChardevError, match="need a regular file, not a FIFO"):
        await manager.add("f", f"file,path={fifo},timestamps=on")
    with pytest.raises(ChardevError, match=r"^Could not open '/dev/null': not a regular file \(it cannot be rotated\)$"):
        await manager.add("f", "file,path=/dev/null,rotate-size=1K")
    assert "f" not in manager and "r" not in manager


async def test_logfile_takes_the_same_options(manager, tmp_path, clock):
    await manager.add("r", f"ringbuf,size=1024,logfile={tmp_path}/r.log,logfile-timestamps=on,"
                           "logfile-rotate-size=10,logfile-keep=2")
    fe = CharFrontend(manager.get("r"))
    for line in (b"first line\n", b"second line\n", b"third\n"):
        fe.write(line)
    assert manager.get("r").contents() == b"first line\nsecond line\nthird\n"  # unstamped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.log", "r.log.1"]
    assert (tmp_path / "r.log.1").read_bytes() == b"2026-12-01T22:13:02.123+01:00 second line\n"
    assert (tmp_path / "r.log").read_bytes() == b"2026-12-01T22:13:02.123+01:00 third\n"
    assert stat.S_IMODE((tmp_path / "r.log").stat().st_mode) == 0o600
    fe.detach()


async def test_write_failures_show_as_error_and_the_file_is_reopened(manager, tmp_path, clock):
    link = tmp_path / "out.log"
    link.symlink_to("/dev/full")
    await manager.add("f", f"file,path={link},timestamps=on")
    chardev = manager.get("f")
    fe = Recorder(chardev).install()
    assert fe.fe.write(b"lost line\n") == 10  # never stalls the console
    assert chardev.error == f"file '{link}': No space left on device"
    assert manager.info(chardev).error == chardev.error
    link.unlink()
    (tmp_path / "real.log").write_bytes(b"")
    link.symlink_to(tmp_path / "real.log")
    fe.fe.write(b"too soon\n")  # within the retry second: still dropped
    clock.advance(seconds=rotation.RETRY_SECONDS)
    fe.fe.write(b"back\n")
    assert chardev.error is None and chardev.stats.dropped_out == 19
    assert (tmp_path / "real.log").read_bytes() == (
        b"2026-12-01T22:13:03.123+01:00 [tuicon: 19 bytes dropped]\n"
        b"2026-12-01T22:13:03.123+01:00 back\n")
    assert fe.events == [ChardevEvent.OPENED]
    fe.fe.detach()


async def test_a_failed_rotation_keeps_writing_the_current_file(manager, tmp_path, clock):
    logs = tmp_path / "logs"
    logs.mkdir()
    await manager.add("f", f"file,path={logs}/r-%H%M%S.log,rotate-time=1s")
    chardev = manager.get("f")
    fe = CharFrontend(chardev)
    fe.write(b"one\n")
    logs.rename(tmp_path / "moved")  # the directory goes away under the log
    clock.advance(seconds=1)
    fe.write(b"two\n")
    assert chardev.error.startswith(f"file '{logs}/r-221302.log': rotating failed: No such file")
    assert (tmp_path / "moved" / "r-221302.log").read_bytes() == b"one\ntwo\n"  # nothing lost
    logs.mkdir()
    clock.advance(seconds=1)
    fe.write(b"three\n")
    assert chardev.error is None
    assert (logs / "r-221304.log").read_bytes() == b"three\n"
    fe.detach()


async def test_the_parsers_agree_and_specs_round_trip(tmp_path):
    cli = parse_cli(f"file,id=f,path={tmp_path}/c-%Y%m%d-%H.log,timestamps=on,rotate-size=64K,"
                    "rotate-time=1h,keep=24", backends)
    qapi = parse_qapi("f", {"type": "file", "data": {
        "out": f"{tmp_path}/c-%Y%m%d-%H.log", "timestamps": True, "rotate-size": 65536,
        "rotate-time": "1h", "keep": 24}}, backends)
    assert cli == qapi
    assert parse_cli(cli.to_cli(), backends) == cli
    assert parse_qapi("f", cli.to_qapi(), backends) == cli


async def test_mux_on_keeps_the_logfile_options_on_its_base(manager, tmp_path, clock):
    await manager.add("m", f"ringbuf,size=1024,mux=on,logfile={tmp_path}/m.log,"
                           "logfile-timestamps=on,logfile-rotate-size=5")
    fe = CharFrontend(manager.get("m"))
    fe.write(b"one\n")
    fe.write(b"two\n")
    assert (tmp_path / "m.log.1").read_bytes() == b"2026-12-01T22:13:02.123+01:00 one\n"
    assert (tmp_path / "m.log").read_bytes() == b"2026-12-01T22:13:02.123+01:00 two\n"
    fe.detach()
