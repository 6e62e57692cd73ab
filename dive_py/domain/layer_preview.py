"""Provides :func:`layer_preview`: the paths one layer wrote, as a tree to show before its compared tree is ready.

The explorer's compared tree of layer ``i`` (layer-changes mode) needs the stacked state after
layer ``i`` (:class:`~dive_py.domain.file_tree.StackedStates`), which costs about the layer's
size to stack and then as much again to compare: a few hundred milliseconds for a layer of
50,000 entries. The preview is the part of that tree the layer itself wrote: its entries,
with their parent directories, and the paths its whiteouts removed. Built in one pass over the
layer, with one dictionary look-up per path in the state below (``lower``, when that state is
stacked already) to mark each path as the compared tree will.

What the preview shows of a path is what the compared tree shows of it (same entry, same
:class:`~dive_py.domain.change_type.DiffType` when ``lower`` is given), except:

* it holds only the layer's own paths: unchanged paths beside them, the contents of a removed
  directory and what an opaque directory hid appear with the compared tree;
* a directory's size is the sum of the paths the preview holds below it (bytes), not of the
  whole directory; a hardlink's size is its entry's;
* without ``lower`` nothing is marked (every path is UNMODIFIED) and removed paths are left out;
* the marks of directories and removed paths follow the common cases (a path a whiteout
  removed is REMOVED; a directory is ADDED, or MODIFIED when its own metadata or anything the
  preview holds below it changed); where a layer removes a path and writes below it again, or
  replaces a directory by a file, the compared tree's marks can differ (the tests pin every
  entry the layer wrote: same entry, and same mark for all but directories).

Layers whose tar names a path more than once, or that replace a path by another type within
the layer, are previewed as the entries say (the last entry of a path); the compared tree that
follows applies the full stacking rules (:func:`~dive_py.domain.file_tree.stack_layer`).
"""

from __future__ import annotations

from collections.abc import Callable

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import (
    BuildCancelled,
    FileNode,
    FileTree,
    synthetic_directory,
)
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path

_DIR = EntryType.DIR
_UNMODIFIED = DiffType.UNMODIFIED
_MODIFIED = DiffType.MODIFIED
_ADDED = DiffType.ADDED
_REMOVED = DiffType.REMOVED
_CHECK_EVERY = 256
"""Entries between two calls of the ``stop`` callback."""
_new_node = FileNode.of


