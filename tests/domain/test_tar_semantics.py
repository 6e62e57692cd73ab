"""Tar semantics in stacking (issue 12): hardlinks, duplicate paths, paths under a symlink.

Each rule was checked on Docker 20.10 (overlay2) with ``docker load`` of the same crafted
archive and ``docker export`` of a created container; ``tests/engine/test_tar_semantics.py``
checks the accepted ones on every engine of the full suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import xxhash

from dive_py.domain.analysis import Analysis
from dive_py.domain.entry import EntryType
from dive_py.domain.layer_tar import EMPTY_DIGEST
from tests.cli.test_cli import run_divepy
from tests.hostile.helpers import archive_file, pipeline
from tests.image_builder import E, ImageSpec, d, docker_archive, f, hard, opaque, sym, wh
from tests.stacking_oracle import build_compared_tree, final_state

_GO_SYMLINK = 1 << 27
_GO_PIPE = 1 << 25


def _analyse(layers: list[list[E]]) -> tuple[Analysis, dict[str, object]]:
    analysis, text = pipeline(docker_archive(ImageSpec(layers=layers)))
    return analysis, json.loads(text)


def _listing(analysis: Analysis) -> dict[str, tuple[str, int, str]]:
    """Path -> (permissions, size in bytes, link name) of the final state's nodes."""
    tree = final_state(analysis)
    return {
        node.path: (node.entry.permission_string(), node.size, node.entry.linkname)
        for node in tree.root.walk()
        if node.parent is not None and node.entry is not None
    }


def _records(document: dict[str, object], index: int) -> dict[str, dict[str, object]]:
    layers = document["layer"]
    assert isinstance(layers, list)
    return {record["path"]: record for record in layers[index]["fileList"]}


def _oracle_listing(analysis: Analysis) -> dict[str, tuple[str, int]]:
    """The same as :func:`_listing` (without link names) from the tests' slow reference."""
    from dive_py.domain.compare import CompareMode

    layers = [layer.contents for layer in analysis.image.layers]
    tree = build_compared_tree(layers, CompareMode.AGGREGATED, len(layers) - 1)
    return {
        node.path: (node.entry.permission_string(), node.size)
        for node in tree.root.walk()
        if node.parent is not None and node.entry is not None
    }


# --- hardlinks ------------------------------------------------------------------------------


def test_a_hardlink_to_a_symlink_is_a_symlink() -> None:
    analysis, document = _analyse([[f("t", "tt"), sym("s", "t"), hard("h", "s"), hard("h2", "h")]])
    listing = _listing(analysis)
    # Docker 20.10 exports h and h2 as symlinks to t (a second name of the symlink's inode)
    assert listing["/h"] == ("lrwxrwxrwx", 0, "t")
    assert listing["/h2"] == ("lrwxrwxrwx", 0, "t")
    records = _records(document, 0)
    for path in ("h", "h2"):
        assert records[path]["typeFlag"] == ord("2")
        assert records[path]["linkName"] == "t"
        assert records[path]["fileMode"] == _GO_SYMLINK | 0o777
    assert analysis.efficiency.reclaimable_bytes == 0


def test_a_hardlink_to_a_fifo_is_a_fifo_with_the_link_members_mode() -> None:
    analysis, document = _analyse([[E("p", "fifo", mode=0o600), hard("hp", "p")]])
    assert _listing(analysis)["/hp"] == ("prw-r--r--", 0, "")
    assert _records(document, 0)["hp"]["fileMode"] == _GO_PIPE | 0o644


def test_a_hardlink_keeps_the_data_its_target_had_when_it_was_read() -> None:
    # "one" is written twice; h1 links to the first "one" (1 byte), not to the second (5 bytes)
    analysis, _document = _analyse(
        [[f("one", "1"), hard("h1", "one"), E("one", "file", b"22222", 0o600)], [wh("one")]]
    )
    contents = analysis.image.layers[0].contents
    first = contents.entries["h1"].data
    assert first is not None and first.size == 1 and first is not contents.entries["one"]
    listing = _listing(analysis)
    assert listing == {"/h1": ("-rw-r--r--", 1, "one")}  # the first copy's bytes, kept by h1
    eff = analysis.efficiency
    assert eff.visible_bytes == 1
    assert eff.reclaimable_bytes == eff.size_bytes - 1  # the second "one": 5 bytes gone


def test_a_hardlink_to_a_later_member_names_the_lower_layers_entry() -> None:
    analysis, _document = _analyse([[f("one", "lower")], [hard("h", "one"), f("one", "upper!")]])
    link = analysis.image.layers[1].contents.entries["h"]
    assert link.data is analysis.image.layers[0].contents.entries["one"]
    assert _listing(analysis)["/h"] == ("-rw-r--r--", 5, "one")


# --- duplicate paths ------------------------------------------------------------------------


def test_the_same_path_twice_in_a_layer_keeps_the_last_and_warns() -> None:
    analysis, document = _analyse(
        [[d("dd"), f("dd/k", "k"), f("dd", "now a file"), f("x", "1"), f("x", "22")], [f("y")]]
    )
    listing = _listing(analysis)
    assert listing["/dd"] == ("-rw-r--r--", 10, "")
    assert "/dd/k" not in listing
    assert listing["/x"] == ("-rw-r--r--", 2, "")
    assert analysis.image.layers[0].contents.duplicate_paths == ["dd", "x"]
    (warning,) = analysis.image.warnings
    assert warning.startswith("layer 0: the tar names 2 paths more than once (/dd, /x)")
    assert "duplicates of file paths not supported" in warning
    image = document["image"]
    assert isinstance(image, dict) and image["warnings"] == [warning]


