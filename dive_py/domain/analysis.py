"""Provides :class:`Analysis` and :func:`analyse`: an image plus its figures and compared trees."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from dive_py.domain.compare import CompareMode, build_compared_tree
from dive_py.domain.efficiency import Efficiency, measure_efficiency
from dive_py.domain.file_tree import FileTree
from dive_py.domain.image import Image

_TREE_CACHE_SIZE = 4


@dataclass(slots=True)
class Analysis:
    """An analysed image: the input to the TUI, the CI report and the JSON export.

    Attributes:
        image: the :class:`~dive_py.domain.image.Image` as read.
        efficiency: the image-wide :class:`~dive_py.domain.efficiency.Efficiency` figures.
    """

    image: Image
    efficiency: Efficiency
    _trees: "OrderedDict[tuple[int, CompareMode], FileTree]" = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def compared_tree(self, index: int, mode: CompareMode) -> FileTree:
        """Return the marked tree for layer ``index`` in ``mode``, built on first use.

        The last few trees are kept (an LRU of 4), so moving back and forth is cheap. Safe to
        call from several threads (the TUI builds trees in workers): calls are serialised.
        """
        with self._lock:
            return self._compared_tree(index, mode)

    def _compared_tree(self, index: int, mode: CompareMode) -> FileTree:
        key = (index, mode)
        tree = self._trees.get(key)
        if tree is None:
            tree = build_compared_tree([layer.contents for layer in self.image.layers], mode, index)
            self._trees[key] = tree
            while len(self._trees) > _TREE_CACHE_SIZE:
                self._trees.popitem(last=False)
        else:
            self._trees.move_to_end(key)
        return tree


def analyse(image: Image) -> Analysis:
    """Measure ``image`` (one pass over all entries) and return its :class:`Analysis`."""
    efficiency = measure_efficiency([layer.contents for layer in image.layers])
    for index, path in efficiency.missing_whiteouts:
        image.warnings.append(f"layer {index}: whiteout of /{path}, which no lower layer has")
    return Analysis(image=image, efficiency=efficiency)
