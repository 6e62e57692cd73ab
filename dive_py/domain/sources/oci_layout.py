"""Provides :class:`OciLayoutSource`: read an OCI image layout directory or tar.

OCI image spec, image-layout.md: ``oci-layout``, ``index.json`` and ``blobs/<alg>/<hex>``.
The index is followed to the image manifest (through nested indexes, choosing the platform),
then the config and the layers in the manifest's order. In a directory only the blobs the
chosen manifest names are read.
"""

from __future__ import annotations

import os
from typing import Any

from dive_py.domain.image import Image
from dive_py.domain.layer_tar import LayerContents, LayerFormatError, read_layer
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_stream import JSON_LIMIT, ArchiveParts, parse_json
from dive_py.domain.sources.docker_archive import read_archive_file
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ArchiveError, ImageNotFoundError


class LayoutDirectory(ArchiveParts):
    """The parts of an OCI layout directory, read from disk on demand.

    Args:
        root: the layout directory.
        progress: receives a read event per layer parsed.
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
        data = self.document_bytes(name)
        return None if data is None else parse_json(data)

    def layer(self, name: str) -> LayerContents | None:
        if name not in self.layers:
            path = self._path(name)
            if path is None:
                return None
            try:
                with open(path, "rb") as handle:
                    head = handle.read(8)
                    handle.seek(0)
                    self.layers[name] = read_layer(handle, head)
            except LayerFormatError as exc:
                self.broken[name] = str(exc)
                return None
            except OSError as exc:
                raise self._unreadable(name, exc) from None
            self._read_bytes += os.path.getsize(path)
            self._progress.read(self._read_bytes, len(self.layers))
        return self.layers[name]


class OciLayoutSource:
    """Images from an OCI image layout: a directory, or a tar of one."""

    name = "oci"

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the layout at path ``reference``.

        Raises:
            ImageNotFoundError: the path does not exist.
            ArchiveError: no ``index.json``, bad JSON, missing, unreadable or corrupt blobs.
            PlatformError: several platforms and none chosen.
        """
        progress = progress or ProgressListener()
        if os.path.isfile(reference):
            return read_archive_file(
                reference,
                reference=reference,
                source=self.name,
                platform=platform,
                progress=progress,
            )
        if not os.path.isdir(reference):
            raise ImageNotFoundError(
                f"OCI image layout {reference} does not exist", "check the path"
            )
        if not os.path.isfile(os.path.join(reference, "index.json")):
            raise ArchiveError(
                f"{reference} is not an OCI image layout: it has no index.json",
                "name the directory that holds oci-layout and index.json",
            )
        progress.message(f"Reading {reference}")
        parts = LayoutDirectory(reference, progress)
        image = assemble_image(parts, reference=reference, source=self.name, platform=platform)
        progress.done()
        return image
