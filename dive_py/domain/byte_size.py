"""Provides :func:`format_bytes`: a byte count as dive shows it, so divepy's screens and reports read the same.

dive formats with go-humanize ``Bytes``: SI units (1 kB = 1,000 bytes); below 10 bytes
``"N B"``; otherwise the value rounded to one decimal, printed with one decimal below 10 of a
unit and none above (``"13 kB"`` for 12,810 bytes, ``"5.9 MB"``). ``humanize.naturalsize``
writes ``"12.8 kB"`` and ``"6 Bytes"``, which would make divepy's CI rows differ from dive's.
"""

from __future__ import annotations

import math

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(size: int) -> str:
    """Return ``size`` (bytes) as dive shows it: ``"6 B"``, ``"13 kB"``, ``"5.9 MB"``."""
    if size < 10:
        return f"{max(size, 0)} B"
    exponent = min(int(math.floor(math.log(size, 1000))), len(_UNITS) - 1)
    value = math.floor(size / 1000**exponent * 10 + 0.5) / 10
    text = f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    return f"{text} {_UNITS[exponent]}"
