"""Tests of the free text a person reads in the explorer: relative creation times, counts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


def test_image_details_split_the_bytes_into_shared_and_unique_when_the_engine_knows() -> None:
    # issue 13: "Image details split the image's bytes into shared and unique"
    import dataclasses

    from dive_py.domain.layer_sharing import LayerSharing
    from dive_py.ui.details import image_summary
    from tests.hostile.helpers import pipeline
    from tests.image_builder import ImageSpec, docker_archive, f

    analysis, _ = pipeline(docker_archive(ImageSpec(layers=[[f("a", "1" * 1000)], [f("b", "22")]])))
    plain = image_summary(analysis, "img").plain
    assert "Shared" not in plain and "Unique" not in plain  # an archive: no other images
    shared = dataclasses.replace(
        analysis, sharing=LayerSharing(["c0", "c1"], [["base:1"], []], [], 1000, 2)
    )
    assert "Shared with other images: 1.0 kB" in image_summary(shared, "img").plain
    assert "Unique to this image: 2 B" in image_summary(shared, "img").plain
    assert "Shared: 1.0 kB" in image_summary(shared, "img", compact=True, width=200).plain


def test_tags_text_lists_all_or_one_and_how_many_more() -> None:
    # issue 11: "Image details show the image's tags ... shortened at 80x24 sensibly"
    from dive_py.ui.details import tags_text

    tags = ["reg.example/team/web:1.4.2", "reg.example/team/web:latest", "web:dev"]
    assert tags_text([]) == "(none)"
    assert tags_text(tags) == "reg.example/team/web:1.4.2, reg.example/team/web:latest, web:dev"
    assert tags_text(tags, width=80) == "reg.example/team/web:1.4.2 (+2 more)"
    assert tags_text(tags, first="web:dev", width=80) == "web:dev (+2 more)"
    assert tags_text(tags, first="not-a-tag", width=80) == "reg.example/team/web:1.4.2 (+2 more)"
    assert tags_text(tags, width=20) == "…web:1.4.2 (+2 more)"  # cut at its start, 20 cells
    assert tags_text(["only:1"], width=80) == "only:1"


def test_image_details_list_the_tags(tmp_path: Path) -> None:
    from dive_py.ui.details import image_summary
    from tests.ui.tagged_image import TAGS, tagged_analysis

    analysis = tagged_analysis(tmp_path, labelled=False)
    name = TAGS[0]
    full = image_summary(analysis, name).plain
    assert f"Tags: {', '.join(TAGS)}" in full
    # compact: the tags stand in for a name that is one of them, shortened to the width
    compact = image_summary(analysis, name, compact=True, width=38).plain
    assert "Image:" not in compact
    assert compact.splitlines()[0] == "Tags: …am/web-frontend:1.4.2 (+2 more)"  # 38 cells
    # the name in the pane's subtitle: the tags come last
    last = image_summary(analysis, name, compact=True, width=40, with_name=False).plain
    assert last.splitlines()[-1].startswith("Tags: ") and "(+2 more)" in last
    # a lone tag that is the name is said once
    single = dataclasses.replace(analysis.image, repo_tags=[name])
    lone = dataclasses.replace(analysis, image=single)
    assert "Tags:" not in image_summary(lone, name, compact=True, width=40).plain
    lone_full = image_summary(lone, name).plain
    assert "Tags:" not in lone_full and f"Image name: {name}" in lone_full


@pytest.mark.parametrize("size", [(80, 24), (84, 24), (116, 22)])
async def test_compact_image_details_never_wrap_inside_a_figure(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """Trial of this release: at 80x24 the compact Image Details showed "Reclaimable: 2.0" and
    "kB" on the next line: the lines were cut to the width without the scroll bar the summary
    then got (and the wrapped line kept the bar there)."""
    from rich.cells import cell_len
    from textual.widgets import Static

    from dive_py.ui.app import make_app
    from tests.ui.conftest import settle
    from tests.ui.tagged_image import tagged_analysis

    app = make_app(tagged_analysis(tmp_path, labelled=False), image_name="web-frontend:dev")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        summary = app.screen.query_one("#image-summary", Static)
        text = summary.visual.plain  # type: ignore[union-attr]
        assert "Reclaimable:" in text
        widest = max(cell_len(line) for line in text.splitlines())
        assert widest <= summary.content_size.width, (text, summary.content_size)
