"""The UI's small preferences kept between runs, saved the way profiles are."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from ..profiles import ProfileError, atomic_write, read_profile_file

log = logging.getLogger(__name__)


class Settings:
    """Small UI preferences kept between runs (the theme).

    The file is read as safely as a profile (a regular file, size capped) and
    written as atomically (temporary file, fsync, rename).  Settings are a
    convenience: a file that cannot be read or written never stops the app;
    the reason is kept in ``error`` (and logged).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(platformdirs.user_config_dir("tuicon")) / "settings.toml"
        self.error: str | None = None
        """Why the settings could not be saved, if they could not (one line)."""

    def load(self) -> dict[str, Any]:
        try:
            return tomllib.loads(read_profile_file(self.path))
        except (OSError, ProfileError, tomllib.TOMLDecodeError, RecursionError, ValueError):
            return {}

    def save(self, **values: Any) -> bool:
        """Merge ``values`` into the file; False (and ``error`` set) if it cannot be written."""
        data = {**self.load(), **values}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, tomli_w.dumps(data))
        except OSError as err:
            self.error = f"settings not saved to {self.path}: {err.strerror or err}"
            log.warning(self.error)
            return False
        self.error = None
        return True
