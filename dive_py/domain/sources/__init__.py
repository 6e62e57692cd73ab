"""Provides the image sources and :func:`open_image`, which picks one for a user's reference.

Sources (dive's names kept): ``docker`` (the Engine API, default), ``docker-archive`` (alias
``docker-tar``: a ``docker save`` file), ``oci`` (an OCI image layout directory or tar),
``podman``, ``container`` (a container of the Docker engine: its image plus its read/write
layer), ``registry`` (the OCI distribution API, no engine:
:mod:`dive_py.domain.sources.registry`). A reference with a scheme prefix (``docker://``,
``podman://``, ``docker-archive://``, ``docker-tar://``, ``oci://``, ``container://``,
``registry://``) selects the source itself; an unknown scheme leaves the whole text to
``--source`` (as dive does). The file sources also take skopeo's transport prefixes with one
colon (``docker-archive:PATH[:REF]``,
``oci:PATH[:REF]``, ``oci-archive:…``, ``docker-tar:…``; containers-transports(5)), unless
the text exists as a path as written; ``REF`` names one image of several
(:mod:`dive_py.domain.sources.archive_reference`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from dive_py.domain.image import Image
from dive_py.domain.progress import ProgressListener
from dive_py.domain.sources.platform import Platform
from dive_py.errors import UsageError

SOURCE_NAMES = ("docker", "docker-archive", "oci", "podman", "container", "registry")
_ALIASES = {"docker-tar": "docker-archive", "oci-archive": "oci", "oci-layout": "oci"}
_FILE_SOURCES = ("docker-archive", "oci")
"""Sources whose references are paths: they also take a one-colon transport prefix."""


class ImageSource(Protocol):
    """Something that can read an image by reference."""

    name: str

    def fetch(
        self,
        reference: str,
        *,
        platform: Platform | None = None,
        progress: ProgressListener | None = None,
    ) -> Image:
        """Read the image; raise a :class:`~dive_py.errors.DivepyError` subclass on failure."""
        ...


def canonical_source(name: str) -> str:
    """Return the canonical source name for ``name`` (aliases folded).

    Raises:
        UsageError: an unknown source name.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SOURCE_NAMES:
        raise UsageError(
            f"unknown image source {name!r}",
            f"use one of: {', '.join(SOURCE_NAMES)} (or docker-tar)",
        )
    return key


def default_source(reference: str, named: str | None, env: Mapping[str, str]) -> str:
    """The source for ``reference`` when its text names none (no ``scheme://`` prefix).

    ``named`` (``--source``) when given, else ``DIVE_SOURCE`` (dive's variable), else a path
    that exists on disk as written (a file: ``docker-archive``; a directory: ``oci``), else
    ``docker``. So ``divepy image.tar`` reads the file even while an engine runs; an engine
    image whose name is also a file's name in the working directory needs ``docker://``.

    Raises:
        ImageNotFoundError: ``reference`` is written as a path (``/``, ``./``, ``../`` or
            ``~/`` first: never an image reference) that does not exist, which the engine would
            only call an invalid reference format.
    """
    if named:
        return named
    from_env = env.get("DIVE_SOURCE", "").strip()
    if from_env:
        return from_env
    if "://" not in reference and os.path.exists(reference):
        return "oci" if os.path.isdir(reference) else "docker-archive"
    if reference.startswith(PATH_PREFIXES):
        from dive_py.errors import ImageNotFoundError

        raise ImageNotFoundError(
            f"{reference}: no such file or directory",
            "check the path (an engine image is named NAME[:TAG])",
        )
    return "docker"


PATH_PREFIXES = ("/", "./", "../", "~/")
"""How an argument written as a path begins (no image reference begins so)."""


def split_scheme(text: str, default_source: str) -> tuple[str, str]:
    """Split a source prefix off the image argument.

    ``scheme://rest`` with a known scheme gives (source, rest). ``docker-archive:rest``,
    ``docker-tar:rest``, ``oci:rest`` and ``oci-archive:rest`` (skopeo's one-colon transports)
    give the file source and rest, unless ``text`` exists as a path as written (then it is a
    path for the default source). ``docker:`` and ``podman:`` with one colon are image names
    (``docker:dind``). Anything else: (default source, text).

    Raises:
        UsageError: ``default_source`` is not a source name.
    """
    scheme, sep, rest = text.partition("://")
    if sep:
        key = _ALIASES.get(scheme.lower(), scheme.lower())
        if key in SOURCE_NAMES:
            return key, rest
    scheme, sep, rest = text.partition(":")
    if sep and rest:
        key = _ALIASES.get(scheme.lower(), scheme.lower())
        if key in _FILE_SOURCES and not os.path.exists(text):
            return key, rest
    return canonical_source(default_source), text


def make_source(name: str, env: Mapping[str, str] | None = None) -> ImageSource:
    """Return a source object for a canonical source name.

    Args:
        name: a canonical source name (:data:`SOURCE_NAMES`).
        env: the environment the Docker engine's endpoint is picked from (``DOCKER_HOST``…);
            ``os.environ`` when None.

    Raises:
        UsageError: an unknown source name.
    """
    if name == "docker":
        from dive_py.domain.sources.docker_engine import DockerEngineSource

        return DockerEngineSource(env=env)
    if name == "docker-archive":
        from dive_py.domain.layer_cache import open_layer_cache
        from dive_py.domain.sources.docker_archive import DockerArchiveSource

        return DockerArchiveSource(open_layer_cache(os.environ if env is None else env))
    if name == "oci":
        from dive_py.domain.layer_cache import open_layer_cache
        from dive_py.domain.sources.oci_layout import OciLayoutSource

        return OciLayoutSource(open_layer_cache(os.environ if env is None else env))
    if name == "podman":
        from dive_py.domain.sources.podman import PodmanSource

        return PodmanSource()
    if name == "container":
        from dive_py.domain.sources.container import ContainerSource

        return ContainerSource(env=env)
    if name == "registry":
        from dive_py.domain.layer_cache import open_layer_cache
        from dive_py.domain.sources.registry import RegistrySource

        environment = os.environ if env is None else env
        return RegistrySource(environment, open_layer_cache(environment))
    raise UsageError(f"unknown image source {name!r}", f"use one of: {', '.join(SOURCE_NAMES)}")


def open_image(
    text: str,
    *,
    source: str = "docker",
    platform: Platform | None = None,
    progress: ProgressListener | None = None,
    env: Mapping[str, str] | None = None,
) -> Image:
    """Read the image the user named.

    Args:
        text: the reference, optionally with a scheme prefix.
        source: the ``--source`` value used when ``text`` has no known scheme.
        platform: the wanted platform, or None.
        progress: receives progress events.
        env: the environment that picks the Docker engine (``DOCKER_HOST``…); ``os.environ``
            when None.

    Raises:
        UsageError: unknown source.
        ImageError: (and subclasses) the image could not be read.
    """
    name, reference = split_scheme(text, source)
    if not reference:
        raise UsageError("no image named", "give an image name or archive path")
    return make_source(name, env).fetch(reference, platform=platform, progress=progress)
