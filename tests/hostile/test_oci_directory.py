"""OCI image layout directories with hostile contents: links out of the layout, fifos,
unreadable blobs, paths that climb out. Nothing outside the layout is ever read."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.hostile.helpers import assert_clean_failure, run_cli
from tests.hostile.test_user_actions import _run_unprivileged
from tests.image_builder import ImageSpec, docker_archive, f, layer_tar


def _layout_dir(tmp_path: Path) -> tuple[Path, list[Path]]:
    """Unpack an OCI layout (with manifest.json) into ``tmp_path/layout``; return it and its
    layer blob paths."""
    data = docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]]), layout="oci")
    root = tmp_path / "layout"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(root, filter="data")
    manifest = json.loads((root / "manifest.json").read_text())
    return root, [root / p for p in manifest[0]["Layers"]]


def test_the_unpacked_layout_reads(tmp_path: Path) -> None:
    root, _ = _layout_dir(tmp_path)
    result = run_cli(tmp_path, "--json", str(tmp_path / "o.json"), f"oci://{root}")
    assert result.returncode == 0, result.stderr


def test_a_blob_symlinked_outside_the_layout_is_not_read(tmp_path: Path) -> None:
    root, blobs = _layout_dir(tmp_path)
    outside = tmp_path / "outside-layer.tar"
    outside.write_bytes(layer_tar([f("secret", "s")]))
    blobs[1].unlink()
    blobs[1].symlink_to(outside)
    result = run_cli(tmp_path, "--ci", f"oci://{root}")
    assert_clean_failure(result, tmp_path, 3, "missing")


def test_manifest_paths_climbing_out_of_the_layout_are_not_read(tmp_path: Path) -> None:
    root, _ = _layout_dir(tmp_path)
    (tmp_path / "outside-layer.tar").write_bytes(layer_tar([f("secret", "s")]))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest[0]["Layers"][1] = "../outside-layer.tar"
    (root / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli(tmp_path, "--ci", f"oci://{root}")
    assert_clean_failure(result, tmp_path, 3, "../outside-layer.tar", "missing")


def test_a_fifo_blob_does_not_hang(tmp_path: Path) -> None:
    root, blobs = _layout_dir(tmp_path)
    blobs[0].unlink()
    os.mkfifo(blobs[0])
    result = run_cli(tmp_path, "--ci", f"oci://{root}")  # run_divepy has a 120 s timeout
    assert_clean_failure(result, tmp_path, 3, "missing")


@pytest.mark.parametrize("which", ["layer", "manifest.json"])
def test_an_unreadable_blob_is_exit_3(tmp_path: Path, which: str) -> None:
    # found while writing these tests: PermissionError escaped as an internal error (exit 70)
    root, blobs = _layout_dir(tmp_path)
    os.chmod(blobs[1] if which == "layer" else root / which, 0)
    result = _run_unprivileged(tmp_path, "--ci", f"oci://{root}")
    assert_clean_failure(result, tmp_path, 3, "cannot read", "permission denied")
