"""Provides :func:`measure_efficiency`: dive-compatible efficiency, wasted bytes, and reclaimable bytes.

dive 0.13.1's rule (dive/filetree/efficiency.go), kept so that CI thresholds carry over:

* walk each layer's *own* tree; every leaf (a node with no children in that layer: files,
  links, whiteouts, directories with nothing beneath them in that layer) is one *occurrence*
  of its path (a whiteout ``.wh.x`` is an occurrence of ``x``);
* an occurrence's bytes: the entry's size; for a whiteout of a directory, the bytes of that
  directory's subtree in the stack of the layers below; for a whiteout of anything else
  (including a directory no layer spelled out, which dive holds as a typeless node), 0;
* a path with two or more occurrences is *inefficient*; ``wastedBytes`` sums all of its
  occurrences (the first copy included);
* ``efficiency`` = Σ smallest occurrence / Σ all occurrences over all paths (1.0 when nothing);
* ``userWastedPercent`` = wastedBytes / bytes of layers 1..n.

Fixed dive bugs: a whiteout of a path that does not exist below deleted nothing and is no
occurrence (dive aborts the rest of the layer's walk and adds -1 to the minimum sum); opaque
markers are no occurrence either.

divepy adds ``reclaimableBytes``: bytes stored in the layers that are not visible in the final
file system (shadowed or deleted), following data through hardlinks.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import (
    FileNode,
    FileTree,
    StackedStates,
    find_node,
    stack_layer,
    synthetic_directory,
)
from dive_py.domain.go_sort import go_sort
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path


@dataclass(frozen=True, slots=True, init=False)
class InefficientPath:
    """A path that occurs as a leaf in two or more layers.

    ``InefficientPath(path, count, wasted_bytes)`` takes the absolute path. It keeps the path
    as the layers spell it (``layer_path``: the entries' own string, not a copy; a third of a
    synthetic image's paths are inefficient, and a new ``"/" + path`` for each was about 26
    bytes per entry, issue 11) and makes ``path`` when read.

    Attributes:
        layer_path: the path without its leading ``/`` (``"app/big"``).
        count: number of occurrences (layers holding it as a leaf).
        wasted_bytes: sum of the bytes of all occurrences (dive's "Total Space").

    Raises:
        ValueError: ``path`` does not start with ``/``.
    """

    layer_path: str
    count: int
    wasted_bytes: int

    def __init__(self, path: str, count: int, wasted_bytes: int) -> None:
        if not path.startswith("/"):
            raise ValueError(f"InefficientPath needs an absolute path, not {path!r}")
        object.__setattr__(self, "layer_path", path[1:])
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "wasted_bytes", wasted_bytes)

    @classmethod
    def of_layer_path(cls, layer_path: str, count: int, wasted_bytes: int) -> InefficientPath:
        """The :class:`InefficientPath` of ``layer_path`` (no leading ``/``), kept as is."""
        item = object.__new__(cls)
        object.__setattr__(item, "layer_path", layer_path)
        object.__setattr__(item, "count", count)
        object.__setattr__(item, "wasted_bytes", wasted_bytes)
        return item

    @property
    def path(self) -> str:
        """The absolute path (``"/app/big"``), a new string each time."""
        return "/" + self.layer_path


class InefficientPaths(Sequence[InefficientPath]):
    """The inefficient paths of an image, in a fixed order, held compactly.

    A million-entry image can have hundreds of thousands: an :class:`InefficientPath` and its
    byte count's int took about 100 bytes each; here a path is its layer string (shared with
    the entries) in a list and two 8-byte array items, 24 bytes (issue 11). Items are made
    when read (``paths[i]``, iteration); a slice is a ``list``. Equal to any sequence of the
    same items (``paths == []``).
    """

    __slots__ = ("_counts", "_layer_paths", "_wasted")

    def __init__(self, items: Iterable[InefficientPath] = ()) -> None:
        self._layer_paths: list[str] = []
        self._counts = array("q")
        self._wasted = array("q")
        for item in items:
            self._layer_paths.append(item.layer_path)
            self._counts.append(item.count)
            self._wasted.append(item.wasted_bytes)

    def __len__(self) -> int:
        return len(self._layer_paths)

    @overload
    def __getitem__(self, index: int) -> InefficientPath: ...

    @overload
    def __getitem__(self, index: slice) -> list[InefficientPath]: ...

    def __getitem__(self, index: int | slice) -> InefficientPath | list[InefficientPath]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return InefficientPath.of_layer_path(
            self._layer_paths[index], self._counts[index], self._wasted[index]
        )

    def __iter__(self) -> Iterator[InefficientPath]:
        of = InefficientPath.of_layer_path
        return map(of, self._layer_paths, self._counts, self._wasted)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"InefficientPaths({list(self)!r})"

    def max_count(self) -> int:
        """The largest occurrence count (0 when empty), without making the items."""
        return max(self._counts, default=0)

    def max_path_length(self) -> int:
        """The length of the longest absolute path (0 when empty), without making the items."""
        return max(map(len, self._layer_paths), default=-1) + 1


@dataclass(slots=True)
class Efficiency:
    """The image-wide figures.

    Attributes:
        score: dive's efficiency, in [0, 1].
        size_bytes: bytes of all layers.
        user_size_bytes: bytes of layers 1..n (layer 0 is the base).
        wasted_bytes: dive's wastedBytes (all occurrences of inefficient paths).
        user_wasted_percent: wasted_bytes / user_size_bytes as a ratio, or None for an image
            without user bytes (a single layer).
        reclaimable_bytes: bytes stored but not visible in the final file system.
        visible_bytes: bytes of the data visible in the final file system.
        inefficient: the inefficient paths, most wasted bytes first; ties in dive's order (Go's
            sort.Sort over the order the paths reached two copies: see :func:`_dive_visit_key`);
            an :class:`InefficientPaths` from :func:`measure_efficiency`.
        missing_whiteouts: ``(layer index, path)`` of whiteouts of paths that did not exist.
    """

    score: float
    size_bytes: int
    user_size_bytes: int
    wasted_bytes: int
    user_wasted_percent: float | None
    reclaimable_bytes: int
    visible_bytes: int
    inefficient: Sequence[InefficientPath]
    missing_whiteouts: list[tuple[int, str]] = field(default_factory=list)


def _subtree_bytes(node: FileNode) -> int:
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if current.entry is not None:
            total += current.entry.size
        if current.children:
            stack.extend(current.children.values())
    return total


def _layer_parents(layer: LayerContents) -> set[str]:
    """Every proper ancestor path (``""`` = root) of the layer's entries and whiteouts."""
    parents: set[str] = set()
    add = parents.add
    for path in (*layer.entries, *(w.path for w in layer.whiteouts)):
        while path:
            path = path.rpartition("/")[0]
            if path in parents:
                break
            add(path)
    return parents


