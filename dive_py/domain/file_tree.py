"""Provides :class:`FileNode`, :class:`FileTree` and :func:`stack_layer`: the file system an image's layers stack up to.

How a layer is applied (Docker engine with overlay2, OCI image spec layer.md "Applying
Changesets" and "Whiteouts"), the steps of :func:`stack_layer`:

1. *apply whiteouts*, against the layers below: ``dir/.wh.name`` removes ``dir/name`` and all
   under it, never through a symlink. A whiteout of a path that does not exist is recorded as
   missing, not an error, unless a lower layer made one of its parents a symlink (the usr-merge
   idiom ``lib -> usr/lib`` with ``lib/.wh.x``: what happens there is step 3's replacement).
2. *apply opaque directories*: ``dir/.wh..wh..opq`` removes everything ``dir`` held below
   (nothing when ``dir`` or a parent is a symlink below: a symlink is never followed).
3. *make the markers' directories*: the parent directory of every whiteout and every opaque
   directory becomes a real directory, as for any entry (next step).
4. *place every entry*, in tar order: missing parent directories are created (as real
   directories, keeping the lower layer's directory where there is one); a parent that a
   lower layer made a non-directory (a file or a *symlink*) is replaced by a directory
   (*replace a symlinked parent*); a non-directory replacing a directory removes the whole
   lower subtree; a directory over a directory keeps the children.

Why steps 1-4 (checked on Docker 20.10 with overlay2, ``docker export`` of a created
container; ``tests/engine/test_tar_semantics.py`` checks every engine): the engine unpacks each
layer into its own empty directory, creating the parent directories of every member, whiteouts
and opaque markers included (a whiteout becomes a 0/0 character device there, an opaque marker
an xattr on its directory), and overlayfs then shows that directory over the lower ones: an
upper directory over a lower symlink or file hides it (the symlink is never followed), so
``lib/.wh.libold.so`` or ``lib/.wh..wh..opq`` over ``lib -> usr/lib`` leaves ``lib`` an empty
directory and ``usr/lib`` whole, and ``b/c/.wh..wh..opq`` over ``b -> a`` makes ``b`` and ``b/c``
empty directories; ``q/y/.wh.z`` where no ``q`` exists makes ``q`` and ``q/y``.

:func:`stack_layer` is the one implementation of these rules in the product.
:class:`StackedStates` applies it layer after layer and keeps the state after every layer, as
trees that share each subtree a layer did not change (copy on write): the explorer compares two
states without applying the layers again. The efficiency pass
(:func:`~dive_py.domain.efficiency.measure_efficiency`) applies it keeping only the latest state
(in place), or fills the explorer's :class:`StackedStates` as it goes.

The tests hold an independent reference (``tests/stacking_oracle.py``: a tree changed in place,
with removed paths kept as ghosts) and check both against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path

_DIR = EntryType.DIR
_HARDLINK = EntryType.HARDLINK
_UNMODIFIED = DiffType.UNMODIFIED
_SIZE = attrgetter("size")
_COUNT = attrgetter("count")
_CHECK_EVERY = 256
"""Entries or nodes between two calls of a build's ``stop`` callback."""
_new_object = object.__new__


def synthetic_directory(path: str, like: FileEntry | None = None) -> FileEntry:
    """Return a directory entry that no layer spelled out (``explicit`` False, 0 bytes).

    Such a directory stands for the root, for a parent a layer's entries need but its tar
    lacks, or for a real directory that replaces a lower symlink (or other non-directory).

    Args:
        path: the directory's path (no leading ``/``; ``""`` for the root).
        like: the lower layer's directory at ``path``, whose mode and owner it keeps (as
            overlay2 shows a directory an upper layer did not write); None for mode ``0o755``
            owned by root.
    """
    if like is None:
        return FileEntry(path, _DIR, 0, 0o755, 0, 0, "", 0, False)
    return FileEntry(path, _DIR, 0, like.mode, like.uid, like.gid, "", 0, False)


_ROOT_ENTRY = synthetic_directory("")


class BuildCancelled(Exception):
    """A state or compared tree build was stopped by its ``stop`` callback (nothing was kept)."""


