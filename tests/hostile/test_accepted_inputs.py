"""Inputs the Docker engine accepts must open (issue 12): every kind keeps a generated input.

- a 0-byte layer blob (Docker 20.10's ``docker save`` writes one for a step that changed
  nothing) is the empty layer;
- a layer tar that ends right after its last member, without the two zero blocks, ends there
  (Go's archive/tar, ``docker load`` and containerd accept it); an end inside a member is
  still truncation;
- a whole ``docker save`` archive compressed with gzip, bzip2, xz or zstd is decompressed as
  it streams (``docker load`` reads them);
- layer blobs compressed with bzip2 or xz open like gzip and zstd; a compression no engine
  reads is refused with an error that names it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dive_py.domain.compression import (
    Compression,
    CorruptStreamError,
    UnsupportedCompressionError,
    ZstdStream,
    detect_compression,
    read_decompressed,
)
from dive_py.domain.layer_tar import EMPTY_TAR_DIFF_ID, LayerFormatError, read_layer
from dive_py.errors import ArchiveError
from tests.hostile.helpers import (
    archive_with_raw_layers,
    assert_clean_failure,
    pipeline,
    rewrite_legacy_config,
    run_cli,
)
from tests.image_builder import ImageSpec, compress, d, docker_archive, f, layer_tar

SPEC = ImageSpec(
    layers=[
        [d("app"), f("app/a.txt", "hello\n"), f("app/b.bin", bytes(range(256)) * 40)],
        [f("app/a.txt", "hello again\n"), f("etc/conf", "x=1\n")],
    ]
)


def _without_end_blocks(tar: bytes) -> bytes:
    """The tar cut right after its last member's padded data (no end-of-archive blocks)."""
    body = tar.rstrip(b"\0")
    return body + b"\0" * (-len(body) % 512)


def _figures(json_text: str) -> dict[str, object]:
    document = json.loads(json_text)
    image = document["image"]
    return {
        "layers": [(layer["sizeBytes"], len(layer["fileList"])) for layer in document["layer"]],
        "files": [[entry["path"] for entry in layer["fileList"]] for layer in document["layer"]],
        "efficiency": image["efficiencyScore"],
        "wasted": image["inefficientBytes"],
        "warnings": image.get("warnings", []),
    }


# -- a 0-byte layer blob ------------------------------------------------------------------------


def test_zero_byte_blob_is_the_empty_layer() -> None:
    layer = read_layer(io.BytesIO(b""), b"")
    assert layer.entries == {} and layer.member_count == 0 and layer.size_bytes == 0
    assert layer.diff_id == EMPTY_TAR_DIFF_ID
    # the diff ID Docker records for a step that changed nothing: a tar of two zero blocks
    assert read_layer(io.BytesIO(b"\0" * 1024), b"").diff_id == EMPTY_TAR_DIFF_ID


def test_archive_with_a_zero_byte_layer_tar_opens_without_warnings() -> None:
    # As Docker 20.10 saves `RUN true`: the layer.tar is empty and the config's diff ID is
    # the empty tar's.
    archive = archive_with_raw_layers([layer_tar([f("a", "1")]), b""])

    def docker_diff_ids(config: dict) -> None:  # type: ignore[type-arg]
        config["rootfs"]["diff_ids"][1] = EMPTY_TAR_DIFF_ID

    analysis, text = pipeline(rewrite_legacy_config(archive, docker_diff_ids))
    assert len(analysis.image.layers) == 2
    assert analysis.image.layers[1].contents.entries == {}
    figures = _figures(text)
    assert figures["layers"] == [(1, 1), (0, 0)]
    assert figures["warnings"] == []


def test_zero_byte_layer_from_the_cli(tmp_path: Path) -> None:
    archive = archive_with_raw_layers([layer_tar([f("a", "1")]), b""], layout="oci")
    path = tmp_path / "image.tar"
    path.write_bytes(archive)
    out = tmp_path / "out.json"
    result = run_cli(tmp_path, "--json", str(out), f"docker-archive://{path}")
    assert result.returncode == 0, result.stderr
    assert [layer["sizeBytes"] for layer in json.loads(out.read_text())["layer"]] == [1, 0]


# -- a layer tar without its end-of-archive blocks ----------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_layer_ending_after_its_last_member_opens(compression: str) -> None:
    whole = layer_tar(SPEC.layers[0])
    cut = _without_end_blocks(whole)
    assert len(cut) < len(whole) and len(cut) % 512 == 0 and not cut.endswith(b"\0" * 512)
    blob = compress(cut, compression)
    layer = read_layer(io.BytesIO(blob), blob[:10])
    assert sorted(layer.entries) == ["app", "app/a.txt", "app/b.bin"]
    assert layer.entries["app/b.bin"].size == 256 * 40


def test_archive_whose_layers_lack_end_blocks_has_the_same_figures() -> None:
    tars = [layer_tar(entries) for entries in SPEC.layers]
    _, expected = pipeline(archive_with_raw_layers(tars))
    _, actual = pipeline(archive_with_raw_layers([_without_end_blocks(t) for t in tars]))
    assert _figures(actual)["layers"] == _figures(expected)["layers"]
    assert _figures(actual)["files"] == _figures(expected)["files"]


@pytest.mark.parametrize("keep", [700, 512 + 100, 2 * 512 + 1])
def test_layer_ending_inside_a_member_is_still_truncated(keep: int) -> None:
    # member "big" has 5,000 bytes of data: any cut inside its header, data or padding
    whole = layer_tar([f("big", b"y" * 5000), f("after", "z")])
    with pytest.raises(LayerFormatError, match="truncated"):
        read_layer(io.BytesIO(whole[:keep]), whole[:10])


