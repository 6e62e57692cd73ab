"""Compared trees from stacked states (what the explorer uses) against the reference build.

:func:`compare_states` must give exactly what the oracle's :func:`build_compared_tree`
(tests/stacking_oracle.py) gives — same paths, marks, sizes, node counts, entries — for every
layer in both modes, on random images with whiteouts, opaque directories, type changes,
symlinks and hardlinks; the states must equal the oracle's plain in-place stack, share what a
layer left alone, and hold no reference cycles in the compared trees.
"""

from __future__ import annotations

import random
import tempfile
import threading
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode, compare_states, compared_from_states
from dive_py.domain.entry import FileEntry
from dive_py.domain.file_tree import BuildCancelled, FileNode, FileTree, StackedStates
from tests.domain.test_efficiency import analyse_layers
from tests.domain.test_stacking_properties import _random_layers
from tests.image_builder import E, d, f, hard, wh
from tests.stacking_oracle import OracleTree, build_compared_tree, mark_changes

LAYER = CompareMode.LAYER
AGG = CompareMode.AGGREGATED


def _entry_key(entry: FileEntry | None) -> object:
    """Entries compare by identity, except synthesised directories (each build makes its own)."""
    if entry is None:
        return None
    return id(entry) if entry.explicit else ("implicit", entry.path, entry.mode, entry.uid)


def snapshot(tree: FileTree) -> dict[str, tuple]:
    """Every node by path: diff, size, count, entries, has-children; and its own path check."""
    out: dict[str, tuple] = {}
    stack: list[tuple[FileNode, str]] = [(tree.root, "")]
    while stack:
        node, path = stack.pop()
        assert node.path == (path or "/"), "a node's parent chain must spell its path"
        out[path or "/"] = (
            node.diff.name,
            node.size,
            node.count,
            _entry_key(node.entry),
            _entry_key(node.base_entry),
            bool(node.children),
        )
        for name, child in (node.children or {}).items():
            stack.append((child, f"{path}/{name}"))
    return out


def _with_hardlinks(layers: list[list[E]], rng: random.Random) -> list[list[E]]:
    """Add hardlinks (to files of the same or a lower layer, or to nothing) and rewrites."""
    seen: list[str] = []
    out = []
    for entries in layers:
        entries = list(entries)
        files = [e.path for e in entries if e.kind == "file" and ".wh." not in e.path]
        for _ in range(rng.randint(0, 2)):
            targets = files + seen + ["nowhere"]
            name = f"link{rng.randint(0, 3)}"
            entries.append(hard(name, rng.choice(targets)))
        if seen and rng.random() < 0.3:
            entries.append(wh(rng.choice(seen)))
        seen.extend(files)
        out.append(entries)
    return out


