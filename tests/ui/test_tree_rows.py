"""Unit tests of the flat row model behind the file tree pane (no Textual)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, FileTree
from dive_py.ui.tree_rows import (
    SortOrder,
    TreeRows,
    attributes,
    display_name,
    format_size,
    indent_guides,
)

A, M, R, U = DiffType.ADDED, DiffType.MODIFIED, DiffType.REMOVED, DiffType.UNMODIFIED


def build(spec: dict[str, object]) -> FileTree:
    """Build a marked tree: ``{"path": (size, diff)}`` for files, ``"dir/"`` keys for dirs."""
    tree = FileTree()
    for raw, value in spec.items():
        is_dir = raw.endswith("/")
        path = raw.strip("/")
        parent = tree.root
        parts = path.split("/")
        for part in parts[:-1]:
            parent = parent.children[part]  # type: ignore[index]
        size, diff = value if isinstance(value, tuple) else (0, U)  # type: ignore[misc]
        kind = EntryType.DIR if is_dir else EntryType.FILE
        entry = FileEntry(path, kind, 0 if is_dir else size, 0o755 if is_dir else 0o644, 0, 0)
        node = FileNode(parts[-1], parent, entry, entry)
        node.diff, node.size = diff, size
        parent.children[parts[-1]] = node  # type: ignore[index]
    return tree


@pytest.fixture
def tree() -> FileTree:
    return build(
        {
            "bin/": (30, M),
            "bin/sh": (10, U),
            "bin/ls": (20, A),
            "etc/": (5, U),
            "etc/passwd": (5, U),
            "tmp/": (0, M),
            "tmp/gone": (0, R),
            "zz": (100, A),
        }
    )


def paths(model: TreeRows) -> list[str]:
    return [model.path_of(i) for i in range(len(model))]


def test_rows_sorted_by_name_with_depths(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert paths(model) == [
        "/bin",
        "/bin/ls",
        "/bin/sh",
        "/etc",
        "/etc/passwd",
        "/tmp",
        "/tmp/gone",
        "/zz",
    ]
    assert model.depths == [0, 1, 1, 0, 1, 0, 1, 0]


def test_guides_and_markers(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.guides(0) == "├── "
    assert model.guides(1) == "│   ├── "
    assert model.guides(2) == "│   └── "
    assert model.guides(7) == "└── "
    assert [model.marker(i) for i in range(len(model))] == ["~", "+", " ", " ", " ", "~", "-", "+"]
    model.toggle(0)
    assert model.guides(0) == "├─⊕ "


def test_row_text_has_marker_attributes_and_name(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.row_text(1) == "+ -rw-r--r--         0:0       20 B │   ├── ls"
    assert model.row_text(1, attrs=False) == "+ │   ├── ls"


def test_collapse_splices_and_survives_a_new_root(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    generation = model.generation
    assert model.toggle(0)
    assert paths(model)[:2] == ["/bin", "/etc"]
    assert model.generation > generation
    assert model.is_collapsed(0)
    assert not model.toggle(1) or True  # /etc expands/collapses fine
    model.toggle(1)
    # a leaf cannot be toggled
    assert not model.toggle(len(model) - 1)
    other = build({"bin/": (1, U), "bin/sh": (1, U), "new": (1, A)})
    model.set_root(other.root)
    assert paths(model) == ["/bin", "/new"]  # /bin stays collapsed in another layer
    model.toggle(0)
    assert paths(model) == ["/bin", "/bin/sh", "/new"]


def test_copy_for_keeps_settings(tree: FileTree) -> None:
    model = TreeRows(tree.root, hidden=[U])
    model.toggle(0)
    copy = model.copy_for(tree.root)
    assert paths(copy) == paths(model)
    copy.toggle(0)
    assert paths(copy) != paths(model)  # independent collapse state


def test_collapse_all_then_expand_all(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.toggle_all() is True
    assert paths(model) == ["/bin", "/etc", "/tmp", "/zz"]
    assert model.toggle_all() is False
    assert len(model) == 8
    start_collapsed = TreeRows(tree.root, collapse_all=True)
    assert len(start_collapsed) == 4


@pytest.mark.parametrize(
    "diff, gone",
    [
        (A, {"/bin/ls", "/zz"}),
        (R, {"/tmp/gone"}),
        (M, set()),  # modified dirs stay: they have visible children
        (U, {"/etc", "/etc/passwd", "/bin/sh"}),
    ],
)
def test_hidden_change_types(tree: FileTree, diff: DiffType, gone: set[str]) -> None:
    model = TreeRows(tree.root)
    everything = set(paths(model))
    assert model.toggle_hidden(diff) is False
    assert set(paths(model)) == everything - gone
    assert model.toggle_hidden(diff) is True
    assert set(paths(model)) == everything


def test_hidden_modified_dir_without_visible_children_goes() -> None:
    tree = build({"d/": (0, M), "d/x": (0, R)})
    model = TreeRows(tree.root, hidden=[M, R])
    assert paths(model) == []


def test_regex_filter_keeps_parents_and_last_good_pattern(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.set_filter("(ls|wd)$")
    assert paths(model) == ["/bin", "/bin/ls", "/etc", "/etc/passwd"]
    assert not model.set_filter("([")
    assert model.pattern_error
    assert paths(model) == ["/bin", "/bin/ls", "/etc", "/etc/passwd"]  # last good one kept
    assert model.pattern_text == "(ls|wd)$"
    assert model.set_filter("")
    assert len(model) == 8 and model.pattern_error == ""


def test_sort_by_size_largest_first(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.toggle_sort() is SortOrder.SIZE
    assert paths(model) == [
        "/zz",
        "/bin",
        "/bin/ls",
        "/bin/sh",
        "/etc",
        "/etc/passwd",
        "/tmp",
        "/tmp/gone",
    ]
    assert model.toggle_sort() is SortOrder.NAME


def test_parent_index_and_path_lookup(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    assert model.parent_index(2) == 0
    assert model.parent_index(0) is None
    assert model.index_of_path("/etc/passwd") == 4
    assert model.index_of_path("/nope") is None
    assert model.nearest_index("/etc/nope/deeper") == 3
    model.toggle(3)
    assert model.index_of_path("/etc/passwd") is None
    assert model.reveal("/etc/passwd") == 4
    assert model.reveal("/missing") is None


def test_find_node_takes_absolute_paths_and_skips_empty_components(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    passwd = tree.find("etc/passwd")
    assert passwd is not None
    assert model.find_node("/etc/passwd") is passwd
    assert model.find_node("//etc//passwd/") is passwd
    assert model.find_node("/") is tree.root and model.find_node("") is tree.root
    assert model.find_node("/etc/passwd/below") is None and model.find_node("/nope") is None


def test_display_of_links_and_escaped_names() -> None:
    tree = FileTree()
    link = FileEntry("l", EntryType.SYMLINK, 0, 0o777, 0, 0, "/target\n")
    node = FileNode("l\x1b[31m", tree.root, link, link)
    assert display_name(node) == "l\\x1b[31m → /target\\n"
    hard = FileEntry("h", EntryType.HARDLINK, 0, 0o644, 1, 2, "data/h1")
    assert display_name(FileNode("h", tree.root, hard, hard)) == "h → data/h1"
    setuid = FileEntry("s", EntryType.FILE, 5, 0o4755, 1000, 1000)
    node = FileNode("s", tree.root, setuid, setuid)
    node.size = 2_500_000
    assert attributes(node) == "-rwsr-xr-x   1000:1000     2.5 MB "


def test_format_size() -> None:
    assert format_size(0) == "0 B"
    assert format_size(999) == "999 B"
    assert format_size(1500) == "1.5 kB"
    assert format_size(820_000) == "820 kB"  # dive (go-humanize), not "820.0 kB"
    assert format_size(5_948_230) == "5.9 MB"


def big_tree(dirs: int = 5000, files: int = 100) -> FileTree:
    """A tree of ``dirs`` directories of ``files`` files each (505,000 nodes by default)."""
    tree = FileTree()
    root = tree.root
    file_entry = FileEntry("f", EntryType.FILE, 10, 0o644, 0, 0)
    dir_entry = FileEntry("d", EntryType.DIR, 0, 0o755, 0, 0)
    for i in range(dirs):
        directory = FileNode(f"d{i:05d}", root, dir_entry, dir_entry)
        root.children[directory.name] = directory  # type: ignore[index]
        kids = directory.children
        assert kids is not None
        for j in range(files):
            node = FileNode(f"f{j:03d}", directory, file_entry, file_entry)
            node.size = j
            node.diff = A if j % 3 == 0 else U
            kids[node.name] = node
        directory.size = sum(range(files))
    return tree


def test_half_a_million_entries() -> None:
    tree = big_tree()
    model = TreeRows(tree.root)
    assert len(model) == 505_000
    model.toggle(0)
    assert len(model) == 504_900
    model.toggle(0)
    assert len(model) == 505_000
    assert model.index_of_path("/d04999/f099") == 504_999
    model.set_hidden([A])
    assert len(model) == 5000 + 5000 * 66


def test_model_does_not_import_textual() -> None:
    code = (
        "import sys, dive_py.ui.tree_rows, dive_py.explorer_config; "
        "sys.exit('textual' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


# --- rows on demand against an eager reference ---------------------------------------------


def _reference_rows(model: TreeRows) -> list[tuple[str, int, int]]:
    """The rows as the eager model listed them: (path, depth, guide mask), depth-first."""
    rows: list[tuple[str, int, int]] = []

    def visit(node: FileNode, path: str, depth: int, mask: int) -> None:
        kids = model.children(node)
        for i, kid in enumerate(kids):
            own = mask | (1 << depth) if i == len(kids) - 1 else mask
            kid_path = f"{path}/{kid.name}"
            rows.append((kid_path, depth, own))
            if kid.children and not model.is_collapsed_path(kid_path) and model.children(kid):
                visit(kid, kid_path, depth + 1, own & ~(1 << (depth + 1)))

    visit(model.root, "", 0, 0)
    return rows


def _random_tree(rng, counted: bool) -> FileTree:  # type: ignore[no-untyped-def]
    tree = FileTree()
    diffs = [A, M, R, U]
    dir_entry = FileEntry("d", EntryType.DIR, 0, 0o755, 0, 0)
    file_entry = FileEntry("f", EntryType.FILE, 1, 0o644, 0, 0)

    def fill(parent: FileNode, depth: int) -> None:
        for i in range(rng.randint(0, 4 if depth < 3 else 0)):
            is_dir = rng.random() < 0.4
            name = rng.choice("abcxyz") + str(i)
            entry = dir_entry if is_dir else file_entry
            node = FileNode(name, parent, entry, entry)
            node.diff = rng.choice(diffs)
            node.size = rng.randint(0, 9)
            parent.children[name] = node  # type: ignore[index]
            if is_dir:
                fill(node, depth + 1)

    fill(tree.root, 0)
    if counted:  # as compared trees carry them: nodes below each node
        for node in reversed(list(tree.root.walk())):
            node.count = sum(1 + kid.count for kid in (node.children or {}).values())
    return tree


@pytest.mark.parametrize("seed", range(60))
def test_rows_on_demand_match_an_eager_listing(seed: int) -> None:
    import random

    rng = random.Random(seed)
    tree = _random_tree(rng, counted=seed % 2 == 0)
    model = TreeRows(
        tree.root,
        collapse_all=rng.random() < 0.3,
        hidden=rng.sample([A, M, R, U], rng.randint(0, 1) if seed % 3 else 0),
        pattern=rng.choice(["", "", "x", "a.*1"]),
        sort=rng.choice([SortOrder.NAME, SortOrder.SIZE]),
    )
    for _ in range(12):
        expected = _reference_rows(model)
        assert [
            (model.path_of(i), model.depths[i], model.masks[i]) for i in range(len(model))
        ] == expected
        for i, (path, _, _) in enumerate(expected):
            assert model.index_of_path(path) == i
            assert model.subtree_end(i) == next(
                (j for j in range(i + 1, len(expected)) if expected[j][1] <= expected[i][1]),
                len(expected),
            )
            parent = path.rpartition("/")[0]
            assert model.parent_index(i) == (model.index_of_path(parent) if parent else None)
        if not len(model):
            break
        action = rng.random()
        if action < 0.6:
            model.toggle(rng.randrange(len(model)))
        elif action < 0.7:
            model.toggle_all()
        elif action < 0.8:
            model = model.copy_for(tree.root)
        elif action < 0.9:
            model.toggle_sort()
        else:
            model.reveal(rng.choice(expected)[0])


def test_a_new_tree_costs_no_rows_until_drawn() -> None:
    """With node counts known (compared trees carry them), a model over a big tree answers its
    length and any row by walking one path, never listing the rows."""
    tree = big_tree(dirs=2000, files=100)
    for node in tree.root.children.values():  # type: ignore[union-attr]
        node.count = len(node.children or ())
    tree.root.count = sum(1 + n.count for n in tree.root.children.values())  # type: ignore[union-attr]
    model = TreeRows(tree.root)
    assert len(model) == 202_000
    assert model.path_of(201_999) == "/d01999/f099"
    assert len(model._kids) <= 2  # the root's and one directory's children were sorted
    model.toggle(0)
    assert len(model) == 201_900 and len(model._kids) <= 3


# -- indent budget (issue 11: deep names stay readable) -------------------------------------


def test_guides_within_budget_keep_their_full_width() -> None:
    assert indent_guides(2, 0, "├── ", 40) == "│   │   ├── "
    assert indent_guides(2, 0, "├── ", None) == "│   │   ├── "


def test_deep_guides_narrow_then_elide() -> None:
    # 11 ancestor levels (a file at depth 12) in 20 cells: outer levels 4 wide, inner 1 wide
    narrowed = indent_guides(11, 0, "└── ", 20)
    assert len(narrowed) <= 20 and narrowed.endswith("└── ")
    assert narrowed.startswith("│   ")
    # in 12 cells even one cell per level is too wide: the outer levels give way to "…"
    elided = indent_guides(11, 0, "└── ", 12)
    assert elided == "…│││││││└── "


@given(
    depth=st.integers(min_value=0, max_value=200),
    mask=st.integers(min_value=0, max_value=(1 << 201) - 1),
    budget=st.integers(min_value=0, max_value=300),
)
def test_guides_never_exceed_the_budget(depth: int, mask: int, budget: int) -> None:
    guides = indent_guides(depth, mask, "├── ", budget)
    assert len(guides) <= max(budget, 5)
    assert guides.endswith("├── ")
    if 4 * depth + 4 <= budget:
        assert len(guides) == 4 * depth + 4


# --- directory sizes under hidden types and a filter (dive's rule) ------------------------


def test_hidden_types_size_directories_by_their_shown_rows(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    bin_dir = model.find_node("/bin")
    assert bin_dir is not None and model.shown_size(bin_dir) == 30
    model.toggle_hidden(U)  # /bin/sh (10 B, unchanged) goes, /bin/ls (20 B, added) stays
    assert model.shown_size(bin_dir) == 20 and bin_dir.size == 30  # the full size is kept
    row = model.index_of_path("/bin")
    assert row is not None and model.row_text(row).startswith("~ " + attributes(bin_dir, 20))
    assert "20 B" in model.row_text(row)
    model.toggle_hidden(U)
    assert model.shown_size(bin_dir) == 30 and "30 B" in model.row_text(row)


def test_a_filter_sizes_directories_by_their_shown_rows(tree: FileTree) -> None:
    model = TreeRows(tree.root)
    bin_dir = model.find_node("/bin")
    assert bin_dir is not None
    assert model.set_filter("sh$")
    assert paths(model) == ["/bin", "/bin/sh"] and model.shown_size(bin_dir) == 10
    assert model.set_filter("^/bin$")  # the directory itself matches, nothing below it
    assert paths(model) == ["/bin"] and model.shown_size(bin_dir) == 0
    assert model.set_filter("")
    assert model.shown_size(bin_dir) == 30


def test_sizes_count_up_through_nested_directories() -> None:
    tree = build(
        {
            "usr/": (111, M),
            "usr/lib/": (110, M),
            "usr/lib/big": (100, U),
            "usr/lib/new": (10, A),
            "usr/bin": (1, U),
        }
    )
    model = TreeRows(tree.root, hidden=[U])
    usr, lib = model.find_node("/usr"), model.find_node("/usr/lib")
    assert usr is not None and lib is not None
    assert paths(model) == ["/usr", "/usr/lib", "/usr/lib/new"]
    assert (model.shown_size(usr), model.shown_size(lib)) == (10, 10)
    assert (usr.size, lib.size) == (111, 110)


def test_sort_by_size_follows_the_shown_sizes() -> None:
    tree = build({"a/": (101, M), "a/old": (100, U), "a/new": (1, A), "b/": (5, A), "b/x": (5, A)})
    model = TreeRows(tree.root, sort=SortOrder.SIZE)
    assert [model.path_of(i) for i in range(len(model)) if model.depths[i] == 0] == ["/a", "/b"]
    model.toggle_hidden(U)
    assert [model.path_of(i) for i in range(len(model)) if model.depths[i] == 0] == ["/b", "/a"]


def _dive_sizes(root: FileNode, hidden: set[DiffType], pattern: str | None) -> dict[str, int]:
    """dive's way, eagerly: drop the hidden nodes (a node stays when a child stays, or when its
    change is shown and the filter finds its path), then size each node by what is left (a
    directory sums its remaining children, a removed child only in a removed directory)."""
    import re

    out: dict[str, int] = {}

    def keep(node: FileNode, path: str) -> int | None:
        kept = []
        for child in (node.children or {}).values():
            size = keep(child, f"{path}/{child.name}")
            if size is not None:
                kept.append((child, size))
        if not kept and (
            node.diff in hidden or (pattern is not None and not re.search(pattern, path or "/"))
        ):
            return None
        kind = node.entry or node.base_entry
        if node.children and (kind is None or kind.is_dir):
            size = sum(s for child, s in kept if child.entry is not None or node.entry is None)
        else:
            size = node.size
        out[path] = size
        return size

    keep(root, "")
    return out


@pytest.mark.parametrize("seed", range(16))
def test_shown_sizes_match_dives_rule_on_compared_trees(tmp_path: Path, seed: int) -> None:
    import random

    from dive_py.domain.compare import CompareMode, compared_from_states
    from dive_py.domain.file_tree import StackedStates
    from tests.domain.test_compare_states import _with_hardlinks
    from tests.domain.test_efficiency import analyse_layers
    from tests.domain.test_stacking_properties import _random_layers

    rng = random.Random(seed)
    layers = _with_hardlinks(_random_layers(rng), rng)
    analysis = analyse_layers(tmp_path, layers)
    states = StackedStates([layer.contents for layer in analysis.image.layers])
    settings: list[tuple[set[DiffType], str | None]] = [
        *(({diff}, None) for diff in DiffType),
        (set(), "a"),
        ({U}, "b"),
    ]
    for mode in CompareMode:
        for index in range(len(layers)):
            root = compared_from_states(states, mode, index).root
            # nothing hidden: the rule gives every node its own size (the sizes stay as today)
            full = _dive_sizes(root, set(), None)
            for node in root.walk():
                if node is not root:
                    assert full[node.path] == node.size, (mode, index, node.path)
            for hidden, pattern in settings:
                model = TreeRows(root, hidden=hidden, pattern=pattern or "")
                expected = _dive_sizes(root, hidden, pattern)
                for node in model.nodes:
                    assert model.shown_size(node) == expected[node.path], (hidden, pattern)
