"""Provides the compared trees behind the file tree pane: which paths a layer added, modified or removed.

Two compare modes (dive's): *layer changes* shows layer ``i`` against the stack of layers
``0..i-1``; *aggregated changes* shows layers ``1..i`` applied together against layer ``0``. At
``i == 0`` both show layer 0 unmarked.

Marking rules (divepy's; dive 0.13.1 differs where noted):

* a path absent from the base and present now is **added**; present in the base and absent now
  is **removed** (shown as a ghost node with the base's entry);
* a file, link, device or fifo that a compared layer wrote is **modified**, also when content
  and metadata are identical (a copy-up that only touched mtime still costs bytes in that
  layer; dive calls that unmodified);
* a directory is **modified** when its own metadata (mode, owner) changed or anything below it
  changed; a retargeted symlink or hardlink is modified (dive ignores link targets);
* a path that a compared layer added and a later compared layer removed (aggregated mode) is
  **removed**, shown with the entry it had just before it went (dive shows it so: it is the
  waste a user looks for); a removal never hides what the base or the compared state holds at
  that path, and of two removals of one path the later one's entry is shown.

:func:`compare_states` compares two states of :class:`~dive_py.domain.file_tree.StackedStates`:
it skips every subtree the two states share, so a layer's tree costs about that layer's
changes. A directory whose children would be copies (everything below an added directory; a
directory of both states with changes below it) is one node that makes its children dict when
``children`` is first read (:class:`_LazyDirectory`): the row model reads the rows it shows,
so a tree costs about its changed paths in memory (issue 11). The tests check it against a
reference that applies the layers to one tree in place and marks it afterwards
(``tests/stacking_oracle.py``: simple, but it costs the whole image every time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from typing import Any

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import (
    BuildCancelled,
    FileNode,
    FileTree,
    StackedStates,
    find_node,
    hardlink_bytes,
)

_UNMODIFIED = DiffType.UNMODIFIED
_MODIFIED = DiffType.MODIFIED
_ADDED = DiffType.ADDED
_REMOVED = DiffType.REMOVED
_HARDLINK = EntryType.HARDLINK
_new_object = object.__new__


_CHECK_EVERY = 256
"""Nodes between two calls of a build's ``stop`` callback."""


class CompareMode(Enum):
    """Which layers the file tree pane combines for the selected layer."""

    LAYER = "layer"
    """Layer ``i`` against layers ``0..i-1``."""
    AGGREGATED = "aggregated"
    """Layers ``1..i`` against layer ``0``."""


def compare_ranges(mode: CompareMode, index: int) -> tuple[range, range]:
    """Return (base layer indexes, compared layer indexes) for ``mode`` at layer ``index``."""
    if index <= 0:
        return range(0, 1), range(0)
    if mode is CompareMode.LAYER:
        return range(0, index), range(index, index + 1)
    return range(0, 1), range(1, index + 1)


def compared_from_states(
    states: StackedStates, mode: CompareMode, index: int, stop: Callable[[], bool] | None = None
) -> FileTree:
    """Return the marked tree the file tree pane shows for layer ``index`` in ``mode``.

    Args:
        states: the image's :class:`~dive_py.domain.file_tree.StackedStates` (built on demand).
        mode: the :class:`CompareMode`.
        index: the selected layer (0-based; clamped to the existing layers).
        stop: called now and then while comparing; when it returns True the build stops.

    Returns:
        A read-only :class:`FileTree` (it shares nodes with ``states``): layer 0 is the state
        after layer 0 itself, unmarked; otherwise :func:`compare_states` of the last base state
        and the last compared state.

    Stacks the missing states first (:meth:`StackedStates.state`, not thread-safe): callers
    in several threads serialise it, as :meth:`~dive_py.domain.analysis.Analysis.compared_tree`
    does. Reading the result from several threads is safe (a lazy directory makes its
    children under a lock).

    Raises:
        BuildCancelled: ``stop`` returned True.
    """
    if not len(states):
        return FileTree()
    index = max(0, min(index, len(states) - 1))
    base, top = compare_ranges(mode, index)
    states.state(index, stop)
    missing = states.missing_whiteouts(index)
    if not top:
        return FileTree.of_root(states.state(index), missing)
    layers = states.layers

    def rewritten(entry: FileEntry) -> bool:
        return any(layers[i].entries.get(entry.path) is entry for i in top)

    root = compare_states(states.state(base[-1]), states.state(top[-1]), stop, rewritten)
    root = add_vanished(root, states, top, stop)
    return FileTree.of_root(root, missing)


