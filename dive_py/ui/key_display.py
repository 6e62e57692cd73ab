"""Provides :func:`display_keys` and :func:`binding_keys_text`: a binding's keys as the user has them.

A key remapped in dive's config file (``keybinding.<id>``) is shown with its new key wherever
divepy names a key: the help screen, the command palette, help text such as "Aggregated
changes (ctrl+a in Layers)". The keys come from the binding as declared and the keymap the app
handed to :meth:`~textual.app.App.set_keymap`; each is shown as the footer shows it
(:meth:`~textual.app.App.get_key_display`: ``^a``, ``↑``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode


@runtime_checkable
class KeymapOwner(Protocol):
    """An app that remembers the keymap it handed to :meth:`~textual.app.App.set_keymap`."""

    @property
    def applied_keymap(self) -> Mapping[str, str]:
        """Binding id -> Textual key list, for the bindings the user remapped."""
        ...

    @property
    def disabled_bindings(self) -> frozenset[str]:
        """Binding ids that the config left without a key (they trigger nothing)."""
        ...


def keys_in_effect(app: App[Any], binding: Binding) -> list[str]:
    """Return the Textual key names that trigger ``binding`` in ``app`` (the remap applied;
    none for a binding the config disabled)."""
    if not isinstance(app, KeymapOwner):
        return [key.strip() for key in binding.key.split(",") if key.strip()]
    if binding.id in app.disabled_bindings:
        return []
    keymap = app.applied_keymap
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [key.strip() for key in keys.split(",") if key.strip()]


def display_keys(app: App[Any], binding: Binding) -> str:
    """Return the keys of ``binding`` as the app shows them (``"^f, /"``), remap applied."""
    return ", ".join(app.get_key_display(Binding(key, "")) for key in keys_in_effect(app, binding))


def binding_keys_text(app: App[Any], owner: type[DOMNode], binding_id: str) -> str:
    """Return the keys of the binding ``binding_id`` that ``owner`` declares, as shown.

    Raises:
        KeyError: ``owner`` declares no binding with that id (a programming error).
    """
    for item in vars(owner).get("BINDINGS", ()):
        if isinstance(item, Binding) and item.id == binding_id:
            return display_keys(app, item)
    raise KeyError(f"{owner.__name__} has no binding {binding_id!r}")