class FileNode:
    """A node of a stacked state or of a compared tree.

    Attributes:
        name: the last path component (``""`` for the root).
        parent: the parent node (None for the root).
        children: name -> child for directories (possibly empty), None for non-directories.
        entry: the entry at this path in the current state, or None in a compared tree when
            the path was removed (a ghost kept to show the removal).
        base_entry: the entry in the base state, or None when the path was not there (a state
            node has ``base_entry is entry``).
        diff: the :class:`DiffType` in a compared tree (UNMODIFIED in a state).
        size: bytes: own bytes for files (a hardlink's data bytes when the data's own name is
            gone); for directories the sum of the visible descendants (removed ones only for a
            removed directory).
        count: the number of nodes below this one (ghosts included), or -1 when not computed
            (set in states and compared trees; the row model counts itself otherwise).

    A node reached through a shared subtree (:class:`StackedStates`, compared trees built from
    states) may have a ``parent`` from another tree: its name chain, hence :attr:`path`, is
    always right, but walk down from the root to find a node's ancestors in a given tree.
    """

    __slots__ = ("name", "parent", "children", "entry", "base_entry", "diff", "size", "count")

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
        self.diff = _UNMODIFIED
        self.size = 0
        self.count = -1

    @staticmethod
    def of(
        name: str,
        parent: FileNode | None,
        children: dict[str, FileNode] | None,
        entry: FileEntry | None,
        base_entry: FileEntry | None,
        diff: DiffType,
        size: int,
        count: int,
    ) -> FileNode:
        """Return a node with every field given (copies of state nodes, compared-tree nodes).

        ``children`` is used as it is (not copied); ``size`` is bytes; ``count`` the nodes
        below (see the class attributes).
        """
        node: FileNode = _new_object(FileNode)
        node.name = name
        node.parent = parent
        node.children = children
        node.entry = entry
        node.base_entry = base_entry
        node.diff = diff
        node.size = size
        node.count = count
        return node

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


def find_node(root: FileNode, path: str) -> FileNode | None:
    """Return the node at ``path`` below ``root``, or None when the path is absent.

    Args:
        root: the root of a state or compared tree (a ghost counts as present).
        path: ``"usr/bin"`` (no leading ``/``; ``""`` is the root itself).
    """
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


class FileTree:
    """A read-only view of a stacked state or compared tree: its root and missing whiteouts.

    Attributes:
        root: the root directory node (an empty root directory by default).
        missing_whiteouts: ``(layer index, path)`` of whiteouts whose path did not exist below.

    The tree may share nodes with other trees (see :class:`StackedStates`): do not change it.
    """

    __slots__ = ("root", "missing_whiteouts")

    def __init__(
        self, root: FileNode | None = None, missing_whiteouts: Sequence[tuple[int, str]] = ()
    ) -> None:
        self.root = root if root is not None else FileNode("", None, _ROOT_ENTRY, _ROOT_ENTRY)
        self.missing_whiteouts: list[tuple[int, str]] = list(missing_whiteouts)

    @classmethod
    def of_root(cls, root: FileNode, missing_whiteouts: Sequence[tuple[int, str]] = ()) -> FileTree:
        """Wrap an existing root (a state, or a compared tree built from states) as a tree."""
        return cls(root, missing_whiteouts)

    def find(self, path: str) -> FileNode | None:
        """Return the node at ``path`` (no leading ``/``; ``""`` is the root) present or ghost."""
        return find_node(self.root, path)

    def lookup(self, path: str) -> FileEntry | None:
        """Return the current entry at ``path``, or None when the path is absent."""
        node = find_node(self.root, path)
        return node.entry if node is not None else None


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
        holder = find_node(tree_root, data.path)
        if holder is not None and holder.entry is data:
            return 0
    return data.size


def _depth(node: FileNode) -> int:
    """Depth of a state node from its entry's path (the root: 0; ``"usr"``: 1)."""
    path = node.entry.path if node.entry is not None else ""
    return path.count("/") + 1 if path else 0


def _under_symlink(root: FileNode, path: str) -> bool:
    """True when a proper ancestor of ``path`` is a symlink in the state under ``root``."""
    node = root
    for part in path.split("/")[:-1]:
        children = node.children
        found = children.get(part) if children else None
        if found is None:
            return False
        if found.children is None:
            return found.entry is not None and found.entry.type is EntryType.SYMLINK
        node = found
    return False


