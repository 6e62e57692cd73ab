"""Provides :func:`run_ci`: CI mode's last step: print the report, write the JUnit file, exit.

Colours only when stdout is a terminal and ``NO_COLOR`` is not set (no-color.org); the "N more"
line starts with ``…`` unless stdout's encoding cannot hold it (then ``...``); savings are
wrapped to the terminal's width, or to 100 columns when stdout is not a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from dive_py.atomic_file import write_atomically
from dive_py.ci.junit import render_junit
from dive_py.ci.options import CiOptions
from dive_py.ci.report import REPORT_WIDTH, render_report
from dive_py.ci.result import compute_result
from dive_py.ci.rules import Rules
from dive_py.exit_codes import ExitCode

if TYPE_CHECKING:
    from dive_py.domain.analysis import Analysis


def use_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty (no-color.org)."""
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def report_width(stream: TextIO) -> int:
    """Return the columns of the terminal ``stream`` writes to, or :data:`REPORT_WIDTH` when it is
    not a terminal (a pipe, a file, a CI log) or its size cannot be read."""
    try:
        if not stream.isatty():
            return REPORT_WIDTH
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return REPORT_WIDTH
    return columns if columns > 0 else REPORT_WIDTH


def ellipsis_for(stream: TextIO) -> str:
    """Return ``…`` when ``stream``'s encoding can write it, else ``...``."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "\u2026".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "\u2026"


def run_ci(
    analysis: Analysis,
    rules: Rules,
    options: CiOptions,
    env: Mapping[str, str],
    stdout: TextIO,
) -> ExitCode:
    """Check the rules, print the report to ``stdout``, write ``--junit``; return the exit code.

    Args:
        analysis: the image and its figures.
        rules: the rules in use (:func:`~dive_py.ci.rules.load_rules`).
        options: ``--ci-all-files`` and ``--junit``.
        env: the environment (``NO_COLOR``).
        stdout: where the report goes.

    Returns:
        :attr:`ExitCode.OK` when no rule failed, else :attr:`ExitCode.RULE_FAILED`.

    Raises:
        OutputError: the JUnit file could not be written (after the report was printed).
    """
    from dive_py.domain.waste import explain_waste

    result = compute_result(analysis, rules, tuple(explain_waste(analysis, analysis.dockerfile)))
    text = render_report(
        result,
        all_files=options.all_files,
        colour=use_colour(stdout, env),
        ellipsis=ellipsis_for(stdout),
        width=report_width(stdout),
    )
    stdout.write(text)
    stdout.flush()
    if options.junit_path:
        write_atomically(options.junit_path, render_junit(result))
    return ExitCode.RULE_FAILED if result.failed else ExitCode.OK
