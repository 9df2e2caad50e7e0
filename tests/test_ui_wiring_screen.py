"""The wiring screen (W) and removing a chardev in use (d): real engine, real pilot."""

from __future__ import annotations

from textual.widgets import Button, Select

from tuicon.ui.forms import ConfirmScreen
from tuicon.ui.wiring_screen import AttachForm, WiringScreen, removal_plan, wiring_rows

from helpers import wait_until
from ui_helpers import make_app, running

STEPS = [
    ("chardev", "mux-be,id=console"),
    ("chardev", "vc,id=screen,cols=60,rows=10,mux-be-id=console"),
    ("chardev", "ringbuf,id=ring,size=4096,mux-be-id=console"),
    ("chardev", "ringbuf,id=src"),
    ("chardev", "null,id=spare"),
    ("chardev", "ringbuf,id=m,mux=on"),
    ("chardev", "ringbuf,id=qmp"),
    ("mon", "chardev=qmp,mode=control"),
    ("device", "bridge,id=b0,chardev=src,peer=console"),
    ("device", "echo,id=dev,chardev=m"),
]


def members(app, mux_be: str = "console") -> list[str]:
    return [m["id"] for m in app.session.chardevs.info(app.session.chardevs.get(mux_be)).extra["members"]]


async def open_wiring(pilot) -> WiringScreen:
    await pilot.press("W")
    screen = pilot.app.screen
    assert isinstance(screen, WiringScreen)
    return screen


async def test_the_list_shows_devices_monitors_and_members(tmp_path):
    app = make_app(tmp_path, STEPS)
    async with running(app) as pilot:
        texts = [row.text for row in wiring_rows(app.session)]
        assert "bridge b0: src ⇄ console" in texts and "echo dev: m" in texts
        assert "monitor (control) on qmp" in texts
        assert "mux-be console (used by bridge 'b0')" in texts
        assert any(t.strip().startswith("screen  vc") for t in texts)
        screen = await open_wiring(pilot)
        assert screen.current().kind == "device"  # the first line that can be acted on
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_remove_a_bridge_from_the_devices_list(tmp_path):
    app = make_app(tmp_path, STEPS)
    async with running(app) as pilot:
        screen = await open_wiring(pilot)
        screen.highlight("device", "b0")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen) and "device 'b0'" in app.screen.question
        await pilot.press("y")
        await wait_until(lambda: "b0" not in app.session.devices.ids(), what="the bridge removed")
        assert not app.session.chardevs.get("src").busy  # its chardev is free again
        await wait_until(lambda: all(r.key != "b0" for r in screen.rows), what="the list redrawn")
        assert any(n.message == "Removed bridge b0" for n in app._notifications)


async def test_stop_a_monitor_from_the_devices_list(tmp_path):
    app = make_app(tmp_path, STEPS)
    async with running(app) as pilot:
        screen = await open_wiring(pilot)
        screen.highlight("monitor", "qmp")
        await pilot.press("delete", "y")
        await wait_until(lambda: not app.session.monitors.monitors, what="the monitor stopped")
        assert not app.session.chardevs.get("qmp").busy


async def test_detach_and_attach_a_member(tmp_path):
    app = make_app(tmp_path, STEPS)
    async with running(app) as pilot:
        screen = await open_wiring(pilot)
        screen.highlight("member", "console", "ring")
        await pilot.press("d")  # detaching is undone by attaching: no question
        await wait_until(lambda: members(app) == ["screen"], what="ring detached")
        assert "ring" in app.session.chardevs and not app.session.chardevs.get("ring").busy
        await wait_until(lambda: ("member", "console", "ring") not in
                         [(r.kind, r.key, r.member) for r in screen.rows], what="the list redrawn")
        screen.highlight("attach", "console")
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, AttachForm)
        # Only free chardevs that are no multiplexer: not screen (a member), not m (a mux).
        assert [v for _, v in form.query_one("#member", Select)._options if v is not Select.NULL] \
            == ["ring", "spare"]
        form.query_one("#member", Select).value = "ring"
        form.query_one("#ok", Button).press()
        await wait_until(lambda: members(app) == ["screen", "ring"], what="ring attached again")
        await wait_until(lambda: ("member", "console", "ring") in
                         [(r.kind, r.key, r.member) for r in screen.rows], what="the list redrawn")
        assert app.session.chardevs.get("ring").busy  # the mux-be's member again
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()


async def test_attach_says_when_nothing_is_free(tmp_path):
    app = make_app(tmp_path, STEPS[:3] + [("device", "echo,id=dev,chardev=console")])
    async with running(app) as pilot:
        screen = await open_wiring(pilot)
        screen.highlight("mux-be", "console")
        await pilot.press("a")
        assert app.screen is screen
        assert "no chardev is free to attach" in str(screen.query_one("#error").render())


async def test_removing_a_chardev_in_use_says_what_goes_first(tmp_path):
    app = make_app(tmp_path, STEPS, view="console")
    async with running(app) as pilot:
        cases = {
            "src": "first: remove device 'b0' (bridge); then",
            "ring": "first: detach 'ring' from mux-be 'console'; then",
            "m-base": "first: remove device 'dev' (echo); remove the mux 'm'; then",
            "qmp": "first: stop the monitor on 'qmp'; then",
        }
        for chardev_id, said in cases.items():
            app.go_to(chardev_id)
            await pilot.pause()
            await pilot.press("d")
            assert isinstance(app.screen, ConfirmScreen), chardev_id
            assert said in app.screen.question, app.screen.question  # said before asking
            assert chardev_id in app.session.chardevs
            await pilot.press("y")
            await wait_until(lambda: chardev_id not in app.session.chardevs and not app.busy,
                             what=f"{chardev_id} removed")
        assert "m" not in app.session.chardevs and app.session.devices.ids() == []
        assert members(app) == ["screen"] and not app.session.monitors.monitors
        assert any(n.message == "Removed src (first: remove device 'b0' (bridge))"
                   for n in app._notifications)
        app.go_to("spare")  # nothing to free: the plain question
        await pilot.pause()
        await pilot.press("d")
        assert app.screen.question == "Remove chardev 'spare'?"


async def test_a_removal_plan_frees_a_mux_be_of_its_user_and_keeps_its_members(tmp_path):
    app = make_app(tmp_path, STEPS)
    async with running(app):
        plan = removal_plan(app.session, "console")
        assert [a.text for a in plan.actions] == ["remove device 'b0' (bridge)", "remove chardev 'console'"]
        assert plan.blocked == []
