"""Provides :func:`run_ci`: print the CI report, write the JUnit file, return the exit code.

The report (stdout) keeps the shape of dive's so that people and scripts reading dive's find
their way::

    Using CI config .dive-ci
    Image Source: docker://spec-a
      efficiency: 99.8741 %
      wastedBytes: 2506 bytes (2.5 kB)
      userWastedPercent: 55.5162 %
      reclaimableBytes: 1500 bytes (1.5 kB)
    Inefficient Files:
    Count  Wasted Space  File Path
        3        2.5 kB  /data/f1
    Results:
      SKIP: highestReclaimableBytes: rule disabled [default]
      FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes added: ...
      SKIP: highestWastedBytes: rule disabled [default]
      PASS: lowestEfficiency: efficiency=0.99874... (99.8741 %) >= threshold=0.9 [default]
    Result:FAIL [Total:4] [Passed:1] [Failed:1] [Warn:0] [Skipped:2]

Every threshold names its origin (``[default]``, ``[file .dive-ci]``, ``[flag --x]``). File
paths are escaped (a name holding a newline or ESC cannot break the report or drive the
terminal). Colours only when stdout is a terminal and ``NO_COLOR`` is not set (no-color.org).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TextIO

from dive_py.ci.evaluate import RuleResult, Status, evaluate
from dive_py.ci.rules import Rules
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.display_text import escape_text
from dive_py.exit_codes import ExitCode

FILE_ROWS = 10
"""Inefficient files listed by default; ``--ci-all-files`` lists all."""

_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"
_STATUS_COLOURS = {Status.FAIL: "\x1b[1;7;31m", Status.SKIP: "\x1b[34m", Status.PASS: "\x1b[32m"}
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"


def use_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty."""
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def _ellipsis(stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "\u2026".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "\u2026"


def summary_counts(results: Sequence[RuleResult]) -> dict[Status, int]:
    """Return how many rules passed, failed and were skipped."""
    counts = {status: 0 for status in Status}
    for result in results:
        counts[result.status] += 1
    return counts


def render_report(
    analysis: object,
    rules: Rules,
    results: Sequence[RuleResult],
    *,
    all_files: bool = False,
    colour: bool = False,
    ellipsis: str = "\u2026",
) -> str:
    """Return the CI report text (ending with a newline).

    Args:
        analysis: the :class:`~dive_py.domain.analysis.Analysis`.
        rules: the rules in use (for the configuration note).
        results: the rule outcomes, in the order to print.
        all_files: list every inefficient file instead of the first :data:`FILE_ROWS`.
        colour: use ANSI colours.
        ellipsis: the character that starts the "N more" line.
    """

    image = analysis.image  # type: ignore[attr-defined]
    efficiency = analysis.efficiency  # type: ignore[attr-defined]

    def bold(text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if colour else text

    lines = [
        f"  {rules.note}",
        f"{bold('Image Source:')} {escape_text(f'{image.source}://{image.reference}')}",
        f"  efficiency: {efficiency.score * 100:.4f} %",
        f"  wastedBytes: {efficiency.wasted_bytes} bytes ({format_bytes(efficiency.wasted_bytes)})",
    ]
    if efficiency.user_wasted_percent is None:
        lines.append(
            "  userWastedPercent: n/a (a single-layer image: no user bytes were added "
            "on top of the base layer)"
        )
    else:
        lines.append(f"  userWastedPercent: {efficiency.user_wasted_percent * 100:.4f} %")
    lines.append(
        f"  reclaimableBytes: {efficiency.reclaimable_bytes} bytes "
        f"({format_bytes(efficiency.reclaimable_bytes)})"
    )
    warnings = list(getattr(image, "warnings", []) or [])
    if warnings:
        lines.append(bold("Warnings:"))
        lines.extend(f"  {escape_text(text)}" for text in warnings)
    lines.append(bold("Inefficient Files:"))
    inefficient = list(efficiency.inefficient)
    if not inefficient:
        lines.append("None")
    else:
        shown = inefficient if all_files else inefficient[:FILE_ROWS]
        lines.append("Count  Wasted Space  File Path")
        for item in shown:
            lines.append(
                f"{item.count:>5}  {format_bytes(item.wasted_bytes):>12}  {escape_text(item.path)}"
            )
        hidden = len(inefficient) - len(shown)
        if hidden:
            rest = sum(item.wasted_bytes for item in inefficient[len(shown) :])
            lines.append(
                f"{ellipsis} {hidden} more ({format_bytes(rest)}; --ci-all-files lists them all)"
            )
    lines.append(bold("Results:"))
    for result in results:
        label = result.status.value
        if colour:
            label = f"{_STATUS_COLOURS[result.status]}{label}{_RESET}"
        lines.append(f"  {label}: {result.name}: {escape_text(result.message)}")
    counts = summary_counts(results)
    verdict = "FAIL" if counts[Status.FAIL] else "PASS"
    summary = (
        f"Result:{verdict} [Total:{len(results)}] [Passed:{counts[Status.PASS]}] "
        f"[Failed:{counts[Status.FAIL]}] [Warn:0] [Skipped:{counts[Status.SKIP]}]"
    )
    if colour:
        summary = f"{_RED if counts[Status.FAIL] else _GREEN}{summary}{_RESET}"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def run_ci(
    analysis: object, rules: Rules, args: argparse.Namespace, env: Mapping[str, str], stdout: TextIO
) -> int:
    """Evaluate the rules, print the report, write ``--junit``; return the exit code.

    Returns:
        :attr:`ExitCode.OK` when no rule failed, else :attr:`ExitCode.RULE_FAILED`.

    Raises:
        OutputError: the JUnit file could not be written (after the report was printed).
    """
    results = evaluate(rules, analysis.efficiency)  # type: ignore[attr-defined]
    text = render_report(
        analysis,
        rules,
        results,
        all_files=bool(getattr(args, "ci_all_files", False)),
        colour=use_colour(stdout, env),
        ellipsis=_ellipsis(stdout),
    )
    stdout.write(text)
    stdout.flush()
    junit_path = getattr(args, "junit", None)
    if junit_path:
        from dive_py.atomic_file import write_atomically
        from dive_py.ci.junit import render_junit

        write_atomically(junit_path, render_junit(analysis, rules, results))
    failed = any(result.status is Status.FAIL for result in results)
    return ExitCode.RULE_FAILED if failed else ExitCode.OK
