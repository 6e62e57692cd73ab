"""Provides :func:`read_archive_file` and :func:`read_layout_directory`: an image read from disk.

An image on disk is either an archive tar (``docker save``'s legacy layout, Docker >= 25's OCI
layout, or a tar of an OCI image layout; read in one pass by
:func:`~dive_py.domain.sources.archive_stream.read_archive_stream`) or an OCI image layout
directory (OCI image spec, image-layout.md: ``oci-layout``, ``index.json`` and
``blobs/<alg>/<hex>``; only the blobs the chosen manifest names are read). Both are assembled
into an :class:`~dive_py.domain.image.Image` by
:func:`~dive_py.domain.sources.image_layout.assemble_image`.

Both the ``docker-archive`` and the ``oci`` sources read through this module, so neither
imports the other.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, BinaryIO

from dive_py.domain.blob_location import BlobLocation
from dive_py.domain.compression import (
    HEAD_BYTES,
    Compression,
    CorruptStreamError,
    detect_compression,
)
from dive_py.domain.image import Image
from dive_py.domain.layer_store import LayerStore, NoLayerStore
from dive_py.domain.layer_tar import LayerContents, LayerFormatError, normalise_path
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_reference import ArchiveReference
from dive_py.domain.sources.archive_stream import (
    JSON_LIMIT,
    ArchiveFormatError,
    ArchiveParts,
    KnownLayerMismatch,
    blob_digest_of,
    parse_blob,
    parse_json,
    read_archive_stream,
)
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
from dive_py.domain.tar_stream import REGULAR, TarFormatError, TarReader
from dive_py.errors import ArchiveError, ImageNotFoundError


def open_archive_file(path: str) -> BinaryIO:
    """Open ``path`` for reading, turning OS errors into one-line :class:`ImageNotFoundError`."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise ImageNotFoundError(
            f"image archive {path} does not exist",
            "check the path, or write one with 'docker save IMAGE -o FILE'",
        ) from None
    except IsADirectoryError:
        raise ImageNotFoundError(
            f"{path} is a directory, not an archive",
            "use --source oci for an OCI image layout directory",
        ) from None
    except PermissionError:
        raise ImageNotFoundError(
            f"image archive {path} is not readable (permission denied)",
            "check the file's permissions",
        ) from None
    except OSError as exc:
        raise ImageNotFoundError(
            f"cannot open image archive {path}: {exc.strerror}", "check the path"
        ) from None


def read_archive_file(
    path: str,
    *,
    reference: str,
    source: str,
    platform: Platform | None,
    progress: ProgressListener | None,
    selection: ArchiveReference | None = None,
    layers: LayerStore | None = None,
) -> Image:
    """Read an image archive tar at ``path`` (any layout :func:`assemble_image` knows).

    ``selection`` names one image of several (``PATH:REF``), see :func:`assemble_image`.
    Layers ``layers`` holds are not parsed again: in an uncompressed archive their bytes are
    skipped by seeking (known by the digest a blob is named by, or by the diff ID the image's
    config gives a legacy ``<id>/layer.tar``, found by a first pass over the headers).

    Raises:
        ImageNotFoundError: the file is missing or unreadable.
        ArchiveError: the file is not an image archive, or is corrupt or truncated.
        PlatformError: several platforms and none chosen.
    """
    progress = progress or ProgressListener()
    progress.message(f"Reading {path}")
    store = layers if layers is not None else NoLayerStore()
    handle = open_archive_file(path)
    with handle:
        with contextlib.suppress(OSError):  # the size on disk: bytes read are the file offset
            progress.expect(os.fstat(handle.fileno()).st_size, 0)
        try:
            known = {} if isinstance(store, NoLayerStore) else legacy_diff_ids(handle)
            handle.seek(0)
            try:
                parts = read_archive_stream(
                    handle,
                    progress=lambda count, _pos: progress.read(handle.tell(), count),
                    layers=store,
                    known=known,
                )
            except KnownLayerMismatch:  # (a compressed archive: hashed, not seeked)
                handle.seek(0)
                parts = read_archive_stream(
                    handle, progress=lambda count, _pos: progress.read(handle.tell(), count)
                )
        except ArchiveFormatError as exc:
            raise ArchiveError(
                f"{path}: {exc}",
                exc.hint
                or "the archive is corrupt or truncated: write it again with 'docker save'",
            ) from None
        except OSError as exc:
            raise ArchiveError(
                f"cannot read {path}: {exc.strerror or exc}", "check the file and the disk it is on"
            ) from None
    where = os.path.abspath(path)
    for name, (offset, size) in parts.blob_offsets.items():
        if name in parts.layers:
            parts.layers[name].blob = BlobLocation(where, offset, size)
    image = assemble_image(
        parts, reference=reference, source=source, platform=platform, selection=selection
    )
    progress.done()
    return image


