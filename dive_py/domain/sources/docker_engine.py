"""Provides :class:`DockerEngineSource`: read an image from a Docker Engine through its API.

Steps (Docker Engine API): ``GET /images/{name}/json`` (inspect); when the image is missing,
``POST /images/create`` (pull) with per-layer progress; then ``GET /images/{name}/get``
(``docker save``) streamed straight into the archive parser — never written to disk.
Layers the layer store holds (by diff ID, from ``RootFS.Layers``) still stream by but are not
parsed: each is hashed and must match (see :mod:`dive_py.domain.sources.archive_stream`); an
export whose known-looking layer hashes to something else is read once more without the store.
All calls go through the ``docker`` SDK; the endpoint is chosen as the docker CLI would
(:mod:`dive_py.domain.sources.engine_endpoint`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Any

from dive_py.domain.image import Image
from dive_py.domain.layer_store import LayerStore, NoLayerStore
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.archive_stream import (
    ArchiveFormatError,
    ArchiveParts,
    KnownLayerMismatch,
    read_archive_stream,
)
from dive_py.domain.sources.chunk_reader import ChunkReader, StreamCutError
from dive_py.domain.sources.engine_endpoint import Endpoint, resolve_endpoint
from dive_py.domain.sources.image_layout import assemble_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import (
    ArchiveError,
    EngineUnreachableError,
    ImageError,
    ImageNotFoundError,
    PlatformMissingError,
)

SAVE_CHUNK = 1 << 21  # bytes per chunk of the save stream


def split_reference(reference: str) -> tuple[str, str | None]:
    """Split ``repo[:tag][@digest]`` into (repository, tag-or-digest) for the pull API."""
    if "@" in reference:
        repo, _, digest = reference.partition("@")
        return repo, digest
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = reference.rpartition(":")
        return repo, tag
    return reference, "latest"


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = explanation if isinstance(explanation, str) and explanation else str(exc)
    text = " ".join(text.split())
    return text[:300]


def _with_file_hint(error: EngineUnreachableError, reference: str) -> EngineUnreachableError:
    """``error``, hinting at the file sources when ``reference`` is a path on disk."""
    if os.path.exists(reference):
        error.hint = (
            f"{reference} is a file: read it with docker-archive://{reference} "
            "(or --source docker-archive / oci)"
        )
    return error


ENGINE_FIRST_ANSWER_S = 20
"""Seconds the engine may take to answer the first request (the API version negotiation)."""
ENGINE_READ_TIMEOUT_S = 120
"""Seconds any later read may wait (an image export can be slow to start on a busy engine)."""


class DockerEngineSource:
    """Fetch images from a Docker (or Docker-API compatible) engine.

    Args:
        endpoint: the API endpoint; None to resolve it from ``env`` as the docker CLI would.
        name: the source name recorded on images (``"docker"``; ``"podman"`` for podman's
            Docker-compatible socket).
        pull: pull the image when the engine does not have it.
        env: the environment that picks the endpoint (``DOCKER_HOST``, ``DOCKER_CONTEXT``…)
            and the API version (``DOCKER_API_VERSION``); ``os.environ`` when None. The
            command line passes the environment it was given.
        layers: known layers by diff ID, not parsed again (see
            :mod:`dive_py.domain.layer_store`); None for the user's layer cache as ``env``
            configures it (:func:`~dive_py.domain.layer_cache.open_layer_cache`). The
            attribute ``layers`` may be replaced before a fetch (``--no-cache``).
    """

    def __init__(
        self,
        endpoint: Endpoint | None = None,
        name: str = "docker",
        pull: bool = True,
        env: Mapping[str, str] | None = None,
        layers: LayerStore | None = None,
    ) -> None:
        self._endpoint = endpoint
        self.name = name
        self._pull = pull
        self._env: Mapping[str, str] = os.environ if env is None else env
        if layers is None:
            from dive_py.domain.layer_cache import open_layer_cache

            layers = open_layer_cache(self._env)
        self.layers: LayerStore = layers if layers is not None else NoLayerStore()
        self._unreachable_error: EngineUnreachableError | None = None

    def unreachable(self, reference: str) -> EngineUnreachableError | None:
        """Why the engine could not be reached when this source last tried (asked for
        ``reference``), with the file hint when ``reference`` is a path; None otherwise."""
        error = self._unreachable_error
        return None if error is None else _with_file_hint(error, reference)

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint in use (resolved from the environment on first use).

        Raises:
            UsageError: a malformed ``DOCKER_HOST`` or an unknown docker context.
        """
        if self._endpoint is None:
            self._endpoint = resolve_endpoint(self._env)
        return self._endpoint

    def cache_key(self, reference: str) -> tuple[str, str] | None:
        """What the analysis cache keys an engine image on: (endpoint host, image ID), or None.

        The image ID is the ``Id`` of ``GET /images/{name}/json`` (inspect), a content digest
        (the config digest on classic engines, the manifest or index digest with the
        containerd image store). None when the engine cannot be reached or does not have the
        image (the real read then reports the error, or pulls). Never raises.
        """
        try:
            api = self.client()
            try:
                inspected = api.inspect_image(reference)
            finally:
                close = getattr(api, "close", None)
                if close is not None:
                    close()
            image_id = inspected.get("Id") if isinstance(inspected, dict) else None
            if isinstance(image_id, str) and image_id.startswith("sha256:") and len(image_id) == 71:
                return self.endpoint.host, image_id
        except Exception:
            return None
        return None

    def client(self) -> Any:
        """Return a connected ``docker.APIClient`` (API version negotiated with the engine).

        Raises:
            EngineUnreachableError: the engine does not answer, or refuses the connection.
        """
        import docker

        if self._unreachable_error is not None:  # asked once already: do not wait again
            raise self._unreachable_error
        endpoint = self.endpoint
        try:
            # DOCKER_API_VERSION pins the API version, as for the docker CLI; else negotiate.
            version = self._env.get("DOCKER_API_VERSION", "").strip() or "auto"
            # A first answer (the version negotiation) must come quickly: an engine that
            # accepts the connection but never answers is unreachable, not slow.
            api = docker.APIClient(
                base_url=endpoint.host,
                tls=endpoint.tls,
                version=version,
                timeout=ENGINE_FIRST_ANSWER_S,
            )
            api.timeout = ENGINE_READ_TIMEOUT_S  # an export may take long before its first byte
        except docker.errors.InvalidVersion:
            # the SDK refuses versions below its minimum before asking the engine
            from docker.constants import MINIMUM_DOCKER_API_VERSION

            raise EngineUnreachableError(
                f"DOCKER_API_VERSION={version} is an API version too old for divepy's Docker client "
                f"(it needs {MINIMUM_DOCKER_API_VERSION} or newer)",
                f"unset DOCKER_API_VERSION, or set it to {MINIMUM_DOCKER_API_VERSION} or newer",
            ) from None
        except Exception as exc:  # docker.errors.DockerException, OSError, requests' errors
            self._unreachable_error = self._unreachable(exc)
            raise self._unreachable_error from None
        return api

    def _unreachable(self, exc: BaseException) -> EngineUnreachableError:
        endpoint = self.endpoint
        text = _reason(exc)
        if "FileNotFoundError" in text and endpoint.host.startswith("unix://"):
            text = f"no socket at {endpoint.host[len('unix://') :]}"
        elif "Connection refused" in text or "ConnectionRefusedError" in text:
            text = "connection refused"
        elif "timed out" in text:
            text = f"no answer within {ENGINE_FIRST_ANSWER_S} seconds"
        if "Permission denied" in text or isinstance(exc, PermissionError):
            return EngineUnreachableError(
                f"permission denied on the Docker engine socket {endpoint.host} (from {endpoint.origin})",
                "run as a user in the docker group, or point DOCKER_HOST at an engine you may use",
            )
        lowered = text.lower()
        if (
            "client version" in lowered
            and ("too old" in lowered or "too new" in lowered)
            or "supported api version" in lowered
        ):
            return EngineUnreachableError(
                f"the Docker engine at {endpoint.host} does not speak this API version: {text}",
                "unset DOCKER_API_VERSION or set it to a version the engine supports"
                if "too new" in lowered
                else "upgrade the engine, or unset DOCKER_API_VERSION",
            )
        return EngineUnreachableError(
            f"cannot reach the Docker engine at {endpoint.host} (from {endpoint.origin}): {text}",
            "start the engine, or set DOCKER_HOST / DOCKER_CONTEXT to one that runs",
        )

    def _inspect(self, api: Any, reference: str) -> dict[str, Any] | None:
        import docker

        try:
            inspected: dict[str, Any] = api.inspect_image(reference)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            if exc.status_code == 400 and "invalid reference" in _reason(exc).lower():
                raise ImageNotFoundError(
                    f"{reference!r} is not a valid image reference", "use NAME[:TAG] or NAME@DIGEST"
                ) from None
            raise self._unreachable(exc) from None
        except docker.errors.DockerException as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # requests ConnectionError and friends
            raise self._unreachable(exc) from None
        return inspected

    def _do_pull(
        self, api: Any, reference: str, platform: Platform | None, progress: ProgressListener
    ) -> None:
        import docker

        repo, tag = split_reference(reference)
        progress.message(
            f"Image {reference} is not in the local store of {self.endpoint.host}; pulling it"
        )
        try:
            stream = api.pull(
                repo,
                tag=tag,
                stream=True,
                decode=True,
                platform=str(platform) if platform else None,
            )
            for line in stream:
                if not isinstance(line, dict):
                    continue
                if line.get("error"):
                    raise ImageNotFoundError(
                        f"image {reference} is not in the local store of {self.endpoint.host}, "
                        f"and pulling it failed: {' '.join(str(line['error']).split())}",
                        "check the name and tag, the registry address, and 'docker login'",
                    )
                detail = line.get("progressDetail") or {}
                progress.pull(
                    str(line.get("id", "")),
                    str(line.get("status", "")),
                    int(detail.get("current") or 0),
                    int(detail.get("total") or 0),
                )
        except docker.errors.APIError as exc:
            raise ImageNotFoundError(
                f"image {reference} is not in the local store of {self.endpoint.host}, "
                f"and pulling it failed: {_reason(exc)}",
                "check the name and tag, the registry address, and 'docker login'",
            ) from None
        except ImageError:
            raise
        except Exception as exc:
            raise self._unreachable(exc) from None

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read ``reference`` from the engine, pulling it first when it is missing.

        Args:
            reference: an image name, ``name:tag``, ``name@digest`` or image ID.
            platform: the platform to pull, and to pick from the saved archive (engines with
                the containerd image store may hold several); None for the only one or the
                host's.
            progress: receives pull and read progress.

        Returns:
            The :class:`~dive_py.domain.image.Image`.

        Raises:
            EngineUnreachableError: the engine does not answer (the message names the endpoint).
            ImageNotFoundError: the image is missing and the pull failed (with the registry's reason).
            ArchiveError: the save stream was cut off or is corrupt.
            ImageNotFoundError: ``reference`` names a container, not an image (never pulled).
            PlatformMissingError: the engine has no variant of the image for ``platform``.
        """

        progress = progress or ProgressListener()
        try:
            api = self.client()
            try:
                api.ping()
            except Exception as exc:
                raise self._unreachable(exc) from None
        except EngineUnreachableError as error:
            raise _with_file_hint(error, reference) from None
        inspected = self._inspect(api, reference)
        if inspected is None:
            self._refuse_container(api, reference)
            if not self._pull:
                raise ImageNotFoundError(
                    f"image {reference} is not in the local store of {self.endpoint.host}",
                    "build or pull it first",
                )
            self._do_pull(api, reference, platform, progress)
            inspected = self._inspect(api, reference)
            if inspected is None:
                raise ImageNotFoundError(
                    f"image {reference} was pulled but the engine cannot find it", "try again"
                )
        progress.message(f"Reading {reference} from the engine at {self.endpoint.host}")
        progress.expect(_image_size(inspected), _layer_count(inspected))
        expected = _diff_ids(inspected)
        try:
            parts = self._export(api, reference, progress, self.layers, expected)
        except KnownLayerMismatch:
            progress.message(f"Reading the export of {reference} again, without the layer cache")
            parts = self._export(api, reference, progress, NoLayerStore(), expected)
        try:
            image = assemble_image(parts, reference=reference, source=self.name, platform=platform)
        except PlatformMissingError as missing:
            raise self._no_variant(reference, missing) from None
        progress.done()
        return image

    def _export(
        self,
        api: Any,
        reference: str,
        progress: ProgressListener,
        layers: LayerStore,
        expected: list[str],
    ) -> ArchiveParts:
        """Stream the engine's export (``docker save``) of ``reference`` into the archive
        parser; layers ``layers`` holds are hashed, not parsed.

        Raises:
            KnownLayerMismatch: a member taken for a known layer was not (read again).
            ImageNotFoundError, ImageError, ArchiveError, EngineUnreachableError: as
                :meth:`fetch`.
        """
        import docker

        progress.waiting("the engine to export the image")
        try:
            stream = iter(api.get_image(reference, chunk_size=SAVE_CHUNK))
            # The SDK checks the HTTP status on the first chunk (get_image is a generator):
            # take it here, so that a 404 (the image was removed since inspect) is told as such.
            first = next(stream, b"")
        except docker.errors.NotFound:
            raise ImageNotFoundError(
                f"image {reference} disappeared from {self.endpoint.host} before it could be saved",
                "check whether something removed it, then retry",
            ) from None
        except docker.errors.APIError as exc:
            raise ImageError(
                f"the engine at {self.endpoint.host} could not save {reference}: {_reason(exc)}",
                "check the engine's log",
            ) from None
        except Exception as exc:
            raise self._unreachable(exc) from None
        chunks = itertools.chain([first], stream)
        layers_seen = [0]
        reader = ChunkReader(chunks, on_read=lambda total: progress.read(total, layers_seen[0]))

        def on_layer(count: int, _position: int) -> None:
            layers_seen[0] = count
            progress.read(reader.bytes_read, count)

        try:
            return read_archive_stream(reader, progress=on_layer, layers=layers, expected=expected)
        except StreamCutError as exc:
            raise ArchiveError(
                f"the save stream of {reference} from {self.endpoint.host} was cut off: {exc}",
                "check the engine is still running, then retry",
            ) from None
        except ArchiveFormatError as exc:
            message = str(exc)
            if "truncated" in message or "ended" in message:
                raise ArchiveError(
                    f"the save stream of {reference} from {self.endpoint.host} ended early ({message})",
                    "check the engine is still running and the image still exists, then retry",
                ) from None
            raise ArchiveError(
                f"the engine sent a corrupt archive for {reference}: {message}",
                "check the engine's log",
            ) from None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _no_variant(self, reference: str, missing: PlatformMissingError) -> PlatformMissingError:
        """Say in the engine's terms that ``reference`` lacks the wanted platform."""
        has = ", ".join(missing.available) or "no platform whose content is complete"
        if missing.wanted in missing.incomplete:
            message = (
                f"the engine at {self.endpoint.host} has no {missing.wanted} variant of "
                f"{reference}: the image lists it, but that platform was never pulled "
                f"(it has: {has})"
            )
        else:
            message = (
                f"the engine at {self.endpoint.host} has no {missing.wanted} variant of "
                f"{reference} (it has: {has})"
            )
        hint = f"pull it first ('docker pull --platform {missing.wanted} {reference}')"
        if missing.available:
            hint += f", or choose --platform {missing.available[0]} (or leave --platform out)"
        return PlatformMissingError(
            message,
            hint,
            wanted=missing.wanted,
            available=missing.available,
            incomplete=missing.incomplete,
        )

    def _refuse_container(self, api: Any, reference: str) -> None:
        """Raise when ``reference``, which names no image, names a container the engine knows.

        Docker resolves container names and ID prefixes separately from image names; without
        this check such a name would be pulled from a registry (and fail there, misleadingly).

        Raises:
            ImageNotFoundError: ``reference`` is a container's name or ID (prefix).
        """
        try:
            container = api.inspect_container(reference)
        except Exception:
            return  # no such container (or the engine cannot say): carry on as for an image
        if not isinstance(container, dict):
            return
        name = str(container.get("Name") or "").lstrip("/") or reference
        short_id = str(container.get("Id") or "")[:12]
        config = container.get("Config")
        made_from = config.get("Image") if isinstance(config, dict) else None
        origin = (
            f", made from image {made_from}" if isinstance(made_from, str) and made_from else ""
        )
        raise ImageNotFoundError(
            f"{reference} names a container on the engine at {self.endpoint.host} "
            f"({'' if name == reference else name + ', '}ID {short_id}{origin}), not an image",
            f"open it with container://{name} (its image plus its read/write layer)"
            + (f", or open the image it was made from ({made_from})" if origin else ""),
        )


def _image_size(inspected: object) -> int:
    """The image size in bytes the engine reports (``docker image inspect``'s ``Size``; the
    export stream is about as long), 0 when it does not."""
    size = inspected.get("Size") if isinstance(inspected, dict) else None
    return size if isinstance(size, int) and size > 0 else 0


def _layer_count(inspected: object) -> int:
    """The number of layers in ``RootFS.Layers`` of the engine's inspect answer (0 = unknown)."""
    rootfs = inspected.get("RootFS") if isinstance(inspected, dict) else None
    layers = rootfs.get("Layers") if isinstance(rootfs, dict) else None
    return len(layers) if isinstance(layers, list) else 0


def _diff_ids(inspected: object) -> list[str]:
    """The diff IDs of ``RootFS.Layers`` in the engine's inspect answer, bottom first."""
    rootfs = inspected.get("RootFS") if isinstance(inspected, dict) else None
    layers = rootfs.get("Layers") if isinstance(rootfs, dict) else None
    return [d for d in layers if isinstance(d, str)] if isinstance(layers, list) else []
