"""The ``--json`` hot path's shortcuts give exactly what the plain ways give.

Each shortcut (cache patterns tried only when a path can match, what hides a directory worked
out once per directory, the final image's data from its stacked state, each layer's changes
found below their directories, the waste explanations written by hand) is checked against the
plain way it replaced, kept here as the reference, on hand-made and random images.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dive_py.domain import waste
from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.domain.dockerfile_steps import DockerfileInstruction
from dive_py.domain.export_json import (
    _explanation_records,
    explanation_document,
    layer_file_list,
    render_json,
)
from dive_py.domain.layer_changes import PathChange, change_of, layer_changes
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.waste import CACHE_PATTERNS, LayerTouch, WasteExplanation, explain_waste
from dive_py.domain.whiteout import deleted_path
from tests.content.test_waste import CACHES, CASES, analysed
from tests.domain.test_efficiency import analyse_layers
from tests.domain.test_stacking_properties import _random_layers
from tests.image_builder import E, d, f, opaque, wh

# --- the plain ways, as they were -------------------------------------------------------------


def plain_cache_pattern(path: str) -> tuple[object, str | None] | None:
    for pattern in CACHE_PATTERNS:
        found = pattern.regex.search(path)
        if found:
            return pattern, found.group(1)
    return None


def plain_hidden_by(
    layers: Sequence[LayerContents], deleted: list[set[str]], path: str, start: int
) -> tuple[int, str, str] | None:
    ancestors = []
    parent = path
    while parent:
        parent = parent.rpartition("/")[0]
        ancestors.append(parent)
    for index in range(start + 1, len(layers)):
        layer = layers[index]
        if path in layer.entries:
            return index, "write", path
        gone = deleted[index]
        if path in gone:
            return index, "delete", path
        for ancestor in ancestors:
            if ancestor in gone:
                return index, "delete", ancestor
            entry = layer.entries.get(ancestor)
            if entry is not None and not entry.is_dir:
                return index, "delete", ancestor
    return None


class PlainHiding:
    def __init__(self, layers: Sequence[LayerContents], deleted: list[set[str]]) -> None:
        self.layers, self.deleted = layers, deleted

    def hidden_by(self, path: str, start: int) -> tuple[int, str, str] | None:
        return plain_hidden_by(self.layers, self.deleted, path, start)


def plain_visible_data(analysis: Analysis) -> set[int]:
    last = len(analysis.image.layers) - 1
    tree = analysis.compared_tree(last, CompareMode.LAYER)
    return {
        id(node.entry.data)
        for node in tree.root.walk()
        if node.entry is not None and node.entry.data is not None
    }


def plain_layer_changes(analysis: Analysis, index: int, entries: list) -> list[PathChange]:
    contents = analysis.image.layers[index].contents
    tree = analysis.compared_tree(index, CompareMode.LAYER)
    whiteouts = {id(entry) for entry in contents.whiteouts}
    out = []
    for entry in entries:
        if id(entry) in whiteouts:
            path = deleted_path(entry.path)
            node = tree.find(path)
            before = node.base_entry if node is not None else None
            out.append(PathChange(path, DiffType.REMOVED, entry, True, False, before))
            continue
        node = tree.find(entry.path)
        change = change_of(node, index)
        out.append(PathChange(entry.path, change, entry, opaque=entry.path in contents.opaque_dirs))
    return out


def plain_explain_waste(analysis: Analysis, monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as patched:
        patched.setattr(waste, "_cache_pattern", plain_cache_pattern)
        patched.setattr(waste, "_Hiding", PlainHiding)
        patched.setattr(waste, "_visible_data", plain_visible_data)
        return explain_waste(analysis, analysis.dockerfile)


# --- cache patterns -------------------------------------------------------------------------

PARTS = [
    "var", "lib", "apt", "lists", "cache", "apk", "dnf", "yum", "root", "home", "u", ".cache",
    "pip", ".npm", "usr", "local", "share", "yarn", ".cargo", "cargo", "registry", "go", "pkg",
    "mod", "go-build", "__pycache__", "m.pyc", ".git", ".gitx", "x.pyc\n", "a\nb", "app", "",
]  # fmt: skip


MATCHING = [
    "var/lib/apt/lists/x", "var/cache/apt", "var/cache/apk/x", "var/cache/dnf/x",
    "var/cache/yum", "root/.cache/pip/x", "home/u/.cache/pip", "root/.npm/x", "home/u/.npm",
    "usr/local/share/.cache/yarn/x", "root/.cache/yarn", "home/u/.cache/yarn/x",
    "root/.cargo/registry/x", "home/u/.cargo/registry", "usr/local/cargo/registry/x",
    "root/.cache/go-build/x", "home/u/.cache/go-build", "root/go/pkg/mod", "home/u/go/pkg/mod/x",
    "go/pkg/mod/x", "a/__pycache__/x", "__pycache__", "x.pyc", "a/.git/x", ".git",
]  # fmt: skip
"""A path for every alternative of every cache pattern."""


def test_every_alternative_of_every_pattern_matches() -> None:
    for path in MATCHING:
        assert waste._cache_pattern(path) is not None, path
        assert waste._cache_pattern(path) == plain_cache_pattern(path), path


@settings(deadline=None)
@given(st.lists(st.sampled_from(PARTS + MATCHING), min_size=1, max_size=7))
@example([".git", "x.pyc"])  # the first pattern that matches wins: pycache before git-dir
def test_cache_patterns_give_the_plain_answer(parts: list[str]) -> None:
    path = "/".join(parts)
    assert waste._cache_pattern(path) == plain_cache_pattern(path)


def test_every_cache_example_and_precedence() -> None:
    for name, path in CACHES.items():
        found = waste._cache_pattern(path)
        assert found is not None and found[0].name == name
    found = waste._cache_pattern(".git/x.pyc")
    assert found is not None and found[0].name == "pycache"
    assert waste._cache_pattern("usr/d0/s0/l0/f1.dat") is None


# --- what hides a path ----------------------------------------------------------------------


def _hiding_cases(analysis: Analysis) -> list[tuple[str, int]]:
    layers = analysis.image.layers
    return [(path, layer.index) for layer in layers for path in layer.contents.entries]


def _assert_hiding_and_visibility(analysis: Analysis) -> None:
    layers = [layer.contents for layer in analysis.image.layers]
    deleted = [{deleted_path(w.path) for w in layer.whiteouts} for layer in layers]
    hiding = waste._Hiding(layers, deleted)
    for path, start in _hiding_cases(analysis):
        assert hiding.hidden_by(path, start) == plain_hidden_by(layers, deleted, path, start)
    assert waste._visible_data(analysis) == plain_visible_data(analysis)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_images_hide_and_show_as_before(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    analysis = analyse_layers(tmp_path_factory.mktemp("img"), _random_layers(random.Random(seed)))
    _assert_hiding_and_visibility(analysis)


def test_directories_hidden_at_several_depths(tmp_path: Path) -> None:
    layers: list[list[E]] = [
        [d("a"), d("a/b"), d("a/b/c"), f("a/b/c/x", "1"), f("a/b/c/y", "2"), f("a/z", "3")],
        [d("a"), d("a/b"), wh("a/b/c"), f("a/b/w", "4")],  # a directory deleted
        [d("a"), f("a/b", "now a file")],  # a file over a directory
        [d("a"), wh("a/z"), f("a/b", "again")],  # the path itself: write wins in its layer
        [opaque("a")],
    ]
    _assert_hiding_and_visibility(analyse_layers(tmp_path, layers))


def test_deep_paths_need_no_recursion(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 1500)
    layers = [[f(deep + "/file", "x")], [wh("d")]]
    contents = [layer.contents for layer in analyse_layers(tmp_path, layers).image.layers]
    deleted = [{deleted_path(w.path) for w in c.whiteouts} for c in contents]
    assert waste._Hiding(contents, deleted).hidden_by(deep + "/file", 0) == (1, "delete", "d")


# --- whole outputs --------------------------------------------------------------------------


def _assert_outputs_as_before(analysis: Analysis, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = plain_explain_waste(analysis, monkeypatch)
    assert explain_waste(analysis, analysis.dockerfile) == plain
    for layer in analysis.image.layers:
        entries = layer_file_list(layer.contents)
        ours = layer_changes(analysis, layer.index, entries)
        assert ours == plain_layer_changes(analysis, layer.index, entries)
    document = json.loads(render_json(analysis))
    assert document["image"]["wasteExplanations"] == [explanation_document(x) for x in plain]


@pytest.mark.parametrize("case", sorted(CASES))
def test_waste_cases_give_the_same_outputs(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wasteful, steps, _fixed, _fixed_steps = CASES[case]
    _assert_outputs_as_before(analysed(wasteful, steps), monkeypatch)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_images_give_the_same_outputs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    layers = _random_layers(rng)
    names = list(CACHES.values())
    layers.append([f(rng.choice(names), b"c" * rng.randint(1, 9))])  # a cache, maybe rewritten
    analysis = analyse_layers(tmp_path_factory.mktemp("img"), layers)
    _assert_outputs_as_before(analysis, monkeypatch)


# --- the explanations' layout ---------------------------------------------------------------

ODD = 'quote " back \\ tab \t nl \n bell \x07 é ☃ \udcff 😀'
EXPLANATIONS = [
    WasteExplanation(
        "/" + ODD,
        [
            LayerTouch(1, "wrote", "RUN " + ODD),
            LayerTouch(2, "deleted", "RUN rm", DockerfileInstruction(ODD, 7, "RUN", "rm")),
        ],
        "deleted-later",
        ODD,
        123456789012,
        3,
    ),
    WasteExplanation("/empty", [], "overwritten", "", 0, 0),
]


@pytest.mark.parametrize("items", [EXPLANATIONS, EXPLANATIONS[:1], []])
def test_explanations_are_laid_out_as_the_encoder_does(items: list[WasteExplanation]) -> None:
    documents = [explanation_document(x) for x in items]
    for item, document in zip(items, documents, strict=True):
        (alone,) = _explanation_records([item], "")
        assert alone == json.dumps(document, indent=2, ensure_ascii=True)
    nested = json.dumps({"image": {"wasteExplanations": documents}}, indent=2, ensure_ascii=True)
    indent = " " * 6
    body = f",\n{indent}".join(_explanation_records(items, indent))
    listed = f"[\n{indent}{body}\n{indent[:-2]}]" if body else "[]"
    assert nested == f'{{\n  "image": {{\n    "wasteExplanations": {listed}\n  }}\n}}'
