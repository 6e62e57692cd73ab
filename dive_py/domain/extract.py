"""Provides :func:`extract`: write a file or directory as it is at one layer into a directory, safely.

Everything written stays inside the target directory, whatever the image holds: names come
from the stacked tree (single components: absolute names and ``..`` were clamped when the
layers were read, and are checked again here), every directory is opened component by
component with ``O_NOFOLLOW | O_DIRECTORY`` relative to the target's descriptor (a symlink in
the target, written by this extraction or there before, is never followed), symlinks are
written as symlinks and never followed, a hardlink becomes a link only to a file this
extraction wrote (else a copy of its data). Device nodes and FIFOs are skipped with a note.
setuid/setgid bits and ownership are dropped unless ``preserve`` (root only). Each file is
written to a temporary name and renamed into place, so a failure leaves no partial file;
an existing path is replaced only with ``force``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_content import (
    ContentError,
    ContentReader,
    FileVersion,
    layer_of,
    resolve_path,
    state_root,
)
from dive_py.domain.file_tree import FileNode, find_node
from dive_py.domain.tar_stream import Readable
from dive_py.errors import OutputError, UsageError

if TYPE_CHECKING:
    from dive_py.domain.analysis import Analysis

_CHUNK = 1 << 20
_PERMISSIONS = 0o1777
"""Mode bits kept without ``preserve``: permissions and sticky (setuid/setgid dropped)."""


@dataclass(slots=True)
class ExtractReport:
    """What an extraction did.

    Attributes:
        written: relative paths written (files, links, directories), in the order written.
        skipped: (relative path, why) of entries not written (devices, FIFOs, unknown data).
        bytes_written: bytes of file content written.
    """

    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    bytes_written: int = 0


@dataclass(slots=True)
class _Planned:
    parts: tuple[str, ...]  # the path below the target directory, one component each
    entry: FileEntry
    version: FileVersion | None = None  # files (and hardlinks written as copies)
    link_to: tuple[str, ...] | None = None  # hardlinks to a file this extraction writes


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def exists_at(analysis: Analysis, index: int, path: str) -> bool:
    """True when ``path`` (absolute; its last component not followed) exists in the file
    system as stacked up to layer ``index`` (0 = the base layer): what :func:`extract` writes.
    False also when a parent cannot be resolved (missing, not a directory, a symlink loop).
    """
    root = state_root(analysis, index)
    try:
        resolved, _ = resolve_path(root, path, follow_last=False)
    except ContentError:
        return False
    top = find_node(root, resolved)
    return top is not None and top.entry is not None


def removed_by_layer(analysis: Analysis, index: int, path: str) -> bool:
    """True when layer ``index`` removed ``path`` (absolute; its last component not followed):
    the path is absent at ``index``, present at ``index - 1``, and layer ``index``'s tree shows
    it as a removed (``-``) row: a whiteout, a child an opaque directory dropped, or anything
    below a directory a file or symlink replaced. Then the version it removed is the one
    :func:`extract` writes at ``index - 1`` (what the explorer's Enter and ctrl+e show on a
    removed row, and what ``divepy extract --layer N`` writes).

    False at layer 0, when the path exists at ``index``, when no layer up to ``index - 1``
    holds it (never existed, or removed by an earlier layer), or when it went only because a
    symlink on its way changed (the path layer ``index - 1`` resolves it to is still there).
    Parents are resolved in layer ``index - 1``'s file system.

    Raises:
        ContentError: ``index`` is not a layer of the image.
    """
    if index <= 0 or exists_at(analysis, index, path):
        return False
    below = state_root(analysis, index - 1)
    try:
        resolved, _ = resolve_path(below, path, follow_last=False)
    except ContentError:
        return False
    held = find_node(below, resolved)
    if held is None or held.entry is None:
        return False
    row = find_node(state_root(analysis, index), resolved)
    return row is not None and row.entry is None


def removing_layer(analysis: Analysis, index: int, path: str) -> int | None:
    """Return the layer whose removal of ``path`` layer ``index``'s trees show: the latest
    layer ``k`` in ``1..index`` that removed it (:func:`removed_by_layer`), or None when the
    path exists at ``index`` or no layer up to it removed it.

    In the layer-changes mode a removed row is always layer ``index``'s own removal; in the
    aggregated mode (layers ``1..index`` against the base) it may be an earlier layer's, and
    the tree then shows the entry the path had just before the latest removal (see
    :mod:`dive_py.domain.compare`): the version of layer ``k - 1``, which the explorer's Enter
    and ctrl+e show and extract. Each layer looked at costs its layer-changes tree (kept in
    the analysis's cache).

    Raises:
        ContentError: ``index`` is not a layer of the image.
    """
    if exists_at(analysis, index, path):
        return None
    for layer in range(index, 0, -1):
        if removed_by_layer(analysis, layer, path):
            return layer
    return None


def _plan(reader: ContentReader, index: int, path: str, report: ExtractReport) -> list[_Planned]:
    analysis = reader.analysis
    root = state_root(analysis, index)
    resolved, _ = resolve_path(root, path, follow_last=False)
    top = find_node(root, resolved)
    if top is None or top.entry is None:
        raise ContentError(f"/{path.strip('/')} does not exist at layer {index}", "check the path")
    layers = analysis.image.layers
    final_root = state_root(analysis, len(layers) - 1)
    base = (resolved.rpartition("/")[2],) if resolved else ()
    planned: list[_Planned] = []
    written_data: dict[int, tuple[str, ...]] = {}

    def version_of(entry: FileEntry, data: FileEntry) -> FileVersion:
        final = find_node(final_root, data.path)
        return FileVersion(
            entry.path,
            index,
            data.path,
            entry,
            data,
            layer_of(layers, index, data),
            (),
            final is not None and final.entry is data,
        )

    stack: list[tuple[FileNode, tuple[str, ...]]] = [(top, base)]
    while stack:
        node, parts = stack.pop()
        entry = node.entry
        if entry is None:
            continue  # a ghost (removed at this layer)
        if not all(_safe_name(part) for part in parts):
            report.skipped.append(("/".join(parts), "unsafe name"))
            continue
        kind = entry.type
        if kind is EntryType.DIR:
            if parts:
                planned.append(_Planned(parts, entry))
            for name in sorted(node.children or (), reverse=True):
                stack.append((node.children[name], (*parts, name)))  # type: ignore[index]  # a directory has children
        elif kind in (EntryType.FILE, EntryType.OTHER):
            item = _Planned(parts, entry, version_of(entry, entry))
            written_data.setdefault(id(entry), parts)
            planned.append(item)
        elif kind is EntryType.SYMLINK:
            planned.append(_Planned(parts, entry))
        elif kind is EntryType.HARDLINK:
            if entry.data is None:
                report.skipped.append(("/".join(parts), "hardlink whose target is unknown"))
                continue
            planned.append(_Planned(parts, entry, version_of(entry, entry.data)))
        else:
            report.skipped.append(("/".join(parts), f"{kind.name.lower().replace('_', ' ')}"))
    # hardlinks whose data this extraction writes under another name become links to it
    for item in planned:
        if item.entry.type is EntryType.HARDLINK and item.version is not None:
            data = item.version.data
            target = written_data.get(id(data)) if data is not None else None
            if target is not None and target != item.parts:
                item.link_to = target
                item.version = None
            elif data is not None:
                written_data.setdefault(id(data), item.parts)
    return planned


def _open_dir(top: int, parts: tuple[str, ...], create: bool) -> int:
    """Open the directory ``parts`` below ``top`` without following any symlink."""
    fd = os.dup(top)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def _directory(top: int, parts: tuple[str, ...]) -> Iterator[int]:
    fd = _open_dir(top, parts, create=True)
    try:
        yield fd
    finally:
        os.close(fd)


def _exists(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _mode(entry: FileEntry, preserve: bool) -> int:
    return entry.mode & (0o7777 if preserve else _PERMISSIONS)


def _place(fd: int, name: str, force: bool, make: Callable[[str], None], what: str) -> None:
    """Make ``name`` in ``fd`` through a temporary name and a rename (replacing only with force)."""
    if _exists(fd, name) and not force:
        raise OutputError(
            f"{what} exists already", "use --force to replace it, or choose another -o DIR"
        )
    temporary = f".divepy-{secrets.token_hex(6)}.tmp"
    try:
        make(temporary)
        os.rename(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=fd)
        raise


def extract(
    reader: ContentReader,
    index: int,
    path: str,
    target: str,
    *,
    force: bool = False,
    preserve: bool = False,
    cancel: Callable[[], bool] | None = None,
) -> ExtractReport:
    """Write ``path`` as it is at layer ``index`` into the directory ``target``.

    The path's last component is written under its own name in ``target``
    (``/etc/nginx`` -> ``target/nginx``); ``/`` writes the whole file system into ``target``.

    Args:
        reader: reads the image's file versions.
        index: the layer (0 = the base layer).
        path: the path in the image.
        target: the directory to write into (created if missing; its parent must exist).
        force: replace existing files and links.
        preserve: keep setuid/setgid bits and ownership (root only).
        cancel: called now and then; True stops the extraction.

    Returns:
        The :class:`ExtractReport`.

    Raises:
        UsageError: ``preserve`` without root.
        ContentError: the path does not exist at that layer, or its bytes cannot be read.
        OutputError: ``target`` cannot be written, or a path exists and ``force`` is off.
        ContentCancelled: ``cancel`` returned True (files written so far stay, none partial).
    """
    if preserve and os.geteuid() != 0:
        raise UsageError(
            "--preserve needs root (ownership cannot be given away otherwise)",
            "run as root, or drop --preserve",
        )
    report = ExtractReport()
    planned = _plan(reader, index, path, report)
    try:
        os.makedirs(target, exist_ok=True)
        top = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(
            f"cannot write into {target}: {(exc.strerror or str(exc)).lower()}",
            "choose a writable directory with -o DIR",
        ) from None
    try:
        _write_all(reader, planned, top, force, preserve, cancel, report)
    except OSError as exc:
        raise OutputError(
            f"cannot write into {target}: {(exc.strerror or str(exc)).lower()}"
            + (f" ({exc.filename})" if exc.filename else ""),
            "check the directory's permissions and free space",
        ) from None
    finally:
        os.close(top)
    return report


def _write_all(
    reader: ContentReader,
    planned: list[_Planned],
    top: int,
    force: bool,
    preserve: bool,
    cancel: Callable[[], bool] | None,
    report: ExtractReport,
) -> None:
    # 1. refuse before writing anything when a path exists and force is off
    if not force:
        for item in planned:
            if item.entry.type is EntryType.DIR:
                continue
            with contextlib.suppress(OSError):
                fd = _open_dir(top, item.parts[:-1], create=False)
                try:
                    if _exists(fd, item.parts[-1]):
                        raise OutputError(
                            f"{'/'.join(item.parts)} exists already",
                            "use --force to replace it, or choose another -o DIR",
                        )
                finally:
                    os.close(fd)
    # 2. directories (owner-only until their contents are in)
    directories = [item for item in planned if item.entry.type is EntryType.DIR]
    for item in directories:
        os.close(_open_dir(top, item.parts, create=True))
        report.written.append("/".join(item.parts))
    # 3. file contents, in the order their bytes lie in the image
    by_data = {id(item.version.data): item for item in planned if item.version is not None}

    def sink(version: FileVersion, stream: Readable) -> None:
        item = by_data[id(version.data)]
        with _directory(top, item.parts[:-1]) as fd:

            def make(name: str) -> None:
                out = os.open(
                    name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd
                )
                try:
                    while True:
                        data = stream.read(_CHUNK)
                        if not data:
                            break
                        os.write(out, data)
                        report.bytes_written += len(data)
                    _apply_mode(out, item.entry, preserve)
                finally:
                    os.close(out)

            _place(fd, item.parts[-1], force, make, "/".join(item.parts))
        report.written.append("/".join(item.parts))

    versions = [item.version for item in planned if item.version is not None]
    reader.stream_versions(versions, sink, cancel=cancel)
    # 4. symlinks (never followed) and hardlinks to files written above
    for item in planned:
        if item.entry.type is EntryType.SYMLINK:
            link = item.entry.linkname
            with _directory(top, item.parts[:-1]) as fd:
                _place(
                    fd,
                    item.parts[-1],
                    force,
                    functools.partial(_symlink, link, fd),
                    "/".join(item.parts),
                )
                if preserve:
                    os.chown(
                        item.parts[-1],
                        item.entry.uid,
                        item.entry.gid,
                        dir_fd=fd,
                        follow_symlinks=False,
                    )
            report.written.append("/".join(item.parts))
        elif item.link_to is not None:
            source = item.link_to
            with _directory(top, source[:-1]) as src, _directory(top, item.parts[:-1]) as dst:
                _place(
                    dst,
                    item.parts[-1],
                    force,
                    functools.partial(_hardlink, src, source[-1], dst),
                    "/".join(item.parts),
                )
            report.written.append("/".join(item.parts))
    # 5. directory modes, deepest first (a read-only directory last)
    for item in sorted(directories, key=lambda i: len(i.parts), reverse=True):
        fd = _open_dir(top, item.parts, create=False)
        try:
            _apply_mode(fd, item.entry, preserve)
        finally:
            os.close(fd)


def _symlink(link: str, fd: int, name: str) -> None:
    os.symlink(link, name, dir_fd=fd)


def _hardlink(src: int, existing: str, dst: int, name: str) -> None:
    os.link(existing, name, src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)


def _apply_mode(fd: int, entry: FileEntry, preserve: bool) -> None:
    if preserve:
        os.fchown(fd, entry.uid, entry.gid)
    os.fchmod(fd, _mode(entry, preserve))
