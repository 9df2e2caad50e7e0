"""Fuzz the command line and the profile loader: whatever comes in, only the
documented errors come out, each one line.

Generated ``-chardev`` / ``-device`` / ``-mon`` arguments go through the real
parser and are built for real in a fresh Session on its own event loop (then closed); generated TOML
(valid and broken) goes through the profile loader, and what loads is built too.
Values come from pools of the awkward (NUL, lone surrogates, superscript digits,
numbers of hundreds of digits, commas, empty strings) mixed with random text.
Hosts stay on loopback and paths inside the test's directory.
"""

from __future__ import annotations

import asyncio

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuicon.chardev import ChardevError
from tuicon.chardev.options import COMMON_OPTIONS, Kind, describe
from tuicon.chardev.registry import backends
from tuicon.devices.manager import DeviceManager
from tuicon.cli import CommandLineError, build_parser, help_request, steps_from_args
from tuicon.profiles import ProfileError, loads
from tuicon.session import Session

from conftest import fd_targets, open_fds

FUZZ = settings(max_examples=120, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BUILD_TIMEOUT = 20  # a bound on a hang, never waited out when things work

TYPES = backends.names()
KEYS = sorted({info.name for t in TYPES for info in describe(backends.options_class(t))}
              | {info.name for info in COMMON_OPTIONS} | {"id", "chardevs.0", "chardevs.1"})
IDS = ["a", "b", "c0", "log.1", "a-b_c.d", "", "1x", "a\0b", "\ud800", "\u00b2"]
NUMBERS = ["0", "1", "2", "7", "80", "1024", "65536", "4k", "1.5", "-1", "0x10", "",
           "99999999999999999999999", "9" * 400, "\u00b2", "\u0663"]
TEXTS = ["127.0.0.1", "::1", "localhost", "on", "off", "none", "even", "p0", "sub/p1", "a,,b",
         "", "\0", "\0abc", "x\0y", "\ud800", "\u00b2", "control", "readline"]
VALUE = st.one_of(st.sampled_from(IDS + NUMBERS + TEXTS),
                  st.text(max_size=12).filter(lambda s: "\n" not in s))


GOOD_IDS = ["a", "b", "log.1", "a-b_c.d"]
GOOD = {  # sensible values, so that many generated sessions really build
    Kind.INT: ["0", "1", "2", "80", "1024", "4096"], Kind.SIZE: ["1", "1024", "4096", "4k"],
    Kind.BOOL: ["on", "off"], Kind.STRLIST: GOOD_IDS,
}
GOOD_BY_NAME = {"host": ["127.0.0.1", "::1", "localhost"], "localaddr": ["127.0.0.1"],
                "path": ["p0", "p1.log"], "logfile": ["p2.log"], "input-path": ["p0"],
                "chardev": GOOD_IDS, "mux-be-id": GOOD_IDS, "peer": GOOD_IDS,
                "id": GOOD_IDS, "mode": ["control", "readline"]}
DEVICE_TABLES = {d: describe(DeviceManager.driver_class(d).Options) for d in ("echo", "bridge")}
CHARDEV_TABLES = {t: describe(backends.options_class(t)) + COMMON_OPTIONS for t in TYPES}


@st.composite
def value_for(draw, info) -> str:
    """Mostly a sensible value for the option; now and then an awkward one."""
    if draw(st.integers(0, 9)) == 9:
        return draw(VALUE)
    pool = GOOD_BY_NAME.get(info.name) or list(info.choices or ()) or GOOD.get(info.kind) or TEXTS
    return draw(st.sampled_from(pool))


@st.composite
def options_of(draw, table) -> list[tuple[str, str]]:
    """``(key, value)`` pairs: the table's own options, and now and then any key at all."""
    infos = draw(st.lists(st.sampled_from(table), max_size=4, unique_by=lambda i: i.name)) if table else []
    pairs = []
    for info in infos:
        if info.name == "wait":
            continue  # a server that waits for its client would wait for ever here
        if info.kind is Kind.STRLIST:
            pairs += [(f"{info.name}.{i}", draw(value_for(info))) for i in range(draw(st.integers(1, 2)))]
        else:
            pairs.append((info.name, draw(value_for(info))))
    if draw(st.integers(0, 9)) == 9:
        pairs.append((draw(st.sampled_from(KEYS)), draw(VALUE)))
    return pairs


def escape(value: str) -> str:
    return value.replace(",", ",,")


@st.composite
def chardev_argument(draw) -> str:
    kind = draw(st.sampled_from(TYPES + ["bogus"]))
    pairs = [("id", draw(st.sampled_from(GOOD_IDS * 6 + IDS)))]
    pairs += draw(options_of(CHARDEV_TABLES.get(kind, ())))
    if kind == "socket":
        pairs.append(("wait", "off"))
    return ",".join([kind] + [f"{key}={escape(value)}" for key, value in pairs])


@st.composite
def device_argument(draw) -> str:
    driver = draw(st.sampled_from(["echo", "bridge", "nope"]))
    pairs = [("id", draw(st.sampled_from(["d0", "d1"] + IDS)))]
    pairs += draw(options_of(DEVICE_TABLES.get(driver, ())))
    return ",".join([driver] + [f"{key}={escape(value)}" for key, value in pairs])


@st.composite
def monitor_argument(draw) -> str:
    pairs = [("chardev", draw(st.sampled_from(GOOD_IDS + IDS)))]
    if draw(st.booleans()):
        pairs.append(("mode", draw(st.sampled_from(["control", "readline"] * 3 + ["json", ""]))))
    if draw(st.integers(0, 3)) == 0:
        pairs.append(("pretty", draw(st.sampled_from(["on", "off", "on", "off"] + IDS))))
    return ",".join(f"{key}={escape(value)}" for key, value in pairs)


ARGUMENT = st.one_of(
    st.tuples(st.just("-chardev"), chardev_argument()),
    st.tuples(st.just("-device"), device_argument()),
    st.tuples(st.just("-mon"), monitor_argument()),
)


async def build(steps) -> None:
    """Build the steps in a fresh Session; only documented errors, one line each."""
    session = Session()
    try:
        await asyncio.wait_for(session.apply(steps), BUILD_TIMEOUT)
    except ChardevError as err:
        assert "\n" not in str(err), repr(str(err))
    finally:
        await session.close()


def assert_no_fd_left(before: set[int]) -> None:
    """Every example ran on its own loop, now closed: nothing may be left open."""
    leaked = open_fds() - before
    assert not leaked, f"descriptors left open: {fd_targets(leaked)}"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # generated file paths are relative: they land here
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path))