def _opaque_directories(layer: LayerContents, parents: set[str]) -> set[str]:
    """Every opaque directory of the layer and its ancestors (``""`` excluded) that
    ``parents`` lacks: directories the engine makes for an opaque marker (see
    :mod:`dive_py.domain.file_tree`), though the marker is no occurrence."""
    made: set[str] = set()
    for path in layer.opaque_dirs:
        while path and path not in parents and path not in made:
            made.add(path)
            path = path.rpartition("/")[0]
    return made


def _lookup_all(root: FileNode, paths: set[str]) -> dict[str, FileEntry | None]:
    """The entry at every path in ``paths`` (None when absent) in the state under ``root``;
    ``paths`` holds every ancestor of its paths.

    Each node is found from its parent's (shallowest first), so the cost is linear in the
    number of paths; one :func:`find_node` per path walks down from the root each time, which
    is quadratic for a layer that nests thousands of directories deep.
    """
    nodes: dict[str, FileNode | None] = {"": root}
    for path in sorted(paths, key=lambda p: p.count("/")):
        if path:
            parent, _, name = path.rpartition("/")
            node = nodes.get(parent)
            nodes[path] = node.children.get(name) if node is not None and node.children else None
    return {path: node.entry if node is not None else None for path, node in nodes.items()}


def _visible_bytes(root: FileNode) -> int:
    seen: set[int] = set()
    total = 0
    stack = [root]  # order does not matter here: no sorting, unlike FileNode.walk
    while stack:
        node = stack.pop()
        if node.children:
            stack.extend(node.children.values())
        entry = node.entry
        if entry is None or (
            entry.type is not EntryType.FILE and entry.type is not EntryType.HARDLINK
        ):
            continue
        data = entry if entry.type is EntryType.FILE else entry.data
        if data is None or id(data) in seen:
            continue
        seen.add(id(data))
        total += data.size
    return total


