"""Provides :func:`duplicate_keys`: the keys a YAML document gives twice in one mapping.

YAML requires the keys of a mapping to be unique (YAML 1.2, section 3.2.1.1), but PyYAML's
loaders silently keep the last value, so a ``.dive-ci`` that sets a rule twice would apply
the second value without a word. This walks the composed node graph (before any value is
constructed) and reports every repeat, with the lines of both occurrences.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """A key given twice in one mapping.

    Attributes:
        parents: the keys leading to the mapping (``("rules",)``; empty for the top level).
        key: the repeated key, as written.
        first_line: the 1-based line of its first occurrence.
        line: the 1-based line of the repeat.
    """

    parents: tuple[str, ...]
    key: str
    first_line: int
    line: int


def duplicate_keys(text: str) -> list[DuplicateKey]:
    """Return every key repeated within one mapping of the YAML document ``text``, in order.

    Keys are compared as written with their tag (``1`` and ``"1"`` differ, as they do once
    loaded); merge keys (``<<``) and non-scalar keys are not compared. An alias is walked once.

    Raises:
        yaml.YAMLError: ``text`` is not one valid YAML document (as ``yaml.safe_load`` would).
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: list[DuplicateKey] = []
    seen_nodes: set[int] = set()
    pending: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())] if root is not None else []
    while pending:
        node, parents = pending.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if (
                    isinstance(key_node, yaml.ScalarNode)
                    and key_node.tag != "tag:yaml.org,2002:merge"
                ):
                    identity = (key_node.tag, key_node.value)
                    line = key_node.start_mark.line + 1
                    if identity in first:
                        found.append(DuplicateKey(parents, key_node.value, first[identity], line))
                    else:
                        first[identity] = line
                    pending.append((value_node, (*parents, key_node.value)))
                else:
                    pending.append((value_node, parents))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, parents) for item in node.value)
    found.sort(key=lambda duplicate: duplicate.line)
    return found
