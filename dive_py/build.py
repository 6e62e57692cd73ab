"""Provides :func:`run_build`: ``divepy build [docker build args…] -t TAG CONTEXT``.

Builds the image through the Engine API (the ``docker`` SDK's low-level
``APIClient.build``, the classic builder), streaming the build log to stderr, then analyses
the built image exactly like ``divepy TAG``: the CI report with ``--ci`` or ``CI=true``
(dive's ``build`` ignores both), the JSON export with ``--json``, otherwise the explorer.

The options understood are listed in :data:`BUILD_HELP`; anything else is a usage error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from dive_py.errors import ImageError, UsageError

# docker build options: name -> (canonical name, takes a value)
_DOCKER_OPTIONS: dict[str, tuple[str, bool]] = {
    "-t": ("tag", True),
    "--tag": ("tag", True),
    "-f": ("file", True),
    "--file": ("file", True),
    "--build-arg": ("build_arg", True),
    "--target": ("target", True),
    "--platform": ("platform", True),
    "--no-cache": ("no_cache", False),
    "--pull": ("pull", False),
    "--label": ("label", True),
    "--network": ("network", True),
    "-q": ("quiet", False),
    "--quiet": ("quiet", False),
    "--progress": ("progress", True),
}
# divepy options passed on to the analysis: name -> takes a value
_DIVEPY_OPTIONS: dict[str, bool] = {
    "--ci": False,
    "--ci-config": True,
    "--ci-all-files": False,
    "--junit": True,
    "-j": True,
    "--json": True,
    "--config": True,
    "--debug": False,
    "-i": False,
    "--ignore-errors": False,
    "--lowestEfficiency": True,
    "--lowest-efficiency": True,
    "--highestWastedBytes": True,
    "--highest-wasted-bytes": True,
    "--highestUserWastedPercent": True,
    "--highest-user-wasted-percent": True,
    "--highestReclaimableBytes": True,
    "--highest-reclaimable-bytes": True,
}
BUILD_HELP = """\
usage: divepy build [OPTIONS] -t TAG PATH

Build an image through the Docker Engine API (classic builder), then analyse it
like 'divepy TAG': the CI report with --ci or CI=true, the JSON export with
--json, otherwise the explorer. The build log goes to stderr.

docker build options:
  -t, --tag NAME[:TAG]     name the image (repeatable; the first is analysed,
                           the built image ID when there is none)
  -f, --file PATH          Dockerfile, relative to the working directory
  --build-arg KEY[=VALUE]  build argument (without a value: from the environment)
  --target STAGE           stop at this stage
  --platform OS/ARCH       build (and analyse) for this platform
  --network MODE           network of the RUN steps (e.g. none, host)
  --label KEY=VALUE        set an image label
  --no-cache               do not use the build cache
  --pull                   always pull the base images
  -q, --quiet              do not print the build log
  --progress MODE          accepted and ignored (one log format)

divepy options: --ci, --ci-config PATH, --lowestEfficiency, --highestWastedBytes,
  --highestUserWastedPercent, --highestReclaimableBytes (and kebab-case spellings),
  --ci-all-files, --junit FILE, -j/--json FILE, --config FILE, --debug

exit codes: 0 ok / rules passed, 1 a CI rule failed, 2 bad options or rules,
  3 the build failed or the engine is unreachable, 4 an output file could not be written
"""

_HINT = (
    "divepy build understands -t/--tag, -f/--file, --build-arg, --target, --platform, "
    "--no-cache, --pull, --label, --network, -q/--quiet, --progress and divepy's CI flags"
)


@dataclass(slots=True)
class BuildRequest:
    """What to build and how, parsed from ``divepy build`` arguments.

    Attributes:
        context: the build context directory.
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
        divepy_argv: divepy's own options, to parse with the ``divepy`` parser.
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
    divepy_argv: list[str] = field(default_factory=list)


def _split(token: str) -> tuple[str, str | None]:
    """Split ``--opt=value`` / ``-tvalue`` into (option, inline value or None)."""
    if token.startswith("--"):
        name, sep, value = token.partition("=")
        return name, (value if sep else None)
    if len(token) > 2 and token[:2] in ("-t", "-f", "-j"):
        value = token[2:]
        return token[:2], value[1:] if value.startswith("=") else value
    return token, None


