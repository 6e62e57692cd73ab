"""Provides :func:`run_build`: ``divepy build [docker build args…] -t TAG CONTEXT``.

Builds the image through the Engine API (:func:`~dive_py.domain.sources.image_build.build_image`,
the classic builder), streaming the build log to stderr, then analyses the built image exactly
like ``divepy TAG`` (:func:`dive_py.commands.explore.explore`: the CI report with ``--ci`` or
``CI=true`` (dive's ``build`` ignores both), the JSON export with ``--json``, otherwise the
explorer; the analysis cache and the collector pause included).

The options understood are listed in :data:`BUILD_HELP`; anything else is a usage error
(exit 2). They are parsed with argparse (``parse_known_args``, each spelling registered on
its own so that an error names the one the user typed).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

from dive_py.commands.explore import (
    build_parser,
    check_arguments,
    check_output_paths,
    ci_enabled,
    explore,
)
from dive_py.commands.suggestions import closest
from dive_py.domain.sources.image_build import BuildCacheLog, BuildRequest, build_image
from dive_py.errors import UsageError

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

# docker build options: spellings -> (destination, takes a value)
_DOCKER_OPTIONS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("-t", "--tag"), "tag", True),
    (("-f", "--file"), "file", True),
    (("--build-arg",), "build_arg", True),
    (("--target",), "target", True),
    (("--platform",), "platform", True),
    (("--no-cache",), "no_cache", False),
    (("--pull",), "pull", False),
    (("--label",), "label", True),
    (("--network",), "network", True),
    (("-q", "--quiet"), "quiet", False),
    (("--progress",), "progress", True),
)
_PASSED_ON = frozenset({"--platform", "--no-cache"})
"""docker build options that also apply to the analysis of the built image."""

# divepy options passed on to the analysis: spelling -> takes a value
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


@dataclass(slots=True)
class BuildInvocation(BuildRequest):
    """A :class:`~dive_py.domain.sources.image_build.BuildRequest` plus divepy's own options.

    Attributes:
        divepy_argv: divepy's options in the order given (``--platform`` and ``--no-cache``
            included, as they apply to the analysis too), to parse with the ``divepy`` parser.
    """

    divepy_argv: list[str] = field(default_factory=list)


def _pass_on(namespace: argparse.Namespace, option: str | None, value: Any) -> None:
    """Record ``option`` as typed (and its value, None for a flag) in ``namespace.divepy_argv``."""
    passed: list[str] = namespace.divepy_argv
    passed.append(str(option))
    if value is not None:
        passed.append(str(value))


class _PassOn(argparse.Action):
    """A divepy option: only passed on to the analysis."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        _pass_on(namespace, option_string, None if self.nargs == 0 else values)


class _AppendAndPassOn(argparse._AppendAction):
    """A docker build option with a value (repeatable); passed on when in :data:`_PASSED_ON`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        if option_string in _PASSED_ON:
            _pass_on(namespace, option_string, values)


class _FlagAndPassOn(argparse._StoreTrueAction):
    """A docker build flag; passed on when in :data:`_PASSED_ON`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        if option_string in _PASSED_ON:
            _pass_on(namespace, option_string, None)


_ARGPARSE_ERRORS = (
    (re.compile(r"argument (\S+): expected one argument"), "{} needs a value"),
    (re.compile(r"argument (\S+): ignored explicit argument"), "{} takes no value"),
)


