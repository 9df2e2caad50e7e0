"""Both themes are readable (issue 11 item 8): the vc's 16 ANSI colours and default
colours against each theme's background, the borders, and the palette following the theme.

Contrast is WCAG 2's (relative luminance, ``(L1 + 0.05) / (L2 + 0.05)``).  The floors:

* 16 ANSI colours: 3:1, WCAG's floor for large text and for user-interface parts
  (SC 1.4.3, 1.4.11).  They are accents on a console whose body text is the default
  colour; 4.5:1 for all sixteen would push "black" on the dark theme and "white" /
  "bright white" on the light one into the same few greys as 8 and 0, and the
  palette must keep 16 distinct colours in their usual order of lightness.
* the vc's default foreground: 7:1 (WCAG AAA for body text): it is what people read.
* borders (panes, the side column's edge, form fields, focus, typing): 3:1 against
  what surrounds them (SC 1.4.11: the edge that shows where a part is).

Everything is read from what the app uses: the theme files through ``load_themes``
and, for borders and default colours, the styles of a running app.
"""

from __future__ import annotations

import pytest
from textual.color import Color
from textual.widgets import Input

from tuicon.chardev import CharFrontend
from tuicon.ui.app import DARK, LIGHT, THEMES_DIR, load_themes
from tuicon.ui.forms import BackendForm, TypePicker
from tuicon.ui.theming import ANSI_NAMES, ThemeFileError, TuiconTheme

from helpers import wait_until
from test_ui_snapshots import MIDDLE, STEPS, app_for, started, write_console
from ui_helpers import make_app, pane, running

MIN_COLOUR_CONTRAST = 3.0
MIN_TEXT_CONTRAST = 7.0
MIN_BORDER_CONTRAST = 3.0
THEMES = {theme.name: theme for theme in load_themes()}
SIXTEEN = b"".join(b"\x1b[%dm%02d\x1b[0m " % (30 + n if n < 8 else 82 + n, n) for n in range(16))
"""Colours 0-15 as foregrounds (SGR 30-37, 90-97), one number each."""


def luminance(colour: Color) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    def linear(part: int) -> float:
        c = part / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.r) + 0.7152 * linear(colour.g) + 0.0722 * linear(colour.b)


def contrast(first: Color, second: Color) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def drawn_border(widget, side: str = "top") -> tuple[str, Color, Color]:
    """(edge type, the colour drawn, what is behind it), as Textual blends a border."""
    edge, colour = getattr(widget.styles, f"border_{side}")
    behind, _ = widget.background_colors
    return edge, behind + colour, behind


# -- the palettes, as shipped -----------------------------------------------------------

def test_both_themes_ship_with_a_full_palette():
    assert set(THEMES) == {DARK, LIGHT}
    for theme in THEMES.values():
        assert isinstance(theme, TuiconTheme) and len(theme.palette) == 16
        assert len(set(theme.palette)) == 16, f"{theme.name}: two ANSI colours are the same"


@pytest.mark.parametrize("name", [DARK, LIGHT])
@pytest.mark.parametrize("index", range(16), ids=ANSI_NAMES)
def test_every_ansi_colour_reads_on_its_theme_background(name, index):
    theme = THEMES[name]
    colour, background = Color.parse(theme.palette[index]), Color.parse(theme.background)
    ratio = contrast(colour, background)
    assert ratio >= MIN_COLOUR_CONTRAST, \
        f"{name}: {ANSI_NAMES[index]} {colour.hex} on {background.hex} is {ratio:.2f}:1"


@pytest.mark.parametrize("name", [DARK, LIGHT])
def test_black_to_bright_white_keep_their_order_of_lightness(name):
    palette = THEMES[name].palette
    greys = [luminance(Color.parse(palette[i])) for i in (0, 8, 7, 15)]
    assert greys == sorted(greys) and len(set(greys)) == 4, (name, greys)


def test_a_theme_file_without_a_whole_palette_is_refused_in_one_line(tmp_path):
    text = (THEMES_DIR / "tuicon-dark.toml").read_text()
    (tmp_path / "broken.toml").write_text(text.replace('bright-cyan = "#8ee0e0"\n', ""))
    with pytest.raises(ThemeFileError, match=r"^theme broken.toml: \[palette\] must name exactly"
                                             r" the 16 ANSI colours \(black, .*bright-white\)$"):
        load_themes(tmp_path)
    (tmp_path / "broken.toml").write_text(text.replace('"#8ee0e0"', '"cyan-ish"'))
    with pytest.raises(ThemeFileError, match="^theme broken.toml: palette colour bright-cyan ="
                                             " 'cyan-ish' is not a #rrggbb colour$"):
        load_themes(tmp_path)


# -- the running app ---------------------------------------------------------------------

async def show_sixteen(app) -> None:
    CharFrontend(app.session.chardevs.get("console"), owner="test").write(SIXTEEN)
    await app.session.chardevs.get("screen").idle()
    view = app.main.terminal
    await wait_until(lambda: "15" in "".join(s.text for s in view.render_line(0)), what="the colours")


def drawn_colours(app) -> str:
    return app.export_screenshot().lower()


def hexes(ansi_theme) -> list[str]:
    """The 16 colours a Rich terminal theme maps ANSI 0-15 to, as ``#rrggbb``."""
    return [Color(*rgb).hex.lower() for rgb in ansi_theme.ansi_colors]