def assert_same_trees(analysis: Analysis) -> None:
    layers = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(layers)
    for mode in CompareMode:
        for index in range(len(layers)):
            reference = build_compared_tree(layers, mode, index)
            ours = compared_from_states(states, mode, index)
            assert snapshot(ours) == snapshot(reference), (mode, index)
            assert ours.missing_whiteouts == reference.missing_whiteouts


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_compared_trees_from_states_match_the_reference(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    layers = _random_layers(rng)
    if seed % 2:
        layers = _with_hardlinks(layers, rng)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        analysis = analyse_layers(Path(work), layers)
    assert_same_trees(analysis)


def test_states_equal_a_plain_stack(tmp_path: Path) -> None:
    layers = [
        [d("a"), f("a/x", "1"), f("a/y", "22"), d("b"), f("b/z", "333")],
        [wh("a/x"), f("a/w", "4444"), hard("b/h", "a/y")],
        [f("b", "file now"), f("c/deep/e", "5")],
        [wh("a/y")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(contents)
    for index in range(len(contents)):
        plain = OracleTree()
        for i in range(index + 1):
            plain.apply(contents[i], i, base=True)
        mark_changes(plain)
        assert snapshot(FileTree.of_root(states.state(index))) == snapshot(plain)


def test_untouched_subtrees_are_shared_between_states_and_compared_trees(tmp_path: Path) -> None:
    layers = [[d("keep"), f("keep/a", "1"), d("change"), f("change/b", "2")], [f("change/c", "3")]]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    before, after = states.state(0), states.state(1)
    assert before.children["keep"] is after.children["keep"]  # type: ignore[index]
    assert before.children["change"] is not after.children["change"]  # type: ignore[index]
    tree = compare_states(before, after)
    assert tree.children["keep"] is after.children["keep"]  # type: ignore[index]
    assert tree.children["change"].diff is DiffType.MODIFIED  # type: ignore[index]
    assert tree.children["change"].children["c"].diff is DiffType.ADDED  # type: ignore[index]


def test_compared_trees_hold_no_reference_cycle(tmp_path: Path) -> None:
    """A compared tree's own nodes point to state nodes as parents: dropping it frees it."""
    layers = [
        [d("a"), f("a/x", "1"), d("a/sub"), f("a/sub/y", "2")],
        [wh("a/sub"), f("a/z", "3"), f("a/x", "11")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    base, top = states.state(0), states.state(1)
    tree = compare_states(base, top)
    shared = set()
    for root in (base, top):
        shared.update(id(node) for node in root.walk())
    own = {id(node) for node in tree.walk() if id(node) not in shared}
    assert own  # the changed paths got their own nodes
    for node in tree.walk():
        if id(node) in own and node.parent is not None:
            assert id(node.parent) not in own


def test_a_file_over_a_directory_shows_its_own_size_and_is_replaced_by_a_later_entry_below(
    tmp_path: Path,
) -> None:
    layers = [[d("p"), f("p/old", "x" * 10)], [f("p", "file!")], [f("p/new", "yy")]]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    layer1 = build_compared_tree(contents, LAYER, 1)
    assert layer1.find("p").size == 5  # the file's bytes, not its removed children's
    assert layer1.find("p/old").diff is DiffType.REMOVED
    # aggregated 1..2: p became a file, then a directory again for p/new (as a plain stack)
    agg = build_compared_tree(contents, AGG, 2)
    assert agg.lookup("p").is_dir and agg.find("p/new").diff is DiffType.ADDED
    assert agg.find("p/old").diff is DiffType.REMOVED
    assert_same_trees(analysis)


def test_analysis_builds_states_on_demand_and_caches_trees(tmp_path: Path) -> None:
    layers = [[f("a", "1")], [f("b", "2")], [f("c", "3")]]
    analysis = analyse_layers(tmp_path, layers)
    assert analysis.cached_tree(2, LAYER) is None
    assert analysis.prepare_state(0) is True
    assert analysis.prepare_state(2) is False  # one more state per call
    assert analysis.prepare_state(2) is True
    tree = analysis.compared_tree(2, LAYER)
    assert analysis.cached_tree(2, LAYER) is tree
    assert analysis.compared_tree(99, LAYER) is tree  # clamped
    assert {n.path: n.diff for n in tree.root.walk() if n.parent is not None} == {
        "/a": DiffType.UNMODIFIED,
        "/b": DiffType.UNMODIFIED,
        "/c": DiffType.ADDED,
    }


def test_analysis_trees_from_several_threads(tmp_path: Path) -> None:
    layers = [[d("d"), f("d/a", "1")], [f("d/b", "2")], [wh("d/a")], [f("e", "3")]]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    results: dict[tuple[int, CompareMode], FileTree] = {}

    def work(index: int, mode: CompareMode) -> None:
        results[(index, mode)] = analysis.compared_tree(index, mode)

    threads = [threading.Thread(target=work, args=(i, m)) for i in range(4) for m in CompareMode]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (index, mode), tree in results.items():
        assert snapshot(tree) == snapshot(build_compared_tree(contents, mode, index))


def test_empty_image_and_empty_layers(tmp_path: Path) -> None:
    assert compared_from_states(StackedStates([]), LAYER, 0).root.children == {}
    analysis = analyse_layers(tmp_path, [[f("a", "1")], []])
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    assert states.state(1) is not states.state(0)
    tree = compared_from_states(states, LAYER, 1)
    assert {n.path: n.diff for n in tree.root.walk() if n.parent is not None} == {
        "/a": DiffType.UNMODIFIED
    }


def test_a_stopped_build_keeps_nothing_and_a_later_one_is_the_same(tmp_path: Path) -> None:
    files = [f(f"d{i // 50}/f{i}", str(i)) for i in range(3000)]
    layers = [files[:1500], files[1500:] + [wh("d0/f0")]]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(contents)
    states.state(0)
    try:
        states.state(1, stop=lambda: True)
    except BuildCancelled:
        pass
    else:
        raise AssertionError("the state build did not stop")
    assert states.built == 1
    assert snapshot(compared_from_states(states, LAYER, 1)) == snapshot(
        build_compared_tree(contents, LAYER, 1)
    )
    try:
        analysis.compared_tree(1, AGG, stop=lambda: True)
    except BuildCancelled:
        pass
    else:
        raise AssertionError("the compared tree build did not stop")
    assert analysis.cached_tree(1, AGG) is None
    assert snapshot(analysis.compared_tree(1, AGG)) == snapshot(
        build_compared_tree(contents, AGG, 1)
    )


def test_a_layer_that_repeats_a_lower_one_marks_its_files_modified(tmp_path: Path) -> None:
    """Identical layer tars are read once: the repeat writes the very same entry objects."""
    layers = [[f("a", "1"), hard("h", "a")], [f("b", "2")], [f("a", "1"), hard("h", "a")]]
    analysis = analyse_layers(tmp_path, layers)
    assert analysis.image.layers[0].contents is analysis.image.layers[2].contents
    tree = analysis.compared_tree(2, LAYER)
    assert tree.find("a").diff is DiffType.MODIFIED and tree.find("b").diff is DiffType.UNMODIFIED
    assert_same_trees(analysis)


def test_the_favoured_mode_is_kept_longest(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import dive_py.domain.analysis as analysis_module

    monkeypatch.setattr(analysis_module, "_TREE_CACHE_SIZE", 3)
    analysis = analyse_layers(tmp_path, [[f("a", "1")], [f("b", "2")], [f("c", "3")]])
    analysis.favour(LAYER)
    for index in range(3):
        analysis.compared_tree(index, LAYER)
    analysis.compared_tree(2, AGG)  # one too many: the oldest goes (never the newest)
    assert analysis.cached_tree(2, AGG) is not None and analysis.cached_tree(0, LAYER) is None
    analysis.compared_tree(0, LAYER)
    analysis.compared_tree(1, AGG)  # then the other mode's trees go first
    assert analysis.cached_tree(2, AGG) is None and analysis.cached_tree(1, AGG) is not None
    assert analysis.cached_tree(0, LAYER) is not None


def test_a_path_added_and_removed_within_the_aggregated_layers_shows_as_removed(
    tmp_path: Path,
) -> None:
    """dive shows a cache a layer wrote and a later one deleted (red, in aggregated mode): it
    is the waste a user looks for. It used to vanish (issue 11)."""
    layers = [
        [d("etc"), f("etc/os", "debian")],
        [d("root"), d("root/.cache"), f("root/.cache/pip.whl", "w" * 1000), f("etc/new", "1")],
        [wh("root/.cache"), d("root"), f("etc/os", "changed")],
        [f("app.py", "print()")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    contents = [layer.contents for layer in analysis.image.layers]
    states = StackedStates(contents)
    for index in (2, 3):
        tree = compared_from_states(states, AGG, index)
        cache = tree.find("root/.cache")
        assert cache is not None and cache.diff is DiffType.REMOVED
        wheel = tree.find("root/.cache/pip.whl")
        assert wheel is not None and wheel.diff is DiffType.REMOVED and wheel.size == 1000
        assert wheel.shown_entry is contents[1].entries["root/.cache/pip.whl"]
        assert cache.size == 1000 and cache.count == 1
        root = tree.find("root")
        assert root is not None and root.diff is DiffType.ADDED
        assert root.size == 0  # a present directory counts only what is present
        assert root.count == 2
    # single-layer mode at layer 2 shows the removal too (layer 1 is in its base)
    single = compared_from_states(states, LAYER, 2)
    assert single.find("root/.cache/pip.whl").diff is DiffType.REMOVED  # type: ignore[union-attr]
    assert_same_trees(analysis)


_CHILDREN_SLOT = FileNode.__dict__["children"]


def _made(node: FileNode) -> bool:
    """True when ``node``'s children are made (reading the slot itself never makes them)."""
    try:
        _CHILDREN_SLOT.__get__(node, FileNode)
    except AttributeError:
        return False
    return True


_ADDS_A_TREE = [
    [d("etc"), f("etc/os", "debian")],
    [
        d("new"),
        d("new/a"),
        f("new/a/x", "12"),
        f("new/a/y", "3"),
        d("new/b"),
        f("new/b/z", "4"),
    ],
]
"""Two layers: a base, then a layer that adds the tree ``new`` (``new/a`` with two files,
``new/b`` with one)."""


def test_an_added_directory_copies_its_children_only_when_they_are_read(tmp_path: Path) -> None:
    """Issue 11 (memory): an added subtree is one node until the row model reads below it."""
    analysis = analyse_layers(tmp_path, _ADDS_A_TREE)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    tree = compared_from_states(states, LAYER, 1)
    new = tree.root.children["new"]  # type: ignore[index]
    assert (new.diff, new.size, new.count) == (DiffType.ADDED, 4, 5)
    assert not _made(new)
    kids = new.children
    assert kids is not None and new.children is kids  # made once, then kept
    assert sorted(kids) == ["a", "b"] and not _made(kids["a"]) and not _made(kids["b"])
    x = tree.find("new/a/x")
    assert x is not None and x.diff is DiffType.ADDED and x.base_entry is None
    assert x.entry is states.state(1).children["new"].children["a"].children["x"].entry  # type: ignore[index, union-attr]
    assert x.path == "/new/a/x" and x.children is None
    assert not _made(kids["b"])  # (only what was read)
    assert_same_trees(analysis)


def test_a_removal_below_an_added_directory_leaves_the_rest_of_it_unmade(tmp_path: Path) -> None:
    """Aggregated mode puts a ghost below an added directory without copying its siblings."""
    layers = [*_ADDS_A_TREE, [wh("new/a/x"), f("etc/os", "changed")]]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    tree = compared_from_states(states, AGG, 2)
    new = tree.root.children["new"]  # type: ignore[index]
    assert not _made(new) and new.count == 5 and new.size == 2  # (present bytes only)
    b = tree.find("new/b")
    assert b is not None and not _made(b)
    a = tree.find("new/a")
    assert a is not None and a.count == 2 and a.size == 1
    ghost = tree.find("new/a/x")
    assert ghost is not None and ghost.diff is DiffType.REMOVED and ghost.size == 2
    assert tree.find("new/a/y").diff is DiffType.ADDED  # type: ignore[union-attr]
    assert_same_trees(analysis)


def test_a_changed_directory_makes_its_children_dict_only_when_it_is_read(tmp_path: Path) -> None:
    """Issue 11 (memory): a directory in both states keeps its changed children aside and
    shares the rest with the state; the copy of its dict is made on first read."""
    layers = [
        [d("lib"), f("lib/a", "1"), f("lib/b", "2"), f("lib/c", "3")],
        [f("lib/b", "22"), wh("lib/c")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    tree = compared_from_states(states, LAYER, 1)
    lib = tree.root.children["lib"]  # type: ignore[index]
    assert (lib.diff, lib.size, lib.count) == (DiffType.MODIFIED, 3, 3)
    assert not _made(lib)
    kids = lib.children
    assert kids is not None and lib.children is kids
    state_lib = states.state(1).children["lib"]  # type: ignore[index]
    assert kids["a"] is state_lib.children["a"]  # type: ignore[union-attr]  # (shared)
    assert kids["b"].diff is DiffType.MODIFIED and kids["c"].diff is DiffType.REMOVED
    assert_same_trees(analysis)


def test_a_changed_directory_marks_its_files_only_when_it_is_read(tmp_path: Path) -> None:
    """Issue 11 (the jump to the top layer, memory): comparing marks a directory's changed
    directories, not its changed files; those are marked when its dict is made. Its size,
    count and mark are right before that."""
    layers = [
        [
            d("lib"),
            f("lib/a", "1"),
            f("lib/b", "2"),
            f("lib/c", "3"),
            d("lib/sub"),
            f("lib/sub/x", "4"),
        ],
        [f("lib/b", "22"), wh("lib/c"), f("lib/new", "55"), f("lib/sub/x", "44")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    tree = compared_from_states(states, LAYER, 1)
    lib = tree.root.children["lib"]  # type: ignore[index]
    assert (lib.diff, lib.size, lib.count) == (
        DiffType.MODIFIED,
        1 + 2 + 2 + 2,
        6,
    )  # (bytes: "1", "22", "55", "44")
    assert not _made(lib)
    assert sorted(lib.extra or {}) == ["sub"]  # type: ignore[union-attr]  # (no file marked yet)
    sub = lib.extra["sub"]  # type: ignore[union-attr]
    assert (sub.diff, sub.count, _made(sub)) == (DiffType.MODIFIED, 1, False)
    kids = lib.children
    assert kids is not None and sorted(kids) == ["a", "b", "c", "new", "sub"]
    assert [kids[name].diff for name in ("a", "b", "c", "new")] == [
        DiffType.UNMODIFIED,
        DiffType.MODIFIED,
        DiffType.REMOVED,
        DiffType.ADDED,
    ]
    assert kids["c"].size == 1 and kids["c"].base_entry is not None
    assert_same_trees(analysis)


def test_a_directory_whose_changes_below_are_all_unmodified_stays_unmodified(
    tmp_path: Path,
) -> None:
    """A file whose node changed while its entry did not (a hardlink whose data lost its own
    name: its bytes change hands) is unmodified, and so is its directory: the directory's mark
    is decided without marking the file, and must not take the changed node for a change."""
    layers = [
        [d("data"), f("data/a", "12345"), d("links"), hard("links/h", "data/a")],
        [wh("data/a")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    before = states.state(0).children["links"]  # type: ignore[index]
    after = states.state(1).children["links"]  # type: ignore[index]
    assert after is not before and after.children["h"].entry is before.children["h"].entry  # type: ignore[index]
    tree = compared_from_states(states, LAYER, 1)
    links = tree.root.children["links"]  # type: ignore[index]
    assert links.diff is DiffType.UNMODIFIED and links.size == 5
    assert links.children["h"].diff is DiffType.UNMODIFIED  # type: ignore[index]
    assert tree.root.children["data"].diff is DiffType.MODIFIED  # type: ignore[index]
    assert_same_trees(analysis)
