"""Provides :class:`TreeRows`: the flat list of visible rows behind the file tree pane (no Textual).

The model turns a marked :class:`~dive_py.domain.file_tree.FileTree` into parallel lists (node,
depth, guide mask) of the rows to show, honouring:

* collapse state, kept per *path* so it survives switching layers (a default for every
  directory plus the set of paths toggled away from it, so "collapse all" is O(1));
* hidden change types (a node is hidden when its change is hidden and nothing below it shows);
* a regular-expression path filter (searched in the absolute path; a node shows when it matches
  or something below it shows; a bad expression keeps the last good one);
* sort by name, or by size (largest first, then name);
* directory sizes as dive shows them under hidden types or a filter: the bytes of the rows
  the tree can show below it (see :meth:`TreeRows.shown_size`), found in the same pass.

Rows are computed on demand, never listed: row ``i`` is found by walking down from the root,
skipping whole subtrees by their row counts (a directory's visible rows below it: its node's
``count`` when nothing below it is filtered, hidden or folded away from the default; counted
once and remembered otherwise). So a new tree (another layer) costs nothing until rows are
drawn, and only the rows on screen are ever looked at. A regular-expression filter or hidden
change types need one pass over the tree to find what stays visible.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from operator import attrgetter
from typing import Any, TypeVar, cast, overload

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes as format_size
from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import FileNode, find_node

_BY_NAME = attrgetter("name")


def _size_key(node: FileNode) -> tuple[int, str]:
    return (-node.size, node.name)


class SortOrder(Enum):
    """How siblings are ordered."""

    NAME = "name"
    SIZE = "size"


def attributes(node: FileNode, size: int | None = None) -> str:
    """Return the attribute column of ``node``: permissions, ``uid:gid`` and size (fixed width).

    ``size`` (bytes) is the size to show instead of ``node.size``: a directory's shown bytes
    under hidden types or a filter (:meth:`TreeRows.shown_size`).
    """
    entry = node.shown_entry
    owner = f"{entry.uid}:{entry.gid}"
    shown = node.size if size is None else size
    return f"{entry.permission_string():<10} {owner:>11} {format_size(shown):>10} "


def display_name(node: FileNode) -> str:
    """Return the escaped name of ``node``, with `` → target`` for symbolic and hard links."""
    entry = node.shown_entry
    name = escape_text(node.name)
    if entry.type is EntryType.SYMLINK or entry.type is EntryType.HARDLINK:
        return f"{name} → {escape_text(entry.linkname)}"
    return name


def indent_guides(depth: int, mask: int, own: str, budget: int | None = None) -> str:
    """Return the guides of a row at ``depth`` (ancestor levels from ``mask``, see
    :class:`TreeRows`) followed by its own 4-cell connector ``own``.

    Ancestor levels are 4 cells (``"│   "`` or blank). When that is wider than the indent
    ``budget`` (cells; None: no limit), the outer levels keep 4 cells as far as the budget
    allows and the inner ones take 1 cell each (a 1-cell level still lines up under its
    directory's connector); when even 1 cell per level is too wide, the outer levels give way
    to a leading ``…`` and the innermost levels that fit are kept. The result is at most
    ``max(budget, 5)`` cells wide.
    """

    def level(k: int, width: int) -> str:
        return " " * width if mask >> k & 1 else "│".ljust(width)

    if budget is None or 4 * depth + 4 <= budget:
        return "".join(level(k, 4) for k in range(depth)) + own
    if depth + 4 <= budget:
        full = min((budget - 4) // 4, (budget - 4 - depth) // 3)
        return (
            "".join(level(k, 4) for k in range(full))
            + "".join(level(k, 1) for k in range(full, depth))
            + own
        )
    keep = max(0, budget - 5)
    return "…" + "".join(level(k, 1) for k in range(depth - keep, depth)) + own


_T = TypeVar("_T")


class _Column(Sequence[_T]):
    """One column of the rows (node, depth or mask), read on demand: ``model.nodes[i]``."""

    def __init__(self, model: TreeRows, which: int) -> None:
        self._model = model
        self._which = which

    def __len__(self) -> int:
        return len(self._model)

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self._model)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("row index out of range")
        return cast(_T, self._model._row(index)[self._which])

    def __iter__(self) -> Iterator[_T]:
        for index in range(len(self)):
            yield cast(_T, self._model._row(index)[self._which])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, _Column)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))


class TreeRows:
    """The visible rows of a file tree, computed on demand.

    Args:
        root: the tree's root node (never shown itself).
        collapse_all: start with every directory collapsed.
        hidden: change types to hide.
        pattern: the path filter (regular expression), ``""`` for none.
        sort: the sibling order.

    Attributes:
        nodes: the node of each visible row (a read-only sequence: ``nodes[i]``).
        depths: the depth of each row (0 for children of the root).
        masks: per row, bit ``k`` set when the row's ancestor at depth ``k`` (or the row itself,
            at its own depth) is the last of its siblings; drives the tree guides.
        generation: incremented whenever the rows change (for render caches).
        pattern_error: the message of the last bad filter expression, or ``""``.
    """

    def __init__(
        self,
        root: FileNode,
        *,
        collapse_all: bool = False,
        hidden: Iterable[DiffType] = (),
        pattern: str = "",
        sort: SortOrder = SortOrder.NAME,
    ) -> None:
        self.root = root
        self.default_collapsed = collapse_all
        self.toggled: set[str] = set()
        self.hidden: frozenset[DiffType] = frozenset(hidden)
        self.pattern_text = ""
        self._pattern: re.Pattern[str] | None = None
        self.pattern_error = ""
        self.sort = sort
        self.generation = 0
        self._opened: set[str] = set()
        self._reset_caches()
        if pattern:
            self._compile(pattern)
        self.rebuild()

    def _reset_caches(self) -> None:
        self._visible: set[int] | None = None
        self._sizes: dict[int, int] = {}
        self._kids: dict[int, list[FileNode]] = {}
        self._below: dict[int, int] = {}
        self._spans: dict[int, list[int]] = {}
        self._positions: dict[int, dict[str, int]] = {}
        self._rows: dict[int, tuple[FileNode, int, int, str, int | None]] = {}
        self._count = -1

    @property
    def nodes(self) -> Sequence[FileNode]:
        """The node of each visible row."""
        return _Column[FileNode](self, 0)

    @property
    def depths(self) -> Sequence[int]:
        """The depth of each visible row."""
        return _Column[int](self, 1)

    @property
    def masks(self) -> Sequence[int]:
        """The guide mask of each visible row."""
        return _Column[int](self, 2)

    # -- settings ---------------------------------------------------------------------------
    def copy_for(self, root: FileNode) -> TreeRows:
        """Return a new model over ``root`` with this model's settings and collapse state.

        Cheap (no row is computed) unless a filter or hidden change types are active: then the
        visible nodes of the new tree are found first (one pass over it).
        """
        other = TreeRows.__new__(TreeRows)
        other.root = root
        other.default_collapsed = self.default_collapsed
        other.toggled = set(self.toggled)
        other.hidden = self.hidden
        other.pattern_text = self.pattern_text
        other._pattern = self._pattern
        other.pattern_error = self.pattern_error
        other.sort = self.sort
        other.generation = self.generation + 1
        other._opened = set(self._opened)
        other._reset_caches()
        other.rebuild()
        return other

    @property
    def needs_visibility_pass(self) -> bool:
        """True when a new tree costs a pass over all of it (a filter or hidden types are set)."""
        return bool(self.hidden) or self._pattern is not None

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
        if self._count < 0:
            self._count = self._rows_below(self.root, "")
        return self._count

    def is_collapsed_path(self, path: str) -> bool:
        """True when the directory at ``path`` is collapsed (whether shown or not)."""
        return (path in self.toggled) != self.default_collapsed

    def _set_collapsed(self, path: str, collapsed: bool) -> None:
        if collapsed != self.default_collapsed:
            self.toggled.add(path)
        else:
            self.toggled.discard(path)
        opened: set[str] = set()
        for toggled in self.toggled:
            parent = toggled.rpartition("/")[0]
            while parent not in opened:
                opened.add(parent)
                if not parent:
                    break
                parent = parent.rpartition("/")[0]
        self._opened = opened

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
            elif self._sizes:
                shown = self.shown_size
                kids.sort(key=lambda kid: (-shown(kid), kid.name))
            else:
                kids.sort(key=_size_key)
        self._kids[id(node)] = kids
        return kids

    def _compute_visible(self) -> tuple[set[int] | None, dict[int, int]]:
        """Find the visible nodes and the shown bytes of directories (one pass, children first).

        Returns:
            The ids of the visible nodes (None when nothing is hidden or filtered), and the
            shown bytes of each directory whose shown bytes are not its ``size`` (by id).
        """
        hidden, pattern = self.hidden, self._pattern
        if not hidden and pattern is None:
            return None, {}
        visible: set[int] = set()
        sizes: dict[int, int] = {}
        search = pattern.search if pattern is not None else None
        # dive's rule (filetree/file_node.go GetSize on the tree with hidden nodes removed): a
        # directory's bytes are those of the rows shown below it, by the rule of ``size`` (a
        # removed child counts only in a removed directory; a file over a removed directory
        # shows its own bytes). Each finished node adds itself to its parent's tally:
        # [visible children, their counted bytes, something below differs, parent removed].
        # Stack items: (node, path, the parent's tally, the node's own tally once opened).
        stack: list[tuple[FileNode, str, list[Any] | None, list[Any] | None]] = [
            (self.root, "", None, None)
        ]
        while stack:
            node, path, up, tally = stack.pop()
            children = node.children
            if children and tally is None:
                # open: push the child directories, settle the leaves at once (most nodes)
                tally = [0, 0, False, node.entry is None]
                stack.append((node, path, up, tally))
                gone = tally[3]
                count = total = 0
                for child in children.values():
                    if child.children:
                        child_path = f"{path}/{child.name}" if search is not None else ""
                        stack.append((child, child_path, tally, None))
                    elif child.diff not in hidden and (
                        search is None or search(f"{path}/{child.name}") is not None
                    ):
                        visible.add(id(child))
                        count += 1
                        if gone or child.entry is not None:
                            total += child.size
                tally[0] += count
                tally[1] += total
                continue
            size = node.size
            differs = False
            shown = False
            if tally is not None:
                shown = tally[0] > 0
                if tally[2] or tally[0] != len(children or ()):
                    kind = node.entry or node.base_entry
                    if kind is None or kind.is_dir:
                        size = tally[1]
                        sizes[id(node)] = size
                        differs = True
            if not shown and node.diff not in hidden:
                shown = search is None or search(path or "/") is not None
            if up is None:
                continue
            if shown:
                visible.add(id(node))
                up[0] += 1
                if node.entry is not None or up[3]:
                    up[1] += size
                if differs:
                    up[2] = True
        return visible, sizes

    def shown_size(self, node: FileNode) -> int:
        """Return the bytes row ``node`` shows: ``node.size``, except for a directory with
        rows hidden below it (hidden change types, a filter), whose shown bytes are those of
        the rows the tree can show below it (dive's rule, with the rule of ``node.size``: a
        removed child counts only in a removed directory, a file over a removed directory
        shows its own bytes). The full size stays ``node.size``."""
        size = self._sizes.get(id(node))
        return node.size if size is None else size

    def rebuild(self) -> None:
        """Forget every computed row (after a change of tree or settings)."""
        self._reset_caches()
        self._visible, self._sizes = self._compute_visible()
        self.generation += 1

    def _expanded(self, node: FileNode, path: str) -> bool:
        """True when ``node`` (at ``path``) shows rows below it: an open dir with visible kids.

        Without a filter every child is visible, so the children are not listed (nor sorted).
        """
        if not node.children or (path in self.toggled) != self.default_collapsed:
            return False
        return self._visible is None or bool(self.children(node))

    def _quick_below(self, node: FileNode, path: str) -> int | None:
        """Rows below an open ``node`` without looking at its subtree, or None."""
        if self._visible is not None or path in self._opened:
            return None
        if self.default_collapsed:
            return len(node.children) if node.children else 0
        return node.count if node.count >= 0 else None

    def _rows_below(self, node: FileNode, path: str) -> int:
        """Return how many rows an open ``node`` (at ``path``) shows below itself."""
        memo = self._below
        known = memo.get(id(node))
        if known is not None:
            return known
        quick = self._quick_below(node, path)
        if quick is not None:
            memo[id(node)] = quick
            return quick
        # explicit count, children first (iterative: trees can nest thousands deep)
        stack: list[tuple[FileNode, str, bool]] = [(node, path, False)]
        while stack:
            current, current_path, ready = stack.pop()
            if id(current) in memo:
                continue
            if not ready:
                quick = self._quick_below(current, current_path)
                if quick is not None:
                    memo[id(current)] = quick
                    continue
                stack.append((current, current_path, True))
                for kid in self.children(current):
                    if kid.children and id(kid) not in memo:
                        kid_path = f"{current_path}/{kid.name}"
                        if self._expanded(kid, kid_path):
                            stack.append((kid, kid_path, False))
                continue
            total = 0
            for kid in self.children(current):
                total += 1
                if kid.children:
                    kid_path = f"{current_path}/{kid.name}"
                    if self._expanded(kid, kid_path):
                        total += memo[id(kid)]
            memo[id(current)] = total
        return memo[id(node)]

    def _spans_of(self, node: FileNode, path: str) -> list[int]:
        """Row offsets of ``node``'s visible children (one more entry: the total)."""
        spans = self._spans.get(id(node))
        if spans is not None:
            return spans
        spans = [0]
        total = 0
        for kid in self.children(node):
            total += 1
            if kid.children:
                kid_path = f"{path}/{kid.name}"
                if self._expanded(kid, kid_path):
                    total += self._rows_below(kid, kid_path)
            spans.append(total)
        self._spans[id(node)] = spans
        return spans

    def _row(self, index: int) -> tuple[FileNode, int, int, str, int | None]:
        """Return (node, depth, mask, path, parent row) of row ``index`` (0 <= index < len)."""
        row = self._rows.get(index)
        if row is not None:
            return row
        node, path, depth, mask, start, parent_row = self.root, "", 0, 0, 0, None
        rest = index
        while True:
            kids = self.children(node)
            spans = self._spans_of(node, path)
            j = bisect_right(spans, rest) - 1
            kid = kids[j]
            own = mask | (1 << depth) if j == len(kids) - 1 else mask
            kid_path = f"{path}/{kid.name}"
            offset = rest - spans[j]
            if offset == 0:
                row = (kid, depth, own, kid_path, parent_row)
                break
            parent_row = start + spans[j]
            start = parent_row + 1
            rest = offset - 1
            node, path, mask = kid, kid_path, own & ~(1 << (depth + 1))
            depth += 1
        if len(self._rows) > 4096:
            self._rows.clear()
        self._rows[index] = row
        return row

    def _forget_around(self, path: str) -> None:
        """Forget the counts of ``path``'s ancestors (a fold below them changed)."""
        node = self.root
        self._below.pop(id(node), None)
        self._spans.pop(id(node), None)
        parts = [part for part in path.split("/") if part]
        for part in parts:
            children = node.children
            if not children or part not in children:
                break
            node = children[part]
            self._below.pop(id(node), None)
            self._spans.pop(id(node), None)
        self._rows.clear()
        self._count = -1
        self.generation += 1

    # -- rows ------------------------------------------------------------------------------
    def path_of(self, index: int) -> str:
        """Return the absolute path of row ``index``."""
        return self._row(index)[3]

    def is_dir(self, index: int) -> bool:
        """True when row ``index`` is a directory."""
        return self._row(index)[0].children is not None

    def can_fold(self, index: int) -> bool:
        """True when row ``index`` is a directory with visible children."""
        node = self._row(index)[0]
        if self._visible is None:
            return bool(node.children)
        return bool(self.children(node))

    def is_collapsed(self, index: int) -> bool:
        """True when row ``index`` is a collapsed directory with visible children."""
        return self.can_fold(index) and self.is_collapsed_path(self.path_of(index))

    def subtree_end(self, index: int) -> int:
        """Return the index just past the rows below row ``index``."""
        node, _, _, path, _ = self._row(index)
        if node.children and self._expanded(node, path):
            return index + 1 + self._rows_below(node, path)
        return index + 1

    def toggle(self, index: int) -> bool:
        """Collapse or expand the directory at row ``index``; False when it is no foldable dir."""
        if not 0 <= index < len(self) or not self.can_fold(index):
            return False
        path = self.path_of(index)
        self._set_collapsed(path, not self.is_collapsed_path(path))
        self._forget_around(path)
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
        self._opened = set()
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
        return self._row(index)[4]

    def find_node(self, path: str) -> FileNode | None:
        """Return the node at absolute ``path`` in the tree (shown or not; empty components of
        ``path`` are skipped: ``"//usr//bin/"`` is ``/usr/bin``)."""
        return find_node(self.root, "/".join(part for part in path.split("/") if part))

    def index_of_path(self, path: str) -> int | None:
        """Return the row showing absolute ``path``, or None when it is not shown."""
        parts = [part for part in path.strip("/").split("/") if part]
        if not parts:
            return None
        node, node_path, start = self.root, "", 0
        last = len(parts) - 1
        for depth, name in enumerate(parts):
            positions = self._positions.get(id(node))
            if positions is None:
                positions = {kid.name: j for j, kid in enumerate(self.children(node))}
                self._positions[id(node)] = positions
            j = positions.get(name)
            if j is None:
                return None
            row = start + self._spans_of(node, node_path)[j]
            if depth == last:
                return row
            kid = self.children(node)[j]
            node_path = f"{node_path}/{name}"
            if not kid.children or not self._expanded(kid, node_path):
                return None
            node, start = kid, row + 1
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
        parts = [part for part in path.strip("/").split("/") if part]
        changed = False
        for end in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:end])
            if self.is_collapsed_path(ancestor):
                self._set_collapsed(ancestor, False)
                changed = True
        if changed:
            self.rebuild()
        return self.index_of_path(path)

    # -- text ------------------------------------------------------------------------------
    def guides(self, index: int, budget: int | None = None) -> str:
        """Return the tree guide prefix of row ``index`` (``"│   ├── "``, ``"└─⊕ "`` ...).

        ``budget`` (cells, None for no limit) is the indent budget: a deep row whose guides
        would be wider is drawn with narrower ancestor levels (2 cells, then 1 cell each), and
        when even that is too wide, its outer levels are elided as ``…`` (the row's own
        4-cell connector always shows), so that the name keeps the rest of the pane.
        """
        _, depth, mask, _, _ = self._row(index)
        own = ("└─" if mask >> depth & 1 else "├─") + ("⊕ " if self.is_collapsed(index) else "─ ")
        return indent_guides(depth, mask, own, budget)

    def continuation_guides(self, index: int, budget: int | None = None) -> str:
        """Return the prefix of a wrapped row's further lines: its ancestors' guides, then
        blank where the row's own connector was (as wide as :meth:`guides` with ``budget``)."""
        _, depth, mask, _, _ = self._row(index)
        return indent_guides(depth, mask, "    ", budget)

    def marker(self, index: int) -> str:
        """Return the change marker of row ``index``."""
        return self._row(index)[0].diff.marker

    def row_text(self, index: int, attrs: bool = True, budget: int | None = None) -> str:
        """Return row ``index`` as plain text: marker, attributes, guides (within the indent
        ``budget``, see :meth:`guides`), name."""
        node = self._row(index)[0]
        head = f"{node.diff.marker} " + (attributes(node, self.shown_size(node)) if attrs else "")
        return head + self.guides(index, budget) + display_name(node)
