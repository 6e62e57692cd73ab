"""The base layer's label (issue 11): the base image's name where the image says it (the
``org.opencontainers.image.base.name`` label, else a ``FROM`` history step), else dive's
``FROM <first 15 characters of the layer id>`` when the base layer's step has no command."""

from __future__ import annotations

from pathlib import Path

import pytest

from dive_py.domain.base_image import (
    BASE_NAME_LABEL,
    base_image_name,
    base_layer_label,
    short_layer_id,
)
from dive_py.domain.history import parse_history
from tests.domain.test_efficiency import analyse_layers
from tests.image_builder import Step, f


def _history(*created_by: str, empty: tuple[int, ...] = (), layers: int = 1):  # type: ignore[no-untyped-def]
    config = {
        "history": [
            {"created_by": text, **({"empty_layer": True} if i in empty else {})}
            for i, text in enumerate(created_by)
        ]
    }
    return parse_history(config, layers)


def test_the_label_names_the_base_image() -> None:
    config = {"config": {"Labels": {BASE_NAME_LABEL: " docker.io/library/python:3.12 "}}}
    steps = _history("/bin/sh -c #(nop) ADD file:abc in / ", "/bin/sh -c #(nop) FROM other")
    assert base_image_name(config, steps) == "docker.io/library/python:3.12"


@pytest.mark.parametrize(
    "created_by, expected",
    [
        ("/bin/sh -c #(nop) FROM debian:bookworm-slim", "debian:bookworm-slim"),
        ("FROM --platform=linux/amd64 alpine:3.19 AS build", "alpine:3.19"),
        ("/bin/sh -c from x", None),  # a shell command named "from" is no FROM step
        ("/bin/sh -c #(nop) ADD file:abc in / ", None),
        ("FROM", None),
    ],
)
def test_a_from_step_names_the_base_image(created_by: str, expected: str | None) -> None:
    assert base_image_name({}, _history(created_by)) == expected


def test_only_steps_up_to_the_base_layer_count() -> None:
    # a FROM step before the base layer's step (made no layer) names it ...
    before = _history("/bin/sh -c #(nop) FROM busybox", "", empty=(0,))
    assert before[1].layer_index == 0 and base_image_name({}, before) == "busybox"
    # ... one after it does not (it is no base of layer 0)
    after = _history("", "/bin/sh -c #(nop) FROM busybox", layers=2)
    assert base_image_name({}, after) is None


@pytest.mark.parametrize("labels", [None, {}, {BASE_NAME_LABEL: "  "}, {BASE_NAME_LABEL: 3}])
def test_no_label_or_an_empty_one_names_nothing(labels: object) -> None:
    config = {"config": {"Labels": labels}}
    assert base_image_name(config, _history("/bin/sh -c make")) is None


def test_base_layer_without_command_reads_from_its_short_id(tmp_path: Path) -> None:
    analysis = analyse_layers(
        tmp_path, [[f("a", "1")], [f("b", "2")]], history=[Step(""), Step("RUN b")]
    )
    image = analysis.image
    ident = image.layers[0].id
    assert len(ident) == 64  # the legacy layout's directory name, as dive reads it
    assert short_layer_id(image) == ident[:15]
    assert base_layer_label(image) == f"FROM {ident[:15]}"  # dive: "FROM " + Id[:15]


def test_base_layer_without_history_reads_from_its_short_id(tmp_path: Path) -> None:
    analysis = analyse_layers(tmp_path, [[f("a", "1")]], history=[])
    image = analysis.image
    assert image.layers[0].step.missing
    assert base_layer_label(image) == f"FROM {image.layers[0].id[:15]}"


def test_base_layer_with_a_command_keeps_it_unless_the_image_names_its_base(
    tmp_path: Path,
) -> None:
    layers = [[f("a", "1")], [f("b", "2")]]
    history = [Step("/bin/sh -c #(nop) ADD file:abc in / "), Step("RUN b")]
    (tmp_path / "plain").mkdir()
    (tmp_path / "labelled").mkdir()
    plain = analyse_layers(tmp_path / "plain", layers, history=history)
    assert base_layer_label(plain.image) is None
    labelled = analyse_layers(
        tmp_path / "labelled", layers, history=history, labels={BASE_NAME_LABEL: "alpine:3.19"}
    )
    assert base_layer_label(labelled.image) == "FROM alpine:3.19"
