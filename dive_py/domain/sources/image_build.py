"""Provides :func:`build_image`: build an image through a Docker Engine's API, streaming its log.

The build is the ``docker`` SDK's low-level ``APIClient.build`` (``POST /build``, the classic
builder). The log is written to a text stream as it arrives, with terminal control sequences
escaped; the image to analyse is the first tag, else the image ID the engine reports.
``divepy build`` (:mod:`dive_py.commands.build`) parses the command line into a
:class:`BuildRequest`, builds, then analyses the result like ``divepy TAG``.

:class:`BuildCacheLog` remembers which steps the classic builder took from the layer cache (its
log says ``Step N/M : INSTRUCTION`` for each step and `` ---> Using cache`` for a reused one),
so that the explorer, the CI report and the JSON show where the cache broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TextIO

from dive_py.display_text import escape_text
from dive_py.domain.sources.docker_engine import DockerEngineSource, _reason
from dive_py.errors import ImageError


@dataclass(slots=True)
class BuildRequest:
    """What to build and how (the options of ``docker build`` divepy supports).

    Attributes:
        context: the build context directory (absolute).
        tags: the ``-t`` values, in order.
        dockerfile: the ``-f`` value made absolute (relative to the working directory), or None.
        build_args: ``--build-arg`` values.
        labels: ``--label`` values.
        target: ``--target`` or None.
        platform: ``--platform`` or None.
        network: ``--network`` or None.
        no_cache: ``--no-cache``.
        pull: ``--pull``.
        quiet: ``-q``: do not stream the build log.
    """

    context: str
    tags: list[str] = field(default_factory=list)
    dockerfile: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    network: str | None = None
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False


class BuildCacheLog:
    """Which steps of the last build stage the classic builder took from the layer cache.

    Fed the build log's text as it arrives (:meth:`feed`); :attr:`cached` then holds, per
    step after the stage's ``FROM``, True when the log said `` ---> Using cache`` for it.
    A ``FROM`` starts a new stage (only the last stage makes the image).
    """

    def __init__(self) -> None:
        self.cached: list[bool] = []
        self._pending = ""
        self._in_step = False

    def feed(self, text: str) -> None:
        """Read more of the log (any split into chunks)."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line.strip())

    def _line(self, line: str) -> None:
        if line.startswith("Step ") and " : " in line:
            instruction = line.partition(" : ")[2].lstrip()
            if instruction.upper().startswith("FROM"):
                self.cached = []
                self._in_step = False
            else:
                self.cached.append(False)
                self._in_step = True
        elif line == "---> Using cache" and self._in_step and self.cached:
            self.cached[-1] = True


_SGR = re.compile(r"\x1b\[[0-9;]*m")
"""Colour and style sequences (SGR), which the engine wraps around a RUN step's stderr."""


def _stream_text(text: str) -> str:
    # keep the log's line structure, but no terminal control sequences from the build: colour
    # sequences are dropped (the engine paints RUN steps' stderr red), any other is escaped
    text = _SGR.sub("", text)
    return "\n".join(
        "\t".join(escape_text(part) for part in line.split("\t")) for line in text.split("\n")
    )


def build_image(
    request: BuildRequest,
    source: DockerEngineSource,
    stderr: TextIO,
    cache_log: BuildCacheLog | None = None,
) -> str:
    """Build the image; stream the log to ``stderr``; return the reference to analyse.

    Args:
        request: what to build.
        source: the engine to build on.
        stderr: receives the build log.
        cache_log: fed the build log, to tell the steps taken from the cache.

    Returns:
        The first tag; without tags, the image ID (``aux.ID``, or the classic builder's
        ``Successfully built ID`` line).

    Raises:
        EngineUnreachableError: the engine does not answer.
        ImageError: the build failed (the engine's error message, one line).
    """
    import docker
    import requests

    api = source.client()
    try:
        api.ping()
    except Exception as exc:
        raise source._unreachable(exc) from None
    image_id = ""
    last_lines: list[str] = []
    try:
        stream = api.build(
            path=request.context,
            tag=request.tags[0] if request.tags else None,
            dockerfile=request.dockerfile,
            buildargs=dict(request.build_args),
            labels=request.labels or None,
            target=request.target,
            platform=request.platform,
            network_mode=request.network,
            nocache=request.no_cache,
            pull=request.pull,
            rm=True,
            decode=True,
        )
        for chunk in stream:
            if not isinstance(chunk, dict):
                continue
            error = chunk.get("error") or (chunk.get("errorDetail") or {}).get("message")
            if error:
                raise ImageError(
                    f"the build of {request.context} failed: {' '.join(str(error).split())}",
                    "see the build log above",
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
            text = chunk.get("stream")
            if text is None and chunk.get("status"):
                text = (
                    f"{chunk.get('id', '')}: {chunk['status']}\n"
                    if chunk.get("id")
                    else f"{chunk['status']}\n"
                )
            if text and cache_log is not None and chunk.get("stream") is not None:
                cache_log.feed(text)
            if text:
                last_lines = (last_lines + text.splitlines())[-5:]
                if not request.quiet:
                    stderr.write(_stream_text(text))
                    stderr.flush()
    except ImageError:
        raise
    except docker.errors.DockerException as exc:  # APIError and the SDK's own checks
        raise ImageError(
            f"the build of {request.context} failed: {_reason(exc)}",
            "check the Dockerfile and the build options",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise source._unreachable(exc) from None
    except OSError as exc:  # reading the context for the upload
        raise ImageError(
            f"cannot read the build context {request.context}: {exc.strerror or exc}",
            "check the files' permissions",
        ) from None
    except Exception as exc:
        raise source._unreachable(exc) from None
    if request.tags:
        return request.tags[0]
    if image_id:
        return image_id
    for line in reversed(last_lines):  # the classic builder's last line
        if line.startswith("Successfully built "):
            return line.split()[-1]
    raise ImageError(
        f"the build of {request.context} finished but the engine named no image", "pass -t TAG"
    )
