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
    labels: dict[str, str] | None = None
    """``config.Labels`` (none written when None)."""

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
        "config": {"Cmd": ["sh"], **({"Labels": spec.labels} if spec.labels is not None else {})},
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
            ``oci-only`` (an OCI image layout tar without ``manifest.json``) or ``podman``
            (``podman image save --format docker-archive``: ``<diff ID hex>.tar`` blobs
            first, then ``<id>/layer.tar`` symlinks to them; the manifest names the blobs).
        compression: ``none``, ``gzip`` or ``zstd`` for the layer blobs.
        dedupe_links: legacy layout: write a duplicated layer as a symlink to the first copy,
            as Docker < 25 does.
    """
    config, tars, stored = image_blobs(spec, compression)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        if layout == "podman":
            blob_names = [f"{_sha(blob)}.tar" for blob in stored]
            for name, blob in dict(zip(blob_names, stored, strict=True)).items():
                _add(tar, name, blob)
            config_name = _sha(config) + ".json"
            _add(tar, config_name, config)
            for i, name in enumerate(blob_names):
                layer_id = _sha(f"{i}:{name}".encode())
                _add_link(tar, f"{layer_id}/layer.tar", f"../{name}")
                _add(tar, f"{layer_id}/VERSION", b"1.0")
            _add(
                tar,
                "manifest.json",
                json.dumps(
                    [{"Config": config_name, "RepoTags": spec.tags, "Layers": blob_names}]
                ).encode(),
            )
        elif layout == "legacy":
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


def docker_archive_of(specs: Sequence[ImageSpec]) -> bytes:
    """Return a legacy ``docker save A B`` archive: one ``manifest.json`` entry per spec, in order
    (an entry's ``RepoTags`` is null when the spec has no tags, as for an image saved by ID)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        entries = []
        written: set[str] = set()
        for spec in specs:
            config, _tars, stored = image_blobs(spec)
            names = []
            for blob in stored:
                name = f"{_sha(blob)}/layer.tar"
                names.append(name)
                if name not in written:
                    written.add(name)
                    _add(tar, name, blob)
            config_name = _sha(config) + ".json"
            if config_name not in written:
                written.add(config_name)
                _add(tar, config_name, config)
            entries.append({"Config": config_name, "RepoTags": spec.tags or None, "Layers": names})
        _add(tar, "manifest.json", json.dumps(entries).encode())
    return buf.getvalue()


def oci_layout_of(
    manifests: Sequence[tuple[dict[str, object], bytes, Sequence[bytes]]],
    *,
    skip_blobs: Sequence[bytes] = (),
    docker_manifest: list[dict[str, object]] | None = None,
) -> bytes:
    """Return an OCI image layout tar from hand-made parts.

    Args:
        manifests: per ``index.json`` entry: (descriptor fields besides digest and size, such
            as ``mediaType``, ``annotations``, ``platform``; the manifest or index JSON; the
            blobs it needs). A nested index is written by listing its manifests' blobs too.
        skip_blobs: blobs to leave out (as Docker's containerd image store leaves out the
            platforms it did not pull).
        docker_manifest: a ``manifest.json`` to add (Docker >= 25 writes both).
    """
    buf = io.BytesIO()
    skipped = {_sha(b) for b in skip_blobs}
    written: set[str] = set()
    descriptors = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for fields, document, blobs in manifests:
            for blob in [*blobs, document]:
                digest = _sha(blob)
                if digest not in written and digest not in skipped:
                    written.add(digest)
                    _add(tar, f"blobs/sha256/{digest}", blob)
            descriptors.append(
                {**fields, "digest": "sha256:" + _sha(document), "size": len(document)}
            )
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": descriptors}).encode())
        if docker_manifest is not None:
            _add(tar, "manifest.json", json.dumps(docker_manifest).encode())
    return buf.getvalue()


def image_manifest(spec: ImageSpec) -> tuple[bytes, bytes, list[bytes]]:
    """Return (OCI image manifest JSON, config JSON, stored layer blobs) for ``spec``."""
    config, _tars, stored = image_blobs(spec)
    return _oci_manifest(config, stored, "none"), config, stored


def artifact_manifest(
    config_media_type: str,
    config: bytes,
    layers: Sequence[tuple[str, bytes]],
    artifact_type: str | None = None,
) -> tuple[bytes, list[bytes]]:
    """Return (OCI manifest JSON, blobs) for an artifact: a Helm chart, signature, SBOM…"""
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **({"artifactType": artifact_type} if artifact_type else {}),
        "config": {
            "mediaType": config_media_type,
            "digest": "sha256:" + _sha(config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": media, "digest": "sha256:" + _sha(blob), "size": len(blob)}
            for media, blob in layers
        ],
    }
    return json.dumps(document).encode(), [config, *(blob for _media, blob in layers)]
