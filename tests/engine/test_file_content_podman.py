"""File contents of the ``podman`` source against a real podman (scripts/test's private store).

For each fixture image, regular files of every layer are read through the ``podman`` source
(``podman image save`` streamed again up to the layer) and must equal what the same image saved
to an archive gives; final-image paths also equal what ``podman cp`` gives from a container
that is created, never started.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.file_content import ContentError, ContentReader, FileVersion, locate_version
from dive_py.domain.sources.docker_archive import DockerArchiveSource
from dive_py.domain.sources.podman import PodmanSource
from dive_py.domain.tar_stream import Readable
from tests.conftest import FIXTURE_REPO, fixture_image_names
from tests.engine.file_versions import sample_versions


def _podman_cp(podman: str, tag: str, path: str) -> bytes:
    cid = (
        subprocess.run([podman, "create", tag, "/never"], capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )
    try:
        data = subprocess.run(
            [podman, "cp", f"{cid}:/{path}", "-"], capture_output=True, check=True
        ).stdout
    finally:
        subprocess.run([podman, "rm", "-f", cid], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.next()
        assert member is not None
        handle = tar.extractfile(member)
        assert handle is not None
        return handle.read()


@pytest.mark.parametrize("name", fixture_image_names())
def test_podman_source_gives_podmans_bytes(podman_bin: str, name: str, tmp_path: Path) -> None:
    tag = f"{FIXTURE_REPO}/{name}:latest"
    from_podman = analyse(PodmanSource(podman_bin).fetch(tag))
    archive = tmp_path / "saved.tar"
    subprocess.run(
        [podman_bin, "image", "save", "--format", "docker-archive", "-o", str(archive), tag],
        capture_output=True,
        check=True,
    )
    from_archive = analyse(DockerArchiveSource().fetch(str(archive)))
    reader = ContentReader(from_podman, podman=podman_bin)
    archive_reader = ContentReader(from_archive)
    versions = sample_versions(from_podman)
    assert versions
    for version in versions:
        got = reader.read(version, limit=1 << 30).data
        assert len(got) == version.size, version.path
        same = locate_version(from_archive, version.index, version.path)
        assert archive_reader.read(same, limit=1 << 30).data == got, version.path
        if version.final:
            assert got == _podman_cp(podman_bin, tag, version.resolved), version.path
    # several versions in one pass: each layer's bytes come from one save stream
    got_all: dict[tuple[int, str], bytes] = {}

    def sink(version: FileVersion, stream: Readable) -> None:
        chunks = []
        while chunk := stream.read(1 << 16):
            chunks.append(chunk)
        got_all[version.index, version.path] = b"".join(chunks)

    reader.stream_versions(versions, sink)
    assert got_all
    for version in versions:
        if (version.index, version.path) in got_all:
            same = locate_version(from_archive, version.index, version.path)
            expected = archive_reader.read(same, limit=1 << 30).data
            assert got_all[version.index, version.path] == expected, version.path


def test_podman_source_reads_by_name_when_the_id_is_gone(podman_bin: str) -> None:
    tag = f"{FIXTURE_REPO}/testimg:latest"
    analysis = analyse(PodmanSource(podman_bin).fetch(tag))
    analysis.image.image_id = "sha256:" + "0" * 64  # an ID podman does not know
    version = next(v for v in reversed(sample_versions(analysis)) if v.final)
    data = ContentReader(analysis, podman=podman_bin).read(version).data
    assert data == _podman_cp(podman_bin, tag, version.resolved)


def test_podman_source_names_podmans_reason_when_the_image_is_gone(podman_bin: str) -> None:
    tag = f"{FIXTURE_REPO}/testimg:latest"
    analysis = analyse(PodmanSource(podman_bin).fetch(tag))
    analysis.image.image_id = "sha256:" + "0" * 64
    analysis.image.reference = "localhost/divepy-no-such/image:gone"
    version = sample_versions(analysis)[0]
    with pytest.raises(ContentError) as raised:
        ContentReader(analysis, podman=podman_bin).read(version)
    assert "podman image save" in str(raised.value) or "not found" in str(raised.value)
