"""Provides :func:`run_explore`, ``divepy [flags] IMAGE``, and :func:`explore`, its dispatch.

:func:`explore` is the one place that turns parsed flags into a run: the CI report (``--ci``
or ``CI=true``), the JSON export (``--json``), otherwise the explorer; the analysis cache; the
collector pause while the image is read; escaped text on stderr. ``divepy build``
(:mod:`dive_py.commands.build`) calls it for the image it built.

Interruption rule: a run interrupted by SIGINT (exit 130) or SIGTERM (exit 143) leaves
nothing new behind: output files are replaced atomically, and the analysis cache entry is
committed only when the run has completed (after the JSON, JUnit and CI report are written,
or when the explorer has the analysis).

``--ci`` and ``--json`` never import Textual; only the interactive path imports
:mod:`dive_py.ui`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, TextIO

from dive_py.commands.pause_hook import PauseHook
from dive_py.commands.stderr_progress import StderrProgress
from dive_py.commands.subcommands import SUBCOMMANDS, subcommands_help
from dive_py.commands.suggestions import closest
from dive_py.commands.version import version_line
from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.analysis_cache import CacheSlot
from dive_py.domain.collector_pause import collector_paused
from dive_py.domain.progress import ProgressListener
from dive_py.errors import UsageError
from dive_py.exit_codes import ExitCode

if TYPE_CHECKING:
    from dive_py.ci.rules import Rules
    from dive_py.domain.container_layer import ContainerInfo
    from dive_py.domain.sources.docker_engine import DockerEngineSource

EXIT_CODES_HELP = """\
exit codes:
  0    success (in CI mode: every rule passed)
  1    CI mode: a rule failed; divepy diff: the images differ
  2    bad command line, bad flag value, or misconfigured CI rules
  3    the image could not be read (not found, pull failed, engine unreachable,
       corrupt or truncated archive)
  4    an output file (--json, --junit) could not be written
  70   internal error (a bug: rerun with --debug and report it)
  130  interrupted (Ctrl+C)
  143  terminated (SIGTERM)
"""

TRUTHY = frozenset({"1", "t", "T", "true", "TRUE", "True"})
"""Values of ``CI`` that turn CI mode on (Go's ``strconv.ParseBool`` true spellings, as dive)."""


_ARGPARSE_ERRORS = (
    (re.compile(r"argument (\S+): expected one argument"), "{} needs a value"),
    (re.compile(r"argument (\S+): ignored explicit argument '(.*)'"), "{} takes no value"),
)
"""argparse's messages that name an option as ``-j/--json``, and divepy's wording for them."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        for pattern, text in _ARGPARSE_ERRORS:
            found = pattern.match(message)
            if found:
                flag = found.group(1).split("/")[-1]  # "-j/--json": the long spelling
                raise UsageError(text.format(flag), "see 'divepy --help'")
        raise UsageError(message, "see 'divepy --help'")


def _usage() -> str:
    lines = ["divepy [flags] IMAGE"]
    lines.extend(f"divepy {subcommand.usage}" for subcommand in SUBCOMMANDS)
    return "\n       ".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``divepy [flags] IMAGE``.

    Its help lists the subcommands (:data:`~dive_py.commands.subcommands.SUBCOMMANDS`) and
    the exit codes. Flags are matched whole, never by prefix (as dive's): a later flag cannot
    make an abbreviation in a script ambiguous, and a typo gets a suggestion
    (:func:`parse_arguments`). Its ``error`` raises :class:`~dive_py.errors.UsageError`
    (exit 2) instead of exiting.
    """
    parser = _Parser(
        prog="divepy",
        usage=_usage(),
        description="Explore a container image layer by layer, and measure wasted bytes.",
        epilog=f"{subcommands_help()}\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "image",
        nargs="?",
        help="image name, or path of an archive/layout "
        "(scheme prefixes: docker://, podman://, docker-archive://, oci://, container://, registry://)",
    )
    parser.add_argument(
        "--source",
        default=None,
        help="where to read the image: docker (default), docker-archive, oci, podman, "
        "container (a container of the Docker engine: its image and its read/write layer), "
        "registry (a registry's OCI distribution API, no engine)",
    )
    parser.add_argument(
        "--insecure-registry",
        metavar="HOST[:PORT]",
        action="append",
        default=[],
        help="allow plain HTTP to this registry (repeatable; localhost and 127.0.0.1 always are)",
    )
    parser.add_argument(
        "--platform",
        default=None,
        help="os/arch[/variant] to pick from a multi-platform image (default: the host's)",
    )
    parser.add_argument(
        "-j",
        "--json",
        metavar="FILE",
        dest="json_path",
        help="write the analysis as JSON to FILE, or to stdout with '-' (no TUI)",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="CI mode: print the figures and check the rules, no TUI (also CI=true)",
    )
    parser.add_argument(
        "--ci-config",
        metavar="PATH",
        default=None,
        help="CI rules file (default: .dive-ci in the working directory)",
    )
    for camel, kebab in (
        ("--lowestEfficiency", "--lowest-efficiency"),
        ("--highestWastedBytes", "--highest-wasted-bytes"),
        ("--highestUserWastedPercent", "--highest-user-wasted-percent"),
        ("--highestReclaimableBytes", "--highest-reclaimable-bytes"),
    ):
        parser.add_argument(
            camel,
            kebab,
            dest=camel.lstrip("-"),
            default=None,
            metavar="VALUE",
            help="CI rule threshold ('disabled' skips the rule)",
        )
    parser.add_argument(
        "--ci-all-files",
        action="store_true",
        help="CI report: list every inefficient file, not only the largest",
    )
    parser.add_argument(
        "--junit",
        metavar="FILE",
        default=None,
        help="CI mode: also write a JUnit XML report to FILE",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="write a small sample image (docker-archive) and open it; needs no engine",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="divepy/dive config file (default: the usual dive config locations)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not use the analysis cache")
    parser.add_argument(
        "--dockerfile",
        metavar="PATH",
        default=None,
        help="the Dockerfile the image was built from: waste hints name its file and line",
    )
    parser.add_argument(
        "-i",
        "--ignore-errors",
        action="store_true",
        help="accepted for dive compatibility (divepy never stops on path errors)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on unexpected errors"
    )
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    return parser


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings]