def stack_layer(
    previous: FileNode | None,
    layer: LayerContents,
    index: int,
    missing: list[tuple[int, str]],
    hardlinks: dict[str, None],
    stop: Callable[[], bool] | None = None,
    *,
    in_place: bool = False,
) -> FileNode:
    """Return the root of the state ``previous`` with ``layer`` applied (copy on write).

    ``previous`` is left as it was: the new state copies only the nodes on the paths the layer
    touches and shares every other subtree with it. Every node of the result carries ``size``
    (bytes, a hardlink's as :func:`hardlink_bytes` counts them) and ``count`` (nodes below it);
    hardlink entries get their ``data`` (the entry their target names now) when they have none.

    Args:
        previous: the root of the state below (layers ``0..index-1``), or None for layer 0.
        layer: the layer's parsed contents.
        index: the layer's index (recorded with missing whiteouts).
        missing: receives ``(index, path)`` of each whiteout whose path does not exist below.
        hardlinks: the paths that held a hardlink entry in the layers so far (an ordered set,
            updated: their bytes change when their data changes hands).
        stop: called every few hundred entries; when it returns True the build stops.
        in_place: change ``previous`` itself and return it, copying nothing, for a caller that
            keeps only the latest state (the efficiency pass); ``size`` and ``count`` are then
            not kept up to date (the same rules apply; no copies, no sums).

    Raises:
        BuildCancelled: ``stop`` returned True (``previous`` is untouched unless ``in_place``;
            nothing is kept).
    """
    if previous is None:
        root = FileNode("", None, _ROOT_ENTRY, _ROOT_ENTRY)
    elif in_place:
        root = previous
    else:
        root = FileNode.of(
            "",
            None,
            dict(previous.children or {}),
            previous.entry,
            previous.entry,
            _UNMODIFIED,
            previous.size,
            previous.count,
        )
    kind = _InPlaceStacking if in_place else _LayerStacking
    stacking = kind(root, layer, index, missing, hardlinks, stop)
    stacking.apply_whiteouts()
    stacking.apply_opaque_directories()
    stacking.make_marker_directories()
    stacking.place_entries()
    if not in_place:
        stacking.update_hardlink_bytes()
        stacking.sum_sizes()
    return root


