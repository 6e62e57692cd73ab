"""``divepy ls``: a layer's entries like ``tar -tv``, with the explorer's change markers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hostile.helpers import archive_file, assert_clean_failure, run_cli
from tests.image_builder import ImageSpec, d, f, sym, wh

SPEC = ImageSpec(
    layers=[
        [d("etc"), f("etc/a", "1"), f("etc/b", "22"), sym("etc/l", "a"), f("etc/new\nline", "x")],
        [d("etc"), f("etc/a", "111"), wh("etc/b"), f("etc/c", "c", mode=0o755)],
    ]
)


def _ls(tmp_path: Path, *args: str) -> str:
    image = archive_file(tmp_path, SPEC)
    result = run_cli(tmp_path, "ls", str(image), "--source", "docker-archive", "--no-cache", *args)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def test_a_layers_own_entries_with_markers(tmp_path: Path) -> None:
    assert _ls(tmp_path, "--layer", "1").splitlines() == [
        "~ drwxr-xr-x 0/0          0 /etc",
        "~ -rw-r--r-- 0/0          3 /etc/a",
        "- -rw-r--r-- 0/0          2 /etc/b",
        "+ -rwxr-xr-x 0/0          1 /etc/c",
    ]


def test_aggregated_lists_the_image_at_that_layer_with_escaped_names(tmp_path: Path) -> None:
    lines = _ls(tmp_path, "--layer", "0", "--aggregated").splitlines()
    assert lines == [
        "+ drwxr-xr-x 0/0          0 /etc",
        "+ -rw-r--r-- 0/0          1 /etc/a",
        "+ -rw-r--r-- 0/0          2 /etc/b",
        "+ lrwxrwxrwx 0/0          0 /etc/l -> a",
        "+ -rw-r--r-- 0/0          1 /etc/new\\nline",
    ]
    final = _ls(tmp_path, "--aggregated").splitlines()  # default: the final image
    assert "- -rw-r--r-- 0/0          2 /etc/b" in final
    assert "  lrwxrwxrwx 0/0          0 /etc/l -> a" in final


def test_json_output(tmp_path: Path) -> None:
    rows = json.loads(_ls(tmp_path, "--json", "--layer", "1"))
    assert [(r["path"], r["change"], r["size"]) for r in rows] == [
        ("/etc", "modified", 0),
        ("/etc/a", "modified", 3),
        ("/etc/b", "removed", 2),
        ("/etc/c", "added", 1),
    ]


def test_a_layer_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    image = archive_file(tmp_path, SPEC)
    result = run_cli(tmp_path, "ls", str(image), "--source", "docker-archive", "--layer", "2")
    assert_clean_failure(result, tmp_path, 2, "--layer 2", "0 to 1")


def test_an_image_without_layers_is_said_so(tmp_path: Path) -> None:
    """Trial of this release: ``ls`` of an image with no layers said ``--layer -1: the image
    has layers 0 to -1`` (exit 2); ``extract`` the same."""
    image = archive_file(tmp_path, ImageSpec(layers=[]))
    result = run_cli(tmp_path, "ls", str(image), "--source", "docker-archive", "--no-cache")
    assert_clean_failure(result, tmp_path, 3, "no layers")
    assert "-1" not in result.stderr
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(tmp_path, "extract", str(image), "/etc", "-o", str(out), "--no-cache")
    assert_clean_failure(result, tmp_path, 3, "no layers", out_dir=out)
