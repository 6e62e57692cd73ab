"""Fixtures for the explorer tests: the demo image analysed once, small archives, screen text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.sources import open_image


@pytest.fixture(autouse=True)
def _no_animation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def demo_analysis(tmp_dir: Path) -> Analysis:
    """Analyse divepy's demo image (python-hello-world like), written into ``tmp_dir``."""
    from dive_py.domain.demo_image import write_demo_archive

    return analyse(open_image(write_demo_archive(str(tmp_dir)), source="docker-archive"))


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    """The demo image, analysed once (the explorer only reads it; trees are cached inside)."""
    return demo_analysis(tmp_path_factory.mktemp("demo"))


def archive_analysis(tmp_path: Path, layers: list, name: str = "img.tar") -> Analysis:
    """Analyse a tiny docker-archive built with tests/image_builder.py."""
    from tests.image_builder import ImageSpec, docker_archive

    path = tmp_path / name
    path.write_bytes(docker_archive(ImageSpec(layers=layers)))
    return analyse(open_image(str(path), source="docker-archive"))


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """Return the current screen as plain text (what a user sees, without colours)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until tree workers (and background preparation) finished and were applied."""
    await pilot.pause()
    while any(worker.is_running for worker in pilot.app.workers):
        await pilot.pause(0.01)  # (wait_for_complete raises for a worker cancelled meanwhile)
    await pilot.pause()
    await pilot.pause()