def _leftover_error(
    parser: argparse.ArgumentParser, image: str | None, extra: list[str]
) -> UsageError:
    """The usage error for what :func:`parse_arguments`'s parser left over.

    An unknown flag is named alone, with the closest valid flag: the word after it (its
    intended value, or the image) is not called an unrecognised argument. A mistyped
    subcommand (``divepy biuld …``) is named as such.
    """
    if image is not None:
        command = closest(image, [subcommand.name for subcommand in SUBCOMMANDS])
        if command is not None and command != image:
            return UsageError(
                f"unknown command {image!r} (did you mean 'divepy {command}'?)",
                "see 'divepy --help' for the commands",
            )
    for token in extra:
        if token.startswith("-") and token != "-":
            flag = token.partition("=")[0]
            suggestion = closest(flag, _flags(parser))
            if suggestion is not None:
                return UsageError(
                    f"unknown flag {flag} (did you mean {suggestion}?)", "see 'divepy --help'"
                )
            return UsageError(f"unknown flag {flag}", "see 'divepy --help' for the flags")
    images = [token for token in [image, *extra] if token is not None]
    return UsageError(
        f"one image expected, got {len(images)}: {' '.join(images)}",
        "name one image; flags go before or after it",
    )


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``divepy [flags] IMAGE`` with :func:`build_parser`.

    Raises:
        UsageError: an unknown flag (named with the closest valid flag: ``unknown flag
            --lowestEfficency (did you mean --lowestEfficiency?)``), a flag without its value,
            a mistyped subcommand, or more than one image.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(list(argv))
    if extra:
        raise _leftover_error(parser, args.image, extra)
    return args


def ci_enabled(args: argparse.Namespace, env: Mapping[str, str]) -> bool:
    """True when ``--ci`` was given or ``CI`` holds a truthy value."""
    return bool(args.ci) or env.get("CI", "").strip() in TRUTHY


def check_arguments(args: argparse.Namespace) -> None:
    """Check the values argparse cannot, and normalise them in place.

    ``--source`` becomes its canonical name, ``--platform`` a
    :class:`~dive_py.domain.sources.platform.Platform`.

    Raises:
        UsageError: an empty file name, an unknown source, a malformed platform.
    """
    for flag, value in (
        ("--json", args.json_path),
        ("--junit", args.junit),
        ("--ci-config", args.ci_config),
        ("--config", args.config),
    ):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} needs a file name, got an empty value", "see 'divepy --help'")
    dockerfile = getattr(args, "dockerfile", None)
    if dockerfile is not None and not os.path.isfile(dockerfile):
        raise UsageError(
            f"--dockerfile {dockerfile}: no such file",
            "name the Dockerfile the image was built from",
        )
    if args.source is not None:
        from dive_py.domain.sources import canonical_source

        args.source = canonical_source(args.source)
    if args.platform is not None:
        from dive_py.domain.sources.platform import Platform

        args.platform = Platform.parse(args.platform)


