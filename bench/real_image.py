#!/usr/bin/env python3
"""divepy vs ``docker save`` and dive 0.13.1 on a real multi-hundred-MB image from an engine.

Issue 5's engine target: ``divepy --ci`` on a real image read from the Docker Engine takes at
most 1.3x the time of ``docker save IMAGE > /dev/null`` and is at least 10x faster than
``CI=true dive IMAGE``; its peak RSS is at most dive's; reopening an analysed image (the
analysis cache) takes under 1 s.

Usage (see bench/README.md, "A real image from the Docker Engine")::

    python3 bench/real_image.py engine                       # start a private dockerd
    python3 bench/real_image.py build --engine unix:///work/bench-engine/docker.sock
    python3 bench/real_image.py measure --engine unix:///work/bench-engine/docker.sock \\
        --image divepy-bench/scientific:1 --runs 3 --out /tmp/real
    python3 bench/real_image.py engine --stop                # stop it again

``engine`` starts a dockerd of its own (Debian 13's Docker 26 from scripts/test's cache by
default) with its data, exec root, socket and log under ``--dir``. ``build`` makes a Debian 12
base rootfs with debootstrap, imports it, and builds ``bench/scientific.Dockerfile`` on top
with the classic builder (4 RUN steps: python3; numpy + scipy; gcc + matplotlib; deleting the
.pyc files). Each step is skipped when its result exists. ``measure`` runs, side by side and
``--runs`` times each: ``docker save IMAGE > /dev/null`` (the floor), ``divepy --no-cache
--ci``, ``divepy --no-cache --json``, divepy's cached reopen (``--ci`` after one populating
run, in a private ``DIVEPY_CACHE_DIR``) and ``CI=true dive IMAGE`` (once when a run takes
longer than 60 s), and writes results-real.md and results-real.json with median wall time and
peak RSS and the ratios against the targets.

Wall time and peak RSS are measured by bench/run.py's ``measure()`` (``time.perf_counter``
around the child, ``/usr/bin/time -f %M`` for its peak RSS). The RSS of ``docker save`` is
the CLI's, not the daemon's: the engine does the tar work in dockerd. Python 3 standard
library only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from run import Sample, machine, measure  # noqa: E402 (bench/run.py, after the sys.path line)

DEFAULT_DIR = Path("/work/bench-engine")
DEFAULT_DOCKERD = Path("/root/.cache/divepy-test/trixie-docker.io/usr/sbin/dockerd")
DEFAULT_TAG = "divepy-bench/scientific:1"
BASE_TAG = "divepy-bench/debian:bookworm"
DOCKERFILE = HERE / "scientific.Dockerfile"
DEFAULT_DIVE = REPO / ".venv" / "bin" / "dive"
DEFAULT_PYTHON = REPO / ".venv" / "bin" / "python"
MIRROR = "http://deb.debian.org/debian"
ROOTFS_OK = "rootfs-bookworm.ok"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def log(msg: str) -> None:
    print(f"real_image: {msg}", file=sys.stderr, flush=True)


def docker_env(engine: str) -> dict[str, str]:
    """The environment for a client of ``engine``: DOCKER_HOST set, no context, no CI."""
    env = dict(os.environ)
    env["DOCKER_HOST"] = engine
    env.pop("DOCKER_CONTEXT", None)
    env.pop("CI", None)
    return env


def docker(
    engine: str, *args: str, check: bool = True, capture: bool = True, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI against ``engine``."""
    return subprocess.run(
        ["docker", "-H", engine, *args],
        env=docker_env(engine),
        text=True,
        capture_output=capture,
        check=check,
        **kw,
    )  # type: ignore[call-overload]


def image_inspect(engine: str, ref: str) -> dict[str, object] | None:
    """``docker image inspect`` of ``ref`` as a dict, or None when the image is missing."""
    r = docker(engine, "image", "inspect", "--format", "{{json .}}", ref, check=False)
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None


# --------------------------------------------------------------------------------------------
# engine
# --------------------------------------------------------------------------------------------


