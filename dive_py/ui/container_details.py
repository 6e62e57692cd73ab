"""Provides :func:`sharing_details`: the Layer Details lines about containers and shared layers.

For a container's read/write layer: what copy-on-write cost (bytes added, bytes copied up,
bytes hidden by deletions); for an image layer: read-only, the other local images that share
it (by chain ID, :mod:`dive_py.domain.layer_sharing`) and the intermediate image of its step
(``<missing>`` explained: :data:`~dive_py.domain.history.MISSING_IMAGE_ID_HELP`). Nothing for
sources that know no engine.
"""

from __future__ import annotations

from rich.text import Text

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.history import MISSING_IMAGE_ID

SHOWN_IMAGES = 3
"""Image names listed in "shared with N images: …" before "…"."""


def sharing_details(analysis: Analysis, index: int) -> Text:
    """Return the lines to append to the Layer Details of layer ``index`` (may be empty)."""
    text = Text()
    container = analysis.container
    layers = analysis.image.layers
    if not 0 <= index < len(layers):
        return text
    if container is not None and index == container.layer_index:
        rw = container.layer
        text.append(
            f"\nRead/write layer of container {escape_text(container.info.name)} "
            f"({escape_text(container.info.state)})",
            style="bold",
        )
        text.append(
            f"\nAdded: {format_bytes(rw.added_bytes)}   Copied up: "
            f"{format_bytes(rw.copied_up_bytes)}   Hidden by deletions: "
            f"{format_bytes(rw.hidden_bytes)}"
        )
        return text
    if container is not None or analysis.sharing is not None:
        text.append("\nRead-only image layer", style="bold")
    sharing = analysis.sharing
    if sharing is not None and index < len(sharing.shared_with):
        names = sharing.shared_with[index]
        if names:
            shown = ", ".join(escape_text(name) for name in names[:SHOWN_IMAGES])
            more = ", …" if len(names) > SHOWN_IMAGES else ""
            plural = "image" if len(names) == 1 else "images"
            text.append(f"\nShared with {len(names)} {plural}: {shown}{more}")
        else:
            text.append("\nShared with no other image")
    image_id = layers[index].step.image_id
    if image_id:
        if image_id == MISSING_IMAGE_ID:
            text.append(f"\nImage ID: {MISSING_IMAGE_ID} (no intermediate image here: ")
            text.append("pulled, loaded from an archive or built with BuildKit)")
        else:
            text.append(f"\nImage ID: {escape_text(image_id[:19])}")
    if layers[index].step.cached:
        text.append("\nBuilt from the layer cache")
    return text
