"""Provides :class:`DockerArchiveSource`: read a ``docker save`` tar (or an OCI layout tar) from disk."""

from __future__ import annotations

import os
from typing import BinaryIO

from dive_py.domain.image import Image
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_stream import ArchiveFormatError, read_archive_stream
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
) -> Image:
    """Read an image archive tar at ``path`` (any layout :func:`assemble_image` knows).

    Raises:
        ImageNotFoundError: the file is missing or unreadable.
        ArchiveError: the file is not an image archive, or is corrupt or truncated.
    """
    progress = progress or ProgressListener()
    progress.message(f"Reading {path}")
    handle = open_archive_file(path)
    with handle:
        try:
            parts = read_archive_stream(
                handle, progress=lambda layers, pos: progress.read(pos, layers)
            )
        except ArchiveFormatError as exc:
            raise ArchiveError(
                f"{path}: {exc}",
                "the archive is corrupt or truncated: write it again with 'docker save'",
            ) from None
        except OSError as exc:
            raise ArchiveError(
                f"cannot read {path}: {exc.strerror or exc}", "check the file and the disk it is on"
            ) from None
    image = assemble_image(parts, reference=reference, source=source, platform=platform)
    progress.done()
    return image


class DockerArchiveSource:
    """Images from ``docker save`` files (legacy layout and Docker >= 25's OCI layout).

    A directory is read as an OCI image layout (:class:`~dive_py.domain.sources.oci_layout.OciLayoutSource`).
    """

    name = "docker-archive"

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the archive at path ``reference``; see :func:`read_archive_file` for errors."""
        if os.path.isdir(reference):
            from dive_py.domain.sources.oci_layout import OciLayoutSource

            return OciLayoutSource().fetch(reference, platform=platform, progress=progress)
        return read_archive_file(
            reference, reference=reference, source=self.name, platform=platform, progress=progress
        )