def check_output_paths(args: argparse.Namespace, ci: bool) -> None:
    """Check that the output files the run will write can be written, before any image is read.

    ``--json`` always, ``--junit`` in CI mode (it is ignored otherwise); see
    :func:`~dive_py.atomic_file.check_writable` for what is checked. A typo in a directory
    name then fails at once, not after reading (or building) a large image.

    Raises:
        OutputError: an output path cannot be written (exit 4).
    """
    from dive_py.atomic_file import check_writable

    if args.json_path == "-" and ci:
        raise UsageError(
            "--json - and CI mode both write to stdout", "name a file for --json, or drop --ci"
        )
    if args.json_path and args.json_path != "-":
        check_writable(args.json_path)
    if ci and args.junit:
        check_writable(args.junit)


@dataclass(slots=True)
class LoadedAnalysis:
    """An analysis as read for one run, and its pending cache entry.

    Attributes:
        analysis: the :class:`~dive_py.domain.analysis.Analysis`.
        slot: where it goes in the analysis cache; None when not cached (``--no-cache``, a
            source that cannot be cached, an engine that does not know the image).
        from_cache: True when it was loaded from the cache (nothing to commit).
        stored: what the cache stores when it is not ``analysis`` (a container's image analysis,
            without the container's layer); None otherwise.
    """

    analysis: Analysis
    slot: CacheSlot | None = None
    from_cache: bool = False
    stored: Analysis | None = None

    def commit(self) -> None:
        """Store the analysis in the cache (once the run has completed). Never raises."""
        if self.slot is not None and not self.from_cache:
            self.slot.store(self.stored if self.stored is not None else self.analysis)
            self.from_cache = True


def load_analysis(
    args: argparse.Namespace,
    env: Mapping[str, str],
    progress: ProgressListener,
    engine: DockerEngineSource | None = None,
    *,
    keep_states: bool = False,
) -> LoadedAnalysis:
    """Read and analyse the image ``args`` names, or load it from the cache; commit nothing.

    The cyclic garbage collector is paused meanwhile and the result frozen afterwards
    (:func:`~dive_py.domain.collector_pause.collector_paused`).

    Args:
        args: the parsed flags (``image``, ``source``, ``platform``, ``no_cache``).
        env: the run's environment (engine endpoint, cache directory).
        progress: receives the read's progress.
        engine: the Docker engine to read from (``divepy build``'s); None to pick the source
            from the image argument and ``--source``.
        keep_states: keep every layer's stacked state from the analysis, for the explorer
            (see :func:`~dive_py.domain.analysis.analyse`; an analysis from the cache has
            none stored: they are stacked after it is loaded).

    Raises:
        DivepyError: the image could not be read.
    """
    with collector_paused(freeze=True):
        from dive_py.domain import sources

        name, reference = sources.split_scheme(
            args.image, sources.default_source(args.image, args.source, env)
        )
        if name == "container":
            return _with_dockerfile(
                _load_container(args, reference, env, progress, keep_states), args
            )
        # a container's name given as an image is refused by the engine source before any
        # pull, with the container:// hint (DockerEngineSource._refuse_container)
        loaded = _load(args, env, progress, engine, keep_states)
        if name == "docker":
            from dive_py.domain.history import apply_build_cache
            from dive_py.domain.sources.docker_engine import DockerEngineSource
            from dive_py.domain.sources.engine_facts import annotate_from_engine

            annotate_from_engine(
                loaded.analysis, engine or DockerEngineSource(env=env, pull=False), reference
            )
            build_cache = getattr(args, "build_cache", None)
            if build_cache is not None:
                apply_build_cache(loaded.analysis.image.history, build_cache)
        return _with_dockerfile(loaded, args)


def _with_dockerfile(loaded: LoadedAnalysis, args: argparse.Namespace) -> LoadedAnalysis:
    """Attach the Dockerfile ``--dockerfile`` (or ``divepy build``) names: waste hints name
    its lines."""
    dockerfile = getattr(args, "dockerfile", None)
    loaded.analysis.dockerfile = ()  # (a cached analysis keeps no earlier run's Dockerfile)
    if dockerfile:
        from dive_py.domain.dockerfile_steps import read_dockerfile

        loaded.analysis.dockerfile = tuple(read_dockerfile(dockerfile))
    return loaded


