"""Provides :data:`SUBCOMMANDS`: the ``divepy`` subcommands, for dispatch and for ``--help``.

:mod:`dive_py.cli` dispatches on the first argument: a name listed here runs that
subcommand, anything else is ``divepy [flags] IMAGE``
(:mod:`dive_py.commands.explore`). ``divepy --help`` lists this table, so a subcommand added
here is listed there too. As in dive (cobra), a subcommand's name wins over an image of the
same name: ``docker://version`` or ``./version`` names such an image.

Each subcommand lives in its own module under :mod:`dive_py.commands`, imported only when it
runs (``--ci`` and ``--json`` never import Textual).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO, cast

RunCommand = Callable[[Sequence[str], Mapping[str, str], TextIO, TextIO], int]
"""A subcommand's entry point: ``(argv after the name, env, stdout, stderr) -> exit code``;
it raises :class:`~dive_py.errors.DivepyError` for expected failures."""


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One ``divepy`` subcommand.

    Attributes:
        name: the first argument that selects it (``"build"``).
        usage: its synopsis for ``--help`` (``"build [docker build args…] -t TAG CONTEXT"``).
        summary: one line saying what it does.
        module: the dotted module holding its entry point.
        function: the entry point's name in ``module`` (a :data:`RunCommand`).
    """

    name: str
    usage: str
    summary: str
    module: str
    function: str

    def load(self) -> RunCommand:
        """Import the module and return the entry point."""
        return cast(RunCommand, getattr(importlib.import_module(self.module), self.function))


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "build",
        "build [docker build args…] -t TAG CONTEXT",
        "build an image through the Docker engine, then analyse it like 'divepy TAG'",
        "dive_py.commands.build",
        "run_build",
    ),
    Subcommand(
        "diff",
        "diff [--source S] [--platform P] [--json FILE] [--report] A B",
        "compare two images: shared layers, then files added, modified and removed",
        "dive_py.commands.diff",
        "run_diff",
    ),
    Subcommand(
        "cache",
        "cache info|clear",
        "show or clear the analysis and layer caches",
        "dive_py.commands.cache",
        "run_cache",
    ),
    Subcommand(
        "extract",
        "extract IMAGE PATH [--layer N] [-o DIR] [--force] [--preserve]",
        "write a file or directory as it is at a layer into a directory, safely",
        "dive_py.commands.extract",
        "run_extract",
    ),
    Subcommand(
        "ls",
        "ls IMAGE [--layer N] [--aggregated] [--json]",
        "list a layer's entries (or the image at that layer) like 'tar -tv', with change markers",
        "dive_py.commands.ls",
        "run_ls",
    ),
    Subcommand(
        "version",
        "version",
        "print the version (as --version does)",
        "dive_py.commands.version",
        "run_version",
    ),
)
"""Every subcommand, in the order ``--help`` lists them."""


def find_subcommand(name: str) -> Subcommand | None:
    """Return the subcommand called ``name`` (exact, case-sensitive as in dive), or None."""
    for subcommand in SUBCOMMANDS:
        if subcommand.name == name:
            return subcommand
    return None


def subcommands_help() -> str:
    """Return the ``commands:`` section of ``divepy --help``: one line per subcommand."""
    width = max(len(subcommand.name) for subcommand in SUBCOMMANDS)
    lines = ["commands (a command name wins over an image of the same name):"]
    for subcommand in SUBCOMMANDS:
        lines.append(f"  {subcommand.name:<{width}}  {subcommand.summary}")
    lines.append("  run 'divepy COMMAND --help' for a command's own flags")
    return "\n".join(lines) + "\n"
