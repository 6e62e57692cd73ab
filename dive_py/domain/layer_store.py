"""Provides :class:`LayerStore`: where a source finds a layer it parsed before, and keeps one.

Every source asks its store before parsing a layer and hands it what it parsed: the registry
by blob digest before downloading, archives and OCI layouts by the digest a blob is named by
(or the diff ID the image's config gives it), the engine by diff ID while its export streams
by. :class:`~dive_py.domain.layer_cache.LayerCache` is the store on disk; :class:`NoLayerStore`
keeps nothing (``--no-cache``, tests).
"""

from __future__ import annotations

from typing import Protocol

from dive_py.domain.layer_tar import LayerContents


class LayerStore(Protocol):
    """Parsed layers by digest: a blob digest (``"sha256:<hex>"`` of the bytes as stored,
    compressed or not) or a diff ID (of the uncompressed tar)."""

    def get(self, digest: str) -> LayerContents | None:
        """Return the parsed layer stored under ``digest``, or None."""
        ...

    def put(self, digest: str, contents: LayerContents) -> None:
        """Keep ``contents`` under ``digest`` (and under its diff ID); never raises."""
        ...


class NoLayerStore:
    """A :class:`LayerStore` that keeps nothing."""

    def get(self, digest: str) -> LayerContents | None:
        """Always None."""
        return None

    def put(self, digest: str, contents: LayerContents) -> None:
        """Keeps nothing."""
