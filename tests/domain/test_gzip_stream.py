"""GzipStream: the same bytes through zlib and python-isal, multi-member streams, padding,
damage; a read never returns more than asked (no copies of larger buffers)."""

from __future__ import annotations

import contextlib
import gzip
import importlib
import io
import os
import zlib
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dive_py.domain import compression
from dive_py.domain.compression import CorruptStreamError, GzipStream


def _inflaters() -> list[ModuleType]:
    found = [zlib]
    with contextlib.suppress(ImportError):  # python-isal not installed: zlib only (the fallback)
        found.append(importlib.import_module("isal.isal_zlib"))
    return found


@pytest.fixture(params=_inflaters(), ids=lambda m: m.__name__)
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(compression, "GZIP_INFLATER", request.param)
    module: ModuleType = request.param
    return module


def _read_all(stream: GzipStream, n: int) -> bytes:
    parts = []
    while chunk := stream.read(n):
        assert len(chunk) <= n
        parts.append(chunk)
    return b"".join(parts)


PAYLOAD = os.urandom(300_000) + b"text " * 400_000


@pytest.mark.parametrize("n", [1, 512, 70_000, 1 << 20])
def test_reads_give_the_bytes_in_pieces_no_larger_than_asked(inflater: ModuleType, n: int) -> None:
    data = PAYLOAD if n > 1 else PAYLOAD[:5000]
    assert _read_all(GzipStream(io.BytesIO(gzip.compress(data))), n) == data
    assert GzipStream(io.BytesIO(gzip.compress(data))).read() == data


def test_members_and_zero_padding(inflater: ModuleType) -> None:
    blob = gzip.compress(b"one ") + gzip.compress(b"") + gzip.compress(b"two") + b"\0" * 3000
    assert GzipStream(io.BytesIO(blob)).read() == b"one two"


@pytest.mark.parametrize(
    "blob, message",
    [
        (gzip.compress(PAYLOAD)[:-100], "truncated"),
        (gzip.compress(b"x") + b"garbage", "garbage after gzip stream"),
        (gzip.compress(b"x") + b"\0" * 10 + b"junk", "garbage after gzip stream"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 64, "corrupt"),
    ],
)
def test_damage_is_named(inflater: ModuleType, blob: bytes, message: str) -> None:
    with pytest.raises(CorruptStreamError, match=message):
        GzipStream(io.BytesIO(blob)).read()


@given(
    st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=5000),
)
def test_any_members_any_read_size(members: list[bytes], n: int) -> None:
    blob = b"".join(gzip.compress(m) for m in members)
    assert _read_all(GzipStream(io.BytesIO(blob)), n) == b"".join(members)
