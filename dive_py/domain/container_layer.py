"""Provides :func:`build_container_layer`: a container's read/write layer as layer contents.

A container is its image's read-only layers plus one thin read/write layer on top, where
copy-on-write copies a file up the first time it is changed (Docker's storage drivers, overlay2
"upperdir"). The engine tells what changed (Docker Engine API ``GET /containers/{id}/changes``,
what ``docker diff`` prints: kind 0 modified ``C``, 1 added ``A``, 2 deleted ``D``); the
archive API tells the sizes, modes, owners and link targets (``GET /containers/{id}/archive``,
a tar streamed through divepy's own tar reader, never extracted; ``HEAD`` for a stat without
the bytes). This module turns those answers into a
:class:`~dive_py.domain.layer_tar.LayerContents` that the one stacking engine
(:class:`~dive_py.domain.file_tree.StackedStates`) applies on top of the image like any layer:

* an added path whose parent was not added too is fetched once with ``GET`` (a directory added
  as a whole comes in one tar, not file by file);
* when many paths to read sit in one directory that stores little in the image, that
  directory is fetched once and the changed paths are picked out of its tar (every archive
  request makes the engine mount the container's file system: 10,000 requests take minutes;
  see :data:`BYTES_PER_REQUEST`);
* a modified file is fetched with ``GET`` (the whole file was copied up, however small the
  change);
* a modified directory is only ``HEAD``-ed: ``changes`` reports a directory as modified when
  anything inside it changed, which copies nothing; it becomes an entry of its own only when
  its mode changed, and costs 0 bytes either way;
* a deleted path becomes a whiteout (``.wh.NAME``, OCI image spec layer.md "Whiteouts").

Figures (bytes, sizes of the entries as read from the archive API):

* ``added_bytes``: files at paths the image does not have;
* ``copied_up_bytes``: files at paths the image has (modified, hence copied up whole);
* ``hidden_bytes``: bytes still stored in the image's layers under paths the container deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, find_node
from dive_py.domain.layer_tar import EMPTY_DIGEST, LayerContents, LayerFormatError, read_layer
from dive_py.domain.tar_stream import Readable
from dive_py.domain.whiteout import WHITEOUT_PREFIX

ChangeKind = Literal["added", "modified", "deleted"]

CHANGE_KINDS: dict[int, ChangeKind] = {0: "modified", 1: "added", 2: "deleted"}
"""Engine API ``Kind`` -> divepy's name (``docker diff``: C, A, D)."""

GO_MODE_DIR = 1 << 31
"""Go's ``os.ModeDir``, as the archive API's path stat carries it."""


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """A container as ``GET /containers/{id}/json`` describes it.

    Attributes:
        id: the full container ID (64 hex digits).
        name: the name without the leading ``/``.
        image: the image as the container was created from it (``Config.Image``: a name, or an
            ID).
        image_id: the image's ID (``"sha256:…"``).
        state: ``State.Status`` (``"running"``, ``"exited"``, ``"created"``, ``"paused"``…).
        created: the container's creation time as the engine writes it (RFC 3339).
    """

    id: str
    name: str
    image: str
    image_id: str
    state: str
    created: str = ""


@dataclass(frozen=True, slots=True)
class PathStat:
    """What ``HEAD /containers/{id}/archive?path=P`` tells of a path.

    Attributes:
        name: the last path component.
        size: bytes (the file system's size: 4096 for a directory on ext4).
        mode: Go ``os.FileMode`` bits (directory ``1<<31``, symlink ``1<<27``, permissions low).
        link_target: the symlink's target, or ``""``.
    """

    name: str
    size: int
    mode: int
    link_target: str = ""

    @property
    def is_dir(self) -> bool:
        """True for a directory."""
        return bool(self.mode & GO_MODE_DIR)


class ContainerArchive(Protocol):
    """The archive API of one container (the engine source implements it over the docker SDK)."""

    def stat(self, path: str) -> PathStat | None:
        """Stat an absolute path; None when it does not exist (any more)."""
        ...

    def archive(self, path: str) -> Readable | None:
        """Return a tar stream of an absolute path (a directory with all below it); None when
        it does not exist (any more)."""
        ...


