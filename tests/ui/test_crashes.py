"""Survives a user who presses anything (issue 11): the palette's page keys, and what a crash does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hits, Provider

from dive_py.domain.analysis import Analysis
from dive_py.ui import launch
from dive_py.ui.app import DiveApp
from dive_py.ui.main_screen import MainScreen
from tests.ui.conftest import settle
from tests.ui.test_launch import _headless, args


class SlowCommands(Provider):
    """A provider slower than the palette's 0.25 s batch: commands arrive, the search goes on."""

    async def discover(self) -> Hits:
        for number in range(30):
            yield DiscoveryHit(f"slow {number}", lambda: None)
        await asyncio.sleep(0.4)
        yield DiscoveryHit("slow last", lambda: None)
        await asyncio.sleep(1.0)

    async def search(self, query: str) -> Hits:
        for hit in ():
            yield hit


class SlowPaletteApp(DiveApp):
    CSS_PATH: ClassVar[str] = str(Path(__file__).resolve().parents[2] / "dive_py/ui/app.tcss")
    COMMANDS = DiveApp.COMMANDS | {SlowCommands}


@pytest.mark.parametrize("key", ["pagedown", "pageup"])
async def test_page_keys_while_the_palette_still_loads(demo: Analysis, key: str) -> None:
    # found by a random-key soak: KeyError in Textual's OptionList._move_page (Textual 8.2.8)
    app = SlowPaletteApp(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.6)
        commands = app.screen.query_one(CommandList)
        assert commands.option_count and commands.highlighted == 0  # listed, not yet laid out
        await pilot.press(key, key)
        await pilot.pause(1.2)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("pagedown", "pageup")  # once drawn, pages as usual
        await pilot.pause()
        assert app.screen.query_one(CommandList).highlighted is not None


def test_a_crash_in_the_explorer_is_reraised_after_the_app_ends(
    monkeypatch: pytest.MonkeyPatch, demo: Analysis
) -> None:
    # found by a soak: after an unhandled exception the process exited 0 with a traceback
    def boom(self: MainScreen) -> None:
        raise RuntimeError("boom in an action")

    monkeypatch.setattr(MainScreen, "action_toggle_filter", boom)

    async def press_filter(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(pilot.app.screen, MainScreen):
                break
        await settle(pilot)
        await pilot.press("slash")

    _headless(monkeypatch, press_filter)
    with pytest.raises(RuntimeError, match="boom in an action"):
        launch.run_explorer(lambda progress: demo, args(), {})


CRASHING_CLI = """
import sys
from dive_py.ui import launch
from dive_py.ui.app import DiveApp
from dive_py.ui.main_screen import MainScreen
from dive_py import cli

def boom(self):
    raise RuntimeError("boom in an action")

MainScreen.action_toggle_filter = boom
launch._has_terminal = lambda: True
original = DiveApp.run

async def press_filter(pilot):
    for _ in range(200):
        await pilot.pause(0.05)
        if isinstance(pilot.app.screen, MainScreen):
            break
    await pilot.pause(0.2)
    await pilot.press("slash")

DiveApp.run = lambda self, *a, **kw: original(self, headless=True, size=(100, 30),
                                               auto_pilot=press_filter)
sys.exit(cli.main(["--demo", *sys.argv[1:]]))
"""


@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_exits_70_with_one_line(tmp_path: Path, debug: bool) -> None:
    env = {"HOME": str(tmp_path), "DIVEPY_CACHE_DIR": str(tmp_path / "cache"), "PATH": ""}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_CLI, *(["--debug"] if debug else [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    if debug:
        assert result.returncode == 1  # Python's own exit for an uncaught exception
        assert "Traceback" in result.stderr and "boom in an action" in result.stderr
        return
    assert result.returncode == 70, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "divepy: internal error: RuntimeError: boom in an action - rerun with --debug and report it"
    ], result.stderr
