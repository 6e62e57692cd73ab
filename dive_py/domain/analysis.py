"""Provides :class:`Analysis` and :func:`analyse`: an image plus its figures and compared trees."""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from dive_py.domain.collector_pause import collector_paused
from dive_py.domain.compare import CompareMode, compared_from_states
from dive_py.domain.container_layer import Container
from dive_py.domain.dockerfile_steps import DockerfileInstruction
from dive_py.domain.efficiency import Efficiency, measure_efficiency
from dive_py.domain.file_tree import FileNode, FileTree, StackedStates
from dive_py.domain.image import Image
from dive_py.domain.layer_preview import layer_preview as build_layer_preview
from dive_py.domain.layer_sharing import LayerSharing
from dive_py.domain.layer_tar import LayerContents

_TREE_CACHE_SIZE = 24
_TREE_CACHE_NODES = 6_000_000
"""The kept compared trees are dropped, oldest first, beyond this many trees or this many nodes
in all (counting shared nodes too: an upper bound of what they hold on their own)."""
_FREEZE_ABOVE = 20_000
"""Nodes a new state or compared tree must reach before it is moved out of the collector's way."""


@dataclass(slots=True)
class Analysis:
    """An analysed image: the input to the TUI, the CI report and the JSON export.

    Compared trees (what the file tree pane shows) are built on demand from the image's
    :class:`~dive_py.domain.file_tree.StackedStates`: the states are stacked once, layer by
    layer, as far as a request needs (or all of them by the efficiency pass already, when
    :func:`analyse` kept them for the explorer); a compared tree then costs about the changes
    between the two states it compares, not the whole image. The last dozen or so compared
    trees are kept (fewer when they are big).

    The cyclic garbage collector is paused while a state or compared tree is built, and big
    ones are moved to its permanent generation once built (``gc.freeze``): otherwise the
    collector rescans their hundreds of thousands of nodes again and again, pauses of up to
    a few hundred milliseconds that hold the interpreter lock (the TUI's drawing thread waits).
    States live as long as the analysis; a compared tree holds no reference cycle (see
    :func:`~dive_py.domain.compare.compare_states`), so when the LRU drops it, reference
    counting frees it even though it is frozen. Both calls affect the whole process.

    Attributes:
        image: the :class:`~dive_py.domain.image.Image` as read.
        efficiency: the image-wide :class:`~dive_py.domain.efficiency.Efficiency` figures (of
            the image's own layers: a container's read/write layer is not counted).
        container: the container whose read/write layer is the image's top layer, or None.
        sharing: the layers this image shares with other images of the engine, or None when
            the source knows no other images (archives, OCI layouts).
        dockerfile: the final stage's instructions of the Dockerfile the image was built from,
            when known (``divepy build``, ``--dockerfile``): waste hints name its lines.
    """

    image: Image
    efficiency: Efficiency
    container: Container | None = None
    sharing: LayerSharing | None = None
    dockerfile: tuple[DockerfileInstruction, ...] = ()
    _trees: OrderedDict[tuple[int, CompareMode], FileTree] = field(default_factory=OrderedDict)
    _states: StackedStates | None = None
    _favoured: CompareMode | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def compared_tree(
        self, index: int, mode: CompareMode, stop: Callable[[], bool] | None = None
    ) -> FileTree:
        """Return the marked tree for layer ``index`` in ``mode``, built on first use.

        The tree (see :func:`~dive_py.domain.compare.compared_from_states`) shares unchanged
        subtrees with the stacked states and with other compared trees: read it, never change
        it. Recent trees are kept (an LRU bounded in trees and nodes), so
        moving back and forth is cheap. Safe to call from several threads (the TUI builds trees in workers): building
        is serialised, so a call may wait for another thread's build.

        Args:
            index: the layer (0-based; clamped to the existing layers).
            mode: the :class:`~dive_py.domain.compare.CompareMode`.
            stop: called now and then while a tree is built; True stops the build (a
                background thread that is no longer needed gives way at once).

        Raises:
            BuildCancelled: ``stop`` returned True (nothing is kept).
        """
        key = (self._clamp(index), mode)
        with self._lock:
            tree = self._trees.get(key)
            if tree is None:
                with collector_paused():
                    tree = compared_from_states(self._stacked(), mode, key[0], stop)
                    self._trees[key] = tree
                    if tree.root.count > _FREEZE_ABOVE:  # (it has at least its states' nodes)
                        gc.freeze()  # before the collector runs again: it would scan them all
                self._evict()
            else:
                self._trees.move_to_end(key)
            return tree

    def favour(self, mode: CompareMode) -> None:
        """Keep trees of ``mode`` longer than the others when trees have to be dropped (the
        explorer favours the compare mode it shows)."""
        self._favoured = mode

    def _evict(self) -> None:
        trees = self._trees
        nodes = sum(tree.root.count for tree in trees.values())
        while len(trees) > 2 and (len(trees) > _TREE_CACHE_SIZE or nodes > _TREE_CACHE_NODES):
            older = list(trees)[:-1]  # never the tree just made
            key = next((key for key in older if key[1] is not self._favoured), older[0])
            nodes -= trees.pop(key).root.count

    def cached_tree(self, index: int, mode: CompareMode) -> FileTree | None:
        """Return the compared tree for ``index`` and ``mode`` if it is built already, else None.

        Never waits for a build in another thread (the TUI calls it on its event loop to show a
        prepared tree at once).
        """
        return self._trees.get((self._clamp(index), mode))

    def layer_preview(self, index: int, stop: Callable[[], bool] | None = None) -> FileTree:
        """Return the preview of layer ``index``: the paths it wrote, marked against the state
        below when that state is stacked already (see :func:`~dive_py.domain.layer_preview.layer_preview`).

        Costs one pass over the layer (no stacking, no lock: it never waits for another
        thread's build); the explorer shows it while the layer's compared tree is built.

        Args:
            index: the layer (clamped to the existing layers).
            stop: called every few hundred entries; True stops the build.

        Raises:
            BuildCancelled: ``stop`` returned True.
        """
        if not self.image.layers:
            return FileTree()
        index = self._clamp(index)
        states = self._states
        lower = None
        if index > 0 and states is not None and states.built >= index:
            lower = states.built_state(index - 1)
        with collector_paused():
            return build_layer_preview(self.image.layers[index].contents, lower, stop)

    def state_ready(self, index: int) -> bool:
        """True when the stacked state of layer ``index`` (clamped) is built (never waits)."""
        return self.states_built > self._clamp(index)

    def prepare_state(self, index: int, stop: Callable[[], bool] | None = None) -> bool:
        """Stack the layers up to ``index`` (the states compared trees are made from).

        Builds at most one more state per call, so that a background thread can stop between
        layers. Returns True when the state of layer ``index`` (clamped) is ready.

        Args:
            index: the layer.
            stop: called now and then while the state is built; True stops the build.

        Raises:
            BuildCancelled: ``stop`` returned True (the states built before are kept).
        """
        if not self.image.layers:
            return True
        index = self._clamp(index)
        with self._lock:
            states = self._stacked()
            if states.built <= index:
                with collector_paused():
                    if states.state(states.built, stop).count > _FREEZE_ABOVE:
                        gc.freeze()
            return states.built > index

    def final_state(self) -> FileNode | None:
        """Return the root of the file system after the last layer (None without layers).

        The explorer's stacked state of the last layer: kept from the efficiency pass when
        :func:`analyse` kept the states, else built on first use.
        """
        if not self.image.layers:
            return None
        with self._lock, collector_paused():
            return self._stacked().state(len(self.image.layers) - 1)

    @property
    def stacked_states(self) -> StackedStates | None:
        """The image's stacked states (some or all of them built), or None when nothing asked
        for a state yet and :func:`analyse` kept none."""
        return self._states

    @property
    def states_built(self) -> int:
        """How many layers' stacked states are ready (states ``0..states_built-1``)."""
        states = self._states
        return states.built if states is not None else 0

    def _clamp(self, index: int) -> int:
        return max(0, min(index, len(self.image.layers) - 1))

    def _stacked(self) -> StackedStates:
        if self._states is None:
            self._states = StackedStates([layer.contents for layer in self.image.layers])
        return self._states


