"""Provides :func:`read_dockerfile` and :func:`match_steps`: which Dockerfile instruction made
each history step.

The Dockerfile is parsed with ``dockerfile-parse`` (a maintained parser: continuation lines,
comments, heredocs' line numbers), never by hand. Only the final stage's instructions can be
in the image's history; they are matched to the history from the end (the base image's steps
come first), by instruction keyword (``RUN``, ``COPY``, ``ADD``, ``WORKDIR``…, taken from the
step's ``created_by`` as the classic builder and BuildKit write it). An instruction no step
matches (BuildKit records no ``ARG``) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dive_py.domain.history import HistoryStep
from dive_py.errors import UsageError

_KEYWORDS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*(\w+)")
_SHELL = "/bin/sh -c "


@dataclass(frozen=True, slots=True)
class DockerfileInstruction:
    """One instruction of a Dockerfile.

    Attributes:
        path: the Dockerfile's path as given.
        line: the 1-based line the instruction starts on.
        keyword: ``RUN``, ``COPY``… (upper case).
        value: the instruction's arguments as the parser joined them.
    """

    path: str
    line: int
    keyword: str
    value: str

    @property
    def where(self) -> str:
        """``"Dockerfile:12"``: the file and line, for hints."""
        return f"{self.path}:{self.line}"


def read_dockerfile(path: str) -> list[DockerfileInstruction]:
    """Return the final stage's instructions (after its ``FROM``) of the Dockerfile at ``path``.

    Raises:
        UsageError: the file cannot be read.
    """
    from dockerfile_parse import DockerfileParser

    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            parser = DockerfileParser(fileobj=handle)
            structure = parser.structure
    except OSError as exc:
        raise UsageError(
            f"cannot read the Dockerfile {path}: {(exc.strerror or str(exc)).lower()}",
            "check --dockerfile",
        ) from None
    instructions: list[DockerfileInstruction] = []
    for item in structure:
        keyword = str(item["instruction"]).upper()
        if keyword == "FROM":
            instructions = []
            continue
        if keyword == "COMMENT":
            continue
        instructions.append(
            DockerfileInstruction(path, int(item["startline"]) + 1, keyword, str(item["value"]))
        )
    return instructions


def step_keyword(step: HistoryStep) -> str:
    """The Dockerfile keyword that made a history step (``""`` when it cannot be told)."""
    created_by = step.created_by.strip()
    nop = _NOP.match(created_by)
    if nop:
        return nop.group(1).upper()
    if created_by.startswith(_SHELL):
        return "RUN"
    first = created_by.split(" ", 1)[0].upper()
    return first if first in _KEYWORDS else ""


def match_steps(
    history: Sequence[HistoryStep], instructions: Sequence[DockerfileInstruction]
) -> dict[int, DockerfileInstruction]:
    """Pair history steps with the instructions that made them, from the end.

    Returns:
        history position (index into ``history``) -> its instruction.
    """
    pairs: dict[int, DockerfileInstruction] = {}
    i = len(history) - 1
    j = len(instructions) - 1
    while i >= 0 and j >= 0:
        keyword = step_keyword(history[i])
        if keyword and keyword == instructions[j].keyword:
            pairs[i] = instructions[j]
            i -= 1
            j -= 1
        elif keyword and any(ins.keyword == keyword for ins in instructions[:j]):
            j -= 1  # an instruction without a step (BuildKit's ARG, ONBUILD…)
        else:
            break  # the base image's steps
    return pairs
