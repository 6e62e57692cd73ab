"""Every key honest (issue 11): a remapped key is shown and works everywhere, the old one is gone;
the palette and the help screen list each action once; every list pane moves with j/k."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from dive_py.domain.analysis import Analysis
from dive_py.explorer_config import load_explorer_config
from dive_py.ui.app import make_app
from dive_py.ui.commands import explorer_actions
from dive_py.ui.details_scroll import DetailsScroll
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.key_table import DEFAULT_KEYS
from dive_py.ui.main_screen import MainScreen
from tests.ui.conftest import screen_text, settle

SIZE = (160, 48)


def _config(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "dive.yaml"
    path.write_text(text)
    return load_explorer_config(str(path), {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS)


def _footer(app) -> str:  # type: ignore[no-untyped-def]
    return screen_text(app).splitlines()[-1]


async def test_quit_remapped_to_ctrl_x_is_the_only_quit_key(demo: Analysis, tmp_path: Path) -> None:
    # found by a new user: the footer kept ^q and ctrl+q still quit
    app = make_app(demo, config=_config(tmp_path, "keybinding:\n  quit: ctrl+x\n"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = _footer(app)
        assert "^x Quit" in footer and "q Quit" not in footer, footer
        for old in ("ctrl+q", "q", "ctrl+c"):
            await pilot.press(old)
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, MainScreen), old
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_quit_remapped_to_a_letter_disables_ctrl_c(demo: Analysis, tmp_path: Path) -> None:
    app = make_app(demo, config=_config(tmp_path, "keybinding:\n  quit: x\n"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "x Quit" in _footer(app)
        for old in ("ctrl+c", "ctrl+q", "q"):
            await pilot.press(old)
            await pilot.pause()
            assert app.is_running, old
        quit_keys = [e.keys for e in explorer_actions(app) if e.description == "Quit"]
        assert quit_keys == ["x"]
        await pilot.press("x")
        await pilot.pause()
        assert not app.is_running


async def test_help_text_and_palette_follow_a_remap(demo: Analysis, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "keybinding:\n  compare-all: ctrl+g\n  compare-layer: ctrl+y\n"
        "  toggle-modified-files: ctrl+k\n",
    )
    app = make_app(demo, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Aggregated changes (^g in Layers)" in text
        assert "Layer changes (^y in Layers)" in text
        assert "divepy uses ^k" in text
        assert "ctrl+a" not in text and "^a in Layers" not in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"aggregated")
        await pilot.pause(0.5)
        assert "keys: ^g" in screen_text(app)


async def test_palette_lists_each_command_once_without_cursor_moves(demo: Analysis) -> None:
    # found by a new user: "Layers: Up (↑, k)" beside "keys: ↑, k", and Up/Down as commands
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.5)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"layers")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "Layers: Aggregated changes" in text
        assert "(^a)" not in text  # the keys appear once, in the help line
        assert text.count("keys: ^a") == 1, text
        assert "Layers: Up" not in text and "Layers: Page down" not in text
        names = [f"{e.pane}: {e.description}" for e in explorer_actions(app, moves=False)]
        assert len(names) == len(set(names))
        assert not any(name.endswith((": Up", ": Down", ": Page up")) for name in names)


async def test_help_screen_lists_each_binding_once(demo: Analysis) -> None:
    # found by a new user: "tab Switch pane" twice; Up/Down once per pane
    app = make_app(demo)
    async with app.run_test(size=(160, 120)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = "\n".join(screen_text(app).splitlines()[:-1])  # (the footer left out)
        assert text.count("Switch pane") == 1, text
        assert text.count("Page down") == 1, text
        assert text.count("Quit") == 1 and "q, ^c" in text


async def test_j_and_k_scroll_layer_details(demo: Analysis) -> None:
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        details = app.screen.query_one("#layer-details", DetailsScroll)
        details.focus()
        await pilot.pause()
        assert details.max_scroll_y > 0
        await pilot.press("j", "j")
        await pilot.pause()
        assert details.scroll_y == 2
        await pilot.press("k")
        await pilot.pause()
        assert details.scroll_y == 1
