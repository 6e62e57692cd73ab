"""Provides :func:`diff_images`: what two images share and how their final file systems differ.

Shared layers: the longest common prefix of the two images' chain IDs (OCI image spec,
config.md "Layer ChainID": ``ChainID(L0) = DiffID(L0)``, ``ChainID(Ln) = sha256(ChainID(Ln-1)
+ " " + DiffID(Ln))``); two images share a layer exactly when they share its chain ID.

File differences: each image's layers are stacked with the one stacking engine
(:class:`~dive_py.domain.file_tree.StackedStates`, whiteouts and opaque directories applied)
and the two final file systems are compared path by path by the explorer's comparison
(:func:`~dive_py.domain.compare.compare_states`, entries compared by content and metadata):
the lists below are read from that marked tree, which the diff explorer shows as it is. A path only in B is *added*, only
in A *removed* (reported at its topmost path: an added directory once, with the bytes below
it), in both but different *modified*, naming what changed: ``type``, ``content`` (size or
xxh64 of the bytes), ``mode``, ``owner`` (uid/gid) and ``linkTarget``. Directories are
compared by their own metadata only (their contents are compared path by path).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from dive_py.domain.change_type import DiffType
from dive_py.domain.collector_pause import collector_paused
from dive_py.domain.compare import compare_states
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, FileTree, StackedStates
from dive_py.domain.image import Image


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """Return the chain ID of every layer, bottom to top (``"sha256:…"``)."""
    chain: list[str] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            text = f"{chain[-1]} {diff_id}"
            chain.append("sha256:" + hashlib.sha256(text.encode()).hexdigest())
    return chain


@dataclass(frozen=True, slots=True)
class PathChange:
    """One path that differs.

    Attributes:
        path: absolute (``"/etc/os-release"``).
        size_bytes: bytes at the path (a directory: all below it) in B for added and
            modified paths, in A for removed ones.
        before_bytes: bytes in A (modified paths; equals ``size_bytes`` for removed ones,
            0 for added ones).
        changed: for modified paths, what changed: a subset of ``type``, ``content``,
            ``mode``, ``owner``, ``linkTarget``, in that order; empty otherwise.
    """

    path: str
    size_bytes: int
    before_bytes: int = 0
    changed: tuple[str, ...] = ()


@dataclass(slots=True)
class ImageDiff:
    """The comparison of image A with image B.

    Attributes:
        shared_layers: how many bottom layers B shares with A (common chain-ID prefix).
        shared_bytes: the bytes of those layers (sum of their members' sizes).
        a_size_bytes, b_size_bytes: the final file systems' sizes in bytes.
        added, modified, removed: the :class:`PathChange` lists, by path.
        tree: the marked tree they are read from (:func:`compare_final_states`): B's final
            file system with A's removed paths as ghosts, what the diff explorer shows.
    """

    shared_layers: int
    shared_bytes: int
    a_layers: int
    b_layers: int
    a_size_bytes: int
    b_size_bytes: int
    added: list[PathChange] = field(default_factory=list)
    modified: list[PathChange] = field(default_factory=list)
    removed: list[PathChange] = field(default_factory=list)
    tree: FileTree = field(default_factory=FileTree)

    @property
    def identical(self) -> bool:
        """True when the final file systems are the same (layers may still differ)."""
        return not (self.added or self.modified or self.removed)

    @property
    def bytes_difference(self) -> int:
        """B's final size minus A's, in bytes (negative when B is smaller)."""
        return self.b_size_bytes - self.a_size_bytes


def _final_state(image: Image) -> FileNode:
    """The root of what ``image`` shows after its last layer (an empty root without layers)."""
    if not image.layers:
        return FileTree().root
    states = StackedStates([layer.contents for layer in image.layers])
    return states.state(len(image.layers) - 1)


def _what_changed(a: FileEntry, b: FileEntry) -> tuple[str, ...]:
    changed = []
    if a.type is not b.type:
        changed.append("type")
    elif a.type is not EntryType.DIR and (a.size != b.size or a.digest != b.digest):
        changed.append("content")
    if a.mode != b.mode:
        changed.append("mode")
    if a.uid != b.uid or a.gid != b.gid:
        changed.append("owner")
    if a.linkname != b.linkname:
        changed.append("linkTarget")
    return tuple(changed)


def compare_final_states(a_root: FileNode, b_root: FileNode) -> FileTree:
    """The marked tree of B's final file system against A's, as the explorer draws a layer's:
    :func:`~dive_py.domain.compare.compare_states` with entries compared by
    :meth:`FileEntry.same_as` (two images share no node). Added, modified and removed nodes
    carry the explorer's markers; sizes are bytes (a removed directory: all below it)."""
    return FileTree.of_root(compare_states(a_root, b_root, alike=FileEntry.same_as))


def _collect(tree: FileTree, a_root: FileNode, result: ImageDiff) -> None:
    """Fill ``result``'s lists from the marked tree, walking A's final state alongside it for
    the sizes before (iteratively: deep trees)."""
    # (marked node, A's state node at the same path or None, the path)
    stack: list[tuple[FileNode, FileNode | None, str]] = [(tree.root, a_root, "")]
    while stack:
        node, a_node, path = stack.pop()
        a_kids = a_node.children if a_node is not None else None
        for name, child in (node.children or {}).items():
            diff = child.diff
            if diff is DiffType.UNMODIFIED:
                continue  # nothing below it differs either
            child_path = f"{path}/{name}"
            if diff is DiffType.ADDED:
                result.added.append(PathChange(child_path, child.size))
                continue
            if diff is DiffType.REMOVED:
                result.removed.append(PathChange(child_path, child.size, child.size))
                continue
            entry, base_entry = child.entry, child.base_entry
            assert entry is not None and base_entry is not None
            before = a_kids.get(name) if a_kids else None
            changed = _what_changed(base_entry, entry)
            if changed:
                result.modified.append(
                    PathChange(child_path, child.size, before.size if before else 0, changed)
                    if "type" in changed or not entry.is_dir
                    else PathChange(child_path, 0, 0, changed)
                )
            if "type" not in changed and child.children:
                stack.append((child, before, child_path))


def diff_images(
    a: Image, b: Image, final_states: tuple[FileNode | None, FileNode | None] | None = None
) -> ImageDiff:
    """Compare image ``a`` with image ``b``.

    Args:
        a, b: the two images.
        final_states: the roots of A's and B's final file systems when the caller has them
            stacked already (:meth:`~dive_py.domain.analysis.Analysis.final_state`: the
            analysis keeps them for the file viewer; None for an image without layers);
            by default each image is stacked here.

    Returns:
        The :class:`ImageDiff`; its lists are sorted by path.
    """
    a_chain = chain_ids([layer.diff_id for layer in a.layers])
    b_chain = chain_ids([layer.diff_id for layer in b.layers])
    shared = 0
    for left, right in zip(a_chain, b_chain, strict=False):
        if left != right:
            break
        shared += 1
    with collector_paused():  # (one object per entry, no cycles: see collector_pause)
        if final_states is None:
            a_root, b_root = _final_state(a), _final_state(b)
        else:
            empty = FileTree().root
            a_root = final_states[0] if final_states[0] is not None else empty
            b_root = final_states[1] if final_states[1] is not None else empty
        tree = compare_final_states(a_root, b_root)
        result = ImageDiff(
            shared_layers=shared,
            shared_bytes=sum(layer.size_bytes for layer in a.layers[:shared]),
            a_layers=len(a.layers),
            b_layers=len(b.layers),
            a_size_bytes=a_root.size,
            b_size_bytes=b_root.size,
            tree=tree,
        )
        _collect(tree, a_root, result)
        for changes in (result.added, result.modified, result.removed):
            changes.sort(key=lambda change: change.path.encode("utf-8", "surrogateescape"))
    return result
