"""Chain IDs (OCI image spec config.md), shared and unique bytes, history image IDs, the build
cache log."""

from __future__ import annotations

import hashlib
import json

from dive_py.domain.history import (
    MISSING_IMAGE_ID,
    HistoryStep,
    apply_build_cache,
    apply_engine_history,
)
from dive_py.domain.layer_sharing import OtherImage, chain_ids, measure_sharing
from dive_py.domain.sources.image_build import BuildCacheLog

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


def test_chain_ids_follow_the_spec() -> None:
    second = "sha256:" + hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    third = "sha256:" + hashlib.sha256(f"{second} {C}".encode()).hexdigest()
    assert chain_ids([A, B, C]) == [A, second, third]
    assert chain_ids([]) == []


def test_a_layer_is_shared_only_with_the_same_chain_below_it() -> None:
    others = [
        OtherImage("sha256:1", "app:1", (A, B), ("web",)),
        OtherImage("sha256:2", "other:1", (C, B)),  # B over another base: a different chain
        OtherImage("sha256:3", "base:1", (A,)),
    ]
    sharing = measure_sharing([A, B, C], [100, 20, 3], others, own_containers=["mine"])
    assert sharing.shared_with == [["app:1", "base:1"], ["app:1"], []]
    assert sharing.containers == [["mine", "web"], ["mine", "web"], ["mine"]]
    assert (sharing.shared_bytes, sharing.unique_bytes) == (120, 3)
    assert sharing.shared_bytes + sharing.unique_bytes == 123


def test_history_image_ids_match_steps_newest_first() -> None:
    steps = [HistoryStep("a", "a"), HistoryStep("b", "b", empty_layer=True), HistoryStep("c", "c")]
    apply_engine_history(steps, [{"Id": "sha256:top"}, {"Id": "<missing>"}, {"Id": "<missing>"}])
    assert [step.image_id for step in steps] == [MISSING_IMAGE_ID, MISSING_IMAGE_ID, "sha256:top"]


def test_build_cache_log_marks_the_steps_taken_from_the_cache() -> None:
    log = BuildCacheLog()
    text = (
        "Step 1/4 : FROM base\n ---> 0123\n"
        "Step 2/4 : RUN one\n ---> Using cache\n ---> 4567\n"
        "Step 3/4 : CMD x\n ---> Using cache\n ---> 89ab\n"
        "Step 4/4 : RUN three\n ---> Running in cdef\n ---> 1111\n"
    )
    for start in range(0, len(text), 7):  # arrives in arbitrary chunks
        log.feed(text[start : start + 7])
    assert log.cached == [True, True, False]
    base = [HistoryStep("base", "base")]
    steps = [*base, HistoryStep("one", "one"), HistoryStep("x", "x"), HistoryStep("3", "3")]
    apply_build_cache(steps, log.cached)
    assert [step.cached for step in steps] == [None, True, True, False]


def test_a_later_stage_starts_the_log_again() -> None:
    log = BuildCacheLog()
    log.feed("Step 1/4 : FROM a AS b\nStep 2/4 : RUN x\n ---> Using cache\n")
    log.feed("Step 3/4 : FROM c\nStep 4/4 : COPY --from=b /x /x\n ---> 2222\n")
    assert log.cached == [False]


def test_json_history_carries_image_id_and_cached() -> None:
    from tests.hostile.helpers import pipeline
    from tests.image_builder import ImageSpec, docker_archive, f

    analysis, text = pipeline(docker_archive(ImageSpec(layers=[[f("a", b"1")], [f("b", b"2")]])))
    assert all("imageId" not in step for step in json.loads(text)["history"])
    assert "sharedBytes" not in json.loads(text)["image"]
    from dive_py.domain.export_json import render_json

    apply_engine_history(analysis.image.history, [{"Id": "sha256:x"}, {"Id": "<missing>"}])
    apply_build_cache(analysis.image.history, [True])
    analysis.sharing = measure_sharing(
        [layer.diff_id for layer in analysis.image.layers],
        [layer.size_bytes for layer in analysis.image.layers],
        [OtherImage("sha256:9", "base:1", (analysis.image.layers[0].diff_id,))],
    )
    doc = json.loads(render_json(analysis))
    assert [step["imageId"] for step in doc["history"]] == ["<missing>", "sha256:x"]
    assert [step.get("cached") for step in doc["history"]] == [None, True]
    assert [layer["sharedWith"] for layer in doc["layer"]] == [["base:1"], []]
    assert doc["image"]["sharedBytes"] + doc["image"]["uniqueBytes"] == doc["image"]["sizeBytes"]
    assert doc["image"]["sharedBytes"] == 1
