"""Mutation fuzzer over the bytes of valid image archives (issue 6, "Fuzzing").

Seeds are small valid archives in every layout (legacy ``docker save``, Docker >= 25's OCI
layout with ``manifest.json``, a pure OCI layout) and every layer compression (none, gzip,
zstd). Each case mutates one seed (bit flips, truncation, splicing, overwriting, tar numeric
fields, or a mutation of an uncompressed layer *before* it is compressed, so that the layer
parser behind the decompressor is reached too) and runs the whole in-process pipeline.

A case must end in a result (whose figures are sane: sizes >= 0, efficiency in [0, 1],
reclaimable = size - visible) or a clean error (:class:`DivepyError` or
:class:`ArchiveFormatError`); any other exception fails the test, and so does a case that
runs longer than :data:`CASE_SECONDS` (``signal.alarm``). Everything is seeded: a failure
names its case number, and the same run reproduces it.
"""

from __future__ import annotations

import os
import random
import signal
import tarfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from dive_py.domain.sources.archive_stream import ArchiveFormatError
from dive_py.errors import DivepyError
from tests import image_builder
from tests.hostile.helpers import pipeline
from tests.image_builder import E, ImageSpec, Step, d, docker_archive, f, hard, opaque, sym, wh

LAYOUTS = ("legacy", "oci", "oci-only")
COMPRESSIONS = ("none", "gzip", "zstd")
CASES = 5000
CASE_SECONDS = 5
TOTAL_SECONDS = 45


def seed_spec() -> ImageSpec:
    """A small image exercising every entry kind, whiteouts, opaque dirs and links."""
    return ImageSpec(
        layers=[
            [
                d("etc"),
                f("etc/passwd", "root:x:0:0\n"),
                d("bin"),
                f("bin/sh", b"\x7fELF" * 40),
                sym("bin/ash", "sh"),
                hard("bin/busybox", "bin/sh"),
                E("dev/null", "char"),
                E("run/fifo", "fifo"),
            ],
            [
                f("etc/passwd", "root:x:0:0\nu:x:1:1\n"),
                d("app"),
                f("app/a.py", "print(1)\n" * 30),
                f("app/b.bin", bytes(range(256)) * 4),
            ],
            [
                wh("app/b.bin"),
                opaque("etc"),
                f("etc/hosts", "127.0.0.1 localhost\n"),
                sym("loop", "loop"),
                sym("out", "../../../etc/shadow"),
            ],
            [
                f("./app/a.py", "print(2)\n"),
                wh("nothing/here"),
                f(
                    "deep/" + "x" * 150 + "/caf\u00e9",
                    "long name: PAX or GNU L header",
                    uid=3_000_000,
                ),
                sym("deep/l" + "y" * 120, "t" * 120),
            ],
        ],
        history=[
            Step("FROM x"),
            Step("ENV A=1", empty_layer=True),
            Step("RUN a"),
            Step("RUN b"),
            Step("COPY c"),
        ],
    )


def _with_tar_format(fmt: int, build: Callable[[], bytes]) -> bytes:
    original = image_builder.layer_tar
    image_builder.layer_tar = lambda entries: original(entries, fmt)  # type: ignore[assignment]
    try:
        return build()
    finally:
        image_builder.layer_tar = original


def _seeds() -> list[tuple[str, bytes]]:
    seeds = [
        (f"{layout}/{comp}", docker_archive(seed_spec(), layout=layout, compression=comp))
        for layout in LAYOUTS
        for comp in COMPRESSIONS
    ]
    seeds.append(
        (
            "legacy/none/gnu",
            _with_tar_format(tarfile.GNU_FORMAT, lambda: docker_archive(seed_spec())),
        )
    )
    return seeds


# --- mutations of a byte string --------------------------------------------------------------
def flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def splice(rng: random.Random, data: bytes) -> bytes:
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    chunk = data[a:b][:4096]
    at = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:at] + chunk + data[at:]  # insert (shifts everything after)
    return data[:at] + chunk + data[at + len(chunk) :]  # copy over


def overwrite(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    n = rng.choice((1, 8, 12, 64, 512))
    fill = rng.choice((b"\x00", b"\xff", b"7", b" ", None))
    block = bytes(rng.randrange(256) for _ in range(n)) if fill is None else fill * n
    return data[:at] + block + data[at + n :]


def cut_range(rng: random.Random, data: bytes) -> bytes:
    a = rng.randrange(len(data))
    return data[:a] + data[a + rng.choice((1, 100, 512, 1024, 5000)) :]


_NUMERIC_FIELDS = ((100, 8), (108, 8), (116, 8), (124, 12), (148, 8), (329, 8), (337, 8))


def tar_field(rng: random.Random, data: bytes) -> bytes:
    """Rewrite a numeric field of some tar header (size, mode, uid, checksum …)."""
    starts = [i for i in range(0, len(data) - 512, 512) if data[i + 257 : i + 262] == b"ustar"]
    if not starts:
        return flip(rng, data)
    header = rng.choice(starts)
    offset, width = rng.choice(_NUMERIC_FIELDS)
    value = rng.choice(
        (
            b"77777777777",
            b"\x80" + b"\xff" * (width - 1),
            b"-1",
            b"zz",
            b"0" * (width - 1),
            b"\xff" * width,
            oct(rng.randrange(1 << 20))[2:].encode(),
        )
    )
    value = value[:width].ljust(width, b"\x00")
    pos = header + offset
    return data[:pos] + value + data[pos + width :]


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    flip,
    flip,
    truncate,
    splice,
    overwrite,
    cut_range,
    tar_field,
    tar_field,
)


