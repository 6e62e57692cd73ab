"""Provides :func:`read_archive_stream`: one pass over an image archive tar, collecting its parts.

Works for both ``docker save`` layouts (legacy ``<id>/layer.tar`` and the OCI layout that
Docker >= 25 writes) and for OCI image layout tars: every member that holds a layer is parsed
as it streams by (so nothing is written to disk and the order of members does not matter),
JSON documents are kept, and symlinked or hardlinked members (legacy ``docker save`` links a
duplicate ``layer.tar`` to the first copy) are recorded as aliases of their target.
Which layers make up the image is decided afterwards by :mod:`dive_py.domain.sources.image_layout`.

Known layers (a :class:`~dive_py.domain.layer_store.LayerStore`) are not parsed again. A
layer member's key is the digest its name gives (``blobs/sha256/<hex>``: OCI layouts are
content-addressed) or the diff ID the image's config gives it (``known``, from a first pass
over a seekable archive's headers). A known member of a seekable file is skipped by seeking,
unread; in a stream (the engine's export) it is hashed instead of parsed and must match its
key. A member without a key (a legacy ``<id>/layer.tar`` in a stream) is matched against the
``expected`` diff IDs whose layers the store holds by its size, then by its hash. A member
whose hash matches no known layer is parsed from memory when small; a larger one raises
:class:`KnownLayerMismatch` (its bytes are gone), and the caller reads again without the store.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dive_py.domain.compression import (
    Compression,
    CorruptStreamError,
    UnsupportedCompressionError,
    detect_compression,
    read_decompressed,
)
from dive_py.domain.layer_store import LayerStore, NoLayerStore
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

HASH_BUFFER_LIMIT = 16 << 20
"""A candidate known layer up to this many bytes is kept in memory while it is hashed, so a
hash mismatch parses it from there instead of reading the stream again."""
_BLOB_NAME = re.compile(r"(?:.*/)?blobs/(sha256|sha512)/([0-9a-f]{64,128})")

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


class KnownLayerMismatch(Exception):
    """A streamed member taken for a known layer hashed to another digest and was too large to
    keep: its bytes are gone. Read the archive again without the layer store."""


def blob_digest_of(name: str) -> str | None:
    """The digest an OCI layout blob path names (``blobs/sha256/<hex>`` -> ``sha256:<hex>``),
    or None for any other path."""
    match = _BLOB_NAME.fullmatch(name)
    return f"{match.group(1)}:{match.group(2)}" if match else None


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
        reused: member paths whose layer came from the layer store instead of a parse.
    """

    documents: dict[str, bytes] = field(default_factory=dict)
    layers: dict[str, LayerContents] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    broken: dict[str, LayerFormatError] = field(default_factory=dict)
    blob_offsets: dict[str, tuple[int, int]] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)

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


def read_archive_stream(
    raw: Readable,
    progress: ProgressCallback | None = None,
    *,
    layers: LayerStore | None = None,
    known: Mapping[str, str] | None = None,
    expected: Sequence[str] = (),
) -> ArchiveParts:
    """Read an image archive tar from ``raw`` in one pass.

    The archive may be compressed as a whole (``docker save IMAGE | gzip > image.tar.gz``;
    gzip, bzip2, xz and zstd, as ``docker load`` reads them): it is decompressed as it streams.

    Args:
        raw: the archive's bytes (a file, or the engine's ``docker save`` stream).
        progress: optional callback, see :data:`ProgressCallback`.
        layers: where known layers are found and parsed ones are kept (none by default).
        known: member path -> the diff ID the image's config gives it.
        expected: diff IDs the image is said to have (the engine's ``RootFS.Layers``).

    Returns:
        The :class:`ArchiveParts` found.

    Raises:
        KnownLayerMismatch: see the module's description.
        ArchiveFormatError: the outer tar (or its compression) is corrupt or truncated, or it
            is compressed with a format no engine reads.
    """
    parts = ArchiveParts()
    matcher = _KnownLayers(layers or NoLayerStore(), known or {}, expected)
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
            if not (member.size and matcher.reuse(name, member.size, reader, head, parts)):
                try:
                    parts.layers[name] = parse_blob(stream, head, matcher.keep, name)
                except LayerFormatError as exc:
                    parts.broken[name] = exc
            if progress is not None:
                progress(len(parts.layers), reader.position)
    except TarFormatError as exc:
        raise ArchiveFormatError(f"image archive is not a valid tar: {exc}") from None
    except CorruptStreamError as exc:
        raise ArchiveFormatError(f"image archive's compression is damaged: {exc}") from None
    return parts


