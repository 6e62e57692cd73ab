"""The CI report text and the JUnit XML file."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dive_py.ci.junit import render_junit
from dive_py.ci.report import FILE_ROWS, REPORT_WIDTH, render_report
from dive_py.ci.result import compute_result
from dive_py.ci.rules import load_rules
from dive_py.ci.run import report_width, run_ci, use_colour
from dive_py.domain.efficiency import InefficientPath
from dive_py.domain.waste import WasteExplanation
from dive_py.exit_codes import ExitCode
from tests.ci.helpers import ci_args, fake_analysis, figures


def report(
    tmp_path: Path, eff, *argv: str, all_files: bool = False, colour: bool = False, **kw
) -> str:
    rules = load_rules(ci_args(*argv), cwd=tmp_path)
    analysis = fake_analysis(eff, **kw)
    return render_report(compute_result(analysis, rules), all_files=all_files, colour=colour)


def test_report_lines(tmp_path: Path) -> None:
    eff = figures(
        score=0.998741,
        wasted=2506,
        user_wasted=0.5551617190961453,
        reclaimable=1500,
        inefficient=[InefficientPath("/data/f1", 3, 2500), InefficientPath("/data/keep.txt", 2, 6)],
    )
    text = report(tmp_path, eff, reference="spec-a")
    assert text.splitlines() == [
        "  Using default CI config (no .dive-ci in the working directory)",
        "Image Source: docker://spec-a",
        "  efficiency: 99.8741 %",
        "  wastedBytes: 2506 bytes (2.5 kB)",
        "  userWastedPercent: 55.5162 %",
        "  reclaimableBytes: 1500 bytes (1.5 kB)",
        "Inefficient Files:",
        "Count  Wasted Space  File Path",
        "    3        2.5 kB  /data/f1",
        "    2           6 B  /data/keep.txt",
        "Results:",
        "  SKIP: highestReclaimableBytes: rule disabled [default]",
        "  FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes "
        "added: userWastedPercent=0.5551617190961453 (55.5162 %) > threshold=0.1 [default]",
        "  SKIP: highestWastedBytes: rule disabled [default]",
        "  PASS: lowestEfficiency: efficiency=0.998741 (99.8741 %) >= threshold=0.9 [default]",
        "Result:FAIL [Total:4] [Passed:1] [Failed:1] [Warn:0] [Skipped:2]",
    ]
    assert "\x1b" not in text


def test_no_inefficient_files_says_none(tmp_path: Path) -> None:
    text = report(tmp_path, figures(inefficient=[]))
    assert "Inefficient Files:\nNone\n" in text
    assert "Result:PASS" in text


def test_single_layer_image_has_no_nan(tmp_path: Path) -> None:
    text = report(
        tmp_path,
        figures(score=1.0, wasted=0, user_wasted=None, user_size=0),
        "--highestUserWastedPercent",
        "0",
    )
    assert "nan" not in text.lower()
    assert "userWastedPercent: n/a (a single-layer image: no user bytes" in text
    assert (
        "  PASS: highestUserWastedPercent: userWastedPercent=n/a: the image has a single "
        "layer" in text
    )


def many(n: int) -> list[InefficientPath]:
    return [InefficientPath(f"/f{i:02d}", 2, 1000 * (n - i)) for i in range(n)]


def test_file_rows_are_capped_with_a_more_line(tmp_path: Path) -> None:
    text = report(tmp_path, figures(inefficient=many(FILE_ROWS + 3)))
    rows = [
        line for line in text.splitlines() if line.endswith(tuple(f"/f{i:02d}" for i in range(99)))
    ]
    assert len(rows) == FILE_ROWS
    assert rows[0].endswith("/f00") and rows[-1].endswith(f"/f{FILE_ROWS - 1:02d}")
    assert "\u2026 3 more (6.0 kB; --ci-all-files lists them all)" in text


def test_ci_all_files_lists_every_row(tmp_path: Path) -> None:
    text = report(tmp_path, figures(inefficient=many(FILE_ROWS + 3)), all_files=True)
    assert f"/f{FILE_ROWS + 2:02d}" in text
    assert "more (" not in text


def test_exactly_the_cap_has_no_more_line(tmp_path: Path) -> None:
    assert "more (" not in report(tmp_path, figures(inefficient=many(FILE_ROWS)))


def test_hostile_paths_are_escaped(tmp_path: Path) -> None:
    eff = figures(
        inefficient=[
            InefficientPath("/a\nFAIL: fake", 2, 10),
            InefficientPath("/b\x1b[2Jclear", 2, 9),
            InefficientPath("/c\udcff", 2, 8),
        ]
    )
    text = report(tmp_path, eff, reference="img\x1b]0;title\x07")
    assert "\x1b" not in text and "\x07" not in text
    assert "/a\\nFAIL: fake" in text
    assert "/b\\x1b[2Jclear" in text
    assert "/c\\xff" in text
    assert "Image Source: docker://img\\x1b]0;title\\x07" in text
    assert (
        sum(line.startswith("  FAIL") or line.startswith("FAIL") for line in text.splitlines()) == 0
    )


def test_warnings_are_shown_escaped(tmp_path: Path) -> None:
    text = report(
        tmp_path, figures(), warnings=["layer 2: whiteout of /x\ny, which no lower layer has"]
    )
    assert "Warnings:\n  layer 2: whiteout of /x\\ny, which no lower layer has\n" in text


def test_colour_only_when_asked(tmp_path: Path) -> None:
    eff = figures(score=0.5)
    plain = report(tmp_path, eff)
    coloured = report(tmp_path, eff, colour=True)
    assert "\x1b" not in plain
    assert "\x1b[1;7;31mFAIL\x1b[0m: lowestEfficiency" in coloured
    assert "\x1b[34mSKIP\x1b[0m" in coloured
    assert "\x1b[31mResult:FAIL" in coloured


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "stream, env, expected",
    [
        (Tty(), {}, True),
        (Tty(), {"NO_COLOR": "1"}, False),
        (Tty(), {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value disables
        (io.StringIO(), {}, False),
    ],
)
def test_use_colour(stream, env, expected) -> None:
    assert use_colour(stream, env) is expected


def test_run_ci_colours_on_a_tty_unless_no_color(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    analysis = fake_analysis(figures(score=0.5))
    out = Tty()
    assert run_ci(analysis, rules, ci_args(), {}, out) == ExitCode.RULE_FAILED
    assert "\x1b[" in out.getvalue()
    out = Tty()
    run_ci(analysis, rules, ci_args(), {"NO_COLOR": "1"}, out)
    assert "\x1b" not in out.getvalue()


def test_run_ci_exit_codes(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert run_ci(fake_analysis(figures(score=0.95)), rules, ci_args(), {}, io.StringIO()) == 0
    assert run_ci(fake_analysis(figures(score=0.85)), rules, ci_args(), {}, io.StringIO()) == 1


def test_ascii_stdout_gets_three_dots(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    run_ci(fake_analysis(figures(inefficient=many(FILE_ROWS + 1))), rules, ci_args(), {}, out)
    assert b"... 1 more" in raw.getvalue()


HINT = (
    "/var/cache/apt/archives/big.deb is written by layer 1 (RUN apt-get install -y big) and "
    "deleted by layer 2 (RUN rm -rf /var/cache/apt): delete it in the step that wrote it "
    "(the same RUN), which saves 12345678 bytes; see Dockerfile:7 (RUN) and Dockerfile:9 (RUN)"
)


def savings_lines(tmp_path: Path, width: int) -> list[str]:
    rules = load_rules(ci_args(), cwd=tmp_path)
    saving = WasteExplanation(
        "/var/cache/apt/archives/big.deb", [], "deleted-later", HINT, 12345678
    )
    text = render_report(
        compute_result(fake_analysis(figures()), rules, (saving,)), width=width
    ).splitlines()
    start = text.index("Top savings:") + 1
    return text[start : text.index("Results:")]


@pytest.mark.parametrize("width", [60, 80, REPORT_WIDTH, 132])
def test_savings_wrap_to_the_width_under_the_path(tmp_path: Path, width: int) -> None:
    lines = savings_lines(tmp_path, width)
    assert len(lines) > 1
    assert all(len(line) <= width for line in lines)
    assert lines[0].startswith("       12 MB  /var/cache/apt/archives/big.deb")
    assert all(line.startswith(" " * 14) and line[14] != " " for line in lines[1:])
    unwrapped = " ".join(line.strip() for line in lines)
    assert unwrapped == f"12 MB  /var/cache/apt/archives/big.deb [deleted-later]: {HINT}"


def test_a_tiny_width_still_wraps_whole_words(tmp_path: Path) -> None:
    lines = savings_lines(tmp_path, 10)  # wrapped to 40 columns; a longer word stands alone
    assert len(lines) > 8
    assert all(len(line) <= 40 or " " not in line[14:] for line in lines)
    assert " ".join(line.strip() for line in lines).endswith(HINT)


def test_report_width_is_the_terminals_else_100() -> None:
    assert report_width(io.StringIO()) == REPORT_WIDTH
    assert report_width(Tty()) == REPORT_WIDTH  # a terminal whose size cannot be read
    primary, secondary = os.openpty()
    try:
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 72, 0, 0))
        with open(secondary, "w", closefd=False) as terminal:
            assert report_width(terminal) == 72
    finally:
        os.close(primary)
        os.close(secondary)


# --- JUnit ------------------------------------------------------------------------------------


def test_junit_one_case_per_rule(tmp_path: Path) -> None:
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    args = ci_args("--junit", str(junit), "--highestWastedBytes", "1kB")
    rules = load_rules(args, cwd=tmp_path)
    eff = figures(score=0.5, wasted=2506, inefficient=[InefficientPath("/x\x1b\n<&>", 2, 2506)])
    code = run_ci(fake_analysis(eff, reference='a<b>&"c\x01'), rules, args, {}, io.StringIO())
    assert code == ExitCode.RULE_FAILED
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert sorted(cases) == [
        "highestReclaimableBytes",
        "highestUserWastedPercent",
        "highestWastedBytes",
        "lowestEfficiency",
    ]
    assert (
        suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("skipped") == "1"
    )
    assert cases["highestReclaimableBytes"].find("skipped") is not None
    assert cases["highestUserWastedPercent"].find("failure") is None
    assert cases["highestUserWastedPercent"].find("skipped") is None
    failure = cases["highestWastedBytes"].find("failure")
    assert (
        failure is not None
        and "threshold=1000 (1kB) [flag --highestWastedBytes]" in failure.get("message")
    )
    assert "image efficiency is too low" in cases["lowestEfficiency"].find("failure").get("message")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["wastedBytes"] == "2506" and props["image"] == 'docker://a<b>&"c\\x01'
    assert "/x\\x1b\\n<&>" in suite.find("system-out").text
    assert not list(tmp_path.joinpath("out").glob(".*.tmp"))  # atomic: no temp file left


def test_junit_pass_has_no_failures(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    text = render_junit(compute_result(fake_analysis(figures()), rules))
    root = ET.fromstring(text.encode())
    assert root.get("failures") == "0"
    assert not root.findall(".//failure")


def test_junit_single_layer_has_no_nan(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    eff = figures(user_wasted=None, user_size=0)
    text = render_junit(compute_result(fake_analysis(eff), rules))
    ET.fromstring(text.encode())
    assert "nan" not in text.lower()


def test_junit_replaces_an_older_longer_file_whole(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text("x" * 100_000)
    args = ci_args("--junit", str(junit))
    rules = load_rules(args, cwd=tmp_path)
    run_ci(fake_analysis(figures()), rules, args, {}, io.StringIO())
    ET.parse(junit)
