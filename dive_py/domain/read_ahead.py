"""Provides :class:`ReadAhead`: a stream read by a thread of its own, ahead of its consumer.

A layer read from a registry goes through one chain per layer: the socket, the blob's sha256
(its digest), the inflater, then the tar's sha256 (the diff ID), the tar headers and the xxh64
of every file. On the largest layer of an image that chain is the whole run's critical path,
and every step but the tar headers is C code that releases the interpreter lock (hashlib on
buffers over 2 KiB, zlib, python-isal, zstandard, the socket). :class:`ReadAhead` cuts the
chain in two: a producer thread reads (so downloads, checks and decompresses) the next pieces
while the consumer hashes and parses the previous ones, so one large layer can keep two cores
busy. Measured on the 1.6 GB scientific image in bench/README.md ("Registry source and layer
cache").

Bounded: at most :data:`DEPTH` pieces (each what one ``read`` of the source returned) wait in
the queue, so memory stays at a few MB whatever the stream's size.
"""

from __future__ import annotations

import queue
import threading

from dive_py.domain.tar_stream import Readable

DEPTH = 16
"""Pieces read ahead at most (each one ``read(CHUNK)`` of the source: up to a few hundred KB
from an inflater)."""
CHUNK = 1 << 20
"""Bytes asked of the source per read (a decompressor returns at most this, often less)."""
_POLL_SECONDS = 0.1


class ReadAhead:
    """Read ``raw`` in a daemon thread while the caller consumes what was read before.

    ``read(n)`` returns at most ``n`` bytes (fewer when that is what the next piece holds),
    ``b""`` only at the end of ``raw``. An exception ``raw.read`` raised in the thread is
    raised again by the ``read`` that reaches it (and every later one), in the caller's
    thread, with the bytes before it delivered first: errors keep their type and order.

    Use as a context manager (or call :meth:`close`): leaving stops the thread even when the
    caller gave up before the end; ``raw`` is not closed.
    """

    def __init__(self, raw: Readable, depth: int = DEPTH) -> None:
        self._raw = raw
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._piece = b""
        self._pos = 0
        self._ended = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, name="divepy-read-ahead", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while not self._closed.is_set():
                data = self._raw.read(CHUNK)
                self._put(bytes(data))
                if not data:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def read(self, n: int = -1, /) -> bytes:
        """Read up to ``n`` bytes (all that is left when ``n`` < 0)."""
        if n < 0:
            parts = []
            while piece := self.read(CHUNK):
                parts.append(piece)
            return b"".join(parts)
        if self._pos >= len(self._piece):
            if self._error is not None:
                raise self._error
            if self._ended or n == 0:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._error = item
                raise item
            if not item:
                self._ended = True
                return b""
            self._piece, self._pos = item, 0
        start = self._pos
        if start == 0 and n >= len(self._piece):
            self._pos = len(self._piece)
            return self._piece
        self._pos = min(start + n, len(self._piece))
        return self._piece[start : self._pos]

    def close(self) -> None:
        """Stop the thread (it ends at its next read or wait) and wait for it."""
        self._closed.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
