"""Provides :func:`evaluate`: check every CI rule against an image's figures.

A rule is broken when (dive's comparisons, plus divepy's reclaimable-bytes rule):

* ``lowestEfficiency``:          efficiency < threshold
* ``highestWastedBytes``:        wastedBytes > threshold
* ``highestUserWastedPercent``:  userWastedPercent > threshold
* ``highestReclaimableBytes``:   reclaimableBytes > threshold

A single-layer image has no user bytes, so userWastedPercent is undefined: that rule passes
and says so (dive computes NaN, whose comparison is false, so it passes too, printing NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dive_py.ci.rules import Rules, Threshold
from dive_py.ci.sizes import format_ratio
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.efficiency import Efficiency


class Status(str, Enum):
    """The verdict of one rule."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The outcome of one rule.

    Attributes:
        threshold: the rule and its threshold (with origin).
        status: PASS, FAIL or SKIP.
        message: one line: why it failed, or the measured value against the threshold.
        measured: the figure compared with the threshold (a ratio for ``lowestEfficiency`` and
            ``highestUserWastedPercent``, bytes for the others); None when the rule was
            skipped or the figure is undefined (a single-layer image's userWastedPercent).
    """

    threshold: Threshold
    status: Status
    message: str
    measured: float | int | None = None

    @property
    def name(self) -> str:
        """The rule's name (``lowestEfficiency``)."""
        return self.threshold.spec.name


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.4f} %"


def _bytes(count: int) -> str:
    return f"{count} ({format_bytes(count)})"


def _threshold_text(threshold: Threshold, limit: float | int) -> str:
    if threshold.spec.kind == "bytes":
        shown = str(limit)
        if threshold.text != shown:
            shown += f" ({threshold.text})"
    else:
        shown = format_ratio(float(limit))
    return f"threshold={shown} [{threshold.origin}]"


def evaluate_one(threshold: Threshold, efficiency: Efficiency) -> RuleResult:
    """Check one rule against the figures (comparisons as listed in this module's docstring)."""
    name = threshold.spec.name
    limit = threshold.value
    if limit is None:
        return RuleResult(threshold, Status.SKIP, f"rule disabled [{threshold.origin}]")
    against = _threshold_text(threshold, limit)
    if name == "lowestEfficiency":
        score = efficiency.score
        measured = f"efficiency={format_ratio(score)} ({_percent(score)})"
        if score < limit:
            return RuleResult(
                threshold,
                Status.FAIL,
                f"image efficiency is too low: {measured} < {against}",
                score,
            )
        return RuleResult(threshold, Status.PASS, f"{measured} >= {against}", score)
    if name == "highestUserWastedPercent":
        percent = efficiency.user_wasted_percent
        if percent is None:
            return RuleResult(
                threshold,
                Status.PASS,
                "userWastedPercent=n/a: the image has a single layer, so no user "
                f"bytes were added ({against})",
            )
        measured = f"userWastedPercent={format_ratio(percent)} ({_percent(percent)})"
        if percent > limit:
            return RuleResult(
                threshold,
                Status.FAIL,
                f"too many bytes wasted, relative to the user bytes added: {measured} > {against}",
                percent,
            )
        return RuleResult(threshold, Status.PASS, f"{measured} <= {against}", percent)
    if name == "highestWastedBytes":
        label, measured_bytes, reason = (
            "wastedBytes",
            efficiency.wasted_bytes,
            "too many bytes wasted",
        )
    elif name == "highestReclaimableBytes":
        label, measured_bytes, reason = (
            "reclaimableBytes",
            efficiency.reclaimable_bytes,
            "too many bytes stored but not visible in the final file system",
        )
    else:  # pragma: no cover - RULE_SPECS and this function change together
        raise ValueError(f"unknown rule {name}")
    measured = f"{label}={_bytes(measured_bytes)}"
    if measured_bytes > limit:
        return RuleResult(
            threshold, Status.FAIL, f"{reason}: {measured} > {against}", measured_bytes
        )
    return RuleResult(threshold, Status.PASS, f"{measured} <= {against}", measured_bytes)


def evaluate(rules: Rules, efficiency: Efficiency) -> list[RuleResult]:
    """Check every rule; results in rule-name order (as dive lists them)."""
    return [evaluate_one(threshold, efficiency) for threshold in rules.thresholds]
