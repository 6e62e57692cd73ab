"""Provides :class:`LayerCache`: parsed layers kept on disk by digest, so a known layer is not read again.

A layer is content-addressed: the same blob digest (or diff ID) always parses to the same
:class:`~dive_py.domain.layer_tar.LayerContents`. Every source uses it (see
:mod:`dive_py.domain.layer_store`): the registry looks a layer up by its blob digest before
downloading it, archives and OCI layouts skip a known blob without reading it, the engine skips
parsing a known layer of its export; each stores what it parsed. An image whose lower layers
were seen before (the next build of an app on the same base, the next tag) then reads and
parses only its new layers. A layer stored under a blob digest that is not its diff ID (a
compressed blob) gets an alias entry under its diff ID, so a layer first read from a registry
is known to the engine source too.

Storage: ``layers/`` under the analysis cache directory (``$DIVEPY_CACHE_DIR`` or the
platform's user cache directory; see :mod:`dive_py.domain.analysis_cache`), 0700, one file per
layer, 0600, written atomically. An entry is ``MAGIC | header length | JSON header | payload``
(a pickled ``LayerContents``); the header names the format, the divepy version, the analysis
code's fingerprint, the key and the payload's length and sha256. An entry is only unpickled
when the directory and the file belong to the current user and nobody else may write them and
the header and checksum match; anything else is deleted. The key is the sha256 of the digest,
the format, the version and the code fingerprint, so a change in the parsing code never reads
an old entry.

Bounded: least recently used entries (by modification time, refreshed on every hit) are
deleted once the directory holds more than the limit, :data:`DEFAULT_LIMIT_BYTES` unless
``DIVEPY_LAYER_CACHE_BYTES`` says otherwise (``0`` turns the layer cache off;
``DIVEPY_LAYER_CACHE=off`` too, which ``--no-cache`` sets).

The cache never makes a run fail: every error here means "not cached".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dive_py import __version__
from dive_py.atomic_file import write_atomically
from dive_py.domain.cache_directory import (
    cache_directory,
    code_fingerprint,
    private_directory,
    read_private_entry,
)
from dive_py.domain.layer_tar import LayerContents

LAYER_FORMAT = 2
"""Bump when the entry layout or :class:`LayerContents` changes incompatibly."""
MAGIC = b"DIVEPYLC"
DEFAULT_LIMIT_BYTES = 4 << 30
"""The layer cache's default size limit: 4 GiB of entries."""
SUFFIX = ".layer"
ALIAS_SUFFIX = ".alias"
"""Alias entries: a diff ID -> the blob digest its layer is stored under."""
_STALE_TEMP_SECONDS = 3600


def layer_cache_limit(env: Mapping[str, str]) -> int:
    """The size limit in bytes: ``DIVEPY_LAYER_CACHE_BYTES`` (a whole number of bytes, or with
    a ``K``/``M``/``G`` suffix, powers of 1024), else :data:`DEFAULT_LIMIT_BYTES`; 0 when
    ``DIVEPY_LAYER_CACHE`` is ``off``. A value that does not parse gives the default."""
    if env.get("DIVEPY_LAYER_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return 0
    text = env.get("DIVEPY_LAYER_CACHE_BYTES", "").strip().upper().removesuffix("B")
    if not text:
        return DEFAULT_LIMIT_BYTES
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        return DEFAULT_LIMIT_BYTES
    return max(value, 0)


def layer_cache_directory(env: Mapping[str, str]) -> Path:
    """``layers/`` under the analysis cache directory."""
    return cache_directory(env) / "layers"


@dataclass(frozen=True, slots=True)
class CacheUsage:
    """What a cache directory holds: ``entries`` files, ``size_bytes`` bytes on disk."""

    entries: int
    size_bytes: int


class LayerCache:
    """Parsed layers on disk by digest (implements the registry source's ``LayerStore``).

    Args:
        directory: where entries live (created 0700 on first store).
        limit_bytes: the size limit; least recently used entries go first beyond it.
    """

    def __init__(self, directory: Path, limit_bytes: int) -> None:
        self.directory = directory
        self.limit_bytes = limit_bytes

    def _path(self, digest: str, suffix: str = SUFFIX) -> Path:
        material = f"{digest}\0{LAYER_FORMAT}\0{__version__}\0{code_fingerprint()}"
        return self.directory / (hashlib.sha256(material.encode()).hexdigest() + suffix)

    def get(self, digest: str) -> LayerContents | None:
        """Return the layer stored under ``digest`` (blob digest or diff ID), or None.

        A diff ID may name an alias of the blob digest the layer was stored under (see
        :meth:`put`); the layer found through it must have that diff ID, else it is no hit."""
        found = self._read(digest, SUFFIX)
        if found is not None and not found[0].get("alias"):
            return self._unpickle(digest, found[1])
        found = self._read(digest, ALIAS_SUFFIX)
        if found is None or not found[0].get("alias"):
            return None
        target = found[1].decode("ascii", "replace")
        contents = None
        if target != digest:
            found = self._read(target, SUFFIX)
            if found is not None and not found[0].get("alias"):
                contents = self._unpickle(target, found[1])
        if contents is None or contents.diff_id != digest:
            return None
        return contents

    def _read(self, digest: str, suffix: str) -> tuple[dict[str, object], bytes] | None:
        """The verified header and payload of the entry for ``digest``; a bad entry is
        deleted. Never raises."""
        if not digest or self.limit_bytes <= 0:
            return None
        path = self._path(digest, suffix)
        try:
            data = read_private_entry(self.directory, path)
            if data is None:
                return None
            found = _verified_entry(data, digest)
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return found

    def _unpickle(self, digest: str, payload: bytes) -> LayerContents | None:
        try:
            contents = pickle.loads(payload)
            if not isinstance(contents, LayerContents):
                raise ValueError("not a layer")
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(self._path(digest))
            return None
        return contents

    def put(self, digest: str, contents: LayerContents) -> None:
        """Store ``contents`` under ``digest`` atomically (0600), then trim to the limit.

        When ``digest`` is not the layer's diff ID (a compressed blob's digest), a small alias
        entry under the diff ID points to it, so a source that knows only diff IDs (the
        engine, a ``docker save`` archive) finds the layer too. Never raises."""
        if not digest or self.limit_bytes <= 0:
            return
        try:
            payload = pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL)
            if not private_directory(self.directory):
                return
            self._write(self._path(digest), digest, payload, alias=False)
            if contents.diff_id and contents.diff_id != digest:
                alias_path = self._path(contents.diff_id, ALIAS_SUFFIX)
                self._write(alias_path, contents.diff_id, digest.encode("ascii"), alias=True)
            trim(self.directory, self.limit_bytes)
        except Exception:
            return

    def _write(self, path: Path, digest: str, payload: bytes, *, alias: bool) -> None:
        header = json.dumps(
            {
                "format": LAYER_FORMAT,
                "version": __version__,
                "code": code_fingerprint(),
                "digest": digest,
                "alias": alias,
                "length": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
                "created": time.time(),
            },
            sort_keys=True,
        ).encode()
        write_atomically(
            path,
            [MAGIC + len(header).to_bytes(4, "big") + header, payload],
            mode=0o600,
        )


