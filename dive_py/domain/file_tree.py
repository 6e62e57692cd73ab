"""Provides :class:`FileNode` and :class:`FileTree`: a file system tree built by stacking layers.

How a layer is applied (Docker engine with overlay2, OCI image spec layer.md "Applying
Changesets" and "Whiteouts"):

1. whiteouts first, against the layers below: ``dir/.wh.name`` removes ``dir/name`` and all
   under it; ``dir/.wh..wh..opq`` removes everything ``dir`` held below. A whiteout of a path
   that does not exist is recorded in :attr:`FileTree.missing_whiteouts`, not an error.
2. then every entry, in tar order: missing parent directories are created (as real directories,
   keeping the lower layer's directory where there is one); a parent that a lower layer made a
   non-directory (a file or a *symlink*) is replaced by a directory — overlay2 unpacks each
   layer into its own empty directory, so a lower symlink is never followed; a non-directory
   replacing a directory removes the whole lower subtree; a directory over a directory keeps
   the children.

A tree can be built in two phases to compare two states (see :mod:`dive_py.domain.compare`):
layers applied as *base* set both a node's ``base_entry`` and ``entry``; layers applied on *top*
set ``entry`` only and mark what they touch, and a removal in the top phase keeps the node as a
ghost (``entry`` None) when the base had it, so that it can be shown as removed.

:class:`StackedStates` applies the same rules layer after layer but keeps the state after
every layer, as trees that share each subtree a layer did not change (copy on write): the
explorer compares two states without applying the layers again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path

_ROOT_ENTRY = FileEntry("", EntryType.DIR, 0, 0o755, 0, 0, "", 0, False)
_DIR = EntryType.DIR
_HARDLINK = EntryType.HARDLINK
_SIZE = attrgetter("size")
_COUNT = attrgetter("count")


class BuildCancelled(Exception):
    """A state or compared tree build was stopped by its ``stop`` callback (nothing was kept)."""


class FileNode:
    """A node of a :class:`FileTree`.

    Attributes:
        name: the last path component (``""`` for the root).
        parent: the parent node (None for the root).
        children: name -> child for directories (possibly empty), None for non-directories.
        entry: the entry at this path in the current state, or None when it was removed in the
            top phase (a ghost kept to show the removal).
        base_entry: the entry in the base state, or None when the path was not there.
        touched: True when a top-phase layer wrote an entry at exactly this path.
        diff: the :class:`DiffType` after :func:`~dive_py.domain.compare.mark_changes`.
        size: bytes (after marking): own bytes for files (also for a file that replaced a
            directory and keeps its removed children); for directories the sum of the visible
            descendants (removed ones only for a removed directory).
        count: the number of nodes below this one (ghosts included), or -1 when not computed
            (set by marking and by :class:`StackedStates`; the row model counts itself
            otherwise).

    A node reached through a shared subtree (:class:`StackedStates`, compared trees built from
    states) may have a ``parent`` from another tree: its name chain, hence :attr:`path`, is
    always right, but walk down from the root to find a node's ancestors in a given tree.
    """

    __slots__ = (
        "name",
        "parent",
        "children",
        "entry",
        "base_entry",
        "touched",
        "diff",
        "size",
        "count",
    )

    def __init__(
        self,
        name: str,
        parent: FileNode | None,
        entry: FileEntry | None,
        base_entry: FileEntry | None,
    ) -> None:
        self.name = name
        self.parent = parent
        self.entry = entry
        self.base_entry = base_entry
        kind = entry or base_entry
        self.children: dict[str, FileNode] | None = {} if kind is not None and kind.is_dir else None
        self.touched = False
        self.diff = DiffType.UNMODIFIED
        self.size = 0
        self.count = -1

    def __repr__(self) -> str:
        return f"FileNode({self.path!r}, {self.diff.name})"

    @property
    def path(self) -> str:
        """The absolute path (``"/usr/bin"``; ``"/"`` for the root)."""
        parts = []
        node: FileNode | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))

    @property
    def shown_entry(self) -> FileEntry:
        """The entry to display: the current one, or the base one for a removed node."""
        entry = self.entry or self.base_entry
        assert entry is not None
        return entry

    @property
    def is_dir(self) -> bool:
        """True when the node is a directory."""
        return self.children is not None

    def child(self, name: str) -> FileNode | None:
        """Return the child called ``name`` or None."""
        return self.children.get(name) if self.children else None

    def walk(self) -> Iterator[FileNode]:
        """Yield this node and all descendants, parents before children, children by name."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(node.children[name] for name in sorted(node.children, reverse=True))


