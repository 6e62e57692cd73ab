"""Provides :func:`run_explorer`: start the explorer at once and read the image behind a progress view."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from dive_py.domain.analysis import Analysis
from dive_py.domain.progress import ProgressListener
from dive_py.errors import UsageError
from dive_py.exit_codes import ExitCode

if TYPE_CHECKING:
    from dive_py.ui.containers_screen import ContainerCatalog


def _has_terminal() -> bool:
    """True when both stdin and stdout are terminals (the loading view can be drawn)."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def drawing_on_terminal() -> Iterator[None]:
    """Within the block, let stderr (file descriptor 2) be the terminal that stdout is.

    Textual draws on ``sys.__stderr__``. With stderr redirected (``divepy IMAGE 2>log``) and
    stdout a terminal, the explorer would be drawn into the log file and the screen stay
    blank; for the block, descriptor 2 is a copy of descriptor 1, and the log is restored
    afterwards (so that an error message after the explorer ends still goes to the log).
    Nothing changes when stderr is a terminal, or stdout is not one.
    """
    try:
        out, err = sys.__stdout__, sys.__stderr__
        swap = out is not None and err is not None and out.isatty() and not err.isatty()
        out_fd, err_fd = (out.fileno(), err.fileno()) if swap and out and err else (-1, -1)
    except (AttributeError, ValueError, OSError):
        swap = False
    if not swap:
        yield
        return
    saved = os.dup(err_fd)
    try:
        os.dup2(out_fd, err_fd)
        yield
    finally:
        os.dup2(saved, err_fd)
        os.close(saved)


def run_explorer(
    load: Callable[[ProgressListener], Analysis],
    args: argparse.Namespace,
    env: Mapping[str, str],
    containers: ContainerCatalog | None = None,
) -> int:
    """Run the interactive explorer; return the exit code.

    The app is drawn on the terminal even when stderr is redirected (see
    :func:`drawing_on_terminal`). It starts with a loading view (progress of pull, save and read) while ``load`` runs in
    a thread, then shows the explorer. ``containers`` (engine sources) lists the image's
    containers and opens one (:class:`~dive_py.ui.containers_screen.ContainersScreen`). Without a terminal (stdin or stdout redirected) the image
    is read first, so that a failure is reported as one clean line with nothing drawn.

    Raises:
        DivepyError: what ``load`` raised, re-raised once the terminal is restored.
        Exception: an unhandled exception that ended the explorer (:attr:`DiveApp.crash`),
            re-raised once the terminal is restored; :func:`dive_py.cli.main` reports it as
            an internal error (exit 70).
        KeyboardInterrupt: the user quit (or pressed Ctrl+C) while the image was loading.
        UsageError: a bad config file (before the app starts), or no terminal (after the
            image was read, so that a missing image is still reported as such).
    """
    from dive_py.explorer_config import load_explorer_config
    from dive_py.ui.app import DiveApp
    from dive_py.ui.key_table import DEFAULT_KEYS

    config = load_explorer_config(getattr(args, "config", None), env, default_keys=DEFAULT_KEYS)
    image_name = None if getattr(args, "demo", False) else getattr(args, "image", None)
    if not _has_terminal():
        # Read the image first (its errors are the more useful ones), then refuse: an explorer
        # drawn into a file or a pipe would wait for keys that never come.
        load(ProgressListener())
        raise UsageError(
            "the explorer needs a terminal (stdin and stdout are not one)",
            "run it in a terminal, or use --ci (or CI=true) or --json FILE",
        )
    app = DiveApp(
        None, image_name=image_name, config=config, loader=load, containers=containers, env=env
    )
    with drawing_on_terminal():
        app.run()
    if app.crash is not None:  # a bug: the CLI prints one line and exits 70 (--debug: traceback)
        raise app.crash
    if app.load_error is not None:
        raise app.load_error
    if app.quit_while_loading:
        raise KeyboardInterrupt
    return int(ExitCode.OK)