def _load_container(
    args: argparse.Namespace,
    reference: str,
    env: Mapping[str, str],
    progress: ProgressListener,
    keep_states: bool,
) -> LoadedAnalysis:
    """Read a container: its image (through the analysis cache), then its read/write layer."""
    from dive_py.domain.container_analysis import with_container
    from dive_py.domain.sources.container import ContainerSource
    from dive_py.domain.sources.engine_facts import annotate_from_engine

    source = ContainerSource(env=env)
    info = source.inspect(reference)
    image_args = argparse.Namespace(**vars(args))
    image_args.image = info.image_id
    image_args.source = "docker"
    loaded = _load(image_args, env, progress, source.engine, keep_states)
    image_analysis = loaded.analysis
    image_analysis.image.reference = info.image
    annotate_from_engine(image_analysis, source.engine, info.image_id)
    layer = source.read_layer(info, image_analysis.final_state(), progress)
    combined = with_container(image_analysis, info, layer)
    return LoadedAnalysis(combined, loaded.slot, loaded.from_cache, stored=image_analysis)


def _load(
    args: argparse.Namespace,
    env: Mapping[str, str],
    progress: ProgressListener,
    engine: DockerEngineSource | None,
    keep_states: bool,
) -> LoadedAnalysis:
    from dive_py.domain import analysis as analysis_module
    from dive_py.domain import sources
    from dive_py.domain.sources.docker_engine import DockerEngineSource

    source = sources.default_source(args.image, args.source, env)
    keyed = engine
    if keyed is None and sources.split_scheme(args.image, source)[0] == "docker":
        keyed = DockerEngineSource(env=env, pull=False)  # asks for the cache key
    slot = None
    if getattr(args, "no_cache", False):
        env = {**env, "DIVEPY_LAYER_CACHE": "off"}  # no layer cache either
        if engine is not None:
            from dive_py.domain.layer_store import NoLayerStore

            engine.layers = NoLayerStore()
    else:
        from dive_py.domain.analysis_cache import open_slot

        name, _ = sources.split_scheme(args.image, source)
        engine_key = None
        if name == "docker" and keyed is not None:
            engine_key = keyed.cache_key
        elif name == "registry":
            from dive_py.domain.sources.registry import RegistrySource

            engine_key = RegistrySource(env).cache_key
        slot = open_slot(args.image, source, args.platform, env, engine_key)  # before any read
        cached = slot.load() if slot is not None else None
        if cached is not None:
            progress.message(
                f"Using the cached analysis of {args.image} (--no-cache reads the image again)"
            )
            if keep_states:
                # The cache holds no states (their nodes would cost more to unpickle than
                # to stack): stack them now, as the analysis does, so that no key waits for
                # a stacking step (issue 11; about 1 s at 500,000 entries, the cached
                # analysis itself 0.5 s).
                cached.final_state()
            return LoadedAnalysis(cached, slot, from_cache=True)
    unreachable = (
        keyed.unreachable(sources.split_scheme(args.image, "docker")[1]) if keyed else None
    )
    if unreachable is not None:
        raise unreachable  # it did not answer the cache key: do not wait for it twice
    if engine is not None:
        _, reference = sources.split_scheme(args.image, "docker")
        image = engine.fetch(reference, platform=args.platform, progress=progress)
    else:
        image = sources.open_image(
            args.image, source=source, platform=args.platform, progress=progress, env=env
        )
    return LoadedAnalysis(analysis_module.analyse(image, keep_states=keep_states), slot)


