"""The registry source against Debian's docker-registry (distribution 2.8) on 127.0.0.1.

The harness's plain registry (``DIVEPY_TEST_REGISTRY``) and one started here with htpasswd
basic auth. Images are pushed with the distribution API's monolithic upload (no engine).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dive_py.domain.sources import open_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ImageError
from tests.ci.helpers import run_cli
from tests.image_builder import ImageSpec, d, f, wh
from tests.registry_server import htpasswd_registry, push_image, push_index

SPEC = ImageSpec(
    layers=[
        [d("etc"), f("etc/hosts", "127.0.0.1 localhost\n"), f("bin/tool", b"t" * 4096, 0o755)],
        [wh("etc/hosts"), f("srv/data", b"d" * 1000)],
    ]
)


@pytest.fixture(scope="module")
def basic_auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A docker-registry on 127.0.0.1 that wants htpasswd (basic) auth; stopped at the end."""
    with htpasswd_registry(tmp_path_factory.mktemp("basic-registry")) as host:
        yield host


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "docker").mkdir(exist_ok=True)
    return {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "HOME": str(tmp_path),
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
        "DIVEPY_REGISTRY_TIMEOUT": "10",
    }


def _repo() -> str:
    return f"divepy-test/r{uuid.uuid4().hex[:10]}"


def test_plain_registry_image_and_multi_platform_index(registry: str, tmp_path: Path) -> None:
    repo = _repo()
    push_image(registry, repo, "one", SPEC)
    image = open_image(f"registry://{registry}/{repo}:one", env=_env(tmp_path))
    assert [len(layer.contents.entries) for layer in image.layers] == [3, 1]
    assert image.layers[1].contents.whiteouts[0].path == "etc/.wh.hosts"
    assert image.compressed_size_bytes is not None and image.compressed_size_bytes > 0
    amd = push_image(registry, repo, "amd", ImageSpec(layers=[[f("amd64", "a")]]))
    arm = push_image(
        registry, repo, "arm", ImageSpec(layers=[[f("arm64", "b")]], architecture="arm64")
    )
    push_index(registry, repo, "multi", [amd, arm])
    arm_image = open_image(
        f"registry://{registry}/{repo}:multi",
        platform=Platform.parse("linux/arm64"),
        env=_env(tmp_path),
    )
    assert list(arm_image.layers[0].contents.entries) == ["arm64"]
    code, out, err = run_cli(
        ["--ci", "--platform", "linux/amd64", f"registry://{registry}/{repo}:multi"],
        env=_env(tmp_path),
    )
    assert code == 0, err
    assert "efficiency" in out


def test_basic_auth_registry(basic_auth_registry: str, tmp_path: Path) -> None:
    repo = _repo()
    push_image(basic_auth_registry, repo, "1", SPEC, auth=("someone", "secret"))
    env = _env(tmp_path)
    with pytest.raises(ImageError, match="needs credentials"):
        open_image(f"registry://{basic_auth_registry}/{repo}:1", env=env)
    auth = base64.b64encode(b"someone:secret").decode()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {basic_auth_registry: {"auth": auth}}})
    )
    image = open_image(f"registry://{basic_auth_registry}/{repo}:1", env=env)
    assert len(image.layers) == 2
    wrong = base64.b64encode(b"someone:nope").decode()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {basic_auth_registry: {"auth": wrong}}})
    )
    code, _out, err = run_cli(["--ci", f"registry://{basic_auth_registry}/{repo}:1"], env=env)
    assert code == 3
    assert "401 after authenticating" in err.splitlines()[-1]
