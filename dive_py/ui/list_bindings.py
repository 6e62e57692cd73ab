"""Provides :data:`LIST_MOVES`: the movement keys every list pane shares (dive's up/down/page keys)."""

from __future__ import annotations

from textual.binding import Binding

LIST_MOVES: list[Binding] = [
    Binding("up,k", "cursor_up", "Up", show=False, id="up"),
    Binding("down,j", "cursor_down", "Down", show=False, id="down"),
    Binding("pageup,u", "page_up", "Page up", show=False, id="page-up"),
    Binding("pagedown,d", "page_down", "Page down", show=False, id="page-down"),
]
"""Up/down (and k/j), page up/down (and u/d), hidden from the footer; ids match dive's
``keybinding.up``/``down``/``page-up``/``page-down`` so the config can remap them."""
