"""``divepy extract``: a path as it is at a layer, written safely into a directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.extract import extract, removed_by_layer
from dive_py.domain.file_content import ContentReader
from dive_py.domain.sources import open_image
from dive_py.errors import OutputError
from tests.hostile.helpers import archive_file, assert_clean_failure, run_cli, snapshot
from tests.hostile.test_entries import _NASTY
from tests.image_builder import E, ImageSpec, d, f, hard, opaque, sym, wh

SPEC = ImageSpec(
    layers=[
        [
            d("etc"),
            f("etc/os-release", "base\n"),
            f("etc/suid", "s", mode=0o4755),
            sym("etc/link", "os-release"),
            sym("etc/out", "/../../../../tmp/outside"),
            E("etc/fifo", "fifo", mode=0o644),
            E("etc/null", "char", mode=0o666),
            hard("etc/hl", "etc/os-release"),
        ],
        [d("etc"), f("etc/os-release", "rewritten\n"), wh("etc/suid")],
    ]
)


def _reader(tmp_path: Path, spec: ImageSpec = SPEC, layout: str = "legacy") -> ContentReader:
    path = archive_file(tmp_path, spec, layout=layout)
    analysis: Analysis = analyse(open_image(str(path), source="docker-archive"))
    return ContentReader(analysis)


def outside(tmp_path: Path, out: Path) -> dict[str, tuple[int, int]]:
    """Everything under tmp_path except ``out``: path -> (mode, size)."""
    result = {}
    for root, dirs, files in os.walk(tmp_path):
        if Path(root) == out or out in Path(root).parents:
            dirs.clear()
            continue
        for name in dirs + files:
            info = os.lstat(os.path.join(root, name))
            result[os.path.join(root, name)] = (info.st_mode, info.st_size)
    return result


def test_a_file_at_each_layer(tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    extract(reader, 0, "/etc/os-release", str(tmp_path / "a"))
    extract(reader, 1, "/etc/os-release", str(tmp_path / "b"))
    assert (tmp_path / "a/os-release").read_bytes() == b"base\n"
    assert (tmp_path / "b/os-release").read_bytes() == b"rewritten\n"


def test_a_directory_with_links_devices_and_setuid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = extract(_reader(tmp_path), 0, "etc", str(out))
    etc = out / "etc"
    assert (etc / "os-release").read_bytes() == b"base\n"
    assert os.readlink(etc / "link") == "os-release"
    assert os.readlink(etc / "out") == "/../../../../tmp/outside"  # written, never followed
    assert os.stat(etc / "hl").st_ino == os.stat(etc / "os-release").st_ino
    assert stat.S_IMODE(os.stat(etc / "suid").st_mode) == 0o755  # setuid dropped
    assert {path for path, _ in report.skipped} == {"etc/fifo", "etc/null"}
    assert not (etc / "fifo").exists() and not (etc / "null").exists()


def test_existing_files_need_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "os-release").write_text("mine")
    reader = _reader(tmp_path)
    with pytest.raises(OutputError, match="exists already"):
        extract(reader, 0, "etc/os-release", str(out))
    assert (out / "os-release").read_text() == "mine"
    extract(reader, 0, "etc/os-release", str(out), force=True)
    assert (out / "os-release").read_text() == "base\n"
    assert sorted(os.listdir(out)) == ["os-release"]  # no temporary file left


def test_a_symlink_already_in_dir_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "etc").symlink_to(elsewhere)
    with pytest.raises(OutputError):
        extract(_reader(tmp_path), 0, "etc", str(out), force=True)
    assert list(elsewhere.iterdir()) == []


HOSTILE = [
    # absolute names and .. (clamped to the root when read)
    [f("/abs/file", "a"), f("../../../up/file", "b"), f("x/../../../y", "c")],
    # a symlink pointing out, then a file through it in the same and a later layer
    [d("esc"), sym("esc/out", "../../../../../.."), f("esc/out/pwned", "x")],
    # a symlinked parent: a directory replaced by a symlink to the host's /
    [sym("esc/out2", "/"), f("esc/out2/tmp/pwned", "y")],
    # a hardlink to an outside path
    [hard("esc/hl", "../../../../etc/passwd"), hard("esc/hl2", "/etc/shadow")],
    # tests/hostile/test_entries.py's cases: control characters and non-UTF-8 bytes in names,
    # symlink loops, hardlinks to a directory or to themselves, a file replaced by a directory,
    # device nodes and FIFOs, a 4096-character path
    [d("names"), *(f(f"names/{name}", "n") for name in _NASTY)],
    [sym("self", "self"), sym("a", "b"), sym("b", "a"), d("dir"), sym("dir/up", "..")],
    [d("hd"), hard("hdir", "hd"), hard("me", "me")],
    [d("p"), f("p/child", "cc")],
    [f("p", "file-again"), E("dev/null", "char", mode=0o666), E("fifo", "fifo", mode=0o644)],
    [f("/".join(["x" * 200] * 20), "long")],
]


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_the_hostile_entries_stay_inside_dir(tmp_path: Path, layout: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    reader = _reader(work, ImageSpec(layers=HOSTILE), layout)
    out = work / "deep" / "out"
    out.mkdir(parents=True)
    before = outside(tmp_path, out)
    for index in range(len(HOSTILE)):
        for path in ("/", "esc", "esc/out", "esc/out2", "esc/hl", "a", "dir/up", "hdir", "p"):
            target = out / f"{index}-{path.replace('/', '_')}"
            try:
                extract(reader, index, path, str(target), force=True)
            except Exception as exc:  # a refusal is fine; a write outside is not
                assert type(exc).__name__ in ("ContentError", "OutputError"), exc
    assert outside(tmp_path, out) == before
    for root, _dirs, files in os.walk(out):
        for name in files:
            real = os.path.realpath(os.path.join(root, name))
            if not os.path.islink(os.path.join(root, name)):
                assert real.startswith(str(out) + os.sep)


def test_cli_extract_and_exit_codes(tmp_path: Path) -> None:
    image = archive_file(tmp_path, SPEC)
    out = tmp_path / "out"
    result = run_cli(
        tmp_path,
        "extract",
        f"docker-archive:{image}",
        "/etc/os-release",
        "-o",
        str(out),
        "--layer",
        "0",
        "--no-cache",
    )
    assert result.returncode == 0, result.stderr
    assert (out / "os-release").read_bytes() == b"base\n"
    again = run_cli(
        tmp_path,
        "extract",
        f"docker-archive:{image}",
        "/etc/os-release",
        "-o",
        str(out),
        "--no-cache",
    )
    assert_clean_failure(
        again, tmp_path, 4, "exists already", out_dir=out, out_before={"os-release": b"base\n"}
    )
    forced = run_cli(
        tmp_path,
        "extract",
        f"docker-archive:{image}",
        "/etc/os-release",
        "-o",
        str(out),
        "--force",
        "--no-cache",
    )
    assert forced.returncode == 0 and (out / "os-release").read_bytes() == b"rewritten\n"
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad_dir = run_cli(
        tmp_path,
        "extract",
        str(image),
        "/etc",
        "-o",
        str(blocked / "x"),
        "--source",
        "docker-archive",
        "--no-cache",
    )
    assert_clean_failure(bad_dir, tmp_path, 4, "cannot write")
    missing = run_cli(
        tmp_path,
        "extract",
        str(image),
        "/nope",
        "-o",
        str(out),
        "--source",
        "docker-archive",
        "--no-cache",
    )
    assert_clean_failure(missing, tmp_path, 3, "/nope does not exist")
    bad_layer = run_cli(
        tmp_path,
        "extract",
        str(image),
        "/etc",
        "--layer",
        "7",
        "--source",
        "docker-archive",
        "--no-cache",
    )
    assert_clean_failure(bad_layer, tmp_path, 2, "--layer 7")


REMOVALS = ImageSpec(
    layers=[
        [
            d("etc"),
            f("etc/gone.txt", "bye\n"),
            d("var"),
            d("var/cache"),
            f("var/cache/x.bin", b"\0\1"),
            d("var/cache/sub"),
            f("var/cache/sub/y", "why\n"),
            d("opt"),
            f("opt/keep", "kept\n"),
            f("opt/drop", "dropped\n"),
            d("srv"),
            f("srv/child", "child\n"),
            d("real"),
            f("real/f", "real\n"),
            sym("via", "real"),
        ],
        [
            d("etc"),
            wh("etc/gone.txt"),
            d("var"),
            wh("var/cache"),
            d("opt"),
            opaque("opt"),
            f("opt/keep", "kept again\n"),
            f("srv", "a file over the directory\n"),
            sym("via", "elsewhere"),
        ],
        [f("later", "later\n")],
    ]
)


def _run_extract(tmp_path: Path, image: Path, path: str, layer: int, out: Path):  # type: ignore[no-untyped-def]
    return run_cli(
        tmp_path,
        "extract",
        f"docker-archive:{image}",
        path,
        "-o",
        str(out),
        "--layer",
        str(layer),
        "--no-cache",
    )


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("/etc/gone.txt", {"gone.txt": b"bye\n"}),
        ("/var/cache", {"cache/x.bin": b"\0\1", "cache/sub/y": b"why\n"}),
        ("/opt/drop", {"drop": b"dropped\n"}),
        ("/srv/child", {"child": b"child\n"}),
    ],
    ids=["whited-out-file", "whited-out-directory", "opaque-child", "below-a-file-over-its-dir"],
)
def test_cli_extracts_the_version_a_layer_removed(
    tmp_path: Path, path: str, written: dict[str, bytes]
) -> None:
    """``divepy extract IMAGE PATH --layer N`` on a path layer N removed said ``does not exist
    at layer N`` (exit 3) while the explorer's ctrl+e on that removed row writes the version the
    layer removed; the CLI writes that version too (the whole directory as it was), and says so."""
    image = archive_file(tmp_path, REMOVALS)
    out = tmp_path / "out"
    result = _run_extract(tmp_path, image, path, 1, out)
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == written
    note = (
        f"divepy: {path} was removed by layer 1; extracting the version it removed (from layer 0)"
    )
    assert note in result.stderr.splitlines(), result.stderr


def test_cli_a_path_removed_by_an_earlier_layer_is_still_missing(tmp_path: Path) -> None:
    """Only the layer that removed a path writes the version it removed: at a later layer
    (and for a path no layer held) the path does not exist, exit 3, as before."""
    image = archive_file(tmp_path, REMOVALS)
    out = tmp_path / "out"
    at_removal = _run_extract(tmp_path, image, "/etc/gone.txt", 1, out)
    assert at_removal.returncode == 0, at_removal.stderr
    later = tmp_path / "later"
    for path in ("/etc/gone.txt", "/var/cache/x.bin", "/never"):
        result = _run_extract(tmp_path, image, path, 2, later)
        assert_clean_failure(result, tmp_path, 3, "does not exist")
        assert "removed by layer" not in result.stderr
    assert not later.exists()


def test_removed_by_layer_only_for_that_layers_removed_rows(tmp_path: Path) -> None:
    """A path that went because a symlink on its way changed was not removed by that layer
    (no removed row): the path is simply missing there."""
    analysis = _reader(tmp_path, REMOVALS).analysis
    assert removed_by_layer(analysis, 1, "/etc/gone.txt")
    assert removed_by_layer(analysis, 1, "opt/drop")
    assert not removed_by_layer(analysis, 1, "/opt/keep")  # still there
    assert not removed_by_layer(analysis, 0, "/etc/gone.txt")  # layer 0 removes nothing
    assert not removed_by_layer(analysis, 2, "/etc/gone.txt")  # removed earlier
    assert not removed_by_layer(analysis, 1, "/never")
    assert not removed_by_layer(analysis, 1, "/via/f")  # the symlink changed; /real/f is there
