#!/usr/bin/env python3
"""The file tree's visibility pass: what hidden change types or a filter cost per settings change.

Usage (see bench/README.md)::

    python3 bench/tree_visibility_pass.py                    # 505,000 nodes, median of 5 runs
    python3 bench/tree_visibility_pass.py --repo /work/main  # the same with another checkout

Builds a marked tree of ``--dirs`` directories, each holding ``--subdirs`` directories of
``--files`` files (a third of the files added, the rest unchanged), then times
:meth:`dive_py.ui.tree_rows.TreeRows.rebuild` (the pass that finds the visible rows and, since
issue 11, the bytes each directory shows) with no setting, with unchanged rows hidden, and
with a filter, and prints the median wall and CPU time (``time.perf_counter``, ``time.process_time``; the
CPU time is the steadier figure on a shared machine) of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--subdirs", type=int, default=50)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--repo",
        default=str(Path(__file__).resolve().parent.parent),
        help="the checkout whose dive_py is measured (default: this one)",
    )
    args = parser.parse_args()
    sys.path.insert(0, args.repo)

    from dive_py.domain.change_type import DiffType
    from dive_py.domain.entry import EntryType, FileEntry
    from dive_py.domain.file_tree import FileNode, FileTree
    from dive_py.ui.tree_rows import TreeRows

    tree = FileTree()
    file_entry = FileEntry("f", EntryType.FILE, 10, 0o644, 0, 0)
    dir_entry = FileEntry("d", EntryType.DIR, 0, 0o755, 0, 0)
    nodes = 0
    for i in range(args.dirs):
        top = FileNode(f"d{i:04d}", tree.root, dir_entry, dir_entry)
        tree.root.children[top.name] = top  # type: ignore[index]
        top.diff = DiffType.MODIFIED
        for k in range(args.subdirs):
            sub = FileNode(f"s{k:04d}", top, dir_entry, dir_entry)
            top.children[sub.name] = sub  # type: ignore[index]
            sub.diff = DiffType.MODIFIED
            for j in range(args.files):
                node = FileNode(f"f{j:04d}", sub, file_entry, file_entry)
                node.size = j
                node.diff = DiffType.ADDED if j % 3 == 0 else DiffType.UNMODIFIED
                sub.children[node.name] = node  # type: ignore[index]
            sub.size = sum(range(args.files))
            sub.count = args.files
            top.size += sub.size
            top.count += 1 + args.files
            nodes += 1 + args.files
        nodes += 1
    print(f"checkout: {args.repo}  nodes: {nodes:,}  runs: {args.runs}")

    model = TreeRows(tree.root)
    cases = [
        ("no setting", set(), ""),
        ("unchanged hidden", {DiffType.UNMODIFIED}, ""),
        ("filter f000[0-4]$", set(), "f000[0-4]$"),
    ]
    for label, hidden, pattern in cases:
        walls, cpus = [], []
        for _ in range(args.runs):
            model.hidden = frozenset(hidden)
            model.set_filter("")
            model._compile(pattern)
            start, start_cpu = time.perf_counter(), time.process_time()
            model.rebuild()
            cpus.append(time.process_time() - start_cpu)
            walls.append(time.perf_counter() - start)
        wall, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
        print(f"{label:<20} wall {wall:7.1f} ms  cpu {cpu:7.1f} ms  (rows: {len(model):,})")


if __name__ == "__main__":
    main()
