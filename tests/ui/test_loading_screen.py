"""The loading screen says what is happening and how far along it is (issue 11)."""

from __future__ import annotations

import threading

from textual.widgets import ProgressBar

from dive_py.domain.analysis import Analysis
from dive_py.ui.app import DiveApp
from dive_py.ui.loading_screen import LoadingScreen, LoadProgress
from tests.ui.conftest import screen_text


async def test_waiting_for_the_export_then_bytes_and_layers_of_the_total(demo: Analysis) -> None:
    # found by a new user: "Read 0 B, 0 layers" for seconds while the engine prepared the export
    exporting, reading, release = threading.Event(), threading.Event(), threading.Event()

    def load(progress):  # type: ignore[no-untyped-def]
        progress.message("Reading python-hello-world from the engine at unix:///x.sock")
        progress.expect(12_000_000, 6)
        progress.waiting("the engine to export the image")
        exporting.wait(10)
        progress.read(3_000_000, 1)
        reading.wait(10)
        progress.read(9_000_000, 4)
        release.wait(10)
        return demo

    app = DiveApp(None, image_name="python-hello-world", loader=load)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        assert isinstance(app.screen, LoadingScreen)
        text = screen_text(app)
        assert "Waiting for the engine to export the image" in text
        assert "Read 0 B of 12 MB, 0 of 6 layers" in text
        assert "Elapsed 0:0" in text
        exporting.set()
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Waiting for" not in text
        assert "Read 3.0 MB of 12 MB, 1 of 6 layers" in text
        bar = app.screen.query_one(ProgressBar)
        assert bar.percentage is not None and round(bar.percentage * 100) == 25
        reading.set()
        await pilot.pause(0.3)
        assert "Read 9.0 MB of 12 MB, 4 of 6 layers" in screen_text(app)
        assert round((app.screen.query_one(ProgressBar).percentage or 0) * 100) == 75
        release.set()


def test_one_layer_is_singular_and_totals_are_optional() -> None:
    clock = iter([100.0, 107.5])
    progress = LoadProgress(clock=lambda: next(clock))
    progress.read(1_500, 1)
    text = progress.render("img").plain
    assert "Read 1.5 kB, 1 layer\n" in text and "1 layers" not in text
    assert "Elapsed 0:07" in text
    assert progress.bar() == (None, 0.0)  # no total known: an indeterminate bar


def test_an_archive_reports_its_size_on_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dive_py.domain.demo_image import write_demo_archive
    from dive_py.domain.sources import open_image

    path = write_demo_archive(str(tmp_path))
    progress = LoadProgress()
    open_image(path, source="docker-archive", progress=progress)
    size = (tmp_path / path.split("/")[-1]).stat().st_size
    assert progress.total_bytes == size
    assert 0 < progress.bytes_read <= size
