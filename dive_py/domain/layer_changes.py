"""Provides :func:`layer_changes`: what one layer did to each path, as the explorer's tree shows it.

Taken from the compared tree of layer ``k`` against layers ``0..k-1``
(:func:`~dive_py.domain.compare.compared_from_states`, the tree the explorer draws), so the
JSON export and ``divepy ls`` can never disagree with the explorer. Layer 0 adds everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.domain.entry import FileEntry
from dive_py.domain.file_tree import FileNode
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path


@dataclass(slots=True)
class PathChange:
    """One path a layer's tar names, and what it did there (read-only by convention: not frozen,
    because a frozen dataclass's ``__init__`` tripled the cost of making 200,000 of them).

    Attributes:
        path: the path in the image (no leading ``/``): for a whiteout, the path it removes.
        change: ``ADDED``, ``MODIFIED``, ``REMOVED``, or ``UNMODIFIED`` (an entry the tree
            shows unchanged: a directory repeated with the same metadata and nothing changed
            below it).
        entry: the layer's entry (for a whiteout, the whiteout entry itself).
        whiteout: True for a whiteout entry.
        opaque: True for a directory the layer marked opaque (its lower contents hidden).
        removed: for a whiteout, the entry it removed (as the layers below held it), when
            there was one.
    """

    path: str
    change: DiffType
    entry: FileEntry
    whiteout: bool = False
    opaque: bool = False
    removed: FileEntry | None = None


def change_of(node: FileNode | None, index: int) -> DiffType:
    """The change a compared-tree node shows at layer ``index`` (layer 0: everything added)."""
    if index == 0:
        return DiffType.ADDED
    return node.diff if node is not None else DiffType.UNMODIFIED


class _NodeFinder:
    """Finds nodes of one tree by path, as :func:`~dive_py.domain.file_tree.find_node` does,
    keeping each directory's node once found: a layer's entries share their directories, so a
    path costs one lookup below its directory instead of a walk from the root.

    Attributes:
        directories: the directory paths found so far and their nodes (None: absent).
    """

    __slots__ = ("directories",)

    def __init__(self, root: FileNode) -> None:
        self.directories: dict[str, FileNode | None] = {"": root}

    def directory(self, path: str) -> FileNode | None:
        """Return the node at the directory path ``path`` (``""``: the root), or None."""
        directories = self.directories
        pending: list[str] = []
        current = path
        while current not in directories:
            pending.append(current)
            current = current.rpartition("/")[0]
        for directory in reversed(pending):
            up, _, own = directory.rpartition("/")
            directories[directory] = _child(directories[up], own)
        return directories[path]

    def find(self, path: str) -> FileNode | None:
        """Return the node at ``path`` (no leading ``/``; ``""`` is the root), or None."""
        if not path:
            return self.directories[""]
        parent, _, name = path.rpartition("/")
        return _child(self.directory(parent), name)


def _child(node: FileNode | None, name: str) -> FileNode | None:
    if node is None:
        return None
    children = node.children
    if not children:
        return None
    return children.get(name)


def layer_changes(analysis: Analysis, index: int, entries: list[FileEntry]) -> list[PathChange]:
    """Return the change of each of layer ``index``'s entries, in the order given.

    Args:
        analysis: the analysed image.
        index: the layer.
        entries: the layer's entries as listed (``layer_file_list``: whiteouts as ``.wh.name``).
    """
    contents: LayerContents = analysis.image.layers[index].contents
    tree = _NodeFinder(analysis.compared_tree(index, CompareMode.LAYER).root)
    whiteouts = {id(entry) for entry in contents.whiteouts}
    opaque = set(contents.opaque_dirs)
    added, unmodified = DiffType.ADDED, DiffType.UNMODIFIED
    directories = tree.directories
    out = []
    for entry in entries:
        if id(entry) in whiteouts:
            path = deleted_path(entry.path)
            node = tree.find(path)
            before = node.base_entry if node is not None else None
            out.append(PathChange(path, DiffType.REMOVED, entry, whiteout=True, removed=before))
            continue
        path = entry.path
        change = added  # layer 0 adds everything: no lookup
        if index:
            # tree.find(path), unrolled: this loop runs once per entry of the image
            parent, _, name = path.rpartition("/")
            holder = directories.get(parent)
            if holder is None and parent not in directories:
                holder = tree.directory(parent)
            kids = holder.children if holder is not None else None
            node = kids.get(name) if kids else None
            change = node.diff if node is not None else unmodified  # as change_of
        out.append(PathChange(path, change, entry, False, path in opaque))
    return out
