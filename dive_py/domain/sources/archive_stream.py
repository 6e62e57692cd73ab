"""Provides :func:`read_archive_stream`: one pass over an image archive tar, collecting its parts.

Works for both ``docker save`` layouts (legacy ``<id>/layer.tar`` and the OCI layout that
Docker >= 25 writes) and for OCI image layout tars: every member that holds a layer is parsed
as it streams by (so nothing is written to disk and the order of members does not matter),
JSON documents are kept, and symlinked or hardlinked members (legacy ``docker save`` links a
duplicate ``layer.tar`` to the first copy) are recorded as aliases of their target.
Which layers make up the image is decided afterwards by :mod:`dive_py.domain.sources.image_layout`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dive_py.domain.compression import (
    Compression,
    CorruptStreamError,
    UnsupportedCompressionError,
    read_decompressed,
)
from dive_py.domain.layer_tar import LayerContents, LayerFormatError, normalise_path, read_layer
from dive_py.domain.tar_stream import (
    HARDLINK,
    REGULAR,
    SYMLINK,
    Readable,
    TarFormatError,
    TarReader,
)

JSON_LIMIT = 64 << 20
"""Largest JSON document (bytes) kept from an archive; larger ones are ignored."""

#: called after each layer is parsed with (layers parsed so far, archive bytes read so far).
ProgressCallback = Callable[[int, int], None]


class ArchiveFormatError(Exception):
    """The outer archive is not a readable tar (corrupt or truncated).

    Attributes:
        hint: what the user can do, when it is not "the archive is damaged"; None otherwise.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(slots=True)
class ArchiveParts:
    """What one pass over an image archive found, keyed by member path (``"blobs/sha256/…"``).

    Attributes:
        documents: raw bytes of members that look like JSON documents.
        layers: parsed layers by member path.
        aliases: member path -> the path it links to (symlinks and hardlinks, resolved).
        broken: member path -> why it could not be read as a layer (kept so that an error is
            raised only when the image actually uses it).
        blob_offsets: member path -> (where its data starts in the archive, its size), both
            in bytes; only when the archive as a whole is not compressed.
    """

    documents: dict[str, bytes] = field(default_factory=dict)
    layers: dict[str, LayerContents] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    broken: dict[str, LayerFormatError] = field(default_factory=dict)
    blob_offsets: dict[str, tuple[int, int]] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """Follow aliases (at most 40 hops, like a kernel's symlink limit) to a stored member."""
        seen = 0
        while name in self.aliases and seen < 40:
            name = self.aliases[name]
            seen += 1
        return name

    def document(self, name: str) -> Any:
        """Return the parsed JSON document at ``name`` (aliases followed), or None.

        Raises:
            ValueError: the member exists but is not valid JSON (or nests too deeply).
        """
        data = self.documents.get(self.resolve(name))
        if data is None:
            return None
        return parse_json(data)

    def document_bytes(self, name: str) -> bytes | None:
        """Return the raw bytes of the document at ``name`` (aliases followed), or None."""
        return self.documents.get(self.resolve(name))

    def layer(self, name: str) -> LayerContents | None:
        """Return the parsed layer at ``name`` (aliases followed), or None."""
        return self.layers.get(self.resolve(name))

    def has_blob(self, name: str) -> bool:
        """True when the archive holds a member at ``name`` (aliases followed) that was kept:
        a document, a layer, or a blob that could not be read as a layer."""
        stored = self.resolve(name)
        return stored in self.documents or stored in self.layers or stored in self.broken


def parse_json(data: bytes) -> Any:
    """``json.loads`` for documents from an image.

    Raises:
        ValueError: not valid JSON, or nested too deeply to parse (``json.loads`` would raise
            :class:`RecursionError` on ``[[[[…`` thousands deep).
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _looks_like_json(head: bytes) -> bool:
    """True for a blob that starts like a JSON document and not like a tar (whose first entry
    name may well start with ``{`` or ``[``: a tar has the ``ustar`` magic at byte 257)."""
    if head[257:262] == b"ustar":
        return False
    stripped = head.lstrip(b" \t\r\n")
    return stripped[:1] in (b"{", b"[")


def read_archive_stream(raw: Readable, progress: ProgressCallback | None = None) -> ArchiveParts:
    """Read an image archive tar from ``raw`` in one pass.

    The archive may be compressed as a whole (``docker save IMAGE | gzip > image.tar.gz``;
    gzip, bzip2, xz and zstd, as ``docker load`` reads them): it is decompressed as it streams.

    Args:
        raw: the archive's bytes (a file, or the engine's ``docker save`` stream).
        progress: optional callback, see :data:`ProgressCallback`.

    Returns:
        The :class:`ArchiveParts` found.

    Raises:
        ArchiveFormatError: the outer tar (or its compression) is corrupt or truncated, or it
            is compressed with a format no engine reads.
    """
    parts = ArchiveParts()
    try:
        raw, outer = read_decompressed(raw)
    except UnsupportedCompressionError as exc:
        raise ArchiveFormatError(
            f"image archive is {exc}", "decompress it, or recompress it with gzip or xz"
        ) from None
    reader = TarReader(raw)
    try:
        for member in reader:
            name, _ = normalise_path(member.name)
            if member.typeflag in (SYMLINK, HARDLINK):
                target = member.linkname
                if member.typeflag == SYMLINK and not target.startswith("/"):
                    target = posixpath.join(posixpath.dirname(name), target)
                parts.aliases[name] = normalise_path(target)[0]
                continue
            if member.typeflag != REGULAR:
                continue
            base = posixpath.basename(name)
            if base.endswith(".json") or base in ("json", "repositories", "oci-layout"):
                if member.size <= JSON_LIMIT:
                    parts.documents[name] = reader.read()
                continue
            if base == "VERSION":
                continue
            if outer is Compression.NONE:
                parts.blob_offsets[name] = (reader.position, member.size)
            stream = reader.data_stream()
            head = stream.peek(512)
            # An empty member is an empty layer when the image uses it (Docker 20.10's docker
            # save writes a layer that changed nothing as a 0-byte layer.tar).
            if head and _looks_like_json(head):
                if member.size <= JSON_LIMIT:
                    parts.documents[name] = stream.read()
                continue
            try:
                parts.layers[name] = read_layer(stream, head)
            except LayerFormatError as exc:
                parts.broken[name] = exc
            if progress is not None:
                progress(len(parts.layers), reader.position)
    except TarFormatError as exc:
        raise ArchiveFormatError(f"image archive is not a valid tar: {exc}") from None
    except CorruptStreamError as exc:
        raise ArchiveFormatError(f"image archive's compression is damaged: {exc}") from None
    return parts
