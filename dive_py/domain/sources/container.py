"""Provides :class:`ContainerSource`: a container of a Docker engine, its image plus its read/write layer.

``divepy container://NAME`` (or ``--source container NAME|ID``). Steps (Docker Engine API,
through the ``docker`` SDK, endpoint resolved as for the ``docker`` source):

1. ``GET /containers/{id}/json`` (inspect): the container's ID, name, state and image ID;
2. the image is read exactly as the ``docker`` source reads it (by its ID, never pulled; the
   analysis cache applies to it);
3. ``GET /containers/{id}/changes`` and the archive API (``GET``/``HEAD
   /containers/{id}/archive?path=``) give the read/write layer
   (:func:`~dive_py.domain.container_layer.build_container_layer`).

Running and stopped containers both work. A container that is removed while divepy reads it,
or whose image is no longer in the engine, is an :class:`~dive_py.errors.ImageError` (exit 3).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from dive_py.domain.container_layer import (
    ContainerInfo,
    ContainerLayer,
    PathStat,
    build_container_layer,
)
from dive_py.domain.file_tree import FileNode
from dive_py.domain.image import Image
from dive_py.domain.layer_tar import LayerFormatError
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.chunk_reader import ChunkReader, StreamCutError
from dive_py.domain.sources.docker_engine import DockerEngineSource, _reason
from dive_py.domain.sources.platform import Platform
from dive_py.domain.tar_stream import Readable
from dive_py.errors import ArchiveError, ImageError, ImageNotFoundError

ARCHIVE_CHUNK = 1 << 20  # bytes per chunk of an archive stream


def container_gone(reference: str, host: str) -> ImageError:
    """The error for a container that is not (or no longer) in the engine."""
    return ImageNotFoundError(
        f"container {reference} is not in the engine at {host} (removed?)",
        "list containers with 'docker ps -a'",
    )


class _EngineArchive:
    """:class:`~dive_py.domain.container_layer.ContainerArchive` over the docker SDK."""

    def __init__(self, api: Any, info: ContainerInfo, host: str) -> None:
        self._api = api
        self._info = info
        self._host = host

    def _missing(self, exc: Exception) -> None:
        """Tell a path that vanished (return) from a container that vanished (raise)."""
        import docker

        try:
            self._api.inspect_container(self._info.id)
        except docker.errors.NotFound:
            raise container_gone(self._info.name, self._host) from None
        except Exception:
            raise ImageError(
                f"the engine at {self._host} failed while reading container "
                f"{self._info.name}: {_reason(exc)}",
                "check the engine is still running, then retry",
            ) from None

    def stat(self, path: str) -> PathStat | None:
        """``HEAD /containers/{id}/archive?path=``; None for a path that does not exist."""
        api = self._api
        try:
            response = api.head(
                api._url("/containers/{0}/archive", self._info.id), params={"path": path}
            )
        except Exception as exc:
            raise ImageError(
                f"the engine at {self._host} failed while reading container "
                f"{self._info.name}: {_reason(exc)}",
                "check the engine is still running, then retry",
            ) from None
        if response.status_code == 404:
            self._missing(Exception(f"404 on {path}"))
            return None
        header = response.headers.get("X-Docker-Container-Path-Stat")
        if response.status_code != 200 or not header:
            raise ImageError(
                f"the engine at {self._host} answered {response.status_code} to a stat of "
                f"{path} in container {self._info.name}",
                "check the engine's log",
            )
        data = json.loads(base64.b64decode(header))
        return PathStat(
            str(data.get("name", "")),
            int(data.get("size") or 0),
            int(data.get("mode") or 0),
            str(data.get("linkTarget") or ""),
        )

    def archive(self, path: str) -> Readable | None:
        """``GET /containers/{id}/archive?path=`` as a readable tar stream; None for a path
        that does not exist."""
        import docker

        try:
            chunks, _stat = self._api.get_archive(self._info.id, path, chunk_size=ARCHIVE_CHUNK)
        except docker.errors.NotFound as exc:
            self._missing(exc)
            return None
        except Exception as exc:
            self._missing(exc)
            raise ImageError(
                f"the engine at {self._host} could not send {path} of container "
                f"{self._info.name}: {_reason(exc)}",
                "check the engine's log",
            ) from None
        return ChunkReader(chunks)


class ContainerSource:
    """Read a container of a Docker engine: its image, then its read/write layer.

    Args:
        env: the environment that picks the engine (``DOCKER_HOST``…); ``os.environ`` when None.
        engine: the engine source to use (its endpoint and client); made from ``env`` when None.
    """

    name = "container"

    def __init__(
        self, env: Mapping[str, str] | None = None, engine: DockerEngineSource | None = None
    ) -> None:
        self.engine = engine if engine is not None else DockerEngineSource(env=env, pull=False)

    def inspect(self, reference: str) -> ContainerInfo:
        """Inspect the container named ``reference`` (a name or an ID, full or a prefix).

        Raises:
            EngineUnreachableError: the engine does not answer.
            ImageNotFoundError: no such container, or its image is no longer in the engine.
        """
        import docker

        api = self.engine.client()
        try:
            found: dict[str, Any] = api.inspect_container(reference)
        except docker.errors.NotFound:
            raise container_gone(reference, self.engine.endpoint.host) from None
        except Exception as exc:
            raise self.engine._unreachable(exc) from None
        state = found.get("State") or {}
        info = ContainerInfo(
            id=str(found.get("Id", "")),
            name=str(found.get("Name", "")).lstrip("/"),
            image=str((found.get("Config") or {}).get("Image") or found.get("Image", "")),
            image_id=str(found.get("Image", "")),
            state=str(state.get("Status", "") if isinstance(state, dict) else ""),
            created=str(found.get("Created", "")),
        )
        try:
            api.inspect_image(info.image_id)
        except docker.errors.NotFound:
            raise ImageNotFoundError(
                f"the image of container {info.name} ({info.image}, {info.image_id[:19]}) "
                f"is no longer in the engine at {self.engine.endpoint.host}",
                "the container cannot be opened without it: recreate the container",
            ) from None
        except Exception as exc:
            raise self.engine._unreachable(exc) from None
        return info

    def fetch_image(
        self,
        info: ContainerInfo,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the container's image by its ID (never pulled), named as the container names it.

        Raises:
            ImageError: as :meth:`DockerEngineSource.fetch
                <dive_py.domain.sources.docker_engine.DockerEngineSource.fetch>`.
        """
        image = self.engine.fetch(info.image_id, platform=platform, progress=progress)
        image.reference = info.image
        return image

    def read_layer(
        self,
        info: ContainerInfo,
        lower: FileNode | None,
        progress: ProgressListener | None = None,
    ) -> ContainerLayer:
        """Read the container's read/write layer (``changes``, then the archive API).

        Args:
            info: the container, from :meth:`inspect`.
            lower: the root of the image's final file system.
            progress: receives a message.

        Raises:
            ImageError: the container disappeared, or the engine failed.
            ArchiveError: the engine sent a tar divepy cannot read.
        """
        import docker

        api = self.engine.client()
        host = self.engine.endpoint.host
        if progress is not None:
            progress.message(f"Reading the read/write layer of container {info.name}")
        try:
            raw = api.diff(info.id) or []
        except docker.errors.NotFound:
            raise container_gone(info.name, host) from None
        except Exception as exc:
            raise self.engine._unreachable(exc) from None
        changes = [
            (str(item.get("Path", "")), int(item.get("Kind", -1)))
            for item in raw
            if isinstance(item, dict)
        ]
        try:
            return build_container_layer(changes, _EngineArchive(api, info, host), lower)
        except (LayerFormatError, StreamCutError) as exc:
            raise ArchiveError(
                f"the engine at {host} sent an unreadable archive of container {info.name}: {exc}",
                "check the engine is still running, then retry",
            ) from None

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the container's image (the :class:`~dive_py.domain.sources.ImageSource` protocol;
        the read/write layer comes from :meth:`read_layer`).

        Raises:
            ImageError: no such container, its image is gone, or the read failed.
        """
        return self.fetch_image(self.inspect(reference), platform=platform, progress=progress)
