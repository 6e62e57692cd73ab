"""Provides :class:`TreeRows`: the flat list of visible rows behind the file tree pane (no Textual).

The model turns a marked :class:`~dive_py.domain.file_tree.FileTree` into parallel lists (node,
depth, guide mask) of the rows to show, honouring:

* collapse state, kept per *path* so it survives switching layers (a default for every
  directory plus the set of paths toggled away from it, so "collapse all" is O(1));
* hidden change types (a node is hidden when its change is hidden and nothing below it shows);
* a regular-expression path filter (searched in the absolute path; a node shows when it matches
  or something below it shows; a bad expression keeps the last good one);
* sort by name, or by size (largest first, then name).

Collapsing or expanding one directory splices its rows out or in; only a change of settings
(filter, hidden types, sort, collapse-all) or of tree rebuilds the whole list.
"""

from __future__ import annotations

import re
from enum import Enum
from operator import attrgetter
from typing import Iterable

from dive_py.domain.byte_size import format_bytes as format_size
from dive_py.domain.display_text import escape_text
from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import DiffType, FileNode

MARKERS = {DiffType.ADDED: "+", DiffType.MODIFIED: "~", DiffType.REMOVED: "-",
           DiffType.UNMODIFIED: " "}
"""The one-character change marker of each :class:`DiffType`."""

DIFF_BY_NAME = {"added": DiffType.ADDED, "removed": DiffType.REMOVED,
                "modified": DiffType.MODIFIED, "unmodified": DiffType.UNMODIFIED}
"""Config names of the change types."""

ATTR_WIDTH = 10 + 1 + 11 + 1 + 10 + 1
"""Cells of the attribute column: permission string, ``uid:gid``, size, separators."""

_BY_NAME = attrgetter("name")


def _size_key(node: FileNode) -> tuple[int, str]:
    return (-node.size, node.name)


class SortOrder(Enum):
    """How siblings are ordered."""

    NAME = "name"
    SIZE = "size"


def attributes(node: FileNode) -> str:
    """Return the attribute column of ``node``: permissions, ``uid:gid`` and size (fixed width)."""
    entry = node.shown_entry
    owner = f"{entry.uid}:{entry.gid}"
    return f"{entry.permission_string():<10} {owner:>11} {format_size(node.size):>10} "


def display_name(node: FileNode) -> str:
    """Return the escaped name of ``node``, with `` → target`` for symbolic and hard links."""
    entry = node.shown_entry
    name = escape_text(node.name)
    if entry.type is EntryType.SYMLINK or entry.type is EntryType.HARDLINK:
        return f"{name} → {escape_text(entry.linkname)}"
    return name


