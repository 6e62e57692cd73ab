"""Go's sort.Sort order, ties included, as dive lists its inefficient files (issue 12).

The cases in tests/fixtures/dive/tie_order.json were written by dive 0.13.1 (built with Go
1.24.1) from images whose second layer rewrites every file of the first; the expected order of
tied entries comes from dive itself, not from this implementation.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dive_py.domain.go_sort import go_sort

CASES = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "dive" / "tie_order.json").read_text()
)["cases"]


def _dive_order(records: list[list[object]]) -> list[tuple[str, int]]:
    """dive's order, from dive's input order: names as visited, sorted ascending, reversed."""
    items = sorted((str(path), int(size)) for path, _count, size in records)
    go_sort(items, lambda x, y: x[1] < y[1])
    items.reverse()
    return items


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{len(c['fileReference'])}-entries")
def test_tied_entries_come_out_in_dives_order(case: dict[str, list[list[object]]]) -> None:
    records = case["fileReference"]
    assert _dive_order(records) == [(path, size) for path, _count, size in records]


def test_the_cases_have_ties_beyond_insertion_sort() -> None:
    # the cases exercise the quicksort (more than 12 elements, many equal keys)
    big = [c["fileReference"] for c in CASES if len(c["fileReference"]) > 12]
    assert len(big) >= 5
    assert all(len({size for *_rest, size in records}) < len(records) / 3 for records in big)


def test_a_plain_python_sort_would_not_match() -> None:
    # guards the cases themselves: a stable sort by size gives another order for ties
    records = next(c["fileReference"] for c in CASES if len(c["fileReference"]) == 100)
    stable = sorted(
        ((str(p), int(s)) for p, _c, s in records),
        key=lambda item: (-item[1], item[0]),
    )
    assert stable != [(p, s) for p, _c, s in records]


@pytest.mark.parametrize("seed", range(20))
def test_sorts(seed: int) -> None:
    rng = random.Random(seed)
    items = [rng.randrange(rng.choice([1, 3, 1000])) for _ in range(rng.randrange(0, 700))]
    if seed % 4 == 1:
        items.sort(reverse=True)  # the reversed-input path
    expected = sorted(items)
    go_sort(items, lambda x, y: x < y)
    assert items == expected


def test_heapsort_fallback_still_sorts() -> None:
    # an adversarial-ish input for quicksort: organ-pipe with many duplicates
    items = [min(i, 5000 - i) % 37 for i in range(5000)]
    go_sort(items, lambda x, y: x < y)
    assert items == sorted(items)


@pytest.mark.parametrize("case", CASES[:4], ids=lambda c: f"{len(c['fileReference'])}-entries")
def test_json_file_reference_lists_ties_as_dive_does(case: dict[str, list[list[object]]]) -> None:
    # Rebuild an image dive was run on: layer 1 rewrites every file of layer 0 in /t, and
    # each path's two copies add up to dive's sizeBytes; the tar order of layer 1 is shuffled
    # (dive meets the paths in name order whatever the tar order).
    from tests.hostile.helpers import pipeline
    from tests.image_builder import ImageSpec, d, docker_archive, f

    records = [(str(p), int(s)) for p, _c, s in case["fileReference"]]
    first = [f(path.lstrip("/"), "a" * (size // 2)) for path, size in sorted(records)]
    second = [f(path.lstrip("/"), "b" * (size - size // 2)) for path, size in records]
    random.Random(7).shuffle(second)
    _, text = pipeline(docker_archive(ImageSpec(layers=[[d("t"), *first], [d("t"), *second]])))
    listed = [(r["file"], r["sizeBytes"]) for r in json.loads(text)["image"]["fileReference"]]
    assert listed == records
