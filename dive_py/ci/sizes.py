"""Provides :func:`parse_bytes` and :func:`parse_ratio`: threshold values parsed the way dive does.

``parse_bytes`` follows go-humanize's ``ParseBytes`` (dive's byte thresholds): the leading
ASCII digits, ``.`` and ``,`` form the number (commas are dropped), the rest, trimmed and
lower-cased, must be a unit of the table below; the product is truncated to an integer.
So ``20MB`` = 20,000,000, ``20MiB`` = 20,971,520, ``2KB`` = 2,000, ``512`` = 512 bytes.
"""

from __future__ import annotations

import math
import re

_UNITS: dict[str, int] = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtpe", start=1):
    _UNITS[_letter] = _UNITS[_letter + "b"] = 1000**_power
    _UNITS[_letter + "i"] = _UNITS[_letter + "ib"] = 1024**_power

_NUMBER = re.compile(r"[0-9.,]*")
_MAX_UINT64 = 2**64


class ValueProblem(ValueError):
    """A threshold value that cannot be used; the message says why (one line)."""


def parse_bytes(text: str) -> int:
    """Return the byte count of a human size (go-humanize ``ParseBytes`` rules).

    Raises:
        ValueProblem: no leading number, an unknown unit, or a value of 2**64 or more.
    """
    leading = _NUMBER.match(text)  # always matches (possibly empty): the pattern is [0-9.,]*
    number = leading.group() if leading is not None else ""
    unit = text[len(number) :].strip().lower()
    digits = number.replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        raise ValueProblem(
            f"{text!r} is not a byte size (a number, then an optional unit "
            "such as kB, KiB, MB, MiB, GB)"
        ) from None
    factor = _UNITS.get(unit)
    if factor is None:
        raise ValueProblem(
            f"{text!r} has an unknown size unit {unit!r} (use B, kB, KiB, MB, "
            "MiB, GB, GiB, TB, TiB, PB, PiB, EB or EiB)"
        )
    value *= factor
    if value >= _MAX_UINT64:
        raise ValueProblem(f"{text!r} is too large")
    return int(value)


def parse_ratio(text: str) -> float:
    """Return a ratio in [0, 1] written as a decimal number (``0.95``).

    Raises:
        ValueProblem: not a number, NaN or infinite, or outside [0, 1].
    """
    try:
        value = float(text.strip().replace("_", "\0"))
    except ValueError:
        raise ValueProblem(
            f"{text!r} is not a number (write a ratio between 0 and 1, such as 0.95)"
        ) from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        hint = f" (write {value / 100:g} for {value:g} %)" if 1 < value <= 100 else ""
        raise ValueProblem(f"{text!r} is not a ratio between 0 and 1{hint}")
    return value


def format_ratio(value: float) -> str:
    """Return ``value`` as Go's ``%v`` prints a float64 (shortest round-trip form)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)