_Gone = dict[str, tuple["FileNode | None", "_Gone | None"]]
"""What a layer removed below a path: name -> (the state node gone with all below it, or None
when the path is still there; what is gone below a path still there, or None)."""

_REMOVALS_KEPT = 64
_removals_cache: dict[tuple[int, int], tuple[FileNode, FileNode, _Gone]] = {}
_removals_lock = threading.Lock()


def _all_gone(node: FileNode) -> _Gone:
    return {name: (child, None) for name, child in (node.children or {}).items()}


def _removals(before: FileNode, after: FileNode, stop: Callable[[], bool] | None) -> _Gone:
    """What the state ``before`` held and the next state ``after`` does not (whiteouts, opaque
    directories, a file put over a directory: below it every child is gone), as a
    :data:`_Gone` tree from the root. Only subtrees the two states do not share are looked at;
    states never change, so the answer is kept for the last few pairs of states asked."""
    key = (id(before), id(after))
    with _removals_lock:
        kept = _removals_cache.get(key)
    if kept is not None and kept[0] is before and kept[1] is after:
        return kept[2]
    result: _Gone = {}
    # (state k-1 node, state k node, where what is gone below them goes)
    stack: list[tuple[FileNode, FileNode, _Gone]] = [(before, after, result)]
    done = 0
    while stack:
        done += 1
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        old, new, level = stack.pop()
        old_kids = old.children
        if not old_kids:
            continue
        new_kids = new.children
        if new_kids is None:
            level.update(_all_gone(old))
            continue
        for name, child in old_kids.items() - new_kids.items():
            now = new_kids.get(name)
            if now is None:
                level[name] = (child, None)
            elif child.children:
                below: _Gone = {}
                level[name] = (None, below)
                stack.append((child, now, below))
    _prune(result)
    with _removals_lock:
        if len(_removals_cache) >= _REMOVALS_KEPT:
            _removals_cache.pop(next(iter(_removals_cache)))
        _removals_cache[key] = (before, after, result)
    return result


def _prune(level: _Gone) -> None:
    """Drop the paths below which nothing is gone (deepest first; no recursion: deep trees)."""
    order: list[_Gone] = []
    stack = [level]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(below for _, below in current.values() if below)
    for current in reversed(order):
        for name, (gone, below) in list(current.items()):
            if gone is None and not below:
                del current[name]


class _Frame:
    """A directory of the compared tree that :func:`add_vanished` walks: the node (replaced by
    its copy once something goes in below it), where it hangs, and what to add up."""

    __slots__ = ("node", "parent", "name", "count", "size", "owned")

    def __init__(self, node: FileNode, parent: _Frame | None, name: str) -> None:
        self.node = node
        self.parent = parent
        self.name = name
        self.count = 0
        self.size = 0
        self.owned = False


