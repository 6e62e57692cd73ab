#!/usr/bin/env python3
"""What keeping every layer's stacked state costs the efficiency pass (issue 11).

Usage (see bench/README.md, "Explorer latency and memory"):

    python3 bench/kept_states.py --sizes 500000 --rounds 3 --workdir /tmp/tuiw

For each size, a synthetic ``docker save`` archive is written with bench/run.py's generator
(reused from ``--workdir``) and read once (``open_image``, the collector paused as the CLI
does). Then, in ``--rounds`` interleaved rounds, ``measure_efficiency`` runs on the same layers
stacking in place (what ``--ci`` and ``--json`` do) and into a ``StackedStates`` (what the
explorer's load does, ``analyse(keep_states=True)``): wall and CPU seconds, and the resident
memory the result holds (``/proc/self/statm`` before the pass and after it, with the result
alive). The figures of both must be the same; the script stops otherwise.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from run import Shape, write_archive  # noqa: E402  (bench/run.py's generator)


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="500000", help="comma-separated entry counts")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workdir", default="/tmp/kept-states", help="where archives are kept")
    args = p.parse_args()

    from dive_py.domain.efficiency import measure_efficiency
    from dive_py.domain.file_tree import StackedStates
    from dive_py.domain.sources import open_image

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print("| entries | pass | wall s (median) | CPU s (median) | held MiB (median) |")
    print("|---:|---|---:|---:|---:|")
    for entries in (int(size) for size in args.sizes.split(",") if size):
        shape = Shape(entries=entries)
        archive = work / f"{shape.name()}.tar"
        if not archive.exists():
            write_archive(shape, archive, f"divepy-bench/{shape.name()}:latest".lower())
        gc.disable()
        contents = [
            layer.contents for layer in open_image(str(archive), source="docker-archive").layers
        ]
        samples: dict[str, list[tuple[float, float, float]]] = {"in place": [], "kept": []}
        figures = {}
        for _ in range(args.rounds):
            for label in samples:
                before = _rss_mib()
                wall, cpu = time.perf_counter(), time.process_time()
                states = StackedStates(contents) if label == "kept" else None
                efficiency = measure_efficiency(contents, states)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                samples[label].append((wall, cpu, _rss_mib() - before))
                figures[label] = efficiency
                del states, efficiency
        if figures["kept"] != figures["in place"]:
            print(f"the figures differ at {entries} entries", file=sys.stderr)
            return 1
        for label, rows in samples.items():
            wall, cpu, held = (statistics.median(column) for column in zip(*rows, strict=True))
            print(f"| {entries:,} | {label} | {wall:.2f} | {cpu:.2f} | {held:.0f} |")
        gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
