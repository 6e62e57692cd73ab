"""Provides :class:`ExplorerFooter`: Textual's footer, where the essential keys never give way.

Textual's :class:`~textual.widgets.Footer` lays its keys out in a row and cuts the row at the
terminal's edge, mid-word, whatever is cut. This footer drops whole keys instead, the least
important first, so that ``?`` help and ``q`` quit stay on screen at any width (issue 11).
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import Screen
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


def shown_keys(widgets: list[Widget]) -> tuple[Hashable, ...]:
    """What the footer ``widgets`` show, as a comparable value: per widget its type, and for a
    key its key, display, description, action, tooltip, classes and whether it is disabled."""
    return tuple(
        (
            type(widget).__name__,
            widget.key,
            widget.key_display,
            widget.description,
            widget.action,
            str(widget.tooltip),
            widget.disabled,
            tuple(sorted(widget.classes)),
        )
        if isinstance(widget, FooterKey)
        else (type(widget).__name__, tuple(sorted(widget.classes)))
        for widget in widgets
    )


class ExplorerFooter(Footer):
    """The explorer's footer: keys that do not fit the width are left out whole, help and quit
    last (see :func:`give_way_order`); the command palette key stays on the right.

    It recomposes only when the keys it would show differ from the ones it shows: Textual's
    footer recomposes (removes and mounts every key) on each change of the screen's bindings
    and on each resize, about 10 ms a time at 160 columns; three of them came right after the
    explorer's first screen and delayed the first key by 30 ms (issue 11, bench/README.md).
    """

    _shown: tuple[Hashable, ...] | None = None
    """:func:`shown_keys` of what the last compose yielded (None before the first)."""

    def compose(self) -> ComposeResult:
        widgets = self._keys()
        self._shown = shown_keys(widgets)
        yield from widgets

    async def recompose(self) -> None:
        """Recompose (see :meth:`Widget.recompose`) unless the keys shown would stay the same."""
        if self._shown is not None and self.is_attached:
            with self._context():  # (as Textual composes: the keys bind to this footer)
                same = shown_keys(self._keys()) == self._shown
            if same:
                return
        await super().recompose()

    def _keys(self) -> list[Widget]:
        """The widgets to show: Textual's footer keys less those that do not fit."""
        widgets = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if isinstance(w, FooterKey) and w not in palette]
        if len(keys) != len(widgets) - len(palette):  # binding groups: left as Textual draws them
            return widgets
        available = self.size.width or self.app.size.width
        available -= sum(key_width(w) + 2 for w in palette if isinstance(w, FooterKey))
        used = sum(key_width(key) for key in keys)
        dropped: set[int] = set()
        for key in give_way_order(keys):
            if used <= available:
                break
            used -= key_width(key)
            dropped.add(id(key))
        return [*(key for key in keys if id(key) not in dropped), *palette]

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Textual's handling (a recompose after the next refresh), but the first keys are
        composed at once: Textual's way, the explorer's first screen was drawn without them
        and their compose (about 11 ms) came with the user's first key (issue 11: the jump
        to the top layer right after the first screen, bench/README.md)."""
        super().bindings_changed(screen)
        if self._shown or not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_later(self.recompose)

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)
