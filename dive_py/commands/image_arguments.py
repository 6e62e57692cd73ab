"""Provides the image arguments the inspection commands share (``extract``, ``ls``) and
:func:`open_analysis`, which reads the image they name as ``divepy IMAGE`` would."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TextIO

from dive_py.domain.analysis import Analysis
from dive_py.errors import UsageError


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``IMAGE``, ``--source``, ``--platform``, ``--no-cache`` and ``--layer N``."""
    parser.add_argument(
        "image",
        help="image name, or path of an archive/layout (prefixes as for 'divepy IMAGE')",
    )
    parser.add_argument(
        "--source", default=None, help="docker (default), docker-archive, oci, podman"
    )
    parser.add_argument(
        "--platform", default=None, help="os/arch[/variant] of a multi-platform image"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not use the analysis cache")
    parser.add_argument(
        "--layer",
        type=int,
        default=None,
        metavar="N",
        help="the layer's index as in the JSON and the layer details (0 = the base layer; "
        "default: the final image)",
    )


def open_analysis(args: argparse.Namespace, env: Mapping[str, str], stderr: TextIO) -> Analysis:
    """Read and analyse the image ``args`` names (the analysis cache is used as by ``divepy``).

    Raises:
        UsageError: a bad ``--source``/``--platform``, or ``--layer`` out of range.
        ImageError: the image has no layers.
        DivepyError: the image could not be read.
    """
    from dive_py.commands.explore import load_analysis
    from dive_py.commands.stderr_progress import StderrProgress

    if args.source is not None:
        from dive_py.domain.sources import canonical_source

        args.source = canonical_source(args.source)
    if args.platform is not None:
        from dive_py.domain.sources.platform import Platform

        args.platform = Platform.parse(args.platform)
    loaded = load_analysis(args, env, StderrProgress(stderr))
    loaded.commit()
    analysis = loaded.analysis
    count = len(analysis.image.layers)
    if count == 0:
        # (a config with no diff IDs: nothing to list or extract, and no index to give)
        from dive_py.errors import ImageError

        raise ImageError(
            "the image has no layers: its file system is empty",
            "nothing to list or extract; 'divepy IMAGE' shows its figures",
        )
    if args.layer is None:
        args.layer = count - 1
    if not 0 <= args.layer < count:
        raise UsageError(
            f"--layer {args.layer}: the image has layers 0 to {count - 1}",
            "give a layer index from the JSON or the layer details",
        )
    return analysis
