"""DataOffsets: a layer's file data offsets in a list and an array (issue 11)."""

from __future__ import annotations

import pickle

import pytest

from dive_py.domain.data_offsets import DataOffsets


def _offsets(*pairs: tuple[str, int]) -> DataOffsets:
    offsets = DataOffsets()
    for path, offset in pairs:
        offsets[path] = offset
    return offsets


def test_the_last_offset_added_for_a_path_wins() -> None:
    offsets = _offsets(("a", 512), ("b", 1536), ("a", 4096))
    assert offsets["a"] == 4096 and offsets["b"] == 1536
    assert len(offsets) == 2 and list(offsets) == ["a", "b"]
    assert offsets == {"a": 4096, "b": 1536}


def test_an_offset_added_after_a_lookup_is_found() -> None:
    offsets = _offsets(("a", 512))
    assert "b" not in offsets  # (builds the index)
    offsets["b"] = 2**40
    offsets["a"] = 1024
    assert offsets["b"] == 2**40 and offsets["a"] == 1024


def test_a_missing_path_raises_key_error() -> None:
    with pytest.raises(KeyError):
        _offsets(("a", 512))["b"]


def test_the_paths_are_the_strings_given_not_copies() -> None:
    path = "".join(["usr/", "lib/x"])
    assert next(iter(_offsets((path, 512)))) is path


def test_pickling_keeps_the_offsets_and_drops_the_index() -> None:
    offsets = _offsets(("a", 512), ("a", 1024), ("c", 0))
    assert "a" in offsets
    state = offsets.__getstate__()
    assert not any(isinstance(part, dict) for part in state)
    loaded = pickle.loads(pickle.dumps(offsets))
    assert loaded == offsets and loaded["a"] == 1024 and loaded["c"] == 0
