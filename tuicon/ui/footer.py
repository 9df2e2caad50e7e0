"""The footer: Textual's, but rebuilt only when the keys it shows change.

Textual 8's Footer rebuilds all its key widgets whenever it is asked, and in
this app it was asked about fifteen times a second while nothing changed;
each rebuild re-laid out the whole screen (with 64 cards, half a core when
idle).  This one compares what it would show with what it shows.
"""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """A footer that recomposes only when its key list changed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._shown: tuple[object, ...] | None = None

    def _keys(self) -> tuple[object, ...]:
        return tuple((binding.key, binding.description, enabled)
                     for _, binding, enabled, _ in self.screen.active_bindings.values()
                     if binding.show)

    async def recompose(self) -> None:
        keys = self._keys() if self.is_attached else None
        if keys is not None and keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
