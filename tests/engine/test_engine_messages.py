"""The engine source's messages never mislead (issue 12), on every engine.

A ``--platform`` the image lacks is told as the engine's ("the engine has no linux/s390x
variant of IMAGE"), not the archive's; a container's name or ID is said to be a container
(with how to open it) instead of being pulled from a registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import run_divepy
from tests.conftest import Engine
from tests.hostile.helpers import archive_with_raw_layers
from tests.image_builder import f, layer_tar


@pytest.fixture
def tiny_image(engine: Engine) -> Iterator[str]:
    """A one-layer linux/amd64 image loaded into the engine under a unique tag."""
    tag = f"divepy-test/messages-{uuid.uuid4().hex[:10]}:1"
    client = engine.client(timeout=300)
    try:
        (loaded,) = client.images.load(archive_with_raw_layers([layer_tar([f("a", "1")])]))
        loaded.tag(tag)
        client.images.remove("test/image:latest")
        yield tag
    finally:
        client.images.remove(tag, force=True)
        client.close()


def test_a_platform_the_image_lacks_is_the_engines(
    engine: Engine, tiny_image: str, tmp_path: Path
) -> None:
    result = run_divepy(
        "--ci",
        "--no-cache",
        "--platform",
        "linux/s390x",
        tiny_image,
        env={"DOCKER_HOST": engine.host},
    )
    assert result.returncode == 3, result.stderr
    assert f"has no linux/s390x variant of {tiny_image}" in result.stderr
    assert "(it has: linux/amd64)" in result.stderr
    assert "in the archive" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_container_name_or_id_is_said_to_be_a_container(engine: Engine, tiny_image: str) -> None:
    name = f"divepy-test-container-{uuid.uuid4().hex[:10]}"
    client = engine.client(timeout=120)
    container = client.containers.create(tiny_image, name=name)
    try:
        for given in (name, container.id[:12]):
            result = run_divepy("--ci", "--no-cache", given, env={"DOCKER_HOST": engine.host})
            assert result.returncode == 3, result.stderr
            assert f"{given} names a container on the engine" in result.stderr
            assert f"container://{name}" in result.stderr
            assert tiny_image in result.stderr  # the image it was made from
            assert "pull" not in result.stderr.replace("docker pull", "")
    finally:
        container.remove(force=True)
        client.close()
