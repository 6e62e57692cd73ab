"""File contents per source against the engine: every version equals the bytes the engine gives.

For each fixture image, regular files of every layer are read through the ``docker`` source
(a final-image path from a container that is never started, other versions by streaming the
image again) and through its ``docker save`` file; final-image paths also equal what
``docker container cp`` gives.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.file_content import ContentReader, FileVersion, locate_version
from dive_py.domain.sources.docker_archive import DockerArchiveSource
from dive_py.domain.sources.docker_engine import DockerEngineSource
from dive_py.domain.sources.engine_endpoint import Endpoint
from tests.conftest import FIXTURE_REPO, Engine, fixture_image_names
from tests.engine.file_versions import sample_versions


def _container_cp(engine: Engine, image_id: str, path: str) -> bytes:
    env = {"DOCKER_HOST": engine.host, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    cid = (
        subprocess.run(
            ["docker", "create", image_id, "/never"], env=env, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    try:
        data = subprocess.run(
            ["docker", "container", "cp", f"{cid}:/{path}", "-"],
            env=env,
            capture_output=True,
            check=True,
        ).stdout
    finally:
        subprocess.run(["docker", "rm", "-f", cid], env=env, capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.next()
        assert member is not None
        handle = tar.extractfile(member)
        assert handle is not None
        return handle.read()


@pytest.mark.parametrize("name", fixture_image_names())
def test_every_source_gives_the_engines_bytes(engine: Engine, name: str, tmp_path: Path) -> None:
    tag = f"{FIXTURE_REPO}/{name}:latest"
    from_engine = analyse(DockerEngineSource(Endpoint(engine.host, "test")).fetch(tag))
    archive = tmp_path / "saved.tar"
    client = engine.client(timeout=120)
    try:
        with open(archive, "wb") as out:
            for chunk in client.api.get_image(tag):
                out.write(chunk)
        before = {c.id for c in client.containers.list(all=True)}
        engine_reader = ContentReader(from_engine, engine=lambda: engine.client(timeout=120).api)
        from_archive = analyse(DockerArchiveSource().fetch(str(archive)))
        archive_reader = ContentReader(from_archive)
        for version in sample_versions(from_engine):
            got = engine_reader.read(version, limit=1 << 30).data
            same = locate_version(from_archive, version.index, version.path)
            assert archive_reader.read(same, limit=1 << 30).data == got, version.path
            if version.final:
                # by tag: with the containerd store the export's image ID (the config digest) is
                # not the engine's (the manifest or index digest)
                assert got == _container_cp(engine, tag, version.resolved)
                streamed = FileVersion(
                    version.path,
                    version.index,
                    version.resolved,
                    version.entry,
                    version.data,
                    version.layer,
                    version.symlinks,
                    False,
                )
                assert engine_reader.read(streamed, limit=1 << 30).data == got
        assert {c.id for c in client.containers.list(all=True)} == before, "a container was left"
    finally:
        client.close()