class _LayerStacking:
    """The steps of :func:`stack_layer` for one layer, and the state they build.

    Attributes:
        root: the new state's root.
        owned: this state's own nodes (made or copied by this layer) by ``id``; every other
            node is shared with lower states and must be copied before it changes.
        directories: this state's own directories by path, for the layer's next entries (valid
            until a directory is removed).
        layer, index, missing, hardlinks, stop: :func:`stack_layer`'s arguments.
    """

    __slots__ = ("root", "owned", "directories", "layer", "index", "missing", "hardlinks", "stop")

    def __init__(
        self,
        root: FileNode,
        layer: LayerContents,
        index: int,
        missing: list[tuple[int, str]],
        hardlinks: dict[str, None],
        stop: Callable[[], bool] | None,
    ) -> None:
        self.root = root
        self.owned: dict[int, FileNode] = {id(root): root}
        self.directories: dict[str, FileNode] = {"": root}
        self.layer = layer
        self.index = index
        self.missing = missing
        self.hardlinks = hardlinks
        self.stop = stop

    def own(self, node: FileNode, parent: FileNode) -> FileNode:
        """Return ``node`` (a child of the owned ``parent``) as this state's own node.

        A node this layer made or copied already is returned as it is; a shared one is copied
        (with its own children dict) and put in its place under ``parent``.
        """
        if id(node) in self.owned:
            return node
        children = node.children
        copy = FileNode.of(
            node.name,
            parent,
            dict(children) if children is not None else None,
            node.entry,
            node.entry,
            _UNMODIFIED,
            node.size,
            node.count,
        )
        siblings = parent.children
        assert siblings is not None
        siblings[node.name] = copy
        self.owned[id(copy)] = copy
        return copy

    def own_path(self, path: str) -> FileNode | None:
        """Return the node at ``path``, made this state's own with its ancestors; None if absent."""
        node = self.root
        if path:
            for part in path.split("/"):
                children = node.children
                if not children:
                    return None
                child = children.get(part)
                if child is None:
                    return None
                node = self.own(child, node)
        return node

    def apply_whiteouts(self) -> None:
        """Step 1: remove each whited-out path and all below it (against the layers below)."""
        for whiteout in self.layer.whiteouts:
            deleted = deleted_path(whiteout.path)
            if find_node(self.root, deleted) is None:
                if not _under_symlink(self.root, deleted):
                    self.missing.append((self.index, deleted))
                continue
            parent_path, _, name = deleted.rpartition("/")
            parent = self.own_path(parent_path)
            assert parent is not None and parent.children is not None
            del parent.children[name]

    def apply_opaque_directories(self) -> None:
        """Step 2: empty each opaque directory (what the layers below put in it goes)."""
        for dir_path in self.layer.opaque_dirs:
            node = find_node(self.root, dir_path)
            if node is None or not node.children:
                continue
            node = self.own_path(dir_path)
            assert node is not None
            node.children = {}

    def make_marker_directories(self) -> None:
        """Step 3: make the parent of every whiteout, and every opaque directory, a real
        directory (see :meth:`parent_directory`)."""
        directories = self.directories
        for whiteout in self.layer.whiteouts:
            parent_path = whiteout.path.rpartition("/")[0]
            if parent_path not in directories:
                self.parent_directory(parent_path)
        for dir_path in self.layer.opaque_dirs:
            if dir_path not in directories:
                self.parent_directory(dir_path)

    def place_entries(self) -> None:
        """Step 4: place every entry of the layer, in tar order (see :meth:`place_entry`)."""
        directories = self.directories
        place_entry = self.place_entry
        stop = self.stop
        for done, (path, entry) in enumerate(self.layer.entries.items(), 1):
            if stop is not None and not done % _CHECK_EVERY and stop():
                raise BuildCancelled
            parent_path, _, name = path.rpartition("/")
            parent = directories.get(parent_path)
            if parent is None:
                parent = self.parent_directory(parent_path)
            place_entry(parent, path, name, entry)

    def parent_directory(self, path: str) -> FileNode:
        """Return this state's own directory at ``path``, made where it is missing or replaced
        where a lower layer made it a non-directory (:meth:`replace_symlinked_parent`)."""
        node = self.root
        if path:
            end = -1
            for part in path.split("/"):
                end += len(part) + 1
                children = node.children
                assert children is not None
                found = children.get(part)
                if found is None or found.children is None:
                    node = self.replace_symlinked_parent(node, part, path[:end])
                else:
                    node = self.own(found, node)
        self.directories[path] = node
        return node

    def replace_symlinked_parent(self, parent: FileNode, name: str, path: str) -> FileNode:
        """Put a real directory at ``path`` (``name`` in ``parent``) and return its node.

        Where a lower layer left a symlink (or another non-directory) the directory replaces
        it, never following it (overlay2 unpacks a layer into an empty directory); where
        nothing is, the directory is made. Either way the directory is synthetic
        (:func:`synthetic_directory`).
        """
        synthetic = synthetic_directory(path)
        node = FileNode(name, parent, synthetic, synthetic)
        siblings = parent.children
        assert siblings is not None
        siblings[name] = node
        self.owned[id(node)] = node
        return node

    def place_entry(self, parent: FileNode, path: str, name: str, entry: FileEntry) -> None:
        """Put ``entry`` at ``path`` (``name`` in this state's own directory ``parent``).

        A non-directory over a directory removes the directory and all below it; a directory
        over a directory keeps the children; a hardlink gets its data first.
        """
        children = parent.children
        assert children is not None
        kind = entry.type
        if kind is _HARDLINK:
            self.hardlinks[path] = None
            if entry.data is None:
                self.resolve_hardlink(entry)
        node = children.get(name)
        if node is not None and node.children and kind is not _DIR:
            del children[name]  # a non-directory replaces a directory and all below it
            self.directories.clear()
            self.directories[""] = self.root
            node = None
        if node is None:
            node = FileNode(name, parent, entry, entry)
            children[name] = node
            self.owned[id(node)] = node
            return
        if id(node) not in self.owned:
            node = self.own(node, parent)
        node.entry = node.base_entry = entry
        if kind is _DIR:
            if node.children is None:
                node.children = {}
        elif node.children is not None:  # (an empty directory: nothing was put in it yet)
            node.children = None
            self.directories.pop(path, None)

    def resolve_hardlink(self, entry: FileEntry) -> None:
        """Set a hardlink ``entry``'s ``data``: the data of the entry its target names in the
        state so far, or None when the target does not exist.

        Reading the layer resolved the links whose target the layer held before them
        (:func:`~dive_py.domain.layer_tar.hardlink_entry`); what is left names a lower layer's
        entry, or one this layer places earlier (a chain of links), never a later one: the
        entries are placed in tar order.
        """
        holder = find_node(self.root, entry.linkname)
        target = holder.entry if holder is not None else None
        entry.data = target.data if target is not None else None

    def update_hardlink_bytes(self) -> None:
        """Step 5: a lower hardlink whose data changed hands carries other bytes now."""
        root = self.root
        owned = self.owned
        for path in self.hardlinks:
            node = find_node(root, path)
            if node is None or node.entry is None or node.entry.type is not _HARDLINK:
                continue
            if id(node) in owned:
                continue  # (its bytes are summed with this layer's own nodes)
            size = hardlink_bytes(root, node.entry)
            if size != node.size:
                node = self.own_path(path)
                assert node is not None
                node.size = size

    def sum_sizes(self) -> None:
        """Step 6: sizes (bytes) and counts of this state's own nodes, deepest first (a shared
        node keeps its own)."""
        root = self.root
        stop = self.stop
        own_dirs: list[FileNode] = []
        for done, node in enumerate(self.owned.values()):
            if stop is not None and not done % _CHECK_EVERY and stop():
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
            if stop is not None and not done % _CHECK_EVERY and stop():
                raise BuildCancelled
            children = node.children
            assert children
            node.size = sum(map(_SIZE, children.values()))
            node.count = sum(map(_COUNT, children.values())) + len(children)


