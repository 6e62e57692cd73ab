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

LEGEND_ORDER = (DiffType.ADDED, DiffType.MODIFIED, DiffType.REMOVED, DiffType.UNMODIFIED)
"""The change types in the order the marker legend lists them."""


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
        for entry in explorer_actions(self.app):
            table.add_row(entry.pane, entry.keys, entry.description)
        table.add_row("Any", "tab", "Switch pane")
        table.add_row("Any", "ctrl+p", "Command palette")
        legend = Text()
        legend.append("File tree markers\n", style="bold")
        for diff in LEGEND_ORDER:
            legend.append(f"  '{diff.marker}'  {diff.label}\n")
        legend.append("\nCompare bar (Layers pane)\n", style="bold")
        legend.append("  ░░  base layers the selected layer is compared against\n")
        legend.append("  ██  compared layers (their changes are marked in the tree)\n")
        legend.append(
            "\nLayer changes (ctrl+l): the selected layer against all layers below it.\n"
            "Aggregated changes (ctrl+a in Layers): layers 1..selected against layer 0.\n"
            "dive's ctrl+m (toggle modified) arrives as Enter in terminals: divepy uses "
            "ctrl+n.\n"
        )
        with VerticalScroll() as scroll:
            scroll.border_title = "divepy keys  (Esc closes)"
            yield Static(legend)
            yield Static(table)
