"""Tests of run_explorer: loading view with progress, errors re-raised after the app exits."""

from __future__ import annotations

import argparse
import threading

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.errors import ImageNotFoundError
from dive_py.ui import launch
from dive_py.ui.app import DiveApp
from dive_py.ui.loading_screen import LoadingScreen
from dive_py.ui.main_screen import MainScreen
from tests.ui.conftest import screen_text, settle


def args(**kw: object) -> argparse.Namespace:
    base = {"image": "python-hello-world", "config": None, "demo": False}
    base.update(kw)
    return argparse.Namespace(**base)


async def test_loading_view_shows_progress_then_the_explorer(demo: Analysis) -> None:
    release = threading.Event()

    def load(progress):  # type: ignore[no-untyped-def]
        progress.message("Pulling python-hello-world")
        progress.pull("abcdef0123456789", "Downloading", 1_500_000, 3_000_000)
        progress.read(2_500_000, 3)
        release.wait(10)
        return demo

    app = DiveApp(None, image_name="python-hello-world", loader=load)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        assert isinstance(app.screen, LoadingScreen)
        text = screen_text(app)
        assert "Pulling python-hello-world" in text
        assert "abcdef012345: Downloading 1.5 MB / 3.0 MB" in text
        assert "Read 2.5 MB, 3 layers" in text
        release.set()
        for _ in range(50):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "Efficiency score:" in screen_text(app) and "python-hello-world" in screen_text(app)


def _headless(monkeypatch: pytest.MonkeyPatch, auto_pilot=None) -> None:  # type: ignore[no-untyped-def]
    original = DiveApp.run

    def run(self, *a, **kw):  # type: ignore[no-untyped-def]
        return original(self, headless=True, size=(100, 30), auto_pilot=auto_pilot)

    monkeypatch.setattr(DiveApp, "run", run)
    monkeypatch.setattr(launch, "_has_terminal", lambda: True)


def test_run_explorer_reraises_load_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _headless(monkeypatch)

    def load(progress):  # type: ignore[no-untyped-def]
        raise ImageNotFoundError("image 'nope' not found", "pull it first")

    with pytest.raises(ImageNotFoundError, match="nope"):
        launch.run_explorer(load, args(image="nope"), {})


def test_run_explorer_returns_zero_on_quit(monkeypatch: pytest.MonkeyPatch, demo: Analysis) -> None:
    async def quit_when_shown(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(pilot.app.screen, MainScreen):
                break
        await settle(pilot)
        await pilot.press("q")

    _headless(monkeypatch, quit_when_shown)
    assert launch.run_explorer(lambda progress: demo, args(), {}) == 0


def test_quit_while_loading_is_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    async def quit_now(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause(0.1)
        await pilot.press("ctrl+c")

    _headless(monkeypatch, quit_now)
    never = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        launch.run_explorer(lambda progress: never.wait(30), args(), {})
    never.set()


def test_without_terminal_errors_come_before_any_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "_has_terminal", lambda: False)
    started = []
    monkeypatch.setattr(DiveApp, "run", lambda self, *a, **kw: started.append(self))

    def load(progress):  # type: ignore[no-untyped-def]
        raise ImageNotFoundError("image 'nope' not found")

    with pytest.raises(ImageNotFoundError):
        launch.run_explorer(load, args(image="nope"), {})
    assert started == []


def test_bad_config_fails_before_the_app_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dive_py.errors import UsageError

    bad = tmp_path / "bad.yaml"
    bad.write_text("filetree:\n  pane-width: 3\n")
    with pytest.raises(UsageError):
        launch.run_explorer(lambda progress: None, args(config=str(bad)), {})  # type: ignore[arg-type,return-value]


def test_without_terminal_the_explorer_is_refused_after_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # found by a new user: with stdout redirected the app drew into the file and spun forever
    from dive_py.errors import UsageError

    monkeypatch.setattr(launch, "_has_terminal", lambda: False)
    started = []
    monkeypatch.setattr(DiveApp, "run", lambda self, *a, **kw: started.append(self))
    loaded = []
    with pytest.raises(UsageError, match="needs a terminal"):
        launch.run_explorer(lambda progress: loaded.append(1), args(image="x"), {})  # type: ignore[arg-type,return-value]
    assert loaded == [1] and started == []