class StackedStates:
    """The file system after each layer, as trees that share every subtree a layer left alone.

    ``state(k)`` is the root of layers ``0..k`` stacked with :func:`stack_layer`. Building
    ``state(k)`` from ``state(k-1)`` copies only the nodes on the paths layer ``k`` touches
    (copy on write), so it costs about the layer's size, not the image's, and a subtree that no
    layer in ``k..j`` touched is the very same object in ``state(k)`` and ``state(j)`` — which is
    what makes comparing two states cheap (see :func:`dive_py.domain.compare.compare_states`).
    Nodes of a finished state are never changed again. Every node carries ``size`` (bytes) and
    ``count`` (nodes below it).

    Not thread-safe: the caller serialises :meth:`state` (see :class:`~dive_py.domain.analysis.Analysis`).

    Args:
        layers: every layer's contents, bottom to top (hardlink entries get their ``data``
            while stacking).
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

    def built_state(self, index: int) -> FileNode:
        """Return the root of the state after layer ``index`` when it is built (never builds:
        safe to call from another thread while a build is under way).

        Raises:
            IndexError: the state is not built (``index >= built``) or ``index`` is negative.
        """
        if index < 0:
            raise IndexError(f"no layer {index}")
        return self._roots[index]

    def missing_whiteouts(self, index: int) -> list[tuple[int, str]]:
        """Return ``(layer, path)`` of the whiteouts in layers ``0..index`` that deleted nothing.

        Raises:
            IndexError: as :meth:`state`.
        """
        self.state(index)
        return [item for layer in self._missing[: index + 1] for item in layer]

    def extended(self, layers: Sequence[LayerContents]) -> StackedStates:
        """Return the states of ``layers``, this object's layers followed by more, starting
        with the states built here (the very same roots: a container's read/write layer on
        top of its image's states costs only that layer's stacking).

        Raises:
            ValueError: ``layers`` does not start with this object's layers (the same objects).
        """
        mine = self._layers
        if len(layers) < len(mine) or any(a is not b for a, b in zip(mine, layers, strict=False)):
            raise ValueError("extended: the layers must start with the states' own layers")
        states = StackedStates(layers)
        states._roots = list(self._roots)
        states._missing = list(self._missing)
        states._hardlinks = dict(self._hardlinks)
        return states

    def _build_next(self, stop: Callable[[], bool] | None) -> None:
        index = len(self._roots)
        previous = self._roots[-1] if self._roots else None
        missing: list[tuple[int, str]] = []
        # (a stopped build leaves no trace: it only changed nodes it made itself)
        root = stack_layer(previous, self._layers[index], index, missing, self._hardlinks, stop)
        self._roots.append(root)
        self._missing.append(missing)


class _InPlaceStacking(_LayerStacking):
    """The steps of :func:`stack_layer` with ``in_place``: every node is the state's own."""

    __slots__ = ()

    def own(self, node: FileNode, parent: FileNode) -> FileNode:
        """Return ``node`` itself (nothing is shared with a state that is kept)."""
        return node
