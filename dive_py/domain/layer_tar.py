"""Provides :func:`read_layer`: one streaming pass over a layer tar into a :class:`LayerContents`.

The pass reads every header, hashes every file's bytes with xxh64 as they go by (content
compare decides "modified"), computes the layer's diff ID (sha256 of the uncompressed tar,
OCI image spec config.md "layer DiffID") and never extracts or keeps file contents.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

import xxhash

from dive_py.domain.blob_location import BlobLocation
from dive_py.domain.compression import (
    HEAD_BYTES,
    Compression,
    CorruptStreamError,
    UnsupportedCompressionError,
    open_decompressed,
)
from dive_py.domain.data_offsets import DataOffsets
from dive_py.domain.entry import TYPE_OF_TYPEFLAG, EntryType, FileEntry
from dive_py.domain.tar_stream import Readable, TarFormatError, TarReader
from dive_py.domain.whiteout import AUFS_META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX

xxh64 = xxhash.xxh64

DIGEST_MASK = (1 << 60) - 1
"""Entries keep the low 60 bits of a file's xxh64: an int below 2**60 takes 32 bytes, a full
64-bit one 40 (about 8 MiB at 1,000,000 entries, issue 11). Digests are only compared with
each other (the "modified" test), and a chance collision stays about 2**-60 per pair."""

EMPTY_DIGEST = xxhash.xxh64(b"").intdigest() & DIGEST_MASK
"""xxh64 of no bytes (its low 60 bits, as every digest): the digest of empty files, symlinks
and hardlinks (as in dive)."""


class LayerFormatError(Exception):
    """A layer blob is not a readable tar (corrupt, truncated, bad compression).

    Attributes:
        offset: byte offset in the uncompressed layer where reading failed, when known.
        hint: what the user can do, when it is not "the blob is damaged" (e.g. for a
            compression no engine reads); None otherwise.
    """

    def __init__(self, message: str, offset: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.hint = hint


EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
"""The diff ID of an empty layer: sha256 of a tar of two zero blocks (1,024 zero bytes).

