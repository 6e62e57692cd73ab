#!/usr/bin/env python3
"""Registry source and layer cache benchmark: divepy from a registry against docker save/pull.

Issue 15's targets, on a real registry on 127.0.0.1 and the 1.6 GB scientific image of
bench/real_image.py: ``divepy --ci registry://…`` in at most 0.6x the time of ``docker save
IMAGE > /dev/null`` and at most 0.5x ``docker pull`` of the image into an empty engine, in the
same run; and ``app:2`` (= ``app:1`` with one other 50 MB top layer) read from the registry
right after ``app:1`` in under 1.5 s plus the time to fetch that layer.

Usage (see bench/README.md, "Registry source and layer cache")::

    python3 bench/registry.py prepare --engine unix:///tmp/rb/e1/docker.sock \\
        --registry 127.0.0.1:5000 --base divepy-bench/scientific:1
    python3 bench/registry.py measure --engine unix:///tmp/rb/e1/docker.sock \\
        --empty-engine unix:///tmp/rb/e2/docker.sock --registry 127.0.0.1:5000 --runs 3

``prepare`` tags BASE as ``REGISTRY/i15/scientific:1``, builds ``i15/app:1`` and ``i15/app:2``
on it (one RUN step each: 30 MB of random bytes and 2,000 base64 text files of 10 kB, about
50 MB; ``--build-arg V`` makes them differ) and pushes the three to the registry.

``measure`` runs ``--runs`` interleaved rounds (so a change of the machine's load hits every
tool alike); each round times (wall, ``time.perf_counter``, ``uptime`` noted per round):

* ``save``: ``docker save IMAGE > /dev/null`` on ``--engine`` (which holds IMAGE);
* ``pull``: ``docker pull IMAGE`` on ``--empty-engine``, which must hold no image at the
  start; what the pull stored is removed again after it (so each pull starts empty);
* ``registry cold``: ``divepy --ci registry://IMAGE`` with an empty ``DIVEPY_CACHE_DIR``;
* ``registry next``: ``divepy --ci registry://NEXT`` right after ``registry://FIRST`` filled
  a fresh cache directory (the layer cache holds the shared layers);
* ``fetch``: ``curl`` of NEXT's blobs that FIRST does not have, to /dev/null, one after the
  other.

Then, once per ``--dive-runs`` (dive 0.13.1 takes minutes on this image): on the empty
engine, FIRST is pulled, then ``docker pull NEXT`` and ``CI=true dive NEXT`` are timed (dive
reads images from an engine only: it needs the pull and then exports the image itself).

The rules are disabled for divepy (``--ci-config``, as bench/run.py does) so that every run
exits 0; a run that does not is an error. Python 3 standard library only.
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIVE = REPO / ".venv" / "bin" / "dive"
RULES = "rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: disabled\n"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
APP_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG V=1
RUN mkdir -p /opt/app && echo "$V" > /opt/app/version \\
 && head -c 30000000 /dev/urandom > /opt/app/model.bin \\
 && for i in $(seq 2000); do head -c 7500 /dev/urandom | base64 > /opt/app/f$i.txt; done
"""


def log(msg: str) -> None:
    print(f"registry: {msg}", file=sys.stderr, flush=True)


def docker(engine: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI against ``engine`` (output captured)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "CI")}
    env["DOCKER_HOST"] = engine
    return subprocess.run(["docker", *args], env=env, text=True, capture_output=True, check=check)


def load() -> str:
    """The three load averages, as ``uptime`` prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(argv: list[str], env: dict[str, str] | None = None, stdout: str | None = None) -> float:
    """Wall seconds of ``argv``; raises when it fails (a failed run is no measurement)."""
    with open(stdout or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"registry: {' '.join(argv)} exited {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace').strip()[-500:]}"
        )
    return seconds


def manifest_layers(registry: str, ref: str) -> list[tuple[str, int]]:
    """(digest, size) of each layer of ``ref`` (``repo:tag``) in the registry's manifest."""
    repo, _, tag = ref.rpartition(":")
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
    )
    with urllib.request.urlopen(request) as answer:
        return [(layer["digest"], layer["size"]) for layer in json.load(answer)["layers"]]


# --------------------------------------------------------------------------------------------
# prepare
# --------------------------------------------------------------------------------------------


