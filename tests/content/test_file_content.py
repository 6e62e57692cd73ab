"""File versions: found per layer through symlinks and hardlinks, read from every file layout."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.file_content import (
    ContentCancelled,
    ContentError,
    ContentReader,
    FileVersion,
    locate_version,
)
from dive_py.domain.sources import open_image
from dive_py.domain.sources.podman import PodmanSource
from dive_py.domain.tar_stream import Readable
from dive_py.errors import EngineUnreachableError
from tests.image_builder import ImageSpec, d, docker_archive, f, hard, sym, wh

BIG = bytes(range(256)) * 8192  # 2 MiB

SPEC = ImageSpec(
    layers=[
        [
            d("etc"),
            f("etc/os-release", "base\n"),
            d("usr"),
            d("usr/lib"),
            f("usr/lib/big.bin", BIG),
            sym("etc/alias", "os-release"),
            d("data"),
            f("data/a", "A1"),
            hard("data/b", "data/a"),
        ],
        [d("etc"), f("etc/os-release", "rewritten\n", mode=0o755), sym("lib", "usr/lib")],
        [d("etc"), wh("etc/os-release")],
    ]
)


def _analysis(tmp_path: Path, layout: str = "legacy", compression: str = "none") -> Analysis:
    path = tmp_path / "image.tar"
    path.write_bytes(docker_archive(SPEC, layout=layout, compression=compression))
    return analyse(open_image(str(path), source="docker-archive"))


LAYOUTS = [
    ("legacy", "none"),
    ("podman", "none"),
    ("oci", "none"),
    ("oci", "gzip"),
    ("oci", "zstd"),
]


@pytest.mark.parametrize(("layout", "compression"), LAYOUTS)
def test_each_layer_gives_its_own_version(tmp_path: Path, layout: str, compression: str) -> None:
    analysis = _analysis(tmp_path, layout, compression)
    reader = ContentReader(analysis)
    base = locate_version(analysis, 0, "/etc/os-release")
    top = locate_version(analysis, 1, "etc/os-release")
    assert (base.layer, top.layer) == (0, 1)
    assert reader.read(base).data == b"base\n"
    assert reader.read(top).data == b"rewritten\n"
    with pytest.raises(ContentError, match="does not exist"):
        locate_version(analysis, 2, "etc/os-release")


@pytest.mark.parametrize(("layout", "compression"), LAYOUTS)
def test_symlinks_resolve_at_that_layer(tmp_path: Path, layout: str, compression: str) -> None:
    analysis = _analysis(tmp_path, layout, compression)
    reader = ContentReader(analysis)
    at0 = locate_version(analysis, 0, "etc/alias")
    assert at0.symlinks == ("etc/alias",) and at0.resolved == "etc/os-release"
    assert reader.read(at0).data == b"base\n"
    assert reader.read(locate_version(analysis, 1, "etc/alias")).data == b"rewritten\n"
    # a symlinked parent
    via_parent = locate_version(analysis, 1, "lib/big.bin")
    assert via_parent.resolved == "usr/lib/big.bin"
    with pytest.raises(ContentError):
        locate_version(analysis, 0, "lib/big.bin")  # lib arrives in layer 1


@pytest.mark.parametrize(("layout", "compression"), LAYOUTS)
def test_hardlink_gives_its_data(tmp_path: Path, layout: str, compression: str) -> None:
    analysis = _analysis(tmp_path, layout, compression)
    version = locate_version(analysis, 2, "data/b")
    assert version.data is not None and version.data.path == "data/a"
    assert ContentReader(analysis).read(version).data == b"A1"


@pytest.mark.parametrize(("layout", "compression"), LAYOUTS)
def test_view_reads_at_most_the_limit(tmp_path: Path, layout: str, compression: str) -> None:
    analysis = _analysis(tmp_path, layout, compression)
    content = ContentReader(analysis).read(locate_version(analysis, 2, "usr/lib/big.bin"))
    assert content.truncated and content.size == len(BIG)
    assert content.data == BIG[: 1 << 20]
    small = ContentReader(analysis).read(locate_version(analysis, 2, "usr/lib/big.bin"), limit=10)
    assert small.data == BIG[:10]


def test_uncompressed_layers_are_read_by_seeking(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path, "legacy", "none")
    layer = analysis.image.layers[0].contents
    assert layer.blob is not None and layer.blob.path == os.path.abspath(tmp_path / "image.tar")
    with open(layer.blob.path, "rb") as handle:
        handle.seek(layer.blob.offset + layer.data_offsets["etc/os-release"])
        assert handle.read(5) == b"base\n"


def test_whole_compressed_archive_is_streamed_again(tmp_path: Path) -> None:
    path = tmp_path / "image.tar.gz"
    path.write_bytes(gzip.compress(docker_archive(SPEC, layout="legacy"), mtime=0))
    analysis = analyse(open_image(str(path), source="docker-archive"))
    assert analysis.image.layers[0].contents.blob is None
    reader = ContentReader(analysis)
    assert reader.read(locate_version(analysis, 0, "etc/os-release")).data == b"base\n"
    assert reader.read(locate_version(analysis, 1, "etc/os-release")).data == b"rewritten\n"


def test_cancel_stops_a_read(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path, "oci", "gzip")
    version = locate_version(analysis, 2, "usr/lib/big.bin")
    with pytest.raises(ContentCancelled):
        ContentReader(analysis).read(version, cancel=lambda: True)


def test_directories_have_no_content(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path)
    with pytest.raises(ContentError, match="not a file"):
        ContentReader(analysis).read(locate_version(analysis, 0, "etc"))


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[sym("a", "b"), sym("b", "a")]])
    path = tmp_path / "loop.tar"
    path.write_bytes(docker_archive(spec))
    analysis = analyse(open_image(str(path), source="docker-archive"))
    with pytest.raises(ContentError, match="too many levels"):
        locate_version(analysis, 0, "a")


def test_stream_versions_serves_many_files_in_one_pass(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path, "oci", "gzip")
    versions = [locate_version(analysis, 2, p) for p in ("usr/lib/big.bin", "data/a", "data/b")]
    got: dict[str, bytes] = {}

    def sink(version: FileVersion, stream: Readable) -> None:
        got[version.path] = stream.read()

    ContentReader(analysis).stream_versions(versions, sink)
    # data/b is a hardlink to data/a: their bytes are served once
    assert got == {"usr/lib/big.bin": BIG, "data/a": b"A1"}


def _fake_podman(tmp_path: Path, known: list[str]) -> tuple[str, Path]:
    """A ``podman`` that knows the names ``known`` (each saved as SPEC's podman archive) and logs
    its arguments; returns (its path, the log)."""
    archive = tmp_path / "podman-save.tar"
    archive.write_bytes(docker_archive(SPEC, layout="podman"))
    log = tmp_path / "podman.log"
    names = " ".join(known)
    script = tmp_path / "podman"
    script.write_text(
        f"""#!/bin/sh
echo "$*" >> {log}
if [ "$1 $2" = "image exists" ]; then
    for n in {names}; do [ "$3" = "$n" ] && exit 0; done
    exit 1
fi
if [ "$1 $2" = "image save" ]; then
    for n in {names}; do [ "$5" = "$n" ] && exec cat {archive}; done
    echo "Error: $5: image not known" >&2
    exit 125
fi
exit 2
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), log


