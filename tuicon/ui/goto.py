"""The command palette's "go to chardev": every chardev is reachable by typing its id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Provider

from .status import state_of

if TYPE_CHECKING:
    from .app import TuiconApp


class GoToChardev(Provider):
    """``Go to chardev ID``: selects it (its console shows) in whichever view is up."""

    def _entries(self) -> list[tuple[str, str, Any]]:
        app: TuiconApp = self.app  # type: ignore[assignment]
        entries = []
        for info in app.session.chardevs.query():
            entries.append((f"Go to chardev {info.label}", f"{info.type}, {state_of(info)}",
                            partial(app.go_to, info.label)))
        return entries

    async def discover(self) -> AsyncIterator[DiscoveryHit]:
        for title, help_text, go in self._entries():
            yield DiscoveryHit(title, go, help=help_text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for title, help_text, go in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), go, help=help_text)
