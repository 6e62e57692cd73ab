"""Smoke run of the benchmark (bench/run.py --smoke): it runs and writes its table. No timing asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_smoke_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    table = (out / "results.md").read_text()
    assert "| entries |" in table and "divepy s" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "MB |" in line]
    assert len(rows) >= 2  # two sizes, at least one mode each
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[3]) > 0  # divepy produced a time
    assert (out / "results.json").exists()
    assert "Machine:" in proc.stdout


def test_synthetic_archive_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import run as bench  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    shape = bench.Shape(entries=400, layers=4, seed=7)
    a = bench.write_archive(shape, tmp_path / "a.tar", "t/a:latest")
    b = bench.write_archive(shape, tmp_path / "b.tar", "t/a:latest")
    assert a == b
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert 400 <= a["members"] < 440  # the budget, plus at most a few parent dirs


def test_merge_adds_earlier_measurements_not_run_again(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import run as bench  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    earlier = tmp_path / "earlier"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            "--tools",
            "divepy",
            "--modes",
            "ci",
            "--out",
            str(earlier),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = bench.load_results(earlier / "results.json", set())
    assert {(r.tool, r.mode) for r in loaded} == {("divepy", "ci")} and all(
        r.samples for r in loaded
    )
    kept = bench.load_results(earlier / "results.json", {(loaded[0].size, "divepy", "ci")})
    assert len(kept) == len(loaded) - 1
    later = tmp_path / "later"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            "--tools",
            "divepy",
            "--modes",
            "json",
            "--merge",
            str(earlier / "results.json"),
            "--out",
            str(later),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in (later / "results.md").read_text().splitlines() if "MB |" in line]
    assert {row.split("|")[3].strip() for row in rows} == {"ci", "json"}  # both modes in one table
