"""Provides :class:`HelpScreen`: every key of the explorer and the change marker legend."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dive_py.domain.change_type import DiffType
from dive_py.ui.commands import explorer_actions
from dive_py.ui.diff_layers import DIFFERENT_MARK, SHARED_MARK
from dive_py.ui.diff_screen import DiffScreen
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.key_display import binding_keys_text
from dive_py.ui.layers_table import LayersTable

LEGEND_ORDER = (DiffType.ADDED, DiffType.MODIFIED, DiffType.REMOVED, DiffType.UNMODIFIED)
"""The change types in the order the marker legend lists them."""

SHARED_MOVES = frozenset({"up", "down", "page-up", "page-down"})
"""Binding ids every list pane shares (:data:`~dive_py.ui.list_bindings.LIST_MOVES`): the help
screen lists them once, as "Lists", rather than once per pane."""


class HelpScreen(ModalScreen[None]):
    """A scrollable list of keys per pane, the marker legend and the compare bar legend."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="close-help"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Pane", no_wrap=True)
        table.add_column("Keys", no_wrap=True)
        table.add_column("Action")
        shared: set[tuple[str, str]] = set()
        for entry in explorer_actions(self.app):
            if set(entry.binding_ids) <= SHARED_MOVES:  # one row for every list pane
                if (entry.description, entry.keys) in shared:
                    continue
                shared.add((entry.description, entry.keys))
                table.add_row("Lists", entry.keys, entry.description)
                continue
            table.add_row(entry.pane, entry.keys, entry.description)
        palette = self.app.get_key_display(Binding(self.app.COMMAND_PALETTE_BINDING, ""))
        table.add_row("Any", palette, "Command palette")
        legend = Text()
        legend.append("File tree markers\n", style="bold")
        for diff in LEGEND_ORDER:
            legend.append(f"  '{diff.marker}'  {diff.label}\n")
        if any(isinstance(screen, DiffScreen) for screen in self.app.screen_stack):
            legend.append("\nShared column (Layers pane of the diff explorer)\n", style="bold")
            legend.append(
                f"  {SHARED_MARK}   a layer B shares with A (the chain ID's first digits)\n"
            )
            legend.append(f"  {DIFFERENT_MARK}   A's and B's layers differ from here on\n")
            legend.append(
                "\nThe tree: B's final file system against A's ('+' only in B, '-' only in A).\n"
            )
            with VerticalScroll() as scroll:
                close = binding_keys_text(self.app, HelpScreen, "close-help")
                scroll.border_title = f"divepy diff keys  ({close} closes)"
                yield Static(legend)
                yield Static(table)
            return
        legend.append("\nCompare bar (Layers pane)\n", style="bold")
        legend.append("  ░░  base layers the selected layer is compared against\n")
        legend.append("  ██  compared layers (their changes are marked in the tree)\n")
        app = self.app
        layer = binding_keys_text(app, LayersTable, "compare-layer")
        aggregated = binding_keys_text(app, LayersTable, "compare-all")
        modified = binding_keys_text(app, FileTreeView, "toggle-modified-files")
        close = binding_keys_text(app, HelpScreen, "close-help")
        legend.append(
            f"\nLayer changes ({layer} in Layers): the selected layer against all layers "
            "below it.\n"
            f"Aggregated changes ({aggregated} in Layers): layers 1..selected against layer 0.\n"
            "dive's ctrl+m (toggle modified) arrives as Enter in terminals: divepy uses "
            f"{modified}.\n"
        )
        with VerticalScroll() as scroll:
            scroll.border_title = f"divepy keys  ({close} closes)"
            yield Static(legend)
            yield Static(table)
