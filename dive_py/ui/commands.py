"""Provides :class:`ExplorerCommands`: a command palette provider listing every explorer action."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

if TYPE_CHECKING:
    from textual.app import App


@dataclass(frozen=True)
class ActionEntry:
    """One action of the explorer: where it runs, what it is called, its keys."""

    pane: str
    description: str
    keys: str
    action: str
    node: DOMNode
    focus: bool


def _display_keys(app: App, binding: Binding) -> str:
    keymap = getattr(app, "_keymap", {}) or {}
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))


def _bindings(node: DOMNode) -> list[Binding]:
    out = []
    seen = set()
    for cls in type(node).__mro__:
        for item in getattr(cls, "BINDINGS", None) or ():
            if isinstance(item, Binding) and item.id and item.id not in seen and item.description:
                seen.add(item.id)
                out.append(item)
        if cls.__name__ in (
            "LayersTable",
            "FileTreeView",
            "InefficientTable",
            "FilterInput",
            "MainScreen",
            "DiveApp",
        ):
            break
    return out


def explorer_actions(app: App) -> Iterator[ActionEntry]:
    """Yield every action of the explorer screen (pane, description, keys, how to run it)."""
    from dive_py.ui.details import InefficientTable
    from dive_py.ui.file_tree_view import FileTreeView
    from dive_py.ui.layers_table import LayersTable
    from dive_py.ui.main_screen import FilterInput, MainScreen

    screen = next((s for s in reversed(app.screen_stack) if isinstance(s, MainScreen)), None)
    if screen is None:
        for binding in _bindings(app):
            yield ActionEntry(
                "App", binding.description, _display_keys(app, binding), binding.action, app, False
            )
        return
    panes: list[tuple[str, DOMNode, bool]] = [
        ("Layers", screen.query_one(LayersTable), True),
        ("File tree", screen.query_one(FileTreeView), True),
        ("Image details", screen.query_one(InefficientTable), True),
        ("Filter", screen.query_one(FilterInput), False),
        ("Screen", screen, False),
        ("App", app, False),
    ]
    for pane, node, focus in panes:
        for binding in _bindings(node):
            yield ActionEntry(
                pane, binding.description, _display_keys(app, binding), binding.action, node, focus
            )


class ExplorerCommands(Provider):
    """Every action of the explorer, with its keys, runnable from the command palette."""

    async def _run(self, entry: ActionEntry) -> None:
        if entry.focus and hasattr(entry.node, "focus"):
            entry.node.focus()  # type: ignore[attr-defined]
        await entry.node.run_action(entry.action)

    def _entries(self) -> list[ActionEntry]:
        return list(explorer_actions(self.app))

    async def discover(self) -> Hits:
        for entry in self._entries():
            text = f"{entry.pane}: {entry.description}"
            yield DiscoveryHit(
                f"{text} ({entry.keys})",
                partial(self._run, entry),
                text=text,
                help=f"keys: {entry.keys}",
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            text = f"{entry.pane}: {entry.description}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self._run, entry),
                    text=text,
                    help=f"keys: {entry.keys}",
                )
