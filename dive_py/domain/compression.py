"""Provides layer decompression chosen by magic bytes, never by file name.

gzip (RFC 1952: ``1f 8b``) and zstd (RFC 8878: ``28 b5 2f fd``) streams are wrapped in
streaming decompressors; anything else is passed through as uncompressed. The OCI image spec
(media-types.md) allows all three for layers.
"""

from __future__ import annotations

import zlib
from enum import Enum

import zstandard

from dive_py.domain.tar_stream import Readable

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20


class Compression(Enum):
    """How a layer blob is compressed."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def detect_compression(head: bytes) -> Compression:
    """Return the compression of a blob from its first bytes (at least 4 are needed)."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


class CorruptStreamError(Exception):
    """A compressed stream is corrupt or ends before its trailer."""


class GzipStream:
    """Decompress a (possibly multi-member) gzip stream from ``raw`` on the fly.

    ``read(n)`` returns decompressed bytes; ``b""`` only at the true end of the stream, after
    the trailer's CRC and length were checked.

    Raises:
        CorruptStreamError: bad data, or the stream ends before the gzip trailer.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._dec = zlib.decompressobj(wbits=31)
        self._out = b""
        self._done = False

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._out) < n):
            if self._dec.unconsumed_tail:
                data = self._dec.unconsumed_tail
            else:
                data = self._raw.read(_CHUNK)
                if not data:
                    if not self._dec.eof:
                        raise CorruptStreamError("gzip stream truncated")
                    self._done = True
                    break
            try:
                self._out += self._dec.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise CorruptStreamError(f"gzip stream corrupt: {exc}") from None
            if self._dec.eof:
                rest = self._dec.unused_data
                if rest.strip(b"\x00"):
                    if not rest.startswith(GZIP_MAGIC):
                        raise CorruptStreamError("garbage after gzip stream")
                    self._dec = zlib.decompressobj(wbits=31)
                    self._out += self._dec.decompress(rest, _CHUNK)
                else:
                    # Drain what is left: only zero padding may follow the last member.
                    tail = self._raw.read(_CHUNK)
                    while tail:
                        if tail.startswith(GZIP_MAGIC):
                            self._dec = zlib.decompressobj(wbits=31)
                            self._out += self._dec.decompress(tail, _CHUNK)
                            break
                        if tail.strip(b"\x00"):
                            raise CorruptStreamError("garbage after gzip stream")
                        tail = self._raw.read(_CHUNK)
                    else:
                        self._done = True
        if n < 0:
            out, self._out = self._out, b""
        else:
            out, self._out = self._out[:n], self._out[n:]
        return out


class ZstdStream:
    """Decompress a zstd stream (all frames) from ``raw`` on the fly.

    Raises:
        CorruptStreamError: bad data, or the stream ends inside a frame.
    """

    def __init__(self, raw: Readable) -> None:
        # zstandard reads any object with read(n) (python-zstandard's docs: "an object with a
        # read(size) method"); its stubs ask for IO[bytes], which a socket stream is not.
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            raw,  # type: ignore[arg-type]  # any read(n) object, see above
            read_size=_CHUNK,
            read_across_frames=True,
        )

    def read(self, n: int = -1) -> bytes:
        try:
            if n < 0:
                return self._reader.readall()
            return self._reader.read(n)
        except zstandard.ZstdError as exc:
            raise CorruptStreamError(f"zstd stream corrupt: {exc}") from None


def open_decompressed(raw: Readable, head: bytes) -> tuple[Readable, Compression]:
    """Wrap ``raw`` in the decompressor its first bytes ``head`` call for.

    Args:
        raw: the blob stream, positioned at its start (``head`` must not have been consumed).
        head: at least the first 4 bytes of the blob.

    Returns:
        (a stream of uncompressed bytes, the detected :class:`Compression`).
    """
    kind = detect_compression(head)
    if kind is Compression.GZIP:
        return GzipStream(raw), kind
    if kind is Compression.ZSTD:
        return ZstdStream(raw), kind
    return raw, kind
