#!/usr/bin/env python3
"""Header parsing: CPython's tarfile vs divepy's TarReader on one archive of PAX members.

Usage (see bench/README.md)::

    python3 bench/tar_reader.py                    # 100,000 members, median of 5 runs
    python3 bench/tar_reader.py --entries 2000 --runs 1

Writes an uncompressed PAX archive in memory: every member has a PAX ``x`` header (an
``SCHILY.xattr`` record, as layer tars with file capabilities carry) and 0-299 bytes of data.
Then it reads every header with ``tarfile.open(mode="r|")`` (streaming, as divepy reads
layers) and with :class:`dive_py.domain.tar_stream.TarReader`, skipping the data, and prints
the median wall time (``time.perf_counter``) of each and their ratio.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dive_py.domain.tar_stream import TarReader  # noqa: E402 (after the sys.path insert above)

MTIME = 1_700_000_000


def pax_archive(entries: int) -> bytes:
    """Return an uncompressed PAX tar of ``entries`` regular files, each with an ``x`` header."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(entries):
            info = tarfile.TarInfo(f"usr/lib/python3/site-packages/pkg{i % 100}/mod_{i}.py")
            data = b"x" * (i % 300)
            info.size, info.mtime = len(data), MTIME
            info.pax_headers = {"SCHILY.xattr.user.k": "v"}
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def total_size_tarfile(raw: bytes) -> int:
    """Sum of member sizes in bytes, read with tarfile in streaming mode."""
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r|") as tar:
        return sum(member.size for member in tar)


def total_size_reader(raw: bytes) -> int:
    """Sum of member sizes in bytes, read with TarReader."""
    return sum(member.size for member in TarReader(io.BytesIO(raw)))


def median_seconds(fn: Callable[[bytes], int], raw: bytes, runs: int) -> float:
    """Median wall time in seconds of ``runs`` calls of ``fn(raw)``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(raw)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="members (default 100000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each reader (default 5)")
    args = parser.parse_args(argv)
    raw = pax_archive(args.entries)
    if total_size_tarfile(raw) != total_size_reader(raw):
        print("tarfile and TarReader disagree on the sizes", file=sys.stderr)
        return 1
    slow = median_seconds(total_size_tarfile, raw, args.runs)
    fast = median_seconds(total_size_reader, raw, args.runs)
    print(f"archive: {len(raw) / 1e6:.1f} MB, {args.entries} members with PAX headers")
    print(f"tarfile:   {slow * 1000:.0f} ms (median of {args.runs})")
    print(f"TarReader: {fast * 1000:.0f} ms (median of {args.runs})")
    print(f"ratio: {slow / fast:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
