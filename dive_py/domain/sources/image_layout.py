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
from dataclasses import dataclass, field
from typing import Any

from dive_py.domain.history import parse_history
from dive_py.domain.image import Image, Layer
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.sources.archive_reference import ArchiveReference
from dive_py.domain.sources.archive_stream import ArchiveParts
from dive_py.domain.sources.oci_artifact import describe_artifact
from dive_py.domain.sources.platform import Platform, host_platform
from dive_py.errors import ArchiveError, ImageNotFoundError, PlatformError, PlatformMissingError

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_MAX_INDEX_DEPTH = 8
_MAX_DESCRIPTORS = 10_000  # descriptors walked in all indexes of one archive, at most


@dataclass(slots=True)
class _Candidate:
    """One image found in an archive: its config path, layer paths and what names it.

    Attributes:
        position: the zero-based position of the image in ``manifest.json`` or in the
            top-level ``index.json`` (what ``@N`` names); the platforms of one multi-platform
            image share it.
        artifact: what the manifest is when it is not a container image (see
            :func:`~dive_py.domain.sources.oci_artifact.describe_artifact`), else None.
        complete: False when the manifest, the config or a layer blob is missing from the
            archive (Docker's containerd image store saves only the platforms it pulled).
        layer_blobs: per layer, the OCI manifest's descriptor ``(size in bytes or None,
            mediaType or "")``; empty for ``manifest.json`` entries (they hold no descriptors).
    """

    config: str
    layers: list[str]
    layer_digests: list[str]
    names: list[str]
    platform: Platform | None
    position: int = 0
    artifact: str | None = None
    complete: bool = True
    layer_blobs: list[tuple[int | None, str]] = field(default_factory=list)


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
    found: list[_Candidate] = []
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
        complete = parts.has_blob(item["Config"]) and all(parts.has_blob(p) for p in layers)
        found.append(
            _Candidate(item["Config"], layers, digests, tags, plat, len(found), complete=complete)
        )
    return found


def _walk_index(
    parts: ArchiveParts,
    index: Any,
    inherited: list[str],
    depth: int,
    visited: set[str] | None = None,
    position: int | None = None,
) -> Iterator[_Candidate]:
    visited = set() if visited is None else visited
    if depth > _MAX_INDEX_DEPTH:
        raise ArchiveError("image index nests too deeply", "the archive is corrupt")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise ArchiveError(
            "index.json has no manifests list", "the archive is corrupt: save the image again"
        )
    for number, desc in enumerate(manifests):
        here = number if position is None else position
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
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue  # BuildKit attestations ride along in an image's index
        names = list(inherited)
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            value = annotations.get(key)
            if isinstance(value, str) and value not in names:
                names.append(value)
        listed = Platform.from_json(desc.get("platform"))
        if listed is not None and listed.os == "unknown":
            continue  # BuildKit attestation manifests
        path = blob_path(desc["digest"])
        doc = _document(parts, path, "manifest")
        if doc is None:
            # a platform whose blobs were not saved (containerd image store): kept to be named
            if listed is not None and desc.get("mediaType") not in _INDEX_TYPES:
                yield _Candidate("", [], [], names, listed, here, complete=False)
            continue
        if not isinstance(doc, dict):
            raise ArchiveError(
                f"manifest {path} is not a JSON object",
                "the archive is corrupt: save the image again",
            )
        media = desc.get("mediaType") or doc.get("mediaType", "")
        if media in _INDEX_TYPES or "manifests" in doc:
            yield from _walk_index(parts, doc, names, depth + 1, visited, here)
            continue
        config = doc.get("config")
        layers = doc.get("layers")
        artifact = describe_artifact(doc, desc)
        if artifact is not None:
            yield _Candidate("", [], [], names, listed, here, artifact=artifact)
            continue
        if (
            not isinstance(config, dict)
            or not isinstance(config.get("digest"), str)
            or not isinstance(layers, list)
        ):
            continue  # not an image manifest
        config_path = blob_path(config["digest"])
        config_doc = _document(parts, config_path, "config")
        plat = listed or Platform.from_json(config_doc)
        if plat is not None and plat.os == "unknown":
            continue  # BuildKit attestation manifests
        layer_paths = []
        digests = []
        blobs: list[tuple[int | None, str]] = []
        for layer in layers:
            if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
                raise ArchiveError(
                    f"manifest {path} has a layer without a digest",
                    "the archive is corrupt: save the image again",
                )
            layer_paths.append(blob_path(layer["digest"]))
            digests.append(layer["digest"])
            size, media = layer.get("size"), layer.get("mediaType")
            blobs.append(
                (
                    size if isinstance(size, int) and not isinstance(size, bool) else None,
                    media if isinstance(media, str) else "",
                )
            )
        complete = config_doc is not None and all(parts.has_blob(p) for p in layer_paths)
        yield _Candidate(
            config_path,
            layer_paths,
            digests,
            names,
            plat,
            here,
            complete=complete,
            layer_blobs=blobs,
        )


