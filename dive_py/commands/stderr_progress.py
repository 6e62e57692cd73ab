"""Provides :class:`StderrProgress`: the command line's progress report on stderr."""

from __future__ import annotations

import time
from typing import TextIO

import humanize

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.progress import ProgressListener

READ_LINE_INTERVAL_S = 0.1
"""Seconds between two redraws of the terminal's "read N MB" line (a new layer redraws at once)."""


class StderrProgress(ProgressListener):
    """A :class:`~dive_py.domain.progress.ProgressListener` that reports on stderr.

    Phase messages are always printed (escaped: a path may hold control characters); byte
    counters only when stderr is a terminal: then redrawn on one line, and replaced by a
    summary line with the duration when the image has been read. Bytes are shown in dive's
    units (:func:`~dive_py.domain.byte_size.format_bytes`), counts and durations with
    ``humanize`` ("1,234 layers", "2.3 seconds").
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._pulls: dict[str, str] = {}
        self._last_read_line = float("-inf")
        self._last_layers = -1
        self._read_started: float | None = None
        self._bytes_read = 0

    def message(self, text: str) -> None:
        self._clear()
        print(escape_text(text), file=self._stream, flush=True)

    def _clear(self) -> None:
        if self._live:
            self._stream.write("\r\x1b[K")

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        if not layer:
            return

        text = f"{status} {format_bytes(current)} / {format_bytes(total)}" if total else status
        if self._live:
            self._clear()
            self._stream.write(f"  {layer[:12]}: {text}"[:100])
            self._stream.flush()
        elif (
            status in ("Pull complete", "Already exists", "Download complete")
            and self._pulls.get(layer) != status
        ):
            print(f"  {layer[:12]}: {status}", file=self._stream, flush=True)
        self._pulls[layer] = status

    def read(self, bytes_read: int, layers_read: int) -> None:
        if self._live:
            now = time.monotonic()
            if self._read_started is None:
                self._read_started = now
            self._bytes_read = bytes_read
            if (
                now - self._last_read_line < READ_LINE_INTERVAL_S
                and layers_read == self._last_layers
            ):
                return  # called per chunk of the stream: redraw at most 10 times a second
            self._last_read_line, self._last_layers = now, layers_read
            self._clear()
            self._stream.write(
                f"  read {format_bytes(bytes_read)}, {humanize.intcomma(layers_read)} layers"
            )
            self._stream.flush()

    def done(self) -> None:
        self._clear()
        if self._live:
            if self._read_started is not None:
                elapsed = humanize.precisedelta(
                    time.monotonic() - self._read_started, minimum_unit="seconds", format="%0.1f"
                )
                layers = humanize.intcomma(max(self._last_layers, 0))
                print(
                    f"  read {format_bytes(self._bytes_read)}, {layers} layers in {elapsed}",
                    file=self._stream,
                )
            self._stream.flush()