class FileTree:
    """A file system tree with a root :class:`FileNode`, built by applying layers in order.

    Attributes:
        root: the root directory node.
        missing_whiteouts: ``(layer index, path)`` of whiteouts whose path did not exist below.
    """

    __slots__ = ("root", "missing_whiteouts", "_last_dir_path", "_last_dir")

    def __init__(self) -> None:
        self.root = FileNode("", None, _ROOT_ENTRY, _ROOT_ENTRY)
        self.missing_whiteouts: list[tuple[int, str]] = []
        self._last_dir_path = ""
        self._last_dir = self.root

    @classmethod
    def of_root(cls, root: FileNode, missing_whiteouts: Sequence[tuple[int, str]] = ()) -> FileTree:
        """Wrap an existing (marked) ``root`` as a tree, e.g. a compared tree built from states.

        Such a tree is for reading (``find``, ``lookup``, ``root.walk()``): do not :meth:`apply`
        layers to it, since it may share nodes with other trees.
        """
        tree = cls.__new__(cls)
        tree.root = root
        tree.missing_whiteouts = list(missing_whiteouts)
        tree._last_dir_path = ""
        tree._last_dir = root
        return tree

    # -- lookup ------------------------------------------------------------------------
    def find(self, path: str) -> FileNode | None:
        """Return the node at ``path`` (no leading ``/``; ``""`` is the root) present or ghost."""
        node = self.root
        if not path:
            return node
        for part in path.split("/"):
            children = node.children
            if not children:
                return None
            found = children.get(part)
            if found is None:
                return None
            node = found
        return node

    def lookup(self, path: str) -> FileEntry | None:
        """Return the current entry at ``path``, or None when the path is absent."""
        node = self.find(path)
        return node.entry if node is not None else None

    # -- mutation ------------------------------------------------------------------------
    def _remove(self, node: FileNode, base: bool) -> None:
        """Remove ``node`` and its subtree from the current state.

        Iterative (an explicit stack, parents before children): a layer may nest thousands
        of directories deep, far beyond Python's recursion limit.
        """
        stack = [node]
        while stack:
            node = stack.pop()
            parent = node.parent
            assert parent is not None and parent.children is not None
            if base or node.base_entry is None and not _has_base_descendant(node):
                del parent.children[node.name]
                if self._last_dir_path and (
                    self._last_dir is node or _is_below(self._last_dir, node)
                ):
                    self._last_dir_path, self._last_dir = "", self.root
                continue
            # Top phase: keep ghosts of what the base had, drop what only the top phase added.
            node.entry = None
            if node.children:
                for child in list(node.children.values()):
                    if child.entry is not None or child.children:
                        stack.append(child)
                    elif child.base_entry is None:
                        del node.children[child.name]
            if self._last_dir is node or _is_below(self._last_dir, node):
                self._last_dir_path, self._last_dir = "", self.root

    def _directory(self, path: str, base: bool) -> FileNode:
        """Return the directory node at ``path``, creating (or replacing) what is missing."""
        if path == self._last_dir_path:
            return self._last_dir
        node = self.root
        if path:
            end = -1
            for part in path.split("/"):
                end += len(part) + 1
                children = node.children
                assert children is not None
                found = children.get(part)
                if found is None or found.entry is None or found.entry.type is not _DIR:
                    # (a file that replaced a directory in the top phase keeps that directory's
                    # ghosts as children: it is still not a directory to put entries in)
                    # path[:end] is the path so far (FileNode.path walks up: quadratic when deep)
                    entry = FileEntry(path[:end], EntryType.DIR, 0, 0o755, 0, 0, "", 0, False)
                    if found is not None and found.entry is not None:
                        self._remove(found, base)  # a lower non-directory is replaced
                        found = children.get(part)
                    if found is not None:  # a ghost (top phase): revive it as a directory
                        found.entry = entry
                        if found.children is None:
                            found.children = {}
                    else:
                        found = FileNode(part, node, entry, entry if base else None)
                        children[part] = found
                node = found
        self._last_dir_path = path
        self._last_dir = node
        return node

    def apply(self, layer: LayerContents, index: int, base: bool) -> None:
        """Apply one layer on top of the current state.

        Args:
            layer: the layer's parsed contents.
            index: the layer's index (recorded with missing whiteouts).
            base: True to apply it as part of the base state, False as a top (compared) layer.
        """
        for whiteout in layer.whiteouts:
            target_path = deleted_path(whiteout.path)
            node = self.find(target_path)
            if node is None or node.entry is None:
                self.missing_whiteouts.append((index, target_path))
                continue
            self._remove(node, base)
        for dir_path in layer.opaque_dirs:
            node = self.find(dir_path)
            if node is None or node.entry is None or not node.children:
                continue
            for child in list(node.children.values()):
                if child.entry is not None:
                    self._remove(child, base)
        for path, entry in layer.entries.items():
            parent_path, _, name = path.rpartition("/")
            parent = self._directory(parent_path, base)
            children = parent.children
            assert children is not None
            node = children.get(name)
            if entry.type is EntryType.HARDLINK and entry.data is None:
                target = layer.entries.get(entry.linkname) or self.lookup(entry.linkname)
                entry.data = target.data if target is not None else None
            if node is None:
                node = FileNode(name, parent, entry, entry if base else None)
                children[name] = node
            else:
                old = node.entry
                if old is not None and old.is_dir and not entry.is_dir and node.children:
                    self._remove(node, base)
                    node = children.get(name)
                    if node is None:
                        node = FileNode(name, parent, entry, entry if base else None)
                        children[name] = node
                node.entry = entry
                if base:
                    node.base_entry = entry
                if entry.is_dir:
                    if node.children is None:
                        node.children = {}
                elif node.children is not None and not node.children:
                    node.children = None
            if not base:
                node.touched = True


