"""Tests of the remappable key table: derived from every binding, dive's names kept, remapping works."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import ClassVar

import pytest
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.widget import Widget

import dive_py.ui
from dive_py.domain.analysis import Analysis
from dive_py.explorer_config import (
    DIVE_KEY_ALIASES,
    IGNORED_KEYS,
    ExplorerConfig,
    load_explorer_config,
)
from dive_py.ui.app import make_app
from dive_py.ui.details import InefficientTable
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.key_table import DEFAULT_KEYS, KEYED_CLASSES, own_bindings, remappable_keys
from tests.ui.conftest import settle

SIZE = (160, 48)

#: divepy's key table before it was derived from the bindings: every name stays accepted,
#: with the same default keys.
TABLE_BEFORE = {
    "quit": "q",
    "force-quit": "ctrl+c",
    "toggle-view": "tab",
    "filter-files": "ctrl+f,slash,ctrl+underscore",
    "close-filter-files": "escape",
    "up": "up,k",
    "down": "down,j",
    "left": "left,h",
    "right": "right,l",
    "page-up": "pageup,u",
    "page-down": "pagedown,d",
    "home": "home",
    "end": "end",
    "compare-all": "ctrl+a",
    "compare-layer": "ctrl+l",
    "toggle-empty-steps": "e",
    "toggle-collapse-dir": "space",
    "toggle-collapse-all-dir": "ctrl+space,ctrl+@",
    "toggle-sort-order": "ctrl+o",
    "toggle-filetree-attributes": "ctrl+b",
    "toggle-added-files": "ctrl+a",
    "toggle-removed-files": "ctrl+r",
    "toggle-modified-files": "ctrl+n",
    "toggle-unmodified-files": "ctrl+u",
    "help": "question_mark",
}


def _ui_classes() -> list[type[DOMNode]]:
    """Every app, screen and widget class defined in ``dive_py.ui`` (all modules imported)."""
    found: list[type[DOMNode]] = []
    for info in pkgutil.iter_modules(dive_py.ui.__path__, "dive_py.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_binding_of_every_screen_and_widget_is_remappable() -> None:
    classes = _ui_classes()
    assert {"DiveApp", "MainScreen", "HelpScreen", "FileTreeView"} <= {c.__name__ for c in classes}
    for cls in classes:
        for item in vars(cls).get("BINDINGS", ()):
            assert isinstance(item, Binding), f"{cls.__name__}: {item!r} cannot carry an id"
            assert item.id, f"{cls.__name__}: {item.key} ({item.action}) has no id"
            assert DEFAULT_KEYS[item.id] == item.key, f"{cls.__name__}: {item.id}"
        if own_bindings(cls):
            assert cls in KEYED_CLASSES, f"{cls.__name__} is left out of the key table"


def test_the_missing_ids_are_remappable_now() -> None:
    assert DEFAULT_KEYS["suspend"] == "ctrl+z"
    assert DEFAULT_KEYS["previous-pane"] == "shift+tab"
    assert DEFAULT_KEYS["jump-to-file"] == "enter"


def test_table_keeps_every_name_and_default_it_had() -> None:
    assert {name: DEFAULT_KEYS[name] for name in TABLE_BEFORE} == TABLE_BEFORE


def test_derivation_refuses_a_binding_without_id_or_two_defaults_for_one_id() -> None:
    class NoId(Widget):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "bell", "Bell")]

    class Up(Widget):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("up", "bell", "Up", id="up")]

    class OtherUp(Widget):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("k", "bell", "Up", id="up")]

    assert remappable_keys([Up]) == {"up": "up"}
    with pytest.raises(ValueError, match="has no id"):
        remappable_keys([NoId])
    with pytest.raises(ValueError, match="'up'"):
        remappable_keys([Up, OtherUp])


def _config(tmp_path: Path, text: str) -> ExplorerConfig:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_explorer_config(str(path), {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS)


def test_dive_names_read_differently_and_ignored_names_still_load(tmp_path: Path) -> None:
    lines = [f"  {name}: ctrl+y" for name in [*DIVE_KEY_ALIASES, *sorted(IGNORED_KEYS)]]
    config = _config(tmp_path, "keybinding:\n" + "\n".join(lines) + "\n")
    assert config.keymap == {new: "ctrl+y" for new in DIVE_KEY_ALIASES.values()}


def test_the_three_new_ids_load_from_dive_config(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "keybinding:\n  suspend: ctrl+y\n  previous-pane: ctrl+k\n  jump-to-file: x\n",
    )
    assert config.keymap == {"suspend": "ctrl+y", "previous-pane": "ctrl+k", "jump-to-file": "x"}
    assert config.keys_for("suspend") == "ctrl+y"
    assert config.keys_for("home") == "home"


async def test_remapped_previous_pane_jump_to_file_and_suspend(demo: Analysis) -> None:
    config = ExplorerConfig(
        keymap={"previous-pane": "ctrl+k", "jump-to-file": "x", "suspend": "ctrl+y"}
    )
    app = make_app(demo, config=config)
    suspended: list[bool] = []
    app.action_suspend_process = lambda: suspended.append(True)  # type: ignore[method-assign]  # records the action instead of stopping the test process
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+k")
        assert app.focused is not None and app.focused.id == "layer-details"
        await pilot.press("ctrl+k")
        assert isinstance(app.focused, InefficientTable)
        await pilot.press("enter")  # no longer the jump key
        await settle(pilot)
        assert isinstance(app.focused, InefficientTable)
        await pilot.press("x")
        await settle(pilot)
        tree = app.screen.query_one(FileTreeView)
        assert app.focused is tree and tree.cursor_path == "/usr/local/bin/pip"
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert suspended == [True]


async def test_command_palette_shows_remapped_keys(demo: Analysis) -> None:
    from dive_py.ui.commands import explorer_actions

    app = make_app(demo, config=ExplorerConfig(keymap={"jump-to-file": "x"}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = {e.description: e.keys for e in explorer_actions(app) if e.pane == "Image details"}
        assert keys["Show in tree"] == "x"