def legacy_diff_ids(handle: BinaryIO) -> dict[str, str]:
    """Map each legacy ``<id>/layer.tar`` member of an uncompressed archive file to the diff ID
    its image's config gives it (``manifest.json`` ``Layers[i]`` -> ``rootfs.diff_ids[i]``),
    in one pass over the headers that seeks past every member's data (JSON documents at the
    archive's root are read).

    Returns an empty map for a compressed or unreadable archive, or one without a legacy
    manifest; never raises. Leaves ``handle`` anywhere: seek it back.
    """
    try:
        head = handle.read(HEAD_BYTES)
        handle.seek(0)
        if detect_compression(head) is not Compression.NONE or not handle.seekable():
            return {}
        documents: dict[str, bytes] = {}
        reader = TarReader(handle)
        for member in reader:
            name, _ = normalise_path(member.name)
            if (
                member.typeflag == REGULAR
                and "/" not in name
                and name.endswith(".json")
                and member.size <= JSON_LIMIT
            ):
                documents[name] = reader.read()
            else:
                reader.skip_member()
        manifest = parse_json(documents.get("manifest.json", b"null"))
        found: dict[str, str] = {}
        for item in manifest if isinstance(manifest, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
                continue
            config = parse_json(documents.get(normalise_path(item["Config"])[0], b"null"))
            rootfs = config.get("rootfs") if isinstance(config, dict) else None
            diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
            paths = item.get("Layers")
            if not isinstance(diff_ids, list) or not isinstance(paths, list):
                continue
            for member_path, diff_id in zip(paths, diff_ids, strict=False):
                if isinstance(member_path, str) and isinstance(diff_id, str):
                    name = normalise_path(member_path)[0]
                    if blob_digest_of(name) is None:
                        found[name] = diff_id
        return found
    except (OSError, ValueError, TarFormatError, CorruptStreamError):
        return {}  # the real read reports what is wrong


class LayoutDirectory(ArchiveParts):
    """The parts of an OCI layout directory, read from disk on demand.

    Args:
        root: the layout directory.
        progress: receives a read event per layer parsed (bytes of layer blobs read so far).
        layers: known layers by blob digest: such a blob is not opened at all (an OCI layout
            is content-addressed, the blob's path names its digest); parsed ones are kept.
    """

    def __init__(
        self, root: str, progress: ProgressListener, layers: LayerStore | None = None
    ) -> None:
        super().__init__()
        self._root = root
        self._progress = progress
        self._read_bytes = 0
        self._store = layers if layers is not None else NoLayerStore()

    def _path(self, name: str) -> str | None:
        full = os.path.realpath(os.path.join(self._root, name))
        root = os.path.realpath(self._root)
        if not full.startswith(root + os.sep):
            return None  # never read outside the layout
        return full if os.path.isfile(full) else None

    def _unreadable(self, name: str, exc: OSError) -> ArchiveError:
        return ArchiveError(
            f"cannot read {name} in the OCI image layout {self._root}: "
            f"{(exc.strerror or str(exc)).lower()}",
            "check the layout's files and their permissions",
        )

    def document_bytes(self, name: str) -> bytes | None:
        """Return the raw bytes of the document at ``name``, or None (missing, outside the
        layout, or larger than :data:`JSON_LIMIT` bytes).

        Raises:
            ArchiveError: the file exists but cannot be read.
        """
        if name not in self.documents:
            path = self._path(name)
            try:
                if path is None or os.path.getsize(path) > JSON_LIMIT:
                    return None
                with open(path, "rb") as handle:
                    self.documents[name] = handle.read()
            except OSError as exc:
                raise self._unreadable(name, exc) from None
        return self.documents[name]

    def document(self, name: str) -> Any:
        """Return the parsed JSON document at ``name``, or None.

        Raises:
            ValueError: the file is not valid JSON (or nests too deeply).
            ArchiveError: the file exists but cannot be read.
        """
        data = self.document_bytes(name)
        return None if data is None else parse_json(data)

    def has_blob(self, name: str) -> bool:
        """True when the layout holds a file at ``name`` (inside the layout)."""
        return self._path(name) is not None

    def layer(self, name: str) -> LayerContents | None:
        """Return the parsed layer blob at ``name``, or None (missing, or not a layer: the
        reason is kept in :attr:`broken`).

        Raises:
            ArchiveError: the file exists but cannot be read.
        """
        if name not in self.layers:
            path = self._path(name)
            if path is None:
                return None
            digest = blob_digest_of(name)
            known = self._store.get(digest) if digest else None
            if known is not None:
                self.layers[name] = known
                self.reused.append(name)
                self._progress.read(self._read_bytes, len(self.layers))
                return known
            try:
                with open(path, "rb") as handle:
                    head = handle.read(HEAD_BYTES)
                    handle.seek(0)
                    self.layers[name] = parse_blob(handle, head, self._store.put, name)
                self.layers[name].blob = BlobLocation(path, 0, os.path.getsize(path))
            except LayerFormatError as exc:
                self.broken[name] = exc
                return None
            except OSError as exc:
                raise self._unreadable(name, exc) from None
            self._read_bytes += os.path.getsize(path)
            self._progress.read(self._read_bytes, len(self.layers))
        return self.layers[name]


def read_layout_directory(
    path: str,
    *,
    reference: str,
    source: str,
    platform: Platform | None,
    progress: ProgressListener | None,
    selection: ArchiveReference | None = None,
    layers: LayerStore | None = None,
) -> Image:
    """Read the OCI image layout directory at ``path``.

    ``selection`` names one image of several (``PATH:REF``), see :func:`assemble_image`.
    Blobs whose layers ``layers`` holds (by blob digest) are not opened.

    Raises:
        ImageNotFoundError: the path does not exist (or is not a directory).
        ArchiveError: no ``index.json``, bad JSON, missing, unreadable or corrupt blobs.
        PlatformError: several platforms and none chosen.
    """
    progress = progress or ProgressListener()
    if not os.path.isdir(path):
        raise ImageNotFoundError(f"OCI image layout {path} does not exist", "check the path")
    if not os.path.isfile(os.path.join(path, "index.json")):
        raise ArchiveError(
            f"{path} is not an OCI image layout: it has no index.json",
            "name the directory that holds oci-layout and index.json",
        )
    progress.message(f"Reading {path}")
    parts = LayoutDirectory(path, progress, layers)
    image = assemble_image(
        parts, reference=reference, source=source, platform=platform, selection=selection
    )
    progress.done()
    return image
