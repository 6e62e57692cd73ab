"""Provides the whiteout naming rules of layer tars.

OCI image spec, layer.md "Whiteouts": an entry named ``.wh.NAME`` deletes ``NAME`` (and
everything under it) from the layers below; an entry named ``.wh..wh..opq`` makes its directory
opaque, hiding everything the lower layers had in it. Whiteouts act on lower layers only.
How they are applied to a stacked file system is in :mod:`dive_py.domain.filesystem`.
"""

from __future__ import annotations

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


def whiteout_target(name: str) -> str | None:
    """Return the name a whiteout entry deletes, or None when ``name`` is not a whiteout.

    Args:
        name: the last path component of a layer entry.

    Returns:
        ``"foo"`` for ``".wh.foo"``; None for ordinary names and for the opaque marker
        (see :func:`is_opaque_marker`).
    """
    if not name.startswith(WHITEOUT_PREFIX):
        return None
    if name.startswith(".wh..wh."):
        return None  # the opaque marker and other AUFS meta files
    return name[len(WHITEOUT_PREFIX):] or None


def is_opaque_marker(name: str) -> bool:
    """True when ``name`` (a last path component) is the opaque-directory marker."""
    return name == OPAQUE_MARKER


def is_aufs_meta(name: str) -> bool:
    """True for AUFS metadata names (``.wh..wh.plnk``, ``.wh..wh.aufs`` ...), which carry no file."""
    return name.startswith(".wh..wh.") and name != OPAQUE_MARKER
