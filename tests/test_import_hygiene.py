"""The engine never imports the UI: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import tuicon.chardev, tuicon.devices, tuicon.session, tuicon.profiles
from tuicon.chardev import backends
backends.names()  # loads every backend module
ui = sorted(m for m in sys.modules if m.split(".")[0] == "textual" or m.startswith("tuicon.ui"))
print(",".join(ui))
"""


def test_engine_does_not_import_the_ui():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
