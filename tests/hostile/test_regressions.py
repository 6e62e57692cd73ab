"""Inputs that broke divepy while these tests were written, kept as regression tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dive_py.errors import ArchiveError
from tests.hostile.helpers import archive_with_raw_layers, assert_clean_failure, pipeline, run_cli
from tests.stacking_oracle import final_state


def _pax_member(record: bytes) -> bytes:
    """A tar of one empty file ``f`` preceded by a PAX header holding ``record`` as written."""
    for width in range(1, 5):
        line = b"%d %s" % (len(record) + width + 1, record)
        if len(line) == len(record) + width + 1:
            break
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = len(line)
    out = pax.tobuf(tarfile.USTAR_FORMAT) + line + b"\0" * (-len(line) % 512)
    return out + tarfile.TarInfo("f").tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024


def _with_checksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])
    return bytes(header)


@pytest.mark.parametrize(
    "key, value",
    [
        ("uid", b"3000\xb000"),
        ("gid", b"/000000"),
        ("uid", b"-5"),
        ("size", b"-1"),
        ("GNU.sparse.realsize", b"x"),
    ],
)
def test_bad_numbers_in_pax_records_are_a_corrupt_layer(key: str, value: bytes) -> None:
    # found by the mutation fuzzer: int(b"3000\xb000") raised ValueError (exit 70)
    data = _pax_member(b"%s=%s\n" % (key.encode(), value))
    with pytest.raises(ArchiveError, match="unreadable: layer is not a valid tar: .*PAX"):
        pipeline(archive_with_raw_layers([data]))


def test_negative_old_gnu_sparse_size_is_a_corrupt_layer() -> None:
    # found by review of the fuzzer's reach: a base-256 -1 realsize gave a file of -1 bytes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(tarfile.TarInfo("s"))
    data = bytearray(buf.getvalue())
    data[156:157] = b"S"
    data[483:495] = b"\xff" * 12
    with pytest.raises(ArchiveError, match="negative sparse size"):
        pipeline(archive_with_raw_layers([_with_checksum(data[:512]) + bytes(data[512:])]))


def _deep_json() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("name", ["manifest.json", "index.json"])
def test_deeply_nested_json_is_a_corrupt_archive_not_a_crash(tmp_path: Path, name: str) -> None:
    # found while writing these tests: json.loads raised RecursionError (exit 70)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(_deep_json())
        tar.addfile(info, io.BytesIO(_deep_json()))
    with pytest.raises(ArchiveError, match="not valid JSON.*nested too deeply"):
        pipeline(buf.getvalue())
    archive = tmp_path / "deep.tar"
    archive.write_bytes(buf.getvalue())
    assert_clean_failure(
        run_cli(tmp_path, "--ci", f"docker-archive://{archive}"), tmp_path, 3, "nested too deeply"
    )


def test_deeply_nested_json_in_an_oci_layout_directory(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_bytes(_deep_json())
    assert_clean_failure(
        run_cli(tmp_path, "--ci", f"oci://{layout}"), tmp_path, 3, "nested too deeply"
    )


_DEEP = "/".join(["a"] * 3000)


@pytest.mark.parametrize("top", ["whiteout", "opaque", "file over the directory"])
def test_removing_a_very_deep_directory_does_not_recurse(top: str) -> None:
    # found while writing these tests: FileTree._remove recursed once per level (RecursionError)
    from tests.image_builder import ImageSpec, docker_archive, f, opaque, wh

    upper = {
        "whiteout": [wh("a")],
        "opaque": [opaque("a")],
        "file over the directory": [f("a", "now a file")],
    }[top]
    analysis, _ = pipeline(docker_archive(ImageSpec(layers=[[f(_DEEP + "/file", "x")], upper])))
    assert analysis.efficiency.reclaimable_bytes == 1
    assert final_state(analysis).find(_DEEP) is None


def test_4096_character_path_of_one_character_components_through_the_cli(tmp_path: Path) -> None:
    from tests.image_builder import ImageSpec, docker_archive, f, wh

    path = "/".join(["d"] * 2047) + "/ff"  # 4096 characters, 2048 levels
    assert len(path) == 4096
    archive = tmp_path / "deep.tar"
    archive.write_bytes(
        docker_archive(ImageSpec(layers=[[f(path, "1")], [f(path, "2")], [wh("d")]]))
    )
    out = tmp_path / "o.json"
    result = run_cli(tmp_path, "--ci", "--json", str(out), f"docker-archive://{archive}")
    assert result.returncode in (0, 1), result.stderr
    assert "/" + path in result.stdout
    assert out.exists() and list((tmp_path / "tmp").iterdir()) == []


def test_very_deep_nesting_is_analysed_in_linear_time() -> None:
    # found while writing these tests: finding each implicit parent directory from the root
    # (efficiency) and FileNode.path per created directory (stacking) were quadratic in the
    # depth: 10,000 levels took ~20 s; now well under a second
    import time

    from dive_py.domain.analysis import analyse
    from dive_py.domain.compare import CompareMode
    from dive_py.domain.sources.archive_stream import read_archive_stream
    from dive_py.domain.sources.image_layout import assemble_image
    from tests.image_builder import ImageSpec, docker_archive, f

    deep = "/".join(["a"] * 10_000)
    data = docker_archive(ImageSpec(layers=[[f(deep + "/file", "x")], [f(deep + "/file", "y")]]))
    image = assemble_image(read_archive_stream(io.BytesIO(data)), reference="", source="test")
    started = time.monotonic()
    analysis = analyse(image)
    for mode in CompareMode:
        tree = analysis.compared_tree(1, mode)
    elapsed = time.monotonic() - started
    assert tree.find(deep + "/file") is not None
    assert tree.find(deep).entry.path == deep  # type: ignore[union-attr]
    assert elapsed < 8, f"{elapsed:.1f} s"
