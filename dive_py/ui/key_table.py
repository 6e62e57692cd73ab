"""Provides :data:`DEFAULT_KEYS`: every remappable key of the explorer, derived from its bindings.

The table is read from the ``BINDINGS`` of the explorer's app, screens and panes
(:data:`KEYED_CLASSES`): each :class:`~textual.binding.Binding` there carries an ``id``, the
name a user writes in dive's config file (``keybinding.<id>``) to remap it. The table cannot
drift from the bindings, and a binding added to a pane is remappable at once. dive's names
that divepy reads differently (``quit``, ``toggle-unchanged-files``) and the ones it ignores
are in :mod:`dive_py.explorer_config`.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.dom import DOMNode

from dive_py.ui.app import DiveApp
from dive_py.ui.containers_screen import ContainersScreen
from dive_py.ui.details import InefficientTable
from dive_py.ui.details_scroll import DetailsScroll
from dive_py.ui.diff_app import DiffApp
from dive_py.ui.diff_layers import DiffLayersTable
from dive_py.ui.diff_screen import DiffFilterInput, DiffScreen
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.file_viewer import FileViewerScreen
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.image_file_diff import ImageFileDiffScreen
from dive_py.ui.layers_table import LayersTable
from dive_py.ui.main_screen import FilterInput, MainScreen

KEYED_CLASSES: tuple[type[DOMNode], ...] = (
    DiveApp,
    MainScreen,
    LayersTable,
    FileTreeView,
    InefficientTable,
    DetailsScroll,
    FilterInput,
    HelpScreen,
    FileViewerScreen,
    ContainersScreen,
    DiffApp,
    DiffScreen,
    DiffLayersTable,
    DiffFilterInput,
    ImageFileDiffScreen,
)
"""The app, screens and panes whose ``BINDINGS`` make up the explorer's keys (the diff
explorer's too: its keys are remapped by the same config)."""


def own_bindings(cls: type[DOMNode]) -> list[Binding]:
    """Return the :class:`Binding` objects ``cls`` declares in its ``BINDINGS`` (not the
    ones Textual's base classes declare; tuples and strings are not used by divepy)."""
    return [item for item in vars(cls).get("BINDINGS", ()) if isinstance(item, Binding)]


def remappable_keys(classes: Iterable[type[DOMNode]]) -> dict[str, str]:
    """Return binding id -> default Textual key list for every binding of ``classes``.

    Raises:
        ValueError: a binding has no ``id`` (a user could not remap it), or one id is bound
            to different keys in two places (a remapping would be ambiguous).
    """
    table: dict[str, str] = {}
    for cls in classes:
        for binding in own_bindings(cls):
            if not binding.id:
                raise ValueError(
                    f"{cls.__name__}: the binding of {binding.key!r} ({binding.action}) has no id"
                )
            known = table.setdefault(binding.id, binding.key)
            if known != binding.key:
                raise ValueError(
                    f"{cls.__name__}: binding id {binding.id!r} is {binding.key!r} here "
                    f"and {known!r} elsewhere"
                )
    return table


DEFAULT_KEYS: dict[str, str] = remappable_keys(KEYED_CLASSES)
"""Every remappable binding id (dive's ``keybinding.*`` names) -> its default key list."""
