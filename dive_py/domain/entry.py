"""Provides :class:`FileEntry`, one file system entry of a layer, and its type enum."""

from __future__ import annotations

import stat
from collections.abc import Callable
from enum import IntEnum


class EntryType(IntEnum):
    """The kind of a file system entry (tar typeflags folded into what a user sees)."""

    FILE = 0
    DIR = 1
    SYMLINK = 2
    HARDLINK = 3
    CHAR_DEVICE = 4
    BLOCK_DEVICE = 5
    FIFO = 6
    OTHER = 7


#: tar typeflag byte -> EntryType (POSIX ustar typeflags).
TYPE_OF_TYPEFLAG: dict[bytes, EntryType] = {
    b"0": EntryType.FILE,
    b"1": EntryType.HARDLINK,
    b"2": EntryType.SYMLINK,
    b"3": EntryType.CHAR_DEVICE,
    b"4": EntryType.BLOCK_DEVICE,
    b"5": EntryType.DIR,
    b"6": EntryType.FIFO,
}

#: EntryType -> the tar typeflag as an int (dive's JSON ``typeFlag``: 48 for ``'0'`` ...).
TYPEFLAG_OF_TYPE: dict[EntryType, int] = {
    EntryType.FILE: ord("0"),
    EntryType.HARDLINK: ord("1"),
    EntryType.SYMLINK: ord("2"),
    EntryType.CHAR_DEVICE: ord("3"),
    EntryType.BLOCK_DEVICE: ord("4"),
    EntryType.DIR: ord("5"),
    EntryType.FIFO: ord("6"),
    EntryType.OTHER: ord("0"),
}

_TYPE_CHAR = {
    EntryType.FILE: "-",
    EntryType.DIR: "d",
    EntryType.SYMLINK: "l",
    EntryType.HARDLINK: "-",
    EntryType.CHAR_DEVICE: "c",
    EntryType.BLOCK_DEVICE: "b",
    EntryType.FIFO: "p",
    EntryType.OTHER: "?",
}

# Go os.FileMode bits (dive's JSON ``fileMode``).
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_CHARDEV = 1 << 21
_GO_STICKY = 1 << 20


_EntryArgs = tuple[str, EntryType, int, int, int, int, str, int, bool, int, int]
"""The arguments of :class:`FileEntry`'s constructor, in order (what pickling stores)."""


_Rare = tuple[str, bool, int, int, "FileEntry | None"]
"""An entry's rarely set fields: (linkname, explicit, devmajor, devminor, a hardlink's data)."""
_COMMON: _Rare = ("", True, 0, 0, None)
_SYNTHETIC: _Rare = ("", False, 0, 0, None)


def _rare_fields(
    linkname: str, explicit: bool, devmajor: int, devminor: int, data: FileEntry | None = None
) -> _Rare | None:
    """The ``_rare`` slot's value for these fields: None for the common values, one shared
    tuple for a synthetic directory's (there is one per implicit directory of each layer)."""
    if not linkname and not devmajor and not devminor and data is None:
        return None if explicit else _SYNTHETIC
    return (linkname, explicit, devmajor, devminor, data)


_SHARED_INTS: dict[int, int] = {}
"""Mode, uid and gid values unpickled before -> the one object kept for each (see
:func:`_from_cache`)."""
_SHARED_INTS_MAX = 4096


def _shared(value: int) -> int:
    shared = _SHARED_INTS.get(value)
    if shared is not None:
        return shared
    if len(_SHARED_INTS) < _SHARED_INTS_MAX:
        _SHARED_INTS[value] = value
    return value


def _from_cache(
    path: str,
    type: EntryType,
    size: int,
    mode: int,
    uid: int,
    gid: int,
    linkname: str = "",
    digest: int = 0,
    explicit: bool = True,
    devmajor: int = 0,
    devminor: int = 0,
) -> FileEntry:
    """Return ``FileEntry(...)`` of these arguments, with one int object per distinct mode, uid
    and gid: pickle makes a new int for each (32 bytes per entry above 256), where reading a
    tar shares them (:mod:`dive_py.domain.tar_stream`; issue 11)."""
    return FileEntry(
        path,
        type,
        size,
        _shared(mode),
        _shared(uid),
        _shared(gid),
        linkname,
        digest,
        explicit,
        devmajor,
        devminor,
    )


