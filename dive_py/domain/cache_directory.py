"""Provides the caches' common ground: :func:`cache_directory`, :func:`private_directory` and
:func:`code_fingerprint`.

Shared by the analysis cache (:mod:`dive_py.domain.analysis_cache`) and the layer cache
(:mod:`dive_py.domain.layer_cache`), which must not import each other's modules (the analysis
cache reaches the sources, the sources reach the layer cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dive_py import __version__

_fingerprint: str | None = None


def code_fingerprint() -> str:
    """sha256 of the divepy version and the sources of :mod:`dive_py.domain` (cached per process)."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256(f"{__version__}\0".encode())
        root = Path(__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            with contextlib.suppress(OSError):
                digest.update(path.read_bytes())
            digest.update(b"\0")
        _fingerprint = digest.hexdigest()
    return _fingerprint


def cache_directory(env: Mapping[str, str] | None = None) -> Path:
    """The directory holding analyses: ``$DIVEPY_CACHE_DIR`` or the platform's user cache dir."""
    env = os.environ if env is None else env
    override = env.get("DIVEPY_CACHE_DIR", "").strip()
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("divepy")) / "analyses"


def private_directory(directory: Path) -> bool:
    """Create ``directory`` 0700 if needed; True when it is ours and only we can write it.

    Also used by :mod:`dive_py.domain.layer_cache`. Never raises.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.stat(directory, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(directory, 0o700)
        return True
    except OSError:
        return False


class UntrustedEntry(Exception):
    """A cache file that is not a private regular file of this user: delete it, trust nothing."""


def read_private_entry(directory: Path, path: Path) -> bytes | None:
    """Return the bytes of the cache file ``path`` in ``directory``; None when there is none.

    None when ``directory`` is not a directory of this user that others cannot write (nothing
    in it is trusted then), or when ``path`` cannot be opened (missing, or a symlink: never
    followed). Both caches read their entries so (then check the entry's own checksum).

    Raises:
        UntrustedEntry: ``path`` is not a regular file of this user that only they can read
            and write (the caller deletes it).
    """
    try:
        info = os.stat(directory, follow_symlinks=False)
        if (
            not stat.S_ISDIR(info.st_mode)
            or info.st_uid != os.getuid()
            or stat.S_IMODE(info.st_mode) & 0o022
        ):
            return None  # not a private directory: trust nothing in it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.getuid()
            or stat.S_IMODE(info.st_mode) & 0o077
        ):
            raise UntrustedEntry(f"{path} is not a private regular file")
        try:
            return handle.read()
        except OSError:
            return None
