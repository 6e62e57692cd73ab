"""Provides :class:`OciLayoutSource`: read an OCI image layout directory or tar.

OCI image spec, image-layout.md: ``oci-layout``, ``index.json`` and ``blobs/<alg>/<hex>``.
The index is followed to the image manifest (through nested indexes, choosing the platform),
then the config and the layers in the manifest's order. In a directory only the blobs the
chosen manifest names are read (see :mod:`dive_py.domain.sources.archive_reader`).
"""

from __future__ import annotations

import os

from dive_py.domain.image import Image
from dive_py.domain.layer_store import LayerStore, NoLayerStore
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_reader import read_archive_file, read_layout_directory
from dive_py.domain.sources.archive_reference import parse_archive_reference
from dive_py.domain.sources.platform import Platform


class OciLayoutSource:
    """Images from an OCI image layout: a directory, or a tar of one."""

    name = "oci"

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
        """Read the layout ``reference`` names: ``PATH``, ``PATH:REF`` or ``PATH:@N``.

        ``REF`` is an image's ``org.opencontainers.image.ref.name`` (or containerd's image
        name), ``@N`` its zero-based position in ``index.json`` (skopeo's syntax, see
        :mod:`dive_py.domain.sources.archive_reference`).

        Raises:
            ImageNotFoundError: the path does not exist, or REF names no image in it.
            ArchiveError: no ``index.json``, bad JSON, missing, unreadable or corrupt blobs, or
                an OCI artifact.
            PlatformError: several images or platforms and none chosen.
        """
        selection = parse_archive_reference(reference, self.name)
        read = read_archive_file if os.path.isfile(selection.path) else read_layout_directory
        return read(
            selection.path,
            reference=reference,
            source=self.name,
            platform=platform,
            progress=progress,
            layers=self._layers,
            selection=selection,
        )
