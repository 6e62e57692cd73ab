"""Provides :class:`ArchiveReference`: one image named in an archive or layout that may hold several.

The syntax is skopeo's (containers-transports(5)): ``docker-archive:PATH[:REF]`` and
``oci:PATH[:REF]``, where ``REF`` is a tag or name the archive gives an image
(``manifest.json``'s ``RepoTags``, an index's ``org.opencontainers.image.ref.name`` or
``io.containerd.image.name``) or ``@N``, the zero-based position of the image in
``manifest.json`` or in ``index.json``'s ``manifests`` (for untagged images). The same
``PATH:REF`` follows ``docker-archive://``, ``oci://`` and ``--source docker-archive|oci``.

Where the colon between ``PATH`` and ``REF`` falls: a path that exists as written is a path (a
colon in a file name still works); else the longest prefix that exists before a colon is the
path; else the text splits at its first colon, as skopeo splits it (the path is then reported
missing).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchiveReference:
    """An archive or layout path, and which image in it the user named.

    Attributes:
        path: the archive file or layout directory.
        transport: ``docker-archive`` or ``oci``: the syntax's prefix when an argument that
            names one image is shown back.
        name: the tag or name given after the path (``"base:1"``), or ``""``.
        position: the zero-based position given as ``@N``, or None.
    """

    path: str
    transport: str
    name: str = ""
    position: int | None = None

    @property
    def names_one(self) -> bool:
        """True when the user named one image (by name or by position)."""
        return bool(self.name) or self.position is not None

    def argument(self, selector: str) -> str:
        """Return the command-line argument that names the image ``selector`` in this archive.

        Args:
            selector: an image's tag or name, or ``"@N"``.

        Returns:
            ``docker-archive:PATH:selector`` (or ``oci:…``), quoted for a POSIX shell when it
            holds spaces or other special characters.
        """
        return shlex.quote(f"{self.transport}:{self.path}:{selector}")


def parse_archive_reference(text: str, transport: str) -> ArchiveReference:
    """Split ``PATH[:REF]`` (the part after ``docker-archive:`` or ``oci:``) into its parts.

    Args:
        text: the path, optionally followed by ``:REF`` or ``:@N``.
        transport: ``docker-archive`` or ``oci``.

    Returns:
        The :class:`ArchiveReference`. ``@N`` with N not a non-negative integer is kept as a
        name (and will match no image).
    """
    if not text or os.path.exists(text) or ":" not in text:
        return ArchiveReference(text, transport)
    cut = -1
    position = text.find(":")
    while position != -1:
        if os.path.exists(text[:position]):
            cut = position  # the longest existing prefix wins
        position = text.find(":", position + 1)
    if cut == -1:
        cut = text.find(":")
    path, selector = text[:cut], text[cut + 1 :]
    if selector.startswith("@") and selector[1:].isdigit() and selector[1:].isascii():
        return ArchiveReference(path, transport, position=int(selector[1:]))
    return ArchiveReference(path, transport, name=selector)