@dataclass(frozen=True, slots=True)
class ContainerChange:
    """One line of ``docker diff``, with its bytes.

    Attributes:
        path: absolute path (``"/etc/passwd"``).
        change: ``"added"``, ``"modified"`` or ``"deleted"``.
        size_bytes: for an added or modified file its size as copied up; for a directory 0;
            for a deleted path the bytes the image still stores below it (hidden now).
    """

    path: str
    change: ChangeKind
    size_bytes: int


@dataclass(slots=True)
class ContainerLayer:
    """A container's read/write layer.

    Attributes:
        contents: the layer as divepy's other layers (entries, whiteouts, implicit
            directories), ready to be stacked on the image's layers.
        changes: every change the engine reported, in path order.
        added_bytes: bytes of files at paths the image does not have.
        copied_up_bytes: bytes of files the image has that the container modified (each copied
            up whole).
        hidden_bytes: bytes the image still stores under paths the container deleted.
        vanished: paths the engine reported but that were gone when the archive API was asked
            (a running container keeps changing).
    """

    contents: LayerContents
    changes: list[ContainerChange] = field(default_factory=list)
    added_bytes: int = 0
    copied_up_bytes: int = 0
    hidden_bytes: int = 0
    vanished: list[str] = field(default_factory=list)


def _find(root: FileNode | None, path: str) -> FileNode | None:
    """The node at ``path`` below ``root`` (the image's final state; None when it has none)."""
    return None if root is None else find_node(root, path)


def _subtree_bytes(node: FileNode) -> int:
    """Bytes of the files under ``node`` (the node itself included). A hardlink counts 0: its
    data is counted under the name that holds it."""
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        entry = current.entry
        if entry is not None and entry.type not in (EntryType.DIR, EntryType.HARDLINK):
            total += entry.size
        if current.children:
            stack.extend(current.children.values())
    return total


def _relocated(contents: LayerContents, parent: str) -> Iterable[FileEntry]:
    """The entries of a tar the archive API made for a path below ``parent``, their paths (and
    hardlink targets) made paths of the container's file system."""
    prefix = parent + "/" if parent else ""
    for entry in itertools.chain(contents.entries.values()):
        entry.path = prefix + entry.path
        if entry.type is EntryType.HARDLINK and entry.linkname:
            entry.linkname = prefix + entry.linkname
        yield entry


def _normalise(path: str) -> str:
    return "/".join(part for part in path.split("/") if part and part != ".")


def _top_paths(paths: Sequence[str]) -> list[str]:
    """The paths of ``paths`` (sorted) that have no proper ancestor in ``paths``."""
    tops: list[str] = []
    members = set(paths)
    for path in paths:
        parent = path.rpartition("/")[0]
        covered = False
        while parent:
            if parent in members:
                covered = True
                break
            parent = parent.rpartition("/")[0]
        if not covered:
            tops.append(path)
    return tops


BYTES_PER_REQUEST = 4_000_000
"""What one archive request costs, in bytes streamed: each request makes the engine mount the
container's file system (about 40 ms on Docker 20.10), time in which some 4 MB of tar stream
by. A directory holding ``n`` paths to read is fetched whole (its unchanged files read and
dropped) when the image stores at most ``n`` times this many bytes under it."""


@dataclass(slots=True)
class _Fetch:
    """One archive request: ``path`` fetched, for the ``targets`` (paths whose entries, and
    everything below them, are wanted) and the modified directories ``dirs`` below it."""

    path: str
    targets: list[str]
    dirs: list[str]


def _bytes_at_most(node: FileNode, limit: int) -> bool:
    """True when the files under ``node`` hold at most ``limit`` bytes (stops early)."""
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        entry = current.entry
        if entry is not None and entry.type is not EntryType.DIR:
            total += entry.size
            if total > limit:
                return False
        if current.children:
            stack.extend(current.children.values())
    return True


