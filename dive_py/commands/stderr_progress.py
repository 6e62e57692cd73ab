"""Provides :class:`StderrProgress`: the command line's progress report on stderr.

On a terminal the read is one line redrawn in place. In a CI log (stderr not a terminal) a
line cannot be redrawn, so a long read prints a line now and then, on a schedule that keeps
the log short whatever the image:

* nothing during the first :data:`FIRST_LINE_AFTER_S` seconds of a phase (a short read
  prints no progress at all);
* then a line each time the previous one is at least :data:`LOG_LINE_MIN_INTERVAL_S` seconds
  old and at least :data:`LOG_LINE_GROWTH` of the elapsed time old (5 s, 10 s, 15 s, 22 s,
  34 s, 51 s…: 14 lines in half an hour, 18 in two hours);
* at most :data:`MAX_LOG_LINES` progress lines, and a summary line when any was printed.

Each line says bytes read (of the total, when the engine or the file gives one), layers
read (of the total, when known) and the elapsed time::

      read 812.3 MB of 1.6 GB (50%), 3 of 7 layers, 12 seconds elapsed
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import humanize

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.progress import ProgressListener

READ_LINE_INTERVAL_S = 0.1
"""Seconds between two redraws of the terminal's "read N MB" line (a new layer redraws at once)."""

FIRST_LINE_AFTER_S = 5.0
"""CI log: seconds into a phase before its first progress line (shorter reads print none)."""

LOG_LINE_MIN_INTERVAL_S = 5.0
"""CI log: the least number of seconds between two progress lines."""

LOG_LINE_GROWTH = 0.5
"""CI log: a progress line waits at least this fraction of the elapsed time after the last."""

MAX_LOG_LINES = 19
"""CI log: progress lines printed at most in a run (the summary line makes 20)."""


def _count(done: int, total: int, noun: str) -> str:
    """``"3 layers"``, ``"1 layer"``, ``"3 of 7 layers"`` (the total, when known, sets the plural)."""
    number = total if total else done
    plural = noun if number == 1 else f"{noun}s"
    if total:
        return f"{humanize.intcomma(done)} of {humanize.intcomma(total)} {plural}"
    return f"{humanize.intcomma(done)} {plural}"


def _bytes(done: int, total: int) -> str:
    """``"812.3 MB"`` or ``"812.3 MB of 1.6 GB (50%)"`` (dive's units)."""
    if not total:
        return format_bytes(done)
    percent = min(100, done * 100 // total)
    return f"{format_bytes(done)} of {format_bytes(total)} ({percent}%)"


def _duration(seconds: float, digits: int) -> str:
    return humanize.precisedelta(seconds, minimum_unit="seconds", format=f"%0.{digits}f")


class StderrProgress(ProgressListener):
    """A :class:`~dive_py.domain.progress.ProgressListener` that reports on stderr.

    Phase messages are always printed (escaped: a path may hold control characters). On a
    terminal the byte counter is redrawn on one line, and replaced by a summary line with the
    duration when the image has been read; in a CI log (not a terminal) a long read prints
    progress lines on the schedule of the module docstring. Bytes are shown in dive's units
    (:func:`~dive_py.domain.byte_size.format_bytes`), counts and durations with ``humanize``
    ("1,234 layers", "2.3 seconds").

    Args:
        stream: stderr (or a test's stream; its ``isatty()`` picks the mode).
        clock: seconds from a monotonic clock (``time.monotonic`` by default; tests inject one).
    """

    def __init__(self, stream: TextIO, clock: Callable[[], float] | None = None) -> None:
        self._stream = stream
        self._clock = clock
        self._live = stream.isatty()
        self._pulls: dict[str, str] = {}
        self._last_read_line = float("-inf")
        self._last_layers = -1
        self._read_started: float | None = None
        self._bytes_read = 0
        self._total_bytes = 0
        self._total_layers = 0
        self._phase_started: float | None = None
        self._next_log_line = float("inf")
        self._log_lines = 0

    def _now(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    def message(self, text: str) -> None:
        self._clear()
        print(escape_text(text), file=self._stream, flush=True)
        if not self._live:  # a new phase: its own quiet start
            self._phase_started = self._now()
            self._next_log_line = self._phase_started + FIRST_LINE_AFTER_S

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

    def expect(self, total_bytes: int, total_layers: int) -> None:
        self._total_bytes = max(total_bytes, 0)
        self._total_layers = max(total_layers, 0)

    def waiting(self, what: str) -> None:
        self.message(f"Waiting for {what}")

    def _figures(self, bytes_read: int, layers_read: int) -> str:
        return (
            f"{_bytes(bytes_read, self._total_bytes)}, "
            f"{_count(layers_read, self._total_layers, 'layer')}"
        )

    def read(self, bytes_read: int, layers_read: int) -> None:
        now = self._now()
        if self._read_started is None:
            self._read_started = now
        self._bytes_read = bytes_read
        if not self._live:
            self._log_line(now, layers_read)
            return
        if now - self._last_read_line < READ_LINE_INTERVAL_S and layers_read == self._last_layers:
            return  # called per chunk of the stream: redraw at most 10 times a second
        self._last_read_line, self._last_layers = now, layers_read
        self._clear()
        self._stream.write(f"  read {self._figures(bytes_read, layers_read)}")
        self._stream.flush()

    def _log_line(self, now: float, layers_read: int) -> None:
        """CI log: print a progress line when the schedule says so."""
        self._last_layers = layers_read
        if self._phase_started is None:
            self._phase_started = now
            self._next_log_line = now + FIRST_LINE_AFTER_S
        if now < self._next_log_line or self._log_lines >= MAX_LOG_LINES:
            return
        elapsed = now - self._phase_started
        self._log_lines += 1
        self._next_log_line = now + max(LOG_LINE_MIN_INTERVAL_S, elapsed * LOG_LINE_GROWTH)
        print(
            f"  read {self._figures(self._bytes_read, layers_read)}, "
            f"{_duration(elapsed, 0)} elapsed",
            file=self._stream,
            flush=True,
        )

    def done(self) -> None:
        self._clear()
        if self._read_started is not None and (self._live or self._log_lines):
            # a terminal always gets the summary; a CI log only after progress lines, with the
            # same elapsed time as they
            started = self._read_started if self._live else self._phase_started
            elapsed = _duration(self._now() - (started or self._read_started), 1)
            figures = self._figures(self._bytes_read, max(self._last_layers, 0))
            print(f"  read {figures} in {elapsed}", file=self._stream)
        self._stream.flush()
        self._read_started = None
