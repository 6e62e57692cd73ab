"""Provides decompression chosen by magic bytes, never by file name.

gzip (RFC 1952: ``1f 8b``), zstd (RFC 8878: ``28 b5 2f fd``), bzip2 (``BZh``) and xz
(``fd 37 7a 58 5a 00``) streams are wrapped in streaming decompressors; anything else is
passed through as uncompressed. The OCI image spec (media-types.md) allows gzip and zstd for
layers; ``docker load`` also reads bzip2 and xz (Docker's ``pkg/archive`` DecompressStream),
both for layers and for a whole ``docker save`` archive (``docker save | xz > image.tar.xz``).
Formats no container engine reads (lz4, Unix compress, lzip, lzop) are recognised by their
magic so that the error can name them (:class:`UnsupportedCompressionError`).

The standard library's ``zlib`` (or python-isal's faster ``isal_zlib`` when installed),
``bz2`` and ``lzma`` decompressors and the ``zstandard`` package do the work; divepy only
chooses one and streams through it.
"""

from __future__ import annotations

import bz2
import importlib
import lzma
import zlib
from enum import Enum
from typing import Any, cast

import zstandard

from dive_py.domain.tar_stream import Readable

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
_CHUNK = 1 << 20

#: Compressions no container engine decompresses: magic bytes -> name.
UNSUPPORTED_MAGICS: dict[bytes, str] = {
    b"\x04\x22\x4d\x18": "lz4",
    b"\x1f\x9d": "Unix compress (.Z)",
    b"LZIP": "lzip",
    b"\x89LZO\x00\r\n\x1a\n": "lzop",
}


class Compression(Enum):
    """How a layer blob is compressed."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    BZIP2 = "bzip2"
    XZ = "xz"


HEAD_BYTES = 10
"""Bytes of a blob's start that :func:`detect_compression` needs to tell every format apart."""


_BZIP2_BLOCK_MAGICS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
"""A bzip2 stream's first block magic (BCD pi) or, for an empty stream, its end magic."""


def _is_bzip2(head: bytes) -> bool:
    """True for ``BZh``, a block size ``1``..``9``, then the start of a block or end magic.

    The magic is checked past ``BZh`` because a tar's first member name may start with it.
    """
    if len(head) < 5 or not head.startswith(BZIP2_MAGIC) or head[3] not in b"123456789":
        return False
    rest = head[4:10]
    return any(magic.startswith(rest) for magic in _BZIP2_BLOCK_MAGICS)


def detect_compression(head: bytes) -> Compression:
    """Return the compression of a blob from its first bytes (:data:`HEAD_BYTES` are enough).

    Raises:
        UnsupportedCompressionError: the bytes start like a compressed format no container
            engine reads (lz4, Unix compress, lzip, lzop).
    """
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    if head.startswith(XZ_MAGIC):
        return Compression.XZ
    if _is_bzip2(head):
        return Compression.BZIP2
    for magic, name in UNSUPPORTED_MAGICS.items():
        if head.startswith(magic):
            raise UnsupportedCompressionError(name)
    return Compression.NONE


class CorruptStreamError(Exception):
    """A compressed stream is corrupt or ends before its trailer."""


class UnsupportedCompressionError(CorruptStreamError):
    """The data is compressed with a format no container engine decompresses.

    Attributes:
        name: the format's name (``"lz4"``, ``"lzip"``, ...).
    """

    def __init__(self, name: str) -> None:
        super().__init__(
            f"compressed with {name}, which container engines do not read "
            "(they read uncompressed, gzip, zstd, bzip2 and xz)"
        )
        self.name = name


def _gzip_inflater() -> Any:
    """The module gzip members are inflated with: python-isal's ``isal_zlib`` (Intel ISA-L,
    measured about 3x faster than ``zlib`` on layer blobs, see bench/README.md) when it is
    installed, else the standard library's ``zlib``. Both have the same ``decompressobj``."""
    try:
        return importlib.import_module("isal.isal_zlib")
    except ImportError:
        return zlib


_GZIP_INPUT = 1 << 16
"""Compressed bytes fed to the inflater at a time: small enough that their output rarely
exceeds a read's size, so the inflater's unconsumed input is rarely copied and fed again."""
GZIP_INFLATER: Any = _gzip_inflater()
"""The gzip inflater in use (``isal.isal_zlib`` or ``zlib``); tests may swap it."""


