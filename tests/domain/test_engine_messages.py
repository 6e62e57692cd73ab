"""The engine source's messages, with a stand-in for the Engine API (issue 12).

The same behaviours run against real engines in tests/engine/test_engine_messages.py.
"""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_endpoint import Endpoint
from dive_py.errors import ImageNotFoundError


class _ContainerOnly:
    """An engine that knows ``web`` as a container and no image at all; pulls are recorded."""

    def ping(self) -> bool:
        return True

    def inspect_image(self, reference: str) -> dict[str, Any]:
        raise docker.errors.NotFound(f"No such image: {reference}")

    def inspect_container(self, reference: str) -> dict[str, Any]:
        if reference in ("web", "0123456789ab"):
            return {"Id": "0123456789ab" + "c" * 52, "Name": "/web", "Config": {"Image": "nginx:1"}}
        raise docker.errors.NotFound(f"No such container: {reference}")

    pulled: list[str] = []

    def pull(self, repository: str, **kwargs: object) -> object:
        self.pulled.append(repository)
        raise docker.errors.APIError("manifest unknown")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("given", ["web", "0123456789ab"])
def test_a_container_is_named_and_not_pulled(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = DockerEngineSource(Endpoint("unix:///nowhere.sock", "test"))
    monkeypatch.setattr(source, "client", _ContainerOnly)
    _ContainerOnly.pulled = []
    with pytest.raises(ImageNotFoundError) as caught:
        source.fetch(given)
    assert _ContainerOnly.pulled == []
    assert caught.value.exit_code == 3
    assert caught.value.message.startswith(f"{given} names a container on the engine at")
    assert "made from image nginx:1" in caught.value.message
    assert "container://web" in caught.value.hint


def test_an_unknown_name_is_still_pulled(monkeypatch: pytest.MonkeyPatch) -> None:
    source = DockerEngineSource(Endpoint("unix:///nowhere.sock", "test"))
    monkeypatch.setattr(source, "client", _ContainerOnly)
    _ContainerOnly.pulled = []
    with pytest.raises(ImageNotFoundError, match="pulling it failed"):
        source.fetch("nginx:1")
    assert _ContainerOnly.pulled == ["nginx"]
