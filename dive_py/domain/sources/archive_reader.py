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
from dive_py.domain.compression import HEAD_BYTES
from dive_py.domain.image import Image
from dive_py.domain.layer_tar import LayerContents, LayerFormatError, read_layer
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_reference import ArchiveReference
from dive_py.domain.sources.archive_stream import (
    JSON_LIMIT,
    ArchiveFormatError,
    ArchiveParts,
    parse_json,
    read_archive_stream,
)
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
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
) -> Image:
    """Read an image archive tar at ``path`` (any layout :func:`assemble_image` knows).

    ``selection`` names one image of several (``PATH:REF``), see :func:`assemble_image`.

    Raises:
        ImageNotFoundError: the file is missing or unreadable.
        ArchiveError: the file is not an image archive, or is corrupt or truncated.
        PlatformError: several platforms and none chosen.
    """
    progress = progress or ProgressListener()
    progress.message(f"Reading {path}")
    handle = open_archive_file(path)
    with handle:
        with contextlib.suppress(OSError):  # the size on disk: bytes read are the file offset
            progress.expect(os.fstat(handle.fileno()).st_size, 0)
        try:
            parts = read_archive_stream(
                handle, progress=lambda layers, _pos: progress.read(handle.tell(), layers)
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


class LayoutDirectory(ArchiveParts):
    """The parts of an OCI layout directory, read from disk on demand.

    Args:
        root: the layout directory.
        progress: receives a read event per layer parsed (bytes of layer blobs read so far).
    """

    def __init__(self, root: str, progress: ProgressListener) -> None:
        super().__init__()
        self._root = root
        self._progress = progress
        self._read_bytes = 0

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
            try:
                with open(path, "rb") as handle:
                    head = handle.read(HEAD_BYTES)
                    handle.seek(0)
                    self.layers[name] = read_layer(handle, head)
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
) -> Image:
    """Read the OCI image layout directory at ``path``.

    ``selection`` names one image of several (``PATH:REF``), see :func:`assemble_image`.

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
    parts = LayoutDirectory(path, progress)
    image = assemble_image(
        parts, reference=reference, source=source, platform=platform, selection=selection
    )
    progress.done()
    return image
