"""Provides :class:`ExplorerCommands`: a command palette provider listing every explorer action."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.widget import Widget


@dataclass(frozen=True)
class ActionEntry:
    """One action of the explorer: where it runs, what it is called, its keys."""

    pane: str
    description: str
    keys: str
    action: str
    node: DOMNode
    focus: bool


@runtime_checkable
class KeymapOwner(Protocol):
    """An app that remembers the keymap it handed to :meth:`~textual.app.App.set_keymap`."""

    @property
    def applied_keymap(self) -> Mapping[str, str]:
        """Binding id -> Textual key list, for the bindings the user remapped."""
        ...


def _display_keys(app: App[Any], binding: Binding) -> str:
    """The keys of ``binding`` as the app shows them (``"^f, /"``), remapping applied."""
    keymap = app.applied_keymap if isinstance(app, KeymapOwner) else {}
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))


def _bindings(node: DOMNode) -> list[Binding]:
    """The described bindings ``node``'s class declares itself (Textual's own are left out)."""
    out: list[Binding] = []
    seen: set[str] = set()
    for item in vars(type(node)).get("BINDINGS", ()):
        if isinstance(item, Binding) and item.id and item.id not in seen and item.description:
            seen.add(item.id)
            out.append(item)
    return out


def explorer_actions(app: App[Any]) -> Iterator[ActionEntry]:
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
        if entry.focus and isinstance(entry.node, Widget):
            entry.node.focus()
        await self.app.run_action(entry.action, entry.node)

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
