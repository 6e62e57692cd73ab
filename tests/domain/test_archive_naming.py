"""Naming one image in an archive or layout that holds several (issue 12).

skopeo's syntax (containers-transports(5)): ``docker-archive:PATH[:REF]``, ``oci:PATH[:REF]``,
``REF`` a tag/name or ``@N`` (zero-based); the same after ``docker-archive://``, ``oci://`` and
``--source``. A path that exists as written is a path. The ambiguity error's hint lists the
exact argument that names each image, and each of those arguments opens that image.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from dive_py.domain.image import Image
from dive_py.domain.sources import open_image, split_scheme
from dive_py.domain.sources.archive_reference import ArchiveReference, parse_archive_reference
from dive_py.errors import ImageNotFoundError, PlatformError
from tests.cli.test_cli import run_divepy
from tests.image_builder import ImageSpec, docker_archive_of, f, image_manifest, oci_layout_of

A = ImageSpec(layers=[[f("a", "1")]], tags=["a:1"])
B = ImageSpec(layers=[[f("b", "22")], [f("b2", "333")]], tags=["b:latest", "bee:2"])
UNTAGGED = ImageSpec(layers=[[f("u", "4444")]], tags=[])


def files(image: Image) -> list[str]:
    return sorted(path for layer in image.layers for path in layer.contents.entries)


@pytest.fixture
def two(tmp_path: Path) -> Path:
    """``docker save a:1 b:latest`` plus an image saved by ID (no tags)."""
    path = tmp_path / "two.tar"
    path.write_bytes(docker_archive_of([A, B, UNTAGGED]))
    return path


def _tagged_layout(root: Path) -> Path:
    """An OCI layout directory with two images tagged ``1.0`` and ``2.0`` (ref.name)."""
    entries = []
    for spec, tag in ((A, "1.0"), (B, "2.0")):
        manifest, config, stored = image_manifest(spec)
        fields = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
        entries.append((fields, manifest, [config, *stored]))
    tar = root / "layout.tar"
    tar.write_bytes(oci_layout_of(entries))
    directory = root / "layout"
    directory.mkdir()
    import tarfile

    with tarfile.open(tar) as archive:
        archive.extractall(directory, filter="data")
    return directory


def test_the_ambiguity_error_shows_the_argument_that_names_each_image(two: Path) -> None:
    with pytest.raises(PlatformError) as caught:
        open_image(str(two), source="docker-archive")
    error = caught.value
    assert "holds 3 images" in error.message
    assert error.hint == (
        f"name one: docker-archive:{two}:a:1, docker-archive:{two}:b:latest, "
        f"docker-archive:{two}:@2"
    )
    # each argument the hint shows opens its own image
    opened = [
        files(open_image(shlex.split(argument)[0]))
        for argument in error.hint.removeprefix("name one: ").split(", ")
    ]
    assert opened == [["a"], ["b", "b2"], ["u"]]


@pytest.mark.parametrize(
    ("template", "source", "expected"),
    [
        ("docker-archive:{p}:a:1", "docker", ["a"]),
        ("docker-archive://{p}:b:latest", "docker", ["b", "b2"]),
        ("docker-tar:{p}:bee:2", "docker", ["b", "b2"]),
        ("{p}:b", "docker-archive", ["b", "b2"]),  # a name without a tag means :latest
        ("{p}:docker.io/library/a:1", "docker-archive", ["a"]),
        ("{p}:@0", "docker-archive", ["a"]),
        ("docker-archive:{p}:@2", "docker", ["u"]),
    ],
)
def test_each_syntax_names_one_image(
    two: Path, template: str, source: str, expected: list[str]
) -> None:
    assert files(open_image(template.format(p=two), source=source)) == expected


def test_a_name_or_position_the_archive_lacks_is_refused_with_what_it_holds(two: Path) -> None:
    with pytest.raises(ImageNotFoundError) as caught:
        open_image(f"docker-archive:{two}:c:1")
    assert caught.value.exit_code == 3
    assert f"{two} holds no image named c:1" in caught.value.message
    assert "a:1" in caught.value.message and "untagged" in caught.value.message
    assert f"docker-archive:{two}:a:1" in caught.value.hint
    with pytest.raises(ImageNotFoundError, match="has no image @3: it holds 3 images"):
        open_image(f"docker-archive:{two}:@3")


def test_a_colon_in_a_file_name_still_works(tmp_path: Path) -> None:
    odd = tmp_path / "my:two.tar"
    odd.write_bytes(docker_archive_of([A, B]))
    assert files(open_image(str(odd) + ":a:1", source="docker-archive")) == ["a"]
    assert files(open_image(f"docker-archive:{odd}:b:latest")) == ["b", "b2"]
    single = tmp_path / "one:image.tar"
    single.write_bytes(docker_archive_of([A]))
    assert files(open_image(str(single), source="docker-archive")) == ["a"]  # exists as written


def test_arguments_with_spaces_are_shown_quoted(tmp_path: Path) -> None:
    path = tmp_path / "my images.tar"
    path.write_bytes(docker_archive_of([A, B]))
    with pytest.raises(PlatformError) as caught:
        open_image(str(path), source="docker-archive")
    assert f"'docker-archive:{path}:a:1'" in caught.value.hint


def test_oci_layouts_name_images_by_ref_name(tmp_path: Path) -> None:
    layout = _tagged_layout(tmp_path)
    with pytest.raises(PlatformError) as caught:
        open_image(str(layout), source="oci")
    assert caught.value.hint == f"name one: oci:{layout}:1.0, oci:{layout}:2.0"
    assert files(open_image(f"oci:{layout}:1.0")) == ["a"]
    assert files(open_image(f"oci://{layout}:2.0")) == ["b", "b2"]
    assert files(open_image(f"oci:{layout}:@1")) == ["b", "b2"]
    assert files(open_image(f"oci-archive:{tmp_path / 'layout.tar'}:2.0")) == ["b", "b2"]
    # a directory given to docker-archive is read as a layout, and named as one
    with pytest.raises(PlatformError) as caught:
        open_image(str(layout), source="docker-archive")
    assert f"oci:{layout}:1.0" in caught.value.hint
    assert files(open_image(f"{layout}:2.0", source="docker-archive")) == ["b", "b2"]


def test_split_scheme_knows_skopeos_one_colon_transports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert split_scheme("docker-archive:x.tar:a:1", "docker") == ("docker-archive", "x.tar:a:1")
    assert split_scheme("docker-tar:x.tar", "docker") == ("docker-archive", "x.tar")
    assert split_scheme("oci:dir:1.0", "docker") == ("oci", "dir:1.0")
    assert split_scheme("oci-archive:x.tar", "docker") == ("oci", "x.tar")
    # image names that merely look like a transport stay image names
    assert split_scheme("docker:dind", "docker") == ("docker", "docker:dind")
    assert split_scheme("podman:5", "docker") == ("docker", "podman:5")
    # a path that exists as written is a path
    monkeypatch.chdir(tmp_path)
    (tmp_path / "oci:weird.tar").write_bytes(b"")
    assert split_scheme("oci:weird.tar", "docker-archive") == ("docker-archive", "oci:weird.tar")


def test_parse_archive_reference(tmp_path: Path) -> None:
    nested = tmp_path / "a:b"
    nested.mkdir()
    (nested / "c.tar").write_bytes(b"")
    assert parse_archive_reference("x.tar", "oci") == ArchiveReference("x.tar", "oci")
    assert parse_archive_reference("x.tar:r:1", "oci") == ArchiveReference("x.tar", "oci", "r:1")
    assert parse_archive_reference("x.tar:@12", "oci") == ArchiveReference(
        "x.tar", "oci", position=12
    )
    assert parse_archive_reference("x.tar:@x", "oci") == ArchiveReference("x.tar", "oci", "@x")
    text = f"{nested}/c.tar:localhost:5000/app:1"
    assert parse_archive_reference(text, "docker-archive") == ArchiveReference(
        f"{nested}/c.tar", "docker-archive", "localhost:5000/app:1"
    )


def test_the_command_line_names_one_image(two: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    result = run_divepy("--json", str(out), f"docker-archive:{two}:b:latest")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["layer"]) == 2
    result = run_divepy("--json", str(out), "--source", "docker-archive", f"{two}:a:1")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["layer"]) == 1
    result = run_divepy("--json", str(out), "--source", "docker-archive", str(two))
    assert result.returncode == 3
    assert f"docker-archive:{two}:a:1" in result.stderr
    assert "Traceback" not in result.stderr
