"""Tests of the explorer config: dive's file locations, key translation, values and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dive_py.errors import UsageError
from dive_py.explorer_config import (
    ExplorerConfig,
    find_config_file,
    load_explorer_config,
    translate_keys,
)
from dive_py.ui.key_table import DEFAULT_KEYS


@pytest.mark.parametrize(
    "dive, textual",
    [
        ("ctrl+c, q", "ctrl+c,q"),
        ("ctrl+space", "ctrl+space,ctrl+@"),
        ("pgup,u", "pageup,u"),
        ("pgdn", "pagedown"),
        ("esc", "escape"),
        ("ctrl+/", "ctrl+slash,ctrl+underscore"),
        ("ctrl+slash", "ctrl+slash,ctrl+underscore"),
        ("ctrl+m", "enter"),
        ("Ctrl+A", "ctrl+a"),
        ("alt+x", "alt+x"),
        ("/", "slash"),
        ("?", "question_mark"),
        ("f5", "f5"),
        ("ctl+b", "ctrl+b"),
    ],
)
def test_translate_keys(dive: str, textual: str) -> None:
    assert translate_keys(dive) == textual


@pytest.mark.parametrize("bad", ["ctrl+nosuchkey", "ctrl+", "", "a b", "ctrl"])
def test_translate_bad_keys(bad: str) -> None:
    with pytest.raises(UsageError):
        translate_keys(bad)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_lookup_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_CONFIG_DIRS": f"{tmp_path / 'sys1'}:{tmp_path / 'sys2'}",
    }
    assert find_config_file(env) is None
    legacy = write(home / ".dive.yaml", "")
    assert find_config_file(env) == legacy
    home_cfg = write(home / ".config" / "dive" / "b.yml", "")
    assert find_config_file(env) == home_cfg
    sys2 = write(tmp_path / "sys2" / "dive" / "x.yaml", "")
    assert find_config_file(env) == sys2
    write(tmp_path / "xdg" / "dive" / "z.yaml", "")
    first = write(tmp_path / "xdg" / "dive" / "a.yaml", "")
    write(tmp_path / "xdg" / "dive" / "notes.txt", "")
    assert find_config_file(env) == first


def test_values_and_keybindings(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.yaml",
        """
keybinding:
  quit: ctrl+c, x
  toggle-sort-order: ctrl+s
  toggle-unchanged-files: ctrl+y
  toggle-wrap-tree: ctrl+p
diff:
  hide: [Added, removed]
layer:
  show-aggregated-changes: true
filetree:
  collapse-dir: true
  show-attributes: false
  pane-width: 0.6
""",
    )
    config = load_explorer_config(str(cfg), {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS)
    assert config.keymap == {
        "quit": "x",
        "force-quit": "ctrl+c",
        "toggle-sort-order": "ctrl+s",
        "toggle-unmodified-files": "ctrl+y",
        "toggle-wrap-tree": "ctrl+p",  # (dive's own default: read, no longer ignored)
    }
    assert config.hide == frozenset({"added", "removed"})
    assert config.show_aggregated_changes and config.collapse_dir
    assert not config.show_attributes
    assert config.pane_width == 0.6
    assert config.keys_for("up") == DEFAULT_KEYS["up"]


def test_environment_overrides(tmp_path: Path) -> None:
    config = load_explorer_config(
        None,
        {
            "HOME": str(tmp_path),
            "DIVE_FILETREE.SHOW_ATTRIBUTES": "false",
            "DIVE_DIFF.HIDE": "unmodified",
        },
        default_keys=DEFAULT_KEYS,
    )
    assert not config.show_attributes and config.hide == frozenset({"unmodified"})
    assert config.source is None


def test_defaults_without_file(tmp_path: Path) -> None:
    assert (
        load_explorer_config(None, {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS)
        == ExplorerConfig()
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("diff:\n  hide: sideways\n", "unknown change type"),
        ("filetree:\n  pane-width: 2\n", "between 0 and 1"),
        ("filetree:\n  pane-width: wide\n", "not a number"),
        ("filetree:\n  show-attributes: maybe\n", "true or false"),
        ("keybinding:\n  quit: ctrl+nope\n", "unknown key"),
        ("keybinding:\n  fly: ctrl+x\n", "unknown keybinding"),
        ("a: [\n", "not valid YAML"),
        ("- a\n", "not a YAML mapping"),
    ],
)
def test_bad_values_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    cfg = write(tmp_path / "bad.yaml", text)
    with pytest.raises(UsageError) as info:
        load_explorer_config(str(cfg), {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS)
    assert message in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read config file"):
        load_explorer_config(
            str(tmp_path / "nope.yaml"), {"HOME": str(tmp_path)}, default_keys=DEFAULT_KEYS
        )
