"""Provides :func:`run_extract`: ``divepy extract IMAGE PATH [--layer N] [-o DIR] [--force] [--preserve]``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from dive_py.atomic_file import check_writable
from dive_py.commands.command_parser import CommandParser
from dive_py.commands.image_arguments import add_image_arguments, open_analysis
from dive_py.display_text import escape_text
from dive_py.errors import OutputError, UsageError
from dive_py.exit_codes import ExitCode


def check_directory(path: str) -> None:
    """Raise now (before the image is read) when files cannot be written into ``path``.

    Raises:
        OutputError: ``path`` is not a directory, or it (or, when missing, its parent) cannot
            be written.
    """
    if os.path.isdir(path):
        check_writable(os.path.join(path, ".divepy-extract"))
    elif os.path.lexists(path):
        raise OutputError(
            f"cannot write into {path}: it is not a directory", "choose a directory with -o DIR"
        )
    else:
        check_writable(path)


def build_parser() -> CommandParser:
    """The ``divepy extract`` argument parser."""
    parser = CommandParser(
        prog="divepy extract",
        description="Write a file or directory as it is at one layer into a directory. "
        "Nothing is written outside DIR; symlinks are written as symlinks; devices and FIFOs "
        "are skipped; setuid/setgid bits and ownership are dropped unless --preserve.",
        allow_abbrev=False,
    )
    add_image_arguments(parser)
    parser.add_argument("path", help="the path in the image (/etc/os-release, /usr/lib)")
    parser.add_argument(
        "-o", "--output", default=".", metavar="DIR", help="where to write (default: .)"
    )
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.add_argument(
        "--preserve", action="store_true", help="keep setuid/setgid bits and ownership (root only)"
    )
    return parser


def run_extract(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``divepy extract``: exit 0 when written; 2 bad arguments, 3 image or path missing,
    4 DIR cannot be written or a file exists (without ``--force``).

    A path that layer ``--layer`` removed (see
    :func:`~dive_py.domain.extract.removed_by_layer`) is written as the layer below held it,
    with a note on ``stderr``, as the explorer's ctrl+e writes a removed row.

    Raises:
        DivepyError: as above.
    """
    args = build_parser().parse_args(list(argv))
    if args.preserve and os.geteuid() != 0:
        raise UsageError(
            "--preserve needs root (ownership cannot be given away otherwise)",
            "run as root, or drop --preserve",
        )
    from dive_py.domain.extract import extract, removed_by_layer
    from dive_py.domain.file_content import ContentReader

    check_directory(args.output)
    analysis = open_analysis(args, env, stderr)
    index = args.layer
    if removed_by_layer(analysis, index, args.path):
        # as the explorer's ctrl+e on a removed row: the version this layer removed
        index -= 1
        print(
            f"divepy: /{escape_text(args.path.strip('/'))} was removed by layer {args.layer}; "
            f"extracting the version it removed (from layer {index})",
            file=stderr,
        )
    report = extract(
        ContentReader(analysis, env=dict(env)),
        index,
        args.path,
        args.output,
        force=args.force,
        preserve=args.preserve,
    )
    for path, why in report.skipped:
        print(f"divepy: skipped /{escape_text(path)}: {why}", file=stderr)
    print(
        f"wrote {len(report.written)} entries ({report.bytes_written} bytes of file content) "
        f"into {escape_text(args.output)}",
        file=stderr,
    )
    return int(ExitCode.OK)
