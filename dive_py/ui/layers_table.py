"""Provides :class:`LayersTable`: one row per history step, the selected layer, and the compare bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from dive_py.display_text import escape_text
from dive_py.domain.base_image import base_layer_label
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.compare import CompareMode, compare_ranges
from dive_py.domain.image import Image
from dive_py.ui.list_bindings import LIST_MOVES

_BarStyles = tuple[Style, Style, Style]
"""The styles of the compare bar's base and top layers, and of a step without a layer."""

READ_WRITE_MARK = "RW "
"""Before the command of a container's read/write layer (with the ``layers--read-write`` style:
a mark that does not rely on colour)."""
SHARED_MARK = "⇄ "
"""Before the command of a layer another local image holds too (same chain ID)."""


class LayersTable(DataTable[Text]):
    """The layers pane: size and command of every build step, steps without a layer dimmed.

    The base layer (layer 0) reads ``FROM <base image>`` where the image names its base, else
    ``FROM <short id>`` when its step has no command (see :mod:`dive_py.domain.base_image`).

    The cursor only rests on steps that made a layer; moving it selects that layer. A
    container's read/write layer is marked :data:`READ_WRITE_MARK` (``layers--read-write``
    style), a layer other local images share :data:`SHARED_MARK` (``layers--shared`` style).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *LIST_MOVES,
        Binding("home", "first_layer", "First layer", show=False, id="home"),
        Binding("end", "last_layer", "Last layer", show=False, id="end"),
        Binding(
            "ctrl+l",
            "compare('layer')",
            "Layer changes",
            id="compare-layer",
            tooltip="Show what the selected layer changed",
        ),
        Binding(
            "ctrl+a",
            "compare('aggregated')",
            "Aggregated changes",
            id="compare-all",
            tooltip="Show what layers 1 to the selected one changed together",
        ),
        Binding(
            "e",
            "toggle_empty",
            "Steps w/o layer",
            id="toggle-empty-steps",
            tooltip="Show or hide history steps that made no layer (CMD, ENV ...)",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "layers--base",
        "layers--top",
        "layers--empty",
        "layers--read-write",
        "layers--shared",
    }

    DEFAULT_CSS = """
    LayersTable {
        & > .layers--base { color: $success; }
        & > .layers--top { color: $accent; }
        & > .layers--empty { text-style: dim italic; }
        & > .layers--read-write { color: $warning; text-style: bold; }
        & > .layers--shared { color: $secondary; }
    }
    """

    class LayerSelected(Message):
        """The selected layer (or compare mode) changed."""

        def __init__(self, table: LayersTable, index: int, mode: CompareMode) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.mode = mode

        @property
        def control(self) -> LayersTable:
            return self.table

    on_select: Callable[[LayerSelected], None] | None = None
    """Called at once with each :class:`LayerSelected` instead of posting it (the explorer screen
    sets it: handling the selection before the next screen refresh draws the new layer's tree in
    the same frame as the moved cursor, rather than one frame later)."""

    def __init__(
        self,
        image: Image,
        *,
        mode: CompareMode = CompareMode.LAYER,
        show_empty: bool = True,
        read_write_layer: int | None = None,
        shared_with: Sequence[Sequence[str]] = (),
        id: str | None = None,
    ) -> None:
        """Args (beyond Textual's): ``read_write_layer`` is the index of a container's
        read/write layer (None for an image); ``shared_with`` the other images holding each
        layer (:class:`~dive_py.domain.layer_sharing.LayerSharing`; empty when unknown)."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.image = image
        self.mode = mode
        self.show_empty = show_empty
        self.read_write_layer = read_write_layer
        self.shared_with = shared_with
        self.layer_index = 0
        self._row_steps: list[int] = []
        self._styles_key: _BarStyles | None = None

    def on_mount(self) -> None:
        self.add_column("Cmp", key="cmp")
        self.add_column(Text("Size", justify="right"), key="size")
        self.add_column("Command", key="command")
        self._fill()

    # -- content ---------------------------------------------------------------------------
    def on_resize(self) -> None:
        # A smaller pane may have left the selected layer's row below its last line.
        self.call_after_refresh(self._scroll_cursor_into_view)

    def _styles(self) -> _BarStyles:
        return (
            self.get_component_rich_style("layers--base", partial=True),
            self.get_component_rich_style("layers--top", partial=True),
            self.get_component_rich_style("layers--empty", partial=True),
        )

    def _bar(self, layer: int | None, styles: _BarStyles | None = None) -> Text:
        base_style, top_style, _ = styles or self._styles()
        if layer is None:
            return Text("  ")
        base, top = compare_ranges(self.mode, self.layer_index)
        if layer in top or (not top and layer == self.layer_index):
            return Text("██", style=top_style)
        if layer in base:
            return Text("░░", style=base_style)
        return Text("  ")

    def _fill(self) -> None:
        """(Re)build every row from the image history."""
        self._styles_key = styles = self._styles()
        _, _, empty_style = styles
        self.clear()
        self._row_steps = []
        layers = self.image.layers
        base_label = base_layer_label(self.image)
        for number, step in enumerate(self.image.history):
            layer = step.layer_index
            if layer is None and not self.show_empty:
                continue
            if layer == 0 and base_label is not None:
                command = escape_text(base_label)
            else:
                command = escape_text(step.command) or "(no command)"
            if layer is None:
                size = Text("0 B", style=empty_style, justify="right")
                cmd = Text(command, style=empty_style)
            else:
                size = Text(format_bytes(layers[layer].size_bytes), justify="right")
                cmd = self._command(layer, command)
            self.add_row(self._bar(layer), size, cmd, key=str(number))
            self._row_steps.append(number)
        row = self.row_of_layer(self.layer_index)
        if row is not None:
            self.move_cursor(row=row, animate=False, scroll=True)

    def _command(self, layer: int, command: str) -> Text:
        """A layer's command cell: a container's read/write layer marked and styled whole, a
        shared layer marked."""
        if layer == self.read_write_layer:
            style = self.get_component_rich_style("layers--read-write", partial=True)
            return Text.assemble((READ_WRITE_MARK, style), (command, style))
        if layer < len(self.shared_with) and self.shared_with[layer]:
            style = self.get_component_rich_style("layers--shared", partial=True)
            return Text.assemble((SHARED_MARK, style), command)
        return Text(command)

    def _refresh_bars(self) -> None:
        """Redraw the compare bars that changed (each cell update re-renders the table)."""
        styles = self._styles()
        for number in self._row_steps:
            layer = self.image.history[number].layer_index
            bar = self._bar(layer, styles)
            key = str(number)
            if self.get_cell(key, "cmp") != bar:
                self.update_cell(key, "cmp", bar)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted and self.row_count and self._styles() != self._styles_key:
            self.call_later(self._fill)

    # -- layers ----------------------------------------------------------------------------
    def row_of_layer(self, layer: int) -> int | None:
        """Return the table row of ``layer``'s step, or None."""
        for row, number in enumerate(self._row_steps):
            if self.image.history[number].layer_index == layer:
                return row
        return None

    def layer_of_row(self, row: int) -> int | None:
        """Return the layer made by the step on ``row`` (None for a step without a layer)."""
        if 0 <= row < len(self._row_steps):
            return self.image.history[self._row_steps[row]].layer_index
        return None

    def select_layer(self, layer: int) -> None:
        """Move the cursor to ``layer`` and select it at once.

        The selection does not wait for the table's ``RowHighlighted`` message (which then
        finds the layer selected already): a screen update of the moved cursor would come
        first, 10–15 ms before the layer's tree is asked for (issue 11, ``end`` right after
        the first screen at 500,000 entries).
        """
        row = self.row_of_layer(layer)
        if row is not None:
            self.move_cursor(row=row, animate=False, scroll=True)
            if self.cursor_row == row:
                self._row_highlighted(row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._row_highlighted(event.cursor_row)

    def _row_highlighted(self, row: int) -> None:
        """Select the layer of the cursor's ``row`` (a step without a layer: the cursor moves
        on in the same direction)."""
        layer = self.layer_of_row(row)
        if layer is None:  # a step without a layer: move on in the same direction
            current = self.row_of_layer(self.layer_index)
            step = 1 if current is None or row > current else -1
            target = row
            while 0 <= target < len(self._row_steps) and self.layer_of_row(target) is None:
                target += step
            if not 0 <= target < len(self._row_steps):
                target = current if current is not None else 0
            if target != row:
                self.move_cursor(row=target, animate=False)
            return
        if layer != self.layer_index:
            self.layer_index = layer
            self._refresh_bars()
            self._selected(self.LayerSelected(self, layer, self.mode))

    def _selected(self, message: LayersTable.LayerSelected) -> None:
        if self.on_select is not None:
            self.on_select(message)
        else:
            self.post_message(message)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()

    # -- actions ---------------------------------------------------------------------------
    def action_compare(self, mode: str) -> None:
        """Switch the compare mode (``"layer"`` or ``"aggregated"``)."""
        new = CompareMode.LAYER if mode == "layer" else CompareMode.AGGREGATED
        if new is not self.mode:
            self.mode = new
            self._refresh_bars()
            self._selected(self.LayerSelected(self, self.layer_index, self.mode))
        self.refresh_bindings()

    def action_toggle_empty(self) -> None:
        """Show or hide the steps that made no layer."""
        self.show_empty = not self.show_empty
        self._fill()

    def action_first_layer(self) -> None:
        """Select the bottom layer."""
        if self.image.layers:
            self.select_layer(0)

    def action_last_layer(self) -> None:
        """Select the top layer."""
        if self.image.layers:
            self.select_layer(len(self.image.layers) - 1)
