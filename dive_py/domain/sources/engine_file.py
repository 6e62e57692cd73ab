"""Provides the Engine API reads behind :mod:`dive_py.domain.file_content` for the ``docker`` source.

The ``docker`` source streams ``docker save`` once and keeps no bytes. To read one file again:

- a path as the final image shows it: create a container from the image without starting it,
  ``GET /containers/{id}/archive?path=`` (Docker Engine API "Get an archive of a filesystem
  resource in a container"), and remove the container at once, also when interrupted;
- any other version: stream ``GET /images/{name}/get`` again (:func:`image_save_stream`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from dive_py.domain.sources.chunk_reader import ChunkReader
from dive_py.errors import ImageError

_CHUNK = 1 << 16


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return (
        str(explanation or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    )


@contextlib.contextmanager
def container_archive(api: Any, image_id: str, path: str, name: str = "") -> Iterator[ChunkReader]:
    """Yield the tar the engine gives for ``/path`` in a fresh, never started container.

    Args:
        api: a connected ``docker.APIClient``.
        image_id: the image (``"sha256:…"`` or a name).
        path: the path in the image, without a leading ``/``.
        name: the image's name, tried when the engine knows no image ``image_id``: with the
            containerd image store the ID an export's config gives (the config digest) is not
            the engine's image ID (the manifest or index digest).

    The container is removed when the block ends, whether it ends normally, by an error or by
    Ctrl+C (``KeyboardInterrupt``).

    Raises:
        ImageError: the engine refused to create the container or to give the path.
    """
    try:
        # A command is given so that images without CMD/ENTRYPOINT can be created; it never runs.
        try:
            created = api.create_container(image_id, command=["/divepy-never-started"])
        except Exception:
            if not name or name == image_id:
                raise
            created = api.create_container(name, command=["/divepy-never-started"])
    except Exception as exc:
        raise ImageError(
            f"the engine could not create a container from {image_id}: {_reason(exc)}",
            "check the engine's log",
        ) from None
    container = created["Id"]
    response: Any = None
    try:
        try:
            # The SDK's get_archive leaves its response open, and the engine will not remove a
            # container whose archive is still being sent: the response is closed here first.
            # (docker.APIClient is a requests.Session; _url builds the versioned URL.)
            url = api._url("/containers/{0}/archive", container)
            response = api.get(url, params={"path": "/" + path}, stream=True)
            response.raise_for_status()
        except Exception as exc:
            raise ImageError(
                f"the engine could not read /{path} from {image_id}: {_reason(exc)}",
                "check the path exists in the final image",
            ) from None
        yield ChunkReader(response.iter_content(_CHUNK))
    finally:
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()
        with contextlib.suppress(Exception):
            api.remove_container(container, force=True)


def image_save_stream(api: Any, image_id: str, name: str = "") -> ChunkReader:
    """Return the ``docker save`` stream of ``image_id`` (``GET /images/{name}/get``).

    ``name`` is saved instead when the engine knows no image ``image_id`` (the containerd
    image store's image ID is not the config digest an export gives; see
    :func:`container_archive`).

    Raises:
        ImageError: the engine could not save the image.
    """
    try:
        try:
            stream = iter(api.get_image(image_id, chunk_size=1 << 20))
            first = next(stream, b"")
        except Exception:
            if not name or name == image_id:
                raise
            stream = iter(api.get_image(name, chunk_size=1 << 20))
            first = next(stream, b"")
    except Exception as exc:
        raise ImageError(
            f"the engine could not save {image_id}: {_reason(exc)}", "check the engine's log"
        ) from None
    return ChunkReader(itertools.chain([first], stream))
