"""Every source reads only what is new: known layers are skipped (archives by seeking, OCI
directories unopened, the engine's stream hashed instead of parsed), a key mismatch reads
again, and a damaged cache entry or a blob whose name lies never yields a wrong layer."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.export_json import render_json
from dive_py.domain.layer_cache import LayerCache
from dive_py.domain.layer_tar import LayerContents, read_layer
from dive_py.domain.sources import archive_reader, archive_stream
from dive_py.domain.sources.archive_stream import KnownLayerMismatch, read_archive_stream
from dive_py.domain.sources.docker_archive import DockerArchiveSource
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.oci_layout import OciLayoutSource
from tests.image_builder import ImageSpec, docker_archive, f, layer_tar

BASE = [[f("bin/base", b"b" * 3000)], [f("lib/libc", b"c" * 2000)]]
APP1 = ImageSpec(layers=[*BASE, [f("app/main", "v1")]])
APP2 = ImageSpec(layers=[*BASE, [f("app/main", "v2, longer")]])


class Counting:
    """Counts the layer parses of a module's ``read_layer``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr(archive_stream, "read_layer", self._read)

    def _read(self, raw: Any, head: bytes = b"") -> LayerContents:
        self.count += 1
        return read_layer(raw, head)


def _json(image: Any) -> str:
    return render_json(analyse(image))


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "layout, compression",
    [("legacy", "none"), ("oci", "none"), ("oci", "gzip"), ("oci-only", "zstd")],
)
def test_an_archive_parses_only_its_new_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, compression: str
) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    one = _write(tmp_path, "1.tar", docker_archive(APP1, layout, compression))
    two = _write(tmp_path, "2.tar", docker_archive(APP2, layout, compression))
    parses = Counting(monkeypatch)
    DockerArchiveSource(cache).fetch(str(one))
    assert parses.count == 3
    parses.count = 0
    warm = DockerArchiveSource(cache).fetch(str(two))
    assert parses.count == 1  # the two base layers were skipped
    assert _json(warm) == _json(DockerArchiveSource().fetch(str(two)))


def test_a_known_member_of_a_file_is_skipped_by_seeking(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    big = ImageSpec(layers=[[f("big", b"x" * (3 << 20))], [f("top", "1")]])
    path = _write(tmp_path, "big.tar", docker_archive(big))
    DockerArchiveSource(cache).fetch(str(path))
    read = [0]
    real_open = archive_reader.open_archive_file

    class Counted(io.FileIO):
        def read(self, n: int = -1, /) -> bytes:
            data = super().read(n)
            read[0] += len(data or b"")
            return data or b""

    def counted_open(name: str) -> Any:
        real_open(name).close()
        return io.BufferedReader(Counted(name), 1)

    mp = pytest.MonkeyPatch()
    mp.setattr(archive_reader, "open_archive_file", counted_open)
    try:
        image = DockerArchiveSource(cache).fetch(str(path))
    finally:
        mp.undo()
    assert [layer.size_bytes for layer in image.layers][0] == 3 << 20
    assert read[0] < 2 << 20  # the 3 MB layer's bytes were never read


def test_an_oci_directory_does_not_open_known_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    dirs = []
    for name, spec in (("one", APP1), ("two", APP2)):
        with tarfile.open(fileobj=io.BytesIO(docker_archive(spec, "oci-only", "gzip"))) as tar:
            tar.extractall(tmp_path / name, filter="data")
        dirs.append(tmp_path / name)
    OciLayoutSource(cache).fetch(str(dirs[0]))
    opened: list[str] = []
    real = archive_reader.parse_blob

    def parse(raw: Any, head: bytes, keep: Any, name: str) -> LayerContents:
        opened.append(name)
        return real(raw, head, keep, name)

    monkeypatch.setattr(archive_reader, "parse_blob", parse)
    warm = OciLayoutSource(cache).fetch(str(dirs[1]))
    assert len(opened) == 1
    monkeypatch.undo()
    assert _json(warm) == _json(OciLayoutSource().fetch(str(dirs[1])))


def test_a_damaged_cache_entry_is_discarded_and_the_layer_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    path = _write(tmp_path, "1.tar", docker_archive(APP1, "oci"))
    cold = _json(DockerArchiveSource(cache).fetch(str(path)))
    for entry in cache.directory.glob("*.layer"):
        data = bytearray(entry.read_bytes())
        data[-3] ^= 0xFF
        entry.write_bytes(bytes(data))
    parses = Counting(monkeypatch)
    assert _json(DockerArchiveSource(cache).fetch(str(path))) == cold
    assert parses.count == 3


def test_a_blob_whose_name_lies_is_not_kept_under_that_name(tmp_path: Path) -> None:
    """An OCI blob named by a digest its bytes do not have is kept under its diff ID only,
    so a later image with the real blob of that name is not shown the liar's files."""
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    honest = layer_tar([f("etc/honest", "1")])
    liar = layer_tar([f("etc/liar", "2")])
    name = "blobs/sha256/" + __import__("hashlib").sha256(honest).hexdigest()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(liar)
        tar.addfile(info, io.BytesIO(liar))
    buf.seek(0)
    parts = read_archive_stream(buf, layers=cache)
    assert "etc/liar" in parts.layers[name].entries
    assert cache.get("sha256:" + name.rsplit("/", 1)[1]) is None
    assert cache.get(parts.layers[name].diff_id) is not None


class Stream:
    """A non-seekable stream (like the engine's export)."""

    def __init__(self, data: bytes) -> None:
        self._raw = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._raw.read(n)


def _diff_ids(spec: ImageSpec) -> list[str]:
    return ["sha256:" + __import__("hashlib").sha256(layer_tar(e)).hexdigest() for e in spec.layers]


def test_a_stream_hashes_known_layers_instead_of_parsing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    read_archive_stream(Stream(docker_archive(APP1)), layers=cache)
    parses = Counting(monkeypatch)
    data = docker_archive(APP2)
    parts = read_archive_stream(Stream(data), layers=cache, expected=_diff_ids(APP2))
    assert parses.count == 1 and len(parts.reused) == 2
    warm = assemble_image(parts, reference="x", source="docker")
    cold = assemble_image(read_archive_stream(Stream(data)), reference="x", source="docker")
    assert _json(warm) == _json(cold)


def _same_size_spec(text: str) -> ImageSpec:
    return ImageSpec(layers=[[f("a", text * 4000)], [f("b", "1")]])


def test_a_same_sized_unknown_layer_in_a_stream_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key mismatch re-reads: a layer as long as a known one but with other bytes is
    parsed (from memory when small), never taken for the known one."""
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    known, other = _same_size_spec("x"), _same_size_spec("y")
    read_archive_stream(Stream(docker_archive(known)), layers=cache)
    # the engine says the image has the known layer's diff ID, but streams other bytes
    parts = read_archive_stream(
        Stream(docker_archive(other)), layers=cache, expected=_diff_ids(known)
    )
    contents = [c for c in parts.layers.values() if "a" in c.entries]
    assert contents and contents[0].diff_id == _diff_ids(other)[0]
    assert [parts.layers[name] for name in parts.reused] == [
        c for c in parts.layers.values() if "b" in c.entries
    ]  # only the layer both images share
    # too large to keep in memory: the caller reads again without the store
    monkeypatch.setattr(archive_stream, "HASH_BUFFER_LIMIT", 10)
    with pytest.raises(KnownLayerMismatch):
        read_archive_stream(Stream(docker_archive(other)), layers=cache, expected=_diff_ids(known))
