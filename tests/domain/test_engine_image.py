"""The engine's reference for an image: its ID, else its name; used by every later engine call.

A fake ``docker.APIClient`` stands for an engine with the containerd image store (it knows the
image by its name and by the manifest digest, not by the config digest an export gives) and
for one with the classic store (it knows the config digest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dive_py.domain.sources.engine_file import container_archive, image_save_stream
from dive_py.domain.sources.engine_image import EngineImage, engine_image_reference
from dive_py.domain.sources.image_containers import image_containers
from dive_py.errors import ImageError, ImageNotFoundError

CONFIG = "sha256:" + "c" * 64
MANIFEST = "sha256:" + "m" * 64


class NotFound(Exception):
    explanation = "No such image"


class FakeApi:
    """Knows images by the keys of ``images`` (reference -> engine ID); records every call."""

    def __init__(self, images: dict[str, str]) -> None:
        self.images = images
        self.calls: list[tuple[str, str]] = []

    def inspect_image(self, reference: str) -> dict[str, Any]:
        self.calls.append(("inspect", reference))
        if reference not in self.images:
            raise NotFound(f"404 Client Error: No such image: {reference}")
        return {"Id": self.images[reference]}

    def create_container(self, reference: str, command: list[str]) -> dict[str, str]:
        self.calls.append(("create", reference))
        if reference not in self.images:
            raise NotFound(reference)
        return {"Id": "c1"}

    def get_image(self, reference: str, chunk_size: int) -> list[bytes]:
        self.calls.append(("save", reference))
        if reference not in self.images:
            raise NotFound(reference)
        return [b"saved:" + reference.encode()]

    def _url(self, template: str, *args: str) -> str:
        return template.format(*args)

    def get(self, url: str, params: dict[str, str | bytes], stream: bool) -> Any:
        import requests

        # as requests sends it (a str with surrogates cannot be encoded)
        query = requests.Request("GET", "http://engine" + url, params=params).prepare().url
        self.calls.append(("archive", str(query).partition("path=")[2]))

        class Response:
            def raise_for_status(self) -> None:
                pass

            def iter_content(self, size: int) -> list[bytes]:
                return [b"tar"]

            def close(self) -> None:
                pass

        return Response()

    def remove_container(self, container: str, force: bool) -> None:
        self.calls.append(("remove", container))

    def containers(self, all: bool) -> list[dict[str, Any]]:
        return [
            {"Names": ["/of-manifest"], "Id": "1", "ImageID": MANIFEST, "State": "exited"},
            {"Names": ["/of-config"], "Id": "2", "ImageID": CONFIG, "State": "running"},
            {"Names": ["/other"], "Id": "3", "ImageID": "sha256:" + "o" * 64, "State": "exited"},
        ]


CONTAINERD = {"app:1": MANIFEST, MANIFEST: MANIFEST}
CLASSIC = {"app:1": CONFIG, CONFIG: CONFIG}


def test_the_id_is_used_when_the_engine_knows_it() -> None:
    api = FakeApi(CLASSIC)
    assert engine_image_reference(api, CONFIG, "app:1") == EngineImage(CONFIG, CONFIG)
    assert api.calls == [("inspect", CONFIG)]


def test_the_name_is_used_when_the_engine_knows_no_such_id() -> None:
    api = FakeApi(CONTAINERD)
    assert engine_image_reference(api, CONFIG, "app:1") == EngineImage("app:1", MANIFEST)


def test_an_image_known_by_neither_is_not_found() -> None:
    with pytest.raises(ImageNotFoundError, match=f"no image {CONFIG} nor gone:1: No such image"):
        engine_image_reference(FakeApi(CONTAINERD), CONFIG, "gone:1")
    with pytest.raises(ImageNotFoundError, match=f"no image {CONFIG}: No such image"):
        engine_image_reference(FakeApi({}), CONFIG)


@pytest.mark.parametrize(("images", "used"), [(CLASSIC, CONFIG), (CONTAINERD, "app:1")])
def test_file_reads_name_the_image_as_the_engine_knows_it(
    images: dict[str, str], used: str
) -> None:
    api = FakeApi(images)
    with container_archive(api, CONFIG, "etc/passwd", "app:1") as raw:
        assert raw.read() == b"tar"
    assert ("create", used) in api.calls and ("remove", "c1") in api.calls
    assert image_save_stream(api, CONFIG, "app:1").read() == b"saved:" + used.encode()
    assert [c for c in api.calls if c[0] in ("create", "save")] == [
        ("create", used),
        ("save", used),
    ]


def test_file_reads_of_a_removed_image_are_an_image_error() -> None:
    with pytest.raises(ImageError, match="no image"):
        image_save_stream(FakeApi({}), CONFIG, "app:1")
    with (
        pytest.raises(ImageError, match="no image"),
        container_archive(FakeApi({}), CONFIG, "etc/passwd", "app:1"),
    ):
        pass


class FakeEngine:
    def __init__(self, api: FakeApi) -> None:
        self.api = api

    def client(self) -> FakeApi:
        return self.api


@pytest.mark.parametrize(
    ("images", "names"),
    [(CLASSIC, ["of-config"]), (CONTAINERD, ["of-config", "of-manifest"]), ({}, ["of-config"])],
)
def test_containers_are_found_by_the_engines_id(images: dict[str, str], names: list[str]) -> None:
    engine: Any = FakeEngine(FakeApi(images))
    found = image_containers(engine, CONFIG, "app:1")
    assert sorted(info.name for info in found) == names


def test_a_file_name_that_is_not_utf8_is_asked_for_by_its_bytes() -> None:
    """Trial of this release: Enter on ``/n/bad\\xff\\xfename`` (a final-image file of the
    docker source) said "'utf-8' codec can't encode characters … surrogates not allowed"."""
    api = FakeApi(CLASSIC)
    name = b"n/bad\xff\xfename".decode("utf-8", "surrogateescape")
    with container_archive(api, CONFIG, name, "app:1") as raw:
        assert raw.read() == b"tar"
    assert ("archive", "%2Fn%2Fbad%FF%FEname") in api.calls


def test_a_final_file_the_engine_cannot_tar_is_read_from_the_image(tmp_path: Path) -> None:
    """Trial of this release: Docker sends an empty archive for a name that is not UTF-8, and
    the viewer said "the engine gave no file"; the bytes come from the image's layer then."""
    import dataclasses

    from dive_py.domain.file_content import ContentReader, locate_version
    from tests.image_builder import ImageSpec, d, docker_archive, f
    from tests.ui.conftest import archive_analysis

    name = b"n/bad\xff\xfename".decode("utf-8", "surrogateescape")
    layers = [[d("n"), f(name, "a\n")], [d("n"), f(name, "b\n")]]
    analysis = archive_analysis(tmp_path, layers)
    saved = docker_archive(ImageSpec(layers=layers))
    image = dataclasses.replace(analysis.image, source="docker", reference="app:1")
    analysis = dataclasses.replace(analysis, image=image)

    class Engine(FakeApi):
        def get(self, url: str, params: dict[str, str | bytes], stream: bool) -> Any:
            response = super().get(url, params, stream)
            response.iter_content = lambda size: [bytes(1024)]  # an empty tar
            return response

        def get_image(self, reference: str, chunk_size: int) -> list[bytes]:
            self.calls.append(("save", reference))
            return [saved]

    api = Engine({"app:1": image.image_id, image.image_id: image.image_id})
    version = locate_version(analysis, 1, name)
    assert version.final
    content = ContentReader(analysis, engine=lambda: api).read(version)
    assert content.data == b"b\n"
    assert [c[0] for c in api.calls if c[0] == "archive"] == ["archive"]  # asked first