class BlobHashingReader:
    """Pass reads through while feeding every byte to a sha256 (a blob's digest)."""

    __slots__ = ("_raw", "sha")

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes from the wrapped stream, hashing them."""
        data = self._raw.read(n)
        self.sha.update(data)
        return data


def parse_blob(
    raw: Readable, head: bytes, keep: Callable[[str, LayerContents], None], name: str
) -> LayerContents:
    """Parse the layer blob at member or file ``name`` and hand it to ``keep`` under the digest
    it was proven to have: the digest its name gives when the bytes hash to it (the diff ID
    proves it for an uncompressed blob; a compressed one is hashed as it is read), else its
    diff ID only. So a blob whose name lies never poisons the layer store.

    Raises:
        LayerFormatError: not a readable layer.
    """
    named = blob_digest_of(name)
    hashing = None
    if named is not None and _compressed(head):
        hashing = raw = BlobHashingReader(raw)
    contents = read_layer(raw, head)
    if hashing is not None:
        while hashing.read(1 << 20):  # (a trailer after the compressed stream, if any)
            pass
        proven = f"sha256:{hashing.sha.hexdigest()}" == named
    else:
        proven = contents.diff_id == named
    if contents.diff_id:
        keep(named if named is not None and proven else contents.diff_id, contents)
    return contents


def _compressed(head: bytes) -> bool:
    try:
        return detect_compression(head) is not Compression.NONE
    except UnsupportedCompressionError:
        return False  # read_layer says so


class _KnownLayers:
    """Decides, member by member, whether a layer is known (see the module's description)."""

    def __init__(self, store: LayerStore, known: Mapping[str, str], expected: Sequence[str]):
        self._store = store
        self._known = known
        self._expected = list(dict.fromkeys(expected))
        self._candidates: list[LayerContents] | None = None

    def _key(self, name: str) -> str | None:
        return blob_digest_of(name) or self._known.get(name)

    def reuse(
        self, name: str, size: int, reader: TarReader, head: bytes, parts: ArchiveParts
    ) -> bool:
        """Take the member's layer from the store when it is known (listed in
        ``parts.reused``). True when the member was dealt with (its data consumed: reused, or
        parsed from memory after a hash mismatch), False to parse it (``head`` still readable
        from the member's stream)."""
        key = self._key(name)
        if key is not None:
            cached = self._store.get(key)
            if cached is None:
                return False
            if reader.seekable():
                reader.skip_member()  # trusted: a content-addressed name or the config's diff ID
                parts.layers[name] = cached
                parts.reused.append(name)
                return True
            candidates = [(key, cached)]
        else:
            candidates = [(c.diff_id, c) for c in self._by_size(size)]
            if not candidates:
                return False
        sha = hashlib.sha256(head)
        kept: list[bytes] | None = [bytes(head)] if size <= HASH_BUFFER_LIMIT else None

        def update(view: memoryview) -> None:
            sha.update(view)
            if kept is not None:
                kept.append(bytes(view))

        reader.feed_data(update)
        digest = f"sha256:{sha.hexdigest()}"
        for candidate_key, contents in candidates:
            if candidate_key == digest:
                parts.layers[name] = contents
                parts.reused.append(name)
                return True
        if kept is None:
            raise KnownLayerMismatch(f"{name} hashed to {digest}, not a known layer")
        data = b"".join(kept)
        try:
            parts.layers[name] = parse_blob(io.BytesIO(data), data[:512], self.keep, name)
        except LayerFormatError as exc:
            parts.broken[name] = exc
        return True

    def _by_size(self, size: int) -> list[LayerContents]:
        if self._candidates is None:
            found = (self._store.get(diff_id) for diff_id in self._expected)
            self._candidates = [c for c in found if c is not None]
        return [c for c in self._candidates if c.tar_bytes == size]

    def keep(self, digest: str, contents: LayerContents) -> None:
        """Store a parsed layer under ``digest`` (proven by :func:`parse_blob`)."""
        self._store.put(digest, contents)