def test_truncated_layer_without_end_blocks_is_an_error_from_the_cli(tmp_path: Path) -> None:
    whole = layer_tar([f("big", b"y" * 5000)])
    path = tmp_path / "image.tar"
    path.write_bytes(archive_with_raw_layers([whole[:3000]]))
    result = run_cli(tmp_path, "--ci", f"docker-archive://{path}")
    assert_clean_failure(result, tmp_path, 3, "truncated")


# -- a whole archive compressed -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["gzip", "bzip2", "xz", "zstd"])
@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_compressed_docker_save_archive_opens(tmp_path: Path, how: str, layout: str) -> None:
    plain = docker_archive(SPEC, layout=layout)
    (tmp_path / "plain.tar").write_bytes(plain)
    packed = tmp_path / f"image.tar.{how}"
    packed.write_bytes(compress(plain, how))
    results = {}
    for name in ("plain.tar", packed.name):
        out = tmp_path / f"{name}.json"
        result = run_cli(tmp_path, "--json", str(out), f"docker-archive://{tmp_path / name}")
        assert result.returncode == 0, result.stderr
        results[name] = _figures(out.read_text())
    assert results[packed.name] == results["plain.tar"]


def test_compressed_oci_layout_tar_opens(tmp_path: Path) -> None:
    path = tmp_path / "layout.tar.gz"
    path.write_bytes(compress(docker_archive(SPEC, layout="oci-only"), "gzip"))
    out = tmp_path / "o.json"
    result = run_cli(tmp_path, "--json", str(out), f"oci://{path}")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["layer"]) == 2


def test_truncated_compressed_archive_is_an_error(tmp_path: Path) -> None:
    packed = compress(docker_archive(SPEC), "xz")
    path = tmp_path / "image.tar.xz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    result = run_cli(tmp_path, "--ci", f"docker-archive://{path}")
    assert_clean_failure(result, tmp_path, 3, "xz")


# -- layer blobs compressed with bzip2 or xz; compressions no engine reads ----------------------


@pytest.mark.parametrize("how", ["bzip2", "xz"])
@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_bzip2_and_xz_layers_open_with_the_same_figures(how: str, layout: str) -> None:
    _, expected = pipeline(docker_archive(SPEC, layout=layout))
    analysis, actual = pipeline(docker_archive(SPEC, layout=layout, compression=how))
    assert _figures(actual) == _figures(expected)
    assert {layer.contents.compression for layer in analysis.image.layers} == {Compression(how)}


@pytest.mark.parametrize("how", ["bzip2", "xz"])
def test_truncated_bzip2_and_xz_layers_are_errors(how: str) -> None:
    blob = compress(layer_tar([f("a", bytes(range(256)) * 400)]), how)
    with pytest.raises(LayerFormatError, match=how):
        read_layer(io.BytesIO(blob[: len(blob) // 2]), blob[:10])


def test_concatenated_streams_are_read_whole() -> None:
    tar = layer_tar([f("a", "1"), f("b", "2")])
    for how in ("bzip2", "xz", "zstd", "gzip"):
        blob = compress(tar[:1024], how) + compress(tar[1024:], how)
        stream, kind = read_decompressed(io.BytesIO(blob))
        assert kind is Compression(how)
        assert stream.read() == tar, how


def test_zstd_truncated_after_the_tar_ended_is_an_error() -> None:
    # the tar's end blocks are complete, only the frame's end is missing: zstandard's stream
    # reader would report a clean end here
    blob = compress(layer_tar([f("a", "1")]), "zstd")
    stream = ZstdStream(io.BytesIO(blob[:-3]))
    with pytest.raises(CorruptStreamError, match="truncated"):
        while stream.read(4096):
            pass


@pytest.mark.parametrize(
    ("magic", "name"),
    [
        (b"\x04\x22\x4d\x18", "lz4"),
        (b"\x1f\x9d\x90", "Unix compress"),
        (b"LZIP\x01", "lzip"),
        (b"\x89LZO\x00\r\n\x1a\n", "lzop"),
    ],
)
def test_compression_no_engine_reads_is_named(tmp_path: Path, magic: bytes, name: str) -> None:
    blob = magic + b"\x00" * 600
    with pytest.raises(UnsupportedCompressionError, match=name):
        detect_compression(blob[:10])
    with pytest.raises(LayerFormatError, match=name) as caught:
        read_layer(io.BytesIO(blob), blob[:10])
    assert caught.value.hint is not None and "save the image again" not in caught.value.hint
    # in an archive: exit 3, the error names the compression, not "corrupt or truncated"
    path = tmp_path / "image.tar"
    path.write_bytes(archive_with_raw_layers([blob]))
    result = run_cli(tmp_path, "--ci", f"docker-archive://{path}")
    assert_clean_failure(result, tmp_path, 3, name)
    assert "save the image again" not in result.stderr
    # a whole archive compressed so
    path.write_bytes(blob)
    result = run_cli(tmp_path, "--ci", f"docker-archive://{path}")
    assert_clean_failure(result, tmp_path, 3, name)


@pytest.mark.parametrize("name", ["BZh", "BZh9", "BZh9-notes.txt", "BZh1AY-almost"])
def test_tar_whose_first_name_starts_like_bzip2_is_a_tar(name: str) -> None:
    tar = layer_tar([f(name, "1")])
    assert detect_compression(tar[:10]) is Compression.NONE
    assert list(read_layer(io.BytesIO(tar), tar[:10]).entries) == [name]


def test_unsupported_layer_compression_in_the_pipeline_is_an_archive_error() -> None:
    with pytest.raises(ArchiveError, match="lz4"):
        pipeline(archive_with_raw_layers([b"\x04\x22\x4d\x18" + bytes(100)]))
