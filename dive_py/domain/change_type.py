"""Provides :class:`DiffType`: how a path changed in a compared tree, declared once.

Every place that names a change type (the tree's markers and colours, ``diff.hide`` in
dive's config, the help legend, the JSON export) takes it from here.
"""

from __future__ import annotations

from enum import IntEnum


class DiffType(IntEnum):
    """How a node of a compared tree changed (dive's enum values: 0..3).

    Each member carries its config name (dive's ``diff.hide`` values), the one-character
    marker drawn in the tree, and the word a person reads.
    """

    UNMODIFIED = 0
    MODIFIED = 1
    ADDED = 2
    REMOVED = 3

    @property
    def config_name(self) -> str:
        """The name in dive's ``diff.hide`` list: ``added``, ``removed``, ``modified``, ``unmodified``."""
        return _CONFIG_NAMES[self]

    @property
    def marker(self) -> str:
        """The one-character marker drawn before a tree row: ``+``, ``~``, ``-`` or a blank."""
        return _MARKERS[self]

    @property
    def label(self) -> str:
        """The word shown to a person: ``added``, ``modified``, ``removed``, ``unchanged``."""
        return _LABELS[self]

    @classmethod
    def from_config_name(cls, name: str) -> DiffType:
        """Return the change type named ``name`` (case-insensitive, dive's ``diff.hide`` names).

        Raises:
            KeyError: ``name`` is not one of :data:`CONFIG_NAMES`.
        """
        return _BY_CONFIG_NAME[name.strip().lower()]


_CONFIG_NAMES = {
    DiffType.ADDED: "added",
    DiffType.REMOVED: "removed",
    DiffType.MODIFIED: "modified",
    DiffType.UNMODIFIED: "unmodified",
}
_MARKERS = {
    DiffType.ADDED: "+",
    DiffType.MODIFIED: "~",
    DiffType.REMOVED: "-",
    DiffType.UNMODIFIED: " ",
}
_LABELS = {
    DiffType.ADDED: "added",
    DiffType.MODIFIED: "modified",
    DiffType.REMOVED: "removed",
    DiffType.UNMODIFIED: "unchanged",
}
_BY_CONFIG_NAME = {name: diff for diff, name in _CONFIG_NAMES.items()}

CONFIG_NAMES: tuple[str, ...] = tuple(_CONFIG_NAMES.values())
"""Names accepted in dive's ``diff.hide``, in dive's order: added, removed, modified, unmodified."""