def add_vanished(
    root: FileNode, states: StackedStates, top: range, stop: Callable[[], bool] | None = None
) -> FileNode:
    """Return the compared tree ``root`` with the paths the compared layers ``top`` added and
    removed again, as removed ghosts (see this module's opening; dive 0.13.1 shows them red).

    For each compared layer ``k`` above the first (latest first), what the state ``k-1`` held
    and the state ``k`` no longer holds (whiteouts, opaque directories, a file put over a
    directory: below it every child is gone) is put into the tree where nothing is at its path
    yet: what the compared tree holds (present, or removed from the base) wins, and a later
    removal wins over an earlier one. A ghost shows the entry it had in state ``k-1`` (as
    ``base_entry``); sizes (bytes) and counts of its ancestors follow the module's rules (a
    removed directory sums all below it, a present one only what is present, a file shows its
    own bytes), and an unmodified ancestor becomes modified. Only subtrees the states ``k-1``
    and ``k`` do not share are walked, so this costs about what those layers changed. The
    nodes on the way are copied (``root`` is shared with the states and is not changed); with
    fewer than two compared layers ``root`` is returned as it is.

    Raises:
        BuildCancelled: ``stop`` returned True.
    """
    if len(top) < 2:
        return root
    owned: set[int] = set()
    holder = FileNode.of("", None, {"": root}, None, None, _UNMODIFIED, 0, 0)
    owned.add(id(holder))
    top_frame = _Frame(holder, None, "")
    top_frame.owned = True
    links: list[FileNode] = []
    done = 0
    for k in reversed(top[1:]):
        before, after = states.state(k - 1, stop), states.state(k, stop)
        removals = _removals(before, after, stop)
        if not removals:
            continue
        touched: list[_Frame] = []
        target = (holder.children or {})[""]
        # (what is gone below the target frame's path, the target frame)
        stack: list[tuple[_Gone, _Frame]] = [(removals, _Frame(target, top_frame, ""))]
        while stack:
            done += 1
            if stop is not None and not done % _CHECK_EVERY and stop():
                raise BuildCancelled
            level, frame = stack.pop()
            for name, (gone, below) in level.items():
                existing = _child(frame.node, name)
                if existing is not None:
                    if below:
                        stack.append((below, _Frame(existing, frame, name)))
                    elif gone is not None and gone.children:
                        stack.append((_all_gone(gone), _Frame(existing, frame, name)))
                    continue
                if gone is None:
                    continue  # (a path still there in state k, removed later: not in target)
                ghost = _ghost_of(gone, before, stop, links)
                _own(frame, owned, touched)
                _put(frame.node, name, ghost)
                frame.count += ghost.count + 1
                frame.size += ghost.size
        for frame in reversed(touched):
            _settle(frame)
    for link in links:
        _fix_link_size(holder, tuple(link.path[1:].split("/")))
    new_root = (holder.children or {})[""]
    new_root.parent = None
    return new_root


def _ghost_of(
    gone: FileNode, before: FileNode, stop: Callable[[], bool] | None, links: list[FileNode]
) -> FileNode:
    """A removed copy of the state node ``gone`` (state ``before``); hardlinks go to ``links``
    (their bytes are known once the whole tree is)."""
    if gone.children is None:
        entry = gone.entry
        assert entry is not None
        ghost = FileNode.of(gone.name, gone.parent, None, None, entry, _REMOVED, entry.size, 0)
        if entry.type is _HARDLINK:
            links.append(ghost)
        return ghost
    ghost = _removed_copy(gone, before, before, stop)
    pending = [ghost]
    while pending:
        below = pending.pop()
        if below.children:
            pending.extend(below.children.values())
        elif below.base_entry is not None and below.base_entry.type is _HARDLINK:
            links.append(below)
    return ghost


def _own(frame: _Frame, owned: set[int], touched: list[_Frame]) -> None:
    """Make ``frame``'s node (and its ancestors') the compared tree's own copy, once."""
    chain: list[_Frame] = []
    current: _Frame | None = frame
    while current is not None and not current.owned:
        chain.append(current)
        current = current.parent
    for link in reversed(chain):
        parent = link.parent
        assert parent is not None
        node = _child(parent.node, link.name)
        if node is None or id(node) not in owned:
            node = link.node
            if _unmade(node):
                assert isinstance(node, _LazyDirectory)
                lazy = node
                extra = dict(lazy.extra) if lazy.extra else {}
                node = _lazy(
                    lazy.source,
                    lazy.entry,
                    lazy.base_entry,
                    lazy.diff,
                    extra,
                    lazy.old,
                    lazy.context,
                )
                node.size, node.count = lazy.size, lazy.count
            else:
                kids = node.children
                node = FileNode.of(
                    node.name,
                    node.parent,
                    dict(kids) if kids is not None else None,
                    node.entry,
                    node.base_entry,
                    node.diff,
                    node.size,
                    node.count,
                )
            _put(parent.node, link.name, node)
            owned.add(id(node))
        link.node = node
        link.owned = True
        touched.append(link)


def _settle(frame: _Frame) -> None:
    """Add what went in below ``frame`` to its node and pass it on to its parent frame: the
    count always, the size only through removed directories; unmodified becomes modified."""
    node = frame.node
    node.count += frame.count
    shown = node.entry or node.base_entry
    passes = node.entry is None and shown is not None and shown.is_dir
    if passes:
        node.size += frame.size
    if node.diff is _UNMODIFIED:
        node.diff = _MODIFIED
    parent = frame.parent
    if parent is not None and parent.parent is not None:
        parent.count += frame.count
        if passes:
            parent.size += frame.size


