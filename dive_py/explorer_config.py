"""Provides :class:`ExplorerConfig` and :func:`load_explorer_config`: the explorer's settings from dive's config file.

Pure Python (no Textual): the file is found where dive looks for it, read with PyYAML, and
dive's key names (``ctrl+space``, ``pgup``, ``esc`` ...) are translated into Textual key names
so that the explorer can hand them to :meth:`textual.app.App.set_keymap`.

Lookup (dive's ``initConfig``): ``--config PATH``; else the first ``*.yaml``/``*.yml`` (sorted by
name) in ``$XDG_CONFIG_HOME/dive/``, in each ``$XDG_CONFIG_DIRS`` part's ``dive/``, in
``~/.config/dive/``; else ``~/.dive.yaml``. Settings can also come from the environment as viper
reads them: ``DIVE_`` + the dotted key upper-cased with ``-`` as ``_``
(``DIVE_FILETREE.SHOW_ATTRIBUTES=false``); the environment wins over the file.

Unlike dive, a bad value is an error (:class:`~dive_py.errors.UsageError`, one line naming the
file and key) rather than silently ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dive_py.domain.change_type import CONFIG_NAMES
from dive_py.errors import UsageError

#: dive's ``keybinding.*`` names that divepy reads differently from a binding id.
#:
#: * ``quit``: divepy has two bindings, ``quit`` (plain keys, which a focused filter input
#:   would otherwise swallow as text; shown in the footer) and ``force-quit`` (ctrl keys,
#:   priority bindings that work everywhere); dive's ``quit`` list is split between them
#:   (letters to ``quit``, ctrl keys to ``force-quit``). A list of only letters or only ctrl
#:   keys goes to ``quit`` (so that the footer shows it) and ``force-quit`` is disabled: a
#:   lone ctrl key then quits wherever the focused widget does not use it (the filter input
#:   keeps ``ctrl+x`` for cut). No other key quits: the defaults ``q`` and ``ctrl+c`` are
#:   gone, and Textual's own ``ctrl+q`` is not bound in divepy.
#: * ``toggle-unchanged-files``: dive's older name of ``toggle-unmodified-files`` (read only
#:   when the newer name is not set, as dive does).
#:
#: Every other ``keybinding.*`` name is a binding id of the explorer (dive's names are the
#: ids, see :data:`dive_py.ui.key_table.DEFAULT_KEYS`). Where dive's default key cannot work
#: in a terminal or clashes with Textual, divepy's binding uses another default: dive's
#: ``ctrl+m`` (toggle modified files) arrives as Enter, so divepy uses ``ctrl+n``; ``ctrl+p``
#: is the command palette (dive's ``toggle-wrap-tree`` key, which divepy binds to ``w``);
#: ``ctrl+/`` arrives as ``ctrl+_`` on most terminals.
DIVE_KEY_ALIASES = {"toggle-unchanged-files": "toggle-unmodified-files"}

#: dive keybinding keys that divepy accepts but has no action for (the value is still checked).
IGNORED_KEYS: frozenset[str] = frozenset()

_TOKENS = {
    "pgup": "pageup",
    "pageup": "pageup",
    "pgdn": "pagedown",
    "pgdown": "pagedown",
    "pagedown": "pagedown",
    "esc": "escape",
    "escape": "escape",
    "ctl": "ctrl",
    "ctrl": "ctrl",
    "alt": "alt",
    "shift": "shift",
    "/": "slash",
    "\\": "backslash",
    "[": "left_square_bracket",
    "]": "right_square_bracket",
    "_": "underscore",
    "~": "tilde",
    "slash": "slash",
    "backslash": "backslash",
    "underscore": "underscore",
    "tilde": "tilde",
    "lsqbracket": "left_square_bracket",
    "rsqbracket": "right_square_bracket",
    "space": "space",
    "enter": "enter",
    "tab": "tab",
    "backspace": "backspace",
    "backspace2": "backspace",
    "insert": "insert",
    "delete": "delete",
    "home": "home",
    "end": "end",
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "?": "question_mark",
}
_TOKENS.update({f"f{n}": f"f{n}" for n in range(1, 13)})
_MODIFIERS = ("ctrl", "alt", "shift")

#: Textual key -> extra aliases a terminal may send for it.
_ALIASES = {
    "ctrl+space": ["ctrl+@"],
    "ctrl+slash": ["ctrl+underscore"],
}
#: keys that a terminal cannot tell apart from another key: dive's name -> what arrives.
_SAME_AS = {
    "ctrl+m": "enter",
    "ctrl+i": "tab",
    "ctrl+h": "backspace",
    "ctrl+left_square_bracket": "escape",
}


@dataclass(slots=True)
class ExplorerConfig:
    """The explorer's settings.

    Attributes:
        keymap: binding id -> Textual key list (``"ctrl+a"``, ``"up,k"``) for every binding
            the config file or the environment set (what the explorer hands to
            :meth:`textual.app.App.set_keymap`).
        hide: change types hidden at start (names from
            :data:`~dive_py.domain.change_type.CONFIG_NAMES`).
        show_aggregated_changes: start in aggregated compare mode.
        collapse_dir: start with every directory collapsed.
        show_attributes: show the permission / owner / size column.
        pane_width: the file tree pane's share of the screen width, 0 < x < 1.
        source: the file the settings came from, or None.
        disabled: binding ids left without any key by the config (``force-quit`` when
            ``keybinding.quit`` names no ctrl key): the explorer disables them.
        default_keys: every remappable binding id -> its default Textual key list, as given
            to :func:`load_explorer_config` (the explorer's table,
            :data:`dive_py.ui.key_table.DEFAULT_KEYS`); empty when not loaded. Not compared.
    """

    keymap: dict[str, str] = field(default_factory=dict)
    hide: frozenset[str] = frozenset()
    show_aggregated_changes: bool = False
    collapse_dir: bool = False
    show_attributes: bool = True
    pane_width: float = 0.5
    source: str | None = None
    disabled: frozenset[str] = frozenset()
    default_keys: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def keys_for(self, binding_id: str) -> str:
        """Return the Textual key list in effect for ``binding_id`` ("" for an unknown or
        disabled id)."""
        if binding_id in self.disabled:
            return ""
        return self.keymap.get(binding_id, self.default_keys.get(binding_id, ""))


def translate_keys(value: str, where: str = "keybinding") -> str:
    """Translate a dive key list (``"ctrl+c, q"``) into a Textual one (``"ctrl+c,q"``).

    Raises:
        UsageError: a key name dive would not accept either.
    """
    out: list[str] = []
    for part in str(value).split(","):
        part = part.strip()
        if not part:
            continue
        if len(part) == 1:  # a plain rune: q, /, ?
            key = _TOKENS.get(part, part)
            if not (part.isalnum() or part in _TOKENS):
                raise UsageError(f"{where}: unknown key {part!r}", "see dive's keybinding names")
            out.append(key)
            continue
        tokens = [t for t in re.split(r"[\s+]+", part) if t]
        if part.endswith("+"):  # "ctrl++" is not a thing; keep the error readable
            raise UsageError(f"{where}: unknown key {part!r}", "see dive's keybinding names")
        mods: list[str] = []
        base = ""
        for token in tokens:
            low = token.lower()
            name = _TOKENS.get(low)
            if name is None and len(low) == 1 and low.isalnum():
                name = low
            if name is None:
                raise UsageError(
                    f"{where}: unknown key {token!r} in {part!r}", "see dive's keybinding names"
                )
            if name in _MODIFIERS:
                if name not in mods:
                    mods.append(name)
            elif base:
                raise UsageError(f"{where}: two keys in {part!r}", "join alternatives with ','")
            else:
                base = name
        if not base:
            raise UsageError(f"{where}: no key in {part!r}", "see dive's keybinding names")
        key = "+".join([m for m in _MODIFIERS if m in mods] + [base])
        key = _SAME_AS.get(key, key)
        out.append(key)
        out.extend(_ALIASES.get(key, []))
    if not out:
        raise UsageError(f"{where}: no key given", "see dive's keybinding names")
    seen: list[str] = []
    for key in out:
        if key not in seen:
            seen.append(key)
    return ",".join(seen)


def find_config_file(env: Mapping[str, str]) -> Path | None:
    """Return dive's default config file for ``env``, or None."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    dirs: list[Path] = []
    if "XDG_CONFIG_HOME" in env:
        dirs.append(Path(env["XDG_CONFIG_HOME"]) / "dive")
    if "XDG_CONFIG_DIRS" in env:
        dirs.extend(Path(part) / "dive" for part in env["XDG_CONFIG_DIRS"].split(":"))
    dirs.append(home / ".config" / "dive")
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.endswith((".yaml", ".yml")) and (directory / name).is_file():
                return directory / name
    legacy = home / ".dive.yaml"
    return legacy if legacy.is_file() else None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{str(key).lower()}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "t", "true", "yes", "on"):
        return True
    if text in ("0", "f", "false", "no", "off"):
        return False
    raise UsageError(f"{where}: {value!r} is not true or false", "use true or false")


