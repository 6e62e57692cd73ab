#!/usr/bin/env python3
"""Latency of the file viewer (issue 14): a 1 MiB text file from an uncompressed archive layer,
Enter to shown, through the Pilot; and, with ``--engine``, a final-image file read from the
Docker engine (a container created, read through ``GET /containers/{id}/archive``, removed).

Usage:
    python3 bench/file_viewer_latency.py [--runs 5] [--engine unix:///var/run/docker.sock
        --image IMAGE --path /etc/os-release]

Targets (issue 14): the viewer shows the archive file within 0.3 s; the engine file within 1.5 s.
Prints one markdown table row per measurement (median and max of the runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _archive_analysis(tmp: Path):  # type: ignore[no-untyped-def]
    from dive_py.domain.analysis import analyse
    from dive_py.domain.sources import open_image
    from tests.image_builder import ImageSpec, d, docker_archive, f

    line = b"a line of a text file, with some words in it: %06d\n"
    text = b"".join(line % i for i in range(30_000))[: 1 << 20]
    path = tmp / "image.tar"
    path.write_bytes(docker_archive(ImageSpec(layers=[[d("etc"), f("etc/big.txt", text)]])))
    return analyse(open_image(str(path), source="docker-archive"))


async def _viewer_runs(analysis, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Enter's action to the first line of text drawn (recorded in ``TextLines.render_line``),
    so the Pilot's own waits are not counted."""
    from dive_py.ui import file_viewer
    from dive_py.ui.app import make_app
    from dive_py.ui.file_tree_view import FileTreeView

    painted: list[float] = []
    draw = file_viewer.TextLines.render_line

    def render_line(self, y):  # type: ignore[no-untyped-def]
        if not painted:
            painted.append(time.perf_counter())
        return draw(self, y)

    file_viewer.TextLines.render_line = render_line  # type: ignore[method-assign]
    times = []
    app = make_app(analysis)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for _ in range(runs):
            tree = app.screen.query_one(FileTreeView)
            tree.focus()
            tree.select_path("/etc/big.txt")
            await pilot.pause()
            painted.clear()
            start = time.perf_counter()
            tree.action_view_file()  # what Enter runs
            while not painted:
                await asyncio.sleep(0.001)
            times.append(painted[0] - start)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause(0.05)
    file_viewer.TextLines.render_line = draw  # type: ignore[method-assign]
    return times


def _engine_runs(host: str, image: str, path: str, runs: int) -> list[float]:
    from dive_py.domain.analysis import analyse
    from dive_py.domain.file_content import ContentReader, locate_version
    from dive_py.domain.sources.docker_engine import DockerEngineSource
    from dive_py.domain.sources.engine_endpoint import Endpoint

    analysis = analyse(DockerEngineSource(Endpoint(host, "bench")).fetch(image))
    version = locate_version(analysis, len(analysis.image.layers) - 1, path)
    assert version.final, "the path is not the final image's version"
    times = []
    for _ in range(runs):
        reader = ContentReader(analysis, env={"DOCKER_HOST": host})
        start = time.perf_counter()
        reader.read(version)
        times.append(time.perf_counter() - start)
    return times


def _row(what: str, times: list[float], target: float) -> str:
    median, worst = statistics.median(times), max(times)
    verdict = "met" if median <= target else "missed"
    return f"| {what} | {len(times)} | {median:.3f} s | {worst:.3f} s | {target} s ({verdict}) |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--engine", default=None, help="Docker endpoint, e.g. unix:///var/run/docker.sock"
    )
    parser.add_argument("--image", default="python-hello-world")
    parser.add_argument("--path", default="/etc/os-release")
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    print("| measurement | runs | median | max | target |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        analysis = _archive_analysis(Path(tmp))
        times = asyncio.run(_viewer_runs(analysis, args.runs))
        print(
            _row(
                "viewer: 1 MiB text, uncompressed archive layer, Enter to first line drawn",
                times,
                0.3,
            )
        )
    if args.engine:
        times = _engine_runs(args.engine, args.image, args.path, args.runs)
        print(_row(f"engine: final-image {args.path} of {args.image}, read", times, 1.5))


if __name__ == "__main__":
    main()
