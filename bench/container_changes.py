#!/usr/bin/env python3
"""A container with 10,000 changed files: how long divepy takes beyond the image's own analysis.

Issue 13's target: ``divepy container://NAME`` for a container with 10,000 changed files opens
within 5 s beyond the image's own analysis. Two shapes, each a container of
``divepy-bench/many-files`` (the fixture base plus one layer of 10,000 files of 100 bytes in 100
directories, built here with the classic builder):

* ``added``: the container writes 10,000 new files (100 new directories): one ``GET`` of the
  archive API per new top directory;
* ``modified``: the container appends a line to each of the image's 10,000 files: every file
  is copied up, one ``GET`` per file (the worst case for the archive API).

For each, the script times (``time.perf_counter``, in process, median of ``--runs``): the
image's analysis (``load_analysis`` of the image, ``--no-cache``), and the container part on
top of it (inspect, ``changes``, the archive API, the layer, the stacked state of the new
layer: :meth:`ContainerSource.read_layer` + :func:`with_container` + the compared tree of the
read/write layer, what the explorer shows first).

Usage::

    DOCKER_HOST=unix:///path/docker.sock python3 bench/container_changes.py [--runs 3]

Needs the engine to have ``divepy-fixture/busybox:base`` (scripts/test builds it; or tag any
busybox image so). Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # noqa: E402 - after the path set-up above

from dive_py.commands.explore import load_analysis  # noqa: E402 - after the path set-up
from dive_py.domain.compare import CompareMode  # noqa: E402 - after the path set-up
from dive_py.domain.container_analysis import with_container  # noqa: E402 - after the path set-up
from dive_py.domain.progress import ProgressListener  # noqa: E402 - after the path set-up
from dive_py.domain.sources.container import ContainerSource  # noqa: E402 - after the path set-up

IMAGE = "divepy-bench/many-files:1"
BASE = "divepy-fixture/busybox:base"
DOCKERFILE = f"""FROM {BASE}
RUN for d in $(busybox seq 1 100); do mkdir -p /many/d$d; for f in $(busybox seq 1 100); do \\
    busybox head -c 100 /dev/zero > /many/d$d/f$f; done; done
"""
SCRIPTS = {
    "added": "for d in $(busybox seq 1 100); do mkdir -p /new/d$d; for f in $(busybox seq 1 100); "
    "do echo $d$f > /new/d$d/f$f; done; done",
    "modified": "for d in $(busybox seq 1 100); do for f in $(busybox seq 1 100); "
    "do echo x >> /many/d$d/f$f; done; done",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    env = dict(os.environ)
    client = docker.from_env(timeout=600)
    client.images.build(fileobj=io.BytesIO(DOCKERFILE.encode()), tag=IMAGE, rm=True)
    args = argparse.Namespace(image=IMAGE, source="docker", platform=None, no_cache=True)
    try:
        image_times = []
        for _ in range(options.runs):
            start = time.perf_counter()
            load_analysis(args, env, ProgressListener())
            image_times.append(time.perf_counter() - start)
        print(f"image analysis: {statistics.median(image_times):.2f} s (median of {options.runs})")
        for shape, script in SCRIPTS.items():
            container = client.containers.run(IMAGE, ["sh", "-c", script], detach=True)
            try:
                container.wait()
                analysis = load_analysis(args, env, ProgressListener()).analysis
                source = ContainerSource(env=env)
                times = []
                changes = 0
                for _ in range(options.runs):
                    start = time.perf_counter()
                    info = source.inspect(container.id)
                    layer = source.read_layer(info, analysis.final_state())
                    combined = with_container(analysis, info, layer)
                    combined.compared_tree(len(combined.image.layers) - 1, CompareMode.LAYER)
                    times.append(time.perf_counter() - start)
                    changes = len(layer.changes)
                print(
                    f"{shape}: {changes} changes, container part {statistics.median(times):.2f} s "
                    f"(median of {options.runs}; copied up {layer.copied_up_bytes} B, "
                    f"added {layer.added_bytes} B)"
                )
            finally:
                container.remove(force=True)
    finally:
        client.images.remove(IMAGE, force=True)
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
