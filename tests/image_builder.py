"""Build tiny image archives in memory for tests: layer tars and docker-archive / OCI layouts.

Layers are described as lists of :class:`E` (entry) values; archives can be written in the
legacy ``docker save`` layout, Docker >= 25's OCI layout with ``manifest.json``, or a pure OCI
image layout (no ``manifest.json``), with layers uncompressed, gzip or zstd.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import zstandard


@dataclass
class E:
    """One layer entry: ``kind`` is file, dir, symlink, hardlink, fifo, char, block."""

    path: str
    kind: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    link: str = ""


def f(path: str, data: bytes | str = b"", mode: int = 0o644, **kw: int) -> E:
    """A regular file."""
    return E(path, "file", data.encode() if isinstance(data, str) else data, mode, **kw)


def d(path: str, mode: int = 0o755, **kw: int) -> E:
    """A directory."""
    return E(path, "dir", b"", mode, **kw)


def sym(path: str, target: str) -> E:
    """A symlink."""
    return E(path, "symlink", link=target, mode=0o777)


def hard(path: str, target: str) -> E:
    """A hardlink to ``target`` (a path in the same layer)."""
    return E(path, "hardlink", link=target, mode=0o644)


def wh(path: str) -> E:
    """A whiteout deleting ``path``."""
    parent, _, name = path.rpartition("/")
    return E(f"{parent}/.wh.{name}" if parent else f".wh.{name}", "file", b"", 0o644)


def opaque(dir_path: str) -> E:
    """The opaque marker of ``dir_path``."""
    return E(f"{dir_path}/.wh..wh..opq", "file", b"", 0o644)


_KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
}


def layer_tar(entries: Sequence[E], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """Return an uncompressed layer tar holding ``entries`` in order."""
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path)
            info.type = _KINDS[e.kind]
            info.mtime = 1_700_000_000
            info.uid, info.gid = e.uid, e.gid
            info.mode = e.mode if e.mode is not None else (0o755 if e.kind == "dir" else 0o644)
            info.linkname = e.link
            if e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, how: str) -> bytes:
    """Compress a blob: ``none``, ``gzip``, ``zstd``, ``bzip2`` or ``xz``."""
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    if how == "bzip2":
        return bz2.compress(data)
    if how == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ)
    return data


@dataclass
class Step:
    """A history step: ``created_by`` text, and whether it made a layer."""

    created_by: str
    empty_layer: bool = False


@dataclass
class ImageSpec:
    """An image to write: layers (entry lists), history steps, tags, platform."""

    layers: list[list[E]]
    history: list[Step] | None = None
    tags: list[str] = field(default_factory=lambda: ["test/image:latest"])
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    def steps(self) -> list[Step]:
        if self.history is not None:
            return self.history
        return [Step(f"/bin/sh -c step {i}") for i in range(len(self.layers))]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_blobs(
    spec: ImageSpec, compression: str = "none"
) -> tuple[bytes, list[bytes], list[bytes]]:
    """Return (config JSON, uncompressed layer tars, stored layer blobs)."""
    tars = [layer_tar(entries) for entries in spec.layers]
    stored = [compress(t, compression) for t in tars]
    config = {
        "architecture": spec.architecture,
        "os": spec.os,
        **({"variant": spec.variant} if spec.variant else {}),
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + _sha(t) for t in tars]},
        "history": [
            {
                "created": "2024-01-01T00:00:00Z",
                "created_by": s.created_by,
                **({"empty_layer": True} if s.empty_layer else {}),
            }
            for s in spec.steps()
        ],
    }
    return json.dumps(config).encode(), tars, stored


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _oci_manifest(config: bytes, stored: list[bytes], compression: str) -> bytes:
    media = {
        "none": "application/vnd.oci.image.layer.v1.tar",
        "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
        "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    }.get(compression, f"application/vnd.oci.image.layer.v1.tar+{compression}")
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + _sha(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": media, "digest": "sha256:" + _sha(b), "size": len(b)} for b in stored
            ],
        }
    ).encode()


def docker_archive(
    spec: ImageSpec, layout: str = "legacy", compression: str = "none", dedupe_links: bool = True
) -> bytes:
    """Return a ``docker save``-style archive of ``spec``.

    Args:
        layout: ``legacy`` (``<id>/layer.tar``, ``<config>.json``, ``manifest.json``), ``oci``
            (Docker >= 25: ``blobs/sha256``, ``index.json`` and ``manifest.json``) or
            ``oci-only`` (an OCI image layout tar without ``manifest.json``).
        compression: ``none``, ``gzip`` or ``zstd`` for the layer blobs.
        dedupe_links: legacy layout: write a duplicated layer as a symlink to the first copy,
            as Docker < 25 does.
    """
    config, tars, stored = image_blobs(spec, compression)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        if layout == "legacy":
            names: list[str] = []
            first: dict[bytes, str] = {}
            for i, blob in enumerate(stored):
                layer_id = _sha(f"{i}:{_sha(blob)}".encode())
                name = f"{layer_id}/layer.tar"
                names.append(name)
                if dedupe_links and blob in first:
                    _add_link(tar, name, f"../{first[blob]}")
                else:
                    first.setdefault(blob, name)
                    _add(tar, name, blob)
                _add(tar, f"{layer_id}/VERSION", b"1.0")
            config_name = _sha(config) + ".json"
            _add(tar, config_name, config)
            _add(
                tar,
                "manifest.json",
                json.dumps(
                    [{"Config": config_name, "RepoTags": spec.tags, "Layers": names}]
                ).encode(),
            )
        else:
            written = set()
            for blob in [config, *stored]:
                if _sha(blob) not in written:
                    written.add(_sha(blob))
                    _add(tar, f"blobs/sha256/{_sha(blob)}", blob)
            manifest = _oci_manifest(config, stored, compression)
            _add(tar, f"blobs/sha256/{_sha(manifest)}", manifest)
            _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
            _add(
                tar,
                "index.json",
                json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [
                            {
                                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "digest": "sha256:" + _sha(manifest),
                                "size": len(manifest),
                                "annotations": {"io.containerd.image.name": spec.tags[0]}
                                if spec.tags
                                else {},
                            }
                        ],
                    }
                ).encode(),
            )
            if layout == "oci":
                _add(
                    tar,
                    "manifest.json",
                    json.dumps(
                        [
                            {
                                "Config": f"blobs/sha256/{_sha(config)}",
                                "RepoTags": spec.tags,
                                "Layers": [f"blobs/sha256/{_sha(b)}" for b in stored],
                            }
                        ]
                    ).encode(),
                )
    return buf.getvalue()


def multi_platform_layout(specs: Sequence[ImageSpec]) -> bytes:
    """Return an OCI layout tar whose index.json lists one manifest per spec (one per platform)."""
    buf = io.BytesIO()
    written: set[str] = set()
    descriptors = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for spec in specs:
            config, _tars, stored = image_blobs(spec)
            manifest = _oci_manifest(config, stored, "none")
            for blob in [config, *stored, manifest]:
                if _sha(blob) not in written:
                    written.add(_sha(blob))
                    _add(tar, f"blobs/sha256/{_sha(blob)}", blob)
            descriptors.append(
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + _sha(manifest),
                    "size": len(manifest),
                    "platform": {
                        "os": spec.os,
                        "architecture": spec.architecture,
                        **({"variant": spec.variant} if spec.variant else {}),
                    },
                }
            )
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": descriptors}).encode())
    return buf.getvalue()
