"""CI mode's one computed verdict (:mod:`dive_py.ci.result`) and its typed options."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from dive_py.ci.evaluate import Status
from dive_py.ci.junit import render_junit
from dive_py.ci.options import CiOptions
from dive_py.ci.report import render_report
from dive_py.ci.result import compute_result
from dive_py.ci.rules import load_rules
from dive_py.commands.explore import build_parser
from tests.ci.helpers import ci_args, fake_analysis, figures


def test_the_result_counts_the_outcomes_and_keeps_the_measured_values(tmp_path: Path) -> None:
    rules = load_rules(ci_args("--highestWastedBytes", "1kB"), cwd=tmp_path)
    eff = figures(score=0.5, wasted=2506, user_wasted=0.05)
    result = compute_result(fake_analysis(eff), rules)
    by_name = {outcome.name: outcome for outcome in result.outcomes}
    assert [outcome.name for outcome in result.outcomes] == sorted(by_name)
    assert (result.total, result.passed, result.failed, result.skipped) == (4, 1, 2, 1)
    assert result.verdict is Status.FAIL
    assert by_name["lowestEfficiency"].measured == 0.5
    assert by_name["highestWastedBytes"].measured == 2506
    assert by_name["highestUserWastedPercent"].measured == 0.05
    assert by_name["highestReclaimableBytes"].status is Status.SKIP
    assert by_name["highestReclaimableBytes"].measured is None
    assert by_name["highestWastedBytes"].threshold.origin == "flag --highestWastedBytes"


def test_a_single_layer_image_has_no_measured_user_wasted_percent(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    result = compute_result(fake_analysis(figures(user_wasted=None, user_size=0)), rules)
    outcome = next(o for o in result.outcomes if o.name == "highestUserWastedPercent")
    assert outcome.status is Status.PASS and outcome.measured is None
    assert result.verdict is Status.PASS


def test_report_and_junit_render_the_same_result(tmp_path: Path) -> None:
    rules = load_rules(ci_args("--lowestEfficiency", "0.99"), cwd=tmp_path)
    result = compute_result(fake_analysis(figures(score=0.95)), rules)
    report = render_report(result, all_files=True)
    root = ET.fromstring(render_junit(result).encode())
    [suite] = root.findall("testsuite")
    assert suite.find("system-out").text == report
    summary = report.splitlines()[-1]
    assert summary == (
        f"Result:FAIL [Total:{suite.get('tests')}] [Passed:{result.passed}] "
        f"[Failed:{suite.get('failures')}] [Warn:0] [Skipped:{suite.get('skipped')}]"
    )


def test_options_come_from_the_parsed_flags() -> None:
    args = build_parser().parse_args(
        [
            "--ci",
            "--ci-config",
            "rules.yaml",
            "--lowest-efficiency",
            "0.8",
            "--highestWastedBytes",
            "disabled",
            "--ci-all-files",
            "--junit",
            "out.xml",
            "img",
        ]
    )
    options = CiOptions.from_arguments(args)
    assert options == CiOptions(
        config_path="rules.yaml",
        rule_flags={"lowestEfficiency": "0.8", "highestWastedBytes": "disabled"},
        all_files=True,
        junit_path="out.xml",
    )
    bare = CiOptions.from_arguments(build_parser().parse_args(["img"]))
    assert bare == CiOptions()
    assert dict(bare.rule_flags) == {} and not bare.all_files and bare.junit_path is None
