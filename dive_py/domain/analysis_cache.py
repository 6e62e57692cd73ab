"""Provides :func:`open_slot`: an on-disk cache of analyses, consulted before an image is read.

Reopening an image that was analysed before skips the ``docker save`` stream (or the archive
read) and the parse: the :class:`~dive_py.domain.analysis.Analysis` (image + figures) is
loaded from the user's cache directory instead.

Key (one entry per way of reaching an image; the entry records the config digest too):

* ``docker``: the image ID the engine reports in ``GET /images/{name}/json`` (inspect), asked
  *before* the save stream is opened. The cache never talks to the engine itself: the source
  hands it the key (:meth:`DockerEngineSource.cache_key
  <dive_py.domain.sources.docker_engine.DockerEngineSource.cache_key>`, passed to
  :func:`open_slot` as ``engine_key``). On classic engines that ID is the config digest (the
  image's content digest, :attr:`Image.image_id`); on engines with the containerd image store
  it is the digest of the manifest or index. Either way it is a content digest: a different
  image under the same name gets a different ID. The endpoint (``DOCKER_HOST``…) is part of
  the key, since engines differ in what their save stream holds (layer ids, layouts).
  An image the engine does not have (it would be pulled) is never looked up.
* ``docker-archive`` / ``oci`` tar: the file's identity, not its bytes: real path, device,
  inode, size, ``mtime_ns`` and ``ctime_ns``. Hashing the file would cost as much as reading
  it (seconds for a GB archive); rewriting, replacing or touching the file changes the key
  (``ctime`` cannot be set back by the user). Not covered: a file rewritten in place to the
  same size within one timestamp tick of the file system: use ``--no-cache``.
* ``oci`` directory: real path plus the sha256 of ``index.json`` (blobs are content-addressed,
  so ``index.json`` pins the content).
* ``registry``: the repository and the digest of the manifest (or index) the tag names at
  the time of the run (:meth:`RegistrySource.cache_key
  <dive_py.domain.sources.registry.RegistrySource.cache_key>`: one manifest request, none for
  ``@sha256:…``), passed as ``engine_key``; like the engine's, it is asked again before
  storing, so a tag pushed to while it was read is not stored under the old digest.
* ``podman``: not cached (it is read through the ``podman`` CLI).

Plus, in every key: ``--platform``, the cache format version, the divepy version and a
fingerprint of the domain code (:mod:`dive_py.domain` sources), so a fix in the analysis
invalidates old entries even without a version bump.

Storage: ``platformdirs.user_cache_dir("divepy")/analyses`` (or ``$DIVEPY_CACHE_DIR``), the
directory 0700, every entry 0600, written by :func:`dive_py.atomic_file.write_atomically`
(a temporary file renamed into place: concurrent runs see an old entry or a whole new one; the
last writer wins; an interrupted write leaves nothing). The caller decides when to store: the
command line stores only once a run has completed, so an interrupted run leaves no entry. An entry is
``MAGIC | header length | JSON header | payload``; the header names the format, versions,
key, payload length and the payload's sha256. An entry is only unpickled when the directory
and the file belong to the current user and nobody else may write them, and the header and
the sha256 match; anything else (corrupt, truncated, other version, foreign owner) is
deleted and the image is read again. Only the most recently used :data:`MAX_ENTRIES` are kept.

The cache never makes a run fail: every error here means "no cache".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dive_py import __version__
from dive_py.atomic_file import write_atomically
from dive_py.domain.analysis import Analysis
from dive_py.domain.cache_directory import (
    cache_directory,
    code_fingerprint,
    private_directory,
    read_private_entry,
)
from dive_py.domain.sources.platform import Platform

CACHE_FORMAT = 1
"""Bump when the entry layout or the pickled classes change incompatibly."""

MAGIC = b"DIVEPYAC"
MAX_ENTRIES = 32
"""Entries kept (least recently used removed first)."""

_STALE_TEMP_SECONDS = 3600

# ------------------------------------------------------------------------------------------
# identities: what the key is made of, computed without reading the image
# ------------------------------------------------------------------------------------------


def _file_identity(path: str) -> dict[str, Any] | None:
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        try:
            with open(os.path.join(real, "index.json"), "rb") as handle:
                index = handle.read(16 << 20)
        except OSError:
            return None
        return {"kind": "oci-dir", "path": real, "index_sha256": hashlib.sha256(index).hexdigest()}
    if not stat.S_ISREG(info.st_mode):
        return None
    return {
        "kind": "file",
        "path": real,
        "dev": info.st_dev,
        "ino": info.st_ino,
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "ctime_ns": info.st_ctime_ns,
    }


# ------------------------------------------------------------------------------------------
# entries
# ------------------------------------------------------------------------------------------


@dataclass
class CacheSlot:
    """Where the analysis of one image (reached one way) is, or will be, stored.

    Attributes:
        directory: the cache directory.
        key: hex sha256 naming the entry.
        identity: what the key was made of (kept in the entry's header, for debugging).
        source: the canonical source name.
        reference: the reference as the source sees it (scheme prefix removed).
        recheck: for ``docker``: called before storing, returns the engine's current
            (endpoint host, image ID) (guards against the name moving to another image
            between inspect and save).
    """

    directory: Path
    key: str
    identity: dict[str, Any]
    source: str
    reference: str
    recheck: Callable[[], tuple[str, str] | None] | None = None

    @property
    def path(self) -> Path:
        return self.directory / f"{self.key}.analysis"

    # -- reading --------------------------------------------------------------------------

    def load(self) -> Analysis | None:
        """Return the cached :class:`Analysis`, or None (missing, or bad and now deleted)."""
        try:
            data = read_private_entry(self.directory, self.path)
            if data is None:
                return None
            payload = self._verified_payload(data)
            image, efficiency = pickle.loads(payload)
            image.reference = self.reference
            image.source = self.source
            analysis = Analysis(image=image, efficiency=efficiency)
        except Exception:
            self.discard()
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path)  # most recently used
        return analysis

    def _verified_payload(self, data: bytes) -> bytes:
        if data[: len(MAGIC)] != MAGIC or len(data) < len(MAGIC) + 4:
            raise ValueError("bad magic")
        start = len(MAGIC) + 4
        header_len = int.from_bytes(data[len(MAGIC) : start], "big")
        header = json.loads(data[start : start + header_len])
        expected = {
            "format": CACHE_FORMAT,
            "version": __version__,
            "code": code_fingerprint(),
            "key": self.key,
        }
        for name, value in expected.items():
            if header.get(name) != value:
                raise ValueError(f"header {name} mismatch")
        payload = data[start + header_len :]
        if len(payload) != header.get("length"):
            raise ValueError("truncated")
        if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            raise ValueError("checksum mismatch")
        return payload

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    # -- writing --------------------------------------------------------------------------

    def store(self, analysis: Analysis) -> bool:
        """Write ``analysis`` atomically (0600); True when it was stored. Never raises."""
        try:
            image = analysis.image
            engine_id = self.identity.get("id")
            if self.recheck is not None and engine_id != image.image_id:
                now = self.recheck()  # containerd store: the ID is a manifest/index digest
                if now is None or now[1] != engine_id:
                    return False  # the name moved to another image while we read it
            payload = pickle.dumps((image, analysis.efficiency), protocol=pickle.HIGHEST_PROTOCOL)
            header = json.dumps(
                {
                    "format": CACHE_FORMAT,
                    "version": __version__,
                    "code": code_fingerprint(),
                    "key": self.key,
                    "identity": self.identity,
                    "image_id": image.image_id,
                    "length": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                    "created": time.time(),
                },
                sort_keys=True,
            ).encode()
            if not private_directory(self.directory):
                return False
            write_atomically(
                self.path, [MAGIC + len(header).to_bytes(4, "big") + header, payload], mode=0o600
            )
            _prune(self.directory)
            return True
        except Exception:
            return False


def _prune(directory: Path) -> None:
    """Keep the :data:`MAX_ENTRIES` most recently used entries; drop stale temporary files."""
    now = time.time()
    entries = []
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if item.name.endswith(".tmp"):
                    if now - info.st_mtime > _STALE_TEMP_SECONDS:
                        os.unlink(item.path)
                elif item.name.endswith(".analysis"):
                    entries.append((info.st_mtime, item.path))
    except OSError:
        return
    entries.sort(reverse=True)
    for _, path in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


EngineKey = Callable[[str], "tuple[str, str] | None"]
"""Asks the engine for an image's cache key: reference -> (endpoint host, image ID), or None
when the engine cannot say (unreachable, no such image). Never raises."""


def open_slot(
    text: str,
    source: str,
    platform: Platform | None,
    env: Mapping[str, str] | None = None,
    engine_key: EngineKey | None = None,
) -> CacheSlot | None:
    """Return the cache slot for the image the user named, or None when it cannot be cached.

    Args:
        text: the image argument (may carry a scheme prefix).
        source: the ``--source`` value (or its default).
        platform: the ``--platform`` value, or None.
        env: the environment (``DIVEPY_CACHE_DIR``); ``os.environ`` by default.
        engine_key: for the ``docker`` and ``registry`` sources, the source's key lookup
            (:meth:`~dive_py.domain.sources.docker_engine.DockerEngineSource.cache_key`,
            :meth:`~dive_py.domain.sources.registry.RegistrySource.cache_key`); without it
            such an image is not cached.

    Never raises.
    """
    try:
        from dive_py.domain.sources import split_scheme

        name, reference = split_scheme(text, source)
        if not reference:
            return None
        recheck = None
        identity: dict[str, Any] | None
        if name in ("docker-archive", "oci"):
            from dive_py.domain.sources.archive_reference import parse_archive_reference

            named = parse_archive_reference(reference, name)  # PATH[:REF]: REF picks an image
            identity = _file_identity(named.path)
            if identity is not None and named.names_one:
                identity["image"] = named.name or f"@{named.position}"
        elif name in ("docker", "registry") and engine_key is not None:
            found = engine_key(reference)
            if found is None:
                return None
            identity = {"kind": name, "host": found[0], "id": found[1]}
            lookup = engine_key

            def recheck() -> tuple[str, str] | None:
                return lookup(reference)

        else:
            return None
        if identity is None:
            return None
        material = json.dumps(
            {
                "source": name,
                "platform": str(platform) if platform else "",
                "identity": identity,
                "format": CACHE_FORMAT,
                "version": __version__,
                "code": code_fingerprint(),
            },
            sort_keys=True,
        )
        key = hashlib.sha256(material.encode()).hexdigest()
        return CacheSlot(cache_directory(env), key, identity, name, reference, recheck)
    except Exception:
        return None
