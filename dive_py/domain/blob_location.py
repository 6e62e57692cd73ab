"""Provides :class:`BlobLocation`: where a layer blob's bytes lie in a file on disk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """A layer blob stored as a byte range of a file (an archive member, or a layout blob file).

    Recorded while an archive or an OCI image layout is read, so that a file's bytes can be
    read again later by seeking instead of streaming the image again
    (:mod:`dive_py.domain.file_content`).

    Attributes:
        path: the absolute path of the file holding the blob (the archive, or the blob file).
        offset: where the blob starts in that file, in bytes.
        size: the blob's stored (possibly compressed) length in bytes.
    """

    path: str
    offset: int
    size: int