def test_fuzz_command_line_options(in_tmp):
    before = open_fds()

    @FUZZ
    @given(st.lists(ARGUMENT, min_size=1, max_size=4))
    def check(arguments):
        argv = [word for pair in arguments for word in pair]
        try:
            args = build_parser().parse_args(argv)
            steps = steps_from_args(args)
        except CommandLineError as err:
            assert "\n" not in str(err)
            return
        if help_request(steps) is None:
            asyncio.run(build(steps))

    check()
    assert_no_fd_left(before)


SCALAR = st.one_of(VALUE, st.booleans(), st.integers(-(10**400), 10**400),
                   st.floats(allow_nan=True), st.sampled_from([1, 2, 4096, 65536]))
TOML_VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3), max_leaves=6)


def typed(info, text: str):
    """A command-line value as the TOML value a profile would hold, where it converts."""
    if info.kind is Kind.BOOL and text in ("on", "off"):
        return text == "on"
    if info.kind in (Kind.INT, Kind.SIZE) and text.isascii() and text.isdigit():
        return int(text)
    return text


@st.composite
def entry(draw, tables, head_key: str) -> dict:
    head = draw(st.sampled_from(sorted(tables) + ["bogus"]))
    table = tables.get(head, ())
    by_name = {info.name: info for info in table}
    result = {head_key: head, "id": draw(st.sampled_from(GOOD_IDS * 3 + IDS))}
    for key, text in draw(options_of(table)):
        base = key.partition(".")[0]
        info = by_name.get(base)
        if info is not None and info.kind is Kind.STRLIST:
            result.setdefault(base, []).append(text)
        else:
            result[key] = typed(info, text) if info else text
    if draw(st.integers(0, 5)) == 5:  # a value of the wrong TOML type
        result[draw(st.sampled_from(sorted(by_name) or KEYS))] = draw(TOML_VALUE)
    if head == "socket":
        result["wait"] = False
    return result


MONITOR = st.fixed_dictionaries({"chardev": st.sampled_from(GOOD_IDS + IDS)},
                                optional={"mode": st.sampled_from(["control", "readline", "x"]),
                                          "pretty": st.one_of(st.booleans(), VALUE)})
DOCUMENT = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 1, True, 2, "1", 1.0])},
    optional={"chardev": st.lists(entry(CHARDEV_TABLES, "type"), max_size=4),
              "device": st.lists(entry(DEVICE_TABLES, "driver"), max_size=2),
              "monitor": st.lists(MONITOR, max_size=2),
              "ui": st.dictionaries(st.sampled_from(["theme", "pane-order", "x"]), TOML_VALUE,
                                    max_size=2)},
)


@st.composite
def toml_text(draw) -> str:
    text = tomli_w.dumps(draw(DOCUMENT))
    if draw(st.booleans()):  # and broken: a cut, a deletion or an insertion
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "[", "[[chardev]]\n", "\0", "\"", "=", "\n"])) \
            + text[at + draw(st.integers(0, 3)):]
    return text


def test_fuzz_profiles(in_tmp):
    before = open_fds()

    @FUZZ
    @given(toml_text())
    def check(text):
        try:
            profile = loads(text, "fuzz.toml")
        except ProfileError as err:
            assert "\n" not in str(err), repr(str(err))
            assert str(err).startswith("fuzz.toml: ")
            return
        asyncio.run(build(profile.steps))

    check()
    assert_no_fd_left(before)
