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

:func:`compare_states` compares two states of :class:`~dive_py.domain.file_tree.StackedStates`:
it skips every subtree the two states share, so a layer's tree costs about that layer's
changes. The tests check it against a reference that applies the layers to one tree in place
and marks it afterwards (``tests/stacking_oracle.py``: simple, but it costs the whole image
every time).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import (
    BuildCancelled,
    FileNode,
    FileTree,
    StackedStates,
    hardlink_bytes,
)

_UNMODIFIED = DiffType.UNMODIFIED
_MODIFIED = DiffType.MODIFIED
_ADDED = DiffType.ADDED
_REMOVED = DiffType.REMOVED
_HARDLINK = EntryType.HARDLINK


_CHECK_EVERY = 256
"""Nodes between two calls of a build's ``stop`` callback."""


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


def compared_from_states(
    states: StackedStates, mode: CompareMode, index: int, stop: Callable[[], bool] | None = None
) -> FileTree:
    """Return the marked tree the file tree pane shows for layer ``index`` in ``mode``.

    Args:
        states: the image's :class:`~dive_py.domain.file_tree.StackedStates` (built on demand).
        mode: the :class:`CompareMode`.
        index: the selected layer (0-based; clamped to the existing layers).
        stop: called now and then while comparing; when it returns True the build stops.

    Returns:
        A read-only :class:`FileTree` (it shares nodes with ``states``): layer 0 is the state
        after layer 0 itself, unmarked; otherwise :func:`compare_states` of the last base state
        and the last compared state.

    Raises:
        BuildCancelled: ``stop`` returned True.
    """
    if not len(states):
        return FileTree()
    index = max(0, min(index, len(states) - 1))
    base, top = compare_ranges(mode, index)
    states.state(index, stop)
    missing = states.missing_whiteouts(index)
    if not top:
        return FileTree.of_root(states.state(index), missing)
    layers = states.layers

    def rewritten(entry: FileEntry) -> bool:
        return any(layers[i].entries.get(entry.path) is entry for i in top)

    root = compare_states(states.state(base[-1]), states.state(top[-1]), stop, rewritten)
    return FileTree.of_root(root, missing)


def _ghost_size(entry: FileEntry, base_root: FileNode, top_root: FileNode) -> int:
    if entry.type is _HARDLINK:
        return hardlink_bytes(top_root, entry, base_root)
    return entry.size


def _removed_copy(
    node: FileNode, base_root: FileNode, top_root: FileNode, stop: Callable[[], bool] | None
) -> FileNode:
    """A removed (ghost) copy of the base subtree at ``node``: entries None, diff REMOVED."""
    first = _mark_copy(node, None, node.entry, _REMOVED)
    stack = [(node, first)]
    done = 0
    while stack:
        done += 1
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        original, copy = stack.pop()
        children = original.children
        if not children:
            entry = copy.base_entry
            assert entry is not None
            copy.size = _ghost_size(entry, base_root, top_root)
            copy.count = 0
            continue
        kids = copy.children
        assert kids is not None
        for name, child in children.items():
            ghost = _mark_copy(child, None, child.entry, _REMOVED)
            kids[name] = ghost
            stack.append((child, ghost))
    _sum_up(first)
    return first


def _added_copy(node: FileNode, stop: Callable[[], bool] | None) -> FileNode:
    """An added copy of the top subtree at ``node``: no base entries, diff ADDED."""
    first = _mark_copy(node, node.entry, None, _ADDED)
    stack = [(node, first)]
    done = 0
    while stack:
        done += 1
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        original, copy = stack.pop()
        children = original.children
        if children:
            kids = copy.children
            assert kids is not None
            for name, child in children.items():
                added = _mark_copy(child, child.entry, None, _ADDED)
                kids[name] = added
                stack.append((child, added))
    return first


def _mark_copy(
    node: FileNode, entry: FileEntry | None, base_entry: FileEntry | None, diff: DiffType
) -> FileNode:
    """A compared-tree node for the state node ``node``, with its size and count for a start.

    Its ``parent`` is the state node's parent (same path, another tree): a compared tree then
    holds no reference cycle, so dropping it frees it at once, without the cyclic collector.
    """
    return FileNode.of(
        node.name,
        node.parent,
        {} if node.children is not None else None,
        entry,
        base_entry,
        diff,
        node.size,
        node.count,
    )