def _verified_entry(data: bytes, digest: str) -> tuple[dict[str, object], bytes]:
    start = len(MAGIC) + 4
    if data[: len(MAGIC)] != MAGIC or len(data) < start:
        raise ValueError("bad magic")
    header_len = int.from_bytes(data[len(MAGIC) : start], "big")
    header = json.loads(data[start : start + header_len])
    if not isinstance(header, dict):
        raise ValueError("bad header")
    expected = {
        "format": LAYER_FORMAT,
        "version": __version__,
        "code": code_fingerprint(),
        "digest": digest,
    }
    for name, value in expected.items():
        if header.get(name) != value:
            raise ValueError(f"header {name} mismatch")
    payload = data[start + header_len :]
    if len(payload) != header.get("length"):
        raise ValueError("truncated")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValueError("checksum mismatch")
    return header, payload


def trim(directory: Path, limit_bytes: int) -> int:
    """Delete least recently used entries until the entries fit in ``limit_bytes``; drop
    stale temporary files. Returns the bytes freed. Never raises."""
    now = time.time()
    entries: list[tuple[float, int, str]] = []
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    info = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if item.name.endswith(".tmp") and now - info.st_mtime > _STALE_TEMP_SECONDS:
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)
                elif item.name.endswith((SUFFIX, ALIAS_SUFFIX)):
                    entries.append((info.st_mtime, info.st_size, item.path))
    except OSError:
        return 0
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, path in sorted(entries):
        if total <= limit_bytes:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
            freed += size
    return freed


def usage(directory: Path, suffix: str) -> CacheUsage:
    """Count the entries ending in ``suffix`` in ``directory`` and their bytes. Never raises."""
    count = size = 0
    try:
        with os.scandir(directory) as it:
            for item in it:
                if item.name.endswith(suffix):
                    with contextlib.suppress(OSError):
                        size += item.stat(follow_symlinks=False).st_size
                        count += 1
    except OSError:
        pass
    return CacheUsage(count, size)


def clear(directory: Path, suffixes: tuple[str, ...]) -> CacheUsage:
    """Delete the entries (and temporary files) in ``directory`` whose names end in one of
    ``suffixes``; return what was deleted. Never raises."""
    count = size = 0
    try:
        with os.scandir(directory) as it:
            for item in it:
                if item.name.endswith((*suffixes, ".tmp")) and item.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        entry_size = item.stat(follow_symlinks=False).st_size
                        os.unlink(item.path)
                        count += 1
                        size += entry_size
    except OSError:
        pass
    return CacheUsage(count, size)


def open_layer_cache(env: Mapping[str, str]) -> LayerCache | None:
    """The user's layer cache, or None when it is turned off (limit 0). Never raises."""
    try:
        limit = layer_cache_limit(env)
        if limit <= 0:
            return None
        return LayerCache(layer_cache_directory(env), limit)
    except Exception:
        return None
