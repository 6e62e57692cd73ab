"""The layer preview (what the explorer shows while a layer's compared tree is built) against
the compared tree that follows: the preview is that tree's layer part, marked the same way."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode, compared_from_states
from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import FileNode, FileTree, StackedStates
from dive_py.domain.layer_preview import layer_preview
from tests.domain.test_compare_states import _entry_key, _with_hardlinks
from tests.domain.test_efficiency import analyse_layers
from tests.domain.test_stacking_properties import _random_layers
from tests.image_builder import d, f, wh


def nodes(tree: FileTree) -> dict[str, FileNode]:
    """Every node by path (``"/"`` for the root), checking each node's parent chain."""
    out: dict[str, FileNode] = {}
    stack: list[tuple[FileNode, str]] = [(tree.root, "")]
    while stack:
        node, path = stack.pop()
        assert node.path == (path or "/")
        out[path or "/"] = node
        for name, child in (node.children or {}).items():
            stack.append((child, f"{path}/{name}"))
    return out


def assert_preview_is_the_layer_part(analysis: Analysis) -> None:
    layers = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(layers)
    for index in range(1, len(layers)):
        contents = layers[index]
        if contents.duplicate_paths:
            continue  # (previewed as the entries say; see the module docstring)
        final = nodes(compared_from_states(states, CompareMode.LAYER, index))
        marked = nodes(layer_preview(contents, states.state(index - 1)))
        unmarked = nodes(layer_preview(contents, None))
        written = {"/" + path: entry for path, entry in contents.entries.items()}
        assert set(written) <= set(marked), index
        assert set(written) <= set(unmarked), index
        for tree in (marked, unmarked):
            for path, node in tree.items():
                assert path in final, (index, path)  # no row the compared tree lacks
                prefix = path.rstrip("/") + "/"
                count = sum(1 for p in tree if p != path and p.startswith(prefix))
                assert node.count == count, (index, path)
                if node.is_dir and node.diff is not DiffType.REMOVED:
                    size = sum(child.size for child in (node.children or {}).values())
                    assert node.size == size, (index, path)
        assert all(node.diff is DiffType.UNMODIFIED for node in unmarked.values())
        for path, entry in written.items():
            node, other = marked[path], final[path]
            assert node.entry is entry is other.entry, (index, path)
            assert unmarked[path].entry is entry, (index, path)
            if entry.type is EntryType.DIR:
                continue
            assert node.diff is other.diff, (index, path)
            assert _entry_key(node.base_entry) == _entry_key(other.base_entry), (index, path)
            if entry.type is not EntryType.HARDLINK:
                assert node.size == other.size, (index, path)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_preview_is_the_compared_trees_layer_part(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    layers = _random_layers(rng)
    if seed % 2:
        layers = _with_hardlinks(layers, rng)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        analysis = analyse_layers(Path(work), layers)
    assert_preview_is_the_layer_part(analysis)


def test_the_preview_marks_added_modified_and_removed_paths(tmp_path: Path) -> None:
    analysis = analyse_layers(
        tmp_path,
        [
            [d("etc"), f("etc/a", "1"), f("etc/b", "2"), d("var"), f("var/x", "3")],
            [f("etc/a", "11"), f("etc/c", "4"), wh("var/x")],
        ],
    )
    layers = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(layers)
    preview = nodes(layer_preview(layers[1], states.state(0)))
    assert {path: node.diff for path, node in preview.items()} == {
        "/": DiffType.MODIFIED,
        "/etc": DiffType.MODIFIED,
        "/etc/a": DiffType.MODIFIED,
        "/etc/c": DiffType.ADDED,
        "/var": DiffType.MODIFIED,
        "/var/x": DiffType.REMOVED,
    }
    assert "/etc/b" not in preview  # unchanged: it comes with the compared tree
    assert preview["/etc"].size == 2 + 1  # the preview's own paths below it
    assert_preview_is_the_layer_part(analysis)