def cmd_prepare(args: argparse.Namespace) -> int:
    """Tag, build and push IMAGE, FIRST and NEXT (``i15/…`` by default)."""
    image = f"{args.registry}/{args.image}"
    docker(args.engine, "tag", args.base, image)
    for ref, version in ((args.first, "1"), (args.next, "2")):
        full = f"{args.registry}/{ref}"
        if docker(args.engine, "image", "inspect", full, check=False).returncode == 0:
            log(f"{full} exists: not built again")
            continue
        with tempfile.TemporaryDirectory(prefix="divepy-regbench-") as ctx:
            (Path(ctx) / "Dockerfile").write_text(APP_DOCKERFILE)
            log(f"building {full}")
            env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
            env.update(DOCKER_HOST=args.engine, DOCKER_BUILDKIT="0")
            subprocess.run(
                ["docker", "build", "-q", "--build-arg", f"BASE={image}"]
                + ["--build-arg", f"V={version}", "-t", full, ctx],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    for ref in (args.image, args.first, args.next):
        full = f"{args.registry}/{ref}"
        log(f"pushing {full}")
        start = time.perf_counter()
        docker(args.engine, "push", "-q", full)
        log(f"pushed {full} in {time.perf_counter() - start:.0f} s")
    for ref in (args.image, args.first, args.next):
        layers = manifest_layers(args.registry, ref)
        log(f"{ref}: {len(layers)} layers, {sum(s for _, s in layers) / 1e6:.0f} MB compressed")
    return 0


# --------------------------------------------------------------------------------------------
# measure
# --------------------------------------------------------------------------------------------


def empty_engine_images(engine: str) -> list[str]:
    """IDs of every image in ``engine``; exits with a one-line error when it does not answer."""
    listed = docker(engine, "images", "-aq", check=False)
    if listed.returncode != 0:
        raise SystemExit(f"registry: no engine answers at {engine}: {listed.stderr.strip()}")
    return listed.stdout.split()


def clear_engine(engine: str, refs: list[str]) -> None:
    """Remove ``refs`` from ``engine`` and check that it holds no image afterwards."""
    docker(engine, "rmi", "-f", *refs, check=False)
    left = empty_engine_images(engine)
    if left:
        raise SystemExit(f"registry: {engine} still holds images {left} after removing {refs}")


def cmd_measure(args: argparse.Namespace) -> int:
    """Interleaved rounds of save, pull, divepy cold and divepy next; then dive once."""
    work = Path(tempfile.mkdtemp(prefix="divepy-regbench-"))  # rules, cache directories
    try:
        return _measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(args: argparse.Namespace, work: Path) -> int:
    if empty_engine_images(args.empty_engine):
        log(f"{args.empty_engine} holds images: the pull figure needs an empty engine")
        return 1
    image, first, nxt = (f"{args.registry}/{r}" for r in (args.image, args.first, args.next))
    if docker(args.engine, "image", "inspect", image, check=False).returncode != 0:
        log(f"{image} is not in {args.engine} (run prepare first)")
        return 1
    rules = work / "rules.yaml"
    rules.write_text(RULES)
    divepy = [args.python, "-m", "dive_py.cli", "--ci", "--ci-config", str(rules)]
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "CI")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    docker_env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "CI")}
    next_repo = args.next.rpartition(":")[0]
    first_blobs = {d for d, _ in manifest_layers(args.registry, args.first)}
    new_blobs = [
        (d, s) for d, s in manifest_layers(args.registry, args.next) if d not in first_blobs
    ]
    image_blobs = manifest_layers(args.registry, args.image)
    samples: dict[str, list[float]] = {}
    loads: list[str] = [f"start: {load()}"]

    def add(name: str, seconds: float) -> None:
        samples.setdefault(name, []).append(seconds)
        log(f"  {name}: {seconds:.2f} s")

    def cache_env() -> dict[str, str]:
        return {**env, "DIVEPY_CACHE_DIR": tempfile.mkdtemp(dir=work)}

    def curl(digest: str) -> list[str]:
        return [
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            f"http://{args.registry}/v2/{next_repo}/blobs/{digest}",
        ]

    steps: list[tuple[str, Callable[[], float]]] = [
        (
            "docker save IMAGE > /dev/null",
            lambda: timed(["docker", "-H", args.engine, "save", image], docker_env),
        ),
        ("docker pull IMAGE (empty engine)", lambda: pull_once()),
        (
            "divepy --ci registry://IMAGE (empty caches)",
            lambda: timed([*divepy, f"registry://{image}"], cache_env()),
        ),
        ("divepy --ci registry://NEXT after FIRST", lambda: next_once()),
        (
            "fetch of NEXT's new blobs alone (curl)",
            lambda: sum(timed(curl(d)) for d, _ in new_blobs),
        ),
    ]

    def pull_once() -> float:
        seconds = timed(["docker", "-H", args.empty_engine, "pull", "-q", image], docker_env)
        clear_engine(args.empty_engine, [image])
        return seconds

    def next_once() -> float:
        run_env = cache_env()
        add(
            "divepy --ci registry://FIRST (fills the cache)",
            timed([*divepy, f"registry://{first}"], run_env),
        )
        return timed([*divepy, f"registry://{nxt}"], run_env)

    for round_no in range(args.runs):
        loads.append(f"round {round_no + 1}: {load()}")
        log(f"round {round_no + 1}/{args.runs} (load {load()})")
        for name, step in steps:
            add(name, step())
    for round_no in range(args.dive_runs):
        loads.append(f"dive {round_no + 1}: {load()}")
        log(f"dive {round_no + 1}/{args.dive_runs} (load {load()})")
        timed(["docker", "-H", args.empty_engine, "pull", "-q", first], docker_env)
        add(
            "docker pull NEXT after FIRST",
            timed(["docker", "-H", args.empty_engine, "pull", "-q", nxt], docker_env),
        )
        add(
            "CI=true dive NEXT",
            timed(
                [args.dive, nxt, "--ci-config", str(rules)],
                {**docker_env, "DOCKER_HOST": args.empty_engine, "CI": "true"},
            ),
        )
        clear_engine(args.empty_engine, [first, nxt])
    loads.append(f"end: {load()}")

    med = {name: statistics.median(values) for name, values in samples.items()}
    cold = med["divepy --ci registry://IMAGE (empty caches)"]
    save = med["docker save IMAGE > /dev/null"]
    pull = med["docker pull IMAGE (empty engine)"]
    nxt_s = med["divepy --ci registry://NEXT after FIRST"]
    fetch = med["fetch of NEXT's new blobs alone (curl)"]
    ratios = {
        "divepy cold / docker save (target <= 0.6)": cold / save,
        "divepy cold / docker pull (target <= 0.5)": cold / pull,
        "divepy next - fetch (target < 1.5 s)": nxt_s - fetch,
    }
    per_round = [
        c / s
        for c, s in zip(
            samples["divepy --ci registry://IMAGE (empty caches)"],
            samples["docker save IMAGE > /dev/null"],
            strict=True,
        )
    ]
    if "CI=true dive NEXT" in med:
        dive_total = med["docker pull NEXT after FIRST"] + med["CI=true dive NEXT"]
        ratios["dive path (pull NEXT + dive) / divepy next"] = dive_total / nxt_s
    print(
        f"IMAGE {image}: {len(image_blobs)} layers, "
        f"{sum(s for _, s in image_blobs):,} bytes compressed"
    )
    print(f"NEXT {nxt}: new blobs {[(d[:19], s) for d, s in new_blobs]}")
    print(f"load (1/5/15 min): {'; '.join(loads)}")
    print(f"| measure (seconds, median of {args.runs}) | median | min | max | runs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        print(
            f"| {name} | {med[name]:.2f} | {min(values):.2f} | {max(values):.2f} | {len(values)} |"
        )
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f} | | | |")
    print(f"per-round divepy cold / docker save: {', '.join(f'{r:.2f}' for r in per_round)}")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "samples": samples,
                    "ratios": ratios,
                    "loads": loads,
                    "image_blobs": image_blobs,
                    "new_blobs": new_blobs,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, func in (("prepare", cmd_prepare), ("measure", cmd_measure)):
        s = sub.add_parser(name)
        s.add_argument("--engine", required=True, help="unix:///…/docker.sock holding the images")
        s.add_argument("--registry", required=True, help="HOST:PORT of the registry")
        s.add_argument("--image", default="i15/scientific:1", help="repo:tag for the ratios")
        s.add_argument("--first", default="i15/app:1", help="repo:tag read first")
        s.add_argument("--next", default="i15/app:2", help="repo:tag sharing FIRST's lower layers")
        s.set_defaults(func=func)
        if name == "prepare":
            s.add_argument("--base", required=True, help="local image to push as IMAGE")
        else:
            s.add_argument("--empty-engine", required=True, help="an engine holding no image")
            s.add_argument("--runs", type=int, default=3)
            s.add_argument("--dive-runs", type=int, default=1)
            s.add_argument("--dive", default=str(DEFAULT_DIVE))
            s.add_argument("--python", default=sys.executable, help="runs divepy (-m dive_py.cli)")
            s.add_argument("--out", default="", help="write the samples as JSON here")
    args = p.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