def layer_preview(
    contents: LayerContents,
    lower: FileNode | None,
    stop: Callable[[], bool] | None = None,
) -> FileTree:
    """Return the preview of one layer (see the module docstring).

    Args:
        contents: the layer's parsed contents.
        lower: the root of the stacked state below the layer (layers ``0..i-1``), or None
            when it is not stacked yet (then nothing is marked).
        stop: called every few hundred entries; when it returns True the build stops.

    Returns:
        A :class:`FileTree` whose nodes carry ``diff``, ``size`` (bytes) and ``count``; it
        shares no node with any state (its nodes' ``parent`` is their preview parent).

    Raises:
        BuildCancelled: ``stop`` returned True.
    """
    marks = lower is not None
    root_entry = lower.entry if lower is not None else synthetic_directory("")
    root = _new_node("", None, {}, root_entry, root_entry, _UNMODIFIED, 0, -1)
    # path -> (preview directory, the same directory in the state below or None)
    directories: dict[str, tuple[FileNode, FileNode | None]] = {"": (root, lower)}

    def directory(path: str) -> tuple[FileNode, FileNode | None]:
        found = directories.get(path)
        if found is not None:
            return found
        parent_path, _, name = path.rpartition("/")
        parent, lower_parent = directory(parent_path)
        kids = parent.children
        assert kids is not None
        lower_kids = lower_parent.children if lower_parent is not None else None
        before = lower_kids.get(name) if lower_kids else None
        node = kids.get(name)
        if node is None or node.children is None or node.entry is None:
            entry: FileEntry | None
            base: FileEntry | None
            if before is None:  # a new directory
                entry, base, diff = synthetic_directory(path), None, _ADDED
            elif before.children is None:  # it replaces a lower non-directory
                entry, base, diff = synthetic_directory(path), before.entry, _MODIFIED
            else:  # the lower directory, as overlay2 shows one the layer did not write
                entry, base, diff = before.entry, before.entry, _UNMODIFIED
            if not marks:
                base, diff = entry, _UNMODIFIED
            node = _new_node(name, parent, {}, entry, base, diff, 0, -1)
            kids[name] = node  # (over a removed path: the layer made it a directory again)
        if before is not None and before.children is None:
            before = None  # (nothing below it in the state below)
        found = (node, before)
        directories[path] = found
        return found

    if lower is not None:
        deleted_paths = {deleted_path(whiteout.path) for whiteout in contents.whiteouts}
        for deleted in deleted_paths:
            if _below_any(deleted, deleted_paths):
                continue  # (removed with its ancestor)
            parent_path, _, name = deleted.rpartition("/")
            gone = _lower_node(lower, deleted)
            if gone is None or gone.entry is None:
                continue
            parent, _lower_parent = directory(parent_path)
            kids = parent.children
            assert kids is not None
            kids[name] = _new_node(
                name,
                parent,
                {} if gone.children is not None else None,
                None,
                gone.entry,
                _REMOVED,
                gone.size,
                0 if gone.children is None else -1,
            )
    for done, (path, entry) in enumerate(contents.entries.items(), 1):
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        if entry.type is _DIR:
            node, _before = directory(path)
            node.entry = entry
            if marks:
                node.diff = _placed_diff(entry, node.base_entry)
            else:
                node.base_entry = entry
            continue
        parent_path, _, name = path.rpartition("/")
        parent, lower_parent = directory(parent_path)
        kids = parent.children
        assert kids is not None
        base: FileEntry | None = entry
        diff = _UNMODIFIED
        if marks:
            lower_kids = lower_parent.children if lower_parent is not None else None
            before = lower_kids.get(name) if lower_kids else None
            base = before.entry if before is not None else None
            diff = _ADDED if base is None else _MODIFIED
        replaced = kids.get(name)
        kids[name] = _new_node(name, parent, None, entry, base, diff, entry.size, 0)
        if replaced is not None and replaced.children:  # a file over a directory it made
            prefix = path + "/"
            for stale in [p for p in directories if p == path or p.startswith(prefix)]:
                del directories[stale]
    _sum_and_mark(root, marks)
    return FileTree.of_root(root)


def _lower_node(lower: FileNode, path: str) -> FileNode | None:
    node = lower
    for part in path.split("/"):
        children = node.children
        found = children.get(part) if children else None
        if found is None:
            return None
        node = found
    return node


def _below_any(path: str, ancestors: set[str]) -> bool:
    """True when a proper ancestor of ``path`` is in ``ancestors`` (paths without ``/``)."""
    end = path.find("/")
    while end != -1:
        if path[:end] in ancestors:
            return True
        end = path.find("/", end + 1)
    return False


def _placed_diff(entry: FileEntry, base: FileEntry | None) -> DiffType:
    if base is None:
        return _ADDED
    return _UNMODIFIED if entry.same_as(base) else _MODIFIED


def _sum_and_mark(root: FileNode, marks: bool) -> None:
    """Sizes (bytes) and counts of the preview's directories, children first; a directory the
    layer changed something below is MODIFIED (when marking), as in the compared tree."""
    order = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.children is not None:
            order.append(node)
            stack.extend(node.children.values())
    for node in reversed(order):
        children = node.children
        assert children is not None
        size = count = 0
        changed = False
        for child in children.values():
            size += child.size
            count += child.count
            if child.diff is not _UNMODIFIED:
                changed = True
        if node.diff is _REMOVED:
            node.count = 0
            continue
        node.size = size
        node.count = count + len(children)
        if marks and changed and node.diff is _UNMODIFIED:
            node.diff = _MODIFIED
