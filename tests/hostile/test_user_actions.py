"""What users do (issue 6, "User"): Ctrl+C during analysis, outputs that cannot be written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import REPO, start_paused
from tests.hostile.helpers import archive_file, assert_clean_failure, snapshot
from tests.image_builder import ImageSpec, f


def _big_archive(tmp_path: Path) -> Path:
    layers = [[f(f"d{i // 500}/f{i}", b"x" * 64) for i in range(2_000)] for _ in range(3)]
    return archive_file(tmp_path, ImageSpec(layers=layers), name="big.tar")


def _ctrl_c_at(tmp_path: Path, phase: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``--ci --json --junit`` on a 3-layer archive, SIGINT at ``phase``; return the result."""
    archive = _big_archive(tmp_path)
    out_dir = tmp_path / "out"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DOCKER_HOST")}
    env.update(PYTHONPATH=str(REPO), TMPDIR=str(tmp), DIVEPY_CACHE_DIR=str(tmp_path / "cache"))
    args = [
        "--ci",
        "--json",
        str(out_dir / "o.json"),
        "--junit",
        str(out_dir / "junit.xml"),
        f"docker-archive://{archive}",
    ]
    child, before = start_paused(args, phase, env)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, before + err), out_dir


@pytest.mark.parametrize("phase", ["reading", "analysed"])
def test_ctrl_c_during_analysis_exits_130_and_leaves_everything_as_it_was(
    tmp_path: Path, phase: str
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "o.json").write_text("old analysis")
    (out_dir / "junit.xml").write_text("old junit")
    before = snapshot(out_dir)
    result, _ = _ctrl_c_at(tmp_path, phase)
    out, err = result.stdout, result.stderr
    assert err.startswith("Reading ")  # the analysis had started
    assert result.returncode == 130, err
    assert err.strip().splitlines()[-1] == "divepy: interrupted" and "Traceback" not in err
    assert out == ""
    assert snapshot(out_dir) == before
    assert list((tmp_path / "tmp").iterdir()) == []
    cache = tmp_path / "cache"
    assert not cache.exists() or [p for p in cache.rglob("*") if p.is_file()] == []


def test_ctrl_c_after_the_outputs_leaves_no_cache_entry(tmp_path: Path) -> None:
    """The outputs were written whole; the run did not complete, so nothing is cached."""
    (tmp_path / "out").mkdir()
    result, out_dir = _ctrl_c_at(tmp_path, "outputs-written")
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "divepy: interrupted"
    assert "Traceback" not in result.stderr
    assert json.loads((out_dir / "o.json").read_text())["layer"]  # replaced whole
    assert (out_dir / "junit.xml").read_text().startswith("<?xml")
    assert list((tmp_path / "tmp").iterdir()) == []
    cache = tmp_path / "cache"
    assert not cache.exists() or [p for p in cache.rglob("*") if p.is_file()] == []


def _without_dac_override() -> list[str]:
    """A command prefix that runs without the power to ignore file permissions (tests run as root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a directory non-writable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def _run_unprivileged(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DOCKER_HOST")}
    env.update(PYTHONPATH=str(REPO), TMPDIR=str(tmp))
    return subprocess.run(
        [*_without_dac_override(), sys.executable, "-m", "dive_py.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


@pytest.mark.parametrize("flag, name", [("--json", "o.json"), ("--junit", "junit.xml")])
@pytest.mark.parametrize("existing", [False, True])
def test_output_in_a_non_writable_directory_exits_4(
    tmp_path: Path, flag: str, name: str, existing: bool
) -> None:
    archive = archive_file(tmp_path, ImageSpec(layers=[[f("a", "1")]]))
    locked = tmp_path / "locked"
    locked.mkdir()
    if existing:
        (locked / name).write_text("old")
        os.chmod(locked / name, 0o444)
    before = snapshot(locked)
    os.chmod(locked, 0o555)
    try:
        probe = _run_unprivileged(tmp_path, "--version")
        assert probe.returncode == 0, probe.stderr
        args = [flag, str(locked / name), f"docker-archive://{archive}"]
        if flag == "--junit":
            args.insert(0, "--ci")
        result = _run_unprivileged(tmp_path, *args)
    finally:
        os.chmod(locked, 0o755)
    if flag == "--junit":
        # the report went to stdout before the JUnit file failed; the failure is still exit 4
        assert result.returncode == 4, result.stderr
        assert "Traceback" not in result.stderr
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith("divepy: cannot write") and str(locked) in error, error
        assert snapshot(locked) == before and list((tmp_path / "tmp").iterdir()) == []
    else:
        assert_clean_failure(
            result, tmp_path, 4, "cannot write", str(locked), out_dir=locked, out_before=before
        )
