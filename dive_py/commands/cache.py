"""Provides :func:`run_cache`, ``divepy cache info`` and ``divepy cache clear``.

``info`` prints where the caches are and what they hold: the analysis cache (whole images,
:mod:`dive_py.domain.analysis_cache`) and the layer cache (parsed layers by digest, with its
size limit, :mod:`dive_py.domain.layer_cache`). ``clear`` deletes every entry of both and says
how much it freed. Both exit 0; a bad subcommand is a usage error (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from dive_py.commands.command_parser import CommandParser
from dive_py.domain.analysis_cache import MAX_ENTRIES
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.cache_directory import cache_directory
from dive_py.domain.layer_cache import (
    ALIAS_SUFFIX,
    SUFFIX,
    clear,
    layer_cache_directory,
    layer_cache_limit,
    usage,
)
from dive_py.exit_codes import ExitCode

_ANALYSIS_SUFFIX = ".analysis"


def run_cache(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy cache info|clear``; return 0.

    Raises:
        UsageError: no or an unknown action.
    """
    parser = CommandParser(
        prog="divepy cache",
        hint="run 'divepy cache info' or 'divepy cache clear'",
        description="Show or clear divepy's caches (DIVEPY_CACHE_DIR moves them; "
        "DIVEPY_LAYER_CACHE_BYTES sets the layer cache's size limit).",
    )
    parser.add_argument("action", choices=("info", "clear"), help="info: show; clear: delete all")
    args = parser.parse_args(list(argv))
    analyses = cache_directory(env)
    layers = layer_cache_directory(env)
    if args.action == "clear":
        gone_analyses = clear(analyses, (_ANALYSIS_SUFFIX,))
        gone_layers = clear(layers, (SUFFIX,))
        clear(layers, (ALIAS_SUFFIX,))  # the diff ID aliases of those layers
        freed = gone_analyses.size_bytes + gone_layers.size_bytes
        print(
            f"removed {gone_analyses.entries} analyses and {gone_layers.entries} layers "
            f"({format_bytes(freed)}) from {analyses}",
            file=stdout,
        )
        return int(ExitCode.OK)
    held_analyses = usage(analyses, _ANALYSIS_SUFFIX)
    held_layers = usage(layers, SUFFIX)
    limit = layer_cache_limit(env)
    print(f"cache directory: {analyses}", file=stdout)
    print(
        f"analyses: {held_analyses.entries} ({format_bytes(held_analyses.size_bytes)}; "
        f"the {MAX_ENTRIES} most recently used are kept)",
        file=stdout,
    )
    limit_text = f"limit {format_bytes(limit)}" if limit else "turned off"
    print(
        f"layers:   {held_layers.entries} ({format_bytes(held_layers.size_bytes)}; {limit_text}, "
        "least recently used removed first)",
        file=stdout,
    )
    return int(ExitCode.OK)
