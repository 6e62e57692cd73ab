"""Provides :func:`render_report`: CI mode's text report of a :class:`~dive_py.ci.result.CiResult`.

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
    Top savings:
          1.5 kB  /data/f1 [overwritten]: /data/f1 written by layer 1 (…) is overwritten by
                  layer 2 (…): …
    Results:
      SKIP: highestReclaimableBytes: rule disabled [default]
      FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes added: ...
      SKIP: highestWastedBytes: rule disabled [default]
      PASS: lowestEfficiency: efficiency=0.99874... (99.8741 %) >= threshold=0.9 [default]
    Result:FAIL [Total:4] [Passed:1] [Failed:1] [Warn:0] [Skipped:2]

With a container (``container://NAME``) the rules stay about the image; a ``Container:`` block
after the image's figures gives the read/write layer's ``addedBytes``, ``copiedUpBytes`` and
``hiddenBytes``. With an engine source, ``sharedBytes`` / ``uniqueBytes`` follow the image's
figures; after ``divepy build``, a ``Build cache:`` block lists the steps taken from the cache
and the first step that ran.

A saving's explanation is wrapped to ``width`` columns (the terminal's when stdout is one, else
:data:`REPORT_WIDTH`; see :func:`~dive_py.ci.run.report_width`), its continuation lines
indented under the path.

Every threshold names its origin (``[default]``, ``[file .dive-ci]``, ``[flag --x]``). File
paths are escaped (a name holding a newline or ESC cannot break the report or drive the
terminal). Colours are ANSI codes, asked for by :func:`~dive_py.ci.run.run_ci`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from dive_py.ci.evaluate import Status
from dive_py.ci.result import CiResult
from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes

FILE_ROWS = 10
"""Inefficient files listed by default; ``--ci-all-files`` lists all."""
SAVINGS_ROWS = 5
"""Waste explanations listed under "Top savings" (the largest savings)."""
REPORT_WIDTH = 100
"""Columns the savings are wrapped to when stdout is not a terminal."""
MIN_WIDTH = 40
"""Narrowest wrapping width (a tiny terminal still gets a few words per line)."""
_SAVING_INDENT = 14
"""Columns before a saving's path: the 12-column size and two spaces."""

_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"
_STATUS_COLOURS = {Status.FAIL: "\x1b[1;7;31m", Status.SKIP: "\x1b[34m", Status.PASS: "\x1b[32m"}
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"


def render_report(
    result: CiResult,
    *,
    all_files: bool = False,
    colour: bool = False,
    ellipsis: str = "\u2026",
    width: int = REPORT_WIDTH,
) -> str:
    """Return the CI report text (ending with a newline).

    Args:
        result: the verdict: the image's figures, the rules in use (for the configuration
            note), the rule outcomes in the order to print, and the counts.
        all_files: list every inefficient file instead of the first :data:`FILE_ROWS`.
        colour: use ANSI colours.
        ellipsis: the character that starts the "N more" line.
        width: the columns a saving's explanation is wrapped to (at least :data:`MIN_WIDTH`);
            continuation lines are indented under the path. Words are never split.
    """
    image = result.analysis.image
    efficiency = result.analysis.efficiency
    container = result.analysis.container
    source_text = f"{image.source}://{image.reference}"
    if container is not None:
        source_text = f"container://{container.info.name} (image {image.reference})"

    def bold(text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if colour else text

    lines = [
        f"  {result.rules.note}",
        f"{bold('Image Source:')} {escape_text(source_text)}",
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
    lines.extend(_engine_lines(result, bold))
    if image.warnings:
        lines.append(bold("Warnings:"))
        lines.extend(f"  {escape_text(text)}" for text in image.warnings)
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
    if result.savings:
        lines.append(bold("Top savings:"))
        for saving in result.savings[:SAVINGS_ROWS]:
            lines.extend(
                textwrap.wrap(
                    f"{escape_text(saving.path)} [{saving.pattern}]: {escape_text(saving.hint)}",
                    max(width, MIN_WIDTH),
                    initial_indent=f"{format_bytes(saving.reclaimable_bytes):>12}  ",
                    subsequent_indent=" " * _SAVING_INDENT,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    lines.append(bold("Results:"))
    for outcome in result.outcomes:
        label = outcome.status.value
        if colour:
            label = f"{_STATUS_COLOURS[outcome.status]}{label}{_RESET}"
        lines.append(f"  {label}: {outcome.name}: {escape_text(outcome.message)}")
    summary = (
        f"Result:{result.verdict.value} [Total:{result.total}] [Passed:{result.passed}] "
        f"[Failed:{result.failed}] [Warn:0] [Skipped:{result.skipped}]"
    )
    if colour:
        summary = f"{_RED if result.failed else _GREEN}{summary}{_RESET}"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _bytes(value: int) -> str:
    return f"{value} bytes ({format_bytes(value)})"


def _engine_lines(result: CiResult, bold: Callable[[str], str]) -> list[str]:
    """The lines about what the engine knows: shared bytes, the container, the build cache."""
    analysis = result.analysis
    lines: list[str] = []
    sharing = analysis.sharing
    if sharing is not None:
        lines.append(f"  sharedBytes: {_bytes(sharing.shared_bytes)}")
        lines.append(f"  uniqueBytes: {_bytes(sharing.unique_bytes)}")
    container = analysis.container
    if container is not None:
        layer = container.layer
        lines.append(
            bold("Container:")
            + f" {escape_text(container.info.name)} ({escape_text(container.info.state)}; "
            f"{len(layer.changes)} changes in its read/write layer)"
        )
        lines.append(f"  addedBytes: {_bytes(layer.added_bytes)}")
        lines.append(f"  copiedUpBytes: {_bytes(layer.copied_up_bytes)}")
        lines.append(f"  hiddenBytes: {_bytes(layer.hidden_bytes)}")
    steps = [step for step in analysis.image.history if step.cached is not None]
    if steps:
        cached = [step for step in steps if step.cached]
        ran = next((step for step in steps if not step.cached), None)
        lines.append(bold("Build cache:") + f" {len(cached)} of {len(steps)} steps from the cache")
        for step in steps:
            mark = "cached" if step.cached else "ran   "
            lines.append(f"  {mark}  {escape_text(step.command)}")
        if ran is not None and cached:
            lines.append(f"  the cache broke at: {escape_text(ran.command)}")
    return lines
