#!/usr/bin/env python3
"""Explorer (TUI) latency and memory benchmark (issue 5): first paint, cursor moves, layer switches.

Usage (see bench/README.md, "Explorer latency and memory"):

    python3 bench/tui_latency.py --sizes 500000 --rss-size 1000000 --workdir /tmp/tuiw --out DIR
    python3 bench/tui_latency.py --smoke --out /tmp/tui-smoke      # 20k entries, a few seconds

For each size, a synthetic ``docker save`` archive is written with bench/run.py's generator
(reused from ``--workdir`` when it is already there) and analysed in this process the way
``divepy --no-cache --source docker-archive FILE`` does (:func:`open_image` then
:func:`analyse`; no analysis cache). Then the explorer runs in the same process through
Textual's ``App.run_test`` (headless, 160x50 by default) and is driven with Pilot key presses.

What is measured (wall clock, ``time.perf_counter``):

* **paint**: the moment the app hands a compositor update that contains rows of the file tree
  to the display. Two hooks find it: ``FileTreeView.render_line`` is wrapped to note every
  row of a non-empty model that is rendered (model identity, row index, whether it is the
  cursor row), and the app's ``_display`` is wrapped to stamp each compositor update that
  follows such rows. Headless Textual skips turning the update into terminal bytes; the hook
  does that work too (``CompositorUpdate.render_segments``), so a paint costs what it costs
  on a real terminal except for the write itself.
* **first paint**: from constructing the app (``make_app``; the analysis is done) to the first
  paint of tree rows from the real layer-0 model: app start, compose and mount, building the
  layer's compared tree and row model, rendering.
* **cursor move**: the tree has the focus; ``down`` (and then ``pagedown``) is pressed; from
  just before the key press to the first paint whose rendered cursor row is the view's new
  cursor row. Keys are handed to the app the way its terminal driver does (not with
  ``Pilot.press``, which waits until the whole process is idle and so would let background
  work finish between keys); the next key follows as soon as the previous one is drawn.
* **layer switch**: the layers pane has the focus; ``down`` (or ``up``) is pressed; from just
  before the key press to the first paint of rows from the model of the newly selected layer
  (not the loading indicator). Measured right after the cursor moves, each key as soon as the
  previous layer is drawn (*cold*: nothing is prepared in the background while keys keep
  coming, so each layer's tree is built on demand, and the stacked states may still be
  missing), and again after every background worker finished, with ``--think`` seconds
  between keys (*warm*: a user who looks at each layer before moving on), in the default
  compare mode (layer changes) and in aggregated mode (``ctrl+a``, then ``up`` through the
  layers, also with ``--think``).
* **peak RSS**: ``ru_maxrss`` of a separate process (this script with ``--rss-child``) that
  loads the image, opens the explorer with ``run_test``, switches down through all layers,
  toggles aggregated mode, goes back up through all layers and exits. It is started through
  ``/usr/bin/time -f %M`` when that exists (as bench/run.py does) and reports its own
  ``getrusage(RUSAGE_SELF).ru_maxrss`` too; it runs before this process loads anything big, so
  the figure is the child's own.

Results: a markdown table on stdout, and ``tui-results.md`` / ``tui-results.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from run import Shape, machine, write_archive  # noqa: E402  (bench/run.py's generator)

TIME_BIN = "/usr/bin/time"
DEFAULT_SIZE = (160, 50)


# --------------------------------------------------------------------------------------------
# archives and analysis
# --------------------------------------------------------------------------------------------


def ensure_archive(shape: Shape, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the archive of ``shape`` in ``workdir`` and its facts, writing it when missing.

    The file names are bench/run.py's (``<shape>.tar`` plus ``<shape>.json`` with the member
    count and byte size), so archives written by either script are reused by both.

    Returns:
        (archive path, facts dict with ``members`` and ``bytes``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / f"{shape.name()}.tar"
    facts_path = workdir / f"{shape.name()}.json"
    if archive.exists() and facts_path.exists():
        return archive, json.loads(facts_path.read_text())
    t0 = time.perf_counter()
    facts = write_archive(shape, archive, f"divepy-bench/{shape.name()}:latest".lower())
    facts_path.write_text(json.dumps(facts))
    print(
        f"tui-bench: wrote {archive.name} ({facts['members']:,} entries, "
        f"{time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    return archive, facts


def load_analysis(archive: Path, cache_dir: Path | None = None) -> tuple[Any, float]:
    """Read and analyse ``archive`` as ``divepy --no-cache --source docker-archive`` does.

    This calls the CLI's own loader (``dive_py.commands.explore.load_analysis``: the garbage collector paused while
    reading, the analysis frozen afterwards) with ``--no-cache``, keeping the stacked states as
    the explorer's load does (``keep_states``, issue 11; an older loader has no such flag);
    without it (an older CLI), :func:`open_image` then :func:`analyse`.

    With ``cache_dir``, through the analysis cache there instead (``--from-cache``): a first
    load stores the analysis, and the one timed and returned loads it from the cache, as a
    second ``divepy IMAGE`` does.

    Returns:
        (the :class:`~dive_py.domain.analysis.Analysis`, seconds taken).
    """
    from dive_py.domain.progress import ProgressListener

    t0 = time.perf_counter()
    try:
        from dive_py.commands.explore import load_analysis
    except ImportError:
        load_analysis = None
    if load_analysis is not None:
        args = argparse.Namespace(
            image=str(archive),
            source="docker-archive",
            platform=None,
            no_cache=cache_dir is None,
        )
        env = {"DIVEPY_CACHE_DIR": str(cache_dir)} if cache_dir is not None else {}
        if cache_dir is not None:
            load_analysis(args, env, ProgressListener()).commit()  # (stores it)
            t0 = time.perf_counter()
        try:
            loaded = load_analysis(args, env, ProgressListener(), keep_states=True)
        except TypeError:  # a loader from before issue 11: the explorer stacked on demand
            loaded = load_analysis(args, env, ProgressListener())
        if cache_dir is not None and not loaded.from_cache:
            raise RuntimeError(f"tui-bench: the analysis cache in {cache_dir} was not used")
        analysis = loaded.analysis
    else:
        from dive_py.domain.analysis import analyse
        from dive_py.domain.sources import open_image

        analysis = analyse(open_image(str(archive), source="docker-archive"))
    return analysis, time.perf_counter() - t0


def fresh(analysis: Any) -> Any:
    """Return a new :class:`Analysis` over the same image and figures, with no compared trees
    built yet: what the explorer gets from the CLI's load.

    The stacked states the load kept (``analysis.stacked_states``, all built by the analysis
    since issue 11) come along, as they would; an analysis without them (an older loader)
    starts with none. The comparison's cache of removals (``compare._removals_cache``) is
    emptied, so that a session does not find the pairs of states an earlier one compared.
    """
    from dive_py.domain import compare
    from dive_py.domain.analysis import Analysis

    getattr(compare, "_removals_cache", {}).clear()
    states = getattr(analysis, "stacked_states", None)
    if states is not None and states.built == len(states):
        return Analysis(image=analysis.image, efficiency=analysis.efficiency, _states=states)
    return Analysis(image=analysis.image, efficiency=analysis.efficiency)


# --------------------------------------------------------------------------------------------
# paint probe
# --------------------------------------------------------------------------------------------


@dataclass
class Paint:
    """One compositor update handed to the display that contained file tree rows.

    Attributes:
        t: ``time.perf_counter()`` after the update was turned into terminal output.
        models: ``id()`` of the row models whose rows were rendered.
        cursor_rows: row indexes rendered as the cursor row.
        rows: number of tree rows rendered.
    """

    t: float
    models: set[int] = field(default_factory=set)
    cursor_rows: set[int] = field(default_factory=set)
    rows: int = 0


class PaintProbe:
    """Records paints of the file tree (see the module docstring); install before the app runs."""

    def __init__(self) -> None:
        self.paints: list[Paint] = []
        self.updates = 0
        self._pending = Paint(0.0)
        self._original_render_line: Callable[..., Any] | None = None

    def install(self, app: Any) -> None:
        """Wrap ``FileTreeView.render_line`` (class-wide) and ``app._display`` (this app)."""
        from textual._compositor import CompositorUpdate

        from dive_py.ui.file_tree_view import FileTreeView

        probe = self
        original = FileTreeView.render_line
        self._original_render_line = original

        def render_line(view: Any, y: int) -> Any:
            strip = original(view, y)
            model = view.model
            index = y + int(view.scroll_offset.y)
            if index < len(model):
                pending = probe._pending
                pending.models.add(id(model))
                pending.rows += 1
                if index == view.cursor_line:
                    pending.cursor_rows.add(index)
            return strip

        FileTreeView.render_line = render_line  # type: ignore[method-assign]
        display = app._display

        def _display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # what a real terminal driver encodes
            probe.updates += 1
            if probe._pending.rows:
                probe._pending.t = time.perf_counter()
                probe.paints.append(probe._pending)
                probe._pending = Paint(0.0)

        app._display = _display

    def uninstall(self) -> None:
        """Restore ``FileTreeView.render_line``."""
        from dive_py.ui.file_tree_view import FileTreeView

        if self._original_render_line is not None:
            FileTreeView.render_line = self._original_render_line  # type: ignore[method-assign]
            self._original_render_line = None

    def first_after(self, start: int, predicate: Callable[[Paint], bool]) -> Paint | None:
        """Return the first paint from index ``start`` on that satisfies ``predicate``."""
        for paint in self.paints[start:]:
            if predicate(paint):
                return paint
        return None


async def wait_until(predicate: Callable[[], Any], timeout: float) -> Any:
    """Poll ``predicate`` (yielding to the app between polls) until it returns a truthy value.

    Raises:
        TimeoutError: ``timeout`` seconds passed.
    """
    deadline = time.perf_counter() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.perf_counter() > deadline:
            raise TimeoutError("tui-bench: condition not reached in time")
        await asyncio.sleep(0.001)


# --------------------------------------------------------------------------------------------
# the in-process measurement
# --------------------------------------------------------------------------------------------


def _stats(samples: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in samples]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "max_ms": max(ms),
        "min_ms": min(ms),
        "samples_ms": [round(x, 2) for x in ms],
    }


async def send_key(app: Any, key: str) -> None:
    """Hand ``key`` to the app as its terminal driver would, and let the app take it.

    Unlike ``Pilot.press``, this does not wait until the process is idle: that wait would let
    background work (trees being prepared) finish between key presses and hide its cost.
    """
    from textual import events

    event = events.Key(key, None)
    event.set_sender(app)
    app._driver.send_message(event)
    await asyncio.sleep(0)


async def _press_and_wait_cursor(pilot: Any, probe: PaintProbe, key: str, timeout: float) -> float:
    view = pilot.app.screen.tree_view
    before = view.cursor_line
    start = len(probe.paints)
    t0 = time.perf_counter()
    await send_key(pilot.app, key)
    await wait_until(lambda: view.cursor_line != before, timeout)  # the key was handled
    target = view.cursor_line
    paint = await wait_until(
        lambda: probe.first_after(start, lambda p: target in p.cursor_rows), timeout
    )
    return paint.t - t0


async def _press_and_wait_layer(
    pilot: Any, probe: PaintProbe, key: str, timeout: float
) -> tuple[float, int]:
    screen = pilot.app.screen
    table = screen.layers_table
    before = (table.layer_index, table.mode)
    start = len(probe.paints)
    t0 = time.perf_counter()
    await send_key(pilot.app, key)
    await wait_until(lambda: (table.layer_index, table.mode) != before, timeout)  # handled
    target = (table.layer_index, table.mode)

    def painted(previews: bool) -> Paint | None:
        if screen.shown != target and not (
            previews and getattr(screen, "previewed", None) == target
        ):
            return None
        model_id = id(screen.tree_view.model)
        return probe.first_after(start, lambda p: model_id in p.models)

    paint = await wait_until(lambda: painted(True), timeout)
    if screen.shown != target:  # a preview: the compared tree follows
        final = await wait_until(lambda: painted(False), timeout)
        LAYER_FULL.append(final.t - t0)
    else:
        LAYER_FULL.append(paint.t - t0)
    return paint.t - t0, target[0]


LAYER_FULL: list[float] = []
"""Seconds from each layer key to the paint of the layer's compared tree (the same as the
first paint of the layer unless a preview came first), in the order of the keys."""


async def measure_tui(
    analysis: Any,
    *,
    size: tuple[int, int],
    downs: int,
    pagedowns: int,
    timeout: float,
    think: float,
) -> dict[str, Any]:
    """Run the explorer over ``analysis`` headless and measure paints (see the module docstring).

    Returns:
        A dict of phases: ``first_paint_s``, ``cursor_down``, ``cursor_pagedown``,
        ``layer_cold``, ``layer_warm``, ``aggregated_toggle_s``, ``aggregated`` (stats dicts
        in milliseconds, with the samples).
    """
    from dive_py.ui.app import make_app

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    probe = PaintProbe()
    result: dict[str, Any] = {}
    layers = len(analysis.image.layers)
    try:
        t0 = time.perf_counter()
        app = make_app(analysis)
        probe.install(app)
        async with app.run_test(size=size) as pilot:
            t_ready = time.perf_counter()
            screen = app.screen
            first = await wait_until(
                lambda: probe.first_after(0, lambda p: bool(p.models)), timeout
            )
            result["app_ready_s"] = t_ready - t0
            result["first_paint_s"] = first.t - t0
            result["rows_shown"] = len(screen.tree_view.model)

            # cursor moves in the tree
            screen.tree_view.focus()
            await pilot.pause()
            down = [
                await _press_and_wait_cursor(pilot, probe, "down", timeout) for _ in range(downs)
            ]
            page = [
                await _press_and_wait_cursor(pilot, probe, "pagedown", timeout)
                for _ in range(pagedowns)
            ]
            result["cursor_down"] = _stats(down)
            result["cursor_pagedown"] = _stats(page)
            result["cursor_all"] = _stats(down + page)

            # layer switches right away (cold), layer-changes mode
            screen.layers_table.focus()
            await pilot.pause()
            cold = []
            full_from = len(LAYER_FULL)
            for _ in range(layers - 1):
                seconds, _layer = await _press_and_wait_layer(pilot, probe, "down", timeout)
                cold.append(seconds)
            result["layer_cold"] = _stats(cold)
            result["layer_cold_full"] = _stats(LAYER_FULL[full_from:])

            # after every worker finished (warm): back up, then down again
            t_idle = time.perf_counter()
            await wait_until(lambda: not any(w.is_running for w in app.workers), timeout)
            await pilot.pause()
            result["idle_wait_s"] = time.perf_counter() - t_idle
            warm = []
            for key in ["up"] * (layers - 1) + ["down"] * (layers - 1):
                await asyncio.sleep(think)
                seconds, _layer = await _press_and_wait_layer(pilot, probe, key, timeout)
                warm.append(seconds)
            result["layer_warm"] = _stats(warm)

            # aggregated mode: the toggle at the top layer, then up through the layers
            await asyncio.sleep(think)
            seconds, _layer = await _press_and_wait_layer(pilot, probe, "ctrl+a", timeout)
            result["aggregated_toggle_s"] = seconds
            agg = []
            for _ in range(layers - 1):
                await asyncio.sleep(think)
                seconds, _layer = await _press_and_wait_layer(pilot, probe, "up", timeout)
                agg.append(seconds)
            result["aggregated"] = _stats(agg)
            result["paints"] = len(probe.paints)
            result["updates"] = probe.updates
            await pilot.press("q")
    finally:
        probe.uninstall()
    return result


async def measure_first_switch(
    analysis: Any, *, size: tuple[int, int], timeout: float, keys: int, key: str = "down"
) -> dict[str, Any]:
    """Open the explorer over ``analysis`` (nothing built yet) and switch layers at once.

    The layers pane has the focus from the start; as soon as the first tree is painted,
    ``key`` (``down``, or ``end`` for a jump to the top layer) is pressed ``keys`` times,
    each as soon as the previous layer is drawn (a user who moves on right after the first
    screen, before the background work prepared anything).

    Returns:
        ``first_paint_s`` and ``switches`` (stats in milliseconds, with the samples).
    """
    from dive_py.ui.app import make_app

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    probe = PaintProbe()
    result: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        app = make_app(analysis)
        probe.install(app)
        async with app.run_test(size=size) as pilot:
            first = await wait_until(
                lambda: probe.first_after(0, lambda p: bool(p.models)), timeout
            )
            result["first_paint_s"] = first.t - t0
            switches = []
            full_from = len(LAYER_FULL)
            for _ in range(keys):
                seconds, _layer = await _press_and_wait_layer(pilot, probe, key, timeout)
                switches.append(seconds)
            result["switches"] = _stats(switches)
            result["switches_full"] = _stats(LAYER_FULL[full_from:])
            await pilot.press("q")
    finally:
        probe.uninstall()
    return result


# --------------------------------------------------------------------------------------------
# peak RSS in a separate process
# --------------------------------------------------------------------------------------------


async def _rss_session(analysis: Any, size: tuple[int, int], timeout: float) -> None:
    from dive_py.ui.app import make_app

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    probe = PaintProbe()
    app = make_app(analysis)
    probe.install(app)
    layers = len(analysis.image.layers)
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until(lambda: probe.first_after(0, lambda p: bool(p.models)), timeout)
            app.screen.layers_table.focus()
            await pilot.pause()
            for _ in range(layers - 1):
                await _press_and_wait_layer(pilot, probe, "down", timeout)
            await _press_and_wait_layer(pilot, probe, "ctrl+a", timeout)
            for _ in range(layers - 1):
                await _press_and_wait_layer(pilot, probe, "up", timeout)
            await wait_until(lambda: not any(w.is_running for w in app.workers), timeout)
            await pilot.press("q")
    finally:
        probe.uninstall()


def rss_child(archive: Path, size: tuple[int, int], timeout: float) -> int:
    """The ``--rss-child`` process: load, explore every layer, print peak RSS as JSON; return 0."""
    analysis, load_s = load_analysis(archive)
    after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    asyncio.run(_rss_session(analysis, size, timeout))
    print(
        json.dumps(
            {
                "load_s": load_s,
                "explore_s": time.perf_counter() - t0,
                "maxrss_after_load_kib": after_load,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )
    return 0


def run_rss(archive: Path, size: tuple[int, int], timeout: float) -> dict[str, Any]:
    """Run ``--rss-child`` for ``archive`` in a new process; return its report.

    Returns:
        ``maxrss_kib`` (the child's own ``ru_maxrss``), ``time_maxrss_kib`` (``/usr/bin/time``'s
        figure, when available), ``maxrss_after_load_kib``, ``load_s``, ``explore_s``.

    Raises:
        RuntimeError: the child failed.
    """
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--rss-child",
        str(archive),
        "--size",
        f"{size[0]}x{size[1]}",
        "--timeout",
        str(timeout),
    ]
    use_time = Path(TIME_BIN).exists()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as time_out:
        if use_time:
            cmd = [TIME_BIN, "-f", "%M", "-o", time_out.name] + cmd
        env = dict(os.environ, TEXTUAL_ANIMATIONS="none")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(
                f"tui-bench: RSS child failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if use_time:
            text = Path(time_out.name).read_text().strip().splitlines()
            if text and text[-1].isdigit():
                report["time_maxrss_kib"] = int(text[-1])
    return report


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def _ms(stats: dict[str, Any] | None, key: str) -> str:
    if not stats or not stats.get("n"):
        return ""
    return f"{stats[key]:.0f}"


def markdown(results: list[dict[str, Any]], rss: list[dict[str, Any]]) -> str:
    """Return the results as markdown tables (latencies per size, then peak RSS per size)."""
    lines = [
        "| entries | rows (layer 0) | analysis s | first paint s | cursor median / max ms "
        "| layer switch cold median / max ms | layer switch warm median / max ms "
        "| aggregated toggle ms | aggregated switch median / max ms "
        "| switch right after first paint median / max ms "
        "| (its compared tree) median / max ms | (cold: its compared tree) median / max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t = r["tui"]
        firsts = [run["first_paint_s"] for run in t.get("first_switch", [])]
        first_paint = t.get("first_paint_s", statistics.median(firsts) if firsts else None)
        toggle = t.get("aggregated_toggle_s")
        lines.append(
            f"| {r['entries']:,} | {t.get('rows_shown', 0):,} | {r['analysis_s']:.1f} "
            f"| {'' if first_paint is None else f'{first_paint:.2f}'} "
            f"| {_ms(t.get('cursor_all'), 'median_ms')} / {_ms(t.get('cursor_all'), 'max_ms')} "
            f"| {_ms(t.get('layer_cold'), 'median_ms')} / {_ms(t.get('layer_cold'), 'max_ms')} "
            f"| {_ms(t.get('layer_warm'), 'median_ms')} / {_ms(t.get('layer_warm'), 'max_ms')} "
            f"| {'' if toggle is None else f'{toggle * 1000:.0f}'} "
            f"| {_ms(t.get('aggregated'), 'median_ms')} / {_ms(t.get('aggregated'), 'max_ms')} "
            f"| {_ms(t.get('first_switch_all'), 'median_ms')} "
            f"/ {_ms(t.get('first_switch_all'), 'max_ms')} "
            f"| {_ms(t.get('first_switch_full'), 'median_ms')} "
            f"/ {_ms(t.get('first_switch_full'), 'max_ms')} "
            f"| {_ms(t.get('layer_cold_full'), 'median_ms')} "
            f"/ {_ms(t.get('layer_cold_full'), 'max_ms')} |"
        )
    if rss:
        lines += [
            "",
            "| entries | peak RSS MiB (explorer, all layers, both modes) "
            "| after analysis MiB | /usr/bin/time MiB | analysis s | exploring s |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rss:
            timed = r.get("time_maxrss_kib")
            timed_text = f"{timed / 1024:.0f}" if timed else ""
            lines.append(
                f"| {r['entries']:,} | {r['maxrss_kib'] / 1024:.0f} "
                f"| {r['maxrss_after_load_kib'] / 1024:.0f} | {timed_text} "
                f"| {r['load_s']:.1f} | {r['explore_s']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring); return the exit code."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="500000", help="comma-separated entry counts to time")
    p.add_argument(
        "--rss-size",
        default="1000000",
        help="entry counts for the peak-RSS child (comma-separated; empty: skip)",
    )
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--downs", type=int, default=20, help="down presses in the tree")
    p.add_argument("--pagedowns", type=int, default=20, help="page-down presses in the tree")
    p.add_argument(
        "--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="terminal size, WIDTHxHEIGHT"
    )
    p.add_argument(
        "--think",
        type=float,
        default=0.5,
        help="seconds between layer keys in the warm and aggregated phases",
    )
    p.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait for one paint before giving up"
    )
    p.add_argument(
        "--first-switch-runs",
        type=int,
        default=3,
        help="explorer sessions that switch layers right after the first paint",
    )
    p.add_argument(
        "--first-switch-keys",
        type=int,
        default=3,
        help="layer keys pressed right after the first paint in each of those sessions",
    )
    p.add_argument(
        "--first-switch-key",
        default="down",
        help="the layer key pressed right after the first paint (down, or end: a jump)",
    )
    p.add_argument(
        "--first-switch-only",
        action="store_true",
        help="measure only the first paint and the switches right after it",
    )
    p.add_argument(
        "--from-cache",
        action="store_true",
        help="load the analysis from the analysis cache (as a second `divepy IMAGE` does)",
    )
    p.add_argument("--workdir", default=None, help="where archives are kept (default: a temp dir)")
    p.add_argument("--out", default=None, help="directory for tui-results.md and tui-results.json")
    p.add_argument("--smoke", action="store_true", help="20k entries, RSS at 20k: a quick check")
    p.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    size = _size(args.size)
    if args.rss_child:
        return rss_child(Path(args.rss_child), size, args.timeout)
    if args.smoke:
        args.sizes, args.rss_size = "20000", "20000"
        args.downs = args.pagedowns = 5
        args.first_switch_runs = 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rss_sizes = [int(s) for s in args.rss_size.split(",") if s.strip()]
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="divepy-tui-"))
    out = Path(args.out) if args.out else None

    archives = {}
    for entries in sorted(set(sizes) | set(rss_sizes)):
        archives[entries] = ensure_archive(
            Shape(entries=entries, layers=args.layers, seed=args.seed), workdir
        )

    rss: list[dict[str, Any]] = []
    for entries in rss_sizes:  # first: nothing big is loaded in this process yet
        print(f"tui-bench: peak RSS at {entries:,} entries ...", file=sys.stderr)
        report = run_rss(archives[entries][0], size, args.timeout)
        report["entries"] = entries
        rss.append(report)
        print(f"tui-bench:   {report['maxrss_kib'] / 1024:.0f} MiB", file=sys.stderr)

    results: list[dict[str, Any]] = []
    for entries in sizes:
        archive, facts = archives[entries]
        print(f"tui-bench: analysing {archive.name} ...", file=sys.stderr)
        cache_dir = Path(tempfile.mkdtemp(prefix="tui-cache-")) if args.from_cache else None
        analysis, load_s = load_analysis(archive, cache_dir)
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
        print(f"tui-bench:   {load_s:.1f} s; exploring ...", file=sys.stderr)
        tui = (
            {}
            if args.first_switch_only
            else asyncio.run(
                measure_tui(
                    fresh(analysis),
                    size=size,
                    downs=args.downs,
                    pagedowns=args.pagedowns,
                    timeout=args.timeout,
                    think=args.think,
                )
            )
        )
        first_switch = [
            asyncio.run(
                measure_first_switch(
                    fresh(analysis),
                    size=size,
                    timeout=args.timeout,
                    keys=args.first_switch_keys,
                    key=args.first_switch_key,
                )
            )
            for _ in range(args.first_switch_runs)
        ]
        tui["first_switch"] = first_switch
        tui["first_switch_all"] = _stats(
            [ms / 1000 for run in first_switch for ms in run["switches"].get("samples_ms", [])]
        )
        tui["first_switch_full"] = _stats(
            [ms / 1000 for run in first_switch for ms in run["switches_full"].get("samples_ms", [])]
        )
        results.append(
            {
                "entries": entries,
                "members": facts["members"],
                "archive_bytes": facts["bytes"],
                "analysis_s": load_s,
                "tui": tui,
            }
        )
        del analysis

    table = markdown(results, rss)
    print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        header = (
            f"Machine: {machine()}. Terminal {size[0]}x{size[1]}, headless run_test, "
            f"{args.layers} layers, seed {args.seed}.\n\n"
        )
        (out / "tui-results.md").write_text(header + table)
        (out / "tui-results.json").write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "size": list(size),
                    "layers": args.layers,
                    "results": results,
                    "rss": rss,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
