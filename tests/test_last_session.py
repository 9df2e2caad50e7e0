"""A bad last session, a crash or an unusable home never lock the user out.

Plain ``tuicon`` reopens the last session; whatever is wrong with it, it says
so in one line, keeps the file aside as ``last-session.toml.bad`` and opens the
demo.  A crash of the app leaves a traceback file, one line and a saved session.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tuicon.profiles import Profile, ProfileStore, loads, profile_of
from tuicon.session import Session
from tuicon.ui import app as app_module

from conftest import assert_no_leaks, open_fds

from test_cli import read_until_ready

NESTED = "version = 1\n[ui]\ntheme = " + "[" * 5000 + "]" * 5000 + "\n"
SOCKET_ENTRY = '[[chardev]]\nid = "s"\ntype = "socket"\nhost = "127.0.0.1"\nserver = true\nwait = false\n'

# name -> the last session's bytes, or a callable making the file at a path.
BAD_LAST_SESSIONS = {
    "too deeply nested": NESTED.encode(),
    "a NUL in a path": b'version = 1\n[[chardev]]\nid = "f"\ntype = "file"\npath = "/tmp/a\\u0000b"\n',
    "a port of \u00b2": ("version = 1\n" + SOCKET_ENTRY + 'port = "\u00b2"\n').encode(),
    "invalid UTF-8": b'version = 1\n[[chardev]]\nid = "n\xff"\ntype = "null"\n',
    "version = true": b'version = true\n[[chardev]]\nid = "n"\ntype = "null"\n',
    "larger than 1 MiB": b"version = 1\n" + b"#" * (2 << 20) + b"\n",
    "a FIFO": lambda path: os.mkfifo(path),
    "a symlink to /dev/zero": lambda path: path.symlink_to("/dev/zero"),
    "a directory": lambda path: path.mkdir(),
}


def env_for(root: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(root), "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_STATE_HOME": str(root / "state")}


def last_session_file(root: Path) -> Path:
    return root / "config" / "tuicon" / "last-session.toml"


def start_tuicon(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuicon", "--headless", *args],
                            env=env_for(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_every_bad_last_session_gives_one_line_a_bad_file_and_the_demo(tmp_path):
    taken = socket.create_server(("127.0.0.1", 0))  # the port a last session wants, now busy
    cases = {**BAD_LAST_SESSIONS, "a port now taken": (
        "version = 1\n" + SOCKET_ENTRY + f"port = {taken.getsockname()[1]}\n").encode()}
    procs = {}
    try:
        # All at once: each is a separate tuicon process; together they start in seconds.
        for index, (name, content) in enumerate(cases.items()):
            root = tmp_path / f"case{index}"
            path = last_session_file(root)
            path.parent.mkdir(parents=True)
            if callable(content):
                content(path)
            else:
                path.write_bytes(content)
            procs[name] = (root, start_tuicon(root))
        for name, (root, proc) in procs.items():
            text = read_until_ready(proc)
            assert "tuicon: ready (5 chardevs, 1 devices)" in text, (name, text)  # the demo
            out, err = stop(proc)
            assert proc.returncode == 0, (name, err)
            lines = err.splitlines()
            assert len(lines) == 1, (name, lines)
            assert lines[0].startswith("tuicon: last session not reopened: "), (name, lines)
            assert lines[0].endswith("last-session.toml.bad; opening the demo"), (name, lines)
            path = last_session_file(root)
            assert not path.exists() and not path.is_symlink(), name
            assert os.path.lexists(f"{path}.bad"), name
    finally:
        taken.close()
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    # The state and log directories (console logs hold passwords) are the user's alone.
    root = procs["a FIFO"][0]
    for directory in (root / "state" / "tuicon", root / "state" / "tuicon" / "log"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_a_good_last_session_is_reopened(tmp_path):
    ProfileStore(tmp_path / "config" / "tuicon" / "profiles").save_last_session(
        Profile(steps=[("chardev", "ringbuf,id=r"), ("chardev", "null,id=n")]))
    proc = start_tuicon(tmp_path)
    text = read_until_ready(proc)
    out, err = stop(proc)
    assert "tuicon: ready (2 chardevs, 0 devices)" in text and err == ""


def test_version_true_is_not_version_1():
    with pytest.raises(Exception, match=r"field 'version' must be 1 \(got bool True\)"):
        loads("version = true\n", "t.toml")


def unusable_home(tmp_path: Path) -> Path:
    """A HOME (and XDG directories) nothing can be created in.

    A read-only directory does that for a user, but not for root, who writes
    anywhere: then the directories are paths under a regular file.
    """
    if os.geteuid() != 0:
        home = tmp_path / "read-only"
        home.mkdir()
        home.chmod(0o555)
        return home
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "home"


def test_an_unusable_home_is_a_clear_message_headless(tmp_path):
    root = unusable_home(tmp_path)
    demo = start_tuicon(root)  # the demo needs its log directory
    out, err = demo.communicate(timeout=30)
    assert demo.returncode == 1
    assert err.splitlines() == [err.strip()] and err.startswith("tuicon: cannot create the directory")
    saved = subprocess.run([sys.executable, "-m", "tuicon", "--save-profile", "x", "-chardev",
                            "null,id=n"], env=env_for(root), capture_output=True, text=True,
                           timeout=30)
    assert saved.returncode == 1
    assert saved.stderr.startswith("tuicon: profile 'x' not saved: cannot write ")
    assert len(saved.stderr.splitlines()) == 1, saved.stderr
    # A session that needs no file runs as usual.
    proc = start_tuicon(root, "-chardev", "ringbuf,id=r")
    assert "tuicon: ready (1 chardevs" in read_until_ready(proc)
    out, err = stop(proc)
    assert proc.returncode == 0 and err == "", err


def isolate(monkeypatch, root: Path) -> None:
    for name, value in env_for(root).items():
        if name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            monkeypatch.setenv(name, value)


def test_an_unusable_home_does_not_stop_the_app(tmp_path, monkeypatch, capfd):
    isolate(monkeypatch, unusable_home(tmp_path))

    async def toggle_theme_and_quit(pilot):
        await pilot.app.started.wait()  # the session is built in the background
        await pilot.press("T")
        await pilot.app.action_quit(True)

    status = app_module.run_app([("chardev", "ringbuf,id=r")], auto_pilot=toggle_theme_and_quit,
                                headless=True)
    err = capfd.readouterr().err.splitlines()
    assert status == 0
    assert len(err) == 2, err
    assert err[0].startswith("tuicon: last session not saved: cannot write "), err
    assert err[1].startswith("tuicon: settings not saved to "), err


def test_a_crash_leaves_one_line_a_traceback_file_and_the_last_session(tmp_path, monkeypatch, capfd):
    isolate(monkeypatch, tmp_path)

    def broken_help(self):
        raise RuntimeError("help is broken")

    monkeypatch.setattr(app_module.TuiconApp, "action_help", broken_help)

    async def ask_for_help(pilot):
        await pilot.app.started.wait()  # the session is built in the background
        await pilot.press("question_mark")
        await pilot.pause()

    steps = [("chardev", "ringbuf,id=ring"), ("chardev", "vc,id=screen")]
    status = app_module.run_app(steps, auto_pilot=ask_for_help, headless=True)
    assert status == 1
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    prefix = "tuicon: the app crashed (RuntimeError); traceback written to "
    assert lines[0].startswith(prefix), lines
    report = Path(lines[0].removeprefix(prefix))
    assert report.parent == tmp_path / "state" / "tuicon"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700
    assert "RuntimeError: help is broken" in report.read_text()
    last = ProfileStore(tmp_path / "config" / "tuicon" / "profiles").load_last_session()
    assert last.steps == steps


async def test_one_unsavable_chardev_leaves_the_rest_saved(tmp_path):
    # A Linux path may be any bytes; TOML (UTF-8) cannot hold this one.
    undecodable = os.fsdecode(bytes(tmp_path) + b"/log-\xff")
    before = open_fds()
    session = Session()
    await session.apply([
        ("chardev", "ringbuf,id=ring"),
        ("chardev", f"file,id=log,path={undecodable}"),
        ("chardev", "mux-be,id=hub"),
        ("chardev", "null,id=member,mux-be-id=hub"),
        ("device", "echo,id=echo,chardev=log"),
        ("device", "echo,id=keep,chardev=hub"),
    ])
    store = ProfileStore(tmp_path / "profiles")
    left_out = store.save_last_session(profile_of(session))
    assert len(left_out) == 2
    assert left_out[0].startswith("-chardev file,id=log,") and "not valid UTF-8" in left_out[0]
    assert left_out[1] == "device 'echo' (it uses 'log')"
    assert store.save_problem == "last session saved without " + "; ".join(left_out)
    assert [text.split(",")[1] for _, text in store.load_last_session().steps] == [
        "id=ring", "id=hub", "id=member", "id=keep"]
    await session.close()
    await assert_no_leaks(before)


def test_the_app_says_what_the_last_session_left_out(tmp_path, monkeypatch, capfd):
    isolate(monkeypatch, tmp_path)
    undecodable = os.fsdecode(bytes(tmp_path) + b"/log-\xff")

    async def quit_(pilot):
        await pilot.app.started.wait()  # the session is built in the background
        await pilot.app.action_quit(True)

    steps = [("chardev", "ringbuf,id=ring"), ("chardev", f"file,id=log,path={undecodable}")]
    assert app_module.run_app(steps, auto_pilot=quit_, headless=True) == 0
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuicon: last session saved without -chardev file,id=log")
    last = ProfileStore(tmp_path / "config" / "tuicon" / "profiles").load_last_session()
    assert last.steps == [("chardev", "ringbuf,id=ring")]

