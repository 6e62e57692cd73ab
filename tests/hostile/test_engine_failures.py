"""Engine-side failures (issue 6, "Engine" and "User"), against the real engines of scripts/test.

An image that disappears between inspect and save, an API version the engine (or the SDK)
refuses, pulls that fail (manifest unknown, auth required), Ctrl+C while the save stream is
being read. Each: the documented exit code, one ``divepy:`` line, no traceback, no output file,
no temp file left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_endpoint import Endpoint
from dive_py.errors import ImageNotFoundError
from tests.cli.test_cli import REPO, run_divepy, start_paused
from tests.conftest import BASE_IMAGE
from tests.hostile.helpers import assert_clean_failure
from tests.registry_server import htpasswd_registry


def _private_env(engine, tmp_path: Path, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """DOCKER_HOST of ``engine``, a private (empty) TMPDIR and cache dir."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "DOCKER_HOST": engine.host,
        "TMPDIR": str(tmp),
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }


def _unique(prefix: str) -> str:
    return f"divepy-test/{prefix}-{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------ 1. disappearing image ----


def test_image_removed_between_inspect_and_save(engine, engine_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = _unique("vanishing") + ":latest"
    engine_client.images.get(BASE_IMAGE).tag(name)
    real_inspect = DockerEngineSource._inspect

    def inspect_then_remove(self, api, reference):  # type: ignore[no-untyped-def]
        found = real_inspect(self, api, reference)
        engine_client.images.remove(name)  # only the tag: the base image stays
        return found

    monkeypatch.setattr(DockerEngineSource, "_inspect", inspect_then_remove)
    try:
        with pytest.raises(ImageNotFoundError) as info:
            DockerEngineSource(Endpoint(engine.host, "test")).fetch(name)
        assert "disappeared" in str(info.value) and name in str(info.value)
    finally:
        with contextlib.suppress(Exception):
            engine_client.images.remove(name)
    assert engine_client.images.get(BASE_IMAGE)  # nothing else was touched


_CLI_WITH_VANISHING_IMAGE = """
import sys, docker
from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.cli import main
name, host = sys.argv[1], sys.argv[2]
real = DockerEngineSource._inspect
def inspect_then_remove(self, api, reference):
    found = real(self, api, reference)
    docker.DockerClient(base_url=host).images.remove(name)
    return found
DockerEngineSource._inspect = inspect_then_remove
sys.exit(main(sys.argv[3:]))
"""


def test_image_removed_between_inspect_and_save_cli(engine, engine_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same through the CLI's main(): exit 3, one line, no traceback, no output file."""
    name = _unique("vanishing-cli") + ":latest"
    engine_client.images.get(BASE_IMAGE).tag(name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(_private_env(engine, tmp_path), PYTHONPATH=str(REPO))
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                _CLI_WITH_VANISHING_IMAGE,
                name,
                engine.host,
                "--json",
                str(out_dir / "o.json"),
                name,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        with contextlib.suppress(Exception):
            engine_client.images.remove(name)
    assert_clean_failure(result, tmp_path, 3, "disappeared", name, out_dir=out_dir)


# ---------------------------------------------------------------- 2. API version ----


def test_api_version_too_old(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_divepy(
        "--json",
        str(out_dir / "o.json"),
        BASE_IMAGE,
        env=_private_env(engine, tmp_path, DOCKER_API_VERSION="1.10"),
    )
    assert_clean_failure(
        result, tmp_path, 3, "API version", "1.10", "DOCKER_API_VERSION", out_dir=out_dir
    )


def test_api_version_too_new(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The engine itself refuses: "client version 1.99 is too new. Maximum supported API version is ..."."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_divepy(
        "--json",
        str(out_dir / "o.json"),
        BASE_IMAGE,
        env=_private_env(engine, tmp_path, DOCKER_API_VERSION="1.99"),
    )
    assert_clean_failure(
        result, tmp_path, 3, "API version", "1.99", "DOCKER_API_VERSION", out_dir=out_dir
    )


# ------------------------------------------------------------- 3. pull failures ----


def test_pull_manifest_unknown(engine, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ref = f"{registry}/nothing/here:tag"
    result = run_divepy("--json", str(out_dir / "o.json"), ref, env=_private_env(engine, tmp_path))
    assert_clean_failure(
        result, tmp_path, 3, "is not in the local store", "pulling it failed", ref, out_dir=out_dir
    )
    line = result.stderr.strip().splitlines()[-1].lower()
    assert "manifest unknown" in line or "not found" in line, line


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A second docker-registry on 127.0.0.1 that wants htpasswd (basic) auth; stopped at the end."""
    with htpasswd_registry(tmp_path_factory.mktemp("auth-registry")) as host:
        yield host


def test_pull_auth_required(engine, auth_registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ref = f"{auth_registry}/private/image:tag"
    # an empty docker config: no stored credentials for this registry
    (tmp_path / "dockercfg").mkdir()
    result = run_divepy(
        "--json",
        str(out_dir / "o.json"),
        ref,
        env=_private_env(engine, tmp_path, DOCKER_CONFIG=str(tmp_path / "dockercfg")),
    )
    assert_clean_failure(
        result, tmp_path, 3, "is not in the local store", "pulling it failed", ref, out_dir=out_dir
    )
    line = result.stderr.strip().splitlines()[-1].lower()
    assert any(
        word in line for word in ("unauthorized", "authentication required", "no basic auth")
    ), line


# ------------------------------------------------------- 4. Ctrl+C during save ----

BIG_LAYER = 150 << 20


@pytest.fixture
def big_image(engine, engine_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An image with one ~150 MB layer of random bytes (imported: no network, no build)."""
    rootfs = tmp_path / "big-rootfs.tar"
    with open(tmp_path / "blob", "wb") as blob:
        for _ in range(BIG_LAYER >> 20):
            blob.write(os.urandom(1 << 20))
    with tarfile.open(rootfs, "w") as tf:
        tf.add(tmp_path / "blob", arcname="blob")
    (tmp_path / "blob").unlink()
    name = _unique("big")
    engine_client.api.import_image_from_file(str(rootfs), repository=name, tag="latest")
    rootfs.unlink()
    try:
        yield f"{name}:latest"
    finally:
        with contextlib.suppress(Exception):
            engine_client.images.remove(f"{name}:latest", force=True)


def test_ctrl_c_while_reading_the_save_stream(engine, big_image: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(_private_env(engine, tmp_path), PYTHONPATH=str(REPO))
    child, first = start_paused(["--json", str(out_dir / "out.json"), big_image], "reading", env)
    assert first.startswith("Reading "), first  # the save stream is open
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    err = first + err
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == "divepy: interrupted" and "Traceback" not in err
    assert out == ""
    assert list(out_dir.iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    cache = tmp_path / "cache"
    assert not cache.exists() or [p for p in cache.rglob("*") if p.is_file()] == []


def test_ctrl_c_during_a_pull(
    engine,
    engine_client,
    registry: str,
    big_image: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    remote = f"{registry}/divepy-pull-interrupt/{_unique('p')}:latest"
    engine_client.images.get(big_image).tag(remote)
    try:
        for line in engine_client.api.push(remote, stream=True, decode=True):
            assert "error" not in line, line
        engine_client.images.remove(remote, force=True)
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        env.update(_private_env(engine, tmp_path), PYTHONPATH=str(REPO))
        child, first = start_paused(["--json", str(out_dir / "out.json"), remote], "pull", env)
        assert "pulling it" in first, first  # the pull has started
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
        err = first + err
        assert child.returncode == 130, err
        assert err.strip().splitlines()[-1] == "divepy: interrupted" and "Traceback" not in err
        assert out == "" and list(out_dir.iterdir()) == []
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        with contextlib.suppress(Exception):
            engine_client.images.remove(remote, force=True)
