"""``divepy build`` analyses the built image through the one dispatch (commands/explore.py):
escaped messages, the analysis cache, the collector pause, the injected environment."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path
from typing import Any

import pytest

import dive_py.commands.build as build_command
import dive_py.domain.analysis as analysis_module
from dive_py.cli import run
from dive_py.domain.sources.docker_archive import DockerArchiveSource
from dive_py.domain.sources.docker_engine import DockerEngineSource
from tests.domain.dive_examples import SPEC_A, spec_a
from tests.image_builder import ImageSpec, docker_archive


def test_build_then_json_uses_escaping_cache_and_collector_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "built.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=spec_a())))
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    engines: list[DockerEngineSource] = []

    def fake_build(request: Any, source: DockerEngineSource, stderr: Any, cache_log: Any) -> str:
        engines.append(source)
        return request.tags[0]

    reads: list[str] = []

    def fake_fetch(self: DockerEngineSource, reference: str, **kwargs: Any) -> Any:
        reads.append(reference)
        image = DockerArchiveSource().fetch(str(archive), **kwargs)
        image.reference, image.source = reference, "docker"
        return image

    collector: list[bool] = []
    real_analyse = analysis_module.analyse

    def spying_analyse(image: Any, **options: bool) -> Any:
        collector.append(gc.isenabled())
        return real_analyse(image, **options)

    monkeypatch.setattr(build_command, "build_image", fake_build)
    monkeypatch.setattr(DockerEngineSource, "fetch", fake_fetch)
    monkeypatch.setattr(
        DockerEngineSource, "cache_key", lambda self, ref: ("unix:///fake", "sha256:" + "5" * 64)
    )
    monkeypatch.setattr(analysis_module, "analyse", spying_analyse)
    env = {"DIVEPY_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_HOST": "tcp://injected:2375"}
    out = tmp_path / "o\x1b[2J.json"
    try:
        for _ in range(2):
            err = io.StringIO()
            code = run(
                ["build", "-t", "built:1", "--json", str(out), "ctx"], env, io.StringIO(), err
            )
            assert code == 0, err.getvalue()
            assert json.loads(out.read_text())["image"]["sizeBytes"] == SPEC_A["sizeBytes"]
            assert "\x1b" not in err.getvalue()  # the path is escaped
            assert "Exported analysis to " in err.getvalue()
    finally:
        gc.unfreeze()
    assert reads == ["built:1"]  # the second run came from the cache
    assert "Using the cached analysis of built:1" in err.getvalue()
    assert collector == [False]
    assert [engine.endpoint.host for engine in engines] == ["tcp://injected:2375"] * 2