async def test_the_vc_colours_follow_the_theme(tmp_path):
    dark, light = (THEMES[name].palette for name in (DARK, LIGHT))
    async with running(make_app(tmp_path, STEPS, ui={"theme": DARK}), (100, 30)) as pilot:
        app = pilot.app
        await show_sixteen(app)
        for name, palette, other in ((DARK, dark, light), (LIGHT, light, dark)):
            if app.theme != name:
                await pilot.press("T")
                await pilot.pause()
            assert app.theme == name
            assert hexes(app.ansi_theme) == list(palette), f"{name}: not the theme's palette"
            svg = drawn_colours(app)
            missing = [n for n, c in zip(ANSI_NAMES, palette) if c.lower() not in svg]
            assert not missing, f"{name}: not drawn in the theme's colours: {missing}"
            own = {*palette, THEMES[name].background, THEMES[name].foreground}
            stale = [c for c in set(other) - own if c.lower() in svg]
            assert not stale, f"{name}: the other theme's colours are still drawn: {stale}"
        # A Textual theme picked from the palette borrows tuicon's of the same darkness.
        for textual_theme, tuicon_theme in (("textual-dark", DARK), ("textual-light", LIGHT)):
            app.theme = textual_theme
            await pilot.pause()
            assert hexes(app.ansi_theme) == list(THEMES[tuicon_theme].palette), textual_theme


async def test_the_vc_default_colours_are_the_theme_s_and_follow_it(tmp_path):
    async with running(make_app(tmp_path, STEPS, ui={"theme": DARK}), (100, 30)) as pilot:
        app = pilot.app
        await show_sixteen(app)
        view = app.main.terminal
        for name in (DARK, LIGHT):
            if app.theme != name:
                await pilot.press("T")
                await pilot.pause()
            theme = THEMES[name]
            fg, bg = Color.parse(theme.foreground), Color.parse(theme.background)
            assert contrast(fg, bg) >= MIN_TEXT_CONTRAST, (name, contrast(fg, bg))
            # The screen's default colours, as drawn: the text after the last colour.
            style = list(view.render_line(0))[-1].style
            assert (Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)) \
                == (fg, bg), f"{name}: the vc's default colours are not the theme's"


@pytest.mark.parametrize("name", [DARK, LIGHT])
async def test_pane_borders_stand_out_in_every_state(tmp_path, name):
    async with running(make_app(tmp_path, STEPS, view="grid", ui={"theme": name})) as pilot:
        app = pilot.app
        pane(app, "ring").focus()
        await pilot.pause()
        states = {"unfocused": drawn_border(pane(app, "spare")),
                  "focused": drawn_border(pane(app, "ring"))}
        pane(app, "screen").focus()
        await pilot.press("enter")
        assert pane(app, "screen").typing
        states["typing"] = drawn_border(pane(app, "screen"))
        for state, (_, colour, behind) in states.items():
            ratio = contrast(colour, behind)
            assert ratio >= MIN_BORDER_CONTRAST, \
                f"{name}: a {state} pane's border {colour.hex} on {behind.hex} is {ratio:.2f}:1"
        # Each state looks different: by colour, and typing by its heavier line as well.
        colours = {state: colour.hex for state, (_, colour, _) in states.items()}
        assert len(set(colours.values())) == 3, colours
        assert states["typing"][0] != states["focused"][0]


@pytest.mark.parametrize("name", [DARK, LIGHT])
async def test_the_side_column_edge_and_form_fields_stand_out(tmp_path, name):
    async with running(make_app(tmp_path, STEPS, ui={"theme": name})) as pilot:
        app = pilot.app
        edge, colour, behind = drawn_border(app.main.sidebar, "right")
        assert edge and contrast(colour, behind) >= MIN_BORDER_CONTRAST, \
            f"{name}: the side column's edge {colour.hex} on {behind.hex}"
        await pilot.press("a")
        await wait_until(lambda: isinstance(app.screen, TypePicker), what="the type picker")
        await pilot.press("enter")  # serial, the picker's first choice: a form of many fields
        await wait_until(lambda: isinstance(app.screen, BackendForm), what="the add form")
        await pilot.pause()
        fields = [field for field in app.screen.query(Input) if field is not app.focused]
        assert fields
        for field in fields:
            _, colour, behind = drawn_border(field)
            assert contrast(colour, behind) >= MIN_BORDER_CONTRAST, \
                f"{name}: the field {field.id}'s edge {colour.hex} on {behind.hex}"


# -- what it looks like ------------------------------------------------------------------

def test_light_grid_with_a_typing_pane(snap_compare, tmp_path):
    async def type_in_the_vc(pilot) -> None:
        await write_console(pilot)
        pane(pilot.app, "screen").focus()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app_for(tmp_path, theme=LIGHT, view="grid"), terminal_size=MIDDLE,
                        run_before=type_in_the_vc)


def test_light_add_form(snap_compare, tmp_path):
    async def open_the_form(pilot) -> None:
        await started(pilot)
        await pilot.press("a")
        await wait_until(lambda: isinstance(pilot.app.screen, TypePicker), what="the type picker")
        pilot.app.screen.close("ringbuf")
        await wait_until(lambda: isinstance(pilot.app.screen, BackendForm), what="the add form")
        await pilot.press(*"r2")
        await pilot.pause()

    assert snap_compare(app_for(tmp_path, theme=LIGHT), terminal_size=MIDDLE, run_before=open_the_form)
