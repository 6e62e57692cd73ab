"""Efficiency, wasted bytes and reclaimable bytes: dive 0.13.1's published figures, and divepy's fixes."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.efficiency import InefficientPath, InefficientPaths
from dive_py.domain.sources import open_image
from tests.domain.dive_examples import SPEC_A, TESTIMG, TESTIMG_HISTORY, layers_of_testimg, spec_a
from tests.image_builder import E, ImageSpec, d, docker_archive, f, hard, opaque, wh
from tests.stacking_oracle import final_state


def analyse_layers(
    tmp_path: Path, layers: list[list[E]], *, keep_states: bool = False, **kw: object
) -> Analysis:
    path = tmp_path / "image.tar"
    path.write_bytes(docker_archive(ImageSpec(layers=layers, **kw)))  # type: ignore[arg-type]
    return analyse(open_image(str(path), source="docker-archive"), keep_states=keep_states)


def _figures(analysis: Analysis) -> dict[str, object]:
    eff = analysis.efficiency
    return {
        "sizeBytes": eff.size_bytes,
        "wastedBytes": eff.wasted_bytes,
        "efficiency": eff.score,
        "userWastedPercent": eff.user_wasted_percent,
        "inefficient": [(i.path, i.count, i.wasted_bytes) for i in eff.inefficient],
    }


def test_spec_a_matches_dive(tmp_path: Path) -> None:
    assert _figures(analyse_layers(tmp_path, spec_a())) == SPEC_A


def test_testimg_matches_dive(tmp_path: Path) -> None:
    analysis = analyse_layers(tmp_path, layers_of_testimg(), history=TESTIMG_HISTORY)
    assert _figures(analysis) == TESTIMG
    assert [layer.command for layer in analysis.image.layers] == [
        "ADD file:abc in /",
        "mkdir /app && echo hello > /app/a.txt",
        "dd if=/dev/zero of=/app/big bs=1024 count=500",
        "rm /app/big",
        "COPY file:93935952280e in /Dockerfile",
        "echo changed > /app/a.txt",
    ]


def test_dive_unit_example_whiteout_of_an_implicit_directory(tmp_path: Path) -> None:
    # dive/filetree/efficiency_test.go: score 0.75 and one entry of 7000 bytes.
    layers = [
        [f("etc/nginx/nginx.conf", b"a" * 2000), f("etc/nginx/public", b"b" * 3000)],
        [f("etc/nginx/nginx.conf", b"c" * 5000), f("etc/athing", b"d" * 10000)],
        [wh("etc/nginx")],
    ]
    analysis = analyse_layers(tmp_path, layers)
    assert analysis.efficiency.score == 0.75
    assert _figures(analysis)["inefficient"] == [("/etc/nginx/nginx.conf", 2, 7000)]


def test_scratch_like_image_is_fully_efficient(tmp_path: Path) -> None:
    analysis = analyse_layers(tmp_path, [[f("a", "x"), d("b")]])
    assert analysis.efficiency.score == 1.0
    assert analysis.efficiency.inefficient == []
    assert analysis.efficiency.user_wasted_percent is None  # dive prints NaN


def test_whiteout_of_missing_path_is_no_occurrence_and_is_recorded(tmp_path: Path) -> None:
    # dive aborts the layer's walk and adds -1 to the minimum; divepy skips it and goes on.
    layers = [[f("a", "12345")], [wh("nothere"), f("a", "123")]]
    analysis = analyse_layers(tmp_path, layers)
    eff = analysis.efficiency
    assert eff.missing_whiteouts == [(1, "nothere")]
    assert _figures(analysis)["inefficient"] == [("/a", 2, 8)]
    assert eff.score == 3 / 8
    assert any("nothere" in w for w in analysis.image.warnings)


def test_opaque_marker_is_no_occurrence_but_hides_lower_files(tmp_path: Path) -> None:
    layers = [[d("d"), f("d/a", "aaaa"), f("d/b", "bb")], [d("d"), opaque("d"), f("d/c", "c")]]
    analysis = analyse_layers(tmp_path, layers)
    eff = analysis.efficiency
    assert eff.inefficient == []
    assert eff.score == 1.0
    assert eff.reclaimable_bytes == 6  # a and b are hidden by the opaque directory
    final = final_state(analysis)
    assert final is not None and final.lookup("d/a") is None and final.lookup("d/c") is not None


def test_reclaimable_counts_shadowed_and_deleted_bytes(tmp_path: Path) -> None:
    layers = [
        [f("big", b"x" * 1000), d("dir"), f("dir/in", b"y" * 500)],
        [f("big", b"z" * 10)],
        [wh("dir")],
    ]
    eff = analyse_layers(tmp_path, layers).efficiency
    assert eff.reclaimable_bytes == 1500
    assert eff.visible_bytes == 10
    assert eff.reclaimable_bytes == eff.size_bytes - eff.visible_bytes
    # dive's figure counts both copies of big and nothing for the deleted directory
    assert eff.wasted_bytes == 1010


def test_hardlink_keeps_data_alive_after_its_target_is_deleted(tmp_path: Path) -> None:
    layers = [[f("data", b"d" * 4096), hard("link", "data")], [wh("data")]]
    eff = analyse_layers(tmp_path, layers).efficiency
    assert eff.visible_bytes == 4096  # reachable through /link
    assert eff.reclaimable_bytes == 0


def test_identical_rewrite_is_waste_and_reclaimable(tmp_path: Path) -> None:
    layers = [[f("same", "content")], [f("same", "content")]]
    eff = analyse_layers(tmp_path, layers).efficiency
    assert [(i.path, i.count, i.wasted_bytes) for i in eff.inefficient] == [("/same", 2, 14)]
    assert eff.reclaimable_bytes == 7


@pytest.mark.parametrize("layout", ["legacy", "oci", "oci-only"])
@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_every_layout_and_compression_gives_the_same_figures(
    tmp_path: Path, layout: str, compression: str
) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(
        docker_archive(ImageSpec(layers=spec_a()), layout=layout, compression=compression)
    )
    assert _figures(analyse(open_image(str(path), source="docker-archive"))) == SPEC_A


def test_wasted_counts_both_copies_reclaimable_counts_what_is_hidden(tmp_path: Path) -> None:
    mb = 1_000_000
    layers = [
        [d("base")],
        [f("big", b"a" * (10 * mb)), d("cache"), f("cache/blob", b"c" * (5 * mb))],
        [f("big", b"b" * (10 * mb))],
        [wh("cache")],
    ]
    eff = analyse_layers(tmp_path, layers).efficiency
    assert eff.wasted_bytes == 20 * mb
    assert eff.reclaimable_bytes == 15 * mb


def test_file_and_its_whiteout_in_one_layer_is_one_occurrence(tmp_path: Path) -> None:
    # found by adversarial testing: /b was counted twice although only one layer has it
    for entries in ([f("b", "x"), wh("b")], [wh("b"), f("b", "x")]):
        eff = analyse_layers(tmp_path, [[f("a", "1")], entries]).efficiency
        assert eff.inefficient == [] and eff.wasted_bytes == 0


def test_the_efficiency_pass_leaves_no_tree_for_the_cyclic_collector(tmp_path: Path) -> None:
    """The CLI pauses the collector while it analyses, then freezes what is left: the pass's
    own tree must be freed by reference counting (no parent/child cycles left)."""
    import gc

    from dive_py.domain.efficiency import measure_efficiency
    from dive_py.domain.file_tree import FileNode

    layers = [[d("a"), f("a/x", "1"), f("b", "2")], [f("a/y", "3"), f("b", "22"), f("c/d", "4")]]
    contents = [layer.contents for layer in analyse_layers(tmp_path, layers).image.layers]

    def nodes() -> int:
        return sum(isinstance(item, FileNode) for item in gc.get_objects())

    gc.collect()
    gc.disable()
    try:
        before = nodes()
        efficiency = measure_efficiency(contents)
        after = nodes()
    finally:
        gc.enable()
    assert efficiency.visible_bytes == 1 + 2 + 1 + 1  # a/x, b (rewritten), a/y, c/d
    assert after == before


def test_the_pass_fills_only_an_unbuilt_stacking_of_the_same_layers(tmp_path: Path) -> None:
    from dive_py.domain.efficiency import measure_efficiency
    from dive_py.domain.file_tree import StackedStates

    layers = [[f("a", "1")], [f("b", "2")]]
    contents = [layer.contents for layer in analyse_layers(tmp_path, layers).image.layers]
    for states in (StackedStates(contents[:1]), StackedStates(contents)):
        if len(states) == len(contents):
            states.state(0)  # one state built already
        with pytest.raises(ValueError, match="unbuilt StackedStates over the same layers"):
            measure_efficiency(contents, states)
    states = StackedStates(contents)
    assert measure_efficiency(contents, states) == measure_efficiency(contents)
    assert states.built == 2


def test_an_inefficient_path_keeps_the_entries_own_string(tmp_path: Path) -> None:
    analysis = analyse_layers(tmp_path, [[f("same", "a")], [f("same", "bb")]])
    (item,) = analysis.efficiency.inefficient
    assert item.path == "/same" and item.layer_path == "same"
    top = analysis.image.layers[1].contents.entries
    assert any(item.layer_path is path for path in top)  # (issue 11: no copy per path)
    assert InefficientPath("/same", 2, 3) == InefficientPath.of_layer_path("same", 2, 3)
    with pytest.raises(ValueError, match="absolute path"):
        InefficientPath("same", 2, 3)


def test_the_inefficient_paths_are_held_compactly_and_read_as_items(tmp_path: Path) -> None:
    layers = [[f("a", "1"), f("bb/c", "22")], [f("a", "333"), f("bb/c", "4")], [f("a", "55")]]
    analysis = analyse_layers(tmp_path, layers)
    paths = analysis.efficiency.inefficient
    assert isinstance(paths, InefficientPaths)  # (issue 11: no object per path)
    expected = [InefficientPath("/a", 3, 6), InefficientPath("/bb/c", 2, 3)]
    assert paths == expected and list(paths) == expected and len(paths) == 2
    assert paths[1] == expected[1] and paths[-1] == expected[1] and paths[:1] == expected[:1]
    assert (paths.max_count(), paths.max_path_length()) == (3, len("/bb/c"))
    assert InefficientPaths().max_path_length() == 0 and InefficientPaths() == []
    assert pickle.loads(pickle.dumps(paths)) == expected
