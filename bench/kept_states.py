#!/usr/bin/env python3
"""What keeping every layer's stacked state costs the efficiency pass (issue 11).

Usage (see bench/README.md, "Explorer latency and memory"):

    python3 bench/kept_states.py --sizes 500000 --rounds 3 --workdir /tmp/tuiw

For each size, a synthetic ``docker save`` archive is written with bench/run.py's generator
(reused from ``--workdir``) and read once (``open_image``, the collector paused as the CLI
does). Then, in ``--rounds`` interleaved rounds, ``measure_efficiency`` runs on the same layers
stacking in place (what ``--ci`` and ``--json`` do) and into a ``StackedStates`` (what the
explorer's load does, ``analyse(keep_states=True)``): wall and CPU seconds. Then what the
kept states hold: their distinct nodes and the bytes of those nodes and of their children
dicts (``sys.getsizeof``; the entries are the layers', held either way). The in-place pass
frees its one tree at the end. The figures of both must be the same; the script stops
otherwise.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from run import Shape, write_archive  # noqa: E402  (bench/run.py's generator)


def _held(states: Any) -> tuple[int, int]:
    """(distinct nodes, bytes of the nodes and their children dicts) of every built state."""
    seen: set[int] = set()
    size = 0
    for index in range(states.built):
        stack = [states.built_state(index)]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            size += sys.getsizeof(node)
            if node.children is not None:
                size += sys.getsizeof(node.children)
                stack.extend(node.children.values())
    return len(seen), size


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
    print("| entries | pass | wall s (median) | CPU s (median) | states' nodes | their MiB |")
    print("|---:|---|---:|---:|---:|---:|")
    for entries in (int(size) for size in args.sizes.split(",") if size):
        shape = Shape(entries=entries)
        archive = work / f"{shape.name()}.tar"
        if not archive.exists():
            write_archive(shape, archive, f"divepy-bench/{shape.name()}:latest".lower())
        gc.disable()
        contents = [
            layer.contents for layer in open_image(str(archive), source="docker-archive").layers
        ]
        samples: dict[str, list[tuple[float, float]]] = {"in place": [], "kept": []}
        figures = {}
        held = {"in place": (0, 0)}
        for _ in range(args.rounds):
            for label in samples:
                wall, cpu = time.perf_counter(), time.process_time()
                states = StackedStates(contents) if label == "kept" else None
                efficiency = measure_efficiency(contents, states)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                samples[label].append((wall, cpu))
                figures[label] = efficiency
                if states is not None:
                    held[label] = _held(states)
                del states, efficiency
        if figures["kept"] != figures["in place"]:
            print(f"the figures differ at {entries} entries", file=sys.stderr)
            return 1
        for label, rows in samples.items():
            wall, cpu = (statistics.median(column) for column in zip(*rows, strict=True))
            nodes, size = held[label]
            print(
                f"| {entries:,} | {label} | {wall:.2f} | {cpu:.2f} | {nodes:,} | {size / 2**20:.0f} |"
            )
        gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