def _fix_link_size(holder: FileNode, path: tuple[str, ...]) -> None:
    """A removed hardlink's bytes in the finished tree: 0 while its data's own name shows the
    data (present, or as removed), else the data's size; the change passes up as a size."""
    chain = [holder]
    node: FileNode | None = holder
    for part in ("", *path):
        assert node is not None and node.children is not None
        node = node.children[part]
        chain.append(node)
    assert node is not None and node.base_entry is not None
    data = node.base_entry.data
    size = 0
    if data is not None:
        root = holder.children.get("") if holder.children else None
        found = find_node(root, data.path) if root is not None else None
        if found is None or (found.entry is not data and found.base_entry is not data):
            size = data.size
    delta = size - node.size
    node.size = size
    for ancestor in reversed(chain[1:-1]):
        shown = ancestor.base_entry
        if not delta or ancestor.entry is not None or shown is None or not shown.is_dir:
            break
        ancestor.size += delta


def _ghost_size(entry: FileEntry, base_root: FileNode, top_root: FileNode) -> int:
    if entry.type is _HARDLINK:
        return hardlink_bytes(top_root, entry, base_root)
    return entry.size


def _removed_copy(
    node: FileNode, base_root: FileNode, top_root: FileNode, stop: Callable[[], bool] | None
) -> FileNode:
    """A removed (ghost) copy of the base subtree at ``node``: entries None, diff REMOVED."""
    first = _mark_copy(node, None, node.entry, _REMOVED)
    stack = [(node, first)]
    done = 0
    while stack:
        done += 1
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        original, copy = stack.pop()
        children = original.children
        if not children:
            entry = copy.base_entry
            assert entry is not None
            copy.size = _ghost_size(entry, base_root, top_root)
            copy.count = 0
            continue
        kids = copy.children
        assert kids is not None
        for name, child in children.items():
            ghost = _mark_copy(child, None, child.entry, _REMOVED)
            kids[name] = ghost
            stack.append((child, ghost))
    _sum_up(first)
    return first


_CHILDREN_SLOT: Any = FileNode.__dict__["children"]
"""The ``children`` slot of :class:`FileNode` (its descriptor: read and set it directly)."""
_lazy_lock = threading.Lock()


class _Context:
    """What a compared directory needs to mark its file children when they are first read: the
    two state roots and :func:`compare_states`' ``rewritten`` and ``alike`` (one per compare)."""

    __slots__ = ("base", "top", "rewritten", "alike")

    def __init__(
        self,
        base: FileNode,
        top: FileNode,
        rewritten: Callable[[FileEntry], bool] | None,
        alike: Callable[[FileEntry, FileEntry], bool] | None,
    ) -> None:
        self.base = base
        self.top = top
        self.rewritten = rewritten
        self.alike = alike


