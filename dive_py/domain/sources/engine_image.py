"""Provides :func:`engine_image_reference`: the reference a Docker engine knows an image by.

An image read from the engine (or from its export) carries the image ID its config gives: the
config digest. With the classic image store that is the engine's image ID; with the containerd
image store the engine's image ID is the manifest or index digest, so the engine knows no image
by the config digest, and the image's name is used instead (Docker Engine API
``GET /images/{name}/json``, "Inspect an image"). Every later call about the image (a container
created from it, its save stream, the containers made from it) asks here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dive_py.errors import ImageNotFoundError


@dataclass(frozen=True, slots=True)
class EngineImage:
    """An image as the engine knows it.

    Attributes:
        reference: what to name the image by in Engine API calls: the image ID asked for when
            the engine knows it, else the image's name.
        id: the engine's image ID for it (``"sha256:…"``; the ``Id`` its inspection gives).
    """

    reference: str
    id: str


def engine_error_reason(exc: BaseException) -> str:
    """The first line of an Engine API error's explanation (the SDK's ``APIError``), else of the
    exception's text, else its type's name."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def engine_image_reference(api: Any, image_id: str, name: str = "") -> EngineImage:
    """Return how the engine knows the image ``image_id`` (named ``name``).

    Args:
        api: a connected ``docker.APIClient``.
        image_id: the image's ID as read (``"sha256:…"``, the config digest), or a name.
        name: the image's name, tried when the engine knows no image ``image_id``.

    Returns:
        The first of ``image_id`` and ``name`` the engine can inspect, with the engine's ID.

    Raises:
        ImageNotFoundError: the engine knows neither (removed since it was read, or the engine
            did not answer: its reason is in the message).
    """
    tried: list[str] = []
    reason = ""
    for reference in (image_id, name):
        if not reference or reference in tried:
            continue
        tried.append(reference)
        try:
            inspected = api.inspect_image(reference)
        except Exception as exc:
            reason = engine_error_reason(exc)
            continue
        found = inspected.get("Id") if isinstance(inspected, dict) else None
        return EngineImage(reference, str(found or reference))
    raise ImageNotFoundError(
        f"the engine has no image {' nor '.join(tried) or '(no name)'}: {reason}".rstrip(": "),
        "the image was removed or retagged since it was read: open it again",
    )