class GzipStream:
    """Decompress a (possibly multi-member) gzip stream from ``raw`` on the fly.

    ``read(n)`` returns at most ``n`` decompressed bytes (fewer when that is what one step of
    the inflater gave, as a raw file's ``read``; never a copy of a larger buffer), ``b""``
    only at the true end of the stream, after the trailer's CRC and length were checked.
    Members are inflated by :data:`GZIP_INFLATER`.

    Raises:
        CorruptStreamError: bad data, or the stream ends before the gzip trailer.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._inflater = GZIP_INFLATER
        self._dec = self._inflater.decompressobj(wbits=31)
        self._pending = b""  # input not yet given to the inflater (the start of a member)
        self._done = False

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = []
            while chunk := self.read(_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        while n and not self._done:
            out = self._step(n)
            if out:
                return out
        return b""

    def _step(self, n: int) -> bytes:
        """Feed the inflater once; return what it gave (at most ``n`` bytes, maybe none)."""
        if self._pending:
            data, self._pending = self._pending, b""
        elif self._dec.unconsumed_tail:
            data = self._dec.unconsumed_tail
        else:
            data = self._raw.read(_GZIP_INPUT)
            if not data:
                if not self._dec.eof:
                    raise CorruptStreamError("gzip stream truncated")
                self._done = True
                return b""
        try:
            out: bytes = self._dec.decompress(data, n)
        except self._inflater.error as exc:
            raise CorruptStreamError(f"gzip stream corrupt: {exc}") from None
        if self._dec.eof:
            self._next_member(self._dec.unused_data)
        return out

    def _next_member(self, rest: bytes) -> None:
        """After a member's trailer: start the next member, or check that only zero padding
        follows the last one."""
        while True:
            if rest.startswith(GZIP_MAGIC):
                self._dec = self._inflater.decompressobj(wbits=31)
                self._pending = rest
                return
            if rest.strip(b"\x00"):
                raise CorruptStreamError("garbage after gzip stream")
            rest = self._raw.read(_CHUNK)
            if not rest:
                self._done = True
                return


class ZstdStream:
    """Decompress a zstd stream (all frames) from ``raw`` on the fly.

    ``read(n)`` returns decompressed bytes; ``b""`` only at the true end, after the last
    frame was complete. The ``zstandard`` package's stream reader returns end-of-data on a
    truncated frame without complaint, so its decompression object is used instead (it knows
    whether a frame ended), fed :data:`_ZSTD_INPUT` bytes at a time: a zstd block (at most
    128 KiB of output) takes at least 4 input bytes, which bounds one call's output at about
    128 MiB even for a hostile stream of RLE blocks.

    Raises:
        CorruptStreamError: bad data, or the stream ends inside a frame.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._factory = zstandard.ZstdDecompressor()
        self._dec = self._factory.decompressobj()
        self._in_frame = False  # bytes were fed since the last frame ended
        self._pending = memoryview(b"")  # compressed bytes read but not yet fed
        self._out: list[bytes | memoryview] = []  # decompressed, not yet returned
        self._have = 0  # bytes in self._out
        self._done = False

    def _produce(self) -> None:
        """Feed the next input slice; set ``_done`` at the end of a complete stream."""
        if not self._pending:
            self._pending = memoryview(self._raw.read(_CHUNK))
            if not self._pending:
                if self._in_frame:
                    raise CorruptStreamError("zstd stream truncated")
                self._done = True
                return
        data, self._pending = self._pending[:_ZSTD_INPUT], self._pending[_ZSTD_INPUT:]
        self._in_frame = True
        try:
            out = self._dec.decompress(data)
        except zstandard.ZstdError as exc:
            raise CorruptStreamError(f"zstd stream corrupt: {exc}") from None
        if out:
            self._out.append(out)
            self._have += len(out)
        if self._dec.eof:  # a frame ended: what the object did not use starts the next one
            self._in_frame = False
            rest = self._dec.unused_data
            if rest:
                self._pending = memoryview(bytes(rest) + bytes(self._pending))
            self._dec = self._factory.decompressobj()

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or self._have < n):
            self._produce()
        if len(self._out) == 1 and (n < 0 or self._have <= n):
            out = bytes(self._out[0])
            self._out, self._have = [], 0
            return out
        joined = memoryview(b"".join(self._out))
        if n < 0 or len(joined) <= n:
            self._out, self._have = [], 0
            return bytes(joined)
        # keep the rest as a view: a large piece (a run of one byte) is not copied per read
        self._out, self._have = [joined[n:]], len(joined) - n
        return bytes(joined[:n])