def _release(root: FileNode) -> None:
    """Drop the parent links of the tree under ``root``, so that reference counting frees it
    as soon as it is no longer used.

    Parent and child point at each other, so a dropped tree waits for the cyclic collector;
    the CLI pauses the collector while it analyses and then freezes what is left
    (``gc.freeze``), which would keep the tree for the rest of the process.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        node.parent = None
        if node.children:
            stack.extend(node.children.values())


def _dive_visit_key(item: tuple[str, str]) -> list[bytes]:
    """Where dive meets a layer's leaf: a depth-first walk with children in byte order.

    dive (filetree/efficiency.go) visits each layer's own tree child-first with the children
    of a directory sorted by name as Go sorts strings (bytes), and lists a path the moment it
    is met a second time; a whiteout is met under its own name (``.wh.NAME``). Leaves are never
    prefixes of each other, so comparing the names component by component, as bytes, orders
    them as that walk does.
    """
    return item[0].encode("utf-8", "surrogateescape").split(b"/")


def _fewer_bytes(a: InefficientPath, b: InefficientPath) -> bool:
    return a.wasted_bytes < b.wasted_bytes


def measure_efficiency(
    layers: Sequence[LayerContents], states: StackedStates | None = None
) -> Efficiency:
    """Compute the image-wide figures in one pass over all layers' entries.

    The pass stacks every layer (:func:`~dive_py.domain.file_tree.stack_layer`) to know what
    each whiteout deletes. Without ``states`` it stacks in place and keeps only the latest
    state; with ``states`` it stacks them copy on write into ``states``, which then holds every
    layer's state (what the explorer compares: a layer switch needs no stacking then). The
    figures are the same either way; keeping the states costs about a fifth more CPU for the
    pass and holds every state's nodes (bench/README.md, "Explorer latency and memory").

    Args:
        layers: every layer's contents, bottom to top. Each layer's ``implicit_dirs`` is filled
            in as a side effect, and hardlink entries get their ``data``.
        states: an unbuilt :class:`~dive_py.domain.file_tree.StackedStates` over ``layers``
            (the same contents, in the same order) to fill, or None.

    Returns:
        The :class:`Efficiency`.

    Raises:
        ValueError: ``states`` has states built already, or is over other layers.
    """
    if states is not None and (
        states.built
        or len(states) != len(layers)
        or any(a is not b for a, b in zip(states.layers, layers, strict=True))
    ):
        raise ValueError("measure_efficiency needs an unbuilt StackedStates over the same layers")
    # path (as in the layer, no leading "/": the entries' own strings, no copies) -> the bytes
    # of its first occurrence (an int the entry holds already); a path that occurs again gets
    # a row in ``multi`` and three arrays: occurrences, cumulative bytes, smallest bytes (a
    # list per such path, with a new int for its sum, was ~120 bytes per inefficient path at
    # the analysis' peak, issue 11)
    counts: dict[str, int] = {}
    multi: dict[str, int] = {}
    occurrences = array("q")
    cumulative = array("q")
    smallest = array("q")
    order: list[str] = []
    reached: list[tuple[str, str]] = []  # this layer's: (visited name, path)
    # the root of the layers stacked so far (stack_layer, as the explorer stacks them: in
    # place when only the latest state is needed, else into ``states``)
    state = FileTree().root
    missing: list[tuple[int, str]] = []
    hardlinks: dict[str, None] = {}

    def occur(path: str, size: int, visited: str) -> None:
        row = multi.get(path)
        if row is not None:
            occurrences[row] += 1
            cumulative[row] += size
            if size < smallest[row]:
                smallest[row] = size
            return
        first = counts.get(path)
        if first is None:
            counts[path] = size
            return
        multi[path] = len(occurrences)
        occurrences.append(2)
        cumulative.append(first + size)
        smallest.append(min(first, size))
        reached.append((visited, path))

    for index, layer in enumerate(layers):
        parents = _layer_parents(layer)
        # (a directory an opaque marker makes is listed, but is no occurrence: dive's own
        # occurrences are kept; see the module docstring)
        made = _opaque_directories(layer, parents) if layer.opaque_dirs else set()
        implicit: dict[str, FileEntry] = {}
        lower_entries = _lookup_all(state, parents | made if made else parents)
        for path in (*parents, *made) if made else parents:
            if path and path not in layer.entries:
                lower = lower_entries[path]
                implicit[path] = synthetic_directory(
                    path, lower if lower is not None and lower.is_dir else None
                )
        layer.implicit_dirs = implicit
        for path, entry in layer.entries.items():
            if path not in parents:
                occur(path, entry.size, path)
        for whiteout in layer.whiteouts:
            if whiteout.path in parents:
                continue
            target = deleted_path(whiteout.path)
            node = find_node(state, target)
            if node is None or node.entry is None:
                continue  # deleted nothing: no occurrence (recorded by the stacking below)
            if not node.entry.is_dir or not node.entry.explicit:
                occur(target, 0, whiteout.path)
            else:
                occur(target, _subtree_bytes(node), whiteout.path)
        if reached:
            reached.sort(key=_dive_visit_key)
            order.extend(path for _visited, path in reached)
            reached.clear()
        if states is not None:
            state = states.state(index)
        else:
            state = stack_layer(state, layer, index, missing, hardlinks, in_place=True)

    discovered = sum(cumulative)
    minimum = sum(smallest)
    for path, first in counts.items():
        if path not in multi:
            discovered += first
            minimum += first
    # dive's order, ties included: Go's sort.Sort ascending by bytes, then reversed
    inefficient: list[InefficientPath] = []
    for path in order:
        row = multi[path]  # (a path in order occurred twice or more)
        inefficient.append(InefficientPath.of_layer_path(path, occurrences[row], cumulative[row]))
    go_sort(inefficient, _fewer_bytes)
    inefficient.reverse()
    wasted = sum(item.wasted_bytes for item in inefficient)
    compact = InefficientPaths(inefficient)
    inefficient.clear()
    size = sum(layer.size_bytes for layer in layers)
    user_size = sum(layer.size_bytes for layer in layers[1:])
    visible = _visible_bytes(state)
    if states is not None:
        missing = states.missing_whiteouts(len(layers) - 1) if layers else []
    else:
        _release(state)
    return Efficiency(
        score=minimum / discovered if discovered else 1.0,
        size_bytes=size,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_percent=wasted / user_size if user_size else None,
        reclaimable_bytes=size - visible,
        visible_bytes=visible,
        inefficient=compact,
        missing_whiteouts=missing,
    )
