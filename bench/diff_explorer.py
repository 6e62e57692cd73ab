#!/usr/bin/env python3
"""``divepy diff`` on large images (issue 15): the comparison and the diff explorer.

Two synthetic images of ``bench/run.py``'s shape with the same paths: seeds 1 and 2 (every
file's bytes differ: the worst case, everything modified) and seeds 1 and 1 (identical final
file systems, read twice: every path compared, nothing differs). For each size it measures
(median of ``--runs``): ``diff_images`` (stacking both final states, the marked tree, the
lists), the diff explorer's first screen (Pilot, 160x45: app start to the tree drawn) and a
cursor move in the tree; then the process's peak RSS (both analyses included).

Usage:
    python3 bench/diff_explorer.py [--sizes 50000,200000] [--runs 3]

Prints a markdown table (see bench/README.md, "divepy diff").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _analysis(shape, path: Path):  # type: ignore[no-untyped-def]
    from run import write_archive

    from dive_py.domain.analysis import analyse
    from dive_py.domain.sources import open_image

    write_archive(shape, path, "bench/diff:1")
    return analyse(open_image(str(path), source="docker-archive"))


async def _explorer(diff, a, b) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds to the first screen, and the median of 10 cursor moves."""
    from dive_py.ui.diff_app import DiffApp

    started = time.perf_counter()
    app = DiffApp(diff, a, b, names=("a", "b"))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - started
        moves = []
        for _ in range(10):
            t0 = time.perf_counter()
            await pilot.press("down")
            await pilot.pause()
            moves.append(time.perf_counter() - t0)
        await pilot.press("q")
    return first, statistics.median(moves)


def main() -> None:
    from run import Shape

    from dive_py.domain.image_diff import diff_images

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
    print(
        "| entries per image | pair | diff_images | explorer first screen | cursor move | peak RSS |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            a = _analysis(Shape(entries=size, seed=1), Path(tmp) / "a.tar")
            for label, seed in (("all files differ", 2), ("identical", 1)):
                b = diff = None  # (the last pair's B and trees go first)
                b = _analysis(Shape(entries=size, seed=seed), Path(tmp) / f"b{seed}.tar")
                times = []
                for _ in range(args.runs):
                    diff = None  # (the last one is freed before the clock starts)
                    t0 = time.perf_counter()
                    diff = diff_images(a.image, b.image)
                    times.append(time.perf_counter() - t0)
                screens = [asyncio.run(_explorer(diff, a, b)) for _ in range(args.runs)]
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"| {size:,} | {label} ({len(diff.modified):,} modified) "
                    f"| {statistics.median(times):.2f} s "
                    f"| {statistics.median(s[0] for s in screens):.2f} s "
                    f"| {1000 * statistics.median(s[1] for s in screens):.0f} ms "
                    f"| {rss:.0f} MiB |"
                )


if __name__ == "__main__":
    main()