def test_podman_versions_stream_podmans_save_by_image_id(tmp_path: Path) -> None:
    podman, log = _fake_podman(tmp_path, ["spec:1"])
    image = PodmanSource(podman).fetch("spec:1")
    hex_id = image.image_id.removeprefix("sha256:")
    podman, log = _fake_podman(tmp_path, ["spec:1", hex_id])
    analysis = analyse(image)
    reader = ContentReader(analysis, podman=podman)
    log.write_text("")
    assert reader.read(locate_version(analysis, 0, "etc/os-release")).data == b"base\n"
    assert reader.read(locate_version(analysis, 1, "etc/alias")).data == b"rewritten\n"
    assert reader.read(locate_version(analysis, 2, "lib/big.bin"), limit=1 << 30).data == BIG
    assert reader.read(locate_version(analysis, 2, "data/b")).data == b"A1"
    saves = [line for line in log.read_text().splitlines() if line.startswith("image save")]
    assert saves == [f"image save --format docker-archive {hex_id}"] * 4


def test_podman_versions_fall_back_to_the_name(tmp_path: Path) -> None:
    podman, log = _fake_podman(tmp_path, ["spec:1"])
    analysis = analyse(PodmanSource(podman).fetch("spec:1"))
    reader = ContentReader(analysis, podman=podman)
    assert reader.read(locate_version(analysis, 1, "etc/os-release")).data == b"rewritten\n"
    assert log.read_text().splitlines()[-1] == "image save --format docker-archive spec:1"


def test_podman_save_failure_names_podmans_reason(tmp_path: Path) -> None:
    podman, _log = _fake_podman(tmp_path, ["spec:1"])
    analysis = analyse(PodmanSource(podman).fetch("spec:1"))
    analysis.image.reference = "gone:1"
    with pytest.raises(ContentError, match="gone:1 failed: Error: gone:1: image not known"):
        ContentReader(analysis, podman=podman).read(locate_version(analysis, 0, "data/a"))


def test_podman_missing_is_a_content_error(tmp_path: Path) -> None:
    podman, _log = _fake_podman(tmp_path, ["spec:1"])
    analysis = analyse(PodmanSource(podman).fetch("spec:1"))
    reader = ContentReader(analysis, podman=str(tmp_path / "no-such-podman"))
    with pytest.raises(ContentError, match="podman is not installed"):
        reader.read(locate_version(analysis, 0, "data/a"))


def test_an_unreachable_engine_is_a_content_error(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path)
    analysis.image.source = "docker"
    for layer in analysis.image.layers:
        layer.contents.blob = None  # as the docker source reads them: no bytes kept

    def engine() -> object:
        raise EngineUnreachableError("cannot connect to the engine", "start it")

    reader = ContentReader(analysis, engine=engine)
    final = locate_version(analysis, 2, "data/a")
    assert final.final
    with pytest.raises(ContentError, match="cannot connect to the engine"):
        reader.read(final)
    with pytest.raises(ContentError, match="cannot connect to the engine"):
        reader.read(locate_version(analysis, 0, "etc/os-release"))
