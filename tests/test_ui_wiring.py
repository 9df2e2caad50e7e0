"""The wiring the UI shows: which console a chardev is seen through, the side column's tree."""

from __future__ import annotations

import pytest

from tuicon.session import Session
from tuicon.ui.wiring import TreeRow, console_of, consoles, links, tree

from conftest import assert_no_leaks, open_fds


@pytest.fixture
async def built():
    before = open_fds()
    sessions: list[Session] = []

    async def build(steps):
        session = Session()
        sessions.append(session)
        await session.apply(steps)
        return session

    yield build
    for session in sessions:
        await session.close()
    await assert_no_leaks(before)


LAB = [
    ("chardev", "ringbuf,id=ser0"),
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,mux-be-id=console"),
    ("chardev", "ringbuf,id=log.1,mux-be-id=console"),
    ("device", "bridge,id=b0,chardev=ser0,peer=console"),
    ("chardev", "ringbuf,id=mon,mux=on"),
    ("chardev", "null,id=spare"),
    ("chardev", "vc,id=other"),
]


async def test_console_of_follows_members_and_bridges(built):
    session = await built(LAB)
    assert console_of(session, "screen") == "screen"
    assert console_of(session, "console") == "screen"  # its vc member
    assert console_of(session, "log.1") == "screen"  # a fellow member
    assert console_of(session, "ser0") == "screen"  # bridged into the mux-be
    assert console_of(session, "spare") is None
    assert console_of(session, "mon") is None and console_of(session, "nope") is None
    assert console_of(session, "other") == "other"
    assert consoles(session) == ["screen", "other"]


async def test_tree_puts_members_and_bases_under_their_parent(built):
    session = await built(LAB)
    assert tree(session) == [
        TreeRow("ser0", 0),
        TreeRow("console", 0), TreeRow("screen", 1), TreeRow("log.1", 1),
        TreeRow("mon", 0), TreeRow("mon-base", 1),
        TreeRow("spare", 0),
        TreeRow("other", 0),
    ]
    # A saved pane order moves whole groups; unknown ids are ignored.
    rows = tree(session, order=["spare", "console", "gone"])
    assert [r.chardev_id for r in rows][:4] == ["spare", "console", "screen", "log.1"]
    assert {r.chardev_id for r in rows} == set(session.chardevs.ids())


async def test_links_name_what_each_device_joins(built):
    session = await built(LAB + [("device", "echo,id=dev,chardev=other")])
    assert links(session) == ["bridge b0: ser0 ⇄ console", "echo dev: other"]
