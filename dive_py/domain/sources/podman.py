"""Provides :class:`PodmanSource`: read an image from podman.

``podman image save --format docker-archive IMAGE`` is streamed from the child's stdout into
the archive parser (no temp file); podman pulls a missing image itself when asked with
``podman pull``. Nothing from the image is executed.

:func:`podman_save_stream` streams the same save again, for reading a layer's version of a file
(:mod:`dive_py.domain.file_content`): the reader stops at the layer it needs and the child is
stopped then; nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import IO

from dive_py.domain.image import Image
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_stream import ArchiveFormatError, read_archive_stream
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ArchiveError, EngineUnreachableError, ImageError, ImageNotFoundError


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


def _stderr_reason(stderr: IO[bytes]) -> str:
    stderr.seek(0)
    return " ".join(stderr.read().decode("utf-8", "replace").split())[-300:]


@contextlib.contextmanager
def podman_save_stream(
    image_id: str, reference: str = "", binary: str = "podman"
) -> Iterator[IO[bytes]]:
    """Yield the stdout of ``podman image save --format docker-archive`` of one image.

    Args:
        image_id: the image's ID (``"sha256:…"``, the config digest: podman's image ID), saved
            when podman still has it, so that a tag moved since the image was read still gives
            the bytes that were read.
        reference: the image's name, saved when podman no longer knows ``image_id``.
        binary: the ``podman`` command.

    The child is stopped (killed and waited for) when the block ends, also early: a reader that
    found its layer need not read the rest.

    Raises:
        ImageError: podman is not installed, knows neither the ID nor the name, or the save
            failed (its last words are in the message).
    """
    found = shutil.which(binary)
    if found is None:
        raise EngineUnreachableError(
            f"podman is not installed (no {binary!r} on PATH)",
            "install podman to read file contents of podman images",
        )
    target = image_id.removeprefix("sha256:") if image_id else reference
    exists = subprocess.run([found, "image", "exists", target], capture_output=True, check=False)
    if exists.returncode != 0 and reference and target != reference:
        target = reference
    with tempfile.TemporaryFile() as stderr:
        # stderr goes to a file: a pipe nobody reads could fill and stall the save
        child = subprocess.Popen(
            [found, "image", "save", "--format", "docker-archive", target],
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert child.stdout is not None
        failed = False
        try:
            yield child.stdout
        except ImageError:  # a cut or damaged stream: podman's own reason is better, if it failed
            failed = True
            raise
        finally:
            if failed:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)  # its stdout ended: it is exiting
            killed = child.poll() is None
            if killed:
                child.kill()
            child.stdout.close()
            code = child.wait()
            if failed and not killed and code != 0:
                raise ImageError(
                    f"podman image save {target} failed: {_stderr_reason(stderr)}",
                    "check that podman still has the image ('podman images')",
                ) from None
