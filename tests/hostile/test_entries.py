"""Hostile and odd layer entries (issue 6, "Entries"): each with its expected result."""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.domain.entry import EntryType
from tests.hostile.helpers import archive_file, archive_with_raw_layers, pipeline, run_cli
from tests.image_builder import E, ImageSpec, d, docker_archive, f, hard, opaque, sym, wh
from tests.stacking_oracle import final_state


def analyse_spec(*layers: list[E], layout: str = "legacy") -> Analysis:
    analysis, _ = pipeline(docker_archive(ImageSpec(layers=list(layers)), layout=layout))
    return analysis


def final(analysis: Analysis) -> dict[str, tuple[EntryType, int]]:
    """Path -> (type, size) of every node in the final stacked tree."""
    out = {}
    for node in final_state(analysis).root.walk():
        if node.entry is not None and node.parent is not None:
            out[node.path.lstrip("/")] = (node.entry.type, node.entry.size)
    return out


# --- paths ---------------------------------------------------------------------------------
def test_absolute_dot_and_dotdot_paths_are_normalised_inside_the_root() -> None:
    analysis = analyse_spec(
        [
            f("/etc/abs", "1"),
            f("./rel", "22"),
            f("../../escape", "333"),
            f("a/../../../b", "4"),
            f("./x/./y//z", "5"),
            f("/../../../../etc/passwd", "root"),
        ]
    )
    assert final(analysis) == {
        "etc": (EntryType.DIR, 0),
        "etc/abs": (EntryType.FILE, 1),
        "rel": (EntryType.FILE, 2),
        "escape": (EntryType.FILE, 3),
        "b": (EntryType.FILE, 1),
        "x": (EntryType.DIR, 0),
        "x/y": (EntryType.DIR, 0),
        "x/y/z": (EntryType.FILE, 1),
        "etc/passwd": (EntryType.FILE, 4),
    }
    escaped = analysis.image.layers[0].contents.escaped_paths
    assert set(escaped) == {"../../escape", "a/../../../b", "/../../../../etc/passwd"}


def test_dotdot_paths_in_the_outer_archive_stay_inside() -> None:
    # an outer member "../../blobs/..." is read as "blobs/..." (never a host path)
    data = docker_archive(ImageSpec(layers=[[f("a", "1")]]), layout="oci-only")
    src = tarfile.open(fileobj=io.BytesIO(data))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for m in src.getmembers():
            content = src.extractfile(m).read()  # type: ignore[union-attr]
            m.name = "../../" + m.name
            out.addfile(m, io.BytesIO(content))
    analysis, _ = pipeline(buf.getvalue())
    assert list(analysis.image.layers[0].contents.entries) == ["a"]


def test_entry_under_a_lower_symlink_replaces_the_symlink_with_a_directory() -> None:
    # overlay2 semantics (README "What the figures mean"): the symlink is not followed
    analysis = analyse_spec(
        [d("usr"), d("usr/lib"), f("usr/lib/libc.so", "c"), sym("lib", "usr/lib")],
        [f("lib/new.so", "new")],
    )
    tree = final(analysis)
    assert tree["lib"] == (EntryType.DIR, 0) and tree["lib/new.so"] == (EntryType.FILE, 3)
    assert "usr/lib/new.so" not in tree and tree["usr/lib/libc.so"] == (EntryType.FILE, 1)
    changes = analysis.compared_tree(1, CompareMode.LAYER)
    assert changes.find("lib").diff is DiffType.MODIFIED  # symlink -> directory
    assert changes.find("lib/new.so").diff is DiffType.ADDED


def test_4096_character_paths() -> None:
    path = "/".join(["p" * 254] * 16) + "/" + "f" * 15  # 16*255 + 15 = 4095 characters
    assert len(path) == 4095
    analysis, text = pipeline(
        docker_archive(ImageSpec(layers=[[f(path, "deep")], [f(path, "again")]]))
    )
    assert final(analysis)[path] == (EntryType.FILE, 5)
    assert analysis.efficiency.inefficient[0].path == "/" + path
    assert path in text
    assert analysis.compared_tree(1, CompareMode.LAYER).find(path).diff is DiffType.MODIFIED


def test_10000_entry_directory() -> None:
    layer = [d("big")] + [f(f"big/file{i:05}", "x") for i in range(10_000)]
    started = time.monotonic()
    analysis, text = pipeline(docker_archive(ImageSpec(layers=[layer, [wh("big/file00007")]])))
    assert time.monotonic() - started < 20
    tree = final_state(analysis)
    assert len(tree.find("big").children) == 9_999
    assert analysis.efficiency.reclaimable_bytes == 1
    assert len(json.loads(text)["layer"][0]["fileList"]) == 10_001


