"""The podman source against a real podman (scripts/test installs it), in a private vfs store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import run_divepy
from tests.conftest import missing_resource
from tests.domain.dive_examples import SPEC_A, spec_a
from tests.image_builder import ImageSpec, docker_archive


@pytest.fixture
def podman_env(tmp_path: Path) -> dict[str, str]:
    if shutil.which("podman") is None:
        missing_resource("podman is not installed")
    conf = tmp_path / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/run"\ngraphroot = "{tmp_path}/graph"\n'
    )
    return {
        "CONTAINERS_STORAGE_CONF": str(conf),
        "HOME": str(tmp_path),
        # podman 5 warns about cgroups v1 on every call (scripts/test's wrapper sets it too)
        "PODMAN_IGNORE_CGROUPSV1_WARNING": "1",
    }


def test_podman_source_reads_a_loaded_image(podman_env: dict[str, str], tmp_path: Path) -> None:
    archive = tmp_path / "spec-a.tar"
    archive.write_bytes(
        docker_archive(ImageSpec(layers=spec_a(), tags=["localhost/spec-a:latest"]))
    )
    import os

    loaded = subprocess.run(
        ["podman", "load", "-i", str(archive)],
        capture_output=True,
        text=True,
        env={**os.environ, **podman_env},
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr
    out = tmp_path / "out.json"
    result = run_divepy("--json", str(out), "podman://localhost/spec-a:latest", env=podman_env)
    assert result.returncode == 0, result.stderr
    image = json.loads(out.read_text())["image"]
    assert image["efficiencyScore"] == SPEC_A["efficiency"]
    assert image["inefficientBytes"] == SPEC_A["wastedBytes"]


def test_podman_missing_image_is_a_clean_error(podman_env: dict[str, str], tmp_path: Path) -> None:
    result = run_divepy(
        "--json",
        str(tmp_path / "o.json"),
        "--source",
        "podman",
        "127.0.0.1:9/nothing/here:tag",
        env=podman_env,
    )
    assert result.returncode == 3
    assert "is not in podman's store, and pulling it failed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the progress line and the error
    assert "Traceback" not in result.stderr
