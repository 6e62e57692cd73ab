"""Provides :class:`Image` and :class:`Layer`: an image as read from a source, before analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dive_py.domain.history import HistoryStep
from dive_py.domain.layer_tar import LayerContents


@dataclass(slots=True)
class Layer:
    """One layer of an image, bottom (index 0) to top.

    Attributes:
        index: 0-based position in the manifest.
        diff_id: ``"sha256:…"`` from the config's ``rootfs.diff_ids`` (the uncompressed tar's
            digest), or the computed one when the config lacks it.
        digest: the blob digest as stored (``"sha256:…"`` of the possibly compressed blob), or
            ``""`` when the source does not name blobs by digest (legacy layout).
        id: dive's layer id: the legacy layout's directory name, or the blob's hex digest.
        contents: the parsed :class:`LayerContents`.
        step: the history step that made the layer.
        compressed_size_bytes: the blob's size in bytes as stored (what a pull downloads),
            when the source knows it (the registry source); None otherwise.
        media_type: the blob's media type (``application/vnd.oci.image.layer.v1.tar+gzip``…)
            when the source knows it; ``""`` otherwise.
    """

    index: int
    diff_id: str
    digest: str
    id: str
    contents: LayerContents
    step: HistoryStep
    compressed_size_bytes: int | None = None
    media_type: str = ""

    @property
    def size_bytes(self) -> int:
        """Sum of the layer's member sizes in bytes (dive's layer size)."""
        return self.contents.size_bytes

    @property
    def command(self) -> str:
        """The readable command of the step that made the layer."""
        return self.step.command


@dataclass(slots=True)
class Image:
    """An image as read from a source.

    Attributes:
        reference: what the user asked for (``"python-hello-world"``, a path ...).
        source: the source name (``"docker"``, ``"docker-archive"``, ``"oci"``, ``"podman"``).
        image_id: ``"sha256:…"`` digest of the config blob (the engine's image ID).
        repo_tags: tags recorded in the archive (may be empty).
        layers: the layers, bottom to top.
        history: every history step in build order, including those that made no layer.
        config: the parsed image config JSON.
        platform: ``"os/arch[/variant]"`` from the config.
        warnings: problems found and worked around (history/layer mismatch, diff ID mismatch…).
    """

    reference: str
    source: str
    image_id: str
    repo_tags: list[str]
    layers: list[Layer]
    history: list[HistoryStep]
    config: dict[str, Any]
    platform: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        """Total bytes of all layers (dive's ``sizeBytes``)."""
        return sum(layer.size_bytes for layer in self.layers)

    @property
    def compressed_size_bytes(self) -> int | None:
        """Bytes of all layer blobs as stored (what a pull downloads), when the source knows
        every layer's; None otherwise."""
        sizes = [layer.compressed_size_bytes for layer in self.layers]
        if not sizes or any(size is None for size in sizes):
            return None
        return sum(size for size in sizes if size is not None)
