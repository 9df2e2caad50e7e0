"""The command line as a user meets it: help texts and one-line errors (real subprocesses)."""

from __future__ import annotations

import os
import select
import socket
import signal
import subprocess
import sys

import pytest
import tomli_w

from tuicon import cli
from tuicon.cli import main


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


# --- untrusted strings and numbers: one line, status 1, from the command line and a profile ---

LONG_LABEL = "a" * 64 + ".example"
SERVER = "server=on,wait=off"
# (chardev option string, the same as a profile's TOML entry, what the one line says)
UNTRUSTED = [
    pytest.param("null,id=a\0b", {"type": "null", "id": "a\0b"},
                 "Parameter 'id' expects an identifier", id="NUL in an id"),
    pytest.param("file,id=f,path=/tmp/a\0b", {"type": "file", "id": "f", "path": "/tmp/a\0b"},
                 "Parameter 'path' must not contain a NUL character", id="NUL in a path"),
    pytest.param("file,id=f,path=/tmp/\ud800", None, "holds a lone surrogate", id="surrogate in a path"),
    pytest.param("socket,id=s,host=a\0b,port=1", {"type": "socket", "id": "s", "host": "a\0b", "port": "1"},
                 "Parameter 'host' must not contain a NUL character", id="NUL in a host"),
    pytest.param(f"socket,id=s,host=\ud800,port=1,{SERVER}", None, "holds a lone surrogate",
                 id="surrogate in a host"),
    pytest.param(f"socket,id=s,host={LONG_LABEL},port=1",
                 {"type": "socket", "id": "s", "host": LONG_LABEL, "port": "1"},
                 "is not a valid host name", id="host label over 63"),
    pytest.param(f"udp,id=u,host={LONG_LABEL},port=1",
                 {"type": "udp", "id": "u", "host": LONG_LABEL, "port": "1"},
                 "is not a valid host name", id="udp host label over 63"),
    pytest.param("socket,id=s,host=127.0.0.1,port=1,reconnect=" + "9" * 400,
                 {"type": "socket", "id": "s", "host": "127.0.0.1", "port": "1",
                  "reconnect": int("9" * 400)},
                 "Parameter 'reconnect' expects a number", id="reconnect of 400 digits"),
    pytest.param("ringbuf,id=r,size=" + "9" * 5000, {"type": "ringbuf", "id": "r", "size": "9" * 5000},
                 "Parameter 'size' expects a size", id="size of 5000 digits"),
    pytest.param(f"socket,id=s,host=127.0.0.1,port=\u00b2,{SERVER}",
                 {"type": "socket", "id": "s", "host": "127.0.0.1", "port": "\u00b2",
                  "server": True, "wait": False},
                 "port '\u00b2' is not a number", id="port of superscript two"),
    pytest.param("udp,id=u,host=127.0.0.1,port=9,localaddr=999.9.9.9",
                 {"type": "udp", "id": "u", "host": "127.0.0.1", "port": "9", "localaddr": "999.9.9.9"},
                 "999.9.9.9", id="localaddr 999.9.9.9"),
    pytest.param(f"socket,id=s,path=,{SERVER}", {"type": "socket", "id": "s", "path": "",
                                                 "server": True, "wait": False},
                 "path= must not be empty", id="empty UNIX path"),
    pytest.param(f"socket,id=s,path=\0abstract,{SERVER}",
                 {"type": "socket", "id": "s", "path": "\0abstract", "server": True, "wait": False},
                 "Parameter 'path' must not contain a NUL character", id="UNIX path starting with NUL"),
    pytest.param(f"socket,id=s,path=/tmp/a\0b,{SERVER}",
                 {"type": "socket", "id": "s", "path": "/tmp/a\0b", "server": True, "wait": False},
                 "Parameter 'path' must not contain a NUL character", id="UNIX path holding NUL"),
]


