"""Layer and Image Details of an image whose source knows its blobs (issue 15): the stored
(compressed) size and media type per layer, and the image's compressed total."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.ui import details
from dive_py.ui.app import make_app
from dive_py.ui.details import image_summary, layer_details
from tests.ui.conftest import demo_analysis, screen_text, settle

GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
NOW = datetime(2024, 5, 22, 12, 0, tzinfo=timezone.utc)


def registry_like(tmp_path: Path) -> Analysis:
    """The demo image with what the registry source records per layer: each blob's stored
    size (a third of the layer's bytes, plus 100) and media type."""
    analysis = demo_analysis(tmp_path)
    for layer in analysis.image.layers:
        layer.compressed_size_bytes = layer.size_bytes // 3 + 100
        layer.media_type = GZIP
    return analysis


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(details, "now_utc", lambda: NOW)


def test_layer_details_show_the_blob_only_when_the_source_knows_it(tmp_path: Path) -> None:
    analysis = registry_like(tmp_path)
    layer = analysis.image.layers[1]
    plain = layer_details(layer, 6, NOW).plain
    assert f"Compressed: {details.format_bytes(layer.size_bytes // 3 + 100)}\n" in plain
    assert f"Media type: {GZIP}\n" in plain
    layer.compressed_size_bytes, layer.media_type = None, ""  # an engine or archive source
    plain = layer_details(layer, 6, NOW).plain
    assert "Compressed" not in plain and "Media type" not in plain


def test_image_details_show_what_a_pull_downloads(tmp_path: Path) -> None:
    analysis = registry_like(tmp_path)
    total = sum(layer.size_bytes // 3 + 100 for layer in analysis.image.layers)
    assert analysis.image.compressed_size_bytes == total
    assert f"Compressed size: {details.format_bytes(total)}" in image_summary(analysis, "i").plain
    compact = image_summary(analysis, "i", compact=True, width=300).plain
    assert f"Compressed: {details.format_bytes(total)}" in compact
    analysis.image.layers[0].compressed_size_bytes = None  # one layer unknown: no total
    assert "Compressed" not in image_summary(analysis, "i").plain


async def test_explorer_shows_the_blob_of_the_selected_layer(tmp_path: Path) -> None:
    analysis = registry_like(tmp_path)
    app = make_app(analysis, image_name="registry://localhost:5000/demo:1")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        text = screen_text(app)
        third = analysis.image.layers[2]
        assert f"Compressed: {details.format_bytes(third.compressed_size_bytes or 0)}" in text
        assert f"Media type: {GZIP}" in text
        assert "Compressed size:" in text


def test_snapshot_registry_layer_details(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(registry_like(tmp_path), image_name="registry://localhost:5000/demo:1")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(160, 45), run_before=run_before)


@pytest.mark.parametrize(
    "compression, media",
    [
        ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
        ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
    ],
)
def test_an_oci_layout_knows_its_compressed_blobs(
    tmp_path: Path, compression: str, media: str
) -> None:
    """An OCI layout (skopeo, buildx) stores the blobs a registry serves: their descriptors'
    sizes and media types are what a pull downloads."""
    from dive_py.domain.sources import open_image
    from tests.image_builder import ImageSpec, docker_archive, image_blobs
    from tests.image_builder import f as file_entry

    spec = ImageSpec(layers=[[file_entry("a", "1" * 5000)], [file_entry("b", "2" * 300)]])
    path = tmp_path / "layout.tar"
    path.write_bytes(docker_archive(spec, layout="oci-only", compression=compression))
    image = open_image(str(path), source="oci")
    _, _, stored = image_blobs(spec, compression)
    assert [layer.compressed_size_bytes for layer in image.layers] == [len(b) for b in stored]
    assert [layer.media_type for layer in image.layers] == [media, media]
    assert image.compressed_size_bytes == sum(len(b) for b in stored)


def test_uncompressed_blobs_say_nothing_about_the_registry(tmp_path: Path) -> None:
    """``docker save`` (Docker >= 25) writes uncompressed blobs: no compressed size."""
    from dive_py.domain.sources import open_image
    from tests.image_builder import ImageSpec, docker_archive
    from tests.image_builder import f as file_entry

    spec = ImageSpec(layers=[[file_entry("a", "1" * 5000)]])
    for layout in ("oci", "oci-only", "legacy"):
        path = tmp_path / f"{layout}.tar"
        path.write_bytes(docker_archive(spec, layout=layout))
        image = open_image(str(path), source="docker-archive")
        assert image.layers[0].compressed_size_bytes is None, layout
        assert image.layers[0].media_type == "", layout
