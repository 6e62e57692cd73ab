"""Provides :func:`annotate_from_engine`: what only the engine knows about an analysed image.

The analysis (possibly loaded from the cache) is completed, on every run, with facts that
change without the image changing: the intermediate image of each history step (``GET
/images/{name}/history``, as ``docker image history`` shows it) and the layers the image shares
with the engine's other images (:mod:`dive_py.domain.layer_sharing`).
"""

from __future__ import annotations

from dive_py.domain.analysis import Analysis
from dive_py.domain.history import apply_engine_history
from dive_py.domain.layer_sharing import measure_sharing, read_engine_images
from dive_py.domain.sources.docker_engine import DockerEngineSource


def annotate_from_engine(analysis: Analysis, engine: DockerEngineSource, reference: str) -> None:
    """Set ``analysis.sharing``, every step's ``image_id`` and the image's repo tags (all of
    them, as ``docker image inspect`` lists them) from the engine.

    Args:
        analysis: the image's analysis (changed in place).
        engine: the engine the image was read from.
        reference: the image as the engine knows it (name or ID).

    Never raises: when the engine cannot tell, the facts stay unknown (``sharing`` None,
    ``image_id`` ``""``; the JSON then leaves the keys out). Facts from an earlier run (an
    analysis loaded from the cache) are dropped first.
    """
    analysis.sharing = None
    image = analysis.image
    for step in image.history:
        step.image_id = ""
    count = analysis.container.layer_index if analysis.container else len(image.layers)
    layers = image.layers[:count]
    try:
        api = engine.client()
        try:
            inspected = api.inspect_image(reference)
            own_id = str(inspected.get("Id", ""))
            # every tag of the image (a `docker save` of one name records only that name, and
            # a cached analysis the tags of the name it was first read by)
            tags = [
                str(tag)
                for tag in inspected.get("RepoTags") or []
                if tag and tag != "<none>:<none>"
            ]
            apply_engine_history(image.history, list(api.history(reference) or []))
            others, own_containers = read_engine_images(api, own_id)
        finally:
            close = getattr(api, "close", None)
            if close is not None:
                close()
    except Exception:
        return
    image.repo_tags = tags
    analysis.sharing = measure_sharing(
        [layer.diff_id for layer in layers],
        [layer.size_bytes for layer in layers],
        others,
        own_containers,
    )