def test_engine_facts_give_every_tag_of_the_image(tmp_path: Path) -> None:
    """Trial of this release: Image Details of an engine image listed only the name it was
    read by (``docker save NAME`` records that one), or, from the analysis cache, the name
    another run read it by (``Tags: img:b`` for ``other:dev``); the engine's tags are used."""
    from dive_py.domain.sources.engine_facts import annotate_from_engine
    from tests.image_builder import f
    from tests.ui.conftest import archive_analysis

    analysis = archive_analysis(tmp_path, [[f("a", "1")]])
    analysis.image.repo_tags = ["img:b"]  # as a cached analysis read by another name has them
    tags = ["img:b", "other:dev", "<none>:<none>"]

    class Api:
        def inspect_image(self, reference: str) -> dict[str, Any]:
            return {"Id": CONFIG, "RepoTags": tags}

        def history(self, reference: str) -> list[dict[str, Any]]:
            return []

        def containers(self, all: bool) -> list[dict[str, Any]]:
            return []

        def images(self) -> list[dict[str, Any]]:
            return []

    class Engine:
        def client(self) -> Api:
            return Api()

    annotate_from_engine(analysis, Engine(), "other:dev")  # type: ignore[arg-type]
    assert analysis.image.repo_tags == ["img:b", "other:dev"]
