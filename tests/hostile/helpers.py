"""Shared helpers for the hostile-input tests: the in-process pipeline, CLI runs, temp-dir checks."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.compare import CompareMode
from dive_py.domain.export_json import render_json
from dive_py.domain.sources.archive_stream import read_archive_stream
from dive_py.domain.sources.image_layout import assemble_image
from tests.image_builder import ImageSpec, docker_archive


def pipeline(data: bytes, reference: str = "test/image:latest") -> tuple[Analysis, str]:
    """Run everything the CLI runs on an archive's bytes, in process.

    read_archive_stream -> assemble_image -> analyse -> compared_tree (every layer, both
    modes) -> render_json. Returns (the analysis, the JSON text).
    """
    parts = read_archive_stream(io.BytesIO(data))
    image = assemble_image(parts, reference=reference, source="docker-archive")
    analysis = analyse(image)
    for index in range(len(image.layers)):
        for mode in CompareMode:
            analysis.compared_tree(index, mode)
    return analysis, render_json(analysis)


def archive_file(tmp_path: Path, spec: ImageSpec, name: str = "image.tar", **kw: str) -> Path:
    """Write ``docker_archive(spec, **kw)`` to ``tmp_path/name`` and return its path."""
    path = tmp_path / name
    path.write_bytes(docker_archive(spec, **kw))
    return path


def temp_listing() -> set[str]:
    """Names in the system temp directory (to check that a run leaves nothing behind)."""
    return set(os.listdir(tempfile.gettempdir()))


def archive_with_raw_layers(raw_layers: list[bytes], **kw: object) -> bytes:
    """A ``docker_archive`` whose layer tars are the given bytes (crafted by hand or by GNU tar).

    Keyword arguments go to :func:`~tests.image_builder.docker_archive` (``layout``,
    ``compression``) or to :class:`~tests.image_builder.ImageSpec` (``history``).
    """
    from tests import image_builder

    history = kw.pop("history", None)
    original = image_builder.layer_tar
    pending = list(raw_layers)
    image_builder.layer_tar = lambda _entries, *a, **k: pending.pop(0)  # type: ignore[assignment]
    try:
        return docker_archive(
            ImageSpec(layers=[[] for _ in raw_layers], history=history),  # type: ignore[arg-type]
            **kw,
        )  # type: ignore[arg-type]
    finally:
        image_builder.layer_tar = original


def rewrite_legacy_config(archive: bytes, edit: Callable[[dict], None]) -> bytes:
    """Return a legacy ``docker save`` archive with its config JSON changed by ``edit``."""
    import json
    import tarfile

    source = tarfile.open(fileobj=io.BytesIO(archive))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if (
                data is not None
                and member.name.endswith(".json")
                and member.name != "manifest.json"
            ):
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def set_tar_size(layer: bytes, member_index: int, size: int) -> bytes:
    """Rewrite the size field of the ``member_index``-th header of an uncompressed ustar/GNU tar
    (no PAX headers), with a correct checksum."""
    import tarfile

    offset = 0
    for _ in range(member_index):
        declared = int(layer[offset + 124 : offset + 136].rstrip(b"\0 ") or b"0", 8)
        offset += 512 + (declared + 511) // 512 * 512
    header = bytearray(layer[offset : offset + 512])
    header[124:136] = b"%011o\0" % size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    assert tarfile.TarInfo.frombuf(bytes(header), "utf-8", "surrogateescape").size == size
    return layer[:offset] + bytes(header) + layer[offset + 512 :]


def run_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Run the ``divepy`` CLI in a subprocess with a private, empty ``TMPDIR`` (``tmp_path/tmp``)."""
    from tests.cli.test_cli import run_divepy

    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return run_divepy(*args, env={"TMPDIR": str(tmp), **(env or {})})


def assert_clean_failure(
    result,
    tmp_path: Path,
    code: int,
    *words: str,  # type: ignore[no-untyped-def]
    out_dir: Path | None = None,
    out_before: dict[str, bytes] | None = None,
) -> None:
    """A failed run: the documented code, one stderr line naming the problem, no traceback, no
    stdout, nothing left in the private temp dir, and ``out_dir`` exactly as it was."""
    assert result.returncode == code, (result.returncode, result.stderr)
    # progress messages ("Reading PATH") may come first; the error is one "divepy:" line, last
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("divepy: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in errors[0], (word, errors[0])
    assert result.stdout == ""
    assert list((tmp_path / "tmp").iterdir()) == []
    if out_dir is not None:
        assert snapshot(out_dir) == (out_before or {})


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (hidden ones too) with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
