"""The engine's export of an image whose layers are known is hashed, not parsed (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.export_json import render_json
from dive_py.domain.layer_cache import LayerCache
from dive_py.domain.layer_tar import LayerContents, read_layer
from dive_py.domain.sources import archive_stream
from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_endpoint import Endpoint
from tests.conftest import FIXTURE_REPO, Engine


def test_a_known_image_streams_by_without_a_parse(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = [0]

    def counting(raw: Any, head: bytes = b"") -> LayerContents:
        parses[0] += 1
        return read_layer(raw, head)

    monkeypatch.setattr(archive_stream, "read_layer", counting)
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    tag = f"{FIXTURE_REPO}/testimg:latest"

    def fetch() -> str:
        source = DockerEngineSource(Endpoint(engine.host, "test"), layers=cache)
        return render_json(analyse(source.fetch(tag)))

    cold = fetch()
    assert parses[0] > 0
    parses[0] = 0
    assert fetch() == cold
    assert parses[0] == 0