class _BuildParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` in divepy build's words."""

    def error(self, message: str) -> NoReturn:
        for pattern, text in _ARGPARSE_ERRORS:
            found = pattern.match(message)
            if found:
                raise UsageError(f"divepy build: {text.format(found.group(1))}", _HINT)
        raise UsageError(f"divepy build: {message}", _HINT)


def _build_parser() -> argparse.ArgumentParser:
    parser = _BuildParser(prog="divepy build", add_help=False, allow_abbrev=False)
    parser.set_defaults(divepy_argv=[])
    for spellings, dest, takes_value in _DOCKER_OPTIONS:
        for spelling in spellings:  # one by one: argparse's errors then name the spelling used
            if takes_value:
                parser.add_argument(spelling, dest=dest, action=_AppendAndPassOn, default=[])
            else:
                parser.add_argument(spelling, dest=dest, action=_FlagAndPassOn)
    for spelling, takes_value in _DIVEPY_OPTIONS.items():
        parser.add_argument(
            spelling,
            dest=f"divepy{spelling}",
            action=_PassOn,
            nargs=None if takes_value else 0,
        )
    parser.add_argument("context", nargs="*")
    return parser


def parse_build_args(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
) -> BuildInvocation:
    """Parse ``divepy build`` arguments.

    Args:
        argv: the arguments after ``build``.
        env: the environment (``--build-arg KEY`` without a value takes ``env[KEY]``).
        cwd: the directory the context and ``-f`` are relative to (the working directory).

    Raises:
        UsageError: an unknown option, a missing value, no context or several, a context that
            is not a directory, an invalid tag, a missing Dockerfile.
    """
    base = os.getcwd() if cwd is None else cwd
    parsed, extra = _build_parser().parse_known_args(list(argv), argparse.Namespace())
    for token in extra:
        if token.startswith("-") and token != "-":
            option = token.partition("=")[0]
            known = [spelling for spellings, _, _ in _DOCKER_OPTIONS for spelling in spellings]
            suggestion = closest(option, [*known, *_DIVEPY_OPTIONS])
            if suggestion is not None:
                raise UsageError(
                    f"divepy build: unknown option {option} (did you mean {suggestion}?)", _HINT
                )
            raise UsageError(f"divepy build: unknown or unsupported option {option!r}", _HINT)
    positional = [*parsed.context, *extra]
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
    if len(parsed.platform) > 1:
        raise UsageError("divepy build: --platform given twice", "give it once")
    from docker.utils import match_tag

    for tag in parsed.tag:
        if not match_tag(tag):
            raise UsageError(
                f"divepy build: invalid tag {tag!r} for -t: invalid reference format",
                "use NAME[:TAG], lower-case, such as myapp:1.0",
            )
    request = BuildInvocation(
        context=os.path.abspath(context_path), divepy_argv=list(parsed.divepy_argv)
    )
    request.tags = list(parsed.tag)
    if len(parsed.file) > 1:
        raise UsageError("divepy build: -f/--file given twice", "give it once")
    if parsed.file:
        if parsed.file[0] == "-":
            raise UsageError(
                "divepy build: a Dockerfile from stdin (-f -) is not supported",
                "write it to a file and pass its path",
            )
        dockerfile = os.path.abspath(os.path.join(base, parsed.file[0]))
        if not os.path.isfile(dockerfile):
            raise UsageError(
                f"divepy build: the Dockerfile {parsed.file[0]!r} does not exist",
                "-f is relative to the working directory, as with docker build",
            )
        request.dockerfile = dockerfile
    for item in parsed.build_arg:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"divepy build: bad --build-arg {item!r}", "use KEY=VALUE or KEY")
        if sep:
            request.build_args[key] = value
        elif key in env:
            request.build_args[key] = env[key]
    for item in parsed.label:
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f"divepy build: bad --label {item!r}", "use KEY=VALUE")
        request.labels[key] = value
    request.target = parsed.target[-1] if parsed.target else None
    request.platform = parsed.platform[-1] if parsed.platform else None
    request.network = parsed.network[-1] if parsed.network else None
    request.no_cache = parsed.no_cache
    request.pull = parsed.pull
    request.quiet = parsed.quiet
    return request


def run_build(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy build ARGS``; return the exit code.

    Raises:
        DivepyError: usage errors (2), build or engine failures (3), output failures (4).
    """
    if any(token in ("-h", "--help") for token in argv):
        stdout.write(BUILD_HELP)
        return 0
    request = parse_build_args(argv, env)
    placeholder = request.tags[0] if request.tags else "built-image"
    args = build_parser().parse_args([*request.divepy_argv, placeholder])
    check_arguments(args)
    args.source = "docker"
    rules = None
    if ci_enabled(args, env):
        from dive_py.ci.options import CiOptions
        from dive_py.ci.rules import load_rules

        rules = load_rules(CiOptions.from_arguments(args))  # fails before the build
    check_output_paths(args, ci_enabled(args, env))  # as does an output path it cannot write
    from dive_py.domain.sources.docker_engine import DockerEngineSource

    engine = DockerEngineSource(pull=False, env=env)
    if not args.dockerfile:  # waste hints name the Dockerfile's lines
        args.dockerfile = request.dockerfile or os.path.join(request.context, "Dockerfile")
        if not os.path.isfile(args.dockerfile):
            args.dockerfile = None
    cache_log = BuildCacheLog()
    args.image = build_image(request, engine, stderr, cache_log)
    args.build_cache = cache_log.cached  # which steps came from the layer cache
    return explore(args, env, stdout, stderr, rules=rules, engine=engine)