def _fetch_plan(
    targets: Sequence[str], dirs: Sequence[str], lower: FileNode | None
) -> tuple[list[_Fetch], list[str]]:
    """Plan the archive requests: every target read once, as few requests as pay.

    A directory (never the root: that is the whole image) is fetched whole when it holds two
    or more of the paths to read (targets and modified directories) and the image stores at
    most :data:`BYTES_PER_REQUEST` bytes per such path under it; the shallowest such
    directory wins. Every other target is fetched alone.

    Returns:
        (the requests, the modified directories left to stat one by one).
    """
    reads = sorted({*targets, *dirs})
    under: dict[str, int] = {}
    for path in reads:
        parent = path.rpartition("/")[0]
        while parent:
            under[parent] = under.get(parent, 0) + 1
            parent = parent.rpartition("/")[0]
    chosen: list[str] = []
    for directory in sorted(under, key=lambda p: (p.count("/"), p)):
        count = under[directory] + (1 if directory in dirs else 0)
        if count < 2 or _covering(directory, set(chosen)) is not None:
            continue
        node = _find(lower, directory)
        if node is not None and _bytes_at_most(node, BYTES_PER_REQUEST * count):
            chosen.append(directory)
    groups = {directory: _Fetch(directory, [], []) for directory in chosen}
    whole = set(chosen)
    plan: list[_Fetch] = []
    alone: list[str] = []
    target_set = set(targets)
    for path in reads:
        owner = _covering(path, whole)
        if owner is not None:
            group = groups[owner]
            (group.targets if path in target_set else group.dirs).append(path)
        elif path in target_set:
            plan.append(_Fetch(path, [path], []))
        else:
            alone.append(path)
    plan.extend(groups[directory] for directory in chosen)
    return plan, alone


def _covering(path: str, wanted: set[str]) -> str | None:
    """The path of ``wanted`` that is ``path`` or one of its ancestors, or None."""
    current = path
    while current:
        if current in wanted:
            return current
        current = current.rpartition("/")[0]
    return None


def build_container_layer(
    changes: Iterable[tuple[str, int]],
    archive: ContainerArchive,
    lower: FileNode | None,
    progress: Callable[[int, int], None] | None = None,
) -> ContainerLayer:
    """Build a container's read/write layer from its changes and its archive API.

    Args:
        changes: ``(absolute path, kind)`` as ``GET /containers/{id}/changes`` lists them
            (kind 0 modified, 1 added, 2 deleted; other kinds are ignored).
        archive: the container's archive API.
        lower: the root of the image's final file system (the stacked state of its last
            layer), or None for an image without layers.
        progress: called with (paths fetched, paths to fetch) after every fetch.

    Returns:
        The :class:`ContainerLayer`.

    Raises:
        LayerFormatError: the archive API sent a tar divepy cannot read.
        (and whatever ``archive`` raises: the source turns a container that disappeared into
        an :class:`~dive_py.errors.ImageError`.)
    """
    kinds: dict[str, ChangeKind] = {}
    for raw_path, raw_kind in changes:
        path = _normalise(raw_path)
        kind = CHANGE_KINDS.get(raw_kind)
        if path and kind is not None:
            kinds[path] = kind
    ordered = sorted(kinds)
    added = [path for path in ordered if kinds[path] == "added"]
    fetch_added = _top_paths(added)
    fetch_modified: list[str] = []
    stat_modified: list[str] = []
    for path in ordered:
        if kinds[path] != "modified":
            continue
        below = _find(lower, path)
        if below is not None and below.entry is not None and below.entry.is_dir:
            stat_modified.append(path)
        else:
            fetch_modified.append(path)
    total = len(fetch_added) + len(fetch_modified) + len(stat_modified)
    done = 0
    entries: dict[str, FileEntry] = {}
    vanished: list[str] = []
    size_bytes = 0

    plan, stat_alone = _fetch_plan([*fetch_added, *fetch_modified], stat_modified, lower)
    for request in plan:
        stream = archive.archive("/" + request.path)
        if stream is None:
            vanished.extend("/" + target for target in request.targets)
        else:
            try:
                contents = read_layer(stream)
            except LayerFormatError as exc:
                raise LayerFormatError(
                    f"the archive of /{request.path} is not a readable tar: {exc}", exc.offset
                ) from None
            wanted = set(request.targets)
            found: set[str] = set()
            for entry in _relocated(contents, request.path.rpartition("/")[0]):
                if entry.path in request.dirs:
                    found.add(entry.path)
                    _keep_directory(entries, entry, _find(lower, entry.path))
                    continue
                target = _covering(entry.path, wanted)
                if target is None:
                    continue  # an unchanged file of the directory fetched whole
                found.add(target)
                entries[entry.path] = entry
                size_bytes += entry.size
            vanished.extend(
                "/" + path for path in (*request.targets, *request.dirs) if path not in found
            )
        done += len(request.targets) + len(request.dirs)
        if progress is not None:
            progress(done, total)

    for path in stat_alone:
        found_stat = archive.stat("/" + path)
        below = _find(lower, path)
        if found_stat is None:
            vanished.append("/" + path)
        elif below is not None and below.entry is not None:
            mode = found_stat.mode & 0o777
            old = below.entry
            if found_stat.is_dir and mode != old.mode & 0o777:
                entries[path] = FileEntry(
                    path, EntryType.DIR, 0, (old.mode & ~0o777) | mode, old.uid, old.gid
                )
        done += 1
        if progress is not None:
            progress(done, total)

    whiteouts: list[FileEntry] = []
    hidden = 0
    records: list[ContainerChange] = []
    for path in ordered:
        kind = kinds[path]
        if kind == "deleted":
            parent, _, name = path.rpartition("/")
            marker = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else WHITEOUT_PREFIX + name
            whiteouts.append(FileEntry(marker, EntryType.FILE, 0, 0, 0, 0, "", EMPTY_DIGEST))
            below = _find(lower, path)
            lost = _subtree_bytes(below) if below is not None else 0
            hidden += lost
            records.append(ContainerChange("/" + path, kind, lost))
        else:
            fetched = entries.get(path)
            size = fetched.size if fetched is not None and not fetched.is_dir else 0
            records.append(ContainerChange("/" + path, kind, size))

    added_bytes = copied_up = 0
    for path, entry in entries.items():
        if entry.size == 0:
            continue
        below = _find(lower, path)
        if below is not None and below.entry is not None and not below.entry.is_dir:
            copied_up += entry.size
        else:
            added_bytes += entry.size

    contents = LayerContents(
        entries=dict(sorted(entries.items())),
        whiteouts=whiteouts,
        size_bytes=size_bytes,
        member_count=len(entries) + len(whiteouts),
    )
    contents.implicit_dirs = _implicit_dirs(contents, lower)
    return ContainerLayer(
        contents=contents,
        changes=records,
        added_bytes=added_bytes,
        copied_up_bytes=copied_up,
        hidden_bytes=hidden,
        vanished=vanished,
    )


