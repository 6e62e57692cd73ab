"""Provides :class:`DockerArchiveSource`: read a ``docker save`` tar (or an OCI layout tar) from disk."""

from __future__ import annotations

import os

from dive_py.domain.image import Image
from dive_py.domain.layer_store import LayerStore, NoLayerStore
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_reader import read_archive_file, read_layout_directory
from dive_py.domain.sources.archive_reference import ArchiveReference, parse_archive_reference
from dive_py.domain.sources.platform import Platform

LAYOUT_DIRECTORY_SOURCE = "oci"
"""The source name an image read from a directory carries: a directory is an OCI image layout,
read exactly as ``--source oci`` reads it."""


class DockerArchiveSource:
    """Images from ``docker save`` files (legacy layout and Docker >= 25's OCI layout).

    A directory is read as an OCI image layout (as
    :class:`~dive_py.domain.sources.oci_layout.OciLayoutSource` reads it, and named ``oci``).
    """

    name = "docker-archive"

    def __init__(self, layers: LayerStore | None = None) -> None:
        """``layers``: known layers, not parsed again (see :mod:`dive_py.domain.layer_store`)."""
        self._layers: LayerStore = layers if layers is not None else NoLayerStore()

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the archive ``reference`` names: ``PATH``, ``PATH:REF`` or ``PATH:@N``.

        ``REF`` is a tag or name of one of the archive's images, ``@N`` its zero-based
        position (skopeo's syntax, see
        :mod:`dive_py.domain.sources.archive_reference`).

        Raises:
            ImageNotFoundError: the file is missing or unreadable, or REF names no image in it.
            ArchiveError: not an image archive, or corrupt or truncated, or an OCI artifact.
            PlatformError: several images or platforms and none chosen.
        """
        selection = parse_archive_reference(reference, self.name)
        if os.path.isdir(selection.path):
            return read_layout_directory(
                selection.path,
                reference=reference,
                source=LAYOUT_DIRECTORY_SOURCE,
                platform=platform,
                progress=progress,
                layers=self._layers,
                selection=ArchiveReference(
                    selection.path, LAYOUT_DIRECTORY_SOURCE, selection.name, selection.position
                ),
            )
        return read_archive_file(
            selection.path,
            reference=reference,
            source=self.name,
            platform=platform,
            progress=progress,
            layers=self._layers,
            selection=selection,
        )
