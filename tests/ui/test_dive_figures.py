"""Every figure and row what a dive user expects (issue 11): the aggregated view keeps what
the compared layers wrote and deleted again (red, as dive shows it)."""

from __future__ import annotations

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.ui.app import make_app
from tests.ui.conftest import screen_text, settle


async def test_aggregated_view_shows_the_pip_cache_a_later_layer_deleted(demo: Analysis) -> None:
    """The demo's layer 3 writes a pip cache that layer 4 deletes: in aggregated mode at the
    top layer the cache is listed, marked removed (it vanished before)."""
    app = make_app(demo)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("end", "ctrl+a")
        await settle(pilot)
        view = pilot.app.screen.tree_view
        assert view.select_path("/root/.cache/pip")
        await settle(pilot)
        node = view.model.find_node("/root/.cache/pip")
        assert node is not None and node.diff is DiffType.REMOVED
        assert node.size > 0
        assert ".cache" in screen_text(pilot.app)
        # hiding removed rows hides it again
        view.focus()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert view.model.index_of_path("/root/.cache") is None
