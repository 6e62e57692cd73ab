"""Pilot tests of the explorer: every binding and mode, driven through the keyboard and mouse."""

from __future__ import annotations

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.app import DiveApp, make_app
from dive_py.ui.details import InefficientTable
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.layers_table import LayersTable
from dive_py.ui.main_screen import MainScreen
from dive_py.ui.tree_rows import SortOrder
from tests.ui.conftest import screen_text, settle

SIZE = (160, 48)


def tree_of(app: DiveApp) -> FileTreeView:
    return app.screen.query_one(FileTreeView)


def layers_of(app: DiveApp) -> LayersTable:
    return app.screen.query_one(LayersTable)


def shown_paths(app: DiveApp) -> list[str]:
    model = tree_of(app).model
    return [model.path_of(i) for i in range(len(model))]


def diffs(app: DiveApp) -> set[DiffType]:
    return {node.diff for node in tree_of(app).model.nodes}


async def goto_layer(pilot, layer: int) -> None:  # type: ignore[no-untyped-def]
    layers_of(pilot.app).focus()
    await pilot.press("home")
    await settle(pilot)
    for _ in range(layer):
        await pilot.press("down")
        await settle(pilot)
    assert layers_of(pilot.app).layer_index == layer


async def test_starts_on_layer_zero_with_everything_unchanged(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.focused is layers_of(app)
        assert diffs(app) == {DiffType.UNMODIFIED}
        text = screen_text(app)
        assert "Current Layer Contents" in text
        assert "Layer:   1 of 6" in text
        assert "Image name: python-hello-world:demo" in text
        assert "Efficiency score: 99 %" in text
        assert "/usr/local/bin/pip" in text  # the inefficient files table
        assert "Permission     UID:GID       Size  Filetree" in text


async def test_layer_navigation_changes_tree_and_details(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j")
        await settle(pilot)
        assert layers_of(app).layer_index == 2
        assert "Layer:   3 of 6" in screen_text(app)
        assert "/app/requirements.txt" in shown_paths(app)
        assert (
            tree_of(app).model.nodes[shown_paths(app).index("/app/requirements.txt")].diff
            is DiffType.ADDED
        )
        await pilot.press("down")
        await settle(pilot)
        assert DiffType.ADDED in diffs(app) and DiffType.MODIFIED in diffs(app)
        assert "pip install -r requirements.txt" in screen_text(app)
        await pilot.press("k")
        await settle(pilot)
        assert layers_of(app).layer_index == 2
        await pilot.press("end")
        await settle(pilot)
        assert layers_of(app).layer_index == 5
        assert "Layer:   6 of 6" in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert layers_of(app).layer_index == 0
        await pilot.press("pagedown")
        await settle(pilot)
        assert layers_of(app).layer_index == 5
        await pilot.press("u")
        await settle(pilot)
        assert layers_of(app).layer_index == 0


async def test_steps_without_layer_are_listed_but_skipped(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 4)
        table = layers_of(app)
        assert table.row_count == 7  # 6 layers + CMD
        assert 'CMD ["python" "app.py"]' in screen_text(app)
        await pilot.press("down")  # over the CMD step
        await settle(pilot)
        assert table.layer_index == 5
        assert table.cursor_row == 6
        await pilot.press("up")
        await settle(pilot)
        assert table.layer_index == 4
        await pilot.press("e")  # hide steps without a layer
        await settle(pilot)
        assert table.row_count == 6
        assert 'CMD ["python" "app.py"]' not in screen_text(app)
        assert table.layer_index == 4 and table.cursor_row == 4
        await pilot.press("e")
        await settle(pilot)
        assert table.row_count == 7


async def test_compare_modes(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 5)
        assert "/usr/local/bin/flask" in shown_paths(app)
        layer_mode = {
            tree_of(app).model.nodes[i].path: tree_of(app).model.nodes[i].diff
            for i in range(len(tree_of(app).model))
        }
        assert layer_mode["/usr/local/bin/flask"] is DiffType.UNMODIFIED
        await pilot.press("ctrl+a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.shown == (5, CompareMode.AGGREGATED)
        text = screen_text(app)
        assert "Aggregated Layer Contents" in text and "aggregated changes" in text
        model = tree_of(app).model
        assert model.nodes[model.index_of_path("/usr/local/bin/flask")].diff is DiffType.ADDED
        assert model.nodes[model.index_of_path("/usr/local/bin/pip")].diff is DiffType.MODIFIED
        # compare bar: layer 0 is the base, 1..5 compared
        assert text.count("██") == 5 and text.count("░░") == 1
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert screen.shown == (5, CompareMode.LAYER)
        text = screen_text(app)
        assert "Current Layer Contents" in text
        assert text.count("██") == 1 and text.count("░░") == 5


async def test_start_in_aggregated_mode_from_config(demo: Analysis) -> None:
    app = make_app(demo, config=ExplorerConfig(show_aggregated_changes=True))
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        assert app.screen.shown == (3, CompareMode.AGGREGATED)  # type: ignore[attr-defined]
        assert "/app/requirements.txt" in shown_paths(app)
        model = tree_of(app).model
        assert model.nodes[model.index_of_path("/app/requirements.txt")].diff is DiffType.ADDED


@pytest.mark.parametrize(
    "key, diff",
    [
        ("ctrl+a", DiffType.ADDED),
        ("ctrl+r", DiffType.REMOVED),
        ("ctrl+n", DiffType.MODIFIED),
        ("ctrl+u", DiffType.UNMODIFIED),
    ],
)
async def test_hide_and_show_each_change_type(demo: Analysis, key: str, diff: DiffType) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 4 if diff is DiffType.REMOVED else 3)
        await pilot.press("tab")
        assert app.focused is tree_of(app)
        before = list(shown_paths(app))
        assert diff in diffs(app)
        await pilot.press(key)
        await settle(pilot)
        leaves = {n.diff for n in tree_of(app).model.nodes if not tree_of(app).model.children(n)}
        assert diff not in leaves
        assert len(shown_paths(app)) < len(before)
        assert diff.name.lower() in screen_text(app)  # "hiding added" in the pane subtitle
        await pilot.press(key)
        await settle(pilot)
        assert shown_paths(app) == before


async def test_hidden_types_from_config_and_enter_is_not_modified(demo: Analysis) -> None:
    app = make_app(demo, config=ExplorerConfig(hide=frozenset({"unmodified"})))
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 2)
        assert shown_paths(app) == ["/app", "/app/requirements.txt"]
        await pilot.press("tab", "enter")  # ctrl+m arrives as enter: no binding in the tree
        await settle(pilot)
        assert shown_paths(app) == ["/app", "/app/requirements.txt"]


async def test_filter_applies_as_you_type_and_keeps_last_good(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("slash")
        await settle(pilot)
        assert screen.filter_open and app.focused is screen.filter_input
        await pilot.press(*"whl$")
        await settle(pilot)
        paths = shown_paths(app)
        assert paths[0] == "/root" and all(p.endswith(".whl") for p in paths[4:])
        assert len([p for p in paths if p.endswith(".whl")]) == 6
        assert "Path Filter:" in screen_text(app)
        await pilot.press("[")  # "whl$[" is not a valid expression
        await settle(pilot)
        assert screen.filter_input.has_class("bad")
        assert "bad expression" in screen_text(app)
        assert shown_paths(app) == paths
        await pilot.press("backspace")
        await settle(pilot)
        assert not screen.filter_input.has_class("bad")
        await pilot.press("q")  # typed, not quit
        await settle(pilot)
        assert app.is_running and screen.filter_input.value == "whl$q"
        assert shown_paths(app) == []
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.filter_open
        assert app.focused is tree_of(app)
        assert len(shown_paths(app)) > len(paths)


async def test_filter_enter_keeps_filter_and_ctrl_f_opens(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("ctrl+f")
        await pilot.press(*"busybox")
        await pilot.press("enter")
        await settle(pilot)
        assert not screen.filter_open
        assert shown_paths(app) == ["/bin", "/bin/busybox"]
        assert "filter /busybox/" in screen_text(app)
        assert app.focused is tree_of(app)
        await pilot.press("ctrl+f")
        assert screen.filter_open
        await pilot.press("ctrl+f")  # toggles closed (and clears) from the input
        await settle(pilot)
        assert not screen.filter_open and len(shown_paths(app)) > 2


async def test_collapse_expand_and_navigation_in_tree(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        tree = tree_of(app)
        assert tree.cursor_path == "/bin"  # layer 0 has no /app yet
        total = len(tree.model)
        await pilot.press("j", "k")
        assert tree.cursor_path == "/bin"
        await pilot.press("space")
        assert tree.model.is_collapsed(tree.cursor_line)
        assert len(tree.model) == total - 12
        assert "├─⊕ bin" in screen_text(app)
        await pilot.press("l")  # right enters (expands) and steps onto the first child
        assert tree.cursor_path == "/bin/busybox"
        assert len(tree.model) == total
        await pilot.press("h")
        assert tree.cursor_path == "/bin"
        await pilot.press("ctrl+space")
        await settle(pilot)
        assert shown_paths(app) == ["/bin", "/etc", "/lib", "/root", "/tmp", "/usr"]
        assert tree.cursor_path == "/bin"
        await pilot.press("ctrl+@")  # what some terminals send for ctrl+space
        await settle(pilot)
        assert len(tree.model) == total
        await pilot.press("end")
        assert tree.cursor_line == total - 1
        await pilot.press("home")
        assert tree.cursor_line == 0
        await pilot.press("pagedown")
        assert tree.cursor_line > 10
        await pilot.press("u")
        assert tree.cursor_line == 0
        await pilot.press("down", "k")
        assert tree.cursor_line == 0


async def test_collapsed_dirs_and_cursor_path_survive_layer_switch(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        tree = tree_of(app)
        tree.focus()
        tree.cursor_line = tree.model.index_of_path("/bin")
        await pilot.press("space")
        tree.cursor_line = tree.model.index_of_path("/usr/local/bin/flask")
        await pilot.pause()
        layers_of(app).focus()
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("down")  # over the CMD step to layer 5
        await settle(pilot)
        assert layers_of(app).layer_index == 5
        assert tree_of(app).cursor_path == "/usr/local/bin/flask"
        assert tree_of(app).model.is_collapsed(tree_of(app).model.index_of_path("/bin"))
        await goto_layer(pilot, 1)  # flask does not exist yet: nearest ancestor
        assert tree_of(app).cursor_path == "/usr/local/bin"


async def test_sort_and_attributes(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "ctrl+o")
        await settle(pilot)
        tree = tree_of(app)
        assert tree.model.sort is SortOrder.SIZE
        assert shown_paths(app)[0] == "/usr"  # the biggest top-level directory
        assert "by size" in screen_text(app)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert shown_paths(app)[0] == "/bin"  # layer 0 has no /app
        assert "drwxr-xr-x" in screen_text(app)
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert not tree.show_attributes
        text = screen_text(app)
        assert "drwxr-xr-x" not in text and "Permission" not in text
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert "drwxr-xr-x" in screen_text(app)


async def test_jump_from_inefficient_files_table(demo: Analysis) -> None:
    app = make_app(demo, config=ExplorerConfig(collapse_dir=True))
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 5)
        assert shown_paths(app) == ["/app", "/bin", "/etc", "/lib", "/root", "/tmp", "/usr"]
        await pilot.press("tab", "tab")
        assert isinstance(app.focused, InefficientTable)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is tree_of(app)
        assert tree_of(app).cursor_path == "/usr/local/bin/pip"


async def test_jump_to_missing_path_notifies(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert not screen.jump_to("/nowhere")
        await pilot.pause()
        assert any("not in this layer" in n.message for n in app._notifications)


async def test_tab_cycles_panes(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(4):
            await pilot.press("tab")
            seen.append(app.focused.id if app.focused else None)
        assert seen == ["file-tree", "inefficient", "layer-details", "layers"]
        await pilot.press("shift+tab")
        assert app.focused.id == "layer-details"  # type: ignore[union-attr]


async def test_mouse_click_layer_tree_row_and_fold_marker(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = layers_of(app)
        # rows start below the border (1) and the header (1): row 3 is layer 3
        await pilot.click(LayersTable, offset=(10, 2 + 3))
        await settle(pilot)
        assert table.layer_index == 3
        tree = tree_of(app)
        await pilot.click(FileTreeView, offset=(50, 2))
        await settle(pilot)
        assert tree.cursor_line == 2 and tree.cursor_path == "/bin"
        total = len(tree.model)
        glyph_x = 2 + 35  # marker column + attributes, then the guide of depth 0
        await pilot.click(FileTreeView, offset=(glyph_x, 2))
        await settle(pilot)
        assert len(tree.model) < total
        await pilot.click(FileTreeView, offset=(glyph_x, 2))
        await settle(pilot)
        assert len(tree.model) == total
        from textual import events

        for _ in range(3):
            tree.post_message(events.MouseScrollDown(tree, 50, 5, 0, 1, 0, False, False, False))
        await settle(pilot)
        assert tree.scroll_offset.y > 0


async def test_resize_to_80x24_and_tiny(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        text = screen_text(app)
        assert "Layers" in text and "Current Layer Contents" in text
        assert not tree_of(app).attributes_shown  # a 40-column tree leaves the attributes out
        await pilot.press("tab", "down", "space")
        await pilot.resize_terminal(20, 5)
        await settle(pilot)
        await pilot.press("down", "tab", "down", "ctrl+a")
        await settle(pilot)
        screen_text(app)
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert tree_of(app).attributes_shown


async def test_help_screen_lists_keys_and_legend(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in (
            "Collapse dir",
            "Aggregated changes",
            "^n",
            "Modified",
            "added",
            "removed",
            "modified",
            "unchanged",
            "Filter",
            "Collapse all",
        ):
            assert expected in text, expected
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_command_palette_lists_every_action(demo: Analysis) -> None:
    from dive_py.ui.commands import explorer_actions

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        actions = {f"{e.pane}: {e.description}" for e in explorer_actions(app)}
        for expected in (
            "Layers: Layer changes",
            "Layers: Aggregated changes",
            "File tree: Collapse dir",
            "File tree: Sort",
            "File tree: Added",
            "File tree: Removed",
            "File tree: Modified",
            "File tree: Unmodified",
            "File tree: Attributes",
            "Screen: Filter",
            "App: Quit",
            "App: Help",
        ):
            assert expected in actions, expected
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sort")
        await pilot.pause(0.3)
        assert "File tree: Sort" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert tree_of(app).model.sort is SortOrder.SIZE


async def test_keymap_from_config(demo: Analysis) -> None:
    config = ExplorerConfig(keymap={"toggle-sort-order": "s", "compare-all": "ctrl+g"})
    app = make_app(demo, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 2)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert app.screen.shown == (2, CompareMode.AGGREGATED)  # type: ignore[attr-defined]
        await pilot.press("tab", "s")
        await settle(pilot)
        assert tree_of(app).model.sort is SortOrder.SIZE


async def test_attributes_off_from_config_and_pane_width(demo: Analysis) -> None:
    app = make_app(demo, config=ExplorerConfig(show_attributes=False, pane_width=0.7))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not tree_of(app).show_attributes
        assert tree_of(app).size.width > 100


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quit_keys(demo: Analysis, key: str) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_suspend_is_harmless_headless(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.is_running


async def test_half_a_million_entries_render(demo: Analysis) -> None:
    """A 505,000-entry tree, fully expanded, mounts, pages, collapses and filters."""
    from dive_py.domain.compare import CompareMode as Mode
    from tests.ui.test_tree_rows import big_tree

    big = big_tree()

    class BigAnalysis(Analysis):
        def compared_tree(self, index: int, mode: Mode, stop=None):  # type: ignore[override]
            return big

    app = make_app(BigAnalysis(image=demo.image, efficiency=demo.efficiency))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = tree_of(app)
        assert len(tree.model) == 505_000
        assert tree.virtual_size.height == 505_000
        await pilot.press("tab", "end")
        await pilot.pause()
        assert tree.cursor_path == "/d04999/f099"
        assert "f099" in screen_text(app)
        await pilot.press("h", "space")
        await pilot.pause()
        assert len(tree.model) == 504_900
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        path = tree.cursor_path
        assert path is not None and path.startswith("/d04998/f")
        assert path.rpartition("/")[2] in screen_text(app)


def _row_line(app: DiveApp, name: str) -> str:
    """The screen line of the tree row named ``name`` (the first one)."""
    return next(line for line in screen_text(app).splitlines() if f"── {name} " in line + " ")


async def test_hiding_unmodified_sizes_directories_by_their_shown_rows(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        await pilot.press("tab")
        view = tree_of(app)
        usr = view.model.find_node("/usr")
        assert usr is not None
        full = usr.size
        assert f" {format_bytes(full)} " in _row_line(app, "usr")
        await pilot.press("ctrl+u")
        await settle(pilot)
        model = view.model
        kids = model.children(usr)
        shown = model.shown_size(usr)
        assert kids and shown == sum(model.shown_size(kid) for kid in kids)
        assert 0 < shown < full and usr.size == full
        assert f" {format_bytes(shown)} " in _row_line(app, "usr")
        row = model.index_of_path("/usr")
        assert row is not None
        view.cursor_line = row
        await settle(pilot)
        path_line = f"{format_bytes(shown)} shown of {format_bytes(full)}"
        assert path_line in screen_text(app)
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert view.model.shown_size(usr) == full
        assert f" {format_bytes(full)} " in _row_line(app, "usr")
        assert "shown of" not in screen_text(app)


async def test_a_filter_sizes_directories_by_their_shown_rows(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await goto_layer(pilot, 3)
        view = tree_of(app)
        root = view.model.find_node("/root")
        assert root is not None
        full = root.size
        await pilot.press("slash", *"-[01].whl$", "enter")  # 2 of the 6 wheels
        await settle(pilot)
        model = view.model
        kids = model.children(root)
        shown = model.shown_size(root)
        assert kids and shown == sum(model.shown_size(kid) for kid in kids)
        whls = [node.size for node in model.nodes if node.name.endswith(".whl")]
        assert shown == sum(whls) and 0 < shown < full
        assert f" {format_bytes(shown)} " in _row_line(app, "root")
        await pilot.press("ctrl+f")  # open the bar again, then close it: the filter goes
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert view.model.shown_size(root) == full
        assert f" {format_bytes(full)} " in _row_line(app, "root")


async def test_base_layer_label_and_tags(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # issue 11: the base layer reads FROM <base image> (or FROM <short id>), not "(no command)";
    # Image Details list the tags, all of them in the tooltip; --json keeps dive's command
    import json

    from dive_py.domain.export_json import render_json
    from tests.ui.tagged_image import BASE_NAME, TAGS, tagged_analysis

    for labelled in (True, False):
        analysis = tagged_analysis(tmp_path, labelled=labelled)
        short = analysis.image.layers[0].id[:15]
        app = make_app(analysis)
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            assert "(no command)" not in text
            assert (f"FROM {BASE_NAME}" if labelled else f"FROM {short}") in text
            assert f"Tags: {TAGS[0]}," in text and f"{TAGS[1]}, {TAGS[2]}" in text  # (wrapped)
            summary = app.screen.query_one("#image-summary")
            assert f"Tags: {', '.join(TAGS)}" in str(summary.tooltip)
        assert json.loads(render_json(analysis))["layer"][0]["command"] == ""
