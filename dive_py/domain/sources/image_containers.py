"""Provides :func:`image_containers`: the containers of a Docker engine made from one image.

What the explorer's list of containers shows (running or not, each openable as
``container://NAME``). Docker Engine API: ``GET /containers/json?all=1`` (``docker ps -a``),
kept where ``ImageID`` is the image's ID.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Any

from dive_py.domain.container_layer import ContainerInfo
from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_image import engine_image_reference
from dive_py.errors import ImageError

_STATE_ORDER = {"running": 0, "paused": 1, "restarting": 2}
"""Running containers first, then the others (by name within each)."""


def container_summary(item: dict[str, Any]) -> ContainerInfo | None:
    """Return the :class:`ContainerInfo` of one entry of ``GET /containers/json``, or None for an
    entry without a name or ID. ``created`` (a Unix time there) becomes RFC 3339 (UTC)."""
    names = [str(name).lstrip("/") for name in item.get("Names") or [] if name]
    container_id = str(item.get("Id", ""))
    if not names or not container_id:
        return None
    created = item.get("Created")
    when = ""
    if isinstance(created, int) and created > 0:
        when = datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ContainerInfo(
        id=container_id,
        name=names[0],
        image=str(item.get("Image", "")),
        image_id=str(item.get("ImageID", "")),
        state=str(item.get("State", "")),
        created=when,
    )


def image_containers(
    engine: DockerEngineSource, image_id: str, reference: str = "", container: str = ""
) -> list[ContainerInfo]:
    """List the containers (running or not) made from the image ``image_id``.

    Args:
        engine: the engine the image was read from.
        image_id: the image's ID (``"sha256:…"``, the config digest).
        reference: the image's name, when known: with the containerd image store a
            container's ``ImageID`` is the engine's image ID (the manifest or index digest),
            not the config digest, so the engine is asked what ID it knows the image by
            (:func:`~dive_py.domain.sources.engine_image.engine_image_reference`).
        container: a container of the image (the explorer opened ``container://NAME``): its
            image's ID is asked for likewise.

    Returns:
        The containers, running ones first, then by name.

    Raises:
        EngineUnreachableError: the engine does not answer.
    """
    api = engine.client()
    ids = {image_id}
    try:
        with contextlib.suppress(ImageError):  # an image the engine no longer knows
            ids.add(engine_image_reference(api, image_id, reference).id)
        if container:
            with contextlib.suppress(Exception):  # removed meanwhile
                ids.add(str(api.inspect_container(container).get("Image", "")))
        items = api.containers(all=True) or []
    except Exception as exc:
        raise engine._unreachable(exc) from None
    finally:
        close = getattr(api, "close", None)
        if close is not None:
            close()
    found = [
        info
        for info in (container_summary(item) for item in items if isinstance(item, dict))
        if info is not None and info.image_id in ids
    ]
    return sorted(found, key=lambda info: (_STATE_ORDER.get(info.state, 9), info.name))
