"""Provides :class:`FileNode` and :class:`FileTree`: a file system tree built by stacking layers.

How a layer is applied (Docker engine with overlay2, OCI image spec layer.md "Applying
Changesets" and "Whiteouts"):

1. whiteouts first, against the layers below: ``dir/.wh.name`` removes ``dir/name`` and all
   under it; ``dir/.wh..wh..opq`` removes everything ``dir`` held below. A whiteout of a path
   that does not exist is recorded in :attr:`FileTree.missing_whiteouts`, not an error.
2. then every entry, in tar order: missing parent directories are created (as real directories,
   keeping the lower layer's directory where there is one); a parent that a lower layer made a
   non-directory (a file or a *symlink*) is replaced by a directory — overlay2 unpacks each
   layer into its own empty directory, so a lower symlink is never followed; a non-directory
   replacing a directory removes the whole lower subtree; a directory over a directory keeps
   the children.

A tree can be built in two phases to compare two states (see :mod:`dive_py.domain.compare`):
layers applied as *base* set both a node's ``base_entry`` and ``entry``; layers applied on *top*
set ``entry`` only and mark what they touch, and a removal in the top phase keeps the node as a
ghost (``entry`` None) when the base had it, so that it can be shown as removed.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Iterator

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path

_ROOT_ENTRY = FileEntry("", EntryType.DIR, 0, 0o755, 0, 0, "", 0, False)


class DiffType(IntEnum):
    """How a node of a compared tree changed (dive's enum values)."""

    UNMODIFIED = 0
    MODIFIED = 1
    ADDED = 2
    REMOVED = 3


class FileNode:
    """A node of a :class:`FileTree`.

    Attributes:
        name: the last path component (``""`` for the root).
        parent: the parent node (None for the root).
        children: name -> child for directories (possibly empty), None for non-directories.
        entry: the entry at this path in the current state, or None when it was removed in the
            top phase (a ghost kept to show the removal).
        base_entry: the entry in the base state, or None when the path was not there.
        touched: True when a top-phase layer wrote an entry at exactly this path.
        diff: the :class:`DiffType` after :func:`~dive_py.domain.compare.mark_changes`.
        size: bytes (after marking): own bytes for files; for directories the sum of the visible
            descendants (removed ones only for a removed directory).
    """

    __slots__ = ("name", "parent", "children", "entry", "base_entry", "touched", "diff", "size")

    def __init__(self, name: str, parent: "FileNode | None", entry: FileEntry | None,
                 base_entry: FileEntry | None) -> None:
        self.name = name
        self.parent = parent
        self.entry = entry
        self.base_entry = base_entry
        kind = (entry or base_entry)
        self.children: dict[str, FileNode] | None = {} if kind is not None and kind.is_dir else None
        self.touched = False
        self.diff = DiffType.UNMODIFIED
        self.size = 0

    def __repr__(self) -> str:
        return f"FileNode({self.path!r}, {self.diff.name})"

    @property
    def path(self) -> str:
        """The absolute path (``"/usr/bin"``; ``"/"`` for the root)."""
        parts = []
        node: FileNode | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))

    @property
    def shown_entry(self) -> FileEntry:
        """The entry to display: the current one, or the base one for a removed node."""
        entry = self.entry or self.base_entry
        assert entry is not None
        return entry

    @property
    def is_dir(self) -> bool:
        """True when the node is a directory."""
        return self.children is not None

    def child(self, name: str) -> "FileNode | None":
        """Return the child called ``name`` or None."""
        return self.children.get(name) if self.children else None

    def walk(self) -> Iterator["FileNode"]:
        """Yield this node and all descendants, parents before children, children by name."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(node.children[name] for name in sorted(node.children, reverse=True))


class FileTree:
    """A file system tree with a root :class:`FileNode`, built by applying layers in order.

    Attributes:
        root: the root directory node.
        missing_whiteouts: ``(layer index, path)`` of whiteouts whose path did not exist below.
    """

    __slots__ = ("root", "missing_whiteouts", "_last_dir_path", "_last_dir")

    def __init__(self) -> None:
        self.root = FileNode("", None, _ROOT_ENTRY, _ROOT_ENTRY)
        self.missing_whiteouts: list[tuple[int, str]] = []
        self._last_dir_path = ""
        self._last_dir = self.root

    # -- lookup ------------------------------------------------------------------------
    def find(self, path: str) -> FileNode | None:
        """Return the node at ``path`` (no leading ``/``; ``""`` is the root) present or ghost."""
        node = self.root
        if not path:
            return node
        for part in path.split("/"):
            children = node.children
            if not children:
                return None
            found = children.get(part)
            if found is None:
                return None
            node = found
        return node

    def lookup(self, path: str) -> FileEntry | None:
        """Return the current entry at ``path``, or None when the path is absent."""
        node = self.find(path)
        return node.entry if node is not None else None

    # -- mutation ------------------------------------------------------------------------
    def _remove(self, node: FileNode, base: bool) -> None:
        """Remove ``node`` and its subtree from the current state.

        Iterative (an explicit stack, parents before children): a layer may nest thousands
        of directories deep, far beyond Python's recursion limit.
        """
        stack = [node]
        while stack:
            node = stack.pop()
            parent = node.parent
            assert parent is not None and parent.children is not None
            if base or node.base_entry is None and not _has_base_descendant(node):
                del parent.children[node.name]
                if self._last_dir_path and (self._last_dir is node or _is_below(self._last_dir, node)):
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
                if found is None or found.entry is None or found.children is None:
                    # path[:end] is the path so far (FileNode.path walks up: quadratic when deep)
                    entry = FileEntry(path[:end], EntryType.DIR, 0, 0o755, 0, 0, "", 0, False)
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
        for path, entry in layer.entries.items():
            parent_path, _, name = path.rpartition("/")
            parent = self._directory(parent_path, base)
            children = parent.children
            assert children is not None
            node = children.get(name)
            if entry.type is EntryType.HARDLINK and entry.data is None:
                target = layer.entries.get(entry.linkname) or self.lookup(entry.linkname)
                entry.data = target.data if target is not None else None
            if node is None:
                node = FileNode(name, parent, entry, entry if base else None)
                children[name] = node
            else:
                old = node.entry
                if old is not None and old.is_dir and not entry.is_dir and node.children:
                    self._remove(node, base)
                    node = children.get(name)
                    if node is None:
                        node = FileNode(name, parent, entry, entry if base else None)
                        children[name] = node
                node.entry = entry
                if base:
                    node.base_entry = entry
                if entry.is_dir:
                    if node.children is None:
                        node.children = {}
                elif node.children is not None and not node.children:
                    node.children = None
            if not base:
                node.touched = True


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
