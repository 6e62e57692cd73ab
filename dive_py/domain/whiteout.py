"""Provides the whiteout naming rules of layer tars.

OCI image spec, layer.md "Whiteouts": an entry named ``.wh.NAME`` deletes ``NAME`` (and
everything under it) from the layers below; an entry named ``.wh..wh..opq`` makes its directory
opaque, hiding everything the lower layers had in it. Whiteouts act on lower layers only.
How they are applied to a stacked file system is in :mod:`dive_py.domain.file_tree`.
"""

from __future__ import annotations

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
AUFS_META_PREFIX = ".wh..wh."
"""AUFS metadata (``.wh..wh.plnk``, ``.wh..wh.aufs``): names that stand for no file."""


def deleted_path(whiteout_path: str) -> str:
    """Return the path a whiteout entry deletes: ``"dir/.wh.name"`` -> ``"dir/name"``.

    Args:
        whiteout_path: a normalised layer path whose last component starts with ``.wh.`` (and
            is not the opaque marker; :mod:`dive_py.domain.layer_tar` sorts those out).
    """
    parent, _, name = whiteout_path.rpartition("/")
    target = name[len(WHITEOUT_PREFIX) :]
    return f"{parent}/{target}" if parent else target
