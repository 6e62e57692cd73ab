"""The JSON export's per-record ``change``: rebuilt from the JSON alone, every layer's changes
equal the tree the explorer shows, for every fixture spec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from tests.content.test_file_content import SPEC as CONTENT_SPEC
from tests.domain.dive_examples import layers_of_testimg, spec_a
from tests.hostile.helpers import pipeline
from tests.image_builder import ImageSpec, d, docker_archive, f, opaque, sym, wh

SPECS = {
    "spec-a": ImageSpec(layers=spec_a()),
    "testimg": ImageSpec(layers=layers_of_testimg()),
    "content": CONTENT_SPEC,
    "opaque-and-whiteouts": ImageSpec(
        layers=[
            [d("a"), f("a/1", "1"), d("a/sub"), f("a/sub/2", "2"), d("b"), f("b/3", "3")],
            [d("a"), opaque("a"), f("a/new", "n"), wh("b"), sym("c", "a")],
            [d("a"), f("a/new", "n"), d("a/sub")],  # rewritten same bytes; re-added directory
            [],
        ]
    ),
}


def _rebuild(doc: dict[str, Any]) -> list[tuple[set[str], dict[str, str]]]:
    """Per layer: (present paths after it, path -> change), from the JSON alone."""
    present: set[str] = set()
    out = []
    for layer in doc["layer"]:
        changes: dict[str, str] = {}
        removed: set[str] = set()
        for record in layer["fileList"]:
            if "removes" in record:
                assert record["change"] == "removed"
                removed.add(record["removes"])
                continue
            if record.get("opaque"):
                prefix = record["path"] + "/"
                removed |= {p for p in present if p.startswith(prefix)}
        for path in removed:
            prefix = path + "/"
            gone = {p for p in present if p == path or p.startswith(prefix)}
            present -= gone
            for p in gone:
                changes[p] = "removed"
        for record in layer["fileList"]:
            if "removes" not in record:
                present.add(record["path"])
                changes[record["path"]] = record["change"]
        out.append((set(present), changes))
    return out


@pytest.mark.parametrize("name", sorted(SPECS))
def test_changes_rebuilt_from_json_match_the_explorer(name: str) -> None:
    analysis, text = pipeline(docker_archive(SPECS[name]))
    rebuilt = _rebuild(json.loads(text))
    for index, (present, changes) in enumerate(rebuilt):
        tree = analysis.compared_tree(index, CompareMode.LAYER)
        shown_present = set()
        shown_changes = {}
        for node in tree.root.walk():
            if node.parent is None:
                continue
            path = node.path.lstrip("/")
            if node.entry is not None:
                shown_present.add(path)
            if index == 0:
                shown_changes[path] = "added"
            elif node.diff is not DiffType.UNMODIFIED:
                shown_changes[path] = node.diff.config_name
        assert present == shown_present, index
        # every path the explorer marks is in the export with the same change, and the
        # export marks nothing the explorer does not (re-listed unchanged directories aside)
        marked = {p: c for p, c in changes.items() if c != "unmodified"}
        assert marked == shown_changes, index
