"""Provides :func:`render_junit`: a :class:`~dive_py.ci.result.CiResult` as JUnit XML, one test case per rule.

The shape GitLab (``artifacts:reports:junit``), Jenkins (``junit``) and the GitHub test
reporters read: ``<testsuites>`` holding one ``<testsuite>`` whose ``<testcase>`` elements are
the rules; a failed rule has a ``<failure>``, a disabled one ``<skipped>``. The image figures
are ``<property>`` elements and the text report is the suite's ``<system-out>``.
All text is escaped (control characters as ``\\xNN``) so the file is always well-formed XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dive_py.ci.evaluate import Status
from dive_py.ci.report import render_report
from dive_py.ci.result import CiResult
from dive_py.display_text import escape_text


def _clean(text: str) -> str:
    text = escape_text(text)
    return text.replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")


def render_junit(result: CiResult) -> str:
    """Return the JUnit XML document (UTF-8 text with an XML declaration).

    The suite's ``<system-out>`` holds the text report listing every inefficient file.
    """
    image = result.analysis.image
    efficiency = result.analysis.efficiency
    rules = result.rules
    totals = {
        "tests": str(result.total),
        "failures": str(result.failed),
        "errors": "0",
        "skipped": str(result.skipped),
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
    for outcome in result.outcomes:
        case = ET.SubElement(
            suite, "testcase", {"classname": "divepy.ci", "name": outcome.name, "time": "0"}
        )
        message = _clean(outcome.message)
        if outcome.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", {"message": message, "type": "RuleFailed"})
            failure.text = f"{outcome.name}: {message}"
        elif outcome.status is Status.SKIP:
            ET.SubElement(case, "skipped", {"message": message})
        else:
            ET.SubElement(case, "system-out").text = message
    report = render_report(result, all_files=True)
    ET.SubElement(suite, "system-out").text = _clean_lines(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _clean_lines(text: str) -> str:
    return "\n".join(_clean(line) for line in text.splitlines()) + "\n"
