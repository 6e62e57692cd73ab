"""Threshold values parse as dive's do (go-humanize ParseBytes, ratios in [0, 1])."""

from __future__ import annotations

import math

import pytest

from dive_py.ci.sizes import ValueProblem, format_ratio, parse_bytes, parse_ratio


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", 0),
        ("512", 512),
        ("20MB", 20_000_000),
        ("20mb", 20_000_000),
        ("20MiB", 20_971_520),
        ("20mib", 20_971_520),
        ("2KB", 2_000),
        ("2kB", 2_000),
        ("2kb", 2_000),
        ("2k", 2_000),
        ("2KiB", 2_048),
        ("2Ki", 2_048),
        ("1GB", 1_000_000_000),
        ("1GiB", 1_073_741_824),
        ("1TB", 10**12),
        ("1.5MB", 1_500_000),
        ("1,000B", 1_000),
        ("42 MB", 42_000_000),  # go-humanize trims the unit
        ("10b", 10),
        ("1.9", 1),  # truncated, as Go's uint64(f)
        ("16EiB", None),  # 2**64: too large
    ],
)
def test_parse_bytes_like_go_humanize(text: str, expected: int | None) -> None:
    if expected is None:
        with pytest.raises(ValueProblem, match="too large"):
            parse_bytes(text)
    else:
        assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "MB", "20XB", "twenty", "-5", " 5", "1e3", "1..2"])
def test_parse_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_bytes(text)


@pytest.mark.parametrize(
    "text, expected", [("0", 0.0), ("1", 1.0), ("0.95", 0.95), (".5", 0.5), ("1.0", 1.0)]
)
def test_parse_ratio(text: str, expected: float) -> None:
    assert parse_ratio(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("1.5", "not a ratio between 0 and 1"),
        ("-0.1", "not a ratio between 0 and 1"),
        ("95", "write 0.95 for 95 %"),
        ("nan", "not a ratio"),
        ("inf", "not a ratio"),
        ("abc", "not a number"),
        ("1_0", "not a number"),
    ],
)
def test_parse_ratio_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ValueProblem, match=fragment):
        parse_ratio(text)


def test_format_ratio_is_go_shortest_form() -> None:
    assert format_ratio(0.5551617190961453) == "0.5551617190961453"
    assert format_ratio(0.1) == "0.1"
    assert format_ratio(1.0) == "1"
    assert not math.isnan(float(format_ratio(0.25)))
