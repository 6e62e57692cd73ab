"""Provides :func:`main`, the ``divepy`` command: parse flags, read the image, then TUI, CI or JSON.

``--ci`` and ``--json`` never import Textual; only the interactive path imports
:mod:`dive_py.ui`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from dive_py import __version__
from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.errors import DivepyError, UsageError
from dive_py.exit_codes import ExitCode

EXIT_CODES_HELP = """\
exit codes:
  0    success (in CI mode: every rule passed)
  1    CI mode: a rule failed
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


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, "see 'divepy --help'")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``divepy [flags] IMAGE``."""
    parser = _Parser(
        prog="divepy",
        description="Explore a container image layer by layer, and measure wasted bytes.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image",
        nargs="?",
        help="image name, or path of an archive/layout "
        "(scheme prefixes: docker://, podman://, docker-archive://, oci://)",
    )
    parser.add_argument(
        "--source",
        default=None,
        help="where to read the image: docker (default), docker-archive, oci, podman",
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
        help="write the analysis as JSON to FILE (no TUI)",
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


READ_LINE_INTERVAL_S = 0.1
"""Seconds between two redraws of the terminal's "read N MB" line (a new layer redraws at once)."""


class StderrProgress:
    """A :class:`~dive_py.domain.progress.ProgressListener` that reports on stderr.

    Phase messages are always printed; byte counters only when stderr is a terminal (then
    redrawn on one line).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._pulls: dict[str, str] = {}
        self._last_read_line = float("-inf")
        self._last_layers = -1

    def message(self, text: str) -> None:
        self._clear()
        print(escape_text(text), file=self._stream, flush=True)

    def _clear(self) -> None:
        if self._live:
            self._stream.write("\r\x1b[K")

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        if not layer:
            return

        text = f"{status} {format_bytes(current)} / {format_bytes(total)}" if total else status
        if self._live:
            self._clear()
            self._stream.write(f"  {layer[:12]}: {text}"[:100])
            self._stream.flush()
        elif (
            status in ("Pull complete", "Already exists", "Download complete")
            and self._pulls.get(layer) != status
        ):
            print(f"  {layer[:12]}: {status}", file=self._stream, flush=True)
        self._pulls[layer] = status

    def read(self, bytes_read: int, layers_read: int) -> None:
        if self._live:
            now = time.monotonic()
            if (
                now - self._last_read_line < READ_LINE_INTERVAL_S
                and layers_read == self._last_layers
            ):
                return  # called per chunk of the stream: redraw at most 10 times a second
            self._last_read_line, self._last_layers = now, layers_read
            self._clear()
            self._stream.write(f"  read {format_bytes(bytes_read)}, {layers_read} layers")
            self._stream.flush()

    def done(self) -> None:
        self._clear()
        if self._live:
            self._stream.flush()


def ci_enabled(args: argparse.Namespace, env: Mapping[str, str]) -> bool:
    """True when ``--ci`` was given or ``CI`` holds a truthy value."""
    return bool(args.ci) or env.get("CI", "").strip() in TRUTHY


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an analysis is built, then freeze it.

    Reading a layer allocates one object per tar entry and creates no reference cycles, yet
    every few thousand allocations the collector rescans all live objects: about a tenth of
    the time at 200,000 entries (bench/README.md). Afterwards the analysis is moved to the
    permanent generation (``gc.freeze``), so the explorer's collections skip its entries.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


def _load(args: argparse.Namespace, env: Mapping[str, str], progress: object) -> object:
    with _gc_paused():
        return _load_analysis(args, env, progress)


def _load_analysis(args: argparse.Namespace, env: Mapping[str, str], progress: object) -> object:
    from dive_py.domain.analysis import analyse
    from dive_py.domain.sources import open_image

    source = args.source or env.get("DIVE_SOURCE") or "docker"
    slot = None
    if not getattr(args, "no_cache", False):
        from dive_py.domain.analysis_cache import open_slot

        slot = open_slot(args.image, source, args.platform, env)  # before any save stream
        cached = slot.load() if slot is not None else None
        if cached is not None:
            progress.message(
                f"Using the cached analysis of {args.image} "  # type: ignore[attr-defined]
                "(--no-cache reads the image again)"
            )
            return cached
    image = open_image(args.image, source=source, platform=args.platform, progress=progress)  # type: ignore[arg-type]
    analysis = analyse(image)
    if slot is not None:
        slot.store(analysis)
    return analysis


def run(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy`` with ``argv`` (without the program name); return the exit code.

    Raises:
        DivepyError: expected failures (the caller prints them as one line).
    """
    if argv and argv[0] == "build":
        from dive_py.build import run_build

        return run_build(list(argv[1:]), env, stdout, stderr)
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.version:
        print(f"divepy {__version__}", file=stdout)
        return ExitCode.OK
    for flag, value in (
        ("--json", args.json_path),
        ("--junit", args.junit),
        ("--ci-config", args.ci_config),
        ("--config", args.config),
    ):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} needs a file name, got an empty value", "see 'divepy --help'")
    if args.source is not None:
        from dive_py.domain.sources import canonical_source

        args.source = canonical_source(args.source)
    if args.platform is not None:
        from dive_py.domain.sources.platform import Platform

        args.platform = Platform.parse(args.platform)
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
    ci = ci_enabled(args, env)
    if ci or args.json_path:
        from dive_py.atomic_file import write_atomically
        from dive_py.domain.export_json import render_json

        rules = None
        if ci:
            from dive_py.ci.options import CiOptions
            from dive_py.ci.rules import load_rules

            ci_options = CiOptions.from_arguments(args)
            rules = load_rules(ci_options)  # misconfiguration fails before the image is read
        analysis = _load(args, env, StderrProgress(stderr))
        if args.json_path:
            write_atomically(args.json_path, render_json(analysis))  # type: ignore[arg-type]
            print(f"Exported analysis to {escape_text(args.json_path)}", file=stderr)
        if ci:
            from dive_py.ci.run import run_ci

            return run_ci(analysis, rules, ci_options, env, stdout)  # type: ignore[arg-type]  # _load's -> object; rules set when ci
        return ExitCode.OK
    from dive_py.ui.launch import run_explorer

    return run_explorer(lambda progress: _load(args, env, progress), args, env)


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that cleanup (temp files) runs before exit 143."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: run, print expected errors as one line, map them to exit codes.

    SIGINT exits 130 and SIGTERM 143, both after the usual cleanup (no temp file left behind).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = run(args, os.environ, sys.stdout, sys.stderr)
    except DivepyError as exc:
        print(f"divepy: {exc.one_line()}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("divepy: interrupted", file=sys.stderr)
        code = ExitCode.INTERRUPTED
    except Terminated:
        print("divepy: terminated", file=sys.stderr)
        code = ExitCode.TERMINATED
    except BrokenPipeError:
        code = ExitCode.OK
    except Exception as exc:  # an unexpected bug: one line unless --debug
        if debug:
            raise
        print(
            f"divepy: internal error: {type(exc).__name__}: {exc} - rerun with --debug and "
            "report it",
            file=sys.stderr,
        )
        code = ExitCode.INTERNAL
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
