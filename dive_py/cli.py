"""Provides :func:`main`, the ``divepy`` command: dispatch on the first argument, map errors to exit codes.

A first argument naming a subcommand (:data:`dive_py.commands.subcommands.SUBCOMMANDS`:
``divepy build …``, ``divepy version``) runs it; anything else is ``divepy [flags] IMAGE``,
:func:`dive_py.commands.explore.run_explore`. ``--ci`` and ``--json`` never import Textual;
only the interactive path imports :mod:`dive_py.ui`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TextIO

from dive_py.errors import DivepyError
from dive_py.exit_codes import ExitCode


def run(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy`` with ``argv`` (without the program name); return the exit code.

    Args:
        argv: the arguments.
        env: the environment the run reads (``CI``, ``DOCKER_HOST``, ``DIVEPY_CACHE_DIR``…);
            nothing reads ``os.environ`` behind its back.
        stdout: receives the CI report and ``--version``.
        stderr: receives progress and messages.

    Raises:
        DivepyError: expected failures (the caller prints them as one line).
    """
    from dive_py.commands.subcommands import find_subcommand

    subcommand = find_subcommand(argv[0]) if argv else None
    if subcommand is not None:
        return subcommand.load()(list(argv[1:]), env, stdout, stderr)
    from dive_py.commands.explore import run_explore

    return run_explore(argv, env, stdout, stderr)


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that cleanup (temp files) runs before exit 143."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: run, print expected errors as one line, map them to exit codes.

    SIGINT exits 130 and SIGTERM 143, both after the usual cleanup (no temp file left behind,
    no analysis cache entry: see :mod:`dive_py.commands.explore`).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
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
