"""Helpers for the app's pilot tests: an app on a private store, panes by chardev id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tuicon.profiles import ProfileStore
from tuicon.session import Step
from tuicon.ui.app import Settings, TuiconApp
from tuicon.ui.panes import ChardevPane
from tuicon.ui.terminal import TerminalView

from helpers import wait_until

STARTUP_TIMEOUT = 5.0


def make_app(tmp_path: Path, steps: Sequence[Step] = (), app_class: type[TuiconApp] = TuiconApp,
             view: str | None = None, **kwargs: Any) -> TuiconApp:
    """An app whose profiles and settings live in ``tmp_path``; ``view`` as a profile's [ui] gives it."""
    if view is not None:
        kwargs["ui"] = {**kwargs.get("ui", {}), "view": view}
    return app_class(steps, store=ProfileStore(tmp_path / "profiles"),
                     settings=Settings(tmp_path / "settings.toml"), **kwargs)


async def type_into_console(app: TuiconApp, pilot: Pilot[int]) -> TerminalView:
    """Press Enter in the console view, as a user starts typing; the view that types."""
    await pilot.press("enter")
    view = app.main.terminal
    assert view.typing and app.focused is view, (app.focused, view.describe())
    return view


@contextlib.asynccontextmanager
async def running(app: TuiconApp, size: tuple[int, int] = (120, 40), *,
                  started: bool = True) -> AsyncIterator[Pilot[int]]:
    """Run the app under a pilot; by default once its session is built."""
    async with app.run_test(size=size) as pilot:
        if started:
            await asyncio.wait_for(app.started.wait(), STARTUP_TIMEOUT)
            await pilot.pause()
        yield pilot


def pane(app: TuiconApp, chardev_id: str) -> ChardevPane:
    """The pane of ``chardev_id``; fails the test if it has none."""
    found = app.pane_for(chardev_id)
    assert found is not None, f"no pane for chardev '{chardev_id}'"
    return found


async def wait_pane(app: TuiconApp, chardev_id: str, timeout: float = 5.0) -> ChardevPane:
    """Wait until ``chardev_id`` has a pane that is mounted, and return it."""
    def mounted() -> bool:
        found = app.pane_for(chardev_id)
        return found is not None and found.is_mounted

    await wait_until(mounted, timeout, f"a pane for '{chardev_id}'")
    return pane(app, chardev_id)


def shown(pane: ChardevPane) -> str:
    """The text a pane draws now."""
    drawn = pane.render()
    parts = getattr(drawn, "renderables", [drawn])
    return "\n".join(part.plain for part in parts)