def _engine_answers(sock: str) -> str:
    r = subprocess.run(
        ["docker", "-H", sock, "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        env=docker_env(sock),
        check=False,
    )
    return r.stdout.strip() if r.returncode == 0 else ""


def _pid_alive(pidfile: Path) -> int:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return 0


def cmd_engine(args: argparse.Namespace) -> int:
    """Start (or with --stop, stop) a private dockerd under ``--dir``."""
    d = Path(args.dir).resolve()
    sock = f"unix://{d}/docker.sock"
    pidfile = d / "pid"
    if args.stop:
        pid = _pid_alive(pidfile)
        if not pid:
            log(f"no dockerd running from {d}")
            return 0
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except OSError:
                log(f"dockerd {pid} stopped")
                return 0
            time.sleep(0.1)
        log(f"dockerd {pid} did not stop within 30 s (kill -KILL {pid} if needed)")
        return 1
    if _pid_alive(pidfile) and (v := _engine_answers(sock)):
        log(f"already running: Docker {v} at {sock}")
        print(sock)
        return 0
    dockerd = Path(args.dockerd)
    if not dockerd.exists():
        log(
            f"{dockerd} missing: run scripts/test once (it fetches Debian 13's docker.io), "
            "or pass --dockerd /usr/sbin/dockerd"
        )
        return 1
    for sub in ("data", "exec"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    config = d / "daemon.json"
    config.write_text(json.dumps({"storage-driver": args.storage_driver}) + "\n")
    env = dict(os.environ)
    # dockerd finds docker-proxy next to itself via PATH; containerd and runc come from the system
    env["PATH"] = f"{dockerd.parent}:{env.get('PATH', BASE_PATH)}"
    with open(d / "log", "ab") as out:
        proc = subprocess.Popen(
            [
                str(dockerd),
                "--config-file",
                str(config),
                "--iptables=false",
                "--ip-masq=false",
                "--bridge=none",
                "--data-root",
                str(d / "data"),
                "--exec-root",
                str(d / "exec"),
                "--pidfile",
                str(pidfile),
                "-H",
                sock,
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if v := _engine_answers(sock):
            driver = subprocess.run(
                ["docker", "-H", sock, "info", "--format", "{{.Driver}}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            log(f"dockerd {proc.pid} up: Docker {v}, storage driver {driver}; log {d / 'log'}")
            log(
                f"stop it with: python3 {Path(__file__).relative_to(REPO) if Path(__file__).is_relative_to(REPO) else __file__}"
                f" engine --dir {d} --stop   (or kill -TERM $(cat {pidfile}))"
            )
            print(sock)
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    log(f"dockerd did not come up; last lines of {d / 'log'}:")
    sys.stderr.write("".join((d / "log").read_text(errors="replace").splitlines(True)[-15:]))
    if proc.poll() is None:
        proc.terminate()
    return 1


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------


def ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    log("installing debootstrap (apt-get)")
    subprocess.run(
        ["apt-get", "install", "-y", "debootstrap"], check=True, stdout=subprocess.DEVNULL
    )


def build_base(engine: str, workdir: Path, mirror: str, base_tag: str) -> None:
    """Import a debootstrap'd Debian 12 minbase as ``base_tag`` unless it exists."""
    if image_inspect(engine, base_tag):
        log(f"{base_tag} exists: skipping debootstrap and import")
        return
    rootfs = workdir / "rootfs-bookworm"
    done = workdir / ROOTFS_OK  # written after a complete debootstrap
    if not done.exists():
        ensure_debootstrap()
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.mkdir(parents=True)
        log(f"debootstrap --variant=minbase bookworm {rootfs} {mirror}")
        t0 = time.perf_counter()
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log(f"debootstrap done in {time.perf_counter() - t0:.0f} s")
        done.write_text(mirror + "\n")
    log(f"importing {rootfs} as {base_tag}")
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    try:
        subprocess.run(
            [
                "docker",
                "-H",
                engine,
                "import",
                "--change",
                f"ENV PATH={BASE_PATH}",
                "--change",
                'CMD ["bash"]',
                "-",
                base_tag,
            ],
            stdin=tar.stdout,
            check=True,
            env=docker_env(engine),
            stdout=subprocess.DEVNULL,
        )
    finally:
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0:
            raise SystemExit(f"real_image: tar of {rootfs} failed")


def cmd_build(args: argparse.Namespace) -> int:
    """Build the benchmark image (idempotent: existing results are reused)."""
    engine = args.engine
    if not _engine_answers(engine):
        log(f"no engine answers at {engine} (start one: python3 bench/real_image.py engine)")
        return 1
    if image_inspect(engine, args.tag) and not args.force:
        log(f"{args.tag} exists: nothing to build (--force rebuilds; the builder cache is reused)")
        return report_image(engine, args.tag)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    build_base(engine, workdir, args.mirror, args.base_tag)
    with tempfile.TemporaryDirectory(prefix="divepy-real-ctx-") as ctx:
        shutil.copy(DOCKERFILE, Path(ctx) / "Dockerfile")
        env = docker_env(engine)
        env["DOCKER_BUILDKIT"] = "0"  # classic builder: one layer per RUN, build cache per step
        log(f"docker build -t {args.tag} (classic builder, --network host)")
        t0 = time.perf_counter()
        subprocess.run(
            [
                "docker",
                "-H",
                engine,
                "build",
                "--network",
                "host",
                "--build-arg",
                f"BASE={args.base_tag}",
                "-t",
                args.tag,
                ctx,
            ],
            check=True,
            env=env,
        )
        log(f"built {args.tag} in {time.perf_counter() - t0:.0f} s")
    return report_image(engine, args.tag)


def report_image(engine: str, tag: str) -> int:
    info = image_inspect(engine, tag)
    if not info:
        log(f"{tag} not found after the build")
        return 1
    layers = info.get("RootFS", {}).get("Layers", [])  # type: ignore[union-attr]
    log(f"{tag}: {info['Id']}, {int(info['Size']) / 1e9:.2f} GB, {len(layers)} layers")
    return 0


# --------------------------------------------------------------------------------------------
# image facts: entries per layer, counted over the save stream
# --------------------------------------------------------------------------------------------


class _Prefixed(io.RawIOBase):
    """A read-only stream: ``head`` bytes, then the rest of ``tail``."""

    def __init__(self, head: bytes, tail: io.BufferedIOBase) -> None:
        self.head, self.tail = head, tail

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.tail.read(len(b))
        b[: len(data)] = data
        return len(data)


def count_entries(engine: str, image: str) -> dict[str, object]:
    """Stream ``docker save IMAGE`` once and count the tar entries of every layer.

    Layers are the archive's members that are tars themselves (``*/layer.tar`` of the legacy
    layout, or blobs with a ustar header in the OCI layout of Docker 25+); they are matched to
    the manifest's layer order afterwards. Returns entries per layer, whiteouts per layer and
    the totals.
    """
    proc = subprocess.Popen(
        ["docker", "-H", engine, "save", image], stdout=subprocess.PIPE, env=docker_env(engine)
    )
    assert proc.stdout is not None
    per_member: dict[str, tuple[int, int]] = {}
    manifest: list[dict[str, object]] = []
    t0 = time.perf_counter()
    with tarfile.open(fileobj=proc.stdout, mode="r|") as outer:
        for m in outer:
            if not m.isfile():
                continue
            f = outer.extractfile(m)
            assert f is not None
            if m.name == "manifest.json":
                manifest = json.loads(f.read())
                continue
            head = f.read(512)
            if len(head) < 512 or head[257:262] != b"ustar":
                continue
            entries = whiteouts = 0
            with tarfile.open(
                fileobj=io.BufferedReader(_Prefixed(head, f), 1 << 20),  # type: ignore[arg-type]
                mode="r|",
            ) as inner:
                for e in inner:
                    entries += 1
                    if e.name.rpartition("/")[2].startswith(".wh."):
                        whiteouts += 1
            per_member[m.name] = (entries, whiteouts)
    if proc.wait() != 0:
        raise SystemExit(f"real_image: docker save {image} failed")
    names = [str(x) for x in manifest[0]["Layers"]] if manifest else sorted(per_member)  # type: ignore[index, union-attr]
    per_layer = [per_member.get(n, (0, 0)) for n in names]
    return {
        "entries": sum(e for e, _ in per_layer),
        "whiteouts": sum(w for _, w in per_layer),
        "entries_per_layer": [e for e, _ in per_layer],
        "whiteouts_per_layer": [w for _, w in per_layer],
        "count_seconds": round(time.perf_counter() - t0, 2),
    }


def image_facts(engine: str, image: str, cache_dir: Path) -> dict[str, object]:
    """Size, layers and entry counts of ``image``; the counts are cached per image ID."""
    info = image_inspect(engine, image)
    if not info:
        raise SystemExit(f"real_image: {image} not found in {engine} (run the build step)")
    image_id = str(info["Id"])
    facts: dict[str, object] = {
        "image": image,
        "id": image_id,
        "size_bytes": int(info["Size"]),  # type: ignore[arg-type]
        "layers": len(info.get("RootFS", {}).get("Layers", [])),  # type: ignore[union-attr]
    }
    cached = cache_dir / f"facts-{image_id.replace(':', '-')[:19]}.json"
    if cached.exists():
        facts.update({k: v for k, v in json.loads(cached.read_text()).items() if k not in facts})
    else:
        log(f"counting tar entries of {image} over one docker save stream")
        facts.update(count_entries(engine, image))
        cached.write_text(json.dumps(facts, indent=1))
    return facts


# --------------------------------------------------------------------------------------------
# measure
# --------------------------------------------------------------------------------------------


def _median(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples) if samples else float("nan")


def _run(
    label: str,
    cmd: list[str],
    env: dict[str, str],
    runs: int,
    timeout: float,
    stdout_path: str | None = None,
    once_above: float | None = None,
    index: tuple[int, int] | None = None,
) -> list[Sample]:
    """Run ``cmd`` ``runs`` times (once when a run exceeds ``once_above`` seconds)."""
    samples: list[Sample] = []
    for i in range(runs):
        s = measure(cmd, env, timeout, stdout_path)
        samples.append(s)
        status = "timeout" if s.timed_out else f"exit {s.code}"
        n, of = index or (i + 1, runs)
        log(
            f"  {label:<22} run {n}/{of}: {s.seconds:8.2f} s {s.max_rss_kib / 1024:7.0f} MiB ({status})"
        )
        if s.timed_out or (once_above is not None and s.seconds > once_above):
            if i + 1 < runs:
                log(f"  {label}: {s.seconds:.0f} s > {once_above:.0f} s: one run only")
            break
    return samples


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def first_byte(engine: str, image: str, timeout: float) -> tuple[float, float, int]:
    """Time ``docker save IMAGE`` to its first byte and to its end (read through a pipe).

    The classic image store of Docker 25+ writes the whole export into ``DATA_ROOT/tmp``
    before it sends a byte, so no client can overlap its work with that phase. Returns
    (seconds to the first byte, seconds in all, bytes).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["docker", "-H", engine, "save", image],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=docker_env(engine),
        bufsize=0,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    ttfb = time.perf_counter() - start
    n = len(first)
    while chunk := proc.stdout.read(1 << 20):
        n += len(chunk)
        if time.perf_counter() - start > timeout:
            proc.kill()
            break
    proc.wait()
    return ttfb, time.perf_counter() - start, n


ROUND_TOOLS = ("save", "ttfb", "ci", "json")
ALL_TOOLS = ROUND_TOOLS + ("reopen", "dive", "dive-json")


def cmd_measure(args: argparse.Namespace) -> int:
    """Measure docker save, divepy (--ci, --json, cached reopen) and dive on one image.

    save, ttfb, ci and json run interleaved (one of each per round, ``--runs`` rounds), so a
    drift in the machine's load or the page cache affects them alike; reopen, dive and
    dive-json follow one after the other.
    """
    engine, image = args.engine, args.image
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if bad := [t for t in tools if t not in ALL_TOOLS]:
        log(f"unknown tool(s) {', '.join(bad)} (known: {', '.join(ALL_TOOLS)})")
        return 2
    if not _engine_answers(engine):
        log(f"no engine answers at {engine}")
        return 1
    if any(t.startswith("dive") for t in tools) and not Path(args.dive).exists():
        log(f"dive not found at {args.dive}: skipping it")
        tools = [t for t in tools if not t.startswith("dive")]
    facts = image_facts(engine, image, out)
    log(
        f"{image}: {facts['size_bytes'] / 1e9:.2f} GB, {facts['layers']} layers, "  # type: ignore[operator]
        f"{facts['entries']:,} tar entries ({facts['whiteouts']:,} whiteouts)"
    )
    divepy = [args.python, "-m", "dive_py.cli"]
    scratch = Path(tempfile.mkdtemp(prefix="divepy-real-"))
    rules = scratch / "dive-ci.yaml"
    rules.write_text("rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: disabled\n")
    env = docker_env(engine)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    cache_env = dict(env)
    cache_env["DIVEPY_CACHE_DIR"] = str(scratch / "cache")
    ci_env = dict(env)
    ci_env["CI"] = "true"
    save = ["docker", "-H", engine, "save", image]
    # label, command, environment, stdout file
    plans: dict[str, tuple[str, list[str], dict[str, str], str | None]] = {
        "save": ("docker save", save, env, "/dev/null"),
        "ci": (
            "divepy --ci",
            divepy + ["--no-cache", "--ci", "--ci-config", str(rules), image],
            env,
            None,
        ),
        "json": (
            "divepy --json",
            divepy + ["--no-cache", "--json", str(scratch / "divepy.json"), image],
            env,
            None,
        ),
    }
    load_before = _load()
    results: dict[str, list[Sample]] = {}
    phases: dict[str, list[float]] = {}
    try:
        # warm the engine's page cache once so the first measured tool is not penalised
        log("warm-up: docker save > /dev/null")
        measure(save, env, args.timeout, "/dev/null")
        rounds = [t for t in tools if t in ROUND_TOOLS]
        for i in range(args.runs if rounds else 0):
            for tool in rounds:
                if tool == "ttfb":
                    ttfb, total, n = first_byte(engine, image, args.timeout)
                    phases.setdefault(
                        "docker save: engine export before the first byte", []
                    ).append(ttfb)
                    phases.setdefault("docker save: streaming after the first byte", []).append(
                        total - ttfb
                    )
                    log(
                        f"  {'docker save (pipe)':<22} run {i + 1}/{args.runs}: first byte after {ttfb:.2f} s, "
                        f"{total:.2f} s in all ({n / 1e9:.2f} GB)"
                    )
                    continue
                label, cmd, e, stdout_path = plans[tool]
                results.setdefault(label, []).extend(
                    _run(label, cmd, e, 1, args.timeout, stdout_path, index=(i + 1, args.runs))
                )
        for tool in tools:
            if tool == "reopen":
                cmd = divepy + ["--ci", "--ci-config", str(rules), image]
                results["divepy --ci (populate cache)"] = _run(
                    "divepy --ci populate", cmd, cache_env, 1, args.timeout
                )
                results["divepy --ci (cached reopen)"] = _run(
                    "divepy --ci reopen", cmd, cache_env, args.runs, args.timeout
                )
            elif tool == "dive" and args.reuse_dive:
                old = json.loads(Path(args.reuse_dive).read_text())
                if old.get("facts", {}).get("id") != facts["id"] or "CI=true dive" not in old.get(
                    "results", {}
                ):
                    log(f"{args.reuse_dive}: no CI=true dive result for {facts['id']}: not reused")
                    return 2
                results["CI=true dive (reused)"] = [
                    Sample(**x) for x in old["results"]["CI=true dive"]
                ]
                log(
                    f"  CI=true dive: reused {len(results['CI=true dive (reused)'])} run(s) from {args.reuse_dive}"
                )
            elif tool == "dive":
                results["CI=true dive"] = _run(
                    "CI=true dive",
                    [args.dive, "--ci-config", str(rules), image],
                    ci_env,
                    args.dive_runs or args.runs,
                    args.dive_timeout,
                    once_above=None if args.dive_runs else 60.0,
                )
            elif tool == "dive-json":
                results["dive --json"] = _run(
                    "dive --json",
                    [args.dive, "--json", str(scratch / "dive.json"), image],
                    env,
                    args.dive_runs or args.runs,
                    args.dive_timeout,
                    once_above=None if args.dive_runs else 60.0,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = _load()
    summary = summarise(facts, results, phases, args, load_before, load_after)
    (out / "results-real.md").write_text(summary["markdown"])  # type: ignore[arg-type]
    (out / "results-real.json").write_text(
        json.dumps({k: v for k, v in summary.items() if k != "markdown"}, indent=1)
    )
    print(summary["markdown"])
    log(f"wrote {out / 'results-real.md'} and {out / 'results-real.json'}")
    return 0


def summarise(
    facts: dict[str, object],
    results: dict[str, list[Sample]],
    phases: dict[str, list[float]],
    args: argparse.Namespace,
    load_before: str,
    load_after: str,
) -> dict[str, object]:
    """The markdown table and the JSON document of one measurement."""
    t = {k.replace(" (reused)", ""): _median(v, "seconds") for k, v in results.items()}
    r = {k.replace(" (reused)", ""): _median(v, "max_rss_kib") / 1024 for k, v in results.items()}
    lines = [
        (
            f"Image: `{facts['image']}` ({str(facts['id'])[:19]}), {int(facts['size_bytes']) / 1e9:.2f} GB "  # type: ignore[call-overload]
            f"({facts['size_bytes']:,} bytes), {facts['layers']} layers, {facts['entries']:,} tar entries "
            f"({facts['whiteouts']:,} whiteouts; per layer: "
            f"{', '.join(f'{n:,}' for n in facts['entries_per_layer'])})."
        ),  # type: ignore[attr-defined]
        "",
        (
            f"Machine: {machine()}. Load average (1/5/15 min) before: {load_before}, after: {load_after}. "
            f"Median of {args.runs} run(s) unless noted."
        ),
        "",
        "| what | runs | median s | min s | max s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, v in results.items():
        if not v:
            continue
        codes = sorted({s.code for s in v})
        note = "" if codes == [0] else f" (exit {','.join(map(str, codes))})"
        k0 = k.replace(" (reused)", "")
        lines.append(
            f"| `{k0}`{k[len(k0) :]}{note} | {len(v)} | {t[k0]:.2f} | {min(s.seconds for s in v):.2f} | "
            f"{max(s.seconds for s in v):.2f} | {r[k0]:.0f} |"
        )
    for k, xs in phases.items():
        lines.append(
            f"| {k} | {len(xs)} | {statistics.median(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} | |"
        )
    ratios: dict[str, float] = {}

    def ratio(name: str, a: str, b: str, src: dict[str, float]) -> None:
        if a in src and b in src and src[b] > 0:
            ratios[name] = round(src[a] / src[b], 3)

    ratio("divepy_ci / docker_save time", "divepy --ci", "docker save", t)
    ratio("divepy_json / docker_save time", "divepy --json", "docker save", t)
    save, ci = results.get("docker save", []), results.get("divepy --ci", [])
    if len(save) == len(ci) > 1:  # interleaved rounds: the ratio within each round
        ratios["divepy_ci / docker_save time, per round (median)"] = round(
            statistics.median(c.seconds / s.seconds for c, s in zip(ci, save, strict=False)), 3
        )
    ratio("dive / divepy_ci time", "CI=true dive", "divepy --ci", t)
    ratio("divepy_ci / dive RSS", "divepy --ci", "CI=true dive", r)
    ratio("divepy_json / dive RSS", "divepy --json", "CI=true dive", r)
    ratio("divepy_json / dive_json RSS", "divepy --json", "dive --json", r)
    targets = {
        "divepy_ci / docker_save time": ("≤ 1.3", lambda x: x <= 1.3),
        "divepy_ci / docker_save time, per round (median)": ("≤ 1.3", lambda x: x <= 1.3),
        "dive / divepy_ci time": ("≥ 10", lambda x: x >= 10),
        "divepy_ci / dive RSS": ("≤ 1", lambda x: x <= 1),
        "divepy_json / dive RSS": ("≤ 1", lambda x: x <= 1),
        "divepy_json / dive_json RSS": ("≤ 1", lambda x: x <= 1),
    }
    lines += ["", "| ratio | value | target | met |", "|---|---:|---|---|"]
    for k, v in ratios.items():
        target, ok = targets.get(k, ("", None))  # type: ignore[assignment]
        lines.append(
            f"| {k} | {v:.2f}x | {target} | {'' if ok is None else ('yes' if ok(v) else '**no**')} |"
        )
    if "divepy --ci (cached reopen)" in t:
        v = t["divepy --ci (cached reopen)"]
        ratios["reopen seconds"] = round(v, 3)
        lines.append(
            f"| cached reopen (`--ci`) | {v:.2f} s | < 1 s | {'yes' if v < 1 else '**no**'} |"
        )
    md = "\n".join(lines) + "\n"
    return {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
        "facts": facts,
        "ratios": ratios,
        "args": {k: v for k, v in vars(args).items() if k != "func"},
        "results": {k: [asdict(s) for s in v] for k, v in results.items()},
        "markdown": md,
    }


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("engine", help="start (or --stop) a private dockerd")
    e.add_argument(
        "--dir",
        default=str(DEFAULT_DIR),
        help="data, exec root, socket, pid and log (default %(default)s)",
    )
    e.add_argument(
        "--dockerd",
        default=str(DEFAULT_DOCKERD),
        help="dockerd binary (default: Debian 13's Docker 26 from scripts/test's cache)",
    )
    e.add_argument(
        "--storage-driver",
        default="overlay2",
        help="graph driver (default %(default)s; vfs where overlay2 does not work)",
    )
    e.add_argument("--stop", action="store_true", help="stop the dockerd started from --dir")
    e.set_defaults(func=cmd_engine)

    b = sub.add_parser(
        "build", help="build the benchmark image (debootstrap base + bench/scientific.Dockerfile)"
    )
    b.add_argument("--engine", required=True, help="unix:///…/docker.sock")
    b.add_argument("--tag", default=DEFAULT_TAG, help="image tag (default %(default)s)")
    b.add_argument(
        "--base-tag",
        default=BASE_TAG,
        help="tag of the imported debootstrap base (default %(default)s)",
    )
    b.add_argument(
        "--mirror", default=MIRROR, help="Debian mirror for debootstrap (default %(default)s)"
    )
    b.add_argument(
        "--workdir",
        default=str(DEFAULT_DIR / "build"),
        help="where the rootfs is kept (default %(default)s)",
    )
    b.add_argument("--force", action="store_true", help="run docker build even if the tag exists")
    b.set_defaults(func=cmd_build)

    m = sub.add_parser("measure", help="measure docker save, divepy and dive on an image")
    m.add_argument("--engine", required=True, help="unix:///…/docker.sock")
    m.add_argument("--image", default=DEFAULT_TAG, help="image tag (default %(default)s)")
    m.add_argument("--runs", type=int, default=3, help="runs per tool (median reported)")
    m.add_argument("--out", required=True, help="directory for results-real.md / results-real.json")
    m.add_argument(
        "--tools",
        default="save,ttfb,ci,json,reopen,dive",
        help="what to run: save, ttfb, ci, json (interleaved per round), then reopen, dive, "
        "dive-json (default %(default)s)",
    )
    m.add_argument(
        "--python", default=str(DEFAULT_PYTHON), help="Python that runs divepy (-m dive_py.cli)"
    )
    m.add_argument("--dive", default=str(DEFAULT_DIVE), help="dive 0.13.1 binary")
    m.add_argument(
        "--dive-runs",
        type=int,
        default=0,
        help="runs of dive (default: --runs, but one when a run takes over 60 s)",
    )
    m.add_argument("--dive-timeout", type=float, default=1800)
    m.add_argument(
        "--reuse-dive",
        metavar="RESULTS_JSON",
        default=None,
        help="take dive's samples from an earlier results-real.json of the same image "
        "(dive takes many minutes) instead of running it",
    )
    m.add_argument(
        "--timeout", type=float, default=600, help="seconds before a divepy/docker run is killed"
    )
    m.set_defaults(func=cmd_measure)

    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