def _short_name(name: str) -> str:
    """``docker.io/library/base:1`` -> ``base:1`` (Docker Hub's implied prefixes dropped)."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _tag_matches(reference: str, names: list[str]) -> bool:
    if not reference:
        return False
    wanted = {reference, _short_name(reference)}
    if ":" not in reference.rsplit("/", 1)[-1] and "@" not in reference:
        wanted |= {name + ":latest" for name in list(wanted)}
    return any(name in wanted or _short_name(name) in wanted for name in names)


def _selector(candidate: _Candidate, candidates: list[_Candidate]) -> str:
    """The ``REF`` that names ``candidate``'s image alone: a name no other image has, else
    ``@N``."""
    for name in candidate.names:
        shown = _short_name(name)
        if all(
            not _tag_matches(shown, c.names) for c in candidates if c.position != candidate.position
        ):
            return shown
    return f"@{candidate.position}"


def _naming_hint(
    shown: list[_Candidate], candidates: list[_Candidate], selection: ArchiveReference
) -> str:
    """``"name one: docker-archive:two.tar:a:1, docker-archive:two.tar:@1"``: the argument
    that names each of the images ``shown`` among all ``candidates``."""
    arguments = [selection.argument(_selector(c, candidates)) for c in _firsts(shown)]
    return "name one: " + ", ".join(arguments)


def _label(candidate: _Candidate) -> str:
    names = ", ".join(_short_name(n) for n in candidate.names) or "untagged"
    what = candidate.artifact or str(candidate.platform or "unknown platform")
    return f"@{candidate.position} {names} ({what})"


def _by_selection(candidates: list[_Candidate], selection: ArchiveReference) -> list[_Candidate]:
    """The candidates the user's ``PATH:REF`` names.

    Raises:
        ImageNotFoundError: no image has that name or position.
    """
    if selection.position is not None:
        pool = [c for c in candidates if c.position == selection.position]
        if not pool:
            count = len({c.position for c in candidates})
            raise ImageNotFoundError(
                f"{selection.path} has no image @{selection.position}: it holds {count} "
                f"image{'s' if count != 1 else ''}, numbered from @0",
                _naming_hint(candidates, candidates, selection),
            )
        return pool
    pool = [c for c in candidates if _tag_matches(selection.name, c.names)]
    if not pool:
        held = "; ".join(_label(c) for c in _firsts(candidates)) or "nothing"
        raise ImageNotFoundError(
            f"{selection.path} holds no image named {selection.name} (it holds: {held})",
            _naming_hint(candidates, candidates, selection),
        )
    return pool


def _firsts(candidates: list[_Candidate]) -> list[_Candidate]:
    firsts: dict[int, _Candidate] = {}
    for candidate in candidates:
        firsts.setdefault(candidate.position, candidate)
    return list(firsts.values())


def _missing_content(
    chosen: _Candidate, candidates: list[_Candidate], where: str
) -> PlatformMissingError:
    complete = sorted({str(c.platform) for c in candidates if c.platform and c.complete})
    incomplete = sorted(
        {str(c.platform) for c in candidates if c.platform and not c.complete} - set(complete)
    )
    shown = ", ".join(complete) or "none"
    return PlatformMissingError(
        f"{where} lists platform {chosen.platform} but not all of its blobs (manifest, config, "
        f"layers) are there: Docker's containerd image store saves only the platforms it "
        f"pulled; platforms whose content is complete: {shown}",
        (f"choose one with --platform {complete[0]}, or " if complete else "")
        + f"pull {chosen.platform} into the engine ('docker pull --platform {chosen.platform} "
        "IMAGE') and save the image again",
        wanted=str(chosen.platform),
        available=complete,
        incomplete=incomplete,
    )


def _choose(
    candidates: list[_Candidate],
    reference: str,
    wanted: Platform | None,
    selection: ArchiveReference | None,
) -> _Candidate:
    where = selection.path if selection is not None else "the archive"
    pool = candidates
    if selection is not None and selection.names_one:
        pool = _by_selection(candidates, selection)
    elif len(pool) > 1:
        by_tag = [c for c in pool if _tag_matches(reference, c.names)]
        if by_tag:
            pool = by_tag
    images = [c for c in pool if c.artifact is None]
    if not images:
        artifacts = [c.artifact for c in pool if c.artifact is not None]
        if artifacts:
            raise ArchiveError(
                f"{where}: this is {artifacts[0]}, not a container image",
                "divepy opens container images: name the image itself, not a chart, "
                "signature, SBOM or other artifact",
            )
        raise ArchiveError(
            "the archive holds no image manifest whose config is present",
            "save the image again, or check the archive is an image",
        )
    pool = images
    if wanted is not None:
        by_platform = [c for c in pool if c.platform is not None and c.platform.matches(wanted)]
        if not by_platform:
            complete = sorted({str(c.platform) for c in pool if c.platform and c.complete})
            choices = ", ".join(complete) or "none"
            raise PlatformMissingError(
                f"no image for platform {wanted} in {where} (it has: {choices})",
                "pass one of those with --platform",
                wanted=str(wanted),
                available=complete,
                incomplete=[],
            )
        pool = [c for c in by_platform if c.complete] or by_platform
    else:
        pool = [c for c in pool if c.complete] or pool
        if len(pool) > 1:
            host = host_platform()
            by_host = [c for c in pool if c.platform is not None and c.platform.matches(host)]
            if by_host:
                pool = by_host
    if len({(c.config, tuple(c.layers)) for c in pool}) > 1:
        platforms_apart = len({str(c.platform) for c in pool if c.platform}) == len(pool)
        if len({c.position for c in pool}) > 1 and (
            len({tuple(c.names) for c in pool}) > 1 or not platforms_apart
        ):
            # several images (not one image's platforms listed side by side)
            labels = "; ".join(_label(c) for c in _firsts(pool))
            raise PlatformError(
                f"{where} holds {len(_firsts(pool))} images: {labels}",
                _naming_hint(pool, candidates, selection)
                if selection is not None
                else "name one by its tag, or choose one with --platform os/arch[/variant]",
            )
        platforms = sorted(str(c.platform or "unknown platform") for c in pool)
        raise PlatformError(
            f"{where} holds images for {len(pool)} platforms: {', '.join(platforms)}",
            "choose one with --platform os/arch[/variant]",
        )
    chosen = pool[0]
    listed = {str(c.platform) for c in candidates if c.platform is not None and not c.artifact}
    if not chosen.complete and chosen.platform is not None and len(listed) > 1:
        raise _missing_content(chosen, candidates, where)
    return chosen


def _unsaved_platforms(parts: ArchiveParts) -> list[_Candidate]:
    """The platforms a Docker >= 25 archive's ``index.json`` lists without their content.

    ``manifest.json`` names only the saved images; with the containerd image store the index
    also lists platforms that were never pulled. They are named in errors, never chosen.
    Never raises (a bad index only loses the explanation).
    """
    try:
        index = parts.document("index.json")
        if index is None:
            return []
        return [
            c for c in _walk_index(parts, index, [], 0) if not c.complete and c.artifact is None
        ]
    except (ArchiveError, ValueError):
        return []


COMPRESSED_LAYER_SUFFIXES = ("+gzip", "+zstd", ".tar.gzip", ".tar.zstd")
"""Endings of the layer media types of compressed blobs (OCI image spec, media-types.md:
``…layer.v1.tar+gzip``, ``…+zstd``; Docker's ``…rootfs.diff.tar.gzip``)."""


def _stored_blob(candidate: _Candidate, index: int) -> tuple[int | None, str]:
    """Layer ``index``'s stored blob as its OCI descriptor gives it: ``(size in bytes, media
    type)`` when the media type says the blob is compressed (as a registry stores it: what a
    pull downloads), else ``(None, "")`` (an uncompressed blob, such as ``docker save``
    writes, says nothing about the registry's)."""
    if index >= len(candidate.layer_blobs):
        return None, ""
    size, media = candidate.layer_blobs[index]
    if size is None or not media.endswith(COMPRESSED_LAYER_SUFFIXES):
        return None, ""
    return size, media


def assemble_image(
    parts: ArchiveParts,
    *,
    reference: str,
    source: str,
    platform: Platform | None = None,
    selection: ArchiveReference | None = None,
) -> Image:
    """Build the :class:`Image` an archive holds from its parsed parts.

    Args:
        parts: what :func:`~dive_py.domain.sources.archive_stream.read_archive_stream` found.
        reference: what the user named (used to pick an image by tag, and kept on the result).
        source: the source name recorded on the result.
        platform: the wanted platform, or None for "the only one, else the host's".
        selection: for an archive or layout on disk, its path and the image the user named
            in it (``PATH:REF``, ``PATH:@N``); errors then show the argument that names each
            image. None (the engine's save stream): ``reference`` is preferred by tag.

    Returns:
        The image, layers bottom to top, history steps mapped to layers. Its ``warnings``
        name diff IDs that do not match the layers, and a non-empty history whose count of
        layer-making steps differs from the number of layers.

    Raises:
        ArchiveError: no ``manifest.json``/``index.json``, invalid JSON, a missing config, a
            layer that the manifest names but the archive lacks or holds corrupt, or an OCI
            artifact (Helm chart, signature, SBOM…) instead of an image.
        ImageNotFoundError: ``selection`` names no image in the archive.
        PlatformError: several images or platforms fit and none was chosen.
        PlatformMissingError: no image for the wanted platform, or its blobs are missing.
    """
    manifest = _document(parts, "manifest.json", "manifest")
    if manifest is not None:
        candidates = _docker_candidates(parts, manifest)
        if platform is not None and not any(
            c.platform is not None and c.platform.matches(platform) for c in candidates
        ):
            candidates += _unsaved_platforms(parts)
    else:
        index = _document(parts, "index.json", "index")
        if index is None:
            raise ArchiveError(
                "not an image archive: it has neither manifest.json nor index.json",
                "pass a file written by 'docker save' or an OCI image layout",
            )
        candidates = list(_walk_index(parts, index, [], 0))
    chosen = _choose(candidates, reference, platform, selection)
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
        size, media = _stored_blob(chosen, index)
        layers.append(
            Layer(
                index=index,
                diff_id=stated or layer_contents.diff_id,
                digest=chosen.layer_digests[index],
                id=layer_id,
                contents=layer_contents,
                step=steps_by_layer[index],
                compressed_size_bytes=size,
                media_type=media,
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
