"""Provides :func:`with_container`: an image's analysis with a container's read/write layer on top.

The container's layer becomes one more layer of the image, so the one stacking engine
(:class:`~dive_py.domain.file_tree.StackedStates`) and the explorer treat it like any other
(markers, compare modes, filters); the image's own figures (:class:`~dive_py.domain.efficiency.Efficiency`,
the CI rules, the JSON's ``layer[]`` and ``image``) stay about the image's layers.
"""

from __future__ import annotations

import dataclasses

from dive_py.domain.analysis import Analysis
from dive_py.domain.container_layer import Container, ContainerInfo, ContainerLayer
from dive_py.domain.history import HistoryStep
from dive_py.domain.image import Layer

READ_WRITE_COMMENT = "the container's read/write layer (copy-on-write)"


def read_write_label(info: ContainerInfo) -> str:
    """The label of a container's layer: ``"container NAME (read/write)"``."""
    return f"container {info.name} (read/write)"


def with_container(analysis: Analysis, info: ContainerInfo, layer: ContainerLayer) -> Analysis:
    """Return a new analysis: the image's, plus the container's layer on top.

    ``analysis`` is left as it was (it is what the analysis cache stores); the new one shares
    its layers, figures and sharing, with a copy of the image's layer and step lists.

    Args:
        analysis: the analysis of the container's image.
        info: the container.
        layer: its read/write layer (:func:`~dive_py.domain.container_layer.build_container_layer`).
    """
    image = analysis.image
    index = len(image.layers)
    step = HistoryStep(
        created_by="",
        command=read_write_label(info),
        created=info.created,
        comment=READ_WRITE_COMMENT,
        layer_index=index,
    )
    top = Layer(index, "", "", info.id, layer.contents, step)
    combined = dataclasses.replace(
        image,
        layers=[*image.layers, top],
        history=[*image.history, step],
        warnings=[
            *image.warnings,
            *(f"{path} changed while divepy read the container" for path in layer.vanished),
        ],
    )
    states = analysis.stacked_states
    return Analysis(
        image=combined,
        efficiency=analysis.efficiency,
        container=Container(info, layer, index),
        sharing=analysis.sharing,
        # the image's states, ready when the explorer's load kept them (issue 11)
        _states=states.extended([item.contents for item in combined.layers]) if states else None,
    )


def image_part(analysis: Analysis) -> Analysis:
    """Return the analysis of the image alone: ``analysis`` without a container's layer.

    ``analysis`` itself when it has no container. The result shares the image's layers and
    figures; its stacked states are built anew when something asks for them.
    """
    container = analysis.container
    if container is None:
        return analysis
    index = container.layer_index
    image = dataclasses.replace(
        analysis.image,
        layers=analysis.image.layers[:index],
        history=[
            step
            for step in analysis.image.history
            if step.layer_index is None or step.layer_index < index
        ],
    )
    return Analysis(image=image, efficiency=analysis.efficiency, sharing=analysis.sharing)
