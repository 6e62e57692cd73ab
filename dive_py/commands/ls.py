"""Provides :func:`run_ls`: ``divepy ls IMAGE [--layer N] [--aggregated] [--json]``.

One line per entry, like ``tar -tv``, after a change marker (``+`` added, ``~`` modified,
``-`` removed, blank unchanged; :mod:`dive_py.domain.change_type`)::

    + -rw-r--r-- 0/0         12 /etc/hostname
    - -rw-r--r-- 0/0          0 /root/.cache/pip
    + lrwxrwxrwx 0/0          0 /bin/sh -> busybox

Without ``--aggregated``: the entries layer N's tar holds (whiteouts as the path they
remove), marked as the explorer marks them. With it: every path of the image as it is after
layer N (the explorer's ctrl+a view: layers 1..N against layer 0). Names are escaped
(:mod:`dive_py.display_text`), so one entry is always one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from dive_py.commands.command_parser import CommandParser
from dive_py.commands.image_arguments import add_image_arguments, open_analysis
from dive_py.display_text import escape_text
from dive_py.domain.change_type import DiffType
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.exit_codes import ExitCode


def build_parser() -> CommandParser:
    """The ``divepy ls`` argument parser."""
    parser = CommandParser(
        prog="divepy ls",
        description="List a layer's entries (or, with --aggregated, the image at that layer) "
        "one per line like 'tar -tv', with a change marker: + added, ~ modified, - removed.",
        allow_abbrev=False,
    )
    add_image_arguments(parser)
    parser.add_argument(
        "--aggregated",
        action="store_true",
        help="list every path of the image after layer N (layers 1..N against layer 0)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON array of entries instead of lines"
    )
    return parser


def format_line(change: DiffType, path: str, entry: FileEntry, size: int) -> str:
    """One ``tar -tv``-like line: marker, permissions, ``uid/gid``, size in bytes, ``/path``
    (``-> target`` for a symlink, ``link to target`` for a hardlink); names escaped."""
    line = (
        f"{change.marker} {entry.permission_string()} {entry.uid}/{entry.gid} "
        f"{size:>10} /{escape_text(path)}"
    )
    if entry.type is EntryType.SYMLINK:
        line += f" -> {escape_text(entry.linkname)}"
    elif entry.type is EntryType.HARDLINK:
        line += f" link to /{escape_text(entry.linkname)}"
    return line


def _record(change: DiffType, path: str, entry: FileEntry, size: int) -> dict[str, Any]:
    return {
        "path": "/" + path,
        "change": change.config_name,
        "type": entry.type.name.lower(),
        "mode": entry.permission_string(),
        "uid": entry.uid,
        "gid": entry.gid,
        "size": size,
        "linkName": entry.linkname,
    }


def run_ls(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy ls``: print the entries on ``stdout``; exit 0 (2 bad arguments, 3 the image
    cannot be read).

    Raises:
        DivepyError: as above.
    """
    from dive_py.domain.compare import CompareMode
    from dive_py.domain.export_json import layer_file_list
    from dive_py.domain.layer_changes import change_of, layer_changes

    args = build_parser().parse_args(list(argv))
    analysis = open_analysis(args, env, stderr)
    index: int = args.layer
    rows: list[tuple[DiffType, str, FileEntry, int]] = []
    if args.aggregated:
        tree = analysis.compared_tree(index, CompareMode.AGGREGATED)
        for node in tree.root.walk():
            if node.parent is None:
                continue
            entry = node.shown_entry
            rows.append(
                (
                    change_of(node, index),
                    node.path.lstrip("/"),
                    entry,
                    0 if node.is_dir else node.size,
                )
            )
    else:
        entries = layer_file_list(analysis.image.layers[index].contents)
        for change in layer_changes(analysis, index, entries):
            entry = change.removed or change.entry
            rows.append((change.change, change.path, entry, 0 if entry.is_dir else entry.size))
        rows.sort(key=lambda row: row[1].encode("utf-8", "surrogateescape"))
    if args.json:
        json.dump([_record(*row) for row in rows], stdout, indent=2)
        stdout.write("\n")
    else:
        for row in rows:
            stdout.write(format_line(*row) + "\n")
    return int(ExitCode.OK)
