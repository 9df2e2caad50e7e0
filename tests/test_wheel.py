"""An installed wheel works: built from the checkout, installed into a fresh venv
outside it, started from a directory outside it (headless and the full app)."""

from __future__ import annotations

import os
import shutil
import signal
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_cli import read_until_ready

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                          **kwargs)


def build_wheel(work: Path) -> Path:
    """The wheel of a clean copy of the checkout (pip builds in place; the checkout stays clean)."""
    source = work / "source"
    shutil.copytree(ROOT / "tuicon", source / "tuicon",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = work / "dist"
    failures = []
    # Without isolation no index is needed, but the test venv's setuptools may be
    # too old for pyproject's metadata; then pip fetches a new one from its index.
    for isolation in (["--no-build-isolation"], []):
        built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", dist, source)
        wheels = list(dist.glob("tuicon-*.whl"))
        if built.returncode == 0 and wheels:
            return wheels[0]
        failures.append(" ".join(isolation) + ": " + (built.stderr.strip().splitlines() or ["?"])[-1])
    pytest.skip(f"the wheel cannot be built here (no usable setuptools): {'; '.join(failures)}")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; the test venv's packages serve as its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(work)
    home = work / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", home)
    assert made.returncode == 0, made.stderr
    python = home / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    # Path lines only: the test venv's own .pth files (its editable install of
    # the checkout among them) are not run from here, so tuicon comes from the wheel.
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib.stdout.strip(), "test-venv-deps.pth").write_text("\n".join(deps) + "\n")
    installed = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                    "--no-index", wheel)
    assert installed.returncode == 0, installed.stderr
    return home


def env_outside(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NO_COLOR", "TEXTUAL_THEME")}
    return {**env, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_STATE_HOME": str(tmp / "state")}


def test_the_wheel_carries_what_the_app_reads(venv):
    found = run(venv / "bin" / "python", "-c", textwrap.dedent("""
        import tuicon.ui.app as app
        from importlib.resources import files
        print(app.__file__)
        print(files("tuicon.ui").joinpath("tuicon.tcss").is_file(), len(app.load_themes()))
    """), cwd=venv.parent)
    assert found.returncode == 0, found.stderr
    where, resources = found.stdout.splitlines()
    assert Path(where).is_relative_to(venv), where  # not the checkout's editable install
    assert resources == "True 2"


def test_installed_tuicon_runs_headless_and_stops_on_sigterm(venv, tmp_path):
    proc = subprocess.Popen([venv / "bin" / "tuicon", "--headless"], cwd=tmp_path,
                            env=env_outside(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        text = read_until_ready(proc)
        assert "tuicon: ready (5 chardevs, 1 devices)" in text, text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "everything closed" in out and "Traceback" not in err


PILOT = textwrap.dedent("""
    import asyncio
    from pathlib import Path
    import tuicon
    from tuicon.profiles import ProfileStore
    from tuicon.ui.app import TuiconApp
    from tuicon.ui.help import HelpScreen
    from tuicon.ui.settings import Settings

    async def main():
        here = Path.cwd()
        app = TuiconApp([("chardev", "vc,id=screen"), ("chardev", "ringbuf,id=ring")],
                        store=ProfileStore(here / "profiles"),
                        settings=Settings(here / "settings.toml"))
        async with app.run_test() as pilot:
            await asyncio.wait_for(app.started.wait(), 10)  # built in the background
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen), app.screen
            assert app.theme == "tuicon-dark", app.theme  # the shipped themes were found
        print("pilot ok", tuicon.__file__)

    asyncio.run(main())
""")


def test_installed_app_runs_with_a_pilot(venv, tmp_path):
    result = run(venv / "bin" / "python", "-c", PILOT, cwd=tmp_path, env=env_outside(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("pilot ok ")
    assert Path(result.stdout.split()[-1]).is_relative_to(venv)
