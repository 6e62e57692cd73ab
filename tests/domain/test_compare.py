"""Whiteouts, opaque directories, replacements and change marking in the compared trees."""

from __future__ import annotations

from pathlib import Path

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import FileTree
from tests.domain.test_efficiency import analyse_layers
from tests.image_builder import E, d, f, hard, opaque, sym, wh

LAYER = CompareMode.LAYER
AGG = CompareMode.AGGREGATED


def marks(tree: FileTree) -> dict[str, str]:
    return {n.path: n.diff.name[0] for n in tree.root.walk() if n.parent is not None}


def tree_of(
    tmp_path: Path, layers: list[list[E]], index: int, mode: CompareMode = LAYER
) -> FileTree:
    return analyse_layers(tmp_path, layers).compared_tree(index, mode)


def test_whiteout_of_a_file_marks_it_removed_and_keeps_siblings(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, [[d("a"), f("a/x", "1"), f("a/y", "2")], [d("a"), wh("a/x")]], 1)
    assert marks(tree) == {"/a": "M", "/a/x": "R", "/a/y": "U"}
    assert tree.find("a").size == 1  # removed children do not count


def test_whiteout_of_a_directory_removes_the_subtree(tmp_path: Path) -> None:
    layers = [[d("a"), d("a/b"), f("a/b/c", "123")], [d("a"), wh("a/b")]]
    tree = tree_of(tmp_path, layers, 1)
    assert marks(tree) == {"/a": "M", "/a/b": "R", "/a/b/c": "R"}
    assert tree.find("a/b").size == 3  # a removed directory shows what it removed


def test_opaque_directory_hides_everything_below(tmp_path: Path) -> None:
    # dive 0.13.1 ignores the marker and keeps showing a and b.
    layers = [
        [d("d"), f("d/a", "a"), d("d/sub"), f("d/sub/b", "b")],
        [d("d"), opaque("d"), f("d/c", "c")],
    ]
    tree = tree_of(tmp_path, layers, 1)
    assert marks(tree) == {"/d": "M", "/d/a": "R", "/d/sub": "R", "/d/sub/b": "R", "/d/c": "A"}
    final = tree_of(tmp_path, layers, 1, AGG)
    assert final.lookup("d/a") is None and final.lookup("d/c") is not None


def test_whiteout_and_new_file_in_the_same_layer_keep_the_new_file(tmp_path: Path) -> None:
    layers = [[f("x", "old")], [wh("x"), f("x", "new!")]]
    tree = tree_of(tmp_path, layers, 1)
    assert marks(tree) == {"/x": "M"}
    assert tree.lookup("x").size == 4


def test_recreated_after_delete(tmp_path: Path) -> None:
    layers = [[f("x", "one")], [wh("x")], [f("x", "three")]]
    assert marks(tree_of(tmp_path, layers, 1)) == {"/x": "R"}
    assert marks(tree_of(tmp_path, layers, 2)) == {"/x": "A"}
    # aggregated: x existed in layer 0 and exists at the end, rewritten -> modified
    assert marks(tree_of(tmp_path, layers, 2, AGG)) == {"/x": "M"}


def test_whiteout_of_a_missing_path_is_recorded(tmp_path: Path) -> None:
    analysis = analyse_layers(tmp_path, [[f("a", "1")], [wh("ghost")]])
    tree = analysis.compared_tree(1, LAYER)
    assert marks(tree) == {"/a": "U"}
    assert tree.missing_whiteouts == [(1, "ghost")]


def test_file_replaced_by_directory_and_back(tmp_path: Path) -> None:
    layers = [[f("p", "file")], [d("p"), f("p/child", "c")], [f("p", "file again")]]
    one = tree_of(tmp_path, layers, 1)
    assert marks(one) == {"/p": "M", "/p/child": "A"}
    assert one.lookup("p").type is EntryType.DIR
    two = tree_of(tmp_path, layers, 2)
    assert two.lookup("p").type is EntryType.FILE
    assert two.lookup("p/child") is None
    assert marks(two)["/p"] == "M"


def test_chmod_and_chown_only_are_modified(tmp_path: Path) -> None:
    layers = [
        [f("a", "x"), f("b", "y"), d("dir")],
        [f("a", "x", mode=0o600), f("b", "y", uid=1000), d("dir", mode=0o700)],
    ]
    assert marks(tree_of(tmp_path, layers, 1)) == {"/a": "M", "/b": "M", "/dir": "M"}


