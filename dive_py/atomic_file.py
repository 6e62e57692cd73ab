"""Provides :func:`write_atomically`: replace a file in one step, or leave it untouched.

The text goes to a temporary file in the same directory, is flushed to disk, and is renamed
over the destination (POSIX ``rename`` is atomic), so readers see the old file or the whole
new one and an interrupted run leaves no half-written output (dive truncates nothing and
leaves the tail of an older, longer file behind). A symlink is followed (its target is
replaced, the link stays); a device or fifo (``/dev/null``) is written into, never replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

from dive_py.errors import OutputError

Content: TypeAlias = "str | bytes | Sequence[bytes]"
"""What :func:`write_atomically` writes: text (as UTF-8), bytes, or byte chunks written in order
(a large file made of parts need not be joined in memory first)."""


def _chunks(content: Content) -> Sequence[bytes]:
    if isinstance(content, str):
        return [content.encode("utf-8")]
    if isinstance(content, bytes):
        return [content]
    return content


def write_atomically(path: str | os.PathLike[str], text: Content, mode: int = 0o644) -> None:
    """Write ``text`` (str as UTF-8, bytes as they are, or byte chunks in order) to ``path`` atomically.

    Args:
        path: the destination file.
        text: the whole content.
        mode: permission bits of the new file (before the umask); the temporary file is
            created 0600 and only gets them when it is complete, so a private file (the
            analysis cache's 0600 entries) is never readable by others, not even briefly.

    Raises:
        OutputError: the directory does not exist or is not writable, or the disk is full.
    """
    target = Path(os.path.realpath(path))  # write through symlinks, as other tools do
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}", "choose another path") from None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        # A device or fifo (/dev/null, /dev/stdout, a named pipe): write into it; renaming a
        # temp file over it would replace the device node.
        try:
            with open(target, "wb") as handle:
                for chunk in _chunks(text):
                    handle.write(chunk)
        except OSError as exc:
            raise OutputError(
                f"cannot write {path}: {exc.strerror}", "choose another path"
            ) from None
        return
    fd, temp_name = _temp_file_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp: 0600
            for chunk in _chunks(text):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, mode & ~umask)
        os.replace(temp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise OutputError(
                f"cannot write {target}: {exc.strerror}", "check free space and permissions"
            ) from None
        raise


def _temp_file_beside(target: Path) -> tuple[int, str]:
    """Create a private (0600) temporary file in ``target``'s directory: (descriptor, name).

    Raises:
        OutputError: the directory does not exist or is not one, ``target`` is a directory, or
            the directory cannot be written.
    """
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise OutputError(
            f"cannot write {target}: directory {directory} {what}",
            "create it first or choose another path",
        )
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a directory", "name a file instead")
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(
            f"cannot write {target}: {exc.strerror}",
            "check the directory's permissions or choose another path",
        ) from None


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise now if :func:`write_atomically` could not write ``path``, without writing it.

    For checking output paths before a long job (reading an image), so that a typo in a
    directory name fails at once rather than after the work. It follows the same rules:
    a symlink is followed; a device or fifo must be writable (it is not opened: a fifo would
    block); otherwise the directory must exist, and a temporary file must be creatable in it
    (created and removed at once: this catches read-only file systems and permissions, root's
    included). A full disk can only be found when writing.

    Raises:
        OutputError: the directory does not exist or is not a directory, the path is a
            directory, or it cannot be written.
    """
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}", "choose another path") from None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {path}: permission denied", "choose another path")
        return
    fd, temp_name = _temp_file_beside(target)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(temp_name)
