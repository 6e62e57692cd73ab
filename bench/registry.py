#!/usr/bin/env python3
"""Registry source and layer cache benchmark: divepy from a registry against docker save/pull.

Usage (see bench/README.md, "Registry source and layer cache"):

    DOCKER_HOST=unix:///tmp/d20/sock python3 bench/registry.py \
        --registry 127.0.0.1:5015 --image i15bench/app:1 --next i15bench/app:2 --runs 3

Both tags must be in the registry and in the engine (``--image`` is pulled again for the pull
figure: its tag is removed first, so the pull downloads the layers no other local image
holds). Measured, median of ``--runs`` wall times (``time.perf_counter``):

* ``save``: ``docker save IMAGE > /dev/null`` (what the engine source reads);
* ``pull``: ``docker pull`` of the image after ``docker rmi`` of its tag;
* ``registry cold``: ``divepy --ci registry://…`` with an empty cache directory;
* ``registry next``: ``divepy --ci registry://…NEXT`` right after IMAGE was analysed (the
  layer cache holds the shared layers), and the time to fetch NEXT's new blobs alone;
* ``dive next``: ``dive --ci NEXT`` on the engine (dive needs the image pulled first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _timed(
    argv: list[str], env: dict[str, str] | None = None, setup: list[str] | None = None
) -> float:
    if setup:
        subprocess.run(setup, check=False, capture_output=True)
    start = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _median(fn, runs: int) -> float:  # type: ignore[no-untyped-def]  # bench script, any callable
    return statistics.median(fn() for _ in range(runs))


def _new_blobs(registry: str, image: str, nxt: str) -> list[str]:
    def layers(ref: str) -> list[str]:
        repo, _, tag = ref.rpartition(":")
        request = urllib.request.Request(
            f"http://{registry}/v2/{repo}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        with urllib.request.urlopen(request) as answer:
            return [layer["digest"] for layer in json.load(answer)["layers"]]

    known = set(layers(image))
    return [digest for digest in layers(nxt) if digest not in known]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--image", required=True, help="repo:tag in the registry")
    parser.add_argument("--next", required=True, help="repo:tag sharing IMAGE's lower layers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dive", default=shutil.which("dive") or "dive")
    args = parser.parse_args()
    divepy = [sys.executable, "-m", "dive_py.cli"]
    # (an extra PYTHONPATH, e.g. where python-isal is installed, is kept after the repository)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    full = f"{args.registry}/{args.image}"
    nxt = f"{args.registry}/{args.next}"
    results: dict[str, float] = {}
    results["save"] = _median(
        lambda: _timed(["sh", "-c", f"docker save {full} > /dev/null"]), args.runs
    )
    # "into an empty engine": both tags are removed first, so every layer of IMAGE is
    # downloaded but those of other local images (the engine is shared; its base image stays)
    results["pull"] = _median(
        lambda: _timed(["docker", "pull", "-q", full], setup=["docker", "rmi", full, nxt]),
        args.runs,
    )
    subprocess.run(["docker", "pull", "-q", nxt], check=False, capture_output=True)

    def cold() -> float:
        with tempfile.TemporaryDirectory() as cache:
            return _timed(
                [*divepy, "--ci", f"registry://{full}"], {**env, "DIVEPY_CACHE_DIR": cache}
            )

    results["registry cold"] = _median(cold, args.runs)

    def warm_next() -> float:
        with tempfile.TemporaryDirectory() as cache:
            run_env = {**env, "DIVEPY_CACHE_DIR": cache}
            _timed([*divepy, "--ci", f"registry://{full}"], run_env)
            return _timed([*divepy, "--ci", f"registry://{nxt}"], run_env)

    results["registry next (layer cache warm)"] = _median(warm_next, args.runs)
    repo = args.next.rpartition(":")[0]
    blobs = _new_blobs(args.registry, args.image, args.next)
    results["fetch of next's new blobs alone"] = _median(
        lambda: sum(
            _timed(["curl", "-s", "-o", "/dev/null", f"http://{args.registry}/v2/{repo}/blobs/{b}"])
            for b in blobs
        ),
        args.runs,
    )
    results["dive --ci next (engine)"] = _median(
        lambda: _timed([args.dive, "--ci", "--source", "docker", nxt]), args.runs
    )
    results["ratio registry cold / save"] = results["registry cold"] / results["save"]
    results["ratio registry cold / pull"] = results["registry cold"] / results["pull"]
    for name, value in results.items():
        print(f"{name:40} {value:8.3f}")


if __name__ == "__main__":
    main()
