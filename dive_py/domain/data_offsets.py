"""Provides :class:`DataOffsets`: where each file's bytes start in its uncompressed layer tar.

A layer of a million files held these in a ``dict[str, int]``: an int object (28 bytes, the
offsets pass 2**8) and a dict slot (about 20 bytes) per file, about 46 MiB at 1,000,000
entries (issue 11). Here the paths (the entries' own strings: no copies) sit in a list and
the offsets in an ``array('Q')``: 16 bytes per file. Only the file viewer looks an offset up,
so the path -> position index is built on the first lookup of a layer (a dict per layer that
a viewer opened a file of; not pickled into the analysis cache).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator


class DataOffsets:
    """path (as in the layer, no leading ``/``) -> offset in bytes of its data in the
    uncompressed layer tar, in the order they were added; the last offset added for a path
    wins (a tar may name a path more than once: see ``LayerContents.duplicate_paths``).

    Supports ``offsets[path] = offset`` (append; offsets are non-negative ints below 2**64),
    ``path in offsets``, ``offsets[path]`` (:class:`KeyError` when absent), ``len``, iteration
    over the distinct paths, and ``==`` with another :class:`DataOffsets` or a ``dict``.
    """

    __slots__ = ("_index", "_offsets", "_paths")

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._offsets = array("Q")
        self._index: dict[str, int] | None = None

    def __setitem__(self, path: str, offset: int) -> None:
        self._paths.append(path)
        self._offsets.append(offset)
        if self._index is not None:
            self._index[path] = len(self._paths) - 1

    def _lookup(self) -> dict[str, int]:
        index = self._index
        if index is None:
            index = self._index = {path: i for i, path in enumerate(self._paths)}
        return index

    def __getitem__(self, path: str) -> int:
        return self._offsets[self._lookup()[path]]

    def __contains__(self, path: object) -> bool:
        return path in self._lookup()

    def __len__(self) -> int:
        return len(self._lookup())

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def as_dict(self) -> dict[str, int]:
        """A new ``dict`` path -> offset (the last one added for each path)."""
        offsets = self._offsets
        return {path: offsets[i] for path, i in self._lookup().items()}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataOffsets):
            return self.as_dict() == other.as_dict()
        if isinstance(other, dict):
            return self.as_dict() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # (mutable, like a dict)

    def __repr__(self) -> str:
        return f"DataOffsets({self.as_dict()!r})"

    def __getstate__(self) -> tuple[list[str], array[int]]:
        return (self._paths, self._offsets)  # (the index is rebuilt on first lookup)

    def __setstate__(self, state: tuple[list[str], array[int]]) -> None:
        self._paths, self._offsets = state
        self._index = None