class FileEntry:
    """One entry of a layer: a file, directory, link, device or fifo.

    Attributes:
        path: the normalised path inside the image, without a leading ``/`` (``"usr/bin/env"``);
            may hold lone surrogates standing for non-UTF-8 bytes (``surrogateescape``).
        type: the :class:`EntryType`.
        size: bytes of content this entry stores in its layer (0 for everything but files).
        mode: permission bits plus setuid/setgid/sticky (``0o7777`` mask).
        uid, gid: numeric owner.
        linkname: symlink target as written, or hardlink target path (normalised, no leading
            ``/``); ``""`` for other types.
        digest: the low 60 bits of the xxh64 (seed 0) of the content bytes as an int (see
            ``layer_tar.DIGEST_MASK``); 0 for entries without content.
            (dive compares the same hash to decide "modified".)
        explicit: False for a directory the layer tar did not spell out, synthesised for a path
            that has entries beneath it.
        data: the entry whose bytes this entry's name reaches: itself for a file, the linked
            file for a hardlink (set when layers are stacked; None when the target is unknown),
            None for every other type. Sizes and reclaimable bytes follow ``data``, not names.
    """

    __slots__ = ("path", "type", "size", "mode", "uid", "gid", "digest", "_rare")
    # (linkname, explicit, devmajor, devminor, a hardlink's data) share one slot, None while
    # they are ("", True, 0, 0, None), as for most entries: 24 bytes less per entry; and
    # ``data`` needs no slot of its own (a file's is itself): with 8 slots an entry takes 96
    # bytes of pymalloc's 16-byte size classes, 112 with 9 (issue 11: a million entries).

    def __init__(
        self,
        path: str,
        type: EntryType,
        size: int,
        mode: int,
        uid: int,
        gid: int,
        linkname: str = "",
        digest: int = 0,
        explicit: bool = True,
        devmajor: int = 0,
        devminor: int = 0,
    ) -> None:
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.digest = digest
        self._rare: _Rare | None = (
            None
            if explicit and not linkname and not devmajor and not devminor
            else _rare_fields(linkname, explicit, devmajor, devminor)
        )

    @property
    def data(self) -> FileEntry | None:
        """The entry whose bytes this entry's name reaches (see the class attributes): itself
        for a file, the linked file (or None) for a hardlink, None for other types."""
        if self.type is EntryType.FILE:
            return self
        rare = self._rare
        return rare[4] if rare is not None else None

    @data.setter
    def data(self, value: FileEntry | None) -> None:
        if self.type is EntryType.FILE:
            if value is not self:
                raise ValueError(f"a file's data is the file itself ({self.path!r})")
            return
        rare = self._rare or _COMMON
        self._rare = _rare_fields(rare[0], rare[1], rare[2], rare[3], value)

    @property
    def linkname(self) -> str:
        """Symlink target as written, or hardlink target path (normalised, no leading ``/``);
        ``""`` for other types."""
        rare = self._rare
        return rare[0] if rare is not None else ""

    @linkname.setter
    def linkname(self, value: str) -> None:
        rare = self._rare or _COMMON
        self._rare = _rare_fields(value, rare[1], rare[2], rare[3], rare[4])

    @property
    def explicit(self) -> bool:
        """False for a directory the layer tar did not spell out (see the class attributes)."""
        rare = self._rare
        return rare[1] if rare is not None else True

    @property
    def devmajor(self) -> int:
        """The major device number of a character or block device (0 for other types)."""
        rare = self._rare
        return rare[2] if rare is not None else 0

    @property
    def devminor(self) -> int:
        """The minor device number of a character or block device (0 for other types)."""
        rare = self._rare
        return rare[3] if rare is not None else 0

    def __reduce__(
        self,
    ) -> (
        tuple[Callable[..., FileEntry], _EntryArgs]
        | tuple[Callable[..., FileEntry], _EntryArgs, FileEntry | None]
    ):
        """Pickle compactly (the analysis cache holds hundreds of thousands of entries).

        A file's ``data`` is itself again after ``__init__``; a hardlink's ``data`` (another
        entry, or None) travels as the state. Unpickling goes through :func:`_from_cache`.
        """
        args: _EntryArgs = (
            self.path,
            self.type,
            self.size,
            self.mode,
            self.uid,
            self.gid,
            self.linkname,
            self.digest,
            self.explicit,
            self.devmajor,
            self.devminor,
        )
        if self.type is EntryType.HARDLINK:
            return (_from_cache, args, self.data)
        return (_from_cache, args)

    def __setstate__(self, data: FileEntry | None) -> None:
        self.data = data

    def __repr__(self) -> str:
        return (
            f"FileEntry({self.path!r}, {self.type.name}, size={self.size}, "
            f"mode={self.mode:o}, {self.uid}:{self.gid}, link={self.linkname!r})"
        )

    @property
    def name(self) -> str:
        """The last path component."""
        return self.path.rpartition("/")[2]

    @property
    def is_dir(self) -> bool:
        """True for directories."""
        return self.type is EntryType.DIR

    def same_as(self, other: FileEntry) -> bool:
        """True when type, content digest, mode, owner and link target are all equal.

        This is divepy's "unchanged" test; dive 0.13.1 also ignores the link target, so that a
        retargeted symlink looks unchanged there.
        """
        return (
            self.type is other.type
            and self.digest == other.digest
            and self.mode == other.mode
            and self.uid == other.uid
            and self.gid == other.gid
            and self.linkname == other.linkname
            and self.size == other.size
        )

    def permission_string(self) -> str:
        """Return the ``ls -l`` style string, e.g. ``"drwxr-sr-t"`` (setuid/setgid/sticky shown)."""
        return _TYPE_CHAR[self.type] + stat.filemode(self.mode)[1:]

    def go_file_mode(self) -> int:
        """Return the mode as Go's ``os.FileMode`` bits, as dive's JSON ``fileMode`` holds it."""
        value = self.mode & 0o777
        if self.mode & 0o4000:
            value |= _GO_SETUID
        if self.mode & 0o2000:
            value |= _GO_SETGID
        if self.mode & 0o1000:
            value |= _GO_STICKY
        kind = self.type
        if kind is EntryType.DIR:
            value |= _GO_DIR
        elif kind is EntryType.SYMLINK:
            value |= _GO_SYMLINK
        elif kind is EntryType.CHAR_DEVICE:
            value |= _GO_DEVICE | _GO_CHARDEV
        elif kind is EntryType.BLOCK_DEVICE:
            value |= _GO_DEVICE
        elif kind is EntryType.FIFO:
            value |= _GO_PIPE
        return value
