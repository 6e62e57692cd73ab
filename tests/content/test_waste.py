"""Waste explanations: one image per pattern; each hint's saving equals what the image rebuilt
with the hint applied saves (here rebuilt as layer specs; tests/engine/test_waste_engine.py
rebuilds Dockerfiles on real engines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.domain.dockerfile_steps import read_dockerfile
from dive_py.domain.waste import explain_waste
from tests.hostile.helpers import pipeline
from tests.image_builder import E, ImageSpec, Step, d, docker_archive, f, wh

BASE = [d("bin"), f("bin/sh", b"\x7fELF" + bytes(96), mode=0o755)]


def run(command: str) -> Step:
    return Step(f"/bin/sh -c {command}")


def copy(dest: str) -> Step:
    return Step(f"/bin/sh -c #(nop) COPY file:0123abcd in {dest} ")


def analysed(layers: list[list[E]], steps: list[Step]) -> Analysis:
    spec = ImageSpec(
        layers=[BASE, *layers], history=[Step("/bin/sh -c #(nop) ADD file:b in /"), *steps]
    )
    analysis, _ = pipeline(docker_archive(spec))
    return analysis


def cache_case(path: str) -> tuple[list[list[E]], list[Step], list[list[E]], list[Step]]:
    parts = path.split("/")
    dirs = [d("/".join(parts[: i + 1])) for i in range(len(parts) - 1)]
    wasteful = [[*dirs, f(path, bytes(700)), f("app/keep", "k")]]
    fixed = [[d("app"), f("app/keep", "k")]]
    return wasteful, [run("install")], fixed, [run("install")]


CACHES = {
    "apt-lists": "var/lib/apt/lists/deb.debian.org_dists_Packages",
    "apk-cache": "var/cache/apk/APKINDEX.tar.gz",
    "dnf-cache": "var/cache/dnf/repomd.xml",
    "pip-cache": "root/.cache/pip/http/wheel.whl",
    "npm-cache": "root/.npm/_cacache/index",
    "yarn-cache": "usr/local/share/.cache/yarn/v6/pkg.tgz",
    "cargo-cache": "root/.cargo/registry/cache/crate.crate",
    "go-cache": "root/.cache/go-build/ab/cd",
    "pycache": "usr/lib/python3/site-packages/m/__pycache__/m.cpython-312.pyc",
    "git-dir": "app/.git/objects/pack/pack.pack",
}

CASES: dict[str, tuple[list[list[E]], list[Step], list[list[E]], list[Step]]] = {
    **{name: cache_case(path) for name, path in CACHES.items()},
    # written by one step, deleted by the next: delete in the same RUN step
    "deleted-later": (
        [[d("tmp"), f("tmp/build.tar", bytes(1000))], [d("tmp"), wh("tmp/build.tar")]],
        [run("wget build.tar"), run("rm /tmp/build.tar")],
        [[d("tmp")], []],
        [run("wget build.tar && rm /tmp/build.tar"), run("true")],
    ),
    # a pip cache deleted in a later step: the cache pattern wins, with pip's fix
    "pip-cache-deleted": (
        [
            [d("root"), d("root/.cache"), d("root/.cache/pip"), f("root/.cache/pip/w", bytes(500))],
            [d("root/.cache"), wh("root/.cache/pip")],
        ],
        [run("pip install flask"), run("rm -rf /root/.cache/pip")],
        [[d("root")], [d("root/.cache")]],
        [run("pip install --no-cache-dir flask"), run("rm -rf /root/.cache/pip")],
    ),
    # a chmod copies the file up: COPY --chmod
    "metadata-copy-up": (
        [
            [d("app"), f("app/run.sh", bytes(400), mode=0o644)],
            [d("app"), f("app/run.sh", bytes(400), mode=0o755)],
        ],
        [copy("/app/run.sh"), run("chmod +x /app/run.sh")],
        [[d("app"), f("app/run.sh", bytes(400), mode=0o755)], []],
        [copy("/app/run.sh"), run("true")],
    ),
    # the same file copied by two COPY steps
    "copied-twice": (
        [[d("app"), f("app/lib.so", bytes(300))], [d("app"), f("app/lib.so", bytes(300))]],
        [copy("/app/"), copy("/app/")],
        [[d("app"), f("app/lib.so", bytes(300))], []],
        [copy("/app/"), copy("/app/")],
    ),
    # a large file overwritten by a later step
    "overwritten": (
        [
            [d("data"), f("data/model.bin", b"a" * 800)],
            [d("data"), f("data/model.bin", b"b" * 900)],
        ],
        [run("fetch v1"), run("fetch v2")],
        [[d("data")], [d("data"), f("data/model.bin", b"b" * 900)]],
        [run("true"), run("fetch v2")],
    ),
}
PATTERN = {"pip-cache-deleted": "pip-cache"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_pattern_and_its_saving_equals_the_rebuilt_image(case: str) -> None:
    wasteful, steps, fixed, fixed_steps = CASES[case]
    before = analysed(wasteful, steps)
    after = analysed(fixed, fixed_steps)
    explanations = explain_waste(before)
    pattern = PATTERN.get(case, case)
    assert [e.pattern for e in explanations] == [pattern], explanations
    saving = explanations[0]
    assert saving.reclaimable_bytes == before.efficiency.size_bytes - after.efficiency.size_bytes
    assert f"saves {saving.reclaimable_bytes} bytes" in saving.hint
    assert [touch.index for touch in saving.layers][0] == 1  # the step that wrote the bytes
    assert explain_waste(after) == []


def test_deleted_later_names_both_steps_and_the_deleted_path() -> None:
    wasteful, steps, _, _ = CASES["deleted-later"]
    (saving,) = explain_waste(analysed(wasteful, steps))
    assert saving.path == "/tmp/build.tar"
    assert [(t.index, t.action) for t in saving.layers] == [(1, "wrote"), (2, "deleted")]
    assert "same RUN step" in saving.hint and "wget build.tar" in saving.hint


def test_dockerfile_lines_are_named(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM busybox\n# fetch\nRUN wget build.tar\nARG X=1\nRUN rm \\\n    /tmp/build.tar\n"
    )
    wasteful, steps, _, _ = CASES["deleted-later"]
    analysis = analysed(wasteful, steps)
    analysis.dockerfile = tuple(read_dockerfile(str(dockerfile)))
    (saving,) = explain_waste(analysis, analysis.dockerfile)
    assert [t.dockerfile.line if t.dockerfile else None for t in saving.layers] == [3, 5]
    assert f"{dockerfile}:3 (RUN)" in saving.hint and f"{dockerfile}:5 (RUN)" in saving.hint


def test_json_carries_the_explanations() -> None:
    wasteful, steps, _, _ = CASES["overwritten"]
    spec = ImageSpec(
        layers=[BASE, *wasteful], history=[Step("/bin/sh -c #(nop) ADD file:b in /"), *steps]
    )
    _, text = pipeline(docker_archive(spec))
    (item,) = json.loads(text)["image"]["wasteExplanations"]
    assert item["path"] == "/data/model.bin" and item["pattern"] == "overwritten"
    assert item["reclaimableBytes"] == 800 and "saves 800 bytes" in item["hint"]
    assert [layer["index"] for layer in item["layers"]] == [1, 2]


def test_ci_report_top_savings_with_dockerfile_lines(tmp_path: Path) -> None:
    from tests.hostile.helpers import archive_file, assert_clean_failure, run_cli

    wasteful, steps, _, _ = CASES["deleted-later"]
    spec = ImageSpec(
        layers=[BASE, *wasteful], history=[Step("/bin/sh -c #(nop) ADD file:b in /"), *steps]
    )
    image = archive_file(tmp_path, spec)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nRUN wget build.tar\nRUN rm /tmp/build.tar\n")
    args = ("--ci", "--source", "docker-archive", "--no-cache", str(image))
    result = run_cli(tmp_path, *args, "--dockerfile", str(dockerfile))
    assert result.returncode == 1, result.stderr  # the wasted bytes fail a default rule
    report = " ".join(line.strip() for line in result.stdout.splitlines())  # savings are wrapped
    assert "Top savings:" in report
    assert (
        f"/tmp/build.tar [deleted-later]: /tmp/build.tar is written by {dockerfile}:2 (RUN)"
        in report
    )
    missing = run_cli(tmp_path, *args, "--dockerfile", str(tmp_path / "nope"))
    assert_clean_failure(missing, tmp_path, 2, "--dockerfile", "no such file")
