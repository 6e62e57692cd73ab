"""What keeps the explorer quick on big images: prepared trees, rows on demand, a virtual table.

The timings themselves are measured by ``bench/tui_latency.py``; these tests pin the behaviour
behind them (and that it shows the same thing as before).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
from textual import events

from dive_py.domain.analysis import Analysis
from dive_py.domain.compare import CompareMode
from dive_py.domain.efficiency import InefficientPath
from dive_py.domain.file_tree import StackedStates
from dive_py.ui.app import make_app
from dive_py.ui.details import InefficientTable
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.layers_table import LayersTable
from dive_py.ui.main_screen import PREVIEW_NOTE, MainScreen
from tests.ui.conftest import screen_text, settle

SIZE = (160, 48)


def fresh(demo: Analysis) -> Analysis:
    """The demo image with nothing built yet (the session fixture is shared by all tests)."""
    return Analysis(image=demo.image, efficiency=demo.efficiency)


async def test_neighbouring_layers_and_the_other_mode_are_prepared_after_drawing(
    demo: Analysis,
) -> None:
    analysis = fresh(demo)
    app = make_app(analysis)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert analysis.cached_tree(1, CompareMode.LAYER) is not None
        assert analysis.prepare_state(len(analysis.image.layers) - 1)  # every state stacked
        table = app.screen.query_one(LayersTable)
        table.focus()
        await pilot.press("down")
        # prepared: shown at once, no loading indicator, no worker
        view = app.screen.query_one(FileTreeView)
        assert not view.loading
        assert app.screen.shown == (table.layer_index, CompareMode.LAYER)
        await settle(pilot)
        index = table.layer_index
        assert analysis.cached_tree(index + 1, CompareMode.LAYER) is not None
        assert analysis.cached_tree(index, CompareMode.AGGREGATED) is not None
        await pilot.press("ctrl+a")
        assert app.screen.shown == (index, CompareMode.AGGREGATED) and not view.loading


async def test_prepared_and_built_trees_show_the_same_rows(demo: Analysis) -> None:
    """Moving down (prepared trees) and jumping with End (a tree built on demand) agree."""

    def rows(app) -> list[str]:  # type: ignore[no-untyped-def]
        model = app.screen.query_one(FileTreeView).model
        return [model.row_text(i) for i in range(len(model))]

    last = len(demo.image.layers) - 1
    stepped = make_app(fresh(demo))
    async with stepped.run_test(size=SIZE) as pilot:
        await settle(pilot)
        stepped.screen.query_one(LayersTable).focus()
        for _ in range(last):
            await pilot.press("down")
            await settle(pilot)
        assert stepped.screen.shown == (last, CompareMode.LAYER)
        stepped_rows = rows(stepped)
    jumped = make_app(fresh(demo))
    async with jumped.run_test(size=SIZE) as pilot:
        await settle(pilot)
        jumped.screen.query_one(LayersTable).focus()
        await pilot.press("end")
        await settle(pilot)
        assert jumped.screen.shown == (last, CompareMode.LAYER)
        assert rows(jumped) == stepped_rows


async def test_a_hundred_thousand_inefficient_paths_mount_at_once(demo: Analysis) -> None:
    items = [
        InefficientPath(f"/data/{i:06d}.bin", 2 + i % 3, 1000 - i % 1000) for i in range(100_000)
    ]
    analysis = Analysis(
        image=demo.image, efficiency=dataclasses.replace(demo.efficiency, inefficient=items)
    )
    app = make_app(analysis)
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert time.perf_counter() - start < 20  # a DataTable took minutes for this many rows
        table = app.screen.query_one(InefficientTable)
        assert table.row_count == 100_000
        assert "/data/000000.bin" in screen_text(app)
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 99_999
        assert "/data/099999.bin" in screen_text(app)
        await pilot.press("pageup", "up")
        await pilot.pause()
        assert table.cursor_row < 99_999 - 1
        chosen: list[str] = []
        screen = app.screen
        assert isinstance(screen, MainScreen)
        original = screen.jump_to
        screen.jump_to = lambda path: chosen.append(path) or original(path)  # type: ignore[method-assign]
        await pilot.press("enter")
        await pilot.pause()
        assert chosen == [items[table.cursor_row].path]


async def test_inefficient_table_click_moves_then_chooses(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(InefficientTable)
        await pilot.click(InefficientTable, offset=(3, 0))  # the header: nothing
        assert table.cursor_row == 0
        await pilot.click(InefficientTable, offset=(3, 1))  # the highlighted row: show it
        await settle(pilot)
        assert app.screen.query_one(FileTreeView).cursor_path == "/usr/local/bin/pip"


async def test_every_layer_of_the_shown_mode_is_prepared_from_the_bottom_and_the_top(
    demo: Analysis,
) -> None:
    """The background work prepares every layer's tree of the shown mode, including the layer
    two steps from the bottom or top layer (it skipped that one: a switch to it was built on
    demand)."""
    analysis = fresh(demo)
    layers = len(analysis.image.layers)
    assert layers >= 4
    app = make_app(analysis)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.shown == (0, CompareMode.LAYER)
        missing = [i for i in range(layers) if analysis.cached_tree(i, CompareMode.LAYER) is None]
        assert missing == []
    analysis = fresh(demo)
    app = make_app(analysis)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(LayersTable).focus()
        await pilot.press("end")
        await settle(pilot)
        assert app.screen.shown == (layers - 1, CompareMode.LAYER)
        analysis._trees.clear()  # only what the top layer's preparation builds
        app.screen.query_one(LayersTable).focus()
        await pilot.press("up", "down")  # shown again from the top layer: a new preparation
        await settle(pilot)
        assert app.screen.shown == (layers - 1, CompareMode.LAYER)
        missing = [i for i in range(layers) if analysis.cached_tree(i, CompareMode.LAYER) is None]
        assert missing == []


class _SlowStates(Analysis):
    """An analysis whose stacked states above layer 1 wait for ``release`` (a slow build)."""

    __slots__ = ("release",)

    def prepare_state(self, index, stop=None):  # type: ignore[no-untyped-def]
        if index >= 2:
            assert self.release.wait(30)
        return super().prepare_state(index, stop)


async def test_a_layer_not_prepared_shows_its_own_paths_until_its_tree_is_ready(
    demo: Analysis,
) -> None:
    """A jump to a layer whose state and the one below are not stacked yet shows the layer's
    preview at once (its own paths), then its compared tree."""
    analysis = _SlowStates(image=demo.image, efficiency=demo.efficiency)
    analysis.release = threading.Event()
    app = make_app(analysis)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, MainScreen)
            while analysis.cached_tree(1, CompareMode.LAYER) is None:
                await pilot.pause(0.01)
            table = screen.query_one(LayersTable)
            table.focus()
            await pilot.press("end")
            last = len(analysis.image.layers) - 1
            assert last >= 3 and analysis.states_built <= 2
            while screen.previewed != (last, CompareMode.LAYER):
                await pilot.pause(0.01)
            view = screen.query_one(FileTreeView)
            assert screen.shown == (0, CompareMode.LAYER) and not view.loading
            preview = analysis.layer_preview(last)
            assert _rows(view.model) == _rows(view.model.copy_for(preview.root))
            written = {"/" + path for path in analysis.image.layers[last].contents.entries}
            assert written <= {node.path for node in preview.root.walk()}
            assert PREVIEW_NOTE in str(screen.query_one("#tree-pane").border_subtitle)
            analysis.release.set()
            await settle(pilot)
            assert screen.shown == (last, CompareMode.LAYER) and screen.previewed is None
            assert view.model.root is analysis.compared_tree(last, CompareMode.LAYER).root
            assert PREVIEW_NOTE not in str(screen.query_one("#tree-pane").border_subtitle)
    finally:
        analysis.release.set()


def _rows(model) -> list[str]:  # type: ignore[no-untyped-def]
    return [model.row_text(i) for i in range(len(model))]


def with_states(demo: Analysis) -> Analysis:
    """The demo image with every layer's stacked state, nothing else built (as the explorer's
    own load gives it: ``analyse(keep_states=True)``)."""
    states = StackedStates([layer.contents for layer in demo.image.layers])
    states.state(len(demo.image.layers) - 1)
    return Analysis(image=demo.image, efficiency=demo.efficiency, _states=states)


@pytest.mark.parametrize("key", ["down", "end"])
async def test_the_first_screen_comes_with_the_next_and_top_layers_ready(
    demo: Analysis, monkeypatch, key: str
) -> None:  # type: ignore[no-untyped-def]
    """A ``↓`` or ``end`` right after the first screen finds layer 1's or the top layer's tree
    built (before the background preparation could start), so it is shown at once (issue 11:
    ``end`` right after the first screen took 139–157 ms at 500,000 entries)."""
    analysis = with_states(demo)
    last = len(analysis.image.layers) - 1
    ready_at_first_screen = _ready_at_first_screen(analysis, monkeypatch)
    app = make_app(analysis)
    async with app.run_test(size=SIZE) as pilot:
        while app.screen.shown is None:
            await pilot.pause(0.01)
        assert ready_at_first_screen == [(True, True, len(analysis.image.layers))]
        await pilot.press(key)
        assert app.screen.shown == (1 if key == "down" else last, CompareMode.LAYER)
        assert not app.screen.query_one(FileTreeView).loading
        await settle(pilot)


async def test_without_states_the_first_screen_does_not_stack_every_layer_for_the_top_one(
    demo: Analysis, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """An analysis from the cache comes without states: the first screen then prepares the
    next layer only (stacking every layer for the top layer's tree would cost seconds at
    500,000 entries); the background work does the rest."""
    analysis = fresh(demo)
    ready_at_first_screen = _ready_at_first_screen(analysis, monkeypatch)
    app = make_app(analysis)
    async with app.run_test(size=SIZE) as pilot:
        while app.screen.shown is None:
            await pilot.pause(0.01)
        assert ready_at_first_screen == [(True, False, 2)]
        await settle(pilot)


def _ready_at_first_screen(analysis: Analysis, monkeypatch) -> list[tuple[bool, bool, int]]:  # type: ignore[no-untyped-def]
    """(layer 1's tree built, the top layer's tree built, states stacked) when the first tree
    is shown, recorded into the returned list."""
    last = len(analysis.image.layers) - 1
    seen: list[tuple[bool, bool, int]] = []
    original = MainScreen._tree_ready

    def tree_ready(screen, index, mode, model):  # type: ignore[no-untyped-def]
        if screen.shown is None:
            seen.append(
                (
                    analysis.cached_tree(1, CompareMode.LAYER) is not None,
                    analysis.cached_tree(last, CompareMode.LAYER) is not None,
                    analysis.states_built,
                )
            )
        original(screen, index, mode, model)

    monkeypatch.setattr(MainScreen, "_tree_ready", tree_ready)
    return seen


class _SlowTopTree(Analysis):
    """An analysis whose top layer's compared tree waits for ``release`` (a slow comparison)
    once ``armed`` is set."""

    __slots__ = ("release", "armed")

    def compared_tree(self, index, mode, stop=None):  # type: ignore[no-untyped-def]
        top = index == len(self.image.layers) - 1 and mode is CompareMode.LAYER
        if top and self.armed.is_set():
            assert self.release.wait(30)
        return super().compared_tree(index, mode, stop)


async def test_the_loading_indicator_waits_for_a_slow_tree_only(
    demo: Analysis,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """A tree that is not prepared gets the loading indicator only once it has taken
    LOADING_AFTER_S (most come sooner with every state stacked: no redraws for nothing)."""
    from dive_py.ui import main_screen

    delay = 1.5  # (longer than the default: the checks below must come before it on a busy machine)
    monkeypatch.setattr(main_screen, "LOADING_AFTER_S", delay)
    analysis = _SlowTopTree(image=demo.image, efficiency=demo.efficiency)
    analysis.release = threading.Event()
    analysis.armed = threading.Event()
    last = len(analysis.image.layers) - 1
    while not analysis.prepare_state(last):  # every state stacked, as the explorer's load keeps
        pass
    app = make_app(analysis)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, MainScreen)
            while screen.shown is None:
                await pilot.pause(0.01)
            # (the first screen came with the top layer's tree: drop it, it is slow from now)
            analysis.armed.set()
            analysis._trees.pop((last, CompareMode.LAYER), None)
            view = screen.query_one(FileTreeView)
            screen.query_one(LayersTable).focus()
            started = time.monotonic()
            key = events.Key("end", None)  # as the terminal driver hands it (Pilot.press would
            app.post_message(key)  # wait until the app is idle, past the indicator's delay)
            while screen.query_one(LayersTable).layer_index != last:
                await asyncio.sleep(0.005)
            assert screen.shown == (0, CompareMode.LAYER)  # the top layer's tree is awaited
            assert not view.loading
            while not view.loading:
                await pilot.pause(0.02)
            assert time.monotonic() - started >= delay * 0.9
            assert screen.previewed is None  # every state is there: no preview first
            analysis.release.set()
            await settle(pilot)
            assert screen.shown == (last, CompareMode.LAYER) and not view.loading
    finally:
        analysis.release.set()


async def test_end_selects_the_top_layer_at_once(demo: Analysis) -> None:
    """``end`` (and ``home``) ask for the layer's tree in the key's own handler, not after the
    table's RowHighlighted message (a screen update of the moved cursor came first)."""
    app = make_app(fresh(demo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.query_one(LayersTable)
        last = len(demo.image.layers) - 1
        table.action_last_layer()
        assert table.layer_index == last and screen._wanted in (None, (last, CompareMode.LAYER))
        assert screen.shown == (last, CompareMode.LAYER) or screen._wanted is not None
        table.action_first_layer()
        assert table.layer_index == 0
        await settle(pilot)
        assert screen.shown == (0, CompareMode.LAYER)


async def test_an_awaited_tree_does_not_wait_for_the_background_workers_nap(
    demo: Analysis,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """The background worker naps while keys come (``PREFETCH_IDLE_S``), also inside a build
    that holds the analysis lock; a tree the user asks for wakes it at once (here a nap would
    last 10 s)."""
    from dive_py.ui import main_screen

    monkeypatch.setattr(main_screen, "PREFETCH_IDLE_S", 40.0)
    analysis = fresh(demo)
    last = len(analysis.image.layers) - 1
    app = make_app(analysis)
    app.last_input = time.monotonic()  # a key just came: the background work naps
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        while screen.shown is None:
            await pilot.pause(0.01)
        await pilot.pause(0.2)  # the background worker is napping
        assert analysis.cached_tree(last, CompareMode.LAYER) is None
        screen.query_one(LayersTable).focus()
        started = time.monotonic()
        await pilot.press("end")
        while screen.shown != (last, CompareMode.LAYER) and time.monotonic() - started < 5:
            await pilot.pause(0.01)
        assert screen.shown == (last, CompareMode.LAYER)
        app.last_input = 0.0  # (the rest of the background work may go on)
