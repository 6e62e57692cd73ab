"""The explorer's container side: the read/write and shared marks in the layers pane, the list
of containers one key away (engine sources only), opening one through the loading screen.

The container is the one recorded in tests/fixtures/containers/ (tests/container_recording.py):
no engine needed. The Engine API side is covered by tests/engine/test_containers.py.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.domain.container_layer import ContainerInfo
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.image_containers import container_summary
from dive_py.errors import ImageNotFoundError
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui import details
from dive_py.ui.app import make_app
from dive_py.ui.containers_screen import ContainersScreen
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.key_table import DEFAULT_KEYS
from dive_py.ui.layers_table import READ_WRITE_MARK, SHARED_MARK
from dive_py.ui.main_screen import MainScreen
from tests.container_recording import RecordedContainers, recorded_container
from tests.ui.conftest import screen_text, settle

SIZE = (140, 40)
NOW = datetime(2024, 5, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(details, "now_utc", lambda: NOW)


@pytest.fixture(scope="module")
def web(demo: Analysis) -> Analysis:
    return recorded_container(demo)


async def _until(pilot, screen_type: type) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        await settle(pilot)
        if isinstance(pilot.app.screen, screen_type):
            return
    raise AssertionError(f"no {screen_type.__name__}: {pilot.app.screen!r}")


def _command_cell(app: Any, layer: int) -> str:
    table = app.screen.layers_table
    row = table.row_of_layer(layer)
    return str(table.get_row_at(row)[2])


async def test_read_write_layer_is_marked_and_styled(web: Analysis) -> None:
    app = make_app(web)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        top = web.container.layer_index  # type: ignore[union-attr]
        cell = app.screen.layers_table.get_row_at(app.screen.layers_table.row_of_layer(top))[2]
        assert str(cell).startswith(READ_WRITE_MARK + "container web (read/write)")
        style = app.screen.layers_table.get_component_rich_style("layers--read-write", partial=True)
        assert cell.spans and cell.spans[0].style == style  # a theme style, not colour alone
        assert style.bold


async def test_shared_layers_carry_a_compact_mark(web: Analysis) -> None:
    app = make_app(web)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert _command_cell(app, 0).startswith(SHARED_MARK)  # python:3.12-slim holds it
        assert not _command_cell(app, 1).startswith(SHARED_MARK)
        assert "Shared with 1 image: python:3.12-slim" in screen_text(app)


async def test_an_image_without_engine_facts_has_no_marks(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for layer in range(len(demo.image.layers)):
            cell = _command_cell(app, layer)
            assert not cell.startswith((SHARED_MARK, READ_WRITE_MARK))


async def test_containers_key_is_absent_without_an_engine(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Containers" not in screen_text(app)  # not in the footer
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Containers" not in screen_text(app)


async def test_containers_key_lists_the_containers_of_the_image(demo: Analysis) -> None:
    catalog = RecordedContainers(demo)
    app = make_app(demo, containers=catalog)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Containers" in screen_text(app)  # in the footer
        await pilot.press("c")
        await _until(pilot, ContainersScreen)
        await settle(pilot)
        text = screen_text(app)
        assert catalog.listed == [demo.image.image_id]
        assert "Containers of" in text
        assert "web" in text and "exited" in text and "2 hours ago" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert catalog.opened == []


async def test_help_and_palette_list_the_containers_key(demo: Analysis) -> None:
    from dive_py.ui.commands import explorer_actions

    app = make_app(demo, containers=RecordedContainers(demo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        entries = [e for e in explorer_actions(app, moves=False) if e.description == "Containers"]
        assert [(e.pane, e.keys) for e in entries] == [("App", "c")]
        assert "containers" in DEFAULT_KEYS


async def test_opening_a_container_reloads_the_explorer_on_it(demo: Analysis) -> None:
    catalog = RecordedContainers(demo)
    app = make_app(demo, containers=catalog)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await _until(pilot, ContainersScreen)
        await settle(pilot)
        await pilot.press("enter")
        await _until(pilot, MainScreen)
        assert catalog.opened == ["web"]
        assert app.analysis is not None and app.analysis.container is not None
        assert app.image_name == "container://web"
        await pilot.press("end")
        await settle(pilot)
        text = screen_text(app)
        assert "Read/write layer of container web (exited)" in text
        assert "container://web" in text


async def test_a_container_that_cannot_be_read_returns_to_the_image(demo: Analysis) -> None:
    class Gone(RecordedContainers):
        def loader(self, name: str):  # type: ignore[no-untyped-def]
            def load(progress: ProgressListener) -> Analysis:
                raise ImageNotFoundError(f"container {name} is not in the engine", "docker ps -a")

            return load

    app = make_app(demo, containers=Gone(demo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await _until(pilot, ContainersScreen)
        await settle(pilot)
        await pilot.press("enter")
        await _until(pilot, MainScreen)
        assert app.analysis is demo
        assert app.load_error is None and app.is_running
        messages = [notification.message for notification in app._notifications]
        assert messages == ["container web is not in the engine - docker ps -a"]


async def test_the_containers_key_can_be_remapped(demo: Analysis) -> None:
    config = ExplorerConfig(keymap={"containers": "x"})
    app = make_app(demo, config=config, containers=RecordedContainers(demo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await _until(pilot, ContainersScreen)


async def test_no_container_of_the_image_says_so(demo: Analysis) -> None:
    app = make_app(demo, containers=RecordedContainers(demo, containers=[]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await _until(pilot, ContainersScreen)
        await settle(pilot)
        assert "No container uses this image" in screen_text(app)
        await pilot.press("enter")  # nothing to open
        await settle(pilot)
        assert isinstance(app.screen, ContainersScreen)


def test_engine_entries_become_container_facts() -> None:
    item = {
        "Id": "a" * 64,
        "Names": ["/web"],
        "Image": "app:1",
        "ImageID": "sha256:" + "1" * 64,
        "State": "running",
        "Created": 1716372000,
    }
    assert container_summary(item) == ContainerInfo(
        "a" * 64, "web", "app:1", "sha256:" + "1" * 64, "running", "2024-05-22T10:00:00Z"
    )
    assert container_summary({"Id": "b", "Names": []}) is None


def test_snapshot_read_write_layer(snap_compare, web: Analysis) -> None:  # type: ignore[no-untyped-def]
    """The recorded container's read/write layer selected: RW mark, copy-on-write figures,
    its changes in the tree (what the README's screenshot shows)."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)

    assert snap_compare(make_app(web), terminal_size=SIZE, run_before=run_before)
