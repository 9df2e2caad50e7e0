"""The command line as a user meets it: help texts and one-line errors (real subprocesses)."""

from __future__ import annotations

import os
import select
import socket
import signal
import subprocess
import sys

import pytest


def tuicon(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "tuicon", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_chardev_help_lists_types_and_options(tmp_path):
    types = tuicon("-chardev", "help", tmp_path=tmp_path)
    assert types.returncode == 0
    names = [line.split()[0] for line in types.stdout.splitlines()[1:]]
    assert {"null", "ringbuf", "memory", "file", "pipe", "pty", "vc", "mux-be", "hub"} <= set(names)
    ring = tuicon("-chardev", "ringbuf,help", tmp_path=tmp_path)
    assert "size=<size>" in ring.stdout and "(default: 65536)" in ring.stdout
    assert "logfile=<string>" in ring.stdout  # the common options too
    usage = tuicon("--help", tmp_path=tmp_path)
    for option in ("-chardev", "-device", "-mon", "-qmp", "-monitor", "--headless",
                   "--profile", "--save-profile", "tuicon profile list"):
        assert option in usage.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-chardev", "bogus,id=x"], "tuicon: 'bogus' is not a valid char driver name"),
        (["-chardev", "ringbuf,id=x,sise=4"], "tuicon: Invalid parameter 'sise' (did you mean 'size'?)"),
        (["-chardev", "ringbuf,id=x,size=3"], "tuicon: size of ringbuf chardev must be power of two"),
        (["-chardev", "null,id=x", "-chardev", "null,id=x"],
         "tuicon: Chardev with id 'x' already exists"),
        (["-chardev", "null"], "tuicon: chardev: no id specified"),
        (["-device", "echo,id=e,chardev=nope"],
         "tuicon: Property 'echo.chardev' can't find value 'nope'"),
        (["-qmp", "stdio"], "tuicon: -qmp stdio: expected unix:PATH or tcp:HOST:PORT"),
        (["--frobnicate"], "tuicon: unrecognized arguments: --frobnicate"),
        (["--profile", "../x"], "tuicon: invalid profile name '../x'"),
    ],
)
def test_bad_command_lines_give_one_line_and_status_1(tmp_path, args, line):
    result = tuicon("--headless", *args, tmp_path=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_demo_session_runs_headless_and_stops_cleanly(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "tuicon", "--headless"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("tuicon: ready"):
            break
    text = "".join(lines)
    assert "tuicon: ready (5 chardevs, 1 devices)" in text, text
    port = int(text.split("nc 127.0.0.1 ")[1].split()[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as share:
        share.sendall(b"over tcp\r")
        echoed = b""
        while b"over tcp" not in echoed:
            echoed += share.recv(100)  # the echo device answers on the share too
    share = next(word.rstrip(").") for word in text.split() if word.startswith("/dev/pts/"))
    peer = os.open(share, os.O_RDWR | os.O_NOCTTY)  # type into the console ...
    try:
        os.write(peer, b"hello\r")
        echoed = b""
        while b"hello" not in echoed:
            ready, _, _ = select.select([peer], [], [], 10)
            assert ready, f"no echo, got {echoed!r}"
            echoed += os.read(peer, 100)  # ... and the echo device answers
    finally:
        os.close(peer)
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "everything closed" in out
    log = tmp_path / "tuicon" / "log" / "console.log"
    assert b"hello" in log.read_bytes()


def read_until_ready(proc: subprocess.Popen, timeout: float = 30) -> str:
    """Stdout up to the "ready" line, failing (not hanging) if it never comes."""
    text = ""
    fd = proc.stdout.fileno()  # raw reads: a buffered readline would hide data from select
    while "tuicon: ready" not in text:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no ready line, got {text!r}"
        chunk = os.read(fd, 4096).decode()
        assert chunk, f"exited before ready: {text!r} {proc.stderr.read()!r}"
        text += chunk
    return text


def test_headless_chardev_and_device_stop_on_sigterm(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuicon", "--headless", "-chardev", f"pipe,id=p,path={tmp_path}/none",
         ], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "Could not open" in err  # a failing chardev: no ready line
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuicon", "--headless", "-chardev", "ringbuf,id=r0,size=1024",
         "-device", "echo,id=e0,chardev=r0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        text = read_until_ready(proc)
        assert "tuicon: ready (1 chardevs, 1 devices)" in text, text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "everything closed" in out and "Traceback" not in err
