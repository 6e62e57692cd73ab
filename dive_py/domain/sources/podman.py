"""Provides :class:`PodmanSource`: read an image from podman.

``podman image save --format docker-archive IMAGE`` is streamed from the child's stdout into
the archive parser (no temp file); podman pulls a missing image itself when asked with
``podman pull``. Nothing from the image is executed.
"""

from __future__ import annotations

import shutil
import subprocess

from dive_py.domain.image import Image
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_stream import ArchiveFormatError, read_archive_stream
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ArchiveError, EngineUnreachableError, ImageNotFoundError


class PodmanSource:
    """Images from the local podman store, through the ``podman`` command."""

    name = "podman"

    def __init__(self, binary: str = "podman") -> None:
        self._binary = binary

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([self._binary, *args], capture_output=True, check=False)

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read ``reference`` from podman, pulling it when it is missing.

        Raises:
            EngineUnreachableError: podman is not installed.
            ImageNotFoundError: the image is missing and could not be pulled.
            ArchiveError: the save stream is corrupt or cut off.
        """
        progress = progress or ProgressListener()
        binary = shutil.which(self._binary)
        if binary is None:
            raise EngineUnreachableError(
                "podman is not installed (no 'podman' on PATH)",
                "install podman, or use --source docker",
            )
        self._binary = binary
        if self._run("image", "exists", reference).returncode != 0:
            progress.message(f"Image {reference} is not in podman's store; pulling it")
            pulled = self._run(
                "pull", *(["--platform", str(platform)] if platform else []), reference
            )
            if pulled.returncode != 0:
                reason = " ".join(pulled.stderr.decode("utf-8", "replace").split())[-300:]
                raise ImageNotFoundError(
                    f"image {reference} is not in podman's store, and pulling it failed: {reason}",
                    "check the name and tag, and 'podman login'",
                )
        progress.message(f"Reading {reference} from podman")
        child = subprocess.Popen(
            [self._binary, "image", "save", "--format", "docker-archive", reference],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        try:
            parts = read_archive_stream(child.stdout, progress=lambda n, pos: progress.read(pos, n))
        except ArchiveFormatError as exc:
            child.kill()
            child.wait()
            reason = " ".join(child.stderr.read().decode("utf-8", "replace").split())[-300:]
            raise ArchiveError(
                f"podman's save stream of {reference} is unreadable: {exc} {reason}".strip(),
                "retry; check 'podman image save' works",
            ) from None
        finally:
            if child.poll() is None:
                child.stdout.close()
        if child.wait() != 0:
            reason = " ".join(child.stderr.read().decode("utf-8", "replace").split())[-300:]
            raise ArchiveError(
                f"podman image save {reference} failed: {reason}",
                "retry; check 'podman image save' works",
            )
        child.stderr.close()
        image = assemble_image(parts, reference=reference, source=self.name, platform=platform)
        progress.done()
        return image
