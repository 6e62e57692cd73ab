"""Provides :class:`TreeScreen`: what the explorer and the diff explorer share around their file
tree pane: the path filter bar and moving the focus between panes.

A subclass composes the tree pane's rows with :meth:`TreeScreen.compose_tree` (the column
header ``#tree-header``, the :class:`~dive_py.ui.file_tree_view.FileTreeView` ``#file-tree``
and the :class:`~dive_py.ui.path_line.PathLine` ``#path-line``, which shows the cursor row's
full path, kept up to date here) and the filter bar with :meth:`TreeScreen.compose_filter_bar`, lists its focusable panes in :attr:`TreeScreen.PANE_ORDER`, and declares
the bindings of both (:func:`tree_screen_bindings`: ``switch_pane(1)``/``switch_pane(-1)``,
``toggle_filter``) with the tooltip that names its own panes.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.markup import escape as escape_markup
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.path_line import PathLine
from dive_py.ui.tree_rows import TreeRows

ATTR_HEADER = "  Permission     UID:GID       Size  Filetree"
"""The tree pane's column header with the attributes shown."""
PLAIN_HEADER = "  Filetree"
"""The tree pane's column header with the attributes hidden."""


def tree_screen_bindings(pane_order: str) -> list[BindingType]:
    """The bindings every tree screen declares (ids a user can remap in the config's keys):
    ``tab``/``shift+tab`` move between the panes, ``/`` opens the path filter.

    Args:
        pane_order: the ``tab`` binding's tooltip: the screen's panes in the order ``tab``
            visits them (``"Layers -> file tree"``).
    """
    return [
        Binding(
            "tab",
            "switch_pane(1)",
            "Switch pane",
            show=False,
            id="toggle-view",
            tooltip=pane_order,
        ),
        Binding("shift+tab", "switch_pane(-1)", "Previous pane", show=False, id="previous-pane"),
        Binding(
            "ctrl+f,slash,ctrl+underscore",
            "toggle_filter",
            "Filter",
            id="filter-files",
            key_display="/",
            tooltip="Filter paths by a regular expression",
        ),
    ]


class TreeScreen(Screen[None]):
    """A screen around the file tree: a path filter (a regular expression applied as the user
    types, its error shown under it) and the focus moved between :attr:`PANE_ORDER`'s panes."""

    PANE_ORDER: ClassVar[tuple[str, ...]] = ("#file-tree",)
    """CSS selectors of the panes ``tab`` visits, in order."""

    _tree_header = ATTR_HEADER
    """The column header shown (see :meth:`update_tree_header`)."""

    def compose_tree(self, model: TreeRows, show_attributes: bool) -> ComposeResult:
        """The tree pane's rows: the column header, the tree over ``model``, the path line."""
        yield Static(ATTR_HEADER, id="tree-header")
        yield FileTreeView(model, show_attributes=show_attributes, id="file-tree")
        yield PathLine(id="path-line")

    def compose_filter_bar(self, filter_input: Input) -> ComposeResult:
        """The path filter bar (hidden until opened): a label, ``filter_input`` (its id must be
        ``filter``) and the line that shows a bad expression's error."""
        with Horizontal(id="filter-bar"):
            yield Label("Path Filter: ", id="filter-label")
            yield filter_input
            yield Label("", id="filter-error")

    def _update_titles(self) -> None:
        """Set the pane titles that describe the tree's settings (a subclass adds its own), and
        the column header; called when the tree's settings change or it is resized."""
        self.update_tree_header()

    @on(FileTreeView.SettingsChanged)
    def _settings_changed(self) -> None:
        self._update_titles()  # (also after a resize: the tree posts it when it is resized)

    def update_tree_header(self) -> None:
        """Show the column header that goes with the tree's attributes setting (only when it
        changes: an update means a layout pass)."""
        text = ATTR_HEADER if self.tree_view.attributes_shown else PLAIN_HEADER
        if text != self._tree_header:
            self._tree_header = text
            self.query_one("#tree-header", Static).update(text)

    @property
    def tree_view(self) -> FileTreeView:
        """The file tree pane."""
        return self.query_one("#file-tree", FileTreeView)

    @property
    def filter_input(self) -> Input:
        """The path filter's input."""
        return self.query_one("#filter", Input)

    @property
    def filter_open(self) -> bool:
        """Whether the filter bar is shown."""
        return self.query_one("#filter-bar").display

    def action_toggle_filter(self) -> None:
        """Open the path filter (or close it when it has the focus)."""
        bar = self.query_one("#filter-bar")
        if bar.display and self.filter_input.has_focus:
            self.close_filter(clear=True)
            return
        bar.display = True
        self.filter_input.focus()

    def close_filter(self, clear: bool) -> None:
        """Hide the filter bar (clearing the filter when ``clear``) and focus the tree."""
        bar = self.query_one("#filter-bar")
        if clear:
            self.filter_input.value = ""
            self.tree_view.set_filter("")
            self._show_filter_state(True, "")
        bar.display = False
        self.tree_view.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        view = self.tree_view
        ok = view.set_filter(event.value)
        self._show_filter_state(ok, view.model.pattern_error)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.close_filter(clear=False)

    def _show_filter_state(self, ok: bool, error: str) -> None:
        self.filter_input.set_class(not ok, "bad")
        label = self.query_one("#filter-error", Label)
        label.update("" if ok else f"bad expression: {escape_markup(error)}")

    def action_switch_pane(self, step: int) -> None:
        """Focus the next pane (``step`` 1) or the previous one (-1)."""
        order = [self.query_one(selector) for selector in self.PANE_ORDER]
        focused = self.focused
        target = order[(order.index(focused) + step) % len(order)] if focused in order else order[0]
        target.focus()

    @on(FileTreeView.NodeHighlighted)
    def _node_highlighted(self, event: FileTreeView.NodeHighlighted) -> None:
        """Show the cursor row's full path (and its size as the tree shows it) on the path line."""
        view = event.view
        node, shown = None, None
        if event.path is not None and 0 <= view.cursor_line < len(view.model):
            node = view.model.nodes[view.cursor_line]
            shown = view.model.shown_size(node)
        self.query_one("#path-line", PathLine).show_path(event.path, node, shown)
