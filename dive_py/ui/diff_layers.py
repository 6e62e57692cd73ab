"""Provides :class:`DiffLayersTable`: two images' layer lists side by side, shared layers marked.

Row ``i`` holds layer ``i`` of image A (size, command) on the left and layer ``i`` of image B
on the right. The rows of the layers B shares with A (the common prefix of their chain IDs,
:func:`~dive_py.domain.image_diff.chain_ids`) carry :data:`SHARED_MARK` and the first hex
digits of the shared chain ID in the middle column; the other rows show ``≠`` there (or
nothing where one image has no such layer). The commands are cut to share the pane's width
evenly, so that both sides stay on screen; the full commands are the row's tooltip. Each
image's base layer is labelled as the explorer's Layers pane labels it (``FROM <base image>``,
or ``FROM <short id>`` when its step has no command:
:func:`~dive_py.domain.base_image.base_layer_label`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from dive_py.display_text import escape_text
from dive_py.domain.base_image import base_layer_label
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.image import Image, Layer
from dive_py.domain.image_diff import chain_ids
from dive_py.ui.list_bindings import LIST_MOVES

SHARED_MARK = "═"
"""Before the chain ID of a layer both images hold (the same chain ID: same layer, same base)."""
DIFFERENT_MARK = "≠"
"""In the middle column of a row whose two layers differ."""
CHAIN_DIGITS = 8
"""Hex digits of the chain ID shown for a shared layer."""
_FIXED_CELLS = 3 + 8 + (2 + CHAIN_DIGITS) + 8 + 6 * 2
"""Cells the columns other than the commands take: number, two sizes, the middle column,
each padded by one cell on both sides (a DataTable's cell padding)."""
MIN_COMMAND_CELLS = 8
"""A command column is never cut narrower than this (the table then scrolls sideways)."""


def shared_cell(index: int, shared: int, chain: list[str], present: bool) -> str:
    """The middle column of row ``index``: :data:`SHARED_MARK` and the chain ID's first
    :data:`CHAIN_DIGITS` hex digits for a shared layer, :data:`DIFFERENT_MARK` when both
    images have a layer there that differs, blank when only one has."""
    if index < shared:
        return f"{SHARED_MARK} {chain[index].rpartition(':')[2][:CHAIN_DIGITS]}"
    return DIFFERENT_MARK if present else ""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class DiffLayersTable(DataTable[Text]):
    """The layers of images A and B, side by side (see the module's description).

    Args:
        a, b: the two images.
        shared: how many bottom layers B shares with A.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *LIST_MOVES,
        Binding("home", "scroll_top", "First row", show=False, id="home"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="end"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"diff-layers--shared", "diff-layers--different"}

    DEFAULT_CSS = """
    DiffLayersTable {
        & > .diff-layers--shared { color: $secondary; }
        & > .diff-layers--different { color: $warning; }
    }
    """

    def __init__(self, a: Image, b: Image, shared: int, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.a = a
        self.b = b
        self.shared = shared
        self._chain = chain_ids([layer.diff_id for layer in a.layers])
        self._width = 0

    @property
    def command_cells(self) -> int:
        """The cells each command column gets at the current width."""
        width = self.scrollable_content_region.width or self.app.size.width
        return max(MIN_COMMAND_CELLS, (width - _FIXED_CELLS) // 2)

    def on_mount(self) -> None:
        self._fill()

    def on_resize(self) -> None:
        if self.command_cells != self._width:
            self._fill()

    def _fill(self) -> None:
        """(Re)build the rows, the commands cut to :attr:`command_cells`."""
        self._width = width = self.command_cells
        row = self.cursor_row
        self.clear(columns=True)
        self.add_column(Text("#", justify="right"), key="index")
        self.add_column(Text("A size", justify="right"), key="a-size")
        self.add_column("A command", key="a-command", width=width)
        self.add_column("Shared", key="shared")
        self.add_column(Text("B size", justify="right"), key="b-size")
        self.add_column("B command", key="b-command", width=width)
        shared_style = self.get_component_rich_style("diff-layers--shared", partial=True)
        different_style = self.get_component_rich_style("diff-layers--different", partial=True)
        a_layers, b_layers = self.a.layers, self.b.layers
        a_base, b_base = base_layer_label(self.a), base_layer_label(self.b)
        for index in range(max(len(a_layers), len(b_layers))):
            left = a_layers[index] if index < len(a_layers) else None
            right = b_layers[index] if index < len(b_layers) else None
            middle = shared_cell(
                index, self.shared, self._chain, left is not None and right is not None
            )
            style = shared_style if index < self.shared else different_style
            self.add_row(
                Text(str(index), justify="right"),
                *self._side(left, width, a_base if index == 0 else None),
                Text(middle, style=style),
                *self._side(right, width, b_base if index == 0 else None),
                key=str(index),
            )
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), animate=False)

    @staticmethod
    def _side(layer: Layer | None, width: int, label: str | None) -> tuple[Text, Text]:
        """The size and command cells of one image's layer; ``label`` replaces the command
        (the base layer's label)."""
        if layer is None:
            return Text(""), Text("")
        command = escape_text(label if label is not None else layer.command) or "(no command)"
        return Text(format_bytes(layer.size_bytes), justify="right"), Text(_cut(command, width))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted row's full commands and IDs as the table's tooltip."""
        event.stop()
        index = event.cursor_row
        lines = []
        for name, image in (("A", self.a), ("B", self.b)):
            if index < len(image.layers):
                layer = image.layers[index]
                lines.append(
                    f"{name} layer {index}: {escape_text(layer.diff_id)}\n"
                    f"  {escape_text(layer.step.created_by or layer.command)}"
                )
        if index < self.shared:
            lines.append(f"shared (chain ID {self._chain[index]})")
        self.tooltip = "\n".join(lines) or None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
