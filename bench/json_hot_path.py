"""Time the steps of ``divepy --json`` on a synthetic image, in one process.

    PYTHONPATH=. python bench/json_hot_path.py [--entries 200000] [--workdir /tmp/bw]
        [--repeat 3] [--out /tmp/export.json]

Builds (once, in ``--workdir``) bench/run.py's synthetic archive of ``Shape(entries=N)``, then
for each repeat: reads and analyses it (``analyse``), and times on that fresh analysis
``explain_waste`` (the waste explanations), ``layer_changes`` of every layer (the ``change``
key of each ``fileList`` record) and the whole ``render_json``. Each step starts from a new
analysis, so no step profits from trees another step built. Prints the best of the repeats
per step and the machine load (``uptime``): other processes on a shared machine slow every
figure. ``--out`` writes the last export, to compare outputs before and after a change.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH picks the code

from bench.run import Shape, write_archive  # noqa: E402
from dive_py.domain.analysis import Analysis, analyse  # noqa: E402
from dive_py.domain.export_json import layer_file_list, render_json  # noqa: E402
from dive_py.domain.layer_changes import layer_changes  # noqa: E402
from dive_py.domain.sources.docker_archive import DockerArchiveSource  # noqa: E402
from dive_py.domain.waste import explain_waste  # noqa: E402


def _archive(entries: int, workdir: Path) -> Path:
    shape = Shape(entries=entries)
    path = workdir / f"{shape.name()}.tar"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        write_archive(shape, path, f"divepy-bench/{shape.name()}:1")
    return path


def _timed(step: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


def _all_changes(analysis: Analysis) -> int:
    count = 0
    for layer in analysis.image.layers:
        count += len(layer_changes(analysis, layer.index, layer_file_list(layer.contents)))
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bw"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the export here")
    args = parser.parse_args(argv)
    archive = _archive(args.entries, args.workdir)
    best: dict[str, float] = {}
    text = ""
    for _ in range(args.repeat):
        fresh: Callable[[], Analysis] = lambda: analyse(DockerArchiveSource().fetch(str(archive)))  # noqa: E731
        seconds, analysis = _timed(fresh)
        best["analyse"] = min(best.get("analyse", seconds), seconds)
        assert isinstance(analysis, Analysis)
        for name, step in (
            ("explain_waste", lambda a: explain_waste(a, a.dockerfile)),
            ("layer_changes (all layers)", _all_changes),
            ("render_json", render_json),
        ):
            analysis = fresh()
            seconds, result = _timed(lambda s=step, a=analysis: s(a))  # type: ignore[misc]
            best[name] = min(best.get(name, seconds), seconds)
            if name == "render_json":
                assert isinstance(result, str)
                text = result
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"{archive.name}, best of {args.repeat}; load: {load}")
    for name, seconds in best.items():
        print(f"  {name:<28} {seconds:6.2f} s")
    if args.out is not None:
        args.out.write_text(text)
        print(f"  export written to {args.out} ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
