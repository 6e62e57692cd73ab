"""Waste hints against real builds: each pattern's Dockerfile is built as written and with the
hint applied; the saving the hint claims equals the difference of the two images' sizes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.dockerfile_steps import read_dockerfile
from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_endpoint import Endpoint
from dive_py.domain.waste import explain_waste
from tests.conftest import BASE_IMAGE, Engine

BIG = "head -c 100000 /dev/zero"
# pattern -> (Dockerfile as written, Dockerfile with the hint applied, files in the context:
# name -> (bytes, mode))
CASES: dict[str, tuple[str, str, dict[str, tuple[bytes, int]]]] = {
    "deleted-later": (
        f"RUN {BIG} > /big.bin\nRUN rm /big.bin\n",
        f"RUN {BIG} > /big.bin && rm /big.bin\nRUN true\n",
        {},
    ),
    "pip-cache": (
        f"RUN mkdir -p /root/.cache/pip/http && {BIG} > /root/.cache/pip/http/w.whl\n",
        "RUN mkdir -p /root\n",
        {},
    ),
    "metadata-copy-up": (
        "COPY run.sh /app/run.sh\nRUN chmod 755 /app/run.sh\n",
        "COPY run.sh.x /app/run.sh\nRUN true\n",
        {
            "run.sh": (b"#!/bin/sh\n" + b"#" * 5000 + b"\n", 0o644),
            "run.sh.x": (b"#!/bin/sh\n" + b"#" * 5000 + b"\n", 0o755),
        },
    ),
    "copied-twice": (
        "COPY lib.so /app/lib.so\nRUN true\nCOPY lib.so /app/lib.so\n",
        "COPY lib.so /app/lib.so\nRUN true\n",
        {"lib.so": (bytes(range(256)) * 40, 0o644)},
    ),
    "overwritten": (
        f"RUN {BIG} > /model.bin\nRUN head -c 120000 /dev/zero > /model.bin\n",
        "RUN true\nRUN head -c 120000 /dev/zero > /model.bin\n",
        {},
    ),
}


def _build(engine: Engine, directory: Path, steps: str, files: dict[str, tuple[bytes, int]]) -> str:
    directory.mkdir()
    (directory / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n{steps}")
    for name, (data, mode) in files.items():
        (directory / name).write_bytes(data)
        os.chmod(directory / name, mode)
    tag = f"divepy-test/waste-{uuid.uuid4().hex[:12]}:latest"
    client = engine.client(timeout=300)
    try:
        client.images.build(
            path=str(directory), tag=tag, rm=True, forcerm=True, network_mode="host"
        )
    finally:
        client.close()
    return tag


def _analyse(engine: Engine, tag: str) -> Analysis:
    return analyse(DockerEngineSource(Endpoint(engine.host, "test")).fetch(tag))


@pytest.mark.parametrize("pattern", sorted(CASES))
def test_the_claimed_saving_is_what_the_rebuild_saves(
    engine: Engine, pattern: str, tmp_path: Path
) -> None:
    written, fixed, files = CASES[pattern]
    tags = []
    try:
        tags.append(_build(engine, tmp_path / "as-written", written, files))
        tags.append(_build(engine, tmp_path / "fixed", fixed, files))
        before, after = (_analyse(engine, tag) for tag in tags)
        before.dockerfile = tuple(read_dockerfile(str(tmp_path / "as-written" / "Dockerfile")))
        explanations = [e for e in explain_waste(before, before.dockerfile) if e.pattern == pattern]
        saved = before.efficiency.size_bytes - after.efficiency.size_bytes
        # An engine may store no waste at all: the containerd image store's differ finds no
        # change in a COPY of identical bytes, so the second copy makes an empty layer. Then
        # nothing is claimed and nothing is saved.
        assert explanations or saved == 0, explain_waste(before, before.dockerfile)
        claimed = sum(e.reclaimable_bytes for e in explanations)
        assert claimed == before.efficiency.size_bytes - after.efficiency.size_bytes
        assert all("Dockerfile:" in e.hint for e in explanations)
    finally:
        client = engine.client(timeout=120)
        try:
            for tag in tags:
                client.images.remove(tag, force=True)
        finally:
            client.close()
