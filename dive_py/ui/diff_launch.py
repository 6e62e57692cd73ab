"""Provides :func:`run_diff_explorer`: run the diff explorer (:class:`~dive_py.ui.diff_app.DiffApp`)
on the terminal for ``divepy diff A B``, with dive's config files applied."""

from __future__ import annotations

from collections.abc import Mapping

from dive_py.domain.analysis import Analysis
from dive_py.domain.image_diff import ImageDiff


def run_diff_explorer(
    diff: ImageDiff, a: Analysis, b: Analysis, names: tuple[str, str], env: Mapping[str, str]
) -> int:
    """Run the diff explorer on the terminal; return 0 (identical) or 1 (they differ).

    dive's config files (``~/.dive.yaml``…) apply as in the explorer: keys, hidden change
    types, attributes.

    Raises:
        UsageError: a bad config file (before the app starts).
        Exception: an unhandled exception that ended the app (a bug), re-raised once the
            terminal is restored (:func:`dive_py.cli.main` reports it, exit 70).
    """
    from dive_py.explorer_config import load_explorer_config
    from dive_py.ui.diff_app import DiffApp
    from dive_py.ui.key_table import DEFAULT_KEYS
    from dive_py.ui.launch import drawing_on_terminal

    config = load_explorer_config(None, env, default_keys=DEFAULT_KEYS)
    app = DiffApp(diff, a, b, names=names, config=config, env=env)
    with drawing_on_terminal():
        code = app.run()
    if app.crash is not None:
        raise app.crash
    return app.exit_code if code is None else int(code)
