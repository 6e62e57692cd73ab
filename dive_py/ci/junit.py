"""Provides :func:`render_junit`: the CI verdict as JUnit XML, one test case per rule.

The shape GitLab (``artifacts:reports:junit``), Jenkins (``junit``) and the GitHub test
reporters read: ``<testsuites>`` holding one ``<testsuite>`` whose ``<testcase>`` elements are
the rules; a failed rule has a ``<failure>``, a disabled one ``<skipped>``. The image figures
are ``<property>`` elements and the text report is the suite's ``<system-out>``.
All text is escaped (control characters as ``\\xNN``) so the file is always well-formed XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dive_py.ci.evaluate import RuleResult, Status
from dive_py.ci.rules import Rules
from dive_py.domain.display_text import escape_text


def _clean(text: str) -> str:
    text = escape_text(text)
    return text.replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")


def render_junit(analysis: object, rules: Rules, results: Sequence[RuleResult]) -> str:
    """Return the JUnit XML document (UTF-8 text with an XML declaration)."""
    from dive_py.ci.report import render_report, summary_counts

    image = analysis.image  # type: ignore[attr-defined]
    efficiency = analysis.efficiency  # type: ignore[attr-defined]
    counts = summary_counts(results)
    totals = {
        "tests": str(len(results)),
        "failures": str(counts[Status.FAIL]),
        "errors": "0",
        "skipped": str(counts[Status.SKIP]),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "divepy CI", **totals})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _clean(f"divepy CI: {image.source}://{image.reference}"), **totals},
    )
    properties = ET.SubElement(suite, "properties")
    figures = {
        "image": f"{image.source}://{image.reference}",
        "efficiency": repr(efficiency.score),
        "wastedBytes": str(efficiency.wasted_bytes),
        "userWastedPercent": (
            "n/a"
            if efficiency.user_wasted_percent is None
            else repr(efficiency.user_wasted_percent)
        ),
        "reclaimableBytes": str(efficiency.reclaimable_bytes),
        "sizeBytes": str(efficiency.size_bytes),
        "userSizeBytes": str(efficiency.user_size_bytes),
        "ciConfig": rules.config_path or "default",
    }
    for threshold in rules.thresholds:
        figures[f"threshold.{threshold.spec.name}"] = f"{threshold.text} [{threshold.origin}]"
    for name, value in figures.items():
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for result in results:
        case = ET.SubElement(
            suite, "testcase", {"classname": "divepy.ci", "name": result.name, "time": "0"}
        )
        message = _clean(result.message)
        if result.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", {"message": message, "type": "RuleFailed"})
            failure.text = f"{result.name}: {message}"
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", {"message": message})
        else:
            ET.SubElement(case, "system-out").text = message
    report = render_report(analysis, rules, results, all_files=True)
    ET.SubElement(suite, "system-out").text = _clean_lines(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _clean_lines(text: str) -> str:
    return "\n".join(_clean(line) for line in text.splitlines()) + "\n"
