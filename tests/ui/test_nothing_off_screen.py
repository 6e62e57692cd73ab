"""Nothing the user is working on goes off screen (issue 11): the tree cursor and the selected
layer stay in view after every settings change and resize; image details and the footer's
essential keys fit at 160x45 and at 80x24."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from dive_py.domain.analysis import Analysis
from dive_py.ui.app import make_app
from dive_py.ui.explorer_footer import ExplorerFooter
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.main_screen import MainScreen
from tests.ui.conftest import screen_text, settle
from tests.ui.long_paths import long_path_analysis

SIZES = [(160, 45), (80, 24)]


@pytest.fixture(scope="module")
def long_paths(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return long_path_analysis(tmp_path_factory.mktemp("long"))


def tree_cursor_visible(view: FileTreeView) -> bool:
    """True when the cursor row is one of the rows the pane shows (not under a scroll bar)."""
    top = int(view.scroll_offset.y)
    return top <= view.cursor_line < top + view.scrollable_content_region.height


def layer_row_visible(screen: MainScreen) -> bool:
    table = screen.layers_table
    top = int(table.scroll_offset.y)
    body = table.scrollable_content_region.height - table.header_height
    return top <= table.cursor_row < top + body


async def _at_end(pilot) -> FileTreeView:  # type: ignore[no-untyped-def]
    """Focus the tree and put the cursor on its last row."""
    await settle(pilot)
    screen = pilot.app.screen
    screen.tree_view.focus()
    await pilot.press("end")
    await settle(pilot)
    view: FileTreeView = screen.tree_view
    assert tree_cursor_visible(view)
    return view


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "keys",
    [
        ("ctrl+u",),  # hide unmodified: the cursor row goes, its ancestor or neighbour stays
        ("ctrl+u", "ctrl+u"),  # un-hide
        ("ctrl+space",),  # fold all
        ("ctrl+space", "ctrl+space"),  # unfold all
        ("ctrl+o",),  # sort by size
        ("ctrl+b",),  # attributes off
    ],
)
async def test_tree_cursor_stays_in_view_after_settings(
    long_paths: Analysis, size: tuple[int, int], keys: tuple[str, ...]
) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=size) as pilot:
        view = await _at_end(pilot)
        path = view.cursor_path
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
            assert tree_cursor_visible(view), (key, view.cursor_line, view.scroll_offset)
        if keys in (("ctrl+u", "ctrl+u"), ("ctrl+o",), ("ctrl+b",)):
            assert view.cursor_path == path  # the same node


@pytest.mark.parametrize("size", SIZES)
async def test_tree_cursor_stays_in_view_after_compare_mode_switch(
    long_paths: Analysis, size: tuple[int, int]
) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("end")  # the top layer: /opt added
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        view = await _at_end(pilot)
        path = view.cursor_path
        screen.layers_table.focus()
        for key in ("ctrl+a", "ctrl+l", "ctrl+a"):
            await pilot.press(key)
            await settle(pilot)
            assert view.cursor_path == path
            assert tree_cursor_visible(view), (key, view.cursor_line, view.scroll_offset)


@pytest.mark.parametrize("size", SIZES)
async def test_tree_cursor_stays_in_view_after_filter_change(
    long_paths: Analysis, size: tuple[int, int]
) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=size) as pilot:
        view = await _at_end(pilot)
        await pilot.press("slash", *"file-05")
        await settle(pilot)
        assert view.cursor_path == "/usr/file-059"
        assert tree_cursor_visible(view)
        await pilot.press("escape")  # clears the filter: many rows come back above the cursor
        await settle(pilot)
        assert view.cursor_path == "/usr/file-059"
        assert tree_cursor_visible(view)


async def test_cursor_and_selected_layer_visible_across_resizes(long_paths: Analysis) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("end")  # the last layer: the last row of the Layers pane
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        view = await _at_end(pilot)
        for width, height in [(80, 24), (160, 45), (60, 20), (80, 24)]:
            await pilot.resize_terminal(width, height)
            await settle(pilot)
            assert tree_cursor_visible(view), (width, height)
            assert layer_row_visible(screen), (width, height)


@pytest.mark.parametrize("size", SIZES)
async def test_image_details_show_id_name_and_size(demo: Analysis, size: tuple[int, int]) -> None:
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = screen_text(app)
        short_id = demo.image.image_id.removeprefix("sha256:")[:12]
        assert short_id in text
        assert "9.0 MB" in text  # the total size
        assert "python-hello-world:demo" in text
        summary = app.screen.query_one("#image-summary")
        assert demo.image.image_id in str(summary.tooltip)  # the full ID
        details = app.screen.query_one("#image-details")
        assert "Efficiency score:" in text
        # no scroll bar in the figures: they fit
        assert not app.screen.query_one("#image-summary-scroll").show_vertical_scrollbar
        del details


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (100, 30)])
async def test_footer_keeps_help_and_quit(demo: Analysis, size: tuple[int, int]) -> None:
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for focus in ("#layers", "#file-tree", "#inefficient"):
            app.screen.query_one(focus).focus()
            await settle(pilot)
            footer = screen_text(app).splitlines()[-1]
            assert "? Help" in footer and "q Quit" in footer, footer
            shown = [key for key in app.screen.query("FooterKey") if key.display]
            for key in shown:  # every key shown whole: nothing cut mid-word
                assert f"{key.key_display} {key.description}".strip() in footer, footer


async def test_footer_recomposes_only_when_its_keys_change(demo: Analysis) -> None:
    # issue 11: three recomposes with the same keys came right after the first screen (30 ms
    # before the first key was handled); the keys change with the focused pane and the width
    app = make_app(demo)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(ExplorerFooter)
        before = list(footer.query(FooterKey))
        footer.call_after_refresh(footer.recompose)  # (as a change of bindings does)
        await settle(pilot)
        assert list(footer.query(FooterKey)) == before  # the same widgets: nothing remounted
        app.screen.query_one("#file-tree").focus()
        await settle(pilot)
        tree_keys = list(footer.query(FooterKey))
        assert tree_keys != before
        assert "Collapse dir" in screen_text(app).splitlines()[-1]
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        narrow = [key for key in footer.query(FooterKey) if key.display]
        assert len(narrow) < len(tree_keys)  # keys that no longer fit are left out


async def test_footer_composes_its_first_keys_at_once(demo: Analysis) -> None:
    # issue 11: Textual's footer composes its keys after the next refresh; the explorer's first
    # screen was drawn without them and their compose (11 ms) came with the first key, the
    # jump to the top layer right after the first screen
    app = make_app(demo)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(ExplorerFooter)
        scheduled: list[str] = []
        footer.call_later = lambda callback, *a, **k: scheduled.append("now")  # type: ignore[method-assign]
        footer.call_after_refresh = lambda callback, *a, **k: scheduled.append("after refresh")  # type: ignore[method-assign]
        footer.bindings_changed(app.screen)
        assert scheduled == ["after refresh"]  # keys shown already: Textual's way
        footer._shown = ()  # (as before the first keys)
        scheduled.clear()
        footer.bindings_changed(app.screen)
        assert "now" in scheduled


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("layer", "where", "keys"),
    [
        (3, "end", ("ctrl+a",)),  # aggregated: the pip layer's last row, among many more rows
        (4, "home", ("ctrl+o",)),  # sort by size moves the cursor row far down
        (3, "mid", ("ctrl+u",)),
    ],
)
async def test_cursor_not_under_the_horizontal_scroll_bar(
    demo: Analysis, size: tuple[int, int], layer: int, where: str, keys: tuple[str, ...]
) -> None:
    """The cursor row was scrolled into view before wider rows brought the horizontal scroll
    bar, which then covered it (one row below the last visible one)."""
    app = make_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for _ in range(layer):
            await pilot.press("down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        view = screen.tree_view
        view.focus()
        if where == "mid":
            view.cursor_line = len(view.model) // 2
        else:
            await pilot.press(where)
        await settle(pilot)
        if keys == ("ctrl+a",):
            screen.layers_table.focus()
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
            assert tree_cursor_visible(view), (key, view.cursor_line, view.scroll_offset)


async def test_a_resize_refits_the_titles_and_the_image_summary(
    demo: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a resize the explorer sets its titles again (the tree posts SettingsChanged when
    it is resized; TreeScreen's handler, shared with the diff explorer, sets them) and fits
    the image summary to the new width (its own handler): both run."""
    calls: list[str] = []
    titles, fit = MainScreen._update_titles, MainScreen._fit_image_summary

    def count_titles(self: MainScreen) -> None:
        calls.append("titles")
        titles(self)

    def count_fit(self: MainScreen) -> None:
        calls.append("fit")
        fit(self)

    monkeypatch.setattr(MainScreen, "_update_titles", count_titles)
    monkeypatch.setattr(MainScreen, "_fit_image_summary", count_fit)
    app = make_app(demo)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        calls.clear()
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "titles" in calls and "fit" in calls, calls
