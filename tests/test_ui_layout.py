"""The pane grid: 1 to 16 chardevs all fit, visibly, on small and large terminals."""

from __future__ import annotations

import pytest

from tuicon.ui.panes import ChardevPane

from ui_helpers import make_app, running


def steps_for(count: int) -> list[tuple[str, str]]:
    return [("chardev", f"null,id=n{i:02d}") for i in range(count)]


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
@pytest.mark.parametrize("count", [1, 4, 9, 16])
async def test_every_pane_fits_on_screen(tmp_path, size, count):
    app = make_app(tmp_path, steps_for(count))
    width, height = size
    async with running(app, size):
        panes = list(app.query(ChardevPane))
        assert [p.chardev_id for p in panes] == [f"n{i:02d}" for i in range(count)]
        for pane in panes:
            region = pane.region
            # Inside the screen, and tall enough for its border plus a line of status.
            assert region.x >= 0 and region.right <= width, (pane.chardev_id, region)
            assert region.y >= 0 and region.bottom <= height - 1, (pane.chardev_id, region)  # above the footer
            assert region.height >= 3 and region.width >= 20, (pane.chardev_id, region)
        # No two panes overlap.
        for i, a in enumerate(panes):
            for b in panes[i + 1:]:
                assert not a.region.overlaps(b.region), (a.chardev_id, b.chardev_id)
        await app.action_quit(True)
