"""``divepy --ci`` end to end on archives built in the test (no engine needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.ci.helpers import run_cli, write_archive
from tests.image_builder import ImageSpec, d, f, wh

ROOT = Path(__file__).resolve().parents[2]
MB = 10**6

WASTEFUL = ImageSpec(
    layers=[
        [f("bin/sh", b"x" * 1000)],
        [f("app/a.txt", "hello\n"), f("app/big", b"\0" * 50_000)],
        [wh("app/big")],
        [f("app/a.txt", "changed\n")],
    ]
)
LEAN = ImageSpec(layers=[[f("bin/sh", b"x" * 100_000)], [f("hello.txt", "hi\n")]])


@pytest.fixture
def wasteful(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_archive(tmp_path, WASTEFUL)


@pytest.fixture
def lean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_archive(tmp_path, LEAN)


def ci(path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return run_cli(["--ci", *argv, "--source", "docker-archive", str(path)], env)


def test_lean_image_passes_defaults(lean: Path) -> None:
    code, out, _ = ci(lean)
    assert code == 0
    assert "Result:PASS [Total:4] [Passed:2] [Failed:0] [Warn:0] [Skipped:2]" in out
    assert f"Image Source: docker-archive://{lean}" in out


def test_wasteful_image_fails_with_fail_lines(wasteful: Path) -> None:
    code, out, _ = ci(wasteful)
    assert code == 1
    lines = out.splitlines()
    assert "  wastedBytes: 50014 bytes (50 kB)" in lines
    assert "    2         50 kB  /app/big" in lines
    assert "    2          14 B  /app/a.txt" in lines
    assert [line.split(":")[0:2] for line in lines if line.startswith("  FAIL")] == [
        ["  FAIL", " highestUserWastedPercent"],
        ["  FAIL", " lowestEfficiency"],
    ]
    assert lines[-1] == "Result:FAIL [Total:4] [Passed:0] [Failed:2] [Warn:0] [Skipped:2]"


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "t"])
def test_ci_env_turns_ci_mode_on(wasteful: Path, value: str) -> None:
    code, out, _ = run_cli(["--source", "docker-archive", str(wasteful)], {"CI": value})
    assert code == 1 and "Result:FAIL" in out


def test_dive_ci_file_is_read_from_the_working_directory(wasteful: Path) -> None:
    Path(".dive-ci").write_text(
        "rules:\n  lowestEfficiency: disabled\n  highest-user-wasted-percent: 1\n"
    )
    code, out, _ = ci(wasteful)
    assert code == 0
    assert "  Using CI config .dive-ci" in out
    assert "SKIP: lowestEfficiency: rule disabled [file .dive-ci]" in out
    assert "threshold=1 [file .dive-ci]" in out


def test_flag_overrides_file(wasteful: Path) -> None:
    Path(".dive-ci").write_text(
        "rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: disabled\n"
    )
    code, out, _ = ci(wasteful, "--highestWastedBytes", "50kB")
    assert code == 1
    assert (
        "FAIL: highestWastedBytes: too many bytes wasted: wastedBytes=50014 (50 kB) > "
        "threshold=50000 (50kB) [flag --highestWastedBytes]" in out
    )


def test_misconfigured_rules_exit_2_before_reading_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".dive-ci").write_text("rules:\n  lowestEficiency: 0.9\n  highestWastedBytes: ''\n")
    code, out, err = ci(tmp_path / "does-not-exist.tar")  # exit 3 if it were read
    assert code == 2 and out == ""
    assert "unknown rule 'lowestEficiency' in .dive-ci (did you mean 'lowestEfficiency'?)" in err
    assert "highestWastedBytes (file .dive-ci): empty value" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_ci_config_exit_2(lean: Path) -> None:
    code, _, err = ci(lean, "--ci-config", "missing.yaml")
    assert code == 2 and "missing.yaml (--ci-config) does not exist" in err


def test_unreadable_image_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = ci(tmp_path / "missing.tar")
    assert code == 3 and out == ""
    (tmp_path / "corrupt.tar").write_bytes(b"not a tar at all" * 100)
    code, out, _ = ci(tmp_path / "corrupt.tar")
    assert code == 3 and out == ""


def test_json_with_ci_writes_json_and_evaluates(wasteful: Path) -> None:
    code, out, _ = ci(wasteful, "--json", "out.json")
    assert code == 1 and "Result:FAIL" in out
    data = json.loads(Path("out.json").read_text())
    assert data["image"]["inefficientBytes"] == 50014


def test_junit_written_and_unwritable_junit_exit_4(wasteful: Path) -> None:
    code, _, _ = ci(wasteful, "--junit", "report.xml")
    assert code == 1
    suite = ET.parse("report.xml").getroot().find("testsuite")
    assert len(suite.findall("testcase")) == 4
    code, out, err = ci(wasteful, "--junit", "no/such/dir/report.xml")
    assert code == 4 and "does not exist" in err
    assert out == ""  # refused before the image was read: no report


def test_single_layer_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_archive(tmp_path, ImageSpec(layers=[[f("a", "x"), f("b", "y")]]))
    code, out, _ = ci(path, "--highestUserWastedPercent", "0")
    assert code == 0
    assert "nan" not in out.lower()
    assert "userWastedPercent: n/a (a single-layer image" in out


def test_worked_example_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example: a rewritten file vs a deleted directory."""
    monkeypatch.chdir(tmp_path)
    base = [f("bin/sh", b"x" * 1000)]
    rewritten = write_archive(
        tmp_path,
        ImageSpec(
            layers=[base, [f("app/data.bin", b"a" * 10 * MB)], [f("app/data.bin", b"b" * 10 * MB)]]
        ),
        "r.tar",
    )
    deleted = write_archive(
        tmp_path,
        ImageSpec(
            layers=[
                base,
                [d("cache"), f("cache/a.whl", b"a" * 6 * MB), f("cache/b.whl", b"b" * 4 * MB)],
                [wh("cache")],
            ]
        ),
        "d.tar",
    )
    _, out, _ = ci(rewritten)
    assert "  wastedBytes: 20000000 bytes (20 MB)" in out
    assert "  reclaimableBytes: 10000000 bytes (10 MB)" in out
    _, out, _ = ci(deleted)
    assert "  wastedBytes: 0 bytes (0 B)" in out
    assert "  reclaimableBytes: 10000000 bytes (10 MB)" in out
    code, out, _ = ci(deleted, "--highestReclaimableBytes", "5MB")
    assert code == 1 and "FAIL: highestReclaimableBytes" in out


CHECK_NO_TEXTUAL = """
import sys
from dive_py.cli import main
code = main(sys.argv[1:])
print("TEXTUAL-IMPORTED" if any(m == "textual" or m.startswith("textual.") for m in sys.modules)
      else "NO-TEXTUAL")
sys.exit(code)
"""


def test_ci_mode_never_imports_textual(wasteful: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_NO_TEXTUAL, "--source", "docker-archive", str(wasteful)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Result:FAIL" in done.stdout
    assert done.stdout.rstrip().endswith("NO-TEXTUAL")


def test_module_entry_point_exit_codes(wasteful: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "dive_py.cli", *a],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    assert run("--ci", "--source", "docker-archive", str(wasteful)).returncode == 1
    assert (
        run(
            "--ci",
            "--lowestEfficiency",
            "0.01",
            "--highestUserWastedPercent",
            "1",
            "--source",
            "docker-archive",
            str(wasteful),
        ).returncode
        == 0
    )
    bad = run("--ci", "--lowestEfficiency", "high", "--source", "docker-archive", str(wasteful))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
