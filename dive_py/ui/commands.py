"""Provides :class:`ExplorerCommands`: a command palette provider listing every explorer action.

:func:`explorer_actions` is the one list of what the explorer can do, pane by pane, with the
keys in effect (a remap applied): the command palette and the help screen both read it, so
each action appears once in each, with the same keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.widget import Widget

from dive_py.ui.key_display import display_keys

CURSOR_MOVES = frozenset(
    {"up", "down", "page-up", "page-down", "home", "end", "left", "right", "previous-pane"}
)
"""Binding ids of plain cursor movement (and stepping back a pane): the help screen lists
them, the command palette leaves them out (running "Up" from a palette is no use)."""


@dataclass(frozen=True)
class ActionEntry:
    """One action of the explorer: where it runs, what it is called, its keys.

    Attributes:
        pane: the pane's name as the help screen shows it ("Layers", "File tree", "App").
        description: what the action does (the binding's description).
        keys: every key that triggers it, as the footer shows keys (``"q, ^c"``).
        action: the Textual action string run on ``node``.
        node: where the action runs.
        focus: focus ``node`` before running the action (a pane's own action).
        binding_ids: the ids (dive's ``keybinding.*`` names) of the bindings merged here.
    """

    pane: str
    description: str
    keys: str
    action: str
    node: DOMNode
    focus: bool
    binding_ids: tuple[str, ...] = ()


def _bindings(node: DOMNode) -> list[Binding]:
    """The described bindings ``node``'s class declares itself (Textual's own are left out)."""
    out: list[Binding] = []
    seen: set[str] = set()
    for item in vars(type(node)).get("BINDINGS", ()):
        if isinstance(item, Binding) and item.id and item.id not in seen and item.description:
            seen.add(item.id)
            out.append(item)
    return out


def _entries(
    app: App[Any], pane: str, node: DOMNode, focus: bool, moves: bool
) -> Iterator[ActionEntry]:
    """The actions of one pane: bindings with the same description (``quit`` and
    ``force-quit``: "Quit") merged into one entry."""
    merged: dict[str, tuple[Binding, list[str], list[str]]] = {}
    for binding in _bindings(node):
        if not moves and binding.id in CURSOR_MOVES:
            continue
        if node.check_action(binding.action, ()) is False:
            continue  # hidden where it does not apply (the containers key without an engine)
        shown = display_keys(app, binding)
        if not shown:
            continue  # the config left this binding without a key
        first, keys, ids = merged.setdefault(binding.description, (binding, [], []))
        for key in shown.split(", "):
            if key not in keys:
                keys.append(key)
        ids.append(str(binding.id))
    for description, (first, keys, ids) in merged.items():
        yield ActionEntry(pane, description, ", ".join(keys), first.action, node, focus, tuple(ids))


def explorer_actions(app: App[Any], *, moves: bool = True) -> Iterator[ActionEntry]:
    """Yield every action of the explorer screen (pane, description, keys, how to run it).

    Args:
        app: the explorer (its keymap gives the keys in effect).
        moves: include plain cursor movement (:data:`CURSOR_MOVES`); the palette leaves it out.

    Each action appears once: two bindings of one pane with the same description (``quit``
    and ``force-quit``) are one entry listing both bindings' keys.
    """
    from dive_py.ui.details import InefficientTable
    from dive_py.ui.details_scroll import DetailsScroll
    from dive_py.ui.file_tree_view import FileTreeView
    from dive_py.ui.layers_table import LayersTable
    from dive_py.ui.main_screen import FilterInput, MainScreen

    screen = next((s for s in reversed(app.screen_stack) if isinstance(s, MainScreen)), None)
    if screen is None:
        yield from _diff_explorer_actions(app, moves)
        return
    panes: list[tuple[str, DOMNode, bool]] = [
        ("Layers", screen.query_one(LayersTable), True),
        ("Layer details", screen.query_one(DetailsScroll), True),
        ("File tree", screen.query_one(FileTreeView), True),
        ("Image details", screen.query_one(InefficientTable), True),
        ("Filter", screen.query_one(FilterInput), False),
        ("Screen", screen, False),
        ("App", app, False),
    ]
    for pane, node, focus in panes:
        yield from _entries(app, pane, node, focus, moves)


def _diff_explorer_actions(app: App[Any], moves: bool) -> Iterator[ActionEntry]:
    """The diff explorer's actions (its layers, its file tree, the screen), then the app's."""
    from dive_py.ui.diff_layers import DiffLayersTable
    from dive_py.ui.diff_screen import DiffFilterInput, DiffScreen
    from dive_py.ui.file_tree_view import FileTreeView

    screen = next((s for s in reversed(app.screen_stack) if isinstance(s, DiffScreen)), None)
    if screen is not None:
        panes: list[tuple[str, DOMNode, bool]] = [
            ("Layers", screen.query_one(DiffLayersTable), True),
            ("File tree", screen.query_one(FileTreeView), True),
            ("Filter", screen.query_one(DiffFilterInput), False),
            ("Screen", screen, False),
        ]
        for pane, node, focus in panes:
            yield from _entries(app, pane, node, focus, moves)
    yield from _entries(app, "App", app, False, moves)


class ExplorerCommands(Provider):
    """Every action of the explorer (cursor movement left out), runnable from the palette.

    Each command shows its keys once, in the help line under it (``keys: ^a``).
    """

    async def _run(self, entry: ActionEntry) -> None:
        if entry.focus and isinstance(entry.node, Widget):
            entry.node.focus()
        await self.app.run_action(entry.action, entry.node)

    def _entries(self) -> list[ActionEntry]:
        return list(explorer_actions(self.app, moves=False))

    async def discover(self) -> Hits:
        for entry in self._entries():
            text = f"{entry.pane}: {entry.description}"
            yield DiscoveryHit(
                text, partial(self._run, entry), text=text, help=f"keys: {entry.keys}"
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