_NAMED_DUPLICATES = 5
"""Duplicate paths a warning names before it says how many more there are."""


def duplicate_paths_warning(index: int, contents: LayerContents) -> str:
    """Return the warning for a layer whose tar names some paths more than once.

    The last member of each path is used, as when the tar is extracted; ``docker load``
    refuses such a layer (Docker 20.10: "duplicates of file paths not supported").

    Args:
        index: the layer's index.
        contents: the layer (its ``duplicate_paths`` not empty).
    """
    paths = contents.duplicate_paths
    named = ", ".join("/" + path for path in paths[:_NAMED_DUPLICATES])
    more = len(paths) - _NAMED_DUPLICATES
    if more > 0:
        named += f" and {more} more"
    what = "a path" if len(paths) == 1 else f"{len(paths)} paths"
    return (
        f"layer {index}: the tar names {what} more than once ({named}); the last entry of "
        "each is used (docker load refuses such a layer: duplicates of file paths not supported)"
    )


def analyse(image: Image, *, keep_states: bool = False) -> Analysis:
    """Measure ``image`` (one pass over all entries) and return its :class:`Analysis`.

    Args:
        image: the image as read.
        keep_states: keep every layer's stacked state from the efficiency pass (see
            :func:`~dive_py.domain.efficiency.measure_efficiency`), for the explorer: its
            compared trees then cost only the comparison, none of them waits for stacking
            (issue 11). About a fifth more CPU for the pass, and every state's nodes held from
            the start (463,305 nodes, about 97 MiB, at 500,000 entries: the states the explorer
            stacked anyway; bench/README.md); the CI report and the JSON export, which need
            only the figures, leave it False and stack in place.
    """
    contents = [layer.contents for layer in image.layers]
    states = StackedStates(contents) if keep_states else None
    efficiency = measure_efficiency(contents, states)
    for layer in image.layers:
        if layer.contents.duplicate_paths:
            image.warnings.append(duplicate_paths_warning(layer.index, layer.contents))
    for index, path in efficiency.missing_whiteouts:
        image.warnings.append(f"layer {index}: whiteout of /{path}, which no lower layer has")
    return Analysis(image=image, efficiency=efficiency, _states=states)
