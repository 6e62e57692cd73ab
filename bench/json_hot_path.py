"""Time the steps of ``divepy --json`` on a synthetic image, in one process.

    PYTHONPATH=. python bench/json_hot_path.py [--entries 200000] [--workdir /tmp/bw]
        [--repeat 3] [--out /tmp/export.json]

Builds (once, in ``--workdir``) bench/run.py's synthetic archive of ``Shape(entries=N)``, then
for each repeat:

- ``analyse``: read and analyse it;
- ``trees``: on that analysis, stack every layer's state and build every layer's compared tree
  (what the explorer draws; the ``change`` marks and the final image's data come from them);
- ``explain_waste`` (the waste explanations) and ``layer_changes`` of every layer (the
  ``change`` key of each ``fileList`` record), on that analysis with its trees built: the
  cost of these steps' own code;
- ``render_json``: the whole export, from a second fresh analysis (trees included).

Prints the best of the repeats per step (by CPU time), in CPU seconds of this process
(``time.process_time``: other processes on a shared machine stretch the wall time far more
than the CPU time) and in wall seconds, and the machine load (``uptime``). ``PYTHONPATH``
picks the code measured (another checkout's, for a before/after). ``--out`` writes the last
export, to compare outputs before and after a change.
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
from dive_py.domain.compare import CompareMode  # noqa: E402
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


def _timed(step: Callable[[], object]) -> tuple[tuple[float, float], object]:
    """(CPU seconds, wall seconds) of ``step()``, and its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = step()
    return (time.process_time() - cpu, time.perf_counter() - wall), result


def _all_trees(analysis: Analysis) -> None:
    for layer in analysis.image.layers:
        analysis.compared_tree(layer.index, CompareMode.LAYER)
    analysis.final_state()


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
    best: dict[str, tuple[float, float]] = {}
    text = ""
    fresh: Callable[[], Analysis] = lambda: analyse(DockerArchiveSource().fetch(str(archive)))  # noqa: E731

    def keep(name: str, seconds: tuple[float, float]) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(args.repeat):
        seconds, analysis = _timed(fresh)
        keep("analyse", seconds)
        assert isinstance(analysis, Analysis)
        keep("trees", _timed(lambda a=analysis: _all_trees(a))[0])  # type: ignore[misc]
        keep("explain_waste", _timed(lambda a=analysis: explain_waste(a, a.dockerfile))[0])  # type: ignore[misc]
        keep("layer_changes (all layers)", _timed(lambda a=analysis: _all_changes(a))[0])  # type: ignore[misc]
        analysis = fresh()
        seconds, result = _timed(lambda a=analysis: render_json(a))  # type: ignore[misc]
        keep("render_json", seconds)
        assert isinstance(result, str)
        text = result
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"{archive.name}, best of {args.repeat}; load: {load}")
    print(f"  {'step':<28} {'CPU s':>6} {'wall s':>7}")
    for name, (cpu, wall) in best.items():
        print(f"  {name:<28} {cpu:6.2f} {wall:7.2f}")
    if args.out is not None:
        args.out.write_text(text)
        print(f"  export written to {args.out} ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