def load_explorer_config(
    path: str | None, env: Mapping[str, str], *, default_keys: Mapping[str, str]
) -> ExplorerConfig:
    """Read the explorer settings from ``path`` (or dive's default locations) and ``env``.

    Args:
        path: ``--config PATH``, or None for the default locations.
        env: the environment (``HOME``, ``XDG_CONFIG_*``, ``DIVE_*``).
        default_keys: every remappable binding id -> its default Textual key list (the
            explorer passes :data:`dive_py.ui.key_table.DEFAULT_KEYS`, derived from its
            bindings); a ``keybinding.*`` name must be one of these ids, one of
            :data:`DIVE_KEY_ALIASES`, or one of :data:`IGNORED_KEYS`.

    Raises:
        UsageError: the named file is missing or unreadable, the YAML is invalid, or a value is
            (an unknown ``keybinding.*`` name or key, an unknown change type in ``diff.hide``).
    """
    import yaml

    file = Path(path) if path else find_config_file(env)
    values: dict[str, Any] = {}
    label = "environment"
    if file is not None:
        label = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot read config file {file}: {exc.strerror or exc}", "check the --config path"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1})" if mark is not None else ""
            raise UsageError(
                f"config file {file} is not valid YAML{at}", "fix or remove the file"
            ) from None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise UsageError(f"config file {file} is not a YAML mapping", "fix or remove the file")
        values = _flatten(data)
    for name, value in env.items():
        if name.startswith("DIVE_") and "." in name:
            values[name[5:].lower().replace("_", "-")] = value
    config = ExplorerConfig(
        source=str(file) if file is not None else None, default_keys=dict(default_keys)
    )

    def where(key: str) -> str:
        return f"{label}: {key}"

    # keybindings (legacy aliases read first, as dive does: the newer name wins)
    for old, new in DIVE_KEY_ALIASES.items():
        legacy = values.get(f"keybinding.{old}")
        if legacy is not None and f"keybinding.{new}" not in values:
            values[f"keybinding.{new}"] = legacy
    for key, value in values.items():
        if not key.startswith("keybinding."):
            continue
        action = key[len("keybinding.") :]
        if action in DIVE_KEY_ALIASES:
            continue
        if value is None or str(value).strip() == "":
            continue
        keys = translate_keys(str(value), where(key))
        if action in IGNORED_KEYS:
            continue
        if action == "quit":  # ctrl keys quit even from the filter input; letters do not
            parts = keys.split(",")
            ctrl = [k for k in parts if "+" in k]
            plain = [k for k in parts if "+" not in k]
            config.keymap["quit"] = ",".join(plain or ctrl)
            if plain and ctrl:
                config.keymap["force-quit"] = ",".join(ctrl)
                config.disabled -= {"force-quit"}
            else:  # no old default stays behind: only the configured keys quit
                config.keymap.pop("force-quit", None)
                config.disabled |= {"force-quit"}
            continue
        if action not in default_keys:
            raise UsageError(f"{where(key)}: unknown keybinding", "see dive's keybinding names")
        config.keymap[action] = keys
    hide = values.get("diff.hide")
    if hide not in (None, ""):
        items = hide if isinstance(hide, list) else re.split(r"[\s,]+", str(hide))
        names = set()
        for item in items:
            name = str(item).strip().lower()
            if not name:
                continue
            if name not in CONFIG_NAMES:
                raise UsageError(
                    f"{where('diff.hide')}: unknown change type {item!r}",
                    f"use {', '.join(CONFIG_NAMES[:-1])} or {CONFIG_NAMES[-1]}",
                )
            names.add(name)
        config.hide = frozenset(names)
    if "layer.show-aggregated-changes" in values:
        config.show_aggregated_changes = _bool(
            values["layer.show-aggregated-changes"], where("layer.show-aggregated-changes")
        )
    if "filetree.collapse-dir" in values:
        config.collapse_dir = _bool(values["filetree.collapse-dir"], where("filetree.collapse-dir"))
    if "filetree.show-attributes" in values:
        config.show_attributes = _bool(
            values["filetree.show-attributes"], where("filetree.show-attributes")
        )
    if "filetree.pane-width" in values:
        raw = values["filetree.pane-width"]
        try:
            width = float(raw)
        except (TypeError, ValueError):
            raise UsageError(
                f"{where('filetree.pane-width')}: {raw!r} is not a number",
                "use a fraction between 0 and 1, e.g. 0.5",
            ) from None
        if not 0 < width < 1:
            raise UsageError(
                f"{where('filetree.pane-width')}: {raw!r} is not between 0 and 1",
                "use a fraction between 0 and 1, e.g. 0.5",
            )
        config.pane_width = width
    return config
