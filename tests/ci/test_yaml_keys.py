"""duplicate_keys (dive_py/ci/yaml_keys.py): every key a YAML document repeats in one mapping."""

from __future__ import annotations

import pytest
import yaml

from dive_py.ci.yaml_keys import DuplicateKey, duplicate_keys


def test_repeats_are_reported_in_line_order_with_their_parents() -> None:
    text = "rules:\n  a: 1\n  b: 2\n  a: 3\nplugins:\n  - x: 1\n    x: 2\nrules: {}\n"
    assert duplicate_keys(text) == [
        DuplicateKey(("rules",), "a", 2, 4),
        DuplicateKey(("plugins",), "x", 6, 7),
        DuplicateKey((), "rules", 1, 8),
    ]


def test_pyyaml_alone_keeps_the_last_value_silently() -> None:
    """The reason for the module: safe_load neither fails nor warns."""
    assert yaml.safe_load("a: 1\na: 2\n") == {"a": 2}
    assert duplicate_keys("a: 1\na: 2\n") == [DuplicateKey((), "a", 1, 2)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just a scalar\n",
        "a: 1\nb: 2\n",
        "1: a\n'1': b\n",  # an int and a string
        "base: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n",  # merge keys
        "a: &r [1, *r]\n",  # a recursive alias is walked once
        "? [1, 2]\n: a\n? [1, 2]\n: b\n",  # complex keys are not compared
    ],
)
def test_no_repeat(text: str) -> None:
    assert duplicate_keys(text) == []


def test_bad_yaml_raises_as_safe_load_does() -> None:
    with pytest.raises(yaml.YAMLError):
        duplicate_keys("a: [\n")