class TreeRows:
    """The visible rows of a file tree.

    Args:
        root: the tree's root node (never shown itself).
        collapse_all: start with every directory collapsed.
        hidden: change types to hide.
        pattern: the path filter (regular expression), ``""`` for none.
        sort: the sibling order.

    Attributes:
        nodes: the node of each visible row.
        depths: the depth of each row (0 for children of the root).
        masks: per row, bit ``k`` set when the row's ancestor at depth ``k`` (or the row itself,
            at its own depth) is the last of its siblings; drives the tree guides.
        generation: incremented whenever the rows change (for render caches).
        pattern_error: the message of the last bad filter expression, or ``""``.
    """

    def __init__(self, root: FileNode, *, collapse_all: bool = False,
                 hidden: Iterable[DiffType] = (), pattern: str = "",
                 sort: SortOrder = SortOrder.NAME) -> None:
        self.root = root
        self.default_collapsed = collapse_all
        self.toggled: set[str] = set()
        self.hidden: frozenset[DiffType] = frozenset(hidden)
        self.pattern_text = ""
        self._pattern: re.Pattern[str] | None = None
        self.pattern_error = ""
        self.sort = sort
        self.nodes: list[FileNode] = []
        self.depths: list[int] = []
        self.masks: list[int] = []
        self.generation = 0
        self.max_depth = 0
        self.max_name = 0
        self._visible: set[int] | None = None
        self._kids: dict[int, list[FileNode]] = {}
        if pattern:
            self._compile(pattern)
        self.rebuild()

    # -- settings ---------------------------------------------------------------------------
    def copy_for(self, root: FileNode) -> "TreeRows":
        """Return a new model over ``root`` with this model's settings and collapse state."""
        other = TreeRows.__new__(TreeRows)
        other.root = root
        other.default_collapsed = self.default_collapsed
        other.toggled = set(self.toggled)
        other.hidden = self.hidden
        other.pattern_text = self.pattern_text
        other._pattern = self._pattern
        other.pattern_error = self.pattern_error
        other.sort = self.sort
        other.nodes, other.depths, other.masks = [], [], []
        other.generation = self.generation + 1
        other.max_depth = other.max_name = 0
        other._visible = None
        other._kids = {}
        other.rebuild()
        return other

    def set_root(self, root: FileNode) -> None:
        """Show another tree (another layer), keeping settings and collapse state."""
        self.root = root
        self.rebuild()

    def set_hidden(self, hidden: Iterable[DiffType]) -> None:
        """Hide the change types in ``hidden`` (show all others)."""
        self.hidden = frozenset(hidden)
        self.rebuild()

    def toggle_hidden(self, diff: DiffType) -> bool:
        """Hide ``diff`` if shown, show it if hidden; return True when it is now shown."""
        hidden = set(self.hidden)
        hidden.symmetric_difference_update({diff})
        self.set_hidden(hidden)
        return diff not in self.hidden

    def _compile(self, text: str) -> bool:
        text = text.strip()
        if not text:
            self.pattern_text, self._pattern, self.pattern_error = "", None, ""
            return True
        try:
            pattern = re.compile(text)
        except re.error as exc:
            self.pattern_error = str(exc)
            return False
        self.pattern_text, self._pattern, self.pattern_error = text, pattern, ""
        return True

    def set_filter(self, text: str) -> bool:
        """Filter paths by the regular expression ``text`` (``""`` for none).

        Returns:
            False when ``text`` is not a valid expression: the previous filter stays, and
            :attr:`pattern_error` says why.
        """
        old = self.pattern_text
        ok = self._compile(text)
        if ok and self.pattern_text != old:
            self.rebuild()
        return ok

    def set_sort(self, sort: SortOrder) -> None:
        """Order siblings by ``sort``."""
        if sort is not self.sort:
            self.sort = sort
            self.rebuild()

    def toggle_sort(self) -> SortOrder:
        """Switch between name and size order; return the new order."""
        self.set_sort(SortOrder.SIZE if self.sort is SortOrder.NAME else SortOrder.NAME)
        return self.sort

    # -- structure ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.nodes)

    def is_collapsed_path(self, path: str) -> bool:
        """True when the directory at ``path`` is collapsed (whether shown or not)."""
        return (path in self.toggled) != self.default_collapsed

    def _set_collapsed(self, path: str, collapsed: bool) -> None:
        if collapsed != self.default_collapsed:
            self.toggled.add(path)
        else:
            self.toggled.discard(path)

    def children(self, node: FileNode) -> list[FileNode]:
        """Return the visible children of ``node`` in display order."""
        kids = self._kids.get(id(node))
        if kids is not None:
            return kids
        mapping = node.children
        if not mapping:
            kids = []
        else:
            visible = self._visible
            if visible is None:
                kids = list(mapping.values())
            else:
                kids = [child for child in mapping.values() if id(child) in visible]
            if self.sort is SortOrder.NAME:
                kids.sort(key=_BY_NAME)
            else:
                kids.sort(key=_size_key)
        self._kids[id(node)] = kids
        return kids

    def _compute_visible(self) -> set[int] | None:
        hidden, pattern = self.hidden, self._pattern
        if not hidden and pattern is None:
            return None
        visible: set[int] = set()
        search = pattern.search if pattern is not None else None
        stack: list[tuple[FileNode, str, bool]] = [(self.root, "", False)]
        while stack:
            node, path, expanded = stack.pop()
            children = node.children
            if children and not expanded:
                stack.append((node, path, True))
                if search is not None:
                    stack.extend((child, f"{path}/{child.name}", False)
                                 for child in children.values())
                else:
                    stack.extend((child, "", False) for child in children.values())
                continue
            shown = False
            if children:
                for child in children.values():
                    if id(child) in visible:
                        shown = True
                        break
            if not shown and node.diff not in hidden:
                shown = search is None or search(path or "/") is not None
            if shown:
                visible.add(id(node))
        return visible

    def rebuild(self) -> None:
        """Recompute every visible row from the tree and the settings."""
        self._visible = self._compute_visible()
        self._kids = {}
        nodes, depths, masks = self._flatten(self.root, "", 0, 0)
        self.nodes, self.depths, self.masks = nodes, depths, masks
        self.generation += 1

    def _flatten(self, node: FileNode, path: str, depth: int, mask: int
                 ) -> tuple[list[FileNode], list[int], list[int]]:
        """Return the rows below ``node`` (at ``path``, its children at ``depth``)."""
        nodes: list[FileNode] = []
        depths: list[int] = []
        masks: list[int] = []
        add_node, add_depth, add_mask = nodes.append, depths.append, masks.append
        children_of = self.children
        toggled, default = self.toggled, self.default_collapsed
        max_depth, max_name = self.max_depth, self.max_name
        kids = children_of(node)
        if not kids:
            return nodes, depths, masks
        stack: list[list] = [[kids, 0, depth, mask, path]]
        while stack:
            frame = stack[-1]
            kids, i, d, m, p = frame
            if i >= len(kids):
                stack.pop()
                continue
            frame[1] = i + 1
            child = kids[i]
            own = m | (1 << d) if i == len(kids) - 1 else m
            add_node(child)
            add_depth(d)
            add_mask(own)
            if len(child.name) > max_name:
                max_name = len(child.name)
            if child.children:
                child_path = f"{p}/{child.name}"
                if (child_path in toggled) == default:  # expanded
                    grand = children_of(child)
                    if grand:
                        if d + 1 > max_depth:
                            max_depth = d + 1
                        stack.append([grand, 0, d + 1, own & ~(1 << (d + 1)), child_path])
        self.max_depth, self.max_name = max_depth, max_name
        return nodes, depths, masks

    # -- rows ------------------------------------------------------------------------------
    def path_of(self, index: int) -> str:
        """Return the absolute path of row ``index``."""
        return self.nodes[index].path

    def is_dir(self, index: int) -> bool:
        """True when row ``index`` is a directory."""
        return self.nodes[index].children is not None

    def can_fold(self, index: int) -> bool:
        """True when row ``index`` is a directory with visible children."""
        return bool(self.children(self.nodes[index]))

    def is_collapsed(self, index: int) -> bool:
        """True when row ``index`` is a collapsed directory with visible children."""
        return self.can_fold(index) and self.is_collapsed_path(self.path_of(index))

    def subtree_end(self, index: int) -> int:
        """Return the index just past the rows below row ``index``."""
        depth = self.depths[index]
        depths = self.depths
        end = index + 1
        count = len(depths)
        while end < count and depths[end] > depth:
            end += 1
        return end

    def toggle(self, index: int) -> bool:
        """Collapse or expand the directory at row ``index`` (splicing rows); False if no dir."""
        if not 0 <= index < len(self.nodes) or not self.can_fold(index):
            return False
        node = self.nodes[index]
        path = node.path
        if self.is_collapsed_path(path):
            self._set_collapsed(path, False)
            nodes, depths, masks = self._flatten(node, path if path != "/" else "",
                                                 self.depths[index] + 1, self.masks[index])
            at = index + 1
            self.nodes[at:at] = nodes
            self.depths[at:at] = depths
            self.masks[at:at] = masks
        else:
            self._set_collapsed(path, True)
            end = self.subtree_end(index)
            del self.nodes[index + 1:end]
            del self.depths[index + 1:end]
            del self.masks[index + 1:end]
        self.generation += 1
        return True

    def expand(self, index: int) -> bool:
        """Expand the directory at row ``index`` if collapsed; True when rows were added."""
        if self.is_collapsed(index):
            return self.toggle(index)
        return False

    def set_all_collapsed(self, collapsed: bool) -> None:
        """Collapse (or expand) every directory."""
        self.default_collapsed = collapsed
        self.toggled.clear()
        self.rebuild()

    def toggle_all(self) -> bool:
        """Collapse all directories unless they already are all collapsed, then expand all.

        Returns:
            True when everything is now collapsed.
        """
        collapse = not (self.default_collapsed and not self.toggled)
        self.set_all_collapsed(collapse)
        return collapse

    def parent_index(self, index: int) -> int | None:
        """Return the row of the parent directory of row ``index`` (None at the top level)."""
        depth = self.depths[index]
        if depth == 0:
            return None
        depths = self.depths
        i = index - 1
        while i >= 0 and depths[i] >= depth:
            i -= 1
        return i if i >= 0 else None

    def find_node(self, path: str) -> FileNode | None:
        """Return the node at absolute ``path`` in the tree (shown or not)."""
        node = self.root
        for part in path.strip("/").split("/"):
            if not part:
                continue
            children = node.children
            if not children or part not in children:
                return None
            node = children[part]
        return node

    def index_of_path(self, path: str) -> int | None:
        """Return the row showing absolute ``path``, or None when it is not shown."""
        node = self.find_node(path)
        if node is None or node is self.root:
            return None
        try:
            return self.nodes.index(node)
        except ValueError:
            return None

    def nearest_index(self, path: str) -> int | None:
        """Return the row of ``path``, else of its nearest shown ancestor, else None."""
        while path and path != "/":
            index = self.index_of_path(path)
            if index is not None:
                return index
            path = path.rpartition("/")[0]
        return None

    def reveal(self, path: str) -> int | None:
        """Expand the ancestors of ``path`` so that it shows; return its row (None if hidden)."""
        node = self.find_node(path)
        if node is None or node is self.root:
            return None
        ancestors = []
        parent = node.parent
        while parent is not None and parent is not self.root:
            ancestors.append(parent.path)
            parent = parent.parent
        changed = False
        for ancestor in ancestors:
            if self.is_collapsed_path(ancestor):
                self._set_collapsed(ancestor, False)
                changed = True
        if changed:
            self.rebuild()
        return self.index_of_path(path)

    # -- text ------------------------------------------------------------------------------
    def guides(self, index: int) -> str:
        """Return the tree guide prefix of row ``index`` (``"│   ├── "``, ``"└─⊕ "`` ...)."""
        depth, mask = self.depths[index], self.masks[index]
        parts = ["    " if mask >> k & 1 else "│   " for k in range(depth)]
        parts.append("└─" if mask >> depth & 1 else "├─")
        parts.append("⊕ " if self.is_collapsed(index) else "─ ")
        return "".join(parts)

    def marker(self, index: int) -> str:
        """Return the change marker of row ``index``."""
        return MARKERS[self.nodes[index].diff]

    def row_text(self, index: int, attrs: bool = True) -> str:
        """Return row ``index`` as plain text: marker, attributes, guides, name."""
        node = self.nodes[index]
        head = f"{MARKERS[node.diff]} " + (attributes(node) if attrs else "")
        return head + self.guides(index) + display_name(node)

    def max_width(self, attrs: bool = True) -> int:
        """Return an upper bound of the row width in cells (for the scroll range)."""
        return 2 + (ATTR_WIDTH if attrs else 0) + 4 * (self.max_depth + 1) + self.max_name + 64