def _has_base_descendant(node: FileNode) -> bool:
    stack = [node]
    while stack:
        children = stack.pop().children
        if children:
            for child in children.values():
                if child.base_entry is not None:
                    return True
                stack.append(child)
    return False


def _is_below(node: FileNode, ancestor: FileNode) -> bool:
    current = node.parent
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def hardlink_bytes(root: FileNode, entry: FileEntry, base_root: FileNode | None = None) -> int:
    """Bytes a hardlink ``entry`` carries in the tree under ``root``: its data's size, or 0 while
    the data's own name still holds the data (in ``root``, or in ``base_root`` when given: a
    removed hardlink whose data the base state held carries nothing either).

    Args:
        root: the (current) state's root.
        entry: a hardlink entry (its ``data`` resolved by stacking, or None when unknown).
        base_root: the base state's root, for a hardlink shown as removed.

    Returns:
        Bytes (0 when the data is unknown).
    """
    data = entry.data
    if data is None:
        return 0
    for tree_root in (root, base_root):
        if tree_root is None:
            continue
        holder = _find_node(tree_root, data.path)
        if holder is not None and holder.entry is data:
            return 0
    return data.size


def _find_node(root: FileNode, path: str) -> FileNode | None:
    node = root
    if not path:
        return node
    for part in path.split("/"):
        children = node.children
        if not children:
            return None
        found = children.get(part)
        if found is None:
            return None
        node = found
    return node


def _depth(node: FileNode) -> int:
    """Depth of a state node from its entry's path (the root: 0; ``"usr"``: 1)."""
    path = node.entry.path if node.entry is not None else ""
    return path.count("/") + 1 if path else 0


def _state_copy(node: FileNode, parent: FileNode) -> FileNode:
    """A shallow copy of a state node (own children dict) under ``parent``."""
    copy = FileNode.__new__(FileNode)
    copy.name = node.name
    copy.parent = parent
    children = node.children
    copy.children = dict(children) if children is not None else None
    copy.entry = copy.base_entry = node.entry
    copy.touched = False
    copy.diff = DiffType.UNMODIFIED
    copy.size = node.size
    copy.count = node.count
    return copy