class _LazyDirectory(FileNode):
    """A directory of a compared tree whose children dict is made when first read.

    Two kinds. An *added* directory: everything below it is added, with the state's entries,
    sizes and counts (see :func:`_added_node`), so instead of copying the state's subtree
    node by node when the tree is compared, the copy of each directory's children is made the
    first time someone reads ``children`` (the row model reads only the directories on the
    rows it shows); the children it makes are added nodes in turn (lazy directories again, or
    leaves). A *compared* directory (:func:`compare_states`, a directory in both states that
    differ below it): its children are the state's own nodes, shared, but for the ones that
    changed. Its changed directories are marked when the tree is compared (``extra``: their
    sizes and counts are the directory's own); its changed files, links and removed files
    (most changes: a leaf directory holds hundreds of names) are marked only when its dict,
    a copy of the state's with those replaced, is made on first read (:func:`_marked_file`):
    comparing costs the directories that differ, not every changed file (issue 11).

    Until then the ``children`` slot is unset and :meth:`__getattr__` makes it; afterwards
    reading it costs what reading any node's ``children`` costs.

    Attributes:
        source: the compared (top) state's directory node this one stands for.
        old: for a compared directory, the base state's node at the same path (a directory,
            or a file a directory replaced); None for an added directory.
        extra: children that go in besides (or instead of) the source's, by name: the marked
            changed directories of a compared directory, and what :func:`add_vanished` puts
            below any lazy directory (removed ghosts, and the copies on their way); or None.
        context: for a compared directory, the :class:`_Context` its file children are
            marked with; None for an added directory.
    """

    __slots__ = ("source", "old", "extra", "context")
    source: FileNode
    old: FileNode | None
    extra: dict[str, FileNode] | None
    context: _Context | None

    def __getattr__(self, name: str) -> dict[str, FileNode] | None:
        """Make and return ``children`` (called only while the slot is unset)."""
        if name != "children":
            raise AttributeError(name)
        with _lazy_lock:  # (two threads reading at once must see one set of nodes)
            try:
                kids: dict[str, FileNode] | None = _CHILDREN_SLOT.__get__(self, FileNode)
            except AttributeError:
                source = self.source.children
                context = self.context
                if context is None:
                    kids = (
                        {key: _added_node(child) for key, child in source.items()} if source else {}
                    )
                else:
                    kids = dict(source) if source else {}
                    old = self.old
                    assert old is not None
                    old_kids = old.children
                    extra = self.extra
                    for name_ in _changed_names(old_kids, source):
                        if extra and name_ in extra:
                            continue
                        before = old_kids.get(name_) if old_kids else None
                        after = source.get(name_) if source else None
                        child = _marked_file(before, after, context)
                        kids[name_] = child
                if self.extra:
                    kids.update(self.extra)
                _CHILDREN_SLOT.__set__(self, kids)
        return kids


def _changed_names(
    old_kids: dict[str, FileNode] | None, new_kids: dict[str, FileNode] | None
) -> set[str]:
    """The names whose child differs (by identity) between two states' children dicts (the
    search runs in C: a set difference of the two item views)."""
    if old_kids and new_kids:
        return {name for name, _ in old_kids.items() ^ new_kids.items()}
    if old_kids:
        return set(old_kids)
    return set(new_kids) if new_kids else set()


def _file_diff(entry: FileEntry, base_entry: FileEntry, context: _Context) -> DiffType:
    """MODIFIED or UNMODIFIED for a file of both states (see :func:`compare_states`' rules:
    another entry object, unless ``alike`` says it is the same; or rewritten by a layer)."""
    alike, rewritten = context.alike, context.rewritten
    if (entry is not base_entry and (alike is None or not alike(entry, base_entry))) or (
        rewritten is not None and rewritten(entry)
    ):
        return _MODIFIED
    return _UNMODIFIED


def _marked_file(before: FileNode | None, after: FileNode | None, context: _Context) -> FileNode:
    """The compared-tree node of a changed non-directory: ``after`` marked added or modified
    against ``before``, or the removed ghost of ``before`` when ``after`` is None (its bytes: a
    hardlink's data bytes when its data's own name is gone, see :func:`_ghost_size`)."""
    if after is None:
        assert before is not None
        gone = before.entry
        assert gone is not None  # (a state node has its entry)
        return FileNode.of(
            before.name,
            before.parent,
            None,
            None,
            gone,
            _REMOVED,
            _ghost_size(gone, context.base, context.top),
            0,
        )
    entry = after.entry
    assert entry is not None  # (a state node has its entry)
    if before is None:
        return FileNode.of(after.name, after.parent, None, entry, None, _ADDED, after.size, 0)
    base_entry = before.entry
    assert base_entry is not None
    diff = _file_diff(entry, base_entry, context)
    return FileNode.of(after.name, after.parent, None, entry, base_entry, diff, after.size, 0)


def _unmade(node: FileNode) -> bool:
    """True for a lazy directory whose children are not made yet."""
    if type(node) is not _LazyDirectory:
        return False
    try:
        _CHILDREN_SLOT.__get__(node, FileNode)
    except AttributeError:
        return True
    return False


def _child(node: FileNode, name: str) -> FileNode | None:
    """The child ``name`` of a compared-tree node, or None; a lazy directory's children are
    not made for it (a child of an added directory's source, or a changed file of a compared
    one, comes back as a new node each time, not kept: :func:`_own` copies what it changes)."""
    if _unmade(node):
        assert isinstance(node, _LazyDirectory)
        extra = node.extra
        if extra and name in extra:
            return extra[name]
        source = node.source.children
        below = source.get(name) if source else None
        context = node.context
        if context is None:  # (an added directory)
            return _added_node(below) if below is not None else None
        assert node.old is not None  # (a compared directory)
        old = node.old.children
        before = old.get(name) if old else None
        if below is before:
            return below
        return _marked_file(before, below, context)  # (made again on each call: not kept)
    kids = node.children
    return kids.get(name) if kids else None


