"""Broken and unusual archives (issue 6, "Archives"): each input with its expected result."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dive_py.domain.sources import open_image
from dive_py.errors import ArchiveError
from tests.hostile.helpers import (
    archive_file,
    archive_with_raw_layers,
    assert_clean_failure,
    pipeline,
    rewrite_legacy_config,
    run_cli,
    set_tar_size,
)
from tests.image_builder import ImageSpec, Step, d, docker_archive, f, layer_tar, sym

LAYOUTS = ("legacy", "oci", "oci-only")


def _ustar_layer(*files: tuple[str, bytes]) -> bytes:
    return layer_tar([f(name, data) for name, data in files], fmt=tarfile.USTAR_FORMAT)


# --- a layer header claiming more bytes than exist -------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_layer_member_claiming_more_bytes_than_exist_is_truncated(
    layout: str, compression: str
) -> None:
    layer = _ustar_layer(("a", b"1" * 100), ("b", b"2" * 100))
    lying = set_tar_size(layer, 1, 1 << 20)  # "b" claims 1 MiB; the layer ends long before
    data = archive_with_raw_layers(
        [_ustar_layer(("base", b"x")), lying], layout=layout, compression=compression
    )
    with pytest.raises(ArchiveError, match="unreadable.*truncated"):
        pipeline(data)


def test_layer_claiming_more_bytes_exit_3_no_output(tmp_path: Path) -> None:
    lying = set_tar_size(_ustar_layer(("a", b"1" * 100)), 0, 4 << 30)
    archive = tmp_path / "lying.tar"
    archive.write_bytes(archive_with_raw_layers([lying]))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "o.json").write_text("old")
    result = run_cli(tmp_path, "--json", str(out_dir / "o.json"), f"docker-archive://{archive}")
    assert_clean_failure(
        result,
        tmp_path,
        3,
        "truncated",
        "layer.tar",
        out_dir=out_dir,
        out_before={"o.json": b"old"},
    )


def test_outer_member_claiming_more_bytes_than_exist_exit_3(tmp_path: Path) -> None:
    data = docker_archive(ImageSpec(layers=[[f("a", "1")]]))
    archive = tmp_path / "outer.tar"
    archive.write_bytes(set_tar_size(data, 0, 1 << 30))
    result = run_cli(tmp_path, "--ci", f"docker-archive://{archive}")
    assert_clean_failure(result, tmp_path, 3, "truncated")


def test_garbage_instead_of_a_layer_exit_3(tmp_path: Path) -> None:
    archive = tmp_path / "garbage.tar"
    archive.write_bytes(archive_with_raw_layers([b"\x00\x01garbage" * 300]))
    result = run_cli(tmp_path, "--ci", f"docker-archive://{archive}")
    assert_clean_failure(result, tmp_path, 3, "unreadable")


# --- history that does not match the layers --------------------------------------------------
def _commands(data: bytes) -> tuple[list[str], list[int | None], list[str]]:
    analysis, text = pipeline(data)
    doc = json.loads(text)
    return (
        [layer["readableCommand"] for layer in doc["layer"]],
        [step["layerIndex"] for step in doc["history"]],
        analysis.image.warnings,
    )


def test_history_without_empty_layer_flags_maps_steps_in_order() -> None:
    # 2 layers, 4 steps none of which is flagged: the first two made the layers
    spec = ImageSpec(
        layers=[[f("a", "1")], [f("b", "2")]],
        history=[Step("ADD rootfs"), Step("ENV X=1"), Step("RUN b"), Step("CMD sh")],
    )
    commands, indexes, warnings = _commands(docker_archive(spec))
    assert commands == ["ADD rootfs", "ENV X=1"]
    assert indexes == [0, 1, None, None]
    assert any("history" in w and "4" in w and "2 layers" in w for w in warnings), warnings


def test_history_with_fewer_steps_than_layers() -> None:
    spec = ImageSpec(
        layers=[[f("a", "1")], [f("b", "2")], [f("c", "3")]],
        history=[Step("ADD rootfs"), Step("CMD sh", empty_layer=True)],
    )
    commands, indexes, warnings = _commands(docker_archive(spec, layout="oci"))
    assert commands == ["ADD rootfs", "(missing history)", "(missing history)"]
    assert indexes == [0, None, 1, 2]
    # dive's own string for a layer without a step, in dive's key
    doc = json.loads(pipeline(docker_archive(spec, layout="oci"))[1])
    assert [layer["command"] for layer in doc["layer"]] == ["ADD rootfs", "(missing)", "(missing)"]
    assert any("history" in w and "3 layers" in w for w in warnings), warnings


def test_history_with_more_layer_steps_than_layers() -> None:
    spec = ImageSpec(
        layers=[[f("a", "1")]], history=[Step("ADD rootfs"), Step("RUN x"), Step("RUN y")]
    )
    commands, indexes, warnings = _commands(docker_archive(spec, layout="oci-only"))
    assert commands == ["ADD rootfs"]
    assert indexes == [0, None, None]
    assert any("history" in w for w in warnings), warnings


@pytest.mark.parametrize(
    "history", [None, "not a list", [1, "x", None], [{"created_by": 7}], [{"empty_layer": "yes"}]]
)
def test_malformed_history_never_crashes(history: object) -> None:
    data = rewrite_legacy_config(
        docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]])),
        lambda c: c.__setitem__("history", history),
    )
    analysis, _ = pipeline(data)
    assert len(analysis.image.layers) == 2


def test_history_mismatch_is_a_warning_in_the_ci_report_and_not_an_error(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[f("a", "1")], [f("b", "2")]], history=[Step("ADD rootfs")])
    archive = archive_file(tmp_path, spec)
    result = run_cli(tmp_path, "--ci", f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    assert "Warnings:" in result.stdout and "history" in result.stdout


# --- diff IDs ----------------------------------------------------------------------------------
def test_config_diff_ids_that_do_not_match_are_warnings(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64

    archive = tmp_path / "diffid.tar"
    archive.write_bytes(
        rewrite_legacy_config(
            docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]])), edit
        )
    )
    out = tmp_path / "o.json"
    result = run_cli(tmp_path, "--json", str(out), "--ci", f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    warnings = json.loads(out.read_text())["image"]["warnings"]
    assert any(
        "layer 1: config diff ID sha256:000" in w and "does not match" in w for w in warnings
    )
    assert "does not match" in result.stdout


def test_config_with_fewer_diff_ids_than_layers_is_a_warning() -> None:
    data = rewrite_legacy_config(
        docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]])),
        lambda c: c["rootfs"].__setitem__("diff_ids", []),
    )
    analysis, _ = pipeline(data)
    assert "config lists 0 diff IDs for 2 layers" in analysis.image.warnings
    assert all(layer.diff_id.startswith("sha256:") for layer in analysis.image.layers)


# --- duplicated layers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layout, links", [("legacy", True), ("legacy", False), ("oci", True), ("oci-only", True)]
)
def test_duplicated_layers_are_two_layers(layout: str, links: bool) -> None:
    same = [d("etc"), f("etc/conf", "x" * 1000)]
    data = docker_archive(
        ImageSpec(layers=[same, [f("b", "2")], list(same)]), layout=layout, dedupe_links=links
    )
    analysis, _ = pipeline(data)
    layers = analysis.image.layers
    assert len(layers) == 3 and layers[0].diff_id == layers[2].diff_id
    assert analysis.efficiency.wasted_bytes == 2000  # both copies of /etc/conf (dive's figure)
    assert analysis.efficiency.reclaimable_bytes == 1000
    assert not analysis.image.warnings


# --- tar dialects ------------------------------------------------------------------------------
def test_pax_global_header_applies_to_every_member() -> None:
    buf = __import__("io").BytesIO()
    with tarfile.open(
        fileobj=buf,
        mode="w",
        format=tarfile.PAX_FORMAT,
        pax_headers={"comment": "git archive id", "uid": "4242"},
    ) as tar:
        for name in ("a", "b"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, __import__("io").BytesIO(b"abc"))
    analysis, _ = pipeline(archive_with_raw_layers([buf.getvalue()]))
    entries = analysis.image.layers[0].contents.entries
    assert sorted(entries) == ["a", "b"]
    assert {e.uid for e in entries.values()} == {4242}
    assert analysis.image.layers[0].size_bytes == 6


def test_pax_global_header_in_the_outer_archive() -> None:
    inner = docker_archive(ImageSpec(layers=[[f("a", "1")]]))
    src = tarfile.open(fileobj=__import__("io").BytesIO(inner))
    buf = __import__("io").BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}
    ) as out:
        for m in src.getmembers():
            out.addfile(m, src.extractfile(m) if m.isfile() else None)
    analysis, _ = pipeline(buf.getvalue())
    assert list(analysis.image.layers[0].contents.entries) == ["a"]


def test_gnu_long_names_and_long_link_targets() -> None:
    long_dir = "/".join(["d" * 60] * 5)
    long_name = long_dir + "/file-" + "n" * 150
    layer = layer_tar(
        [d(long_dir), f(long_name, "data"), sym("link", "/" + long_name)], fmt=tarfile.GNU_FORMAT
    )
    assert b"././@LongLink" in layer
    analysis, text = pipeline(archive_with_raw_layers([layer]))
    entries = analysis.image.layers[0].contents.entries
    assert entries[long_name].size == 4
    assert entries["link"].linkname == "/" + long_name
    assert long_name in text


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is needed to write sparse members")
@pytest.mark.parametrize(
    "tar_format, sparse_version", [("gnu", None), ("pax", "0.0"), ("pax", "0.1"), ("pax", "1.0")]
)
def test_gnu_sparse_files_have_their_logical_size(
    tmp_path: Path, tar_format: str, sparse_version: str | None
) -> None:
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    sparse = root / "dir" / "sparse.img"
    with open(sparse, "wb") as handle:
        handle.write(b"head")
        handle.seek(3 << 20)
        handle.write(b"middle")
        handle.truncate(8 << 20)
    (root / "after").write_text("after the sparse file")
    layer = tmp_path / "layer.tar"
    cmd = [
        "tar",
        f"--format={tar_format}",
        "--sparse",
        "-cf",
        str(layer),
        "-C",
        str(root),
        "dir",
        "after",
    ]
    if sparse_version:
        cmd.insert(2, f"--sparse-version={sparse_version}")
    subprocess.run(cmd, check=True)
    analysis, _ = pipeline(archive_with_raw_layers([layer.read_bytes()], compression="gzip"))
    entries = analysis.image.layers[0].contents.entries
    assert entries["dir/sparse.img"].size == 8 << 20
    assert entries["after"].size == len("after the sparse file")
    assert sorted(entries) == ["after", "dir", "dir/sparse.img"]


# --- layer counts ------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_zero_layer_image_is_an_empty_image(tmp_path: Path, layout: str) -> None:
    archive = archive_file(
        tmp_path, ImageSpec(layers=[], history=[Step("CMD sh", empty_layer=True)]), layout=layout
    )
    out = tmp_path / "o.json"
    result = run_cli(tmp_path, "--ci", "--json", str(out), f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["layer"] == [] and doc["image"]["sizeBytes"] == 0
    assert doc["history"][0]["command"] == "CMD sh"
    assert "Result:PASS" in result.stdout


@pytest.mark.parametrize("layout", ["legacy", "oci-only"])
def test_more_than_127_layers(tmp_path: Path, layout: str) -> None:
    layers = [[f(f"layer{i:03}", "x" * i), f("shared", str(i))] for i in range(130)]
    archive = archive_file(tmp_path, ImageSpec(layers=layers), layout=layout)
    out = tmp_path / "o.json"
    result = run_cli(tmp_path, "--json", str(out), f"docker-archive://{archive}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert [layer["index"] for layer in doc["layer"]] == list(range(130))
    assert doc["layer"][129]["command"] == "step 129"
    assert doc["image"]["fileReference"][0]["file"] == "/shared"
    assert doc["image"]["fileReference"][0]["count"] == 130
    analysis = __import__("dive_py.domain.analysis", fromlist=["analyse"]).analyse(
        open_image(str(archive), source="docker-archive")
    )
    from dive_py.domain.compare import CompareMode

    tree = analysis.compared_tree(129, CompareMode.AGGREGATED)
    assert tree.find("layer129") is not None