def _sum_up(top: FileNode) -> None:
    """Sizes and counts of a removed subtree, children first (sizes of all children)."""
    order = []
    stack = [top]
    while stack:
        node = stack.pop()
        if node.children:
            order.append(node)
            stack.extend(node.children.values())
    for node in reversed(order):
        children = node.children
        assert children
        size = count = 0
        for child in children.values():
            size += child.size
            count += child.count
        node.size = size
        node.count = count + len(children)


def compare_states(
    base: FileNode,
    top: FileNode,
    stop: Callable[[], bool] | None = None,
    rewritten: Callable[[FileEntry], bool] | None = None,
) -> FileNode:
    """Compare two state roots of one :class:`StackedStates`; return the marked tree's root.

    The result marks the layers between the two states (``base`` = the state after the last
    base layer, ``top`` = after the last compared layer) by the rules in this module's opening:
    a path in only one of them is removed or added, a file whose entry differs is modified,
    a directory is modified when its own metadata or anything below changed. A subtree that is
    the same object in both states is unchanged throughout and is reused as it is (so the
    result shares nodes with the states: treat it as read-only).

    Args:
        base: root of the base state.
        top: root of the compared state.
        stop: called every few hundred nodes; when it returns True the build stops.
        rewritten: for a file whose entry is the very same object in both states but whose
            node differs (a compared layer repeats a lower layer's entry, as an image that
            holds one layer twice does, or only its hardlink bytes changed): True when a
            compared layer wrote it (modified, as the layer wrote it again).
            Without it such a file is unchanged.

    Returns:
        The root of the compared tree; every node has ``diff``, ``size`` (bytes) and ``count``.

    Raises:
        BuildCancelled: ``stop`` returned True (the partial tree is dropped).
    """
    if base is top:
        return top
    root = _mark_copy(top, top.entry, base.entry, _UNMODIFIED)
    # (old, new, node, changed children of node): only changed children are looked at one by
    # one; copying a children dict and finding the changed names run in C.
    stack: list[tuple[FileNode, FileNode, FileNode]] = [(base, top, root)]
    order: list[tuple[FileNode, FileNode, list[FileNode]]] = []
    new_node = FileNode.of
    while stack:
        if stop is not None and not len(order) % _CHECK_EVERY and stop():
            raise BuildCancelled
        old, new, node = stack.pop()
        old_kids = old.children
        new_kids = new.children
        kids = dict(new_kids) if new_kids else {}
        if old_kids and new_kids:
            changed = {name for name, _ in old_kids.items() ^ new_kids.items()}
        elif old_kids:
            changed = set(old_kids)
        else:
            changed = set(new_kids) if new_kids else set()
        marked: list[FileNode] = []
        for name in changed:
            before = old_kids.get(name) if old_kids else None
            after = new_kids.get(name) if new_kids else None
            if after is None:
                assert before is not None
                child = _removed_copy(before, base, top, stop)
            elif after.children is None and (before is None or before.children is None):
                # a file (most changes): marked here, without the directory machinery
                entry = after.entry
                assert entry is not None  # (a state node has its entry)
                if before is None:
                    base_entry, diff = None, _ADDED
                else:
                    base_entry = before.entry
                    diff = (
                        _MODIFIED
                        if entry is not base_entry or (rewritten is not None and rewritten(entry))
                        else _UNMODIFIED
                    )
                child = new_node(
                    after.name, after.parent, None, entry, base_entry, diff, after.size, 0
                )
            elif before is None:
                child = _added_copy(after, stop)
            else:
                child = _mark_copy(after, after.entry, before.entry, _UNMODIFIED)
                stack.append((before, after, child))
            kids[name] = child
            marked.append(child)
        node.children = kids if kids or new_kids is not None else None
        order.append((new, node, marked))
    for done, (new, node, marked) in enumerate(reversed(order)):
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        entry, base_entry = node.entry, node.base_entry
        assert entry is not None and base_entry is not None
        if node.children is None:
            node.diff = (
                _MODIFIED
                if entry is not base_entry or (rewritten is not None and rewritten(entry))
                else _UNMODIFIED
            )
            node.count = 0
            continue  # size: the state's (copied)
        diff = _UNMODIFIED if entry.same_as(base_entry) else _MODIFIED
        # count: the state's, corrected by the children that differ from the state's
        count = new.count if new.children is not None else 0
        new_kids = new.children or {}
        for child in marked:
            if diff is _UNMODIFIED and child.diff is not _UNMODIFIED:
                diff = _MODIFIED
            state_child = new_kids.get(child.name)
            if state_child is None:
                count += 1 + child.count
            else:
                count += child.count - state_child.count
        node.diff = diff
        node.count = count
    return root
