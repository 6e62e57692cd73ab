"""``ChunkReader``: the Engine's save stream (HTTP chunks) as a file-like ``read(n)``."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from dive_py.domain.sources.archive_stream import read_archive_stream
from dive_py.domain.sources.chunk_reader import ChunkReader, StreamCutError
from tests.domain.dive_examples import spec_a
from tests.image_builder import ImageSpec, docker_archive


def test_reads_never_glue_chunks_and_never_return_empty_before_the_end() -> None:
    totals: list[int] = []
    reader = ChunkReader([b"abc", b"", b"defgh", b"i"], on_read=totals.append)
    assert reader.read(2) == b"ab"
    assert reader.read(10) == b"c"  # the rest of the first chunk only
    assert reader.read(10) == b"defgh"  # the empty chunk is skipped
    assert reader.read(0) == b""
    assert reader.read(-1) == b"i"
    assert reader.read(5) == b""
    assert reader.bytes_read == 9 and totals == [3, 3, 8, 9]


def test_a_failing_iterator_is_a_stream_cut() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 10
        raise ConnectionResetError("peer reset")

    reader = ChunkReader(chunks())
    assert reader.read(100) == b"x" * 10
    with pytest.raises(StreamCutError, match="ConnectionResetError: peer reset"):
        reader.read(100)


@pytest.mark.parametrize("size", [37, 32 << 10])
def test_an_archive_in_small_chunks_reads_like_the_whole(size: int) -> None:
    data = docker_archive(ImageSpec(layers=spec_a()))
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    whole = read_archive_stream(io.BytesIO(data))
    chunked = read_archive_stream(ChunkReader(chunks))
    assert [layer.diff_id for layer in chunked.layers.values()] == [
        layer.diff_id for layer in whole.layers.values()
    ]
    assert [sorted(layer.entries) for layer in chunked.layers.values()] == [
        sorted(layer.entries) for layer in whole.layers.values()
    ]
