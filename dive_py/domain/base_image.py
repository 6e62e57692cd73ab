"""Provides the base image's name and the label of the base layer (layer 0) in the Layers pane.

dive 0.13.1 labels layer 0 ``FROM `` and the first 15 characters of the layer's id, whatever
its command (dive/image/layer.go ``String``; /work/shared/dive-reference.md §4). divepy shows
the base image's name instead where the image says it:

* the ``org.opencontainers.image.base.name`` label of the image config (OCI image spec,
  annotations.md "Pre-Defined Annotation Keys": the base image's reference; builders and
  Dockerfiles that set it copy it into ``config.Labels``);
* else a history step up to the one that made layer 0 that reads ``FROM <name>`` (some
  builders record the base as a ``#(nop) FROM <name>`` step).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dive_py.domain.history import HistoryStep
from dive_py.domain.image import Image

BASE_NAME_LABEL = "org.opencontainers.image.base.name"
"""The image config label (OCI pre-defined annotation key) that names the base image."""

DIVE_SHORT_ID_LENGTH = 15
"""Characters of the layer id dive shows after ``FROM `` for layer 0."""

_FROM_STEP = re.compile(r"FROM\s+(?:--\S+\s+)*(\S+)")
"""A ``FROM`` step as builders write it (upper case: a shell command ``from`` is no step)."""


def base_image_name(config: Mapping[str, Any], history: Sequence[HistoryStep]) -> str | None:
    """Return the base image's name as the image says it, or None when it does not.

    Args:
        config: the parsed image config JSON (``config.Labels`` is read).
        history: the image's history steps in build order (``layer_index`` set).

    Returns:
        The :data:`BASE_NAME_LABEL` label's value (stripped) when it is a non-empty string;
        else the name of the first ``FROM <name>`` step (``--platform=…`` flags and an
        ``AS <stage>`` suffix left out) among the steps up to the one that made layer 0;
        else None.
    """
    inner = config.get("config")
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    if isinstance(labels, Mapping):
        value = labels.get(BASE_NAME_LABEL)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for step in history:
        match = _FROM_STEP.match(step.command.strip())
        if match is not None:
            return match.group(1)
        if step.layer_index is not None:
            break
    return None


def short_layer_id(image: Image, index: int = 0) -> str:
    """Return what dive shows of layer ``index``'s id: its first :data:`DIVE_SHORT_ID_LENGTH`
    characters (the legacy layout's directory name, or the blob's hex digest), or of the diff
    ID's hex digits when the layer has no id. ``""`` when there is no such layer."""
    if not 0 <= index < len(image.layers):
        return ""
    layer = image.layers[index]
    ident = layer.id or layer.diff_id.rpartition(":")[2]
    return ident.rpartition(":")[2][:DIVE_SHORT_ID_LENGTH]


def base_layer_label(image: Image) -> str | None:
    """Return the Layers pane's label of layer 0, or None to show its command as it is.

    ``"FROM <name>"`` when the image names its base (:func:`base_image_name`); else
    ``"FROM <short id>"`` (dive's label, :func:`short_layer_id`) when the step that made layer
    0 has no command (an empty ``created_by``, or no history for it); else None.
    """
    if not image.layers:
        return None
    name = base_image_name(image.config, image.history)
    if name is not None:
        return f"FROM {name}"
    step = image.layers[0].step
    if step.missing or not step.command.strip():
        return f"FROM {short_layer_id(image)}"
    return None
