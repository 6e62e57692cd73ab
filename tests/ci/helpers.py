"""Shared helpers of the CI tests: fake figures, parsed args, archives on disk."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dive_py.ci.options import CiOptions
from dive_py.cli import run
from dive_py.commands.explore import build_parser
from dive_py.domain.efficiency import Efficiency, InefficientPath
from tests.image_builder import ImageSpec, docker_archive


def ci_args(*argv: str) -> CiOptions:
    """The CI options of ``divepy --ci [argv] IMAGE``."""
    return CiOptions.from_arguments(build_parser().parse_args(["--ci", *argv, "some-image"]))


def figures(
    score: float = 0.95,
    wasted: int = 1000,
    user_wasted: float | None = 0.05,
    reclaimable: int = 500,
    inefficient: list[InefficientPath] | None = None,
    user_size: int = 20_000,
) -> Efficiency:
    """An :class:`Efficiency` with the given headline figures."""
    return Efficiency(
        score=score,
        size_bytes=user_size + 10_000,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        user_wasted_percent=user_wasted,
        reclaimable_bytes=reclaimable,
        visible_bytes=0,
        inefficient=list(inefficient or []),
    )


def fake_analysis(
    efficiency: Efficiency,
    reference: str = "example:latest",
    source: str = "docker",
    warnings: list[str] | None = None,
) -> Any:
    """An object shaped like an Analysis, enough for the report."""
    image = SimpleNamespace(
        reference=reference, source=source, warnings=warnings or [], layers=[], history=[]
    )
    return SimpleNamespace(
        image=image, efficiency=efficiency, container=None, sharing=None, dockerfile=()
    )


def write_archive(tmp_path: Path, spec: ImageSpec, name: str = "image.tar") -> Path:
    path = tmp_path / name
    path.write_bytes(docker_archive(spec))
    return path


def run_cli(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``divepy argv`` in-process; return (exit code, stdout, stderr), mapping errors as main does."""
    from dive_py.errors import DivepyError

    out, err = io.StringIO(), io.StringIO()
    try:
        code = int(run(argv, env or {}, out, err))
    except DivepyError as exc:
        err.write(f"divepy: {exc.one_line()}\n")
        code = int(exc.exit_code)
    return code, out.getvalue(), err.getvalue()
