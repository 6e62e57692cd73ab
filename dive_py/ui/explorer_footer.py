"""Provides :class:`ExplorerFooter`: Textual's footer, where the essential keys never give way.

Textual's :class:`~textual.widgets.Footer` lays its keys out in a row and cuts the row at the
terminal's edge, mid-word, whatever is cut. This footer drops whole keys instead, the least
important first, so that ``?`` help and ``q`` quit stay on screen at any width (issue 11).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # (not exported: the footer's key widget)

ESSENTIAL_ACTIONS = ("app.help", "app.quit", "help", "quit")
"""Actions whose keys the footer keeps last: help, then quit."""


def key_width(key: FooterKey) -> int:
    """The cells ``key`` takes in a footer that is not compact: `` key description `` (the key
    padded by a cell each side, the description followed by one; Textual's footer CSS)."""
    if not key.description:
        return cell_len(key.key_display)
    return cell_len(key.key_display) + 2 + cell_len(key.description) + 1


def give_way_order(keys: list[FooterKey]) -> list[FooterKey]:
    """``keys`` in the order they give way when the footer is too narrow: the last pane key
    first (panes list their keys most used first), then the screen's, then help, quit last."""
    essential = [key for key in keys if key.action in ESSENTIAL_ACTIONS]
    others = [key for key in keys if key.action not in ESSENTIAL_ACTIONS]
    essential.sort(key=lambda key: ESSENTIAL_ACTIONS.index(key.action) % 2)
    return [*reversed(others), *essential]


class ExplorerFooter(Footer):
    """The explorer's footer: keys that do not fit the width are left out whole, help and quit
    last (see :func:`give_way_order`); the command palette key stays on the right."""

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if isinstance(w, FooterKey) and w not in palette]
        if len(keys) != len(widgets) - len(palette):  # binding groups: left as Textual draws them
            yield from widgets
            return
        available = self.size.width or self.app.size.width
        available -= sum(key_width(w) + 2 for w in palette if isinstance(w, FooterKey))
        used = sum(key_width(key) for key in keys)
        dropped: set[int] = set()
        for key in give_way_order(keys):
            if used <= available:
                break
            used -= key_width(key)
            dropped.add(id(key))
        shown: list[Widget] = [key for key in keys if id(key) not in dropped]
        yield from shown
        yield from palette

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)
