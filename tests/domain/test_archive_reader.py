"""Images read from disk: the ``docker-archive`` and ``oci`` sources share one reader."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dive_py.domain.sources import open_image
from dive_py.domain.sources.archive_reader import read_layout_directory
from dive_py.errors import ArchiveError, ImageNotFoundError
from tests.image_builder import ImageSpec, docker_archive, f


def _layout(tmp_path: Path) -> Path:
    layout = tmp_path / "layout"
    data = docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]]), layout="oci-only")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(layout, filter="data")
    return layout


def test_a_directory_given_as_docker_archive_reads_as_the_oci_source(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    as_archive = open_image(str(layout), source="docker-archive")
    as_oci = open_image(str(layout), source="oci")
    assert as_archive.source == as_oci.source == "oci"
    assert [layer.diff_id for layer in as_archive.layers] == [
        layer.diff_id for layer in as_oci.layers
    ]


def test_an_oci_layout_tar_and_its_directory_read_the_same(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    archive = tmp_path / "layout.tar"
    archive.write_bytes(
        docker_archive(ImageSpec(layers=[[f("a", "1")], [f("b", "2")]]), layout="oci-only")
    )
    from_tar = open_image(str(archive), source="oci")
    from_directory = open_image(str(layout), source="oci")
    assert [layer.diff_id for layer in from_tar.layers] == [
        layer.diff_id for layer in from_directory.layers
    ]


def test_a_missing_layout_directory_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFoundError, match="does not exist"):
        read_layout_directory(
            str(tmp_path / "nope"), reference="nope", source="oci", platform=None, progress=None
        )


def test_a_directory_without_index_json_is_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no index.json"):
        read_layout_directory(
            str(tmp_path), reference="x", source="oci", platform=None, progress=None
        )