def test_duplicate_whiteouts_count_and_many_duplicates_are_summed_up() -> None:
    analysis, _document = _analyse(
        [[f("a"), f("b")], [wh("a"), wh("a"), *[f(f"n{i}", str(i)) for i in range(7)] * 2]]
    )
    (warning,) = analysis.image.warnings
    assert warning.startswith(
        "layer 1: the tar names 8 paths more than once (/.wh.a, /n0, /n1, /n2, /n3 and 3 more)"
    )


def test_duplicate_paths_are_reported_by_ci_and_json(tmp_path: Path) -> None:
    archive = archive_file(tmp_path, ImageSpec(layers=[[f("x", "1"), f("x", "22")]]))
    out = tmp_path / "out.json"
    result = run_divepy("--ci", "--json", str(out), f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    assert "layer 0: the tar names a path more than once (/x)" in result.stdout
    warnings = json.loads(out.read_text())["image"]["warnings"]
    assert len(warnings) == 1 and "(/x)" in warnings[0]


# --- paths under a symlink a lower layer made -----------------------------------------------

_USR_MERGED = [
    d("usr"),
    d("usr/lib"),
    f("usr/lib/libold.so", "old"),
    f("usr/lib/libkeep.so", "keep"),
    sym("lib", "usr/lib"),
]


def test_a_whiteout_under_a_lower_symlink_replaces_the_symlink_with_a_directory() -> None:
    analysis, document = _analyse([_USR_MERGED, [wh("lib/libold.so")]])
    listing = _listing(analysis)
    # Docker 20.10: lib is an empty directory, usr/lib untouched (the symlink is not followed)
    assert listing["/lib"] == ("drwxr-xr-x", 0, "")
    assert not any(path.startswith("/lib/") for path in listing)
    assert listing["/usr/lib/libold.so"] == ("-rw-r--r--", 3, "")
    assert analysis.image.warnings == []  # not "no lower layer has /lib/libold.so"
    assert _records(document, 1)["lib"]["isDir"] is True  # the layer's JSON agrees
    assert analysis.efficiency.visible_bytes == 7
    assert {path: v[:2] for path, v in listing.items()} == _oracle_listing(analysis)


def test_an_opaque_marker_under_a_lower_symlink_replaces_the_symlink() -> None:
    analysis, document = _analyse([_USR_MERGED, [opaque("lib")]])
    listing = _listing(analysis)
    assert listing["/lib"] == ("drwxr-xr-x", 0, "")
    assert listing["/usr/lib/libold.so"] == ("-rw-r--r--", 3, "")
    assert _records(document, 1)["lib"]["isDir"] is True
    assert document["layer"][1]["opaqueDirectories"] == ["/lib"]  # type: ignore[index]
    assert analysis.image.warnings == []
    assert {path: v[:2] for path, v in listing.items()} == _oracle_listing(analysis)


def test_an_opaque_marker_below_a_symlinked_parent_never_follows_it() -> None:
    analysis, document = _analyse(
        [[d("a"), d("a/c"), f("a/c/f", "ff"), sym("b", "a")], [opaque("b/c")]]
    )
    listing = _listing(analysis)
    # Docker 20.10: b and b/c are (empty) directories; a/c/f is still there
    assert listing["/b"] == ("drwxr-xr-x", 0, "")
    assert listing["/b/c"] == ("drwxr-xr-x", 0, "")
    assert listing["/a/c/f"] == ("-rw-r--r--", 2, "")
    records = _records(document, 1)
    assert records["b"]["isDir"] is True and records["b/c"]["isDir"] is True
    assert {path: v[:2] for path, v in listing.items()} == _oracle_listing(analysis)


def test_a_whiteout_makes_its_missing_parents_and_still_warns() -> None:
    analysis, _document = _analyse([[f("a")], [wh("q/y/z")]])
    listing = _listing(analysis)
    # Docker 20.10: q and q/y exist in the container
    assert listing["/q"][0] == listing["/q/y"][0] == "drwxr-xr-x"
    assert analysis.image.warnings == ["layer 1: whiteout of /q/y/z, which no lower layer has"]


def test_a_whiteout_under_a_lower_file_replaces_it_and_warns() -> None:
    analysis, _document = _analyse([[f("a", "abc")], [wh("a/b")]])
    entry = final_state(analysis).lookup("a")
    assert entry is not None and entry.type is EntryType.DIR
    assert analysis.image.warnings == ["layer 1: whiteout of /a/b, which no lower layer has"]
    assert analysis.efficiency.visible_bytes == 0


def test_file_digests_keep_60_bits_and_still_tell_contents_apart() -> None:
    analysis, _ = _analyse([[f("a", "same"), f("b", "same"), f("c", "other"), f("e", "")]])
    entries = analysis.image.layers[0].contents.entries
    digests = {path: entries[path].digest for path in ("a", "b", "c", "e")}
    assert all(0 <= digest < 2**60 for digest in digests.values())  # (issue 11: 32-byte ints)
    assert digests["a"] == digests["b"] != digests["c"]
    assert digests["e"] == EMPTY_DIGEST == xxhash.xxh64(b"").intdigest() & (2**60 - 1)
