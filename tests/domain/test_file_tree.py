"""The stacking step and its helpers: in-place stacking equals the kept states, path lookup,
node and synthetic directory factories."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import (
    FileNode,
    FileTree,
    StackedStates,
    find_node,
    stack_layer,
    synthetic_directory,
)
from dive_py.domain.layer_tar import LayerContents
from tests.domain.test_compare_states import _with_hardlinks
from tests.domain.test_efficiency import analyse_layers
from tests.domain.test_stacking_properties import _random_layers
from tests.image_builder import d, f, hard, sym, wh


def _shape(root: FileNode) -> dict[str, tuple[object, bool]]:
    """Path -> (the entry, is a directory) of every node below ``root``; entries by identity,
    synthesised directories (each stacking makes its own) by path, mode and owner."""
    out: dict[str, tuple[object, bool]] = {}
    stack: list[tuple[FileNode, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        entry = node.entry
        assert entry is not None
        key = id(entry) if entry.explicit else (entry.path, entry.mode, entry.uid, entry.gid)
        out[path] = (key, node.children is not None)
        for name, child in (node.children or {}).items():
            stack.append((child, f"{path}/{name}"))
    return out


def _in_place_states(
    layers: list[LayerContents],
) -> list[tuple[dict[str, tuple[object, bool]], list[tuple[int, str]]]]:
    """Stack ``layers`` in place (as the efficiency pass does): each layer's shape and misses."""
    root = FileTree().root
    hardlinks: dict[str, None] = {}
    out = []
    for index, layer in enumerate(layers):
        missing: list[tuple[int, str]] = []
        after = stack_layer(root, layer, index, missing, hardlinks, in_place=True)
        assert after is root  # changed, not copied
        out.append((_shape(root), missing))
    return out


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_stacking_in_place_gives_every_state_the_kept_states_give(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    layers = _with_hardlinks(_random_layers(rng), rng)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        analysis = analyse_layers(Path(work), layers)
    contents = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(contents)
    for index, (shape, missing) in enumerate(_in_place_states(contents)):
        assert shape == _shape(states.state(index)), index
        assert missing == [item for item in states.missing_whiteouts(index) if item[0] == index]


def test_copy_on_write_leaves_the_previous_state_as_it_was(tmp_path: Path) -> None:
    layers = [
        [d("a"), f("a/x", "1"), sym("l", "a"), f("gone", "2")],
        [wh("gone"), f("a/x", "11"), f("l/y", "3"), f("a", "now a file")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    first = stack_layer(None, contents[0], 0, [], {})
    before = _shape(first)
    second = stack_layer(first, contents[1], 1, [], {})
    assert _shape(first) == before
    assert second is not first
    assert find_node(second, "l").entry.type is EntryType.DIR  # type: ignore[union-attr]
    assert find_node(second, "l").entry.explicit is False  # type: ignore[union-attr]
    assert find_node(second, "a").children is None  # type: ignore[union-attr]
    assert find_node(second, "gone") is None


def test_find_node_walks_children_only() -> None:
    root = FileTree().root
    usr = FileNode("usr", root, synthetic_directory("usr"), None)
    root.children["usr"] = usr  # type: ignore[index]
    entry = FileEntry("usr/file", EntryType.FILE, 3, 0o644, 0, 0)
    file = FileNode("file", usr, entry, entry)
    usr.children["file"] = file  # type: ignore[index]
    assert find_node(root, "") is root
    assert find_node(root, "usr") is usr
    assert find_node(root, "usr/file") is file
    assert find_node(root, "usr/file/below") is None  # a file has no children
    assert find_node(root, "usr/missing") is None
    assert find_node(root, "/usr") is None  # no leading "/"
    tree = FileTree.of_root(root)
    assert tree.find("usr/file") is file and tree.lookup("usr/file") is entry


def test_node_factory_sets_every_field() -> None:
    parent = FileTree().root
    entry = FileEntry("x", EntryType.FILE, 5, 0o644, 0, 0)
    node = FileNode.of("x", parent, None, entry, None, DiffType.ADDED, 5, 0)
    assert (node.name, node.parent, node.children, node.entry, node.base_entry) == (
        "x",
        parent,
        None,
        entry,
        None,
    )
    assert (node.diff, node.size, node.count) == (DiffType.ADDED, 5, 0)
    assert node.path == "/x"


def test_synthetic_directory_keeps_the_lower_directory_mode_and_owner() -> None:
    plain = synthetic_directory("a/b")
    assert (plain.path, plain.type, plain.size, plain.mode, plain.uid, plain.gid) == (
        "a/b",
        EntryType.DIR,
        0,
        0o755,
        0,
        0,
    )
    assert plain.explicit is False and plain.linkname == "" and plain.digest == 0
    lower = FileEntry("a/b", EntryType.DIR, 0, 0o700, 1000, 100)
    like = synthetic_directory("a/b", lower)
    assert (like.mode, like.uid, like.gid, like.explicit) == (0o700, 1000, 100, False)


def _sized_shape(root: FileNode) -> dict[str, tuple[object, bool, int, int]]:
    """:func:`_shape` plus every node's size (bytes) and count (nodes below)."""
    shape = _shape(root)
    out: dict[str, tuple[object, bool, int, int]] = {}
    stack: list[tuple[FileNode, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        out[path] = (*shape[path], node.size, node.count)
        for name, child in (node.children or {}).items():
            stack.append((child, f"{path}/{name}"))
    return out


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_efficiency_pass_keeps_the_states_a_plain_stacking_builds_and_the_same_figures(
    tmp_path: Path, seed: int
) -> None:
    """Issue 11: ``analyse(keep_states=True)`` hands the explorer every layer's state, built
    by the efficiency pass itself; states and figures are those of the in-place pass and of
    a StackedStates built afterwards."""
    rng = random.Random(seed)
    layers = _with_hardlinks(_random_layers(rng), rng)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        kept = analyse_layers(Path(work), layers, keep_states=True)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        plain = analyse_layers(Path(work), layers)
    assert kept.efficiency == plain.efficiency
    assert plain.states_built == 0
    assert kept.states_built == len(kept.image.layers)
    states = kept.stacked_states
    assert states is not None
    contents = [layer.contents for layer in kept.image.layers]
    again = StackedStates(contents)
    for index in range(len(contents)):
        assert _sized_shape(states.built_state(index)) == _sized_shape(again.state(index)), index
        assert states.missing_whiteouts(index) == again.missing_whiteouts(index)


def test_extended_states_share_the_built_roots_and_stack_the_new_layers(tmp_path: Path) -> None:
    layers = [
        [d("a"), f("a/x", "1"), f("gone", "2")],
        [f("a/y", "3"), wh("nothing")],
        [wh("gone"), f("a/x", "11"), hard("h", "a/x")],
    ]
    contents = [layer.contents for layer in analyse_layers(tmp_path, layers).image.layers]
    lower = StackedStates(contents[:2])
    lower.state(1)
    extended = lower.extended(contents)
    assert extended.built == 2
    assert extended.built_state(0) is lower.built_state(0)
    assert extended.built_state(1) is lower.built_state(1)
    plain = StackedStates(contents)
    assert _sized_shape(extended.state(2)) == _sized_shape(plain.state(2))
    assert extended.missing_whiteouts(2) == plain.missing_whiteouts(2) == [(1, "nothing")]
    assert lower.built == 2  # the lower states are left as they were


def test_extended_states_refuse_other_layers(tmp_path: Path) -> None:
    import pytest

    contents = [
        layer.contents
        for layer in analyse_layers(tmp_path, [[f("a", "1")], [f("b", "2")]]).image.layers
    ]
    with pytest.raises(ValueError, match="start with"):
        StackedStates(contents[1:]).extended(contents)
