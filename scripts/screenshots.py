#!/usr/bin/env python3
"""Regenerate screenshots/*.svg from divepy's demo image (python-hello-world like).

Usage: python3 scripts/screenshots.py [OUTPUT_DIR]   (default: screenshots/ in the repository)

No container engine needed: the demo archive is written to a temporary directory, analysed,
and shown with the same ``make_app`` factory the tests use; each scenario is driven with the
Pilot and saved with ``App.save_screenshot``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (140, 40)

#: file name -> keys pressed after the first tree is shown
SCENARIOS: dict[str, list[str]] = {
    "main.svg": ["down", "down", "down", "tab"],
    "aggregated.svg": ["down", "down", "down", "down", "ctrl+a"],
    "filter.svg": ["down", "down", "down", "slash", *"py$"],
    "help.svg": ["question_mark"],
    "viewer.svg": ["end", "tab", "select:/app/app.py", "enter"],
    "waste.svg": ["tab", "tab"],
    "hidden-unchanged.svg": ["down", "down", "down", "tab", "ctrl+u", "select:/usr"],
}
"""A key ``select:PATH`` moves the tree's cursor to PATH (as a jump from the inefficient files does)."""

#: file name -> (terminal size, keys) for the scenarios at another size
SIZED: dict[str, tuple[tuple[int, int], list[str]]] = {
    "small-terminal.svg": ((80, 24), ["down", "down", "tab"]),
}

CONTAINER = "container.svg"
"""A container's read/write layer (selected with ``end``): from the engine's container named by
``DIVEPY_SCREENSHOT_CONTAINER`` when set (``DOCKER_HOST`` picks the engine), else the container
recorded in tests/fixtures/containers/ (tests/container_recording.py) over the demo image."""

BASE_AND_TAGS = "base-and-tags.svg"
"""An image with three tags and the base-name label (tests/ui/tagged_image.py): the base layer
reads ``FROM <base image>``, Image Details list the tags."""

LONG_PATHS = "long-paths.svg"
"""An image with deep and long paths (tests/ui/long_paths.py): a depth-12 file under the
cursor, its full path in the path line."""

DIFF = "diff.svg"
"""The diff explorer (``divepy diff app:1 app:2``) on two releases of a small app
(tests/ui/diff_pair.py), the cursor on a modified file."""


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def _shoot(  # type: ignore[no-untyped-def]
    analysis, name: str, keys: list[str], out: Path, size: tuple[int, int] = SIZE, jump: str = ""
) -> None:
    from dive_py.ui.app import make_app

    app = make_app(analysis)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        if jump:
            app.screen.jump_to(jump)  # type: ignore[attr-defined]
            await _settle(pilot)
        for key in keys:
            if key.startswith("select:"):
                from dive_py.ui.file_tree_view import FileTreeView

                app.screen.query_one(FileTreeView).select_path(key.removeprefix("select:"))
            else:
                await pilot.press(key)
            await _settle(pilot)
        app.save_screenshot(filename=name, path=str(out))


async def _shoot_diff(tmp: Path, out: Path) -> None:
    """The diff explorer of tests/ui/diff_pair.py's images, the cursor on /app/main.py."""
    from dive_py.domain.image_diff import diff_images
    from dive_py.ui.diff_app import DiffApp
    from dive_py.ui.file_tree_view import FileTreeView
    from tests.ui.diff_pair import A_NAME, B_NAME, diff_pair

    a, b = diff_pair(tmp)
    app = DiffApp(diff_images(a.image, b.image), a, b, names=(A_NAME, B_NAME))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        app.screen.query_one(FileTreeView).select_path("/app/main.py")
        await _settle(pilot)
        app.save_screenshot(filename=DIFF, path=str(out))


def _container_analysis(demo):  # type: ignore[no-untyped-def]
    """The container to show: a real engine's when named, else the recorded one."""
    name = os.environ.get("DIVEPY_SCREENSHOT_CONTAINER")
    if name:
        from dive_py.commands.explore import load_analysis, parse_arguments
        from dive_py.domain.progress import ProgressListener

        args = parse_arguments([f"container://{name}"])
        return load_analysis(args, os.environ, ProgressListener()).analysis
    from tests.container_recording import recorded_container

    return recorded_container(demo)


async def main(out: Path) -> None:
    from dive_py.domain.analysis import analyse
    from dive_py.domain.demo_image import write_demo_archive
    from dive_py.domain.sources import open_image

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        analysis = analyse(open_image(write_demo_archive(tmp), source="docker-archive"))
        for name, keys in SCENARIOS.items():
            await _shoot(analysis, name, keys, out)
            print(out / name)
        for name, (size, keys) in SIZED.items():
            await _shoot(analysis, name, keys, out, size)
            print(out / name)
        from tests.ui.long_paths import DEEP_FILE, long_path_analysis

        await _shoot(_container_analysis(analysis), CONTAINER, ["end"], out)
        print(out / CONTAINER)
        long_paths = long_path_analysis(Path(tmp))
        await _shoot(long_paths, LONG_PATHS, [], out, (120, 40), jump=DEEP_FILE)
        print(out / LONG_PATHS)
        from tests.ui.tagged_image import tagged_analysis

        await _shoot(tagged_analysis(Path(tmp), labelled=True), BASE_AND_TAGS, [], out)
        print(out / BASE_AND_TAGS)
        await _shoot_diff(Path(tmp), out)
        print(out / DIFF)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"))
