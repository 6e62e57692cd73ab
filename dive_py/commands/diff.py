"""Provides :func:`run_diff`, ``divepy diff A B``: what two images share and how their files differ.

Both images are read like ``divepy IMAGE`` reads one (any source, scheme prefixes,
``--source``, ``--platform``), compared by :func:`~dive_py.domain.image_diff.diff_images`,
and reported:

* on a terminal (stdin and stdout): the diff explorer
  (:func:`~dive_py.ui.diff_launch.run_diff_explorer`: both layer lists side by side, the tree of
  the differences, each modified file's diff);
* with ``--report`` (on a terminal or not; beside ``--json FILE`` on stdout), or on a terminal
  that cannot draw the explorer: the shared layers, then the added, modified and removed
  paths with sizes, then a one-line summary;
* with ``--json FILE`` (``-`` for stdout), or when stdout is not a terminal: a JSON document
  ``{"a", "b", "identical", "shared": {"layers", "sizeBytes", "chainId"}, "sizeBytes": {"a",
  "b", "difference"}, "added": [{"path", "sizeBytes"}], "modified": [{"path", "sizeBytes",
  "beforeSizeBytes", "changed": [...]}], "removed": [{"path", "sizeBytes"}]}``, and the
  summary on stderr (stdout when the JSON goes to a file).

Exit status as diff(1): 0 when the final file systems are identical, 1 when they differ, the
README's codes for errors (2 usage, 3 an image unreadable, 4 the JSON file unwritable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from dive_py.commands.command_parser import CommandParser
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.image_diff import ImageDiff, PathChange, chain_ids, diff_images
from dive_py.domain.sources.platform import Platform
from dive_py.errors import UsageError
from dive_py.exit_codes import ExitCode


def _parser() -> CommandParser:
    parser = CommandParser(
        prog="divepy diff",
        description="Compare two images: the layers they share, then the files added, "
        "modified and removed from A's final file system to B's. On a terminal it opens the "
        "diff explorer; otherwise, or with --json, it writes JSON; --report prints a text "
        "report instead of either. Exit 0 when identical, 1 when they differ.",
    )
    parser.add_argument("a", metavar="A", help="the first image (any source, e.g. app:1)")
    parser.add_argument("b", metavar="B", help="the second image (registry://host/app:2…)")
    parser.add_argument("--source", default=None, help="source for names without a scheme")
    parser.add_argument("--platform", default=None, help="os/arch[/variant] for both images")
    parser.add_argument(
        "-j", "--json", metavar="FILE", dest="json_path", help="write the JSON to FILE (- stdout)"
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="print the text report (instead of the diff explorer on a terminal, of the "
        "JSON when stdout is not one, of the summary beside --json FILE)",
    )
    parser.add_argument("--insecure-registry", metavar="HOST[:PORT]", action="append", default=[])
    return parser


def _signed(size: int) -> str:
    return ("+" if size > 0 else "-" if size < 0 else "") + format_bytes(abs(size))


def summary(diff: ImageDiff, a: str, b: str) -> str:
    """The short text summary: shared layers and counts (one or two lines)."""
    if diff.shared_layers:
        shared = (
            f"{b} shares its first "
            f"{'layer' if diff.shared_layers == 1 else f'{diff.shared_layers} layers'}, "
            f"{format_bytes(diff.shared_bytes)}, with {a}"
        )
    else:
        shared = f"{b} shares no layer with {a}"
    if diff.identical:
        return f"{shared}\nthe final file systems are identical\n"
    return (
        f"{shared}\n{len(diff.added)} added, {len(diff.modified)} modified, "
        f"{len(diff.removed)} removed; {_signed(diff.bytes_difference)} in total "
        f"({format_bytes(diff.a_size_bytes)} -> {format_bytes(diff.b_size_bytes)})\n"
    )


def _lines(marker: str, title: str, changes: list[PathChange]) -> list[str]:
    if not changes:
        return []
    out = [f"{title}:"]
    for change in changes:
        size = format_bytes(change.size_bytes)
        if change.changed:
            what = ", ".join(change.changed)
            if "content" in change.changed:
                size = f"{format_bytes(change.before_bytes)} -> {size}"
            out.append(f"  {marker} {change.path}  ({what})  {size}")
        else:
            out.append(f"  {marker} {change.path}  {size}")
    return out


def report(diff: ImageDiff, a: str, b: str) -> str:
    """The terminal report: every difference, then the summary."""
    lines = [
        *_lines("+", "Added", diff.added),
        *_lines("~", "Modified", diff.modified),
        *_lines("-", "Removed", diff.removed),
    ]
    body = "\n".join(lines) + "\n" if lines else ""
    return body + summary(diff, a, b)


def diff_document(diff: ImageDiff, a: str, b: str, shared_chain_id: str) -> dict[str, Any]:
    """The JSON document (see the module docstring)."""
    return {
        "a": a,
        "b": b,
        "identical": diff.identical,
        "shared": {
            "layers": diff.shared_layers,
            "sizeBytes": diff.shared_bytes,
            "chainId": shared_chain_id or None,
        },
        "sizeBytes": {
            "a": diff.a_size_bytes,
            "b": diff.b_size_bytes,
            "difference": diff.bytes_difference,
        },
        "added": [{"path": c.path, "sizeBytes": c.size_bytes} for c in diff.added],
        "modified": [
            {
                "path": c.path,
                "sizeBytes": c.size_bytes,
                "beforeSizeBytes": c.before_bytes,
                "changed": list(c.changed),
            }
            for c in diff.modified
        ],
        "removed": [{"path": c.path, "sizeBytes": c.size_bytes} for c in diff.removed],
    }


def _read(
    name: str, source: str | None, platform: Platform | None, env: Mapping[str, str], stderr: TextIO
) -> Analysis:
    """Read one side as the main command reads it: the analysis cache, a container's read/write
    layer on top of its image (``container://NAME``), every source and scheme.

    Raises:
        DivepyError: the image could not be read.
    """
    from dive_py.commands.explore import load_analysis
    from dive_py.commands.stderr_progress import StderrProgress

    wanted = argparse.Namespace(image=name, source=source, platform=platform, no_cache=False)
    loaded = load_analysis(wanted, env, StderrProgress(stderr))
    loaded.commit()
    return loaded.analysis


def _interactive(stdout: TextIO, stdin: TextIO | None) -> bool:
    """True when both stdout and stdin are terminals (the diff explorer can be drawn)."""
    try:
        return stdout.isatty() and stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):
        return False


def run_diff(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy diff A B``; return 0 (identical) or 1 (different): the diff explorer when
    stdout and stdin are terminals (unless ``--report``), else the text report or the JSON.

    Raises:
        UsageError: bad arguments.
        ImageError: an image could not be read, or a path named does not exist (exit 3).
        OutputError: the JSON file could not be written (exit 4).
    """
    args = _parser().parse_args(list(argv))
    from dive_py.atomic_file import check_writable, write_atomically
    from dive_py.domain.sources import canonical_source

    if args.json_path == "":
        raise UsageError("--json needs a file name", "pass --json FILE, or --json - for stdout")
    if args.json_path and args.json_path != "-":
        check_writable(args.json_path)
    # per image, as the main command picks it (a path on disk is a file source)
    source = canonical_source(args.source) if args.source else None
    platform = Platform.parse(args.platform) if args.platform else None
    if args.insecure_registry:
        listed = [env.get("DIVEPY_INSECURE_REGISTRIES", ""), *args.insecure_registry]
        env = {**env, "DIVEPY_INSECURE_REGISTRIES": ",".join(h for h in listed if h)}
    from dive_py.domain.sources import default_source

    for name in (args.a, args.b):
        default_source(name, source, env)  # a missing path is named before any image is read
    analyses = [_read(name, source, platform, env, stderr) for name in (args.a, args.b)]
    images = [analysis.image for analysis in analyses]
    # (the analyses' own stacked states: the diff explorer's file viewer reuses them)
    final_states = (analyses[0].final_state(), analyses[1].final_state())
    diff = diff_images(images[0], images[1], final_states)
    shared_chain = (
        chain_ids([layer.diff_id for layer in images[0].layers])[diff.shared_layers - 1]
        if diff.shared_layers
        else ""
    )
    to_terminal = stdout.isatty() and not args.json_path
    if to_terminal and not args.report and _interactive(stdout, sys.stdin):
        from dive_py.ui.diff_launch import run_diff_explorer

        return run_diff_explorer(diff, analyses[0], analyses[1], (args.a, args.b), env)
    # --report asks for the text report wherever stdout goes (a pipe, a file, a pager)
    if to_terminal or (args.report and not args.json_path):
        stdout.write(report(diff, args.a, args.b))
    else:
        text = json.dumps(diff_document(diff, args.a, args.b, shared_chain), indent=2) + "\n"
        if args.json_path and args.json_path != "-":
            write_atomically(args.json_path, text)
            stdout.write((report if args.report else summary)(diff, args.a, args.b))
        else:
            stdout.write(text)
            stderr.write(summary(diff, args.a, args.b))
    return int(ExitCode.OK if diff.identical else ExitCode.RULE_FAILED)
