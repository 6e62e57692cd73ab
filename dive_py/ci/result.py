"""Provides :class:`CiResult` and :func:`compute_result`: CI mode's verdict on one image.

The verdict is computed once, here; the text report (:mod:`dive_py.ci.report`) and the JUnit
XML file (:mod:`dive_py.ci.junit`) only render it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dive_py.ci.evaluate import RuleResult, Status, evaluate
from dive_py.ci.rules import Rules

if TYPE_CHECKING:
    from dive_py.domain.analysis import Analysis
    from dive_py.domain.waste import WasteExplanation


@dataclass(frozen=True, slots=True)
class CiResult:
    """Every rule checked against one image.

    Attributes:
        analysis: the image and its figures (:attr:`Analysis.efficiency`).
        rules: the rules in use: each threshold with its origin, and the rules file read.
        outcomes: one :class:`RuleResult` per rule (status, measured value, message), in
            rule-name order (as dive lists them).
        passed: how many rules passed.
        failed: how many rules failed.
        skipped: how many rules were disabled.
        savings: the waste explanations, largest saving first (:mod:`dive_py.domain.waste`).
    """

    analysis: Analysis
    rules: Rules
    outcomes: tuple[RuleResult, ...]
    passed: int
    failed: int
    skipped: int
    savings: tuple[WasteExplanation, ...] = ()

    @property
    def total(self) -> int:
        """How many rules were checked (disabled ones included)."""
        return len(self.outcomes)

    @property
    def verdict(self) -> Status:
        """:attr:`Status.FAIL` when any rule failed, else :attr:`Status.PASS` (as dive)."""
        return Status.FAIL if self.failed else Status.PASS


def compute_result(
    analysis: Analysis, rules: Rules, savings: tuple[WasteExplanation, ...] = ()
) -> CiResult:
    """Check every rule of ``rules`` against ``analysis``'s figures and count the outcomes;
    ``savings`` (the waste explanations) are carried for the report."""
    outcomes = tuple(evaluate(rules, analysis.efficiency))
    counts = dict.fromkeys(Status, 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
    return CiResult(
        analysis=analysis,
        rules=rules,
        outcomes=outcomes,
        passed=counts[Status.PASS],
        failed=counts[Status.FAIL],
        skipped=counts[Status.SKIP],
        savings=savings,
    )
