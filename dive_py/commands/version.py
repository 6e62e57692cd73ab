"""Provides :func:`run_version`, ``divepy version``: print the version (dive has the subcommand).

``divepy version`` and ``divepy --version`` print the same line, ``divepy X.Y.Z``, on stdout
(dive 0.13.1 prints ``dive 0.13.1`` for both).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import NoReturn, TextIO

from dive_py import __version__
from dive_py.errors import UsageError
from dive_py.exit_codes import ExitCode


def version_line() -> str:
    """Return the line both spellings print: ``"divepy X.Y.Z"``."""
    return f"divepy {__version__}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(
            f"'divepy version' takes no arguments ({message})",
            "run 'divepy version' alone, or 'divepy --help'",
        )


def run_version(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy version ARGS``: print :func:`version_line` on ``stdout``; return 0.

    Raises:
        UsageError: any argument (``--help`` aside): the command takes none.
    """
    parser = _Parser(prog="divepy version", description="Print the version of divepy.")
    parser.parse_args(list(argv))  # --help prints and exits 0 (SystemExit), as for other commands
    print(version_line(), file=stdout)
    return int(ExitCode.OK)