def one_error_line(capsys, status: int) -> str:
    out, err = capsys.readouterr()
    assert status == 1, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuicon: "), lines
    assert "Traceback" not in out + err
    return lines[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Private config and state directories; a session that builds fails the test at once."""
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path))

    def built(session, demo):
        raise AssertionError("the session was built: the option was not refused")

    monkeypatch.setattr(cli, "print_status", built)
    return tmp_path


# In-process: a real argv cannot hold a NUL, but main() must not care how it is called.
@pytest.mark.parametrize(("option", "entry", "message"), UNTRUSTED)
def test_untrusted_values_on_the_command_line(home, capsys, option, entry, message):
    assert message in one_error_line(capsys, main(["--headless", "-chardev", option]))


@pytest.mark.parametrize(("option", "entry", "message"), [p for p in UNTRUSTED if p.values[1]])
def test_untrusted_values_in_a_profile(home, capsys, option, entry, message):
    path = home / "tuicon" / "profiles" / "p.toml"
    path.parent.mkdir(parents=True)
    path.write_text("version = 1\n" + tomli_w.dumps({"chardev": [entry]}))
    line = one_error_line(capsys, main(["--headless", "--profile", "p"]))
    assert str(path) in line and message in line, line


def test_a_lone_surrogate_in_a_profile_is_not_toml(home, capsys):
    path = home / "tuicon" / "profiles" / "p.toml"
    path.parent.mkdir(parents=True)
    path.write_text('version = 1\n[[chardev]]\nid = "f"\ntype = "file"\npath = "/tmp/\\ud800"\n')
    assert "not valid TOML" in one_error_line(capsys, main(["--headless", "--profile", "p"]))


def test_saving_a_profile_checks_every_option_first(home, capsys):
    line = one_error_line(capsys, main(["-chardev", "null", "--save-profile", "x"]))
    assert line == "tuicon: profile 'x' not saved: -chardev null: field 'id': chardev: no id specified"
    line = one_error_line(capsys, main(["-chardev", "null,id=n", "-device", "echo,chardev=n",
                                        "--save-profile", "x"]))
    assert line.endswith("a device in a profile needs an id (add id=NAME)"), line
    assert not (home / "tuicon" / "profiles" / "x.toml").exists()


# --- tuicon --list ---------------------------------------------------------------------------


def fake_port(device: str, description: str, vid=None, pid=None, serial=None):
    """A port as pyserial describes it (its own class), for a machine without USB adapters."""
    from serial.tools.list_ports_common import ListPortInfo

    port = ListPortInfo(device, skip_link_detection=True)
    port.description, port.vid, port.pid, port.serial_number = description, vid, pid, serial
    return port


def test_list_shows_by_id_name_device_description_and_usb_ids(tmp_path):
    from tuicon import targets

    by_id = tmp_path / "by-id"
    by_id.mkdir()
    ftdi = "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    (by_id / ftdi).symlink_to("/dev/ttyUSB0")
    ports = [fake_port("/dev/ttyUSB0", "FT232R USB UART", 0x0403, 0x6001, "A50285BI"),
             fake_port("/dev/ttyACM1", "Pico", 0x2E8A, 0x000A),
             fake_port("/dev/ttyS0", "n/a")]
    assert targets.port_list(lambda: ports, by_id).splitlines() == [
        "by-id name                                    device        description      USB vid:pid serial",
        "-                                             /dev/ttyACM1  Pico             2e8a:000a",
        "-                                             /dev/ttyS0    -                -",
        f"{ftdi}  /dev/ttyUSB0  FT232R USB UART  0403:6001 A50285BI",
    ]
    assert targets.port_list(lambda: [], by_id) == "no serial ports found"


def test_list_runs_on_this_machine(tmp_path):
    result = tuicon("--list", tmp_path=tmp_path)
    assert result.returncode == 0 and not result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "no serial ports found" or first.startswith("by-id name  "), first
    usage = tuicon("--help", tmp_path=tmp_path).stdout
    for option in ("TARGET", "--baud", "--log", "--no-log", "--list", "telnet:HOST:PORT"):
        assert option in usage