def explore(
    args: argparse.Namespace,
    env: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    *,
    rules: Rules | None = None,
    engine: DockerEngineSource | None = None,
) -> int:
    """Analyse the image ``args`` names: CI report, JSON export or explorer; return the exit code.

    Args:
        args: flags parsed by :func:`build_parser` and checked by :func:`check_arguments`,
            ``image`` set.
        env: the run's environment (``CI``, engine endpoint, cache directory, test hook).
        stdout: receives the CI report.
        stderr: receives progress and messages.
        rules: the CI rules when the caller loaded them already (``divepy build`` checks them
            before building); loaded here otherwise.
        engine: the Docker engine to read from (see :func:`load_analysis`).

    Raises:
        DivepyError: expected failures (usage 2, image 3, output 4).
    """
    ci = ci_enabled(args, env)
    pause = PauseHook(env, stderr)
    if ci or args.json_path:
        from dive_py.atomic_file import write_atomically
        from dive_py.domain.export_json import render_json

        ci_options = None
        if ci:
            from dive_py.ci.options import CiOptions

            ci_options = CiOptions.from_arguments(args)
        if ci_options is not None and rules is None:
            from dive_py.ci.rules import load_rules

            rules = load_rules(ci_options)  # misconfiguration fails before the image is read
        check_output_paths(args, ci)  # and so does an output path that cannot be written
        loaded = load_analysis(args, env, pause.wrap(StderrProgress(stderr)), engine)
        pause.at("analysed")
        code = int(ExitCode.OK)
        if args.json_path == "-":
            stdout.write(render_json(loaded.analysis))  # as `divepy diff --json -`
        elif args.json_path:
            write_atomically(args.json_path, render_json(loaded.analysis))
            print(f"Exported analysis to {escape_text(args.json_path)}", file=stderr)
        if ci_options is not None and rules is not None:
            from dive_py.ci.run import run_ci

            code = run_ci(loaded.analysis, rules, ci_options, env, stdout)
        pause.at("outputs-written")
        loaded.commit()  # the run is complete: only now may it leave a cache entry
        return code
    from dive_py.ui.launch import run_explorer

    def load(progress: ProgressListener) -> Analysis:
        loaded = load_analysis(args, env, progress, engine, keep_states=True)
        loaded.commit()  # the explorer has the analysis
        return loaded.analysis

    return run_explorer(load, args, env, containers=EngineContainers.for_run(args, env, engine))


class EngineContainers:
    """The containers of the engine an image was read from, for the explorer's list of
    containers (:class:`~dive_py.ui.containers_screen.ContainerCatalog`): each opens as
    ``container://NAME``, read as :func:`load_analysis` reads it (the analysis cache applies).

    Args:
        args: the run's parsed flags (copied for each container opened).
        env: the run's environment (engine endpoint, cache directory).
        engine: the engine to ask; made from ``env`` when None.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        env: Mapping[str, str],
        engine: DockerEngineSource | None = None,
    ) -> None:
        self._args = args
        self._env = env
        self._engine = engine

    @classmethod
    def for_run(
        cls, args: argparse.Namespace, env: Mapping[str, str], engine: DockerEngineSource | None
    ) -> EngineContainers | None:
        """The catalog when the run reads from the Docker engine (``docker``, ``container``
        sources, and ``divepy build``); None for archives, layouts, registries, podman."""
        from dive_py.domain import sources

        name, _ = sources.split_scheme(
            args.image, sources.default_source(args.image, args.source, env)
        )
        if engine is None and name not in ("docker", "container"):
            return None
        return cls(args, env, engine)

    def containers(self, image_id: str) -> list[ContainerInfo]:
        """The containers made from ``image_id``, running ones first.

        Raises:
            EngineUnreachableError: the engine does not answer.
        """
        from dive_py.domain import sources
        from dive_py.domain.sources.docker_engine import DockerEngineSource
        from dive_py.domain.sources.image_containers import image_containers

        engine = self._engine or DockerEngineSource(env=self._env, pull=False)
        name, reference = sources.split_scheme(
            self._args.image, sources.default_source(self._args.image, self._args.source, self._env)
        )
        return image_containers(
            engine,
            image_id,
            reference if name == "docker" else "",
            reference if name == "container" else "",
        )

    def loader(self, name: str) -> Callable[[ProgressListener], Analysis]:
        """The loader of ``container://name`` (its analysis is committed to the cache)."""
        args = argparse.Namespace(**vars(self._args))
        args.image = f"container://{name}"
        args.source = None
        args.build_cache = None

        def load(progress: ProgressListener) -> Analysis:
            loaded = load_analysis(args, self._env, progress, None, keep_states=True)
            loaded.commit()
            return loaded.analysis

        return load


def run_explore(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy [flags] IMAGE`` with ``argv`` (without the program name); return the exit code.

    Raises:
        DivepyError: expected failures (the caller prints them as one line).
    """
    args = parse_arguments(argv)
    if args.version:
        print(version_line(), file=stdout)
        return int(ExitCode.OK)
    check_arguments(args)
    if args.demo:
        if args.image:
            raise UsageError(
                "--demo opens the sample image: do not name another image",
                "drop the image name or --demo",
            )
        from dive_py.domain.demo_image import write_demo_archive

        args.image = write_demo_archive()
        args.source = "docker-archive"
    if not args.image:
        raise UsageError("no image named", "run 'divepy IMAGE', or 'divepy --demo' to try it")
    if args.insecure_registry:
        listed = [env.get("DIVEPY_INSECURE_REGISTRIES", ""), *args.insecure_registry]
        env = {**env, "DIVEPY_INSECURE_REGISTRIES": ",".join(h for h in listed if h)}
    return explore(args, env, stdout, stderr)
