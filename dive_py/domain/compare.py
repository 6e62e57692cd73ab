"""Provides the compared trees behind the file tree pane: which paths a layer added, modified or removed.

Two compare modes (dive's): *layer changes* shows layer ``i`` against the stack of layers
``0..i-1``; *aggregated changes* shows layers ``1..i`` applied together against layer ``0``. At
``i == 0`` both show layer 0 unmarked.

Marking rules (divepy's; dive 0.13.1 differs where noted):

* a path absent from the base and present now is **added**; present in the base and absent now
  is **removed** (shown as a ghost node with the base's entry);
* a file, link, device or fifo that a compared layer wrote is **modified**, also when content
  and metadata are identical (a copy-up that only touched mtime still costs bytes in that
  layer; dive calls that unmodified);
* a directory is **modified** when its own metadata (mode, owner) changed or anything below it
  changed; a retargeted symlink or hardlink is modified (dive ignores link targets);
* a path added and removed again within the compared layers does not appear.
"""

from __future__ import annotations

from enum import Enum
from typing import Sequence

from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import DiffType, FileNode, FileTree
from dive_py.domain.layer_tar import LayerContents


class CompareMode(Enum):
    """Which layers the file tree pane combines for the selected layer."""

    LAYER = "layer"
    """Layer ``i`` against layers ``0..i-1``."""
    AGGREGATED = "aggregated"
    """Layers ``1..i`` against layer ``0``."""


def compare_ranges(mode: CompareMode, index: int) -> tuple[range, range]:
    """Return (base layer indexes, compared layer indexes) for ``mode`` at layer ``index``."""
    if index <= 0:
        return range(0, 1), range(0)
    if mode is CompareMode.LAYER:
        return range(0, index), range(index, index + 1)
    return range(0, 1), range(1, index + 1)


def build_compared_tree(layers: Sequence[LayerContents], mode: CompareMode, index: int) -> FileTree:
    """Build and mark the tree the file tree pane shows for layer ``index`` in ``mode``.

    Args:
        layers: every layer's contents, bottom to top.
        mode: the :class:`CompareMode`.
        index: the selected layer (0-based; clamped to the existing layers).

    Returns:
        A :class:`FileTree` whose nodes carry ``diff`` and ``size`` (see :func:`mark_changes`).
    """
    tree = FileTree()
    if not layers:
        return tree
    index = max(0, min(index, len(layers) - 1))
    base, top = compare_ranges(mode, index)
    for i in base:
        tree.apply(layers[i], i, base=True)
    for i in top:
        tree.apply(layers[i], i, base=False)
    mark_changes(tree)
    return tree


def _own_diff(node: FileNode) -> DiffType:
    entry, base = node.entry, node.base_entry
    if entry is None:
        return DiffType.REMOVED
    if base is None:
        return DiffType.ADDED
    if node.children is not None:
        return DiffType.UNMODIFIED if entry.same_as(base) else DiffType.MODIFIED
    if node.touched or entry is not base:
        return DiffType.MODIFIED
    return DiffType.UNMODIFIED


def _hardlink_bytes(tree: FileTree, node: FileNode) -> int:
    """Bytes a hardlink carries: its data's, when the data's own name is gone from the tree."""
    entry = node.entry or node.base_entry
    data = entry.data if entry is not None else None
    if data is None:
        return 0
    holder = tree.find(data.path)
    if holder is not None and (holder.entry is data or (node.entry is None and holder.base_entry is data)):
        return 0
    return data.size


def mark_changes(tree: FileTree) -> None:
    """Set every node's ``diff`` and ``size`` from its base and current entries (post-order).

    Sizes in bytes: a file's own size (a hardlink's data size once the data's own name is
    gone); a present directory sums its non-removed children, a removed one all its children.
    """
    stack: list[tuple[FileNode, bool]] = [(tree.root, False)]
    while stack:
        node, expanded = stack.pop()
        children = node.children
        if children and not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in children.values())
            continue
        diff = _own_diff(node)
        if children:
            total = 0
            changed = False
            if diff is DiffType.REMOVED:
                for child in children.values():
                    total += child.size
            else:
                for child in children.values():
                    if child.diff is not DiffType.REMOVED:
                        total += child.size
                    if child.diff is not DiffType.UNMODIFIED:
                        changed = True
                if changed and diff is DiffType.UNMODIFIED:
                    diff = DiffType.MODIFIED
            node.size = total
        else:
            entry = node.entry or node.base_entry
            if entry is None:
                node.size = 0
            elif entry.type is EntryType.HARDLINK:
                node.size = _hardlink_bytes(tree, node)
            else:
                node.size = entry.size
        node.diff = diff
