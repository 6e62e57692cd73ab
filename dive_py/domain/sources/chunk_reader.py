"""Provides :class:`ChunkReader`: a file-like ``read(n)`` over an iterator of byte chunks.

The Engine API's ``docker save`` (``GET /images/{name}/get``) arrives as a chunked HTTP body;
the docker SDK yields it as chunks. This adapter lets the archive parser pull bytes from it as
they arrive, so the image is never written to disk, and turns transport failures mid-stream
into :class:`StreamCutError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


class StreamCutError(Exception):
    """The chunk iterator failed before its end (connection reset, engine error mid-stream)."""


class ChunkReader:
    """Read bytes from an iterator of chunks.

    Args:
        chunks: an iterable of ``bytes`` chunks.
        on_read: optional callback with the total bytes read so far, after every chunk.
    """

    def __init__(
        self, chunks: Iterable[bytes], on_read: Callable[[int], None] | None = None
    ) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self._done = False
        self._total = 0
        self._on_read = on_read

    @property
    def bytes_read(self) -> int:
        """Bytes taken from the iterator so far."""
        return self._total

    def _next_chunk(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            return b""
        except Exception as exc:  # urllib3/requests errors, engine errors
            raise StreamCutError(f"{type(exc).__name__}: {exc}") from None
        self._total += len(chunk)
        if self._on_read is not None:
            self._on_read(self._total)
        return chunk

    def read(self, n: int = -1) -> bytes:
        """Return up to ``n`` bytes (everything left when ``n < 0``); ``b""`` only at the end.

        Like a raw file, a positive ``n`` may return fewer bytes: at most one chunk's worth,
        never gluing chunks together. The Engine sends the save stream in HTTP chunks of
        tens of KiB, and joining them into ``n``-byte strings copied every byte many times.

        Raises:
            StreamCutError: the iterator failed before its end.
        """
        if n < 0:
            parts = [self._buffer]
            self._buffer = b""
            while not self._done:
                parts.append(self._next_chunk())
            return b"".join(parts)
        if n == 0:
            return b""
        data = self._buffer
        while not data and not self._done:
            data = self._next_chunk()
        if len(data) > n:
            data, self._buffer = data[:n], data[n:]
        else:
            self._buffer = b""
        return data