class StackedStates:
    """The file system after each layer, as trees that share every subtree a layer left alone.

    ``state(k)`` is the root of layers ``0..k`` stacked with :meth:`FileTree.apply`'s rules (as
    a base: no ghosts). Building ``state(k)`` from ``state(k-1)`` copies only the nodes on the
    paths layer ``k`` touches (copy on write), so it costs about the layer's size, not the
    image's, and a subtree that no layer in ``k..j`` touched is the very same object in
    ``state(k)`` and ``state(j)`` — which is what makes comparing two states cheap (see
    :func:`dive_py.domain.compare.compare_states`). Nodes of a finished state are never
    changed again. Every node carries ``size`` (bytes, as :func:`~dive_py.domain.compare.mark_changes`
    counts them) and ``count`` (nodes below it).

    Not thread-safe: the caller serialises :meth:`state` (see :class:`~dive_py.domain.analysis.Analysis`).

    Args:
        layers: every layer's contents, bottom to top (hardlink entries get their ``data``
            while stacking, as :meth:`FileTree.apply` does).
    """

    __slots__ = ("_layers", "_roots", "_missing", "_hardlinks")

    def __init__(self, layers: Sequence[LayerContents]) -> None:
        self._layers = list(layers)
        self._roots: list[FileNode] = []
        self._missing: list[list[tuple[int, str]]] = []
        self._hardlinks: dict[str, None] = {}  # paths that held a hardlink entry (ordered set)

    def __len__(self) -> int:
        return len(self._layers)

    @property
    def layers(self) -> Sequence[LayerContents]:
        """The layers' contents, bottom to top."""
        return self._layers

    @property
    def built(self) -> int:
        """How many states are built (states ``0..built-1``)."""
        return len(self._roots)

    def state(self, index: int, stop: Callable[[], bool] | None = None) -> FileNode:
        """Return the root of the state after layer ``index``, building the missing states first.

        Args:
            index: the layer.
            stop: called every few hundred entries while a state is built; when it returns
                True the build stops (the states built so far are kept).

        Raises:
            IndexError: ``index`` is not a layer index (``0 <= index < len(self)``).
            BuildCancelled: ``stop`` returned True.
        """
        if not 0 <= index < len(self._layers):
            raise IndexError(f"no layer {index} (the image has {len(self._layers)})")
        while len(self._roots) <= index:
            self._build_next(stop)
        return self._roots[index]

    def missing_whiteouts(self, index: int) -> list[tuple[int, str]]:
        """Return ``(layer, path)`` of the whiteouts in layers ``0..index`` that deleted nothing.

        Raises:
            IndexError: as :meth:`state`.
        """
        self.state(index)
        return [item for layer in self._missing[: index + 1] for item in layer]

    def _build_next(self, stop: Callable[[], bool] | None) -> None:
        index = len(self._roots)
        previous = self._roots[-1] if self._roots else None
        missing: list[tuple[int, str]] = []
        # (a stopped build leaves no trace: it only changed nodes it made itself)
        root = _stack_layer(previous, self._layers[index], index, missing, self._hardlinks, stop)
        self._roots.append(root)
        self._missing.append(missing)


