"""The reference the tests hold the product's stacking and compared trees against.

The product stacks layers once, copy on write (:func:`dive_py.domain.file_tree.stack_layer`,
:class:`~dive_py.domain.file_tree.StackedStates`), and compares two states by skipping what
they share (:func:`dive_py.domain.compare.compare_states`). This module does the same job the
simple, slow way: :class:`OracleTree` applies layers to one tree in place in two phases, and
:func:`mark_changes` marks every node afterwards; :func:`build_compared_tree` is the compared
tree of one layer and mode. It was the product's first implementation (until issue 10) and
shares no stacking code with the product: only the node and tree classes.

Two-phase stacking: layers applied as *base* set both a node's ``base_entry`` and ``entry``;
layers applied on *top* set ``entry`` only and mark what they touch, and a removal in the top
phase keeps the node as a ghost (``entry`` None) when the base had it, so that it can be shown
as removed. The rules otherwise are the product's (see :mod:`dive_py.domain.file_tree` and
:mod:`dive_py.domain.compare`).
"""

from __future__ import annotations

from collections.abc import Sequence

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode, compare_ranges
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, FileTree, StackedStates, synthetic_directory
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path

_DIR = EntryType.DIR


class OracleTree(FileTree):
    """A tree changed in place by :meth:`apply`, layer after layer.

    Attributes:
        touched: the nodes a top-phase layer wrote an entry at (exactly at their path).
    """

    __slots__ = ("touched", "_last_dir_path", "_last_dir")

    def __init__(self) -> None:
        super().__init__()
        self.touched: set[FileNode] = set()
        self._last_dir_path = ""
        self._last_dir = self.root

    def _remove(self, node: FileNode, base: bool) -> None:
        """Remove ``node`` and its subtree from the current state (iteratively: deep trees)."""
        stack = [node]
        while stack:
            node = stack.pop()
            parent = node.parent
            assert parent is not None and parent.children is not None
            if base or node.base_entry is None and not _has_base_descendant(node):
                del parent.children[node.name]
                if self._last_dir_path and (
                    self._last_dir is node or _is_below(self._last_dir, node)
                ):
                    self._last_dir_path, self._last_dir = "", self.root
                continue
            # Top phase: keep ghosts of what the base had, drop what only the top phase added.
            node.entry = None
            if node.children:
                for child in list(node.children.values()):
                    if child.entry is not None or child.children:
                        stack.append(child)
                    elif child.base_entry is None:
                        del node.children[child.name]
            if self._last_dir is node or _is_below(self._last_dir, node):
                self._last_dir_path, self._last_dir = "", self.root

    def _directory(self, path: str, base: bool) -> FileNode:
        """Return the directory node at ``path``, creating (or replacing) what is missing."""
        if path == self._last_dir_path:
            return self._last_dir
        node = self.root
        if path:
            end = -1
            for part in path.split("/"):
                end += len(part) + 1
                children = node.children
                assert children is not None
                found = children.get(part)
                if found is None or found.entry is None or found.entry.type is not _DIR:
                    # (a file that replaced a directory in the top phase keeps that directory's
                    # ghosts as children: it is still not a directory to put entries in)
                    entry = synthetic_directory(path[:end])
                    if found is not None and found.entry is not None:
                        self._remove(found, base)  # a lower non-directory is replaced
                        found = children.get(part)
                    if found is not None:  # a ghost (top phase): revive it as a directory
                        found.entry = entry
                        if found.children is None:
                            found.children = {}
                    else:
                        found = FileNode(part, node, entry, entry if base else None)
                        children[part] = found
                node = found
        self._last_dir_path = path
        self._last_dir = node
        return node

    def _symlink_above(self, path: str) -> bool:
        """True when a proper ancestor of ``path`` is a present symlink."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            entry = self.lookup("/".join(parts[:end]))
            if entry is None or entry.type is not _DIR:
                return entry is not None and entry.type is EntryType.SYMLINK
        return False

    def apply(self, layer: LayerContents, index: int, base: bool) -> None:
        """Apply one layer on top of the current state.

        Args:
            layer: the layer's parsed contents.
            index: the layer's index (recorded with missing whiteouts).
            base: True to apply it as part of the base state, False as a top (compared) layer.
        """
        for whiteout in layer.whiteouts:
            target_path = deleted_path(whiteout.path)
            node = self.find(target_path)
            if node is None or node.entry is None:
                if not self._symlink_above(target_path):
                    self.missing_whiteouts.append((index, target_path))
                continue
            self._remove(node, base)
        for dir_path in layer.opaque_dirs:
            node = self.find(dir_path)
            if node is None or node.entry is None or not node.children:
                continue
            for child in list(node.children.values()):
                if child.entry is not None:
                    self._remove(child, base)
        # The engine makes a marker's directories as any member's (a lower symlink replaced).
        for whiteout in layer.whiteouts:
            self._directory(whiteout.path.rpartition("/")[0], base)
        for dir_path in layer.opaque_dirs:
            self._directory(dir_path, base)
        for path, entry in layer.entries.items():
            parent_path, _, name = path.rpartition("/")
            parent = self._directory(parent_path, base)
            children = parent.children
            assert children is not None
            found = children.get(name)
            if entry.type is EntryType.HARDLINK and entry.data is None:
                # (a target earlier in the layer was resolved when the layer was read)
                target = self.lookup(entry.linkname)
                entry.data = target.data if target is not None else None
            if found is None:
                found = FileNode(name, parent, entry, entry if base else None)
                children[name] = found
            else:
                old = found.entry
                if old is not None and old.is_dir and not entry.is_dir and found.children:
                    self._remove(found, base)
                    found = children.get(name)
                    if found is None:
                        found = FileNode(name, parent, entry, entry if base else None)
                        children[name] = found
                found.entry = entry
                if base:
                    found.base_entry = entry
                if entry.is_dir:
                    if found.children is None:
                        found.children = {}
                elif found.children is not None and not found.children:
                    found.children = None
            if not base:
                self.touched.add(found)


def _has_base_descendant(node: FileNode) -> bool:
    stack = [node]
    while stack:
        children = stack.pop().children
        if children:
            for child in children.values():
                if child.base_entry is not None:
                    return True
                stack.append(child)
    return False


def _is_below(node: FileNode, ancestor: FileNode) -> bool:
    current = node.parent
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def build_compared_tree(
    layers: Sequence[LayerContents], mode: CompareMode, index: int
) -> OracleTree:
    """Build and mark the tree the file tree pane shows for layer ``index`` in ``mode``.

    Args:
        layers: every layer's contents, bottom to top.
        mode: the :class:`CompareMode`.
        index: the selected layer (0-based; clamped to the existing layers).

    Returns:
        A tree whose nodes carry ``diff``, ``size`` and ``count`` (see :func:`mark_changes`).
    """
    tree = OracleTree()
    if not layers:
        return tree
    index = max(0, min(index, len(layers) - 1))
    base, top = compare_ranges(mode, index)
    for i in base:
        tree.apply(layers[i], i, base=True)
    for i in top:
        tree.apply(layers[i], i, base=False)
    _add_vanished(tree, layers, top)
    mark_changes(tree)
    return tree


def _plain_paths(layers: Sequence[LayerContents]) -> dict[str, FileEntry]:
    """Every path of ``layers`` stacked in place (all as base), with its entry."""
    tree = OracleTree()
    for i, layer in enumerate(layers):
        tree.apply(layer, i, base=True)
    out: dict[str, FileEntry] = {}
    for node in tree.root.walk():
        if node.parent is not None and node.entry is not None:
            out[node.path[1:]] = node.entry
    return out


def _add_vanished(tree: OracleTree, layers: Sequence[LayerContents], top: range) -> None:
    """Add, as ghosts, the paths a compared layer added and a later compared layer removed:
    present in the plain stack before layer ``k``, gone after it (the later ``k`` wins), and
    nowhere in ``tree`` (present or removed from the base)."""
    vanished: dict[str, FileEntry] = {}
    for k in top[1:]:
        before, after = _plain_paths(layers[:k]), _plain_paths(layers[: k + 1])
        for path, entry in before.items():
            if path not in after:
                vanished[path] = entry
    for path in sorted(vanished, key=lambda p: p.count("/")):
        if tree.find(path) is not None:
            continue
        parent_path, _, name = path.rpartition("/")
        parent = tree.find(parent_path)
        assert parent is not None, path
        if parent.children is None:
            parent.children = {}
        parent.children[name] = FileNode(name, parent, None, vanished[path])


def _own_diff(tree: OracleTree, node: FileNode) -> DiffType:
    entry, base = node.entry, node.base_entry
    if entry is None:
        return DiffType.REMOVED
    if base is None:
        return DiffType.ADDED
    if node.children is not None:
        return DiffType.UNMODIFIED if entry.same_as(base) else DiffType.MODIFIED
    if node in tree.touched or entry is not base:
        return DiffType.MODIFIED
    return DiffType.UNMODIFIED


def _hardlink_bytes(tree: FileTree, node: FileNode) -> int:
    """Bytes a hardlink carries: its data's, when the data's own name is gone from the tree."""
    entry = node.entry or node.base_entry
    data = entry.data if entry is not None else None
    if data is None:
        return 0
    holder = tree.find(data.path)
    if holder is not None and (
        holder.entry is data or (node.entry is None and holder.base_entry is data)
    ):
        return 0
    return data.size


def mark_changes(tree: OracleTree) -> None:
    """Set every node's ``diff``, ``size`` and ``count`` from its entries (post-order).

    Sizes in bytes: a file's own size (a hardlink's data size once the data's own name is
    gone; a file, present or removed, that replaced a directory shows its own size, not its
    removed children's); a
    present directory sums its non-removed children, a removed one all its children. ``count``
    is the number of nodes below (removed ones included).
    """
    stack: list[tuple[FileNode, bool]] = [(tree.root, False)]
    while stack:
        node, expanded = stack.pop()
        children = node.children
        if children and not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in children.values())
            continue
        diff = _own_diff(tree, node)
        if children:
            total = 0
            count = len(children)
            changed = False
            if diff is DiffType.REMOVED:
                for child in children.values():
                    total += child.size
                    count += child.count
            else:
                for child in children.values():
                    if child.diff is not DiffType.REMOVED:
                        total += child.size
                    if child.diff is not DiffType.UNMODIFIED:
                        changed = True
                    count += child.count
                if changed and diff is DiffType.UNMODIFIED:
                    diff = DiffType.MODIFIED
            entry = node.entry or node.base_entry
            if entry is not None and not entry.is_dir:  # a file over a directory's ghosts
                total = (  # (present or removed: a file shows its own bytes)
                    _hardlink_bytes(tree, node) if entry.type is EntryType.HARDLINK else entry.size
                )
            node.size = total
            node.count = count
        else:
            node.count = 0
            entry = node.entry or node.base_entry
            if entry is None:
                node.size = 0
            elif entry.type is EntryType.HARDLINK:
                node.size = _hardlink_bytes(tree, node)
            else:
                node.size = entry.size
        node.diff = diff


def final_state(analysis: Analysis) -> FileTree:
    """The product's stacked state of all of ``analysis``'s layers (not the oracle's), with
    the missing whiteouts of all layers; an empty tree for an image without layers."""
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    if not len(states):
        return FileTree()
    last = len(states) - 1
    return FileTree.of_root(states.state(last), states.missing_whiteouts(last))