def parse_build_args(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
) -> BuildRequest:
    """Parse ``divepy build`` arguments.

    Raises:
        UsageError: an unknown option, a missing value, no context or several, a context that
            is not a directory.
    """
    base = os.getcwd() if cwd is None else cwd
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    flags: set[str] = set()
    divepy_argv: list[str] = []
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":
            positional.extend(tokens[index:])
            break
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, inline = _split(token)
        if name in _DOCKER_OPTIONS:
            key, takes_value = _DOCKER_OPTIONS[name]
            if not takes_value:
                if inline is not None:
                    raise UsageError(f"divepy build: {name} takes no value", _HINT)
                flags.add(key)
                if key == "no_cache":
                    divepy_argv.append("--no-cache")
                continue
            if inline is None:
                if index >= len(tokens):
                    raise UsageError(f"divepy build: {name} needs a value", _HINT)
                inline = tokens[index]
                index += 1
            values.setdefault(key, []).append(inline)
            if key == "platform":
                divepy_argv.extend(["--platform", inline])
            continue
        if name in _DIVEPY_OPTIONS:
            if _DIVEPY_OPTIONS[name]:
                if inline is None:
                    if index >= len(tokens):
                        raise UsageError(f"divepy build: {name} needs a value", _HINT)
                    inline = tokens[index]
                    index += 1
                divepy_argv.extend([name, inline])
            else:
                if inline is not None:
                    raise UsageError(f"divepy build: {name} takes no value", _HINT)
                divepy_argv.append(name)
            continue
        raise UsageError(
            f"divepy build: unknown or unsupported option {token.partition('=')[0]!r}", _HINT
        )
    if not positional:
        raise UsageError(
            "divepy build: no build context given", "usage: divepy build [OPTIONS] -t TAG PATH"
        )
    if len(positional) > 1:
        raise UsageError(
            f"divepy build: one build context expected, got {len(positional)}: "
            f"{' '.join(positional)}",
            "put options before or after the context path",
        )
    context = positional[0]
    if context == "-" or "://" in context or context.startswith("git@"):
        raise UsageError(
            f"divepy build: only a local directory can be the build context, not {context!r}",
            "clone or unpack it first, then pass its path",
        )
    context_path = os.path.join(base, context)
    if not os.path.isdir(context_path):
        raise UsageError(
            f"divepy build: the build context {context!r} is not a directory",
            "pass the directory that holds the Dockerfile",
        )
    if len(values.get("platform", [])) > 1:
        raise UsageError("divepy build: --platform given twice", "give it once")
    from docker.utils import match_tag

    for tag in values.get("tag", []):
        if not match_tag(tag):
            raise UsageError(
                f"divepy build: invalid tag {tag!r} for -t: invalid reference format",
                "use NAME[:TAG], lower-case, such as myapp:1.0",
            )
    request = BuildRequest(context=os.path.abspath(context_path), divepy_argv=divepy_argv)
    request.tags = values.get("tag", [])
    files = values.get("file", [])
    if len(files) > 1:
        raise UsageError("divepy build: -f/--file given twice", "give it once")
    if files:
        if files[0] == "-":
            raise UsageError(
                "divepy build: a Dockerfile from stdin (-f -) is not supported",
                "write it to a file and pass its path",
            )
        dockerfile = os.path.abspath(os.path.join(base, files[0]))
        if not os.path.isfile(dockerfile):
            raise UsageError(
                f"divepy build: the Dockerfile {files[0]!r} does not exist",
                "-f is relative to the working directory, as with docker build",
            )
        request.dockerfile = dockerfile
    for item in values.get("build_arg", []):
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"divepy build: bad --build-arg {item!r}", "use KEY=VALUE or KEY")
        if sep:
            request.build_args[key] = value
        elif key in env:
            request.build_args[key] = env[key]
    for item in values.get("label", []):
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f"divepy build: bad --label {item!r}", "use KEY=VALUE")
        request.labels[key] = value
    for key in ("target", "platform", "network"):
        if values.get(key):
            setattr(request, key, values[key][-1])
    request.no_cache = "no_cache" in flags
    request.pull = "pull" in flags
    request.quiet = "quiet" in flags
    return request


def _stream_text(text: str) -> str:
    from dive_py.display_text import escape_text

    # keep the log's line structure, but no terminal control sequences from the build
    return "\n".join(
        "\t".join(escape_text(part) for part in line.split("\t")) for line in text.split("\n")
    )


def build_image(request: BuildRequest, source: Any, stderr: TextIO) -> str:
    """Build the image; stream the log to ``stderr``; return the reference to analyse.

    Args:
        request: what to build.
        source: a :class:`~dive_py.domain.sources.docker_engine.DockerEngineSource`.
        stderr: receives the build log.

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
            if text:
                last_lines = (last_lines + text.splitlines())[-5:]
                if not request.quiet:
                    stderr.write(_stream_text(text))
                    stderr.flush()
    except ImageError:
        raise
    except docker.errors.DockerException as exc:  # APIError and the SDK's own checks
        from dive_py.domain.sources.docker_engine import _reason

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


def run_build(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy build ARGS``; return the exit code.

    Raises:
        DivepyError: usage errors (2), build or engine failures (3), output failures (4).
    """
    from dive_py.cli import StderrProgress, build_parser, ci_enabled

    if any(token in ("-h", "--help") for token in argv):
        stdout.write(BUILD_HELP)
        return 0
    request = parse_build_args(argv, env)
    placeholder = request.tags[0] if request.tags else "built-image"
    args = build_parser().parse_args([*request.divepy_argv, placeholder])
    args.source = "docker"
    ci = ci_enabled(args, env)
    rules = None
    if ci:
        from dive_py.ci.options import CiOptions
        from dive_py.ci.rules import load_rules

        ci_options = CiOptions.from_arguments(args)
        rules = load_rules(ci_options)  # misconfiguration fails before the build
    from dive_py.domain.sources.docker_engine import DockerEngineSource
    from dive_py.domain.sources.engine_endpoint import resolve_endpoint

    source = DockerEngineSource(endpoint=resolve_endpoint(env), pull=False)
    reference = build_image(request, source, stderr)
    args.image = reference

    def load(progress: Any) -> Any:
        from dive_py.domain.analysis import analyse
        from dive_py.domain.sources.platform import Platform

        platform = Platform.parse(args.platform) if args.platform else None
        return analyse(source.fetch(reference, platform=platform, progress=progress))

    if ci or args.json_path:
        analysis = load(StderrProgress(stderr))
        if args.json_path:
            from dive_py.atomic_file import write_atomically
            from dive_py.domain.export_json import render_json

            write_atomically(args.json_path, render_json(analysis))
            print(f"Exported analysis to {args.json_path}", file=stderr)
        if ci:
            from dive_py.ci.run import run_ci

            return run_ci(analysis, rules, ci_options, env, stdout)  # type: ignore[arg-type]  # rules: set above whenever ci is
        return 0
    from dive_py.ui.launch import run_explorer

    return run_explorer(load, args, env)


__all__ = ["BuildRequest", "build_image", "parse_build_args", "run_build"]
