"""Every name readable (issue 11): the path line, the indent budget, the wrap toggle, sideways
scrolling of the tree and of the inefficient files list, link targets."""

from __future__ import annotations

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.app import make_app
from dive_py.ui.details import InefficientTable
from dive_py.ui.main_screen import MainScreen
from dive_py.ui.path_line import PathLine
from tests.ui.conftest import screen_text, settle
from tests.ui.long_paths import (
    DEEP_FILE,
    HARDLINK,
    LINK,
    LINK_TARGET,
    LONG_FILE,
    LONG_NAME,
    long_path_analysis,
)


@pytest.fixture(scope="module")
def long_paths(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return long_path_analysis(tmp_path_factory.mktemp("long"))


def _path_line(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#path-line", PathLine).render())


def _flat(text: str) -> str:
    """The screen text with line breaks and the panes' borders removed (wrapped text joins)."""
    return "".join(line.strip("│ ") for line in text.splitlines())


async def _select(pilot, path: str) -> MainScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    assert screen.jump_to(path)
    await settle(pilot)
    return screen


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@pytest.mark.parametrize("path", [DEEP_FILE, LONG_FILE])
async def test_path_line_shows_the_full_path(
    long_paths: Analysis, size: tuple[int, int], path: str
) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=size) as pilot:
        await _select(pilot, path)
        assert _path_line(app) == path
        width = app.screen.query_one("#path-line").content_size.width
        flat = "".join(
            line[-width - 2 : -1].strip() for line in screen_text(app).splitlines() if line
        )
        assert path in flat  # on screen, wrapped when needed


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (LINK, f"{LINK} → {LINK_TARGET} (symlink)"),
        (HARDLINK, f"{HARDLINK} → {LONG_FILE.lstrip('/')} (hard link)"),
    ],
)
async def test_path_line_shows_link_targets(long_paths: Analysis, path: str, shown: str) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await _select(pilot, path)
        assert _path_line(app) == shown


async def test_deep_rows_keep_a_readable_name_with_attributes(long_paths: Analysis) -> None:
    """At 120x40 with attributes a depth-12 row had no name at all (issue 11)."""
    app = make_app(long_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _select(pilot, DEEP_FILE)
        assert screen.tree_view.attributes_shown
        name = DEEP_FILE.rpartition("/")[2]
        rows = [line for line in screen_text(app).splitlines() if name[:10] in line]
        assert len(rows) == 2, rows  # the tree row and the path line
        assert name[:12] in rows[0], rows[0]
        await pilot.press("ctrl+b")  # attributes hidden: the name gets the pane
        await settle(pilot)
        rows = [line for line in screen_text(app).splitlines() if name[:10] in line]
        assert name[:20] in rows[0], rows[0]


async def test_wrap_toggle_shows_whole_names(long_paths: Analysis) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _select(pilot, LONG_FILE)
        view = screen.tree_view
        tail = LONG_NAME[-30:]
        assert tail not in _flat(screen_text(app).split("╰")[0])  # cut at the pane's edge
        await pilot.press("w")
        await settle(pilot)
        assert view.wrap
        top = int(view.scroll_offset.y)
        assert top <= view.cursor_line
        tree_text = "\n".join(line[61:] for line in screen_text(app).splitlines())
        assert tail in _flat(tree_text)
        assert "wrapped" in str(screen.query_one("#tree-pane").border_subtitle)
        await pilot.press("w")
        await settle(pilot)
        assert not view.wrap


async def test_wrap_key_follows_dives_config_key(long_paths: Analysis) -> None:
    config = ExplorerConfig(keymap={"toggle-wrap-tree": "ctrl+y"})
    app = make_app(long_paths, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _select(pilot, LONG_FILE)
        await pilot.press("w")
        await settle(pilot)
        assert not screen.tree_view.wrap  # the default key no longer wraps
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert screen.tree_view.wrap


async def test_wrapped_cursor_row_stays_in_view(long_paths: Analysis) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _select(pilot, LONG_FILE)
        view = screen.tree_view
        await pilot.press("w", "end")
        await settle(pilot)
        for _ in range(40):
            await pilot.press("up")
        await settle(pilot)
        for _ in range(45):
            await pilot.press("down")
            lines = view._page_lines(int(view.scroll_offset.y))
            assert view.cursor_line in {row for row, _ in lines}


async def test_tree_scrolls_sideways_with_the_keyboard(long_paths: Analysis) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _select(pilot, LONG_FILE)
        view = screen.tree_view
        assert view.scroll_offset.x == 0
        await pilot.press("shift+right", "shift+right")
        await settle(pilot)
        assert view.scroll_offset.x == 16
        assert LONG_NAME[20:40] in screen_text(app)
        await pilot.press("shift+left")
        await settle(pilot)
        assert view.scroll_offset.x == 8


async def test_inefficient_files_scroll_sideways_with_the_keyboard(long_paths: Analysis) -> None:
    app = make_app(long_paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#inefficient", InefficientTable)
        table.focus()
        await pilot.press("down")
        await pilot.press("shift+right", "shift+right", "shift+right")
        await settle(pilot)
        assert table.scroll_offset.x == 24
        await pilot.press("shift+left")
        await settle(pilot)
        assert table.scroll_offset.x == 16
