"""Provides the image history model: each Dockerfile step, and how steps map to layers.

Image config (OCI image spec, config.md "history"): one entry per build step, in order; steps
flagged ``empty_layer`` (CMD, ENV, LABEL, EXPOSE ...) made no layer. The k-th step without the
flag made the k-th layer of ``rootfs.diff_ids``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SHELL_PREFIX = "/bin/sh -c "
_NOP = re.compile(r"^#\(nop\)\s*")
_BUILDKIT_SUFFIX = " # buildkit"
_BUILDKIT_RUN = re.compile(r"^RUN (?:\|\d+ (?:\S+=\S* )*)?/bin/sh -c ")


@dataclass(slots=True)
class HistoryStep:
    """One entry of the config's ``history``.

    Attributes:
        created_by: the raw ``created_by`` string (may be empty).
        command: ``created_by`` made readable (see :func:`readable_command`).
        created: the ``created`` timestamp as written (RFC 3339), or ``""``.
        author: the ``author`` field, or ``""``.
        comment: the ``comment`` field, or ``""``.
        empty_layer: True when the step made no layer.
        layer_index: index of the layer the step made, or None.
        missing: True for a step divepy made up because the history names fewer layer-making
            steps than there are layers.
        image_id: the intermediate image the engine holds for the step (``"sha256:…"``),
            :data:`MISSING_IMAGE_ID` when it holds none (pulled images, images loaded from an
            archive, BuildKit builds), ``""`` when no engine was asked.
        cached: True when ``divepy build`` took the step from the layer cache, False when it
            ran the step, None when divepy did not build the image.
    """

    created_by: str
    command: str
    created: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False
    layer_index: int | None = None
    missing: bool = False
    image_id: str = ""
    cached: bool | None = None

    @property
    def dive_command(self) -> str:
        """The command exactly as dive 0.13.1 writes it in ``layer[].command`` (see
        :func:`dive_command`)."""
        return DIVE_MISSING_COMMAND if self.missing else dive_command(self.created_by)


MISSING_IMAGE_ID = "<missing>"
"""What ``docker image history`` shows for a step without an intermediate image."""

MISSING_IMAGE_ID_HELP = (
    "<missing>: the engine holds no intermediate image for this step. Only steps built by the "
    "classic builder on this engine leave one; pulled images, images loaded from an archive "
    "and BuildKit builds carry none. The layer itself is there all the same."
)
"""The short help text that explains :data:`MISSING_IMAGE_ID` to users."""

DIVE_MISSING_COMMAND = "(missing)"
"""dive's ``created_by`` for a layer that no history step made."""


def dive_command(created_by: str) -> str:
    """Return ``created_by`` as dive's JSON ``command``: without a leading ``/bin/sh -c ``.

    Only that exact prefix goes, nothing else changes: a classic-builder metadata step stays
    ``#(nop)  CMD ["sh"]``, a COPY keeps its trailing space, a BuildKit step keeps its
    ``RUN /bin/sh -c …  # buildkit`` form (dive 0.13.1, image/docker: ``strings.TrimPrefix``).
    """
    return created_by[len(_SHELL_PREFIX) :] if created_by.startswith(_SHELL_PREFIX) else created_by


def readable_command(created_by: str) -> str:
    """Turn a history ``created_by`` into the Dockerfile-like text shown to users.

    * classic builder ``/bin/sh -c #(nop)  CMD ["a"]`` -> ``CMD ["a"]``;
    * classic builder ``/bin/sh -c mkdir /app`` -> ``mkdir /app`` (dive shows RUN steps so);
    * BuildKit ``RUN /bin/sh -c make # buildkit`` -> ``RUN make``;
      ``COPY app.py /app # buildkit`` -> ``COPY app.py /app``.
    """
    text = created_by.strip()
    if text.startswith(_SHELL_PREFIX):
        text = text[len(_SHELL_PREFIX) :]
        nop = _NOP.match(text)
        if nop:
            text = text[nop.end() :]
    if text.endswith(_BUILDKIT_SUFFIX):
        text = text[: -len(_BUILDKIT_SUFFIX)].rstrip()
        run = _BUILDKIT_RUN.match(text)
        if run:
            text = "RUN " + text[run.end() :]
    return text


def parse_history(config: dict[str, Any], layer_count: int) -> list[HistoryStep]:
    """Read the history steps of an image config and assign each layer-making step its layer.

    Mapping (as ``docker image history`` and dive do): walk the steps in order; each step whose
    ``empty_layer`` is not true takes the next layer index. When the history names fewer
    layer-making steps than there are layers, the remaining layers get a synthetic step with
    ``created_by`` ``""`` and command ``"(missing history)"``; extra layer-making steps beyond
    the last layer keep ``layer_index`` None.

    Args:
        config: the parsed image config JSON.
        layer_count: number of layers in the manifest.

    Returns:
        The steps, in build order, with ``layer_index`` set.
    """
    raw = config.get("history")
    steps: list[HistoryStep] = []
    next_layer = 0
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        created_by = item.get("created_by") or ""
        if not isinstance(created_by, str):
            created_by = str(created_by)
        empty = item.get("empty_layer") is True
        step = HistoryStep(
            created_by=created_by,
            command=readable_command(created_by),
            created=str(item.get("created") or ""),
            author=str(item.get("author") or ""),
            comment=str(item.get("comment") or ""),
            empty_layer=empty,
        )
        if not empty and next_layer < layer_count:
            step.layer_index = next_layer
            next_layer += 1
        steps.append(step)
    while next_layer < layer_count:
        steps.append(
            HistoryStep(
                created_by="", command="(missing history)", layer_index=next_layer, missing=True
            )
        )
        next_layer += 1
    return steps


def apply_engine_history(steps: list[HistoryStep], entries: list[dict[str, Any]]) -> None:
    """Set each step's :attr:`~HistoryStep.image_id` from ``GET /images/{name}/history``.

    The engine lists one entry per history step, newest first, each with ``Id`` (an image ID
    or ``"<missing>"``), as ``docker image history`` shows them. Entries are matched to the
    steps from the newest down; steps divepy made up for layers without history get
    :data:`MISSING_IMAGE_ID`.

    Args:
        steps: the image's steps in build order (changed in place).
        entries: the engine's answer, newest first.
    """
    real = [step for step in steps if not step.missing]
    for step, entry in zip(reversed(real), entries, strict=False):
        value = entry.get("Id") if isinstance(entry, dict) else None
        step.image_id = value if isinstance(value, str) and value else MISSING_IMAGE_ID
    for step in steps:
        if not step.image_id:
            step.image_id = MISSING_IMAGE_ID


def apply_build_cache(steps: list[HistoryStep], cached: list[bool]) -> None:
    """Mark the steps ``divepy build`` ran or took from the layer cache.

    The classic builder runs the Dockerfile's steps in order and says " ---> Using cache" for
    each step it reused; those are the last ``len(cached)`` steps of the image's history (the
    steps before them come from the base image, marked None).

    Args:
        steps: the image's steps in build order (changed in place).
        cached: per Dockerfile step, in order: True when taken from the cache.
    """
    real = [step for step in steps if not step.missing]
    if len(cached) > len(real):
        cached = cached[len(cached) - len(real) :]
    for step, value in zip(real[len(real) - len(cached) :], cached, strict=True):
        step.cached = value