def _put(node: FileNode, name: str, child: FileNode) -> None:
    """Put ``child`` under the compared tree's own node ``node`` as ``name`` (in a lazy
    directory's ``extra`` while its children are not made; a non-directory becomes one)."""
    if _unmade(node):
        assert isinstance(node, _LazyDirectory)
        if node.extra is None:
            node.extra = {}
        node.extra[name] = child
        return
    if node.children is None:
        node.children = {}
    node.children[name] = child


def _lazy(
    source: FileNode,
    entry: FileEntry | None,
    base_entry: FileEntry | None,
    diff: DiffType,
    extra: dict[str, FileNode] | None,
    old: FileNode | None,
    context: _Context | None,
) -> _LazyDirectory:
    """A lazy directory node for the state's directory ``source`` (see
    :class:`_LazyDirectory`), with the source's size and count for a start."""
    lazy: _LazyDirectory = _new_object(_LazyDirectory)
    lazy.name = source.name
    lazy.parent = source.parent
    lazy.entry = entry
    lazy.base_entry = base_entry
    lazy.diff = diff
    lazy.size = source.size
    lazy.count = source.count
    lazy.source = source
    lazy.extra = extra
    lazy.old = old
    lazy.context = context
    return lazy


def _added_node(node: FileNode) -> FileNode:
    """The added compared-tree node for the state node ``node``: no base entry, diff ADDED,
    the state's size and count; a directory is a lazy one that copies its children when first
    read (see :class:`_LazyDirectory`), so an added subtree costs one node however big."""
    entry = node.entry
    if node.children is None:
        return FileNode.of(node.name, node.parent, None, entry, None, _ADDED, node.size, 0)
    return _lazy(node, entry, None, _ADDED, None, None, None)


def _compared_node(node: FileNode, old: FileNode, context: _Context) -> FileNode:
    """A compared-tree node for the state node ``node`` (base state node ``old`` at the same
    path) whose children :func:`compare_states` compares next: a lazy directory (see
    :class:`_LazyDirectory`) when ``node`` is one, else as :func:`_mark_copy`."""
    if node.children is None:
        return _mark_copy(node, node.entry, old.entry, _UNMODIFIED)
    return _lazy(node, node.entry, old.entry, _UNMODIFIED, None, old, context)


def _mark_copy(
    node: FileNode, entry: FileEntry | None, base_entry: FileEntry | None, diff: DiffType
) -> FileNode:
    """A compared-tree node for the state node ``node``, with its size and count for a start.

    Its ``parent`` is the state node's parent (same path, another tree): a compared tree then
    holds no reference cycle, so dropping it frees it at once, without the cyclic collector.
    """
    return FileNode.of(
        node.name,
        node.parent,
        {} if node.children is not None else None,
        entry,
        base_entry,
        diff,
        node.size,
        node.count,
    )


def _sum_up(top: FileNode) -> None:
    """Sizes and counts of a removed subtree, children first (sizes of all children)."""
    order = []
    stack = [top]
    while stack:
        node = stack.pop()
        if node.children:
            order.append(node)
            stack.extend(node.children.values())
    for node in reversed(order):
        children = node.children
        assert children
        size = count = 0
        for child in children.values():
            size += child.size
            count += child.count
        node.size = size
        node.count = count + len(children)


