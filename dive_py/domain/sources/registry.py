"""Provides :class:`RegistrySource`: an image read straight from a registry, no engine involved.

``divepy registry://HOST[:PORT]/REPO[:TAG]`` (or ``@sha256:…``; ``--source registry REF``)
follows the OCI distribution API (see :mod:`dive_py.domain.sources.registry_client`, which
also says why ``requests`` is the client): the tag's manifest or index -> the platform's
manifest (``--platform``, else the only one, else the host's; BuildKit attestation manifests
skipped) -> the config -> the layer blobs. Layers are downloaded :data:`PARALLEL_DOWNLOADS` at
a time, each decompressed and parsed as its bytes arrive (:func:`~dive_py.domain.layer_tar.
read_layer`, the decompression in a read-ahead thread of its own; nothing is written to
disk) with its digest and size checked at the end; a
download that breaks off is started again, at most
:data:`~dive_py.domain.sources.registry_client.ATTEMPTS` times. A layer whose parsed contents
the layer cache holds (keyed by blob digest, :mod:`dive_py.domain.layer_cache`) is not
downloaded at all.

The result is assembled by the same code as an OCI layout
(:func:`~dive_py.domain.sources.image_layout.assemble_image`), so figures, history and
warnings match the engine and archive sources for the same image. What only the registry
knows is added per layer: the compressed blob size and its media type.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dive_py.domain.image import Image
from dive_py.domain.layer_store import LayerStore, NoLayerStore
from dive_py.domain.layer_tar import LayerContents, LayerFormatError, read_layer
from dive_py.domain.progress import ProgressListener
from dive_py.domain.read_ahead import ReadAhead
from dive_py.domain.sources.archive_stream import ArchiveParts, parse_json
from dive_py.domain.sources.image_layout import assemble_image, blob_path
from dive_py.domain.sources.oci_artifact import describe_artifact
from dive_py.domain.sources.platform import Platform, host_platform
from dive_py.domain.sources.registry_client import (
    ATTEMPTS,
    BlobReader,
    BlobStreamError,
    RegistryClient,
    describe_media,
)
from dive_py.domain.sources.registry_reference import RegistryReference, parse_registry_reference
from dive_py.domain.tar_stream import Readable
from dive_py.errors import ArchiveError, ImageError, PlatformError, PlatformMissingError

PARALLEL_DOWNLOADS = 4
"""Layer blobs downloaded at once (docker pull's default ``max-concurrent-downloads`` is 3)."""
_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_MAX_INDEX_DEPTH = 4
_POLL_SECONDS = 0.2


@dataclass(slots=True)
class LayerBlob:
    """A layer descriptor of the chosen manifest.

    Attributes:
        digest: the blob digest ``"sha256:…"`` (of the compressed bytes).
        size: the blob's size in bytes as the manifest states it (what a pull downloads).
        media_type: the descriptor's media type (``…tar+gzip``, ``…tar+zstd``, ``…tar``).
    """

    digest: str
    size: int
    media_type: str


def _platforms(index: dict[str, Any]) -> list[tuple[Platform | None, dict[str, Any]]]:
    found = []
    manifests = index.get("manifests")
    for desc in manifests if isinstance(manifests, list) else []:
        if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
            continue
        annotations = desc.get("annotations")
        if isinstance(annotations, dict) and (
            annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        ):
            continue
        plat = Platform.from_json(desc.get("platform"))
        if plat is not None and plat.os == "unknown":
            continue
        found.append((plat, desc))
    return found


def choose_manifest(index: dict[str, Any], wanted: Platform | None, where: str) -> dict[str, Any]:
    """Pick one descriptor of an image index for ``wanted`` (None: the only one, else the
    host's platform).

    Raises:
        PlatformMissingError: no manifest for the wanted platform.
        PlatformError: several platforms and none fits the host.
        ImageError: the index lists no image manifest.
    """
    listed = _platforms(index)
    if not listed:
        raise ImageError(f"{where} is an index that lists no image", "check the reference")
    names = sorted({str(p) for p, _ in listed if p is not None})
    if wanted is not None:
        fitting = [d for p, d in listed if p is not None and p.matches(wanted)]
        if not fitting:
            raise PlatformMissingError(
                f"no image for platform {wanted} in {where} (it has: {', '.join(names) or 'none'})",
                "pass one of those with --platform",
                wanted=str(wanted),
                available=names,
                incomplete=[],
            )
        return fitting[0]
    if len(listed) == 1:
        return listed[0][1]
    host = host_platform()
    fitting = [d for p, d in listed if p is not None and p.matches(host)]
    if fitting:
        return fitting[0]
    raise PlatformError(
        f"{where} holds images for {len(listed)} platforms: {', '.join(names)}",
        "choose one with --platform os/arch[/variant]",
    )


class RegistrySource:
    """Images read from a registry over the OCI distribution API.

    Args:
        env: the environment (credentials, insecure hosts, timeouts; see
            :class:`~dive_py.domain.sources.registry_client.RegistryClient`).
        layers: where parsed layers are looked up before a download and kept after one.
    """

    name = "registry"

    def __init__(self, env: Mapping[str, str], layers: LayerStore | None = None) -> None:
        self._env = env
        self._layers: LayerStore = layers if layers is not None else NoLayerStore()

    def cache_key(self, reference: str) -> tuple[str, str] | None:
        """What the analysis cache keys a registry image on: (``HOST/REPO``, manifest digest).

        The digest of the manifest (or index) the tag names now, asked with one manifest
        request; a ``@sha256:…`` reference is its own digest (no request). With the
        ``--platform`` in the cache key this pins the image's content. None when the
        registry cannot say (unreachable, unknown tag: the real read reports it). Never
        raises.
        """
        try:
            ref = parse_registry_reference(reference)
            where = f"{ref.host}/{ref.repository}"
            if ref.digest:
                return where, ref.digest
            client = RegistryClient(ref, self._env)
            try:
                _data, _media, digest = client.manifest(ref.manifest_reference)
            finally:
                client.close()
            return where, digest
        except Exception:
            return None

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the image ``reference`` names (``HOST[:PORT]/REPO[:TAG][@DIGEST]``).

        Returns:
            The image; each layer carries ``compressed_size_bytes`` and ``media_type``.

        Raises:
            UsageError: a malformed reference.
            ImageNotFoundError: the registry does not know the tag or digest.
            ImageError: network, auth, a missing blob, a digest mismatch, an artifact.
            PlatformError: several platforms and none chosen.
            ArchiveError: a layer that is not a readable tar.
        """
        progress = progress or ProgressListener()
        ref = parse_registry_reference(reference)
        client = RegistryClient(ref, self._env)
        try:
            progress.message(f"Reading {ref} from the registry")
            return self._fetch(client, ref, platform, progress)
        finally:
            client.close()

    def _fetch(
        self,
        client: RegistryClient,
        ref: RegistryReference,
        platform: Platform | None,
        progress: ProgressListener,
    ) -> Image:
        parts = ArchiveParts()
        where = str(ref)
        data, media, digest = client.manifest(ref.manifest_reference)
        document = _json(data, f"manifest of {where}")
        descriptor: dict[str, Any] = {"mediaType": media, "digest": digest, "size": len(data)}
        depth = 0
        while (media or describe_media(document)) in _INDEX_TYPES or "manifests" in document:
            depth += 1
            if depth > _MAX_INDEX_DEPTH:
                raise ImageError(f"image index of {where} nests too deeply", "check the image")
            descriptor = choose_manifest(document, platform, where)
            data, media, digest = client.manifest(descriptor["digest"])
            if digest != descriptor["digest"]:
                raise ImageError(
                    f"manifest {descriptor['digest']} from the registry does not match its digest",
                    "the registry's storage is corrupt: push the image again",
                )
            document = _json(data, f"manifest {digest}")
            media = media or describe_media(document)
        artifact = describe_artifact(document, descriptor)
        if artifact is not None:
            raise ArchiveError(
                f"{where} is {artifact}, not a container image",
                "divepy opens container images: name the image itself, not a chart, "
                "signature, SBOM or other artifact",
            )
        config_desc = document.get("config")
        raw_layers = document.get("layers")
        if (
            not isinstance(config_desc, dict)
            or not isinstance(config_desc.get("digest"), str)
            or not isinstance(raw_layers, list)
        ):
            raise ImageError(
                f"{where}: the registry sent a manifest that is not an image manifest "
                f"({media or 'no media type'})",
                "schema 1 manifests are not read: push the image again with a current docker",
            )
        blobs = [_layer_blob(item, where) for item in raw_layers]
        config_bytes = client.blob_bytes(config_desc["digest"], _size(config_desc))
        config = _json(config_bytes, f"config of {where}")
        config_platform = Platform.from_json(config)
        if (
            platform is not None
            and config_platform is not None
            and not config_platform.matches(platform)
        ):
            raise PlatformMissingError(
                f"no image for platform {platform} in {where} (it has: {config_platform})",
                f"pass --platform {config_platform}, or name an image for {platform}",
                wanted=str(platform),
                available=[str(config_platform)],
                incomplete=[],
            )
        progress.expect(sum(b.size for b in blobs), len(blobs))
        contents = self._download_layers(client, blobs, progress)
        manifest_path = blob_path(digest)
        annotations = {"io.containerd.image.name": str(ref)} if ref.tag else {}
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": media,
                    "digest": digest,
                    "size": len(data),
                    "annotations": annotations,
                }
            ],
        }
        parts.documents["index.json"] = json.dumps(index).encode()
        parts.documents[manifest_path] = data
        parts.documents[blob_path(config_desc["digest"])] = config_bytes
        for blob, parsed in zip(blobs, contents, strict=True):
            parts.layers[blob_path(blob.digest)] = parsed
        image = assemble_image(parts, reference=str(ref), source="registry")
        for layer, blob in zip(image.layers, blobs, strict=True):
            layer.compressed_size_bytes = blob.size
            layer.media_type = blob.media_type
        progress.done()
        return image

    def _download_layers(
        self, client: RegistryClient, blobs: list[LayerBlob], progress: ProgressListener
    ) -> list[LayerContents]:
        """Parse every layer, downloading the ones the layer store does not hold, in parallel.

        Progress is reported from this (the calling) thread only.
        """
        results: dict[str, LayerContents] = {}
        active: dict[str, BlobReader] = {}
        finished: dict[str, int] = {}
        lock = threading.Lock()
        wanted: list[LayerBlob] = []
        for blob in blobs:
            if blob.digest in results:
                continue
            known = self._layers.get(blob.digest)
            if known is not None:
                results[blob.digest] = known
                progress.pull(_short(blob.digest), "Already exists", 0, 0)
            elif all(blob.digest != w.digest for w in wanted):
                wanted.append(blob)

        stop = threading.Event()

        def download(blob: LayerBlob) -> LayerContents:
            for attempt in range(ATTEMPTS):
                reader = client.open_blob(blob.digest, blob.size, stop)
                with lock:
                    active[blob.digest] = reader
                try:
                    layer = _parse(reader, blob, where=client.reference)
                    reader.drain()
                    reader.verify()
                    return layer
                except BlobStreamError as exc:
                    if stop.is_set():
                        raise
                    if attempt == ATTEMPTS - 1:
                        raise ImageError(
                            f"registry {client.reference.host}: download of layer {blob.digest} "
                            f"broke off ({exc}) after {ATTEMPTS} tries",
                            "check that the registry is up and reachable "
                            "(DIVEPY_REGISTRY_TIMEOUT sets the seconds it may stay silent)",
                        ) from None
                finally:
                    with lock:
                        active.pop(blob.digest, None)
                        finished[blob.digest] = reader.bytes_read
                    reader.close()
            raise AssertionError("unreachable")  # pragma: no cover

        if wanted:
            pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=PARALLEL_DOWNLOADS, thread_name_prefix="divepy-blob"
            )
            try:
                futures = {pool.submit(download, blob): blob for blob in wanted}
                pending = set(futures)
                while pending:
                    done, pending = concurrent.futures.wait(
                        pending,
                        timeout=_POLL_SECONDS,
                        return_when=concurrent.futures.FIRST_EXCEPTION,
                    )
                    for future in done:
                        blob = futures[future]
                        layer = future.result()  # re-raises the worker's error
                        results[blob.digest] = layer
                        self._layers.put(blob.digest, layer)
                        progress.pull(_short(blob.digest), "Pull complete", blob.size, blob.size)
                    with lock:
                        running = list(active.items())
                        total_read = sum(finished.values())
                    for digest, reader in running:
                        total_read += reader.bytes_read
                        size = next((b.size for b in wanted if b.digest == digest), 0)
                        progress.pull(_short(digest), "Downloading", reader.bytes_read, size)
                    progress.read(total_read, len(results))
            finally:
                stop.set()  # the other downloads give up at their next read
                pool.shutdown(wait=True, cancel_futures=True)
        return [results[blob.digest] for blob in blobs]


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def _parse(reader: BlobReader, blob: LayerBlob, where: RegistryReference) -> LayerContents:
    """Parse a layer as it downloads; a blob that does not parse is checked against its
    digest first (the registry serving other bytes is the real cause then).

    A compressed layer is decompressed by a :class:`~dive_py.domain.read_ahead.ReadAhead`
    thread (download, blob digest, inflate) while this thread hashes and parses the tar, so
    the largest layer, the run's critical path, has two cores (bench/README.md, "Registry
    source and layer cache"). That thread has stopped when this returns or raises.

    Raises:
        ImageError: the bytes do not match the digest.
        ArchiveError: the blob matches its digest but is not a readable layer.
        BlobStreamError: the download broke off.
    """
    started: list[ReadAhead] = []

    def ahead(stream: Readable) -> Readable:
        started.append(ReadAhead(stream))
        return started[-1]

    try:
        try:
            return read_layer(reader, through=ahead)
        finally:
            for thread in started:
                thread.close()  # before anything else reads ``reader``
    except LayerFormatError as exc:
        reader.drain()
        reader.verify()
        raise ArchiveError(
            f"layer {blob.digest} of {where} is unreadable: {exc}",
            exc.hint or "the image in the registry is corrupt: push it again",
        ) from None


def _size(descriptor: dict[str, Any]) -> int:
    size = descriptor.get("size")
    return size if isinstance(size, int) and size >= 0 else 0


def _layer_blob(item: Any, where: str) -> LayerBlob:
    if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
        raise ImageError(f"manifest of {where} has a layer without a digest", "check the image")
    blob_path(item["digest"])  # raises on a malformed digest
    media = item.get("mediaType")
    return LayerBlob(item["digest"], _size(item), media if isinstance(media, str) else "")


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = parse_json(data)
    except ValueError as exc:
        raise ImageError(f"{what} is not valid JSON ({exc})", "check the registry") from None
    if not isinstance(document, dict):
        raise ImageError(f"{what} is not a JSON object", "check the registry")
    return document
