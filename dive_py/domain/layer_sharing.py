"""Provides :func:`chain_ids` and :func:`measure_sharing`: which layers an image shares with others.

A layer is identified together with every layer below it by its *chain ID* (OCI image spec,
config.md "Layer ChainID"): ``ChainID(L0) = DiffID(L0)``; ``ChainID(Ln) =
sha256(ChainID(Ln-1) + " " + DiffID(Ln))``, over the text of the two digests. Two images share
a layer exactly when they share its chain ID: the engine stores it once, every image built on
the same base and every container of those images uses it.

Only an engine knows the other images (:func:`read_engine_images` asks ``GET /images/json``
and inspects each image for ``RootFS.Layers``, and ``GET /containers/json?all=1`` for the
containers): archive and OCI sources have no sharing figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """Return the chain ID of every layer, bottom to top.

    Args:
        diff_ids: the layers' diff IDs (``"sha256:<hex>"``), bottom to top.

    Returns:
        ``"sha256:<hex>"`` per layer (OCI image spec, config.md).
    """
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            text = f"{chains[-1]} {diff_id}".encode()
            chains.append("sha256:" + hashlib.sha256(text).hexdigest())
    return chains


@dataclass(frozen=True, slots=True)
class OtherImage:
    """Another image of the engine.

    Attributes:
        id: its ID (``"sha256:…"``, as ``GET /images/json`` lists it).
        name: its first tag, or its short ID when untagged (``"sha256:0123456789ab"``).
        diff_ids: its layers' diff IDs (``RootFS.Layers``), bottom to top.
        containers: names of the containers created from it (running or not).
    """

    id: str
    name: str
    diff_ids: tuple[str, ...]
    containers: tuple[str, ...] = ()


@dataclass(slots=True)
class LayerSharing:
    """What an image shares with the other images of its engine.

    Attributes:
        chain_ids: the chain ID of each of the image's layers, bottom to top.
        shared_with: per layer, the names of the other images holding the same chain.
        containers: per layer, the containers that use it (this image's and those of the images
            sharing it).
        shared_bytes: bytes of the layers some other image holds too.
        unique_bytes: bytes of the other layers (what deleting the image frees, what a push
            uploads to a registry holding the shared base); ``shared_bytes + unique_bytes`` is
            the image's ``sizeBytes``.
    """

    chain_ids: list[str]
    shared_with: list[list[str]]
    containers: list[list[str]] = field(default_factory=list)
    shared_bytes: int = 0
    unique_bytes: int = 0


def measure_sharing(
    diff_ids: Sequence[str],
    layer_bytes: Sequence[int],
    others: Sequence[OtherImage],
    own_containers: Sequence[str] = (),
) -> LayerSharing:
    """Find the layers of an image that other images hold too.

    Args:
        diff_ids: the image's layers' diff IDs, bottom to top.
        layer_bytes: the layers' sizes in bytes (dive's layer size), same order.
        others: the other images of the engine (the image itself excluded).
        own_containers: the containers of the image itself.

    Returns:
        The :class:`LayerSharing`.
    """
    chains = chain_ids(diff_ids)
    holders: dict[str, list[OtherImage]] = {}
    for other in others:
        for chain in chain_ids(other.diff_ids):
            holders.setdefault(chain, []).append(other)
    shared_with: list[list[str]] = []
    containers: list[list[str]] = []
    shared = unique = 0
    for chain, size in zip(chains, layer_bytes, strict=True):
        images = holders.get(chain, [])
        names = sorted({image.name for image in images})
        shared_with.append(names)
        users = set(own_containers)
        for image in images:
            users.update(image.containers)
        containers.append(sorted(users))
        if names:
            shared += size
        else:
            unique += size
    return LayerSharing(chains, shared_with, containers, shared, unique)


def _display_name(item: dict[str, Any]) -> str:
    tags = [tag for tag in item.get("RepoTags") or [] if tag and tag != "<none>:<none>"]
    if tags:
        return str(sorted(tags)[0])
    image_id = str(item.get("Id", ""))
    return image_id[:19] if image_id.startswith("sha256:") else image_id[:12]


def read_engine_images(api: Any, own_id: str) -> tuple[list[OtherImage], list[str]]:
    """Ask an engine for its other images and the containers of each.

    Args:
        api: a connected ``docker.APIClient``.
        own_id: the ID (``Id`` of ``GET /images/{name}/json``) of the image being analysed.

    Returns:
        (the other images, the names of the containers of the image itself).

    Raises:
        Exception: whatever the SDK raises (the caller decides that sharing is then unknown).
    """
    by_image: dict[str, list[str]] = {}
    for item in api.containers(all=True) or []:
        names = [str(name).lstrip("/") for name in item.get("Names") or []]
        if names:
            by_image.setdefault(str(item.get("ImageID", "")), []).append(names[0])
    others: list[OtherImage] = []
    for item in api.images() or []:
        image_id = str(item.get("Id", ""))
        if image_id == own_id:
            continue
        try:
            layers = api.inspect_image(image_id).get("RootFS", {}).get("Layers") or []
        except Exception:
            continue  # removed meanwhile
        others.append(
            OtherImage(
                image_id,
                _display_name(item),
                tuple(str(layer) for layer in layers),
                tuple(sorted(by_image.get(image_id, []))),
            )
        )
    return others, sorted(by_image.get(own_id, []))