def _stack_layer(
    previous: FileNode | None,
    layer: LayerContents,
    index: int,
    missing: list[tuple[int, str]],
    hardlinks: dict[str, None],
    stop: Callable[[], bool] | None = None,
) -> FileNode:
    """Return the root of ``previous`` with ``layer`` applied (copy on write; see StackedStates)."""
    if previous is None:
        root = FileNode("", None, _ROOT_ENTRY, _ROOT_ENTRY)
    else:
        root = FileNode.__new__(FileNode)
        root.name, root.parent = "", None
        root.children = dict(previous.children or {})
        root.entry = root.base_entry = previous.entry
        root.touched, root.diff = False, DiffType.UNMODIFIED
        root.size, root.count = previous.size, previous.count
    owned: dict[int, FileNode] = {id(root): root}  # this state's own nodes (kept alive here)
    is_owned = owned.__contains__

    def own_path(path: str) -> FileNode | None:
        """The node at ``path``, made this state's own (with its ancestors); None if absent."""
        node = root
        if path:
            for part in path.split("/"):
                children = node.children
                if not children:
                    return None
                child = children.get(part)
                if child is None:
                    return None
                if not is_owned(id(child)):
                    child = _state_copy(child, node)
                    children[part] = child
                    owned[id(child)] = child
                node = child
        return node

    # 1. whiteouts, against the layers below
    for whiteout in layer.whiteouts:
        target = deleted_path(whiteout.path)
        if _find_node(root, target) is None:
            missing.append((index, target))
            continue
        parent_path, _, name = target.rpartition("/")
        parent = own_path(parent_path)
        assert parent is not None and parent.children is not None
        del parent.children[name]
    # 2. opaque directories
    for dir_path in layer.opaque_dirs:
        node = _find_node(root, dir_path)
        if node is None or not node.children:
            continue
        node = own_path(dir_path)
        assert node is not None
        node.children = {}
    # 3. entries, in tar order; this state's directories by path (valid until a directory goes)
    directories: dict[str, FileNode] = {"": root}
    entries = layer.entries
    done = 0
    for path, entry in entries.items():
        done += 1
        if stop is not None and not done % 256 and stop():
            raise BuildCancelled
        parent_path, _, name = path.rpartition("/")
        parent = directories.get(parent_path)  # type: ignore[assignment]
        if parent is None:
            parent = root
            if parent_path:
                end = -1
                for part in parent_path.split("/"):
                    end += len(part) + 1
                    children = parent.children
                    found = children.get(part)  # type: ignore[union-attr]
                    if found is None or found.children is None:
                        # missing, or a lower non-directory (a symlink too): a real directory
                        synthetic = FileEntry(parent_path[:end], _DIR, 0, 0o755, 0, 0, "", 0, False)
                        found = FileNode(part, parent, synthetic, synthetic)
                        children[part] = found  # type: ignore[index]
                        owned[id(found)] = found
                    elif not is_owned(id(found)):
                        found = _state_copy(found, parent)
                        children[part] = found  # type: ignore[index]
                        owned[id(found)] = found
                    parent = found
            directories[parent_path] = parent
        children = parent.children
        assert children is not None
        kind = entry.type
        if kind is _HARDLINK:
            hardlinks[path] = None
            if entry.data is None:
                target = entries.get(entry.linkname)
                if target is None:
                    holder = _find_node(root, entry.linkname)
                    target = holder.entry if holder is not None else None
                entry.data = target.data if target is not None else None
        node = children.get(name)
        if node is not None and node.children and kind is not _DIR:
            del children[name]  # a non-directory replaces a directory and all below it
            directories = {"": root}
            node = None
        if node is None:
            node = FileNode(name, parent, entry, entry)
            children[name] = node
            owned[id(node)] = node
            continue
        if not is_owned(id(node)):
            node = _state_copy(node, parent)
            children[name] = node
            owned[id(node)] = node
        node.entry = node.base_entry = entry
        if kind is _DIR:
            if node.children is None:
                node.children = {}
        elif node.children is not None:  # (an empty directory: nothing was put in it yet)
            node.children = None
            directories.pop(path, None)
    # 4. hardlinks whose data changed hands carry other bytes now
    if hardlinks:
        for path in hardlinks:
            node = _find_node(root, path)
            if (
                node is None
                or node.entry is None
                or node.entry.type is not _HARDLINK
                or is_owned(id(node))
            ):
                continue
            size = hardlink_bytes(root, node.entry)
            if size != node.size:
                node = own_path(path)
                assert node is not None
                node.size = size
    # 5. sizes and counts of this state's own nodes, deepest first (shared ones keep theirs)
    own_dirs: list[FileNode] = []
    for done, node in enumerate(owned.values()):
        if stop is not None and not done % 256 and stop():
            raise BuildCancelled
        if node.children:
            own_dirs.append(node)
        else:  # a leaf (or empty directory) this layer wrote, or emptied
            entry = node.entry
            assert entry is not None
            node.size = hardlink_bytes(root, entry) if entry.type is _HARDLINK else entry.size
            node.count = 0
    own_dirs.sort(key=_depth, reverse=True)
    for done, node in enumerate(own_dirs):
        if stop is not None and not done % 256 and stop():
            raise BuildCancelled
        children = node.children
        assert children
        node.size = sum(map(_SIZE, children.values()))
        node.count = sum(map(_COUNT, children.values())) + len(children)
    return root
