"""Provides :class:`DetailsScroll`: the Layer details pane, scrolled with the list panes' keys."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll


class DetailsScroll(VerticalScroll):
    """A scrolling pane that moves with the keys every list pane uses (dive's up/down/page keys).

    ``j``/``k`` and ``u``/``d`` scroll it as the arrows and PageUp/PageDown do; the binding ids
    are those of :data:`~dive_py.ui.list_bindings.LIST_MOVES`, so a remap of ``keybinding.up``
    in dive's config moves this pane too.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="down"),
        Binding("pageup,u", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown,d", "page_down", "Page down", show=False, id="page-down"),
        Binding("home", "scroll_home", "Top", show=False, id="home"),
        Binding("end", "scroll_end", "Bottom", show=False, id="end"),
    ]
