"""Provides :func:`assemble_image`: pick the image in an archive's parts and put its layers in order.

Two layouts are understood:

* ``docker save`` ``manifest.json`` (legacy, and Docker >= 25): ``[{"Config", "RepoTags",
  "Layers"}]``; layer paths are member paths, bottom to top.
* OCI image layout (image-layout.md): ``index.json`` -> (nested image indexes) -> image
  manifest -> ``config`` and ``layers`` descriptors, in the manifest's order, blobs at
  ``blobs/<alg>/<hex>``.

When an archive holds several images or platforms, one is chosen by reference (tag) or
platform; if that leaves more than one, :class:`~dive_py.errors.PlatformError` lists them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dive_py.domain.history import parse_history
from dive_py.domain.image import Image, Layer
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.sources.archive_stream import ArchiveParts
from dive_py.domain.sources.platform import Platform, host_platform
from dive_py.errors import ArchiveError, PlatformError

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_MAX_INDEX_DEPTH = 8
_MAX_DESCRIPTORS = 10_000  # descriptors walked in all indexes of one archive, at most


@dataclass(slots=True)
class _Candidate:
    """One image found in an archive: its config path, layer paths and what names it."""

    config: str
    layers: list[str]
    layer_digests: list[str]
    names: list[str]
    platform: Platform | None


def blob_path(digest: str) -> str:
    """Map a descriptor digest ``"sha256:abc…"`` to its layout path ``"blobs/sha256/abc…"``.

    Raises:
        ArchiveError: the digest is not of the form ``algorithm:hex``.
    """
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not algorithm or not encoded or "/" in encoded or "/" in algorithm:
        raise ArchiveError(
            f"bad digest {digest!r} in image index or manifest",
            "the archive is corrupt: save the image again",
        )
    return f"blobs/{algorithm}/{encoded}"


def _document(parts: ArchiveParts, name: str, what: str) -> Any:
    try:
        return parts.document(name)
    except ValueError as exc:
        raise ArchiveError(
            f"{what} {name} is not valid JSON ({exc})",
            "the archive is corrupt: save the image again",
        ) from None


def _docker_candidates(parts: ArchiveParts, manifest: Any) -> list[_Candidate]:
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError(
            "manifest.json lists no image", "the archive is corrupt or empty: save the image again"
        )
    found = []
    for item in manifest:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("Config"), str)
            or not isinstance(item.get("Layers"), list)
        ):
            raise ArchiveError(
                "manifest.json has an entry without Config or Layers",
                "the archive is corrupt: save the image again",
            )
        raw_tags = item.get("RepoTags")
        tags = [t for t in raw_tags if isinstance(t, str)] if isinstance(raw_tags, list) else []
        config = _document(parts, item["Config"], "config")
        plat = Platform.from_json(config) if isinstance(config, dict) else None
        layers = [str(x) for x in item["Layers"]]
        digests = []
        for path in layers:
            resolved = parts.resolve(path)
            digests.append(
                "sha256:" + resolved.rsplit("/", 1)[-1]
                if resolved.startswith("blobs/sha256/")
                else ""
            )
        found.append(_Candidate(item["Config"], layers, digests, tags, plat))
    return found


def _walk_index(
    parts: ArchiveParts,
    index: Any,
    inherited: list[str],
    depth: int,
    visited: set[str] | None = None,
) -> Iterator[_Candidate]:
    visited = set() if visited is None else visited
    if depth > _MAX_INDEX_DEPTH:
        raise ArchiveError("image index nests too deeply", "the archive is corrupt")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise ArchiveError(
            "index.json has no manifests list", "the archive is corrupt: save the image again"
        )
    for desc in manifests:
        if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
            continue
        if desc["digest"] in visited:
            continue  # each manifest or index once (a crafted index can list one many times)
        visited.add(desc["digest"])
        if len(visited) > _MAX_DESCRIPTORS:
            raise ArchiveError(
                f"image index lists more than {_MAX_DESCRIPTORS} manifests",
                "the archive is corrupt or hostile",
            )
        annotations = desc["annotations"] if isinstance(desc.get("annotations"), dict) else {}
        names = list(inherited)
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            value = annotations.get(key)
            if isinstance(value, str) and value not in names:
                names.append(value)
        path = blob_path(desc["digest"])
        doc = _document(parts, path, "manifest")
        if doc is None:
            continue  # a platform whose blobs were not saved (containerd image store)
        if not isinstance(doc, dict):
            raise ArchiveError(
                f"manifest {path} is not a JSON object",
                "the archive is corrupt: save the image again",
            )
        media = desc.get("mediaType") or doc.get("mediaType", "")
        if media in _INDEX_TYPES or "manifests" in doc:
            yield from _walk_index(parts, doc, names, depth + 1, visited)
            continue
        config = doc.get("config")
        layers = doc.get("layers")
        if (
            not isinstance(config, dict)
            or not isinstance(config.get("digest"), str)
            or not isinstance(layers, list)
        ):
            continue  # not an image manifest (attestation, signature …)
        config_path = blob_path(config["digest"])
        config_doc = _document(parts, config_path, "config")
        if config_doc is None:
            continue
        plat = Platform.from_json(desc.get("platform")) or Platform.from_json(config_doc)
        if plat is not None and plat.os == "unknown":
            continue  # BuildKit attestation manifests
        layer_paths = []
        digests = []
        for layer in layers:
            if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
                raise ArchiveError(
                    f"manifest {path} has a layer without a digest",
                    "the archive is corrupt: save the image again",
                )
            layer_paths.append(blob_path(layer["digest"]))
            digests.append(layer["digest"])
        yield _Candidate(config_path, layer_paths, digests, names, plat)


def _tag_matches(reference: str, names: list[str]) -> bool:
    if not reference:
        return False
    wanted = {reference}
    if ":" not in reference.rsplit("/", 1)[-1] and "@" not in reference:
        wanted.add(reference + ":latest")
    for name in names:
        short = name
        for prefix in ("docker.io/library/", "docker.io/"):
            if short.startswith(prefix):
                short = short[len(prefix) :]
                break
        if name in wanted or short in wanted:
            return True
    return False


def _choose(candidates: list[_Candidate], reference: str, wanted: Platform | None) -> _Candidate:
    if not candidates:
        raise ArchiveError(
            "the archive holds no image manifest whose config is present",
            "save the image again, or check the archive is an image",
        )
    pool = candidates
    if len(pool) > 1:
        by_tag = [c for c in pool if _tag_matches(reference, c.names)]
        if by_tag:
            pool = by_tag
    if wanted is not None:
        by_platform = [c for c in pool if c.platform is not None and c.platform.matches(wanted)]
        if not by_platform:
            choices = ", ".join(sorted({str(c.platform) for c in pool if c.platform})) or "none"
            raise PlatformError(
                f"no image for platform {wanted} in the archive (it has: {choices})",
                "pass one of those with --platform",
            )
        pool = by_platform
    elif len(pool) > 1:
        host = host_platform()
        by_host = [c for c in pool if c.platform is not None and c.platform.matches(host)]
        if by_host:
            pool = by_host
    if len({(c.config, tuple(c.layers)) for c in pool}) > 1:
        platforms = [str(c.platform) for c in pool if c.platform is not None]
        if len(set(platforms)) == len(pool):
            raise PlatformError(
                f"the archive holds images for {len(pool)} platforms: "
                f"{', '.join(sorted(platforms))}",
                "choose one with --platform os/arch[/variant]",
            )
        choices = "; ".join(
            f"{', '.join(c.names) or c.config} ({c.platform or 'unknown platform'})" for c in pool
        )
        raise PlatformError(
            f"the archive holds {len(pool)} images: {choices}",
            "name one by its tag, or choose one with --platform os/arch[/variant]",
        )
    return pool[0]


def assemble_image(
    parts: ArchiveParts, *, reference: str, source: str, platform: Platform | None = None
) -> Image:
    """Build the :class:`Image` an archive holds from its parsed parts.

    Args:
        parts: what :func:`~dive_py.domain.sources.archive_stream.read_archive_stream` found.
        reference: what the user named (used to pick an image by tag, and kept on the result).
        source: the source name recorded on the result.
        platform: the wanted platform, or None for "the only one, else the host's".

    Returns:
        The image, layers bottom to top, history steps mapped to layers. Its ``warnings``
        name diff IDs that do not match the layers, and a non-empty history whose count of
        layer-making steps differs from the number of layers.

    Raises:
        ArchiveError: no ``manifest.json``/``index.json``, invalid JSON, a missing config, or a
            layer that the manifest names but the archive lacks or holds corrupt.
        PlatformError: several images or platforms fit and none was chosen.
    """
    manifest = _document(parts, "manifest.json", "manifest")
    if manifest is not None:
        candidates = _docker_candidates(parts, manifest)
    else:
        index = _document(parts, "index.json", "index")
        if index is None:
            raise ArchiveError(
                "not an image archive: it has neither manifest.json nor index.json",
                "pass a file written by 'docker save' or an OCI image layout",
            )
        candidates = list(_walk_index(parts, index, [], 0))
    chosen = _choose(candidates, reference, platform)
    config_bytes = parts.document_bytes(chosen.config)
    if config_bytes is None:
        raise ArchiveError(
            f"image config {chosen.config} is missing from the archive",
            "the archive is incomplete: save the image again",
        )
    config = _document(parts, chosen.config, "config")
    if not isinstance(config, dict):
        raise ArchiveError(
            f"image config {chosen.config} is not a JSON object",
            "the archive is corrupt: save the image again",
        )
    contents: list[LayerContents] = []
    for path in chosen.layers:
        layer = parts.layer(path)
        if layer is None:
            why = parts.broken.get(parts.resolve(path))
            if why is not None:
                raise ArchiveError(
                    f"layer {path} is unreadable: {why}",
                    why.hint or "the archive is corrupt or truncated: save the image again",
                )
            raise ArchiveError(
                f"layer {path} named by the manifest is missing from the archive",
                "the archive is incomplete: save the image again",
            )
        contents.append(layer)
    warnings: list[str] = []
    stated_rootfs = config.get("rootfs")
    rootfs: dict[str, Any] = stated_rootfs if isinstance(stated_rootfs, dict) else {}
    stated_diff_ids = rootfs.get("diff_ids")
    diff_ids: list[Any] = stated_diff_ids if isinstance(stated_diff_ids, list) else []
    if len(diff_ids) != len(contents):
        warnings.append(f"config lists {len(diff_ids)} diff IDs for {len(contents)} layers")
    history = parse_history(config, len(contents))
    made = sum(1 for step in history if not step.empty_layer) - sum(
        1 for step in history if step.missing
    )
    if config.get("history") and made != len(contents):
        warnings.append(
            f"config history names {made} layer-making steps for {len(contents)} "
            "layers (steps were matched to layers in order)"
        )
    steps_by_layer = {s.layer_index: s for s in history if s.layer_index is not None}
    layers = []
    for index, (path, layer_contents) in enumerate(zip(chosen.layers, contents, strict=False)):
        stated = (
            diff_ids[index] if index < len(diff_ids) and isinstance(diff_ids[index], str) else ""
        )
        if stated and stated != layer_contents.diff_id:
            warnings.append(
                f"layer {index}: config diff ID {stated} does not match the layer's "
                f"content ({layer_contents.diff_id})"
            )
        resolved = parts.resolve(path)
        layer_id = (
            resolved.rsplit("/", 1)[-1]
            if resolved.startswith("blobs/")
            else resolved.split("/", 1)[0]
        )
        layers.append(
            Layer(
                index=index,
                diff_id=stated or layer_contents.diff_id,
                digest=chosen.layer_digests[index],
                id=layer_id,
                contents=layer_contents,
                step=steps_by_layer[index],
            )
        )
    image_id = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    plat = Platform.from_json(config)
    return Image(
        reference=reference,
        source=source,
        image_id=image_id,
        repo_tags=list(chosen.names),
        layers=layers,
        history=history,
        config=config,
        platform=str(plat) if plat else "",
        warnings=warnings,
    )