def _inner_mutated(rng: random.Random) -> bytes:
    """An archive whose layer tars were mutated before compression (reaches the layer parser)."""
    original = image_builder.layer_tar

    def mutated_layer_tar(entries: list[E], *args: object, **kw: object) -> bytes:
        data = original(entries, *args, **kw)  # type: ignore[arg-type]
        return rng.choice(MUTATIONS)(rng, data) if rng.random() < 0.7 else data

    image_builder.layer_tar = mutated_layer_tar  # type: ignore[assignment]
    try:
        return docker_archive(
            seed_spec(), layout=rng.choice(LAYOUTS), compression=rng.choice(COMPRESSIONS)
        )
    finally:
        image_builder.layer_tar = original


class _CaseTimeout(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _CaseTimeout()


def run_case(data: bytes) -> str:
    """Run the pipeline on ``data``; return "ok" or "error" (a clean one)."""
    try:
        analysis, text = pipeline(data)
    except (DivepyError, ArchiveFormatError) as exc:
        assert "\n" not in str(exc)
        return "error"
    eff = analysis.efficiency
    assert 0.0 <= eff.score <= 1.0, eff.score
    assert eff.size_bytes >= 0 and eff.wasted_bytes >= 0 and eff.visible_bytes >= 0
    assert eff.reclaimable_bytes == eff.size_bytes - eff.visible_bytes >= 0, eff
    assert all(layer.size_bytes >= 0 for layer in analysis.image.layers)
    assert text.isascii()
    return "ok"


def test_seeds_are_valid() -> None:
    for name, data in _seeds():
        analysis, _ = pipeline(data)
        assert len(analysis.image.layers) == 4, name


def test_mutated_archives_give_a_result_or_a_clean_error() -> None:
    seeds = _seeds()
    rng = random.Random(int(os.environ.get("DIVEPY_FUZZ_SEED", "20240601")))
    outcomes = {"ok": 0, "error": 0}
    failures: list[str] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    started = time.monotonic()
    try:
        for case in range(CASES):
            if rng.random() < 0.15:
                name, data = "inner", _inner_mutated(rng)
            else:
                name, data = rng.choice(seeds)
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    if len(data) < 2:
                        break
                    data = rng.choice(MUTATIONS)(rng, data)
            signal.alarm(CASE_SECONDS)
            try:
                outcomes[run_case(data)] += 1
            except _CaseTimeout:
                failures.append(f"case {case} ({name}): hung for more than {CASE_SECONDS} s")
            except Exception:  # noqa: BLE001 - what the fuzzer is looking for
                failures.append(f"case {case} ({name}): {traceback.format_exc(limit=-3)}")
            finally:
                signal.alarm(0)
            if len(failures) >= 5:
                break
    finally:
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    print(outcomes, f"{elapsed:.1f} s")
    assert not failures, "\n".join(failures)
    assert elapsed < TOTAL_SECONDS, f"{CASES} cases took {elapsed:.1f} s"
    # the mutations must reach both outcomes, or the fuzzer tests nothing
    assert outcomes["ok"] > CASES // 20 and outcomes["error"] > CASES // 5, outcomes


def test_mutated_archives_through_the_cli(tmp_path: Path) -> None:
    """A few mutated archives through the real command (CI report, JSON, JUnit): a documented
    exit code, one error line, and no output file when the image could not be read."""
    from tests.hostile.helpers import run_cli

    seeds = _seeds()
    rng = random.Random(99)
    codes = []
    for case in range(10):
        name, data = rng.choice(seeds)
        data = rng.choice(MUTATIONS)(rng, data)
        archive = tmp_path / f"case{case}.tar"
        archive.write_bytes(data)
        out_dir = tmp_path / f"out{case}"
        out_dir.mkdir()
        result = run_cli(
            tmp_path,
            "--ci",
            "--json",
            str(out_dir / "o.json"),
            "--junit",
            str(out_dir / "j.xml"),
            f"docker-archive://{archive}",
        )
        codes.append(result.returncode)
        assert result.returncode in (0, 1, 3), (case, name, result.stderr)
        assert "Traceback" not in result.stderr
        if result.returncode == 3:
            lines = result.stderr.strip().splitlines()
            assert [line for line in lines if line.startswith("divepy: ")] == [lines[-1]]
            assert list(out_dir.iterdir()) == [] and result.stdout == ""
        else:
            assert sorted(p.name for p in out_dir.iterdir()) == ["j.xml", "o.json"]
        assert list((tmp_path / "tmp").iterdir()) == []
    assert 3 in codes and set(codes) & {0, 1}, codes
