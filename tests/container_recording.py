"""A container of the demo image, recorded from a real engine and replayed without one.

The fixture (``tests/fixtures/containers/demo-web.json``) holds what the Engine API answered
for a container made from divepy's demo image (``divepy --demo``, loaded into the engine):
the container's inspect facts, ``GET /containers/{id}/changes``, and every ``HEAD`` / ``GET
/containers/{id}/archive`` divepy made while building its read/write layer (tars, file data zeroed, gzipped, base64).
:func:`recorded_container` replays it over the demo image's analysis, so the explorer's
container view, its snapshot test and the README screenshot need no engine.

Record again (an engine on ``DOCKER_HOST``; a static busybox at ``BUSYBOX``, e.g. copied out
of any busybox image, runs the changes since the demo image has no shell)::

    BUSYBOX=/tmp/busybox PYTHONPATH=. python -m tests.container_recording
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dive_py.domain.analysis import Analysis
from dive_py.domain.container_analysis import with_container
from dive_py.domain.container_layer import ContainerInfo, PathStat, build_container_layer
from dive_py.domain.layer_sharing import OtherImage, measure_sharing
from dive_py.domain.progress import ProgressListener
from dive_py.domain.tar_stream import Readable

FIXTURE = Path(__file__).parent / "fixtures" / "containers" / "demo-web.json"

# What the recorded container did (run by busybox inside it): a copy-up of the app, a log
# directory added whole, a deleted package directory, a deleted file and a modified config.
SCRIPT = (
    "echo 'DEBUG = True' >> /app/app.py"
    " && mkdir -p /app/logs && /.rec/busybox dd if=/dev/zero of=/app/logs/app.log bs=1024 count=48"
    " && echo started > /app/logs/boot.log"
    " && rm -rf /usr/local/lib/python3.12/site-packages/flask"
    " && rm /usr/local/bin/pip"
    " && echo 'web:x:1000:1000::/app:/bin/sh' >> /etc/passwd"
    " && rm -rf /.rec"
)


def _zeroed(tar_bytes: bytes) -> bytes:
    """``tar_bytes`` with every file's data replaced by zeros, gzipped (divepy reads only the
    tar headers of a container's archive: sizes, modes, owners, link targets)."""
    import gzip
    import tarfile

    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(tar_bytes)) as source,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in source:
            data = io.BytesIO(bytes(member.size)) if member.isreg() else None
            target.addfile(member, data)
    return gzip.compress(out.getvalue(), 9, mtime=0)


CREATED = "2024-05-22T10:00:00Z"
"""The creation time written into the fixture (the engine's clock is not the story's): two
hours before the snapshot tests' fixed "now"."""


class RecordedArchive:
    """The archive API of the recorded container (``stat`` and ``archive`` replayed)."""

    def __init__(self, stats: dict[str, Any], archives: dict[str, str]) -> None:
        self._stats = stats
        self._archives = archives

    def stat(self, path: str) -> PathStat | None:
        found = self._stats.get(path)
        return PathStat(**found) if found is not None else None

    def archive(self, path: str) -> Readable | None:
        found = self._archives.get(path)
        if found is None:
            return None
        import gzip

        return io.BytesIO(gzip.decompress(base64.b64decode(found)))


class RecordedContainers:
    """A :class:`~dive_py.ui.containers_screen.ContainerCatalog` of the recorded containers:
    lists them, and opens the recorded one over ``image`` (the demo image's analysis)."""

    def __init__(self, image: Analysis, containers: Sequence[ContainerInfo] | None = None) -> None:
        self._image = image
        self.opened: list[str] = []
        self.listed: list[str] = []
        self._containers = list(containers) if containers is not None else None

    def containers(self, image_id: str) -> list[ContainerInfo]:
        self.listed.append(image_id)
        if self._containers is not None:
            return self._containers
        return [recorded_info()]

    def loader(self, name: str):  # type: ignore[no-untyped-def]
        def load(progress: ProgressListener) -> Analysis:
            self.opened.append(name)
            return recorded_container(self._image)

        return load


def _fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def recorded_info() -> ContainerInfo:
    """The recorded container's :class:`ContainerInfo`."""
    return ContainerInfo(**_fixture()["info"])


def recorded_container(image: Analysis) -> Analysis:
    """The demo image's analysis with the recorded container's read/write layer on top, and
    the recorded engine's sharing (one other image holds the demo's base layers)."""
    data = _fixture()
    info = ContainerInfo(**data["info"])
    changes = [(path, kind) for path, kind in data["changes"]]
    layers = image.image.layers
    base = Analysis(image.image, image.efficiency)
    base.sharing = measure_sharing(
        [layer.diff_id for layer in layers],
        [layer.size_bytes for layer in layers],
        [OtherImage("sha256:" + "b" * 64, "python:3.12-slim", (layers[0].diff_id,))],
        [info.name],
    )
    archive = RecordedArchive(data["stats"], data["archives"])
    layer = build_container_layer(changes, archive, image.final_state())
    return with_container(base, info, layer)


def record() -> None:  # pragma: no cover - run by hand against an engine
    """Load the demo image into the engine, run :data:`SCRIPT` in a container of it, record
    what divepy reads of the container, then remove the container and the image."""
    import os
    import tempfile

    import docker

    from dive_py.domain.demo_image import write_demo_archive
    from dive_py.domain.sources.container import ContainerSource, _EngineArchive

    client = docker.from_env()
    api = client.api
    from dive_py.domain.analysis import analyse
    from dive_py.domain.sources import open_image

    with tempfile.TemporaryDirectory() as tmp:
        path = write_demo_archive(tmp)
        demo = analyse(open_image(path, source="docker-archive"))
        with open(path, "rb") as archive_file:
            loaded = client.images.load(archive_file.read())
    image = loaded[0]
    container = api.create_container(
        image.id, entrypoint=["/.rec/busybox", "sh", "-c"], command=[SCRIPT], name="web"
    )
    cid = container["Id"]
    try:
        busybox = Path(os.environ["BUSYBOX"]).read_bytes()
        tar = io.BytesIO()
        import tarfile

        with tarfile.open(fileobj=tar, mode="w") as out:
            entry = tarfile.TarInfo(".rec/busybox")
            entry.size, entry.mode = len(busybox), 0o755
            out.addfile(entry, io.BytesIO(busybox))
        api.put_archive(cid, "/", tar.getvalue())
        api.start(cid)
        api.wait(cid)
        source = ContainerSource()
        info = source.inspect(cid)
        stats: dict[str, Any] = {}
        archives: dict[str, str] = {}
        inner = _EngineArchive(source.engine.client(), info, source.engine.endpoint.host)

        class Recording:
            def stat(self, path: str) -> PathStat | None:
                found = inner.stat(path)
                stats[path] = asdict(found) if found is not None else None
                return found

            def archive(self, path: str) -> Readable | None:
                found = inner.archive(path)
                if found is None:
                    return None
                data = found.read()
                archives[path] = base64.b64encode(_zeroed(data)).decode()
                return io.BytesIO(data)

        changes = [(str(c["Path"]), int(c["Kind"])) for c in api.diff(cid) or []]
        build_container_layer(changes, Recording(), demo.final_state())
        fixed = asdict(info)
        fixed["image"] = "python-hello-world:demo"
        fixed["created"] = CREATED
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(
            json.dumps(
                {"info": fixed, "changes": changes, "stats": stats, "archives": archives},
                indent=1,
            )
            + "\n"
        )
    finally:
        api.remove_container(cid, force=True)
        client.images.remove(image.id, force=True)


if __name__ == "__main__":  # pragma: no cover
    record()
