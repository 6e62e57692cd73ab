"""SVG snapshot tests of the explorer (pytest-textual-snapshot): both compare modes, filter open."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.ui import details
from dive_py.ui.app import make_app
from tests.ui.conftest import settle

SIZE = (140, 40)
NOW = datetime(2024, 5, 22, 12, 0, tzinfo=timezone.utc)
"""The time the snapshots are taken at: 21 days after the demo image's steps ("a month ago")."""


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(details, "now_utc", lambda: NOW)


async def _wait(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)


def _steps(*keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _wait(pilot)
        for key in keys:
            await pilot.press(key)
            await _wait(pilot)

    return run_before


class TestMainScreen:
    def test_layer_changes(self, snap_compare, demo: Analysis) -> None:
        app = make_app(demo)
        assert snap_compare(
            app, terminal_size=SIZE, run_before=_steps("down", "down", "down", "tab")
        )

    def test_aggregated_changes(self, snap_compare, demo: Analysis) -> None:
        app = make_app(demo)
        assert snap_compare(
            app, terminal_size=SIZE, run_before=_steps("down", "down", "down", "down", "ctrl+a")
        )

    def test_filter_open(self, snap_compare, demo: Analysis) -> None:
        app = make_app(demo)
        assert snap_compare(
            app, terminal_size=SIZE, run_before=_steps("down", "down", "down", "slash", *"py$")
        )

    def test_small_terminal(self, snap_compare, demo: Analysis) -> None:
        app = make_app(demo)
        assert snap_compare(app, terminal_size=(80, 24), run_before=_steps("down", "down"))

    def test_long_paths_path_line(self, snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """A deep file under the cursor: its row within the indent budget, its full path in
        the path line (issue 11)."""
        from tests.ui.long_paths import DEEP_FILE, long_path_analysis

        app = make_app(long_path_analysis(tmp_path))

        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _wait(pilot)
            pilot.app.screen.jump_to(DEEP_FILE)
            await _wait(pilot)

        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)

    def test_long_paths_wrapped(self, snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """The wrap toggle: the long name and the link target on several lines."""
        from tests.ui.long_paths import LINK, long_path_analysis

        app = make_app(long_path_analysis(tmp_path))

        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await _wait(pilot)
            pilot.app.screen.jump_to(LINK)
            await _wait(pilot)
            await pilot.press("w")
            await _wait(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class TestBaseLayerAndTags:
    """Issue 11: the base layer reads ``FROM <base image>`` (label) or ``FROM <short id>``;
    Image Details list the repo tags (shortened in a small terminal)."""

    def test_base_name_and_tags(self, snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
        from tests.ui.tagged_image import tagged_analysis

        app = make_app(tagged_analysis(tmp_path, labelled=True))
        assert snap_compare(app, terminal_size=(160, 45), run_before=_steps())

    def test_short_id_and_tags_small_terminal(self, snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
        from tests.ui.tagged_image import tagged_analysis

        app = make_app(tagged_analysis(tmp_path, labelled=False))
        assert snap_compare(app, terminal_size=(80, 24), run_before=_steps())
