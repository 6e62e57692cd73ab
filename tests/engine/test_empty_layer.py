"""An image with an empty layer, loaded into every engine and read back from it (issue 12).

Docker records a layer that changed nothing with the empty tar's diff ID; some engines save
it as the 1,024-byte tar, others as a 0-byte blob. Either way it is an empty layer.
"""

from __future__ import annotations

import json
from pathlib import Path

from dive_py.domain.layer_tar import EMPTY_TAR_DIFF_ID
from tests.cli.test_cli import run_divepy
from tests.conftest import Engine
from tests.hostile.helpers import archive_with_raw_layers
from tests.image_builder import f, layer_tar


def test_image_with_an_empty_layer_opens_from_the_engine(engine: Engine, tmp_path: Path) -> None:
    tag = f"divepy-test/empty-layer:{engine.name}"
    archive = archive_with_raw_layers(
        [layer_tar([f("a", "1")]), b"\0" * 1024, layer_tar([f("b", "22")])]
    )
    client = engine.client(timeout=300)
    try:
        (loaded,) = client.images.load(archive)  # tagged test/image:latest
        loaded.tag(tag)
        client.images.remove("test/image:latest")
        image = client.images.get(tag)
        assert image.attrs["RootFS"]["Layers"][1] == EMPTY_TAR_DIFF_ID
        out = tmp_path / "out.json"
        result = run_divepy("--json", str(out), tag, env={"DOCKER_HOST": engine.host})
        assert result.returncode == 0, result.stderr
        document = json.loads(out.read_text())
        assert [layer["sizeBytes"] for layer in document["layer"]] == [1, 0, 2]
        assert [len(layer["fileList"]) for layer in document["layer"]] == [1, 0, 1]
        assert document["image"].get("warnings", []) == []
    finally:
        client.images.remove(tag, force=True)
        client.close()
