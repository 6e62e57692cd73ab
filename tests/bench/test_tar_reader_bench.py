"""Smoke run of bench/tar_reader.py (tarfile vs TarReader header parsing). No timing asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tar_reader_bench_runs_and_prints_the_ratio() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "tar_reader.py"), "--entries", "300", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "300 members with PAX headers" in proc.stdout
    assert "ratio: " in proc.stdout
