#!/usr/bin/env python3
"""Where the explorer's memory goes (issue 11): RSS after each step of a whole session.

Usage (see bench/README.md, "Explorer latency and memory"):

    python3 bench/tui_memory.py --entries 500000 --workdir /tmp/tuiw
    python3 bench/tui_memory.py --entries 50000 --workdir /tmp/tuiw --tracemalloc   # per entry

The archive is bench/run.py's synthetic image (shared with ``--workdir`` of the other
scripts). The steps, in one process, without the UI: the analysis (the CLI's own loader,
``--no-cache``), the stacked state of every layer, the compared tree of every layer in the
layer-changes mode, then in the aggregated mode (every tree kept, as the explorer's tree cache
keeps them when all fit). After each step: the resident set (``/proc/self/statm``, MiB), and
the nodes the step made of its own (nodes reachable from its trees not reachable before).
For every compared tree, the CPU time (``time.process_time``: steadier than wall time on a
shared machine) of building it and of the row model's first screen and a screen in the middle
(the work of a layer switch, without Textual).

With ``--tracemalloc`` the analysis is traced: the top allocation sites after it, in bytes
per entry (slow: use a small image).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from run import Shape  # noqa: E402  (bench/run.py's generator)
from tui_latency import ensure_archive, load_analysis  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    """The resident set now (``/proc/self/statm``), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


def reachable(roots: list[object], seen: set[int]) -> int:
    """Count the tree nodes reachable from ``roots`` not in ``seen`` (adding them to it).

    A directory whose children are made on first read (a lazy directory of a compared tree)
    counts as one node plus its extra children: counting must not make them.
    """
    from dive_py.domain.file_tree import FileNode

    slot = FileNode.__dict__["children"]
    count = 0
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        count += 1
        try:
            children = slot.__get__(node, FileNode)
        except AttributeError:  # (not made yet: only its extra children are its own)
            children = getattr(node, "extra", None)
        if children:
            stack.extend(children.values())
    return count


def screens(root: object, rows: int = 50) -> None:
    """What the explorer's row model does for a new tree: count its rows, then the text of
    the first screen and of a screen in the middle (``rows`` rows each)."""
    from dive_py.ui.tree_rows import TreeRows

    model = TreeRows(root)  # type: ignore[arg-type]
    total = len(model)
    for start in (0, total // 2):
        for index in range(start, min(start + rows, total)):
            model.row_text(index)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--entries", type=int, default=500_000)
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/tuiw"))
    p.add_argument("--tracemalloc", action="store_true", help="trace the analysis (slow)")
    p.add_argument("--top", type=int, default=15, help="allocation sites shown with --tracemalloc")
    args = p.parse_args()

    from dive_py.domain.compare import CompareMode

    archive, facts = ensure_archive(
        Shape(args.entries, layers=args.layers, seed=args.seed), args.workdir
    )
    entries = int(facts["members"])
    start = rss_mib()
    if args.tracemalloc:
        tracemalloc.start(1)
    t0 = time.perf_counter()
    analysis, _ = load_analysis(archive)
    print(f"entries {entries:,}; interpreter and imports {start:.0f} MiB")
    print(f"{'step':<28} {'s':>6} {'RSS MiB':>8} {'+MiB':>7} {'own nodes':>11}")
    last = rss_mib()
    print(f"{'analysis':<28} {time.perf_counter() - t0:6.1f} {last:8.0f} {last - start:7.0f}")
    if args.tracemalloc:
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        stats = snapshot.statistics("lineno")
        total = sum(stat.size for stat in stats)
        print(f"traced after the analysis: {total / 2**20:.0f} MiB, {total / entries:.0f} B/entry")
        for stat in stats[: args.top]:
            frame = stat.traceback[0]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            print(f"  {stat.size / entries:7.1f} B/entry  {stat.count:>9,} blocks  {where}")
        return 0
    seen: set[int] = set()
    layers = len(analysis.image.layers)
    t0 = time.perf_counter()
    for index in range(layers):
        analysis.prepare_state(index)
    states = [analysis._states.built_state(i) for i in range(layers)]  # noqa: SLF001
    own = reachable(list(states), seen)
    now = rss_mib()
    print(
        f"{'stacked states':<28} {time.perf_counter() - t0:6.1f} {now:8.0f} {now - last:7.0f} {own:11,}"
    )
    last = now
    kept = []
    cpu: dict[str, list[float]] = {}
    for mode in (CompareMode.LAYER, CompareMode.AGGREGATED):
        t0 = time.perf_counter()
        trees = []
        for index in range(layers):
            c0 = time.process_time()
            trees.append(analysis.compared_tree(index, mode))
            cpu.setdefault(f"{mode.value} tree", []).append(time.process_time() - c0)
            c0 = time.process_time()
            screens(trees[-1].root)
            cpu.setdefault(f"{mode.value} rows", []).append(time.process_time() - c0)
        kept.extend(trees)
        own = reachable([tree.root for tree in trees], seen)
        gc.collect()
        now = rss_mib()
        what = f"compared trees, {mode.value}"
        print(f"{what:<28} {time.perf_counter() - t0:6.1f} {now:8.0f} {now - last:7.0f} {own:11,}")
        last = now
    for what, seconds in cpu.items():
        ms = sorted(1000 * value for value in seconds)
        print(
            f"CPU ms per layer, {what:<17} median {ms[len(ms) // 2]:6.1f}  max {ms[-1]:6.1f}"
            f"  total {sum(ms):7.0f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB (this process; the explorer adds its UI and worker churn)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