def _keep_directory(
    entries: dict[str, FileEntry], entry: FileEntry, below: FileNode | None
) -> None:
    """Keep a modified directory read from a tar only when its mode or owner changed (else
    only something inside it changed: it costs nothing and stays implicit)."""
    old = below.entry if below is not None else None
    if (
        old is None
        or not old.is_dir
        or (entry.mode, entry.uid, entry.gid)
        != (
            old.mode,
            old.uid,
            old.gid,
        )
    ):
        entries[entry.path] = entry


def _implicit_dirs(contents: LayerContents, lower: FileNode | None) -> dict[str, FileEntry]:
    """Directories the layer holds only because something below them changed: the image's
    directory (mode and owner) where it has one, else ``0755 root``; never explicit."""
    implicit: dict[str, FileEntry] = {}
    for path in itertools.chain(contents.entries, (w.path for w in contents.whiteouts)):
        parent = path.rpartition("/")[0]
        while parent and parent not in implicit and parent not in contents.entries:
            below = _find(lower, parent)
            old = below.entry if below is not None else None
            if old is not None and old.is_dir:
                implicit[parent] = FileEntry(
                    parent, EntryType.DIR, 0, old.mode, old.uid, old.gid, "", 0, False
                )
            else:
                implicit[parent] = FileEntry(parent, EntryType.DIR, 0, 0o755, 0, 0, "", 0, False)
            parent = parent.rpartition("/")[0]
    return implicit


@dataclass(slots=True)
class Container:
    """A container attached to its image's analysis.

    Attributes:
        info: the container as the engine describes it.
        layer: its read/write layer.
        layer_index: the layer's index in the analysed image (on top of the image's layers).
    """

    info: ContainerInfo
    layer: ContainerLayer
    layer_index: int
