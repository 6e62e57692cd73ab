"""ReadAhead: the bytes in order, errors in the caller's thread, no thread left behind."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest

from dive_py.domain.compression import CorruptStreamError
from dive_py.domain.read_ahead import ReadAhead

DATA = bytes(range(256)) * 4000  # 1,024,000 bytes


class Pieces:
    """A source whose reads return the given piece sizes, then ``error`` (or the end)."""

    def __init__(self, data: bytes, sizes: Iterator[int], error: Exception | None = None) -> None:
        self._data = io.BytesIO(data)
        self._sizes = sizes
        self._error = error
        self.reader_threads: set[str] = set()

    def read(self, n: int = -1, /) -> bytes:
        self.reader_threads.add(threading.current_thread().name)
        out = self._data.read(min(n, next(self._sizes, n)))
        if not out and self._error is not None:
            raise self._error
        return out


def _cycle(*sizes: int) -> Iterator[int]:
    while True:
        yield from sizes


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "divepy-read-ahead"}


@pytest.mark.parametrize("ask", [1, 511, 512, 4096, 70_000, 1 << 20, 3 << 20])
def test_the_bytes_come_in_order_and_no_read_returns_more_than_asked(ask: int) -> None:
    source = Pieces(DATA, _cycle(1, 700, 65_536, 300_000, 17))
    got = []
    with ReadAhead(source, depth=3) as stream:
        while piece := stream.read(ask):
            assert 0 < len(piece) <= ask
            got.append(piece)
        assert stream.read(ask) == b""  # the end stays the end
    assert b"".join(got) == DATA
    assert source.reader_threads == {"divepy-read-ahead"}  # read by the thread, not the caller


def test_read_all_and_read_zero() -> None:
    with ReadAhead(Pieces(DATA, _cycle(9_999))) as stream:
        assert stream.read(0) == b""
        assert stream.read(10) == DATA[:10]
        assert stream.read() == DATA[10:]


def test_an_error_of_the_source_is_raised_in_the_callers_thread_after_the_bytes_before_it() -> None:
    error = CorruptStreamError("gzip stream truncated")
    with ReadAhead(Pieces(DATA, _cycle(50_000), error)) as stream:
        got = bytearray()
        with pytest.raises(CorruptStreamError, match="truncated") as raised:
            while True:
                got += stream.read(1 << 20)
        assert raised.value is error
        assert bytes(got) == DATA
        with pytest.raises(CorruptStreamError):  # and again: never a quiet end after an error
            stream.read(1)


def test_closing_early_stops_the_thread_even_with_a_full_queue() -> None:
    endless = Pieces(DATA * 50, _cycle(1000))
    before = _threads()
    stream = ReadAhead(endless, depth=2)
    assert stream.read(10) == DATA[:10]
    stream.close()
    assert _threads() == before