Docker records this diff ID for a step that changed nothing, yet Docker 20.10's ``docker
save`` writes such a layer as a 0-byte ``layer.tar``; a 0-byte blob is read as this layer.
"""
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(slots=True)
class LayerContents:
    """Everything divepy keeps of one layer tar.

    Attributes:
        entries: path -> :class:`FileEntry` for every ordinary entry, in tar order (the last
            entry wins when a path repeats). Paths have no leading ``/``.
        whiteouts: the whiteout entries themselves (path ``"dir/.wh.name"``), in tar order.
        opaque_dirs: paths of directories marked opaque (``""`` for the root).
        size_bytes: sum of the members' sizes in bytes (dive's layer size).
        member_count: number of tar members read (whiteouts and opaque markers included).
        compression: how the blob was compressed.
        diff_id: ``"sha256:<hex>"`` of the uncompressed tar stream.
        escaped_paths: member names that tried to climb above the root with ``..`` (they were
            clamped to the root, as ``path.Clean("/" + name)`` does).
        implicit_dirs: directories the tar did not spell out but that have entries beneath
            them (whiteouts and opaque markers included: the engine makes their parents too),
            as real directory entries (``explicit`` False; mode and owner of the lower layer's
            directory where there is one). Filled in by the efficiency pass, which knows the
            layers below.
        tar_bytes: length in bytes of the uncompressed tar stream (what the diff ID hashes;
            lets a source tell a known layer by its size before hashing it).
        duplicate_paths: paths that more than one member of the tar names (each once, in the
            order of their second member). The last member wins, as when a tar is extracted;
            ``docker load`` refuses such a layer ("duplicates of file paths not supported",
            checked on Docker 20.10), but some builders write them.
            them, as real directory entries (``explicit`` False; mode and owner of the lower
            layer's directory where there is one). Filled in by the efficiency pass, which
            knows the layers below.
        data_offsets: path -> where that path's bytes start in the uncompressed layer tar
            (regular files whose last entry stores its bytes whole; not sparse files), so a
            file's content can be read again without scanning the layer (16 bytes per file:
            see :class:`~dive_py.domain.data_offsets.DataOffsets`).
        blob: where the layer blob lies on disk, for sources that read files (archive, OCI
            layout); None when the bytes were streamed (the engine) or the archive as a
            whole is compressed.
    """

    entries: dict[str, FileEntry] = field(default_factory=dict)
    whiteouts: list[FileEntry] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    size_bytes: int = 0
    member_count: int = 0
    compression: Compression = Compression.NONE
    diff_id: str = ""
    escaped_paths: list[str] = field(default_factory=list)
    implicit_dirs: dict[str, FileEntry] = field(default_factory=dict)
    duplicate_paths: list[str] = field(default_factory=list)
    data_offsets: DataOffsets = field(default_factory=DataOffsets)
    blob: BlobLocation | None = None
    tar_bytes: int = 0


class _HashingReader:
    """Pass reads through while feeding every byte to a sha256 and counting them."""

    __slots__ = ("_raw", "sha", "count")

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.sha = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.sha.update(data)
        self.count += len(data)
        return data


def normalise_path(name: str) -> tuple[str, bool]:
    """Normalise a tar member name to a path below the root, without a leading ``/``.

    ``./a//b/`` -> ``a/b``; ``/etc/x`` -> ``etc/x``; ``..`` components that would climb above
    the root stop at the root (``../../etc`` -> ``etc``), the way Go's ``path.Clean`` treats a
    rooted path, so nothing ever lands outside the image.

    Returns:
        (the path, ``""`` for the root itself; True when a ``..`` had to be clamped).
    """
    if "/." not in name and not name.startswith((".", "/")) and "//" not in name:
        path = name.rstrip("/")
        if not path.endswith("/.."):
            return path, False
    cleaned = posixpath.normpath("/" + name)
    escaped = False
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                escaped = True
                depth = 0
        elif part and part != ".":
            depth += 1
    return cleaned.lstrip("/"), escaped


_SAME_INODE_TYPES = frozenset(
    {EntryType.SYMLINK, EntryType.CHAR_DEVICE, EntryType.BLOCK_DEVICE, EntryType.FIFO}
)
"""Types a hardlink takes from its target (a second name of the same inode)."""


def hardlink_entry(
    path: str, target_path: str, target: FileEntry | None, header: FileEntry
) -> FileEntry:
    """Return the entry a hardlink member stands for, given what its target name held then.

    Tar semantics (as the Docker engine extracts a layer, ``link(2)`` of the target name):
    the link is a second name of the inode its target name had when the link member was read;
    a later member reusing that name does not retarget it. Checked on Docker 20.10 (overlay2,
    ``docker export`` of a created container):

    * target a regular file (or a hardlink to one): a hardlink entry (``linkname`` the target
      path, as dive shows it) whose ``data`` is the file's data;
    * target a symlink: a symlink (type, mode and link target of the target symlink: the
      engine never chmods a symlink; owner of the link member, which the engine lchowns);
      a fifo or device: that type, with the link member's mode and owner (the engine applies
      them to the shared inode), the target's device numbers;
    * target not read yet in this layer: a hardlink with ``data`` None, resolved against the
      layers below while stacking (the engine itself refuses such a layer: "link ...: no such
      file or directory"); a directory: the same (``link(2)`` refuses directories).

    Args:
        path: the link's normalised path.
        target_path: the normalised target path (the member's link name).
        target: the entry ``target_path`` named in this layer when the link was read, or None.
        header: the link member as a plain hardlink entry (mode, owner from its header).
    """
    if target is None:
        return header
    kind = target.type
    if kind is EntryType.FILE or kind is EntryType.HARDLINK:
        header.data = target.data
        return header
    if kind is EntryType.SYMLINK:
        return FileEntry(
            path, kind, 0, target.mode, header.uid, header.gid, target.linkname, EMPTY_DIGEST
        )
    if kind in _SAME_INODE_TYPES:
        return FileEntry(
            path,
            kind,
            0,
            header.mode,
            header.uid,
            header.gid,
            "",
            EMPTY_DIGEST,
            True,
            target.devmajor,
            target.devminor,
        )
    return header


def read_layer(
    raw: Readable, head: bytes = b"", through: Callable[[Readable], Readable] | None = None
) -> LayerContents:
    """Read one layer blob (tar, or gzip/zstd-compressed tar) in a single streaming pass.

    Args:
        raw: the blob's bytes, positioned at its start. ``raw`` must not have had ``head``
            consumed (pass a peeking stream); when ``head`` is empty it is peeked here if
            ``raw`` has ``peek``, else compression is not detected.
        head: the blob's first bytes, for magic-byte detection of the compression.
        through: wraps the decompressed stream of a compressed blob before it is parsed (the
            registry passes a :class:`~dive_py.domain.read_ahead.ReadAhead`); the caller
            owns what it returns.

    Returns:
        The layer's :class:`LayerContents`.

    Raises:
        LayerFormatError: the blob is truncated, corrupt or not a tar archive.
    """
    if not head and hasattr(raw, "peek"):
        head = raw.peek(HEAD_BYTES)
    try:
        stream, compression = open_decompressed(raw, head)
    except UnsupportedCompressionError as exc:
        raise LayerFormatError(
            f"layer is {exc}", hint="recompress the layer with gzip or zstd, or rebuild the image"
        ) from None
    if through is not None and compression is not Compression.NONE:
        stream = through(stream)
    hashing = _HashingReader(stream)
    # Like Go's archive/tar (and so docker load and containerd), a layer may end right after
    # its last member without the two zero blocks; an end inside a member is still truncation.
    reader = TarReader(hashing, strict_end=False)
    contents = LayerContents(compression=compression)
    entries = contents.entries
    duplicates: dict[str, None] = {}  # (an ordered set)
    markers: set[str] = set()  # whiteout and opaque marker paths (to spot duplicates)
    size_total = 0
    count = 0
    try:
        for member in reader:
            count += 1
            size_total += member.size
            path, escaped = normalise_path(member.name)
            if escaped:
                contents.escaped_paths.append(member.name)
            if not path:
                continue  # the root directory itself
            parent, _, name = path.rpartition("/")
            kind = TYPE_OF_TYPEFLAG.get(member.typeflag, EntryType.OTHER)
            if name[:4] == WHITEOUT_PREFIX:
                if path in markers:
                    duplicates[path] = None
                    continue
                markers.add(path)
                if name == OPAQUE_MARKER:
                    contents.opaque_dirs.append(parent)
                    continue
                if name.startswith(AUFS_META_PREFIX) or name == WHITEOUT_PREFIX:
                    continue  # AUFS metadata (.wh..wh.plnk, .wh..wh.aufs), or no name: no file
                contents.whiteouts.append(
                    FileEntry(
                        path,
                        kind,
                        member.size,
                        member.mode,
                        member.uid,
                        member.gid,
                        "",
                        EMPTY_DIGEST,
                    )
                )
                continue
            if kind is EntryType.FILE or kind is EntryType.OTHER:
                stored = member.stored_size
                if not stored:
                    digest = EMPTY_DIGEST
                else:
                    if stored == member.size:
                        contents.data_offsets[path] = reader.position
                    hasher = xxh64()
                    reader.feed_data(hasher.update)
                    digest = hasher.intdigest() & DIGEST_MASK
                entry = FileEntry(
                    path, kind, member.size, member.mode, member.uid, member.gid, "", digest
                )
            elif kind is EntryType.DIR:
                entry = FileEntry(path, kind, 0, member.mode, member.uid, member.gid, "", 0)
            elif kind is EntryType.HARDLINK:
                target, _ = normalise_path(member.linkname)
                entry = hardlink_entry(
                    path,
                    target,
                    entries.get(target),
                    FileEntry(
                        path, kind, 0, member.mode, member.uid, member.gid, target, EMPTY_DIGEST
                    ),
                )
            else:
                entry = FileEntry(
                    path,
                    kind,
                    0,
                    member.mode,
                    member.uid,
                    member.gid,
                    member.linkname,
                    EMPTY_DIGEST,
                    True,
                    member.devmajor,
                    member.devminor,
                )
            if path in entries:
                del entries[path]  # keep tar order: the last occurrence wins and moves last
                duplicates[path] = None
            entries[path] = entry
        # Drain what follows the end-of-archive marker so that the diff ID covers every byte
        # and a compressed stream's trailer is checked.
        while hashing.read(1 << 20):
            pass
    except TarFormatError as exc:
        raise LayerFormatError(f"layer is not a valid tar: {exc}", exc.offset) from None
    except CorruptStreamError as exc:
        raise LayerFormatError(f"layer is not a valid {compression.value} stream: {exc}") from None
    contents.size_bytes = size_total
    contents.duplicate_paths = list(duplicates)
    contents.member_count = count
    contents.tar_bytes = hashing.count
    sha_hex = hashing.sha.hexdigest()
    contents.diff_id = EMPTY_TAR_DIFF_ID if sha_hex == _EMPTY_SHA256 else "sha256:" + sha_hex
    return contents
