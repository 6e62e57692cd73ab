"""Provides the Engine API reads behind :mod:`dive_py.domain.file_content` for the ``docker`` source.

The ``docker`` source streams ``docker save`` once and keeps no bytes. To read one file again:

- a path as the final image shows it: create a container from the image without starting it,
  ``GET /containers/{id}/archive?path=`` (Docker Engine API "Get an archive of a filesystem
  resource in a container"), and remove the container at once, also when interrupted;
- any other version: stream ``GET /images/{name}/get`` again (:func:`image_save_stream`).

Both name the image as the engine knows it
(:func:`~dive_py.domain.sources.engine_image.engine_image_reference`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from dive_py.domain.sources.chunk_reader import ChunkReader
from dive_py.domain.sources.engine_image import engine_error_reason, engine_image_reference
from dive_py.errors import ImageError

_CHUNK = 1 << 16


@contextlib.contextmanager
def container_archive(api: Any, image_id: str, path: str, name: str = "") -> Iterator[ChunkReader]:
    """Yield the tar the engine gives for ``/path`` in a fresh, never started container.

    Args:
        api: a connected ``docker.APIClient``.
        image_id: the image (``"sha256:…"`` or a name).
        path: the path in the image, without a leading ``/``.
        name: the image's name, used when the engine knows no image ``image_id``
            (:func:`~dive_py.domain.sources.engine_image.engine_image_reference`).

    The container is removed when the block ends, whether it ends normally, by an error or by
    Ctrl+C (``KeyboardInterrupt``).

    Raises:
        ImageError: the engine knows no such image, or refused to create the container or to
            give the path.
    """
    reference = engine_image_reference(api, image_id, name).reference
    try:
        # A command is given so that images without CMD/ENTRYPOINT can be created; it never runs.
        created = api.create_container(reference, command=["/divepy-never-started"])
    except Exception as exc:
        raise ImageError(
            f"the engine could not create a container from {reference}: {engine_error_reason(exc)}",
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
            # (the tar's bytes: a name that is not UTF-8 is sent as it is, percent-encoded)
            raw_path = ("/" + path).encode("utf-8", "surrogateescape")
            response = api.get(url, params={"path": raw_path}, stream=True)
            response.raise_for_status()
        except Exception as exc:
            raise ImageError(
                f"the engine could not read /{path} from {image_id}: {engine_error_reason(exc)}",
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

    ``name`` is saved instead when the engine knows no image ``image_id``
    (:func:`~dive_py.domain.sources.engine_image.engine_image_reference`).

    Raises:
        ImageError: the engine knows no such image, or could not save it.
    """
    reference = engine_image_reference(api, image_id, name).reference
    try:
        stream = iter(api.get_image(reference, chunk_size=1 << 20))
        first = next(stream, b"")
    except Exception as exc:
        raise ImageError(
            f"the engine could not save {reference}: {engine_error_reason(exc)}",
            "check the engine's log",
        ) from None
    return ChunkReader(itertools.chain([first], stream))
