"""Provides :func:`diff_images`: what two images share and how their final file systems differ.

Shared layers: the longest common prefix of the two images' chain IDs (OCI image spec,
config.md "Layer ChainID": ``ChainID(L0) = DiffID(L0)``, ``ChainID(Ln) = sha256(ChainID(Ln-1)
+ " " + DiffID(Ln))``); two images share a layer exactly when they share its chain ID.

File differences: each image's layers are stacked with the one stacking engine
(:class:`~dive_py.domain.file_tree.StackedStates`, whiteouts and opaque directories applied)
and the two final file systems are compared path by path. A path only in B is *added*, only
in A *removed* (reported at its topmost path: an added directory once, with the bytes below
it), in both but different *modified*, naming what changed: ``type``, ``content`` (size or
xxh64 of the bytes), ``mode``, ``owner`` (uid/gid) and ``linkTarget``. Directories are
compared by their own metadata only (their contents are compared path by path).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, StackedStates
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

    @property
    def identical(self) -> bool:
        """True when the final file systems are the same (layers may still differ)."""
        return not (self.added or self.modified or self.removed)

    @property
    def bytes_difference(self) -> int:
        """B's final size minus A's, in bytes (negative when B is smaller)."""
        return self.b_size_bytes - self.a_size_bytes


def _final_state(image: Image) -> FileNode | None:
    if not image.layers:
        return None
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


def _compare(a: FileNode, b: FileNode, result: ImageDiff) -> None:
    """Compare the children of two directory nodes at the same path (iteratively)."""
    stack = [(a, b)]
    while stack:
        left, right = stack.pop()
        if left is right:
            continue  # a shared subtree: identical by construction
        a_kids = left.children or {}
        b_kids = right.children or {}
        for name in sorted(set(a_kids) | set(b_kids)):
            a_node = a_kids.get(name)
            b_node = b_kids.get(name)
            if a_node is None and b_node is not None:
                result.added.append(PathChange(b_node.path, b_node.size))
                continue
            if b_node is None and a_node is not None:
                result.removed.append(PathChange(a_node.path, a_node.size, a_node.size))
                continue
            assert a_node is not None and b_node is not None
            a_entry, b_entry = a_node.entry, b_node.entry
            if a_entry is None or b_entry is None:
                continue
            changed = _what_changed(a_entry, b_entry)
            if changed:
                result.modified.append(
                    PathChange(b_node.path, b_node.size, a_node.size, changed)
                    if "type" in changed or not b_node.is_dir
                    else PathChange(b_node.path, 0, 0, changed)
                )
            if a_node.is_dir and b_node.is_dir and "type" not in changed:
                stack.append((a_node, b_node))


def diff_images(a: Image, b: Image) -> ImageDiff:
    """Compare image ``a`` with image ``b``.

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
    a_root = _final_state(a)
    b_root = _final_state(b)
    result = ImageDiff(
        shared_layers=shared,
        shared_bytes=sum(layer.size_bytes for layer in a.layers[:shared]),
        a_layers=len(a.layers),
        b_layers=len(b.layers),
        a_size_bytes=a_root.size if a_root is not None else 0,
        b_size_bytes=b_root.size if b_root is not None else 0,
    )
    if a_root is not None and b_root is not None:
        _compare(a_root, b_root, result)
    elif b_root is not None:
        result.added.extend(PathChange(n.path, n.size) for n in (b_root.children or {}).values())
    elif a_root is not None:
        result.removed.extend(
            PathChange(n.path, n.size, n.size) for n in (a_root.children or {}).values()
        )
    for changes in (result.added, result.modified, result.removed):
        changes.sort(key=lambda change: change.path.encode("utf-8", "surrogateescape"))
    return result
