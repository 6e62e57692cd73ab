"""Tests of the free text a person reads in the explorer: relative creation times, counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dive_py.ui.details import created_text, parse_created
from dive_py.ui.loading_screen import LoadProgress

NOW = datetime(2024, 5, 22, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "created, expected",
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        (
            "2024-05-01T12:00:00.123456789Z",  # Docker writes nanoseconds
            datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc),
        ),
        (
            "2024-05-01T14:00:00+02:00",
            datetime(2024, 5, 1, 12, tzinfo=timezone.utc),
        ),
        ("2024-05-01T12:00:00.5z", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)),
        ("", None),
        ("yesterday", None),
        ("2024-13-01T00:00:00Z", None),
    ],
)
def test_parse_created(created: str, expected: datetime | None) -> None:
    assert parse_created(created) == expected


def test_created_text_says_how_long_ago_as_docker_history_does() -> None:
    assert created_text("2024-05-01T12:00:00Z", NOW) == "2024-05-01T12:00:00Z (a month ago)"
    ten_days = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created_text(ten_days, NOW) == f"{ten_days} (10 days ago)"
    assert created_text("2022-05-01T12:00:00Z", NOW) == "2022-05-01T12:00:00Z (2 years ago)"
    assert created_text("", NOW) == "(unknown)"
    assert created_text("not a time", NOW) == "not a time"


def test_loading_progress_counts_with_separators() -> None:
    progress = LoadProgress()
    progress.read(2_500_000, 53_614)
    assert "Read 2.5 MB, 53,614 layers" in progress.render("img").plain
