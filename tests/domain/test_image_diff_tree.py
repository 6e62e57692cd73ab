"""The marked tree of two images' final file systems (issue 15): the diff explorer's tree, and
the one comparison ``divepy diff``'s lists are read from."""

from __future__ import annotations

from pathlib import Path

from dive_py.domain.change_type import DiffType
from dive_py.domain.image import Image
from dive_py.domain.image_diff import diff_images
from dive_py.domain.sources import open_image
from tests.image_builder import E, ImageSpec, d, docker_archive, f, sym, wh

BASE = [d("etc"), f("etc/os-release", "ID=base\n"), f("bin/sh", b"s" * 40, 0o755)]
APP = [f("app/main.py", "print(1)\n"), sym("app/current", "main.py"), f("app/data", b"x" * 10)]


def _image(tmp_path: Path, name: str, layers: list[list[E]]) -> Image:
    path = tmp_path / f"{name}.tar"
    path.write_bytes(docker_archive(ImageSpec(layers=layers)))
    return open_image(str(path), source="docker-archive")


def _marks(tree_root) -> dict[str, DiffType]:  # type: ignore[no-untyped-def]
    return {node.path: node.diff for node in tree_root.walk() if node.parent is not None}


def test_the_tree_marks_what_the_lists_say(tmp_path: Path) -> None:
    a = _image(tmp_path, "a", [BASE, APP, [f("tmp/cache", b"c" * 7)]])
    b = _image(
        tmp_path,
        "b",
        [
            BASE,
            [f("app/main.py", "print(2)\n"), sym("app/current", "main.py")],
            [f("app/new", "n")],
        ],
    )
    diff = diff_images(a, b)
    marks = _marks(diff.tree.root)
    # read separately, the two images share no entry object: equal entries stay unchanged
    assert marks["/etc/os-release"] is DiffType.UNMODIFIED
    assert marks["/bin/sh"] is DiffType.UNMODIFIED
    assert marks["/app/current"] is DiffType.UNMODIFIED
    assert marks["/app/main.py"] is DiffType.MODIFIED
    assert marks["/app/new"] is DiffType.ADDED
    assert marks["/app/data"] is DiffType.REMOVED  # a ghost with A's entry
    assert marks["/tmp"] is DiffType.REMOVED and marks["/tmp/cache"] is DiffType.REMOVED
    assert marks["/app"] is DiffType.MODIFIED  # something below it changed
    assert [c.path for c in diff.added] == ["/app/new"]
    assert [c.path for c in diff.modified] == ["/app/main.py"]
    assert [(c.path, c.size_bytes) for c in diff.removed] == [("/app/data", 10), ("/tmp", 7)]
    assert diff.tree.find("tmp").size == 7  # type: ignore[union-attr]


def test_identical_final_file_systems_are_unchanged_throughout(tmp_path: Path) -> None:
    a = _image(tmp_path, "a", [BASE, APP])
    b = _image(tmp_path, "b", [BASE, [*APP, f("x", "1")], [wh("x")]])
    diff = diff_images(a, b)
    assert diff.identical
    assert set(_marks(diff.tree.root).values()) == {DiffType.UNMODIFIED}


def test_an_image_without_layers_compares_as_an_empty_file_system(tmp_path: Path) -> None:
    a = _image(tmp_path, "a", [BASE])
    empty = _image(tmp_path, "e", [])
    diff = diff_images(empty, a)
    assert [c.path for c in diff.added] == ["/bin", "/etc"]
    assert diff.tree.find("etc").diff is DiffType.ADDED  # type: ignore[union-attr]
    back = diff_images(a, empty)
    assert [c.path for c in back.removed] == ["/bin", "/etc"]
    assert back.a_size_bytes == a.size_bytes and back.b_size_bytes == 0


def test_the_analyses_final_states_give_the_same_comparison(tmp_path: Path) -> None:
    """``divepy diff`` hands the analyses' own stacked states over (the file viewer then
    reuses them): the same lists as stacking each image anew."""
    from dive_py.domain.analysis import analyse

    a = analyse(_image(tmp_path, "a", [BASE, APP, [f("tmp/cache", b"c" * 7)]]))
    b = analyse(_image(tmp_path, "b", [BASE, [f("app/main.py", "print(2)\n")]]))
    empty = analyse(_image(tmp_path, "e", []))
    for left, right in ((a, b), (b, a), (empty, a), (a, empty)):
        given = diff_images(left.image, right.image, (left.final_state(), right.final_state()))
        own = diff_images(left.image, right.image)
        assert (given.added, given.modified, given.removed) == (
            own.added,
            own.modified,
            own.removed,
        )
        assert (given.a_size_bytes, given.b_size_bytes) == (own.a_size_bytes, own.b_size_bytes)
    assert a.states_built == 3 and b.states_built == 2  # stacked once, in the analyses