_ZSTD_INPUT = 1 << 15
"""Compressed bytes fed to zstd per call (see :class:`ZstdStream`)."""


class StdlibStream:
    """Decompress a bzip2 or xz stream (all concatenated streams) from ``raw`` on the fly.

    ``read(n)`` returns decompressed bytes; ``b""`` only at the true end, after the last
    stream's end marker. Only zero padding may follow the last stream (as ``docker save |
    xz`` and block-padded tapes leave).

    Raises:
        CorruptStreamError: bad data, or the data ends inside a stream.
    """

    def __init__(self, raw: Readable, kind: Compression) -> None:
        if kind not in (Compression.BZIP2, Compression.XZ):
            raise ValueError(f"not a bzip2 or xz stream: {kind.value}")
        self._raw = raw
        self._kind = kind
        self._dec = self._new()
        self._out = b""
        self._done = False

    def _new(self) -> bz2.BZ2Decompressor | lzma.LZMADecompressor:
        if self._kind is Compression.BZIP2:
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def _feed(self, data: bytes) -> None:
        while data:
            try:
                self._out += self._dec.decompress(data)
            except (OSError, lzma.LZMAError, EOFError) as exc:
                raise CorruptStreamError(f"{self._kind.value} stream corrupt: {exc}") from None
            if not self._dec.eof:
                return
            data = self._dec.unused_data
            if not data.strip(b"\x00"):
                return  # padding (or nothing) after a complete stream
            self._dec = self._new()  # a concatenated stream (pbzip2, xz -T)

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._out) < n):
            data = self._raw.read(_CHUNK)
            if not data:
                if not self._dec.eof:
                    raise CorruptStreamError(f"{self._kind.value} stream truncated")
                self._done = True
                break
            if self._dec.eof and not data.strip(b"\x00"):
                continue  # zero padding after the last stream
            self._feed(data)
        if n < 0:
            out, self._out = self._out, b""
        else:
            out, self._out = self._out[:n], self._out[n:]
        return out


class _Prefixed:
    """A stream that returns ``head`` first, then the rest of ``raw``."""

    __slots__ = ("_head", "_raw")

    def __init__(self, head: bytes, raw: Readable) -> None:
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._raw.read(n)
        if n < 0:
            out, self._head = self._head + self._raw.read(), b""
            return out
        out, self._head = self._head[:n], self._head[n:]
        return out

    def seekable(self) -> bool:
        """True once the head was read and ``raw`` is a seekable file."""
        check = getattr(self._raw, "seekable", None)
        return not self._head and check is not None and bool(check())

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek ``raw`` (only once the head was read: see :meth:`seekable`)."""
        if self._head:
            raise OSError("cannot seek before the head was read")
        position: int = cast(Any, self._raw).seek(offset, whence)  # seekable() said it has seek
        return position


def open_decompressed(raw: Readable, head: bytes) -> tuple[Readable, Compression]:
    """Wrap ``raw`` in the decompressor its first bytes ``head`` call for.

    Args:
        raw: the blob stream, positioned at its start (``head`` must not have been consumed).
        head: at least the first :data:`HEAD_BYTES` bytes of the blob (all of it when shorter).

    Returns:
        (a stream of uncompressed bytes, the detected :class:`Compression`).

    Raises:
        UnsupportedCompressionError: see :func:`detect_compression`.
    """
    kind = detect_compression(head)
    if kind is Compression.GZIP:
        return GzipStream(raw), kind
    if kind is Compression.ZSTD:
        return ZstdStream(raw), kind
    if kind is Compression.BZIP2 or kind is Compression.XZ:
        return StdlibStream(raw, kind), kind
    return raw, kind


def read_decompressed(raw: Readable) -> tuple[Readable, Compression]:
    """Detect the compression of ``raw`` by reading its first bytes, and decompress it.

    For streams that cannot peek (a file, the engine's save stream): the bytes read for the
    detection are handed back in front of the rest.

    Returns:
        (a stream of uncompressed bytes from the start, the detected :class:`Compression`).

    Raises:
        UnsupportedCompressionError: see :func:`detect_compression`.
    """
    head = b""
    while len(head) < HEAD_BYTES:
        more = raw.read(HEAD_BYTES - len(head))
        if not more:
            break
        head += more
    return open_decompressed(_Prefixed(head, raw), head)
