"""Provides the text of the Layer Details and Image Details panes, and the inefficient files table."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from dive_py.domain.analysis import Analysis
from dive_py.domain.display_text import escape_text
from dive_py.domain.image import Layer
from dive_py.ui.tree_rows import format_size
from dive_py.ui.list_bindings import LIST_MOVES


def _label(text: Text, label: str, value: str) -> None:
    text.append(f"{label:<9}", style="bold")
    text.append(value)
    text.append("\n")


def layer_details(layer: Layer | None, layer_count: int) -> Text:
    """Return the Layer Details text: index, diff ID, digest, size, created, full command."""
    text = Text()
    if layer is None:
        text.append("(no layers)")
        return text
    _label(text, "Layer:", f"{layer.index + 1} of {layer_count} (index {layer.index})")
    _label(text, "Diff ID:", escape_text(layer.diff_id))
    _label(text, "Digest:", escape_text(layer.digest) or "(not recorded)")
    _label(text, "Size:", format_size(layer.size_bytes))
    _label(text, "Created:", escape_text(layer.step.created) or "(unknown)")
    text.append("Command:\n", style="bold")
    text.append(escape_text(layer.step.created_by or layer.step.command) or "(none)")
    return text


def image_summary(analysis: Analysis, image_name: str) -> Text:
    """Return the Image Details figures, most telling first (they stay visible in a 24-row terminal)."""
    image, eff = analysis.image, analysis.efficiency
    text = Text()
    rows = [
        ("Efficiency score:", f"{int(100 * eff.score)} %"),
        ("Potential wasted space:", format_size(eff.wasted_bytes)),
        ("Reclaimable bytes:", format_size(eff.reclaimable_bytes)),
        ("Total size:", format_size(eff.size_bytes)),
        ("Image name:", escape_text(image_name)),
        ("Image ID:", escape_text(image.image_id)),
    ]
    for index, (label, value) in enumerate(rows):
        text.append(label, style="bold")
        text.append(f" {value}")
        if index < len(rows) - 1:
            text.append("\n")
    return text


class InefficientTable(DataTable):
    """The inefficient files (count, wasted bytes, path), largest first; Enter jumps to a path."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *LIST_MOVES,
        Binding("enter", "select_cursor", "Show in tree", id="jump-to-file",
                tooltip="Show this path in the file tree"),
    ]

    class PathChosen(Message):
        """A row was chosen: show ``path`` in the file tree."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, analysis: Analysis, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.analysis = analysis

    def on_mount(self) -> None:
        self.add_column(Text("Count", justify="right"), key="count")
        self.add_column(Text("Total Space", justify="right"), key="space")
        self.add_column("Path", key="path")
        for number, item in enumerate(self.analysis.efficiency.inefficient):
            self.add_row(Text(str(item.count), justify="right"),
                         Text(format_size(item.wasted_bytes), justify="right"),
                         Text(escape_text(item.path)), key=str(number))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        items = self.analysis.efficiency.inefficient
        if 0 <= event.cursor_row < len(items):
            self.post_message(self.PathChosen(items[event.cursor_row].path))
