"""Smoke run of bench/kept_states.py (the efficiency pass in place and keeping every state).
No timing asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_kept_states_bench_runs_and_prints_both_passes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "kept_states.py"),
            "--sizes",
            "2000",
            "--rounds",
            "1",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| 2,000 | in place |" in proc.stdout
    assert "| 2,000 | kept |" in proc.stdout