def compare_states(
    base: FileNode,
    top: FileNode,
    stop: Callable[[], bool] | None = None,
    rewritten: Callable[[FileEntry], bool] | None = None,
    alike: Callable[[FileEntry, FileEntry], bool] | None = None,
) -> FileNode:
    """Compare two state roots of one :class:`StackedStates`; return the marked tree's root.

    The result marks the layers between the two states (``base`` = the state after the last
    base layer, ``top`` = after the last compared layer) by the rules in this module's opening:
    a path in only one of them is removed or added, a file whose entry differs is modified,
    a directory is modified when its own metadata or anything below changed. A subtree that is
    the same object in both states is unchanged throughout and is reused as it is (so the
    result shares nodes with the states: treat it as read-only).

    Args:
        base: root of the base state.
        top: root of the compared state.
        stop: called every few hundred nodes; when it returns True the build stops.
        rewritten: for a file whose entry is the very same object in both states but whose
            node differs (a compared layer repeats a lower layer's entry, as an image that
            holds one layer twice does, or only its hardlink bytes changed): True when a
            compared layer wrote it (modified, as the layer wrote it again).
            Without it such a file is unchanged.
        alike: for states of two different images (which share no node or entry, see
            :mod:`dive_py.domain.image_diff`): a file whose entry is another object than the
            base's is unchanged when ``alike(entry, base_entry)`` is True
            (:meth:`FileEntry.same_as`). Without it any other entry object is modified.

    Returns:
        The root of the compared tree; every node has ``diff``, ``size`` (bytes) and ``count``.

    Raises:
        BuildCancelled: ``stop`` returned True (the partial tree is dropped).
    """
    if base is top:
        return top
    context = _Context(base, top, rewritten, alike)
    root = _compared_node(top, base, context)
    # (old, new, node): only changed children are looked at one by one; finding the changed
    # names runs in C. A directory of both states gets its changed directories as extra
    # children of a lazy node now, its changed files when its dict is first read; here they
    # only count (removed files) and decide whether it is modified.
    stack: list[tuple[FileNode, FileNode, FileNode]] = [(base, top, root)]
    # (state node, compared node, its marked children, is a directory, removed files below it
    # left unmade, a file below it left unmade is not unmodified)
    order: list[tuple[FileNode, FileNode, list[FileNode], bool, int, bool]] = []
    while stack:
        if stop is not None and not len(order) % _CHECK_EVERY and stop():
            raise BuildCancelled
        old, new, node = stack.pop()
        old_kids = old.children
        new_kids = new.children
        lazy_files = new_kids is not None  # (a file over a directory: its ghosts below it now)
        kids: dict[str, FileNode] = {}
        marked: list[FileNode] = []
        removed_files = 0
        files_differ = False
        for name in _changed_names(old_kids, new_kids):
            before = old_kids.get(name) if old_kids else None
            after = new_kids.get(name) if new_kids else None
            if after is None:
                assert before is not None
                if before.children is None:  # a removed file (most removals)
                    if lazy_files:
                        removed_files += 1
                        continue
                    child = _marked_file(before, None, context)
                else:
                    child = _removed_copy(before, base, top, stop)
            elif after.children is None and (before is None or before.children is None):
                # a file (most changes): marked when the directory's dict is made
                if not files_differ:
                    files_differ = before is None or (
                        _file_diff(after.entry, before.entry, context)  # type: ignore[arg-type]
                        is not _UNMODIFIED
                    )
                continue
            elif before is None:
                child = _added_node(after)
            else:
                child = _compared_node(after, before, context)
                stack.append((before, after, child))
            kids[name] = child
            marked.append(child)
        if lazy_files:
            assert isinstance(node, _LazyDirectory)
            node.extra = kids if kids else None
            is_dir = True
        else:  # (a non-directory over a directory: the removed children below it)
            node.children = kids if kids else None
            is_dir = bool(kids)
        order.append((new, node, marked, is_dir, removed_files, files_differ))
    for done, (new, node, marked, is_dir, removed_files, files_differ) in enumerate(
        reversed(order)
    ):
        if stop is not None and not done % _CHECK_EVERY and stop():
            raise BuildCancelled
        entry, base_entry = node.entry, node.base_entry
        assert entry is not None and base_entry is not None
        if not is_dir:
            node.diff = _file_diff(entry, base_entry, context)
            node.count = 0
            continue  # size: the state's (copied)
        diff = (
            _UNMODIFIED
            if entry.same_as(base_entry) and not removed_files and not files_differ
            else _MODIFIED
        )
        # count: the state's, corrected by the children that differ from the state's
        count = (new.count if new.children is not None else 0) + removed_files
        new_kids = new.children or {}
        for child in marked:
            if diff is _UNMODIFIED and child.diff is not _UNMODIFIED:
                diff = _MODIFIED
            state_child = new_kids.get(child.name)
            if state_child is None:
                count += 1 + child.count
            else:
                count += child.count - state_child.count
        node.diff = diff
        node.count = count
    return root