def test_identical_rewrite_is_modified_not_unmodified(tmp_path: Path) -> None:
    layers = [[f("a", "same"), f("b", "other")], [f("a", "same")]]
    tree = tree_of(tmp_path, layers, 1)
    assert marks(tree) == {"/a": "M", "/b": "U"}
    node = tree.find("a")
    assert node.entry.same_as(node.base_entry)  # "same content" is detectable


def test_retargeted_symlink_is_modified(tmp_path: Path) -> None:
    layers = [[sym("l", "a")], [sym("l", "b")]]
    assert marks(tree_of(tmp_path, layers, 1)) == {"/l": "M"}


def test_parent_directories_the_tar_omits_are_real_directories(tmp_path: Path) -> None:
    layers = [[d("usr", mode=0o750, uid=7, gid=8)], [f("usr/lib/x.so", "elf")]]
    analysis = analyse_layers(tmp_path, layers)
    tree = analysis.compared_tree(1, LAYER)
    lib = tree.lookup("usr/lib")
    assert lib is not None and lib.type is EntryType.DIR
    usr = tree.lookup("usr")
    assert (usr.mode, usr.uid, usr.gid) == (0o750, 7, 8)  # kept from the lower layer
    implicit = analysis.image.layers[1].contents.implicit_dirs
    assert set(implicit) == {"usr", "usr/lib"}
    assert (implicit["usr"].mode, implicit["usr"].uid) == (0o750, 7)
    assert (implicit["usr/lib"].mode, implicit["usr/lib"].explicit) == (0o755, False)


def test_entry_under_a_lower_symlink_replaces_it_with_a_directory(tmp_path: Path) -> None:
    # overlay2 unpacks each layer into its own empty directory: the lower symlink is shadowed
    # by a real directory, never followed.
    layers = [[d("real"), sym("link", "/real")], [f("link/file", "x")]]
    tree = tree_of(tmp_path, layers, 1, AGG)
    assert tree.lookup("link").type is EntryType.DIR
    assert tree.lookup("link/file") is not None
    assert tree.lookup("real/file") is None


def test_hardlink_size_follows_the_data_when_the_target_is_deleted(tmp_path: Path) -> None:
    layers = [[f("data", b"d" * 100), hard("link", "data")], [wh("data")]]
    tree = tree_of(tmp_path, layers, 1)
    assert tree.find("link").size == 100
    before = tree_of(tmp_path, layers, 0)
    assert before.find("link").size == 0 and before.find("data").size == 100


def test_layer_zero_is_unmarked_in_both_modes(tmp_path: Path) -> None:
    layers = [[d("a"), f("a/b", "x")], [f("c", "y")]]
    for mode in CompareMode:
        assert set(marks(tree_of(tmp_path, layers, 0, mode)).values()) == {"U"}


def test_aggregated_mode_combines_layers_one_to_i(tmp_path: Path) -> None:
    layers = [
        [f("base", "b"), f("gone", "g")],
        [f("one", "1")],
        [wh("gone"), f("two", "2")],
        [f("tmp", "t")],
        [wh("tmp")],
    ]
    tree = tree_of(tmp_path, layers, 4, AGG)
    # tmp was added and removed within the compared layers: removed, as dive shows it
    assert marks(tree) == {"/base": "U", "/gone": "R", "/one": "A", "/two": "A", "/tmp": "R"}
    assert marks(tree_of(tmp_path, layers, 4, LAYER)) == {
        "/base": "U",
        "/one": "U",
        "/two": "U",
        "/tmp": "R",
    }


def test_empty_layers_change_nothing(tmp_path: Path) -> None:
    layers = [[f("a", "1")], []]
    analysis = analyse_layers(tmp_path, layers)
    assert analysis.image.layers[1].size_bytes == 0
    assert marks(analysis.compared_tree(1, LAYER)) == {"/a": "U"}


def test_directory_sizes_sum_visible_descendants(tmp_path: Path) -> None:
    layers = [[d("a"), f("a/x", b"1" * 10), d("a/b"), f("a/b/y", b"2" * 5)]]
    tree = tree_of(tmp_path, layers, 0)
    assert tree.find("a").size == 15 and tree.find("a/b").size == 5 and tree.root.size == 15


def test_diff_type_values_match_dive() -> None:
    assert [
        t.value for t in (DiffType.UNMODIFIED, DiffType.MODIFIED, DiffType.ADDED, DiffType.REMOVED)
    ] == [0, 1, 2, 3]


def test_caches_compared_trees(tmp_path: Path) -> None:
    analysis: Analysis = analyse_layers(tmp_path, [[f("a", "1")], [f("b", "2")]])
    assert analysis.compared_tree(1, LAYER) is analysis.compared_tree(1, LAYER)