# --- names that would drive a terminal --------------------------------------------------------
_NASTY = [
    "new\nline",
    "esc\x1b[2J\x1b]0;pwned\x07",
    "cr\rreturn",
    "tab\there",
    "del\x7f",
    "c1\x9bcsi",
    "bad\udcffutf8",
    "ls\u2028sep",
    "bell\x07",
]
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _nul_name_layer() -> bytes:
    """A layer whose PAX ``path`` record holds a NUL (a tar name field cannot)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("placeholder")
        info.pax_headers = {"path": "nul\x00name"}
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ab"))
    return buf.getvalue()


def test_control_characters_and_non_utf8_bytes_are_escaped_in_the_ci_report(tmp_path: Path) -> None:
    # every nasty name is written in two layers, so it is an inefficient file in the report
    files = [f(name, "dup") for name in _NASTY]
    layers = [files, list(files)]
    raw = [
        __import__("tests.image_builder", fromlist=["layer_tar"]).layer_tar(layer)
        for layer in layers
    ]
    archive = tmp_path / "nasty.tar"
    archive.write_bytes(archive_with_raw_layers(raw + [_nul_name_layer(), _nul_name_layer()]))
    result = run_cli(
        tmp_path,
        "--ci",
        "--ci-all-files",
        "--lowestEfficiency",
        "0",
        "--highestUserWastedPercent",
        "disabled",
        f"docker-archive://{archive}",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert _RAW_CONTROL.search(out) is None, repr(out)
    assert "\ufffd" not in out
    rows = [line for line in out.splitlines() if re.match(r"\s+\d+\s+\d", line)]
    assert len(rows) == len(_NASTY) + 1, out  # one row per file: no name split a row
    for shown in [
        "/new\\nline",
        "/esc\\x1b[2J\\x1b]0;pwned\\x07",
        "/cr\\rreturn",
        "/tab\\there",
        "/del\\x7f",
        "/c1\\x9bcsi",
        "/bad\\xffutf8",
        "/ls\\u2028sep",
        "/nul\\x00name",
    ]:
        assert any(row.endswith(shown) for row in rows), (shown, rows)


def test_raw_names_stay_recoverable_in_the_json(tmp_path: Path) -> None:
    archive = archive_file(tmp_path, ImageSpec(layers=[[f(name, "x") for name in _NASTY]]))
    out = tmp_path / "o.json"
    assert run_cli(tmp_path, "--json", str(out), f"docker-archive://{archive}").returncode == 0
    text = out.read_text()
    assert text.isascii()
    paths = {row["path"] for row in json.loads(text)["layer"][0]["fileList"]}
    assert paths == set(_NASTY)


# --- links ---------------------------------------------------------------------------------
def test_symlink_loops_are_kept_as_links_and_never_followed() -> None:
    analysis = analyse_spec(
        [
            sym("self", "self"),
            sym("a", "b"),
            sym("b", "a"),
            d("dir"),
            sym("dir/up", ".."),
            sym("dir/loop", "../dir/loop"),
        ],
        [f("a/inside", "x")],
    )  # "a" was a symlink: replaced by a directory
    tree = final(analysis)
    assert tree["self"] == (EntryType.SYMLINK, 0) and tree["b"] == (EntryType.SYMLINK, 0)
    assert tree["a"] == (EntryType.DIR, 0) and tree["a/inside"] == (EntryType.FILE, 1)
    assert tree["dir/up"] == (EntryType.SYMLINK, 0) and "dir/up/dir" not in tree
    for index in range(2):
        for mode in CompareMode:
            analysis.compared_tree(index, mode)


def test_symlinks_pointing_outside_the_root_are_shown_not_resolved(tmp_path: Path) -> None:
    archive = archive_file(
        tmp_path,
        ImageSpec(
            layers=[
                [
                    sym("up", "../../../../../etc/shadow"),
                    sym("abs", "/etc/shadow"),
                    sym("host", "/"),
                ],
                [f("host/x", "1")],
            ]
        ),
    )
    out = tmp_path / "o.json"
    assert run_cli(tmp_path, "--json", str(out), f"docker-archive://{archive}").returncode == 0
    rows = {r["path"]: r for r in json.loads(out.read_text())["layer"][0]["fileList"]}
    assert rows["up"]["linkName"] == "../../../../../etc/shadow"
    assert rows["abs"]["linkName"] == "/etc/shadow"
    assert list((tmp_path / "tmp").iterdir()) == [] and not Path("/x").exists()


def test_hardlink_to_a_missing_target() -> None:
    analysis = analyse_spec(
        [hard("orphan", "does/not/exist"), f("real", "data")], [hard("later", "gone")]
    )
    tree = final(analysis)
    assert tree["orphan"] == (EntryType.HARDLINK, 0) and tree["later"] == (EntryType.HARDLINK, 0)
    assert analysis.efficiency.visible_bytes == 4
    for mode in CompareMode:
        assert analysis.compared_tree(1, mode).find("later").size == 0


def test_hardlink_whose_target_is_deleted_later_keeps_the_data() -> None:
    analysis = analyse_spec([f("data", "x" * 100), hard("link", "data")], [wh("data")])
    assert "data" not in final(analysis)
    assert analysis.efficiency.visible_bytes == 100 and analysis.efficiency.reclaimable_bytes == 0
    assert analysis.compared_tree(1, CompareMode.LAYER).find("link").size == 100


def test_hardlink_to_a_directory_or_itself_does_not_crash() -> None:
    analysis = analyse_spec([d("dir"), hard("hdir", "dir"), hard("me", "me")], [hard("me", "me")])
    assert final(analysis)["me"] == (EntryType.HARDLINK, 0)


# --- type changes and whiteouts ------------------------------------------------------------
@pytest.mark.parametrize("layout", ["legacy", "oci-only"])
def test_file_replaced_by_a_directory_and_back(layout: str) -> None:
    analysis = analyse_spec(
        [f("p", "file1")], [d("p"), f("p/child", "cc")], [f("p", "file-again")], layout=layout
    )
    assert final(analysis) == {"p": (EntryType.FILE, 10)}
    layer1 = analysis.compared_tree(1, CompareMode.LAYER)
    assert (
        layer1.find("p").diff is DiffType.MODIFIED and layer1.find("p/child").diff is DiffType.ADDED
    )
    layer2 = analysis.compared_tree(2, CompareMode.LAYER)
    assert layer2.find("p").diff is DiffType.MODIFIED
    assert layer2.find("p/child") is None or layer2.find("p/child").diff is DiffType.REMOVED
    agg = analysis.compared_tree(2, CompareMode.AGGREGATED)
    assert agg.find("p").diff is DiffType.MODIFIED
    assert agg.find("p/child").diff is DiffType.REMOVED  # added in 1, gone in 2: as dive shows
    assert analysis.efficiency.reclaimable_bytes == 5 + 2


def test_whiteouts_for_missing_paths_are_warnings_not_errors(tmp_path: Path) -> None:
    archive = archive_file(
        tmp_path,
        ImageSpec(layers=[[f("a", "1")], [wh("nope"), wh("deep/er/nope"), wh("a/under-file")]]),
    )
    result = run_cli(tmp_path, "--ci", f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    assert "layer 1: whiteout of /nope, which no lower layer has" in result.stdout
    assert "whiteout of /deep/er/nope" in result.stdout


def test_whiteouts_inside_opaque_directories() -> None:
    analysis = analyse_spec(
        [d("x"), f("x/a", "1"), f("x/b", "22"), d("x/sub"), f("x/sub/c", "3")],
        [opaque("x"), wh("x/a"), f("x/new", "4444"), wh("x/new-too")],
    )
    assert {p: v for p, v in final(analysis).items() if p.startswith("x")} == {
        "x": (EntryType.DIR, 0),
        "x/new": (EntryType.FILE, 4),
    }
    assert analysis.efficiency.reclaimable_bytes == 1 + 2 + 1
    changes = analysis.compared_tree(1, CompareMode.LAYER)
    assert {c: n.diff for c, n in changes.find("x").children.items()} == {
        "a": DiffType.REMOVED,
        "b": DiffType.REMOVED,
        "sub": DiffType.REMOVED,
        "new": DiffType.ADDED,
    }


def test_opaque_marker_of_a_missing_directory_and_of_the_root() -> None:
    analysis = analyse_spec([f("keep", "1")], [opaque("missing/dir"), E(".wh..wh..opq", "file")])
    # an opaque root hides every lower entry (the layer's own entries stay)
    assert "keep" not in final(analysis)


# --- special files -------------------------------------------------------------------------
def test_device_nodes_and_fifos(tmp_path: Path) -> None:
    layer = [d("dev"), E("dev/null", "char"), E("dev/sda", "block"), E("run/fifo", "fifo")]
    archive = archive_file(tmp_path, ImageSpec(layers=[layer, [E("dev/null", "fifo")]]))
    out = tmp_path / "o.json"
    assert run_cli(tmp_path, "--json", str(out), f"docker-archive://{archive}").returncode == 0
    doc = json.loads(out.read_text())
    rows = {r["path"]: r for r in doc["layer"][0]["fileList"]}
    assert (
        rows["dev/null"]["typeFlag"],
        rows["dev/sda"]["typeFlag"],
        rows["run/fifo"]["typeFlag"],
    ) == (ord("3"), ord("4"), ord("6"))
    assert all(rows[p]["size"] == 0 for p in ("dev/null", "dev/sda", "run/fifo"))
    assert doc["image"]["sizeBytes"] == 0


def test_device_with_a_bogus_size_field_carries_no_data() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("dev/zero")
        info.type = tarfile.CHRTYPE
        tar.addfile(info)
        tar.addfile(tarfile.TarInfo("after"))
    data = bytearray(buf.getvalue())
    data[124:136] = b"%011o\0" % 999_999  # a device claiming a size
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    analysis, _ = pipeline(archive_with_raw_layers([bytes(data)]))
    assert sorted(analysis.image.layers[0].contents.entries) == ["after", "dev/zero"]
