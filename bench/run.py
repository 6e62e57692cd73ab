#!/usr/bin/env python3
"""divepy vs dive 0.13.1 benchmark: synthetic docker-archives, median wall time and peak RSS.

Usage (see bench/README.md):

    python3 bench/run.py                         # 5k, 20k, 50k, 200k entries, 3 runs each
    python3 bench/run.py --sizes 20000,200000 --runs 3 --out bench/results
    python3 bench/run.py --smoke                 # tiny sizes, 1 run, < 60 s
    python3 bench/run.py --engine unix:///var/run/docker.sock   # also docker load/save + docker source

Every child process is measured on its own: wall time with ``time.perf_counter`` and peak
RSS from ``os.wait4``'s rusage (``ru_maxrss``, KiB on Linux). The archives are written
directly with :mod:`tarfile` (legacy ``docker save`` layout, uncompressed layers) and are
deterministic for a given seed and parameter set.

matplotlib is optional (bench only): without it no PNG is written.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIVE = REPO / ".venv" / "bin" / "dive"
MTIME = 1_700_000_000


# --------------------------------------------------------------------------------------------
# synthetic images
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """Parameters of a synthetic image.

    entries: total tar members over all layers (files, directories, whiteouts, opaque markers).
    layers: number of layers (layer 0 is the base; it only adds files).
    rewrite: share of each upper layer's file operations that rewrite an existing file.
    delete: share of each upper layer's file operations that delete (whiteout) an existing file.
    opaque: number of opaque directories per upper layer (the directory is emptied and refilled).
    payload: bytes of each regular file (content differs between rewrites).
    files_per_dir: files per leaf directory (directories are three levels deep).
    seed: random seed.
    """

    entries: int
    layers: int = 10
    rewrite: float = 0.2
    delete: float = 0.1
    opaque: int = 1
    payload: int = 64
    files_per_dir: int = 50
    seed: int = 1

    def name(self) -> str:
        return (
            f"e{self.entries}-l{self.layers}-r{self.rewrite:g}-d{self.delete:g}"
            f"-o{self.opaque}-p{self.payload}-s{self.seed}"
        )


class _LayerWriter:
    """Writes one layer tar into memory, counting members and emitting parent dirs once."""

    def __init__(self, blob: bytes) -> None:
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.GNU_FORMAT)
        self.members = 0
        self.dirs: set[str] = set()
        self._blob = blob

    def _dir(self, path: str) -> None:
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                info = tarfile.TarInfo(d + "/")
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = MTIME
                self.tar.addfile(info)
                self.members += 1

    def file(self, path: str, size: int, salt: int) -> None:
        parent = path.rpartition("/")[0]
        if parent:
            self._dir(parent)
        info = tarfile.TarInfo(path)
        info.size = size
        info.mode = 0o644
        info.mtime = MTIME
        start = (salt * 7919) % (len(self._blob) - size - 1) if size else 0
        self.tar.addfile(info, io.BytesIO(self._blob[start : start + size]))
        self.members += 1

    def marker(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if parent:
            self._dir(parent)
        info = tarfile.TarInfo(path)
        info.mode = 0o644
        info.mtime = MTIME
        self.tar.addfile(info)
        self.members += 1

    def close(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _leaf_dir(index: int, per_dir: int) -> str:
    d = index // per_dir
    return f"usr/d{d // 400}/s{(d // 20) % 20}/l{d % 20}"


def build_layers(shape: Shape) -> list[bytes]:
    """Return the uncompressed layer tars of ``shape`` (deterministic)."""
    rng = random.Random(shape.seed)
    blob = random.Random(shape.seed ^ 0x5EED).randbytes(max(1 << 16, shape.payload * 4 + 2))
    per_layer = max(1, shape.entries // shape.layers)
    live: list[str] = []  # paths present in the stacked file system
    live_set: set[str] = set()
    next_file = 0
    layers: list[bytes] = []
    salt = 0
    for index in range(shape.layers):
        budget = (
            per_layer
            if index < shape.layers - 1
            else shape.entries - per_layer * (shape.layers - 1)
        )
        w = _LayerWriter(blob)
        touched: set[str] = set()
        if index > 0 and shape.opaque and live:
            for _ in range(shape.opaque):
                victim = rng.choice(live)
                dir_path = victim.rpartition("/")[0]
                w.marker(f"{dir_path}/.wh..wh..opq")
                gone = [p for p in live if p.rpartition("/")[0] == dir_path]
                keep = gone[: len(gone) // 2]  # refill half of the directory
                for p in gone:
                    live_set.discard(p)
                for p in keep:
                    salt += 1
                    w.file(p, shape.payload, salt)
                    live_set.add(p)
                    touched.add(p)
                live = [p for p in live if p in live_set]
        while w.members < budget:
            roll = rng.random() if index > 0 and live else 1.0
            if roll < shape.rewrite:
                p = live[rng.randrange(len(live))]
                if p in touched:
                    continue
                salt += 1
                w.file(p, shape.payload, salt)
                touched.add(p)
            elif roll < shape.rewrite + shape.delete:
                i = rng.randrange(len(live))
                p = live[i]
                if p in touched:
                    continue
                parent, _, name = p.rpartition("/")
                w.marker(f"{parent}/.wh.{name}")
                live[i] = live[-1]
                live.pop()
                live_set.discard(p)
                touched.add(p)
            else:
                p = f"{_leaf_dir(next_file, shape.files_per_dir)}/f{next_file}.dat"
                next_file += 1
                salt += 1
                w.file(p, shape.payload, salt)
                live.append(p)
                live_set.add(p)
                touched.add(p)
        layers.append(w.close())
    return layers


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = MTIME
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_archive(shape: Shape, path: Path, tag: str) -> dict[str, object]:
    """Write ``shape`` as a legacy ``docker save`` archive at ``path``; return its facts."""
    layers = build_layers(shape)
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": "2024-01-01T00:00:00Z", "created_by": f"/bin/sh -c step {i}"}
                for i in range(len(layers))
            ],
        }
    ).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    names = []
    tmp = path.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        parent = ""
        for i, blob in enumerate(layers):
            layer_id = hashlib.sha256(f"{parent}:{diff_ids[i]}".encode()).hexdigest()
            parent = layer_id
            info = tarfile.TarInfo(layer_id)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = MTIME
            tar.addfile(info)
            _add_bytes(tar, f"{layer_id}/VERSION", b"1.0")
            _add_bytes(tar, f"{layer_id}/json", json.dumps({"id": layer_id}).encode())
            _add_bytes(tar, f"{layer_id}/layer.tar", blob)
            names.append(f"{layer_id}/layer.tar")
        _add_bytes(tar, f"{config_hex}.json", config)
        repo, _, version = tag.rpartition(":")
        _add_bytes(
            tar,
            "manifest.json",
            json.dumps(
                [{"Config": f"{config_hex}.json", "RepoTags": [tag], "Layers": names}]
            ).encode(),
        )
        _add_bytes(tar, "repositories", json.dumps({repo: {version: parent}}).encode())
    os.replace(tmp, path)
    members = sum(_count_members(t) for t in layers)
    return {"members": members, "bytes": path.stat().st_size, "image_id": "sha256:" + config_hex}


def _count_members(layer: bytes) -> int:
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:") as tar:
        return sum(1 for _ in tar)


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int
    code: int
    timed_out: bool = False


TIME_BIN = "/usr/bin/time"


def measure(
    cmd: list[str], env: dict[str, str], timeout: float, stdout_path: str | None = None
) -> Sample:
    """Run ``cmd``; return wall seconds and the child's peak RSS.

    The RSS comes from ``/usr/bin/time -f %M`` when it exists: Linux keeps the pre-exec high
    water mark in ``ru_maxrss``, so a child forked straight from this (big) Python process
    would report at least our own RSS. Without it, ``wait4``'s rusage is used (an upper bound).
    """
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    rss_file = None
    if os.path.exists(TIME_BIN):
        fd, rss_file = tempfile.mkstemp(prefix="divepy-bench-rss-")
        os.close(fd)
        cmd = [TIME_BIN, "-f", "%M", "-o", rss_file, *cmd]
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return Sample(time.perf_counter() - start, usage.ru_maxrss, -9, True)
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss
        if rss_file:
            with contextlib.suppress(OSError, ValueError, IndexError):
                rss = int(Path(rss_file).read_text().split()[-1])
        return Sample(seconds, rss, proc.returncode)
    finally:
        if rss_file:
            with contextlib.suppress(OSError):
                os.unlink(rss_file)
        if stdout_path:
            out.close()  # type: ignore[union-attr]


@dataclass
class Result:
    size: int
    members: int
    archive_bytes: int
    tool: str
    mode: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return any(s.timed_out for s in self.samples)

    @property
    def median_s(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def median_rss_mib(self) -> float:
        return statistics.median(s.max_rss_kib for s in self.samples) / 1024


def _fmt_s(r: Result | None) -> str:
    if r is None or not r.samples:
        return "–"
    if r.timed_out:
        return f"> {r.median_s:.0f} (timeout)"
    return f"{r.median_s:.2f}"


def _fmt_rss(r: Result | None) -> str:
    if r is None or not r.samples or r.timed_out:
        return "–"
    return f"{r.median_rss_mib:.0f}"


def _ratio(a: Result | None, b: Result | None, attr: str) -> str:
    if a is None or b is None or not a.samples or not b.samples:
        return "–"
    x, y = getattr(a, attr), getattr(b, attr)
    if a.timed_out or y == 0:
        return "–"
    prefix = "> " if b.timed_out else ""
    return f"{prefix}{x / y:.1f}x"


def load_results(path: Path, skip: set[tuple[int, str, str]]) -> list[Result]:
    """Read the results of an earlier run from its results.json, leaving out ``(size, tool,
    mode)`` keys in ``skip`` (measured again now). Used to merge a long dive run with a later
    divepy run of the same shapes."""
    data = json.loads(path.read_text())
    out = []
    for item in data["results"]:
        if (item["size"], item["tool"], item["mode"]) in skip:
            continue
        samples = [Sample(**sample) for sample in item.pop("samples")]
        out.append(Result(**item, samples=samples))
    return out


def markdown_table(results: list[Result]) -> str:
    """One row per (size, mode): divepy and dive median time/RSS and dive/divepy ratios."""
    rows = [
        "| entries | archive | mode | divepy s | dive s | dive/divepy time | divepy MiB | dive MiB | dive/divepy RSS |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(r.size, r.tool, r.mode): r for r in results}
    sizes = sorted({r.size for r in results})
    for size in sizes:
        for mode in ("ci", "json"):
            mine = by_key.get((size, "divepy", mode))
            theirs = by_key.get((size, "dive", mode))
            if mine is None and theirs is None:
                continue
            ref = mine or theirs
            rows.append(
                f"| {ref.members:,} | {ref.archive_bytes / 1e6:.1f} MB | {mode} | {_fmt_s(mine)} | "
                f"{_fmt_s(theirs)} | {_ratio(theirs, mine, 'median_s')} | {_fmt_rss(mine)} | "
                f"{_fmt_rss(theirs)} | {_ratio(theirs, mine, 'median_rss_mib')} |"
            )
    rows.extend(engine_table(results))
    rows.extend(scaling_lines(results))
    return "\n".join(rows) + "\n"


def engine_table(results: list[Result]) -> list[str]:
    """Rows of the Engine table (``--engine``): the ``docker save > /dev/null`` floor, divepy
    reading the same image from the engine (cold and cached), dive from the engine, ratios."""
    by_key = {(r.size, r.tool, r.mode): r for r in results}
    sizes = sorted({r.size for r in results if r.tool == "docker"})
    if not sizes:
        return []
    rows = [
        "",
        "| entries | image | docker save s | divepy --ci s | divepy/save | dive s | dive/divepy "
        "| divepy reopen s | divepy MiB | dive MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        save = by_key.get((size, "docker", "save"))
        mine = by_key.get((size, "divepy-docker", "ci"))
        cached = by_key.get((size, "divepy-docker", "ci-cached"))
        theirs = by_key.get((size, "dive-docker", "ci"))
        ref = save or mine
        rows.append(
            f"| {ref.members:,} | {ref.archive_bytes / 1e6:.1f} MB | {_fmt_s(save)} | {_fmt_s(mine)} | "
            f"{_ratio(mine, save, 'median_s')} | {_fmt_s(theirs)} | {_ratio(theirs, mine, 'median_s')} | "
            f"{_fmt_s(cached)} | {_fmt_rss(mine)} | {_fmt_rss(theirs)} |"
        )
    return rows


def scaling_lines(results: list[Result]) -> list[str]:
    """Issue 5's linearity check: divepy's time at each size relative to the smallest size, and
    the 200,000 / 20,000 ratio when both were run (the target is at most 12x)."""
    lines = []
    for mode in ("ci", "json"):
        runs = sorted(
            (
                r
                for r in results
                if r.tool == "divepy" and r.mode == mode and r.samples and not r.timed_out
            ),
            key=lambda r: r.size,
        )
        if len(runs) < 2:
            continue
        lo = runs[0]
        steps = ", ".join(
            f"{r.members / lo.members:.0f}x entries: {r.median_s / lo.median_s:.1f}x time"
            for r in runs[1:]
        )
        lines += ["", f"divepy --{mode} scaling from {lo.members:,} entries: {steps}."]
        sized = {r.size: r for r in runs}
        if 20_000 in sized and 200_000 in sized:
            ratio = sized[200_000].median_s / sized[20_000].median_s
            lines.append(f"200,000 / 20,000 entries: {ratio:.1f}x the time (target: at most 12x).")
    return lines


def plot(results: list[Result], path: Path) -> bool:
    """Write a PNG of median time vs entries (log-log); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = (
        ("divepy", "ci", "o-", "tab:blue"),
        ("divepy", "json", "s--", "tab:blue"),
        ("dive", "ci", "o-", "tab:red"),
        ("dive", "json", "s--", "tab:red"),
        ("docker", "save", "^:", "tab:gray"),
        ("divepy-docker", "ci", "D-.", "tab:cyan"),
        ("dive-docker", "ci", "D-.", "tab:orange"),
    )
    for tool, mode, style, colour in series:
        pts = sorted(
            (r.members, r.median_s, r.timed_out)
            for r in results
            if r.tool == tool and r.mode == mode and r.samples
        )
        if not pts:
            continue
        label = {
            "docker": "docker save > /dev/null (engine)",
            "divepy-docker": "divepy --ci (engine)",
            "dive-docker": "dive --ci (engine)",
        }.get(tool, f"{tool} --{mode} (docker-archive)")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colour, label=label)
        for x, y, t in pts:
            if t:
                ax.annotate(
                    "timeout", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tar entries in the image")
    ax.set_ylabel("median wall time (s)")
    ax.set_title("divepy vs dive 0.13.1, synthetic images (median wall time)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu or platform.processor()}), {mem}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def _engine_env(engine: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKER_HOST"] = engine
    env.pop("DOCKER_CONTEXT", None)
    return env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sizes", default="5000,20000,50000,200000", help="comma-separated entry counts"
    )
    p.add_argument(
        "--runs", type=int, default=3, help="repetitions per tool and mode (median reported)"
    )
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--rewrite", type=float, default=0.2)
    p.add_argument("--delete", type=float, default=0.1)
    p.add_argument("--opaque", type=int, default=1, help="opaque directories per upper layer")
    p.add_argument("--payload", type=int, default=64, help="bytes per regular file")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--modes", default="ci,json", help="ci, json or both")
    p.add_argument("--tools", default="divepy,dive")
    p.add_argument("--dive", default=str(DEFAULT_DIVE), help="path of dive 0.13.1")
    p.add_argument(
        "--divepy",
        default=None,
        help="divepy command (default: this Python -m dive_py.cli from the checkout)",
    )
    p.add_argument(
        "--dive-timeout", type=float, default=900, help="seconds before a dive run is killed"
    )
    p.add_argument(
        "--dive-max-runs-above",
        type=int,
        default=100_000,
        help="run dive only once per mode for sizes above this many entries",
    )
    p.add_argument(
        "--dive-max-entries",
        type=int,
        default=60_000,
        help="do not run dive above this many entries (its time grows super-linearly)",
    )
    p.add_argument(
        "--timeout", type=float, default=900, help="seconds before a divepy run is killed"
    )
    p.add_argument(
        "--engine",
        default=None,
        help="unix:///…sock: also docker load/save and divepy's docker source",
    )
    p.add_argument(
        "--workdir", default=None, help="where archives are kept (default: a temp dir, removed)"
    )
    p.add_argument(
        "--out", default=None, help="directory for results.md, results.json, time_vs_entries.png"
    )
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one run (< 60 s)")
    p.add_argument(
        "--merge",
        default=None,
        help="results.json of an earlier run (same shape): its measurements of tools, "
        "sizes and modes not run now are added to the table and the plot",
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes = "300,1200"
        args.runs = 1
        args.layers = min(args.layers, 4)
        args.dive_timeout = min(args.dive_timeout, 20)
        args.timeout = min(args.timeout, 20)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    dive = args.dive
    if "dive" in tools and not (Path(dive).exists() or shutil.which(dive)):
        print(f"bench: dive not found at {dive}; skipping it", file=sys.stderr)
        tools.remove("dive")
    divepy_cmd = args.divepy.split() if args.divepy else [sys.executable, "-m", "dive_py.cli"]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="divepy-bench-out-"))
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="divepy-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="divepy-bench-scratch-"))
    base_env = dict(os.environ)
    base_env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + base_env["PYTHONPATH"] if base_env.get("PYTHONPATH") else ""
    )
    base_env.pop("CI", None)
    # divepy's CI rules: disable them so the exit code does not depend on the image's waste
    rules = scratch / "dive-ci.yaml"
    rules.write_text("rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: disabled\n")
    results: list[Result] = []
    try:
        for size in sizes:
            shape = Shape(
                entries=size,
                layers=args.layers,
                rewrite=args.rewrite,
                delete=args.delete,
                opaque=args.opaque,
                payload=args.payload,
                seed=args.seed,
            )
            archive = workdir / f"{shape.name()}.tar"
            tag = f"divepy-bench/{shape.name()}:latest".lower()
            t0 = time.perf_counter()
            if archive.exists() and (workdir / f"{shape.name()}.json").exists():
                facts = json.loads((workdir / f"{shape.name()}.json").read_text())
            else:
                facts = write_archive(shape, archive, tag)
                (workdir / f"{shape.name()}.json").write_text(json.dumps(facts))
            print(
                f"bench: {archive.name}: {facts['members']:,} entries, "
                f"{facts['bytes'] / 1e6:.1f} MB ({time.perf_counter() - t0:.1f} s to write)",
                file=sys.stderr,
            )
            members, nbytes = int(facts["members"]), int(facts["bytes"])  # type: ignore[arg-type]
            plans: list[tuple[str, str, list[str], dict[str, str], float, int]] = []
            for mode in modes:
                if "divepy" in tools:
                    cmd = divepy_cmd + ["--source", "docker-archive", "--no-cache"]
                    env = dict(base_env)
                    if mode == "ci":
                        cmd += ["--ci", "--ci-config", str(rules), str(archive)]
                    else:
                        cmd += ["--json", str(scratch / "divepy.json"), str(archive)]
                    plans.append(("divepy", mode, cmd, env, args.timeout, args.runs))
                if "dive" in tools and size <= args.dive_max_entries:
                    env = dict(base_env)
                    cmd = [dive, "--source", "docker-archive", str(archive)]
                    if mode == "ci":
                        env["CI"] = "true"
                        cmd += ["--ci-config", str(rules)]
                    else:
                        cmd += ["--json", str(scratch / "dive.json")]
                    runs = 1 if size > args.dive_max_runs_above else args.runs
                    plans.append(("dive", mode, cmd, env, args.dive_timeout, runs))
            if args.engine:
                env = _engine_env(args.engine)
                load = subprocess.run(
                    ["docker", "load", "-i", str(archive)], env=env, capture_output=True, text=True
                )
                if load.returncode != 0:
                    print(f"bench: docker load failed: {load.stderr.strip()}", file=sys.stderr)
                else:
                    plans.append(
                        (
                            "docker",
                            "save",
                            ["sh", "-c", f"docker save {tag} > /dev/null"],
                            env,
                            args.timeout,
                            args.runs,
                        )
                    )
                    e2 = dict(base_env)
                    e2.update({"DOCKER_HOST": args.engine})
                    e2.pop("DOCKER_CONTEXT", None)
                    e2["DIVEPY_CACHE_DIR"] = str(scratch / "cache")  # a private, empty cache
                    plans.append(
                        (
                            "divepy-docker",
                            "ci",
                            divepy_cmd + ["--no-cache", "--ci", "--ci-config", str(rules), tag],
                            e2,
                            args.timeout,
                            args.runs,
                        )
                    )
                    cached = divepy_cmd + ["--ci", "--ci-config", str(rules), tag]
                    plans.append(
                        ("divepy-docker", "ci-store", cached, e2, args.timeout, 1)
                    )  # fills the cache
                    plans.append(
                        ("divepy-docker", "ci-cached", cached, e2, args.timeout, args.runs)
                    )
                    if "dive" in tools and size <= args.dive_max_entries:
                        e3 = dict(env)
                        e3["CI"] = "true"
                        plans.append(
                            (
                                "dive-docker",
                                "ci",
                                [dive, "--ci-config", str(rules), tag],
                                e3,
                                args.dive_timeout,
                                1 if size > args.dive_max_runs_above else args.runs,
                            )
                        )
            for tool, mode, cmd, env, timeout, runs in plans:
                result = Result(size, members, nbytes, tool, mode)
                for i in range(runs):
                    sample = measure(cmd, env, timeout)
                    result.samples.append(sample)
                    status = "timeout" if sample.timed_out else f"exit {sample.code}"
                    print(
                        f"bench:   {tool:>13} {mode:<9} run {i + 1}/{runs}: {sample.seconds:8.2f} s "
                        f"{sample.max_rss_kib / 1024:8.0f} MiB ({status})",
                        file=sys.stderr,
                    )
                    if sample.timed_out:
                        break
                results.append(result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.merge:
        results += load_results(Path(args.merge), {(r.size, r.tool, r.mode) for r in results})
    table = markdown_table(results)
    header = (
        f"Machine: {machine()}\n\nShape: {args.layers} layers, rewrite {args.rewrite:g}, "
        f"delete {args.delete:g}, {args.opaque} opaque dir(s) per upper layer, "
        f"{args.payload} B per file, seed {args.seed}; {args.runs} run(s), median.\n\n"
    )
    (out / "results.md").write_text(header + table)
    (out / "results.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "args": vars(args),
                "results": [
                    {
                        **{k: v for k, v in asdict(r).items() if k != "samples"},
                        "samples": [asdict(s) for s in r.samples],
                    }
                    for r in results
                ],
            },
            indent=1,
        )
    )
    png = out / "time_vs_entries.png"
    plotted = plot(results, png)
    print(header + table)
    print(
        f"bench: wrote {out / 'results.md'}"
        + (f" and {png}" if plotted else " (no plot: pip install matplotlib)"),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
