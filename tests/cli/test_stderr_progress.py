"""Progress in CI logs (dive_py/commands/stderr_progress.py): when stderr is not a terminal, a
long read prints a line now and then (bytes and layers of their totals, elapsed time), never
more than about 20 lines, and a short read prints none. The clock is injected: no timing."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dive_py.commands import stderr_progress
from dive_py.commands.pause_hook import PauseHook
from dive_py.commands.stderr_progress import StderrProgress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  read ")]


def simulate(seconds: float, step: float = 0.5, total_bytes: int = 0, layers: int = 7) -> str:
    """A read of ``seconds`` at an even pace, events every ``step`` seconds; the log."""
    clock, log = Clock(), io.StringIO()
    progress = StderrProgress(log, clock=clock)
    progress.message("Reading image.tar")
    if total_bytes:
        progress.expect(total_bytes, layers)
    events = max(1, int(seconds / step))
    for event in range(1, events + 1):
        clock.now += step
        progress.read(event * 1_000_000, event * layers // events)
    progress.done()
    return log.getvalue()


def test_a_short_read_prints_no_progress() -> None:
    log = simulate(4.5, total_bytes=4_500_000_000)
    assert log == "Reading image.tar\n"


def test_a_long_read_prints_lines_with_totals_and_elapsed_time() -> None:
    log = simulate(60, total_bytes=120_000_000)
    lines = progress_lines(log)
    assert lines[0] == "  read 10 MB of 120 MB (8%), 0 of 7 layers, 5 seconds elapsed"
    assert lines[1] == "  read 20 MB of 120 MB (16%), 1 of 7 layers, 10 seconds elapsed"
    assert lines[-1] == "  read 120 MB of 120 MB (100%), 7 of 7 layers in 1 minute"  # summary
    assert 5 <= len(lines) <= 10


def test_without_totals_the_lines_give_what_was_read() -> None:
    lines = progress_lines(simulate(12))
    assert lines[0] == "  read 10 MB, 2 layers, 5 seconds elapsed"
    assert lines[-1] == "  read 24 MB, 7 layers in 12 seconds"


@pytest.mark.parametrize("seconds", [30, 600, 3600, 36_000, 360_000])
def test_any_read_prints_at_most_about_20_lines(seconds: int) -> None:
    lines = progress_lines(simulate(seconds, step=max(0.5, seconds / 20_000)))
    assert 1 < len(lines) <= stderr_progress.MAX_LOG_LINES + 1  # the summary makes 20


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.lists(st.floats(min_value=0.0, max_value=3600.0), min_size=1, max_size=300))
def test_the_line_budget_holds_for_any_event_timing(gaps: list[float]) -> None:
    clock, log = Clock(), io.StringIO()
    progress = StderrProgress(log, clock=clock)
    progress.message("Reading x")
    for index, gap in enumerate(gaps):
        clock.now += gap
        progress.read(index * 4096, index // 10)
    progress.done()
    lines = progress_lines(log.getvalue())
    assert len(lines) <= stderr_progress.MAX_LOG_LINES + 1
    spent = sum(gaps)
    if spent < stderr_progress.FIRST_LINE_AFTER_S:
        assert lines == []


def test_a_new_phase_starts_quiet_again() -> None:
    """A long pull is not counted as read time: the read after it starts its own count."""
    clock, log = Clock(), io.StringIO()
    progress = StderrProgress(log, clock=clock)
    progress.message("Pulling img")
    clock.now += 120
    progress.message("Reading img from the engine")
    clock.now += 3
    progress.read(5_000_000, 1)
    progress.done()
    assert progress_lines(log.getvalue()) == []


def test_the_pause_hook_passes_totals_on() -> None:
    clock, log = Clock(), io.StringIO()
    inner = StderrProgress(log, clock=clock)
    progress = PauseHook({"DIVEPY_TEST_PAUSE_AT": "pull"}, io.StringIO()).wrap(inner)
    progress.message("Reading img")
    progress.expect(2_000_000, 2)
    clock.now += 6
    progress.read(1_000_000, 1)
    assert progress_lines(log.getvalue()) == [
        "  read 1.0 MB of 2.0 MB (50%), 1 of 2 layers, 6 seconds elapsed"
    ]


def test_a_terminal_line_shows_the_totals_too() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock, out = Clock(), Terminal()
    progress = StderrProgress(out, clock=clock)
    progress.expect(10_000_000, 3)
    progress.read(5_000_000, 1)
    assert out.getvalue().endswith("read 5.0 MB of 10 MB (50%), 1 of 3 layers")


def test_the_sources_totals_and_wait_reach_the_log_through_the_pause_hook() -> None:
    # the engine source announces the image size and layer count, then waits for the export:
    # the same events the explorer's loading screen draws reach a CI log too
    clock, log = Clock(), io.StringIO()
    progress = PauseHook({"DIVEPY_TEST_PAUSE_AT": "pull"}, io.StringIO()).wrap(
        StderrProgress(log, clock=clock)
    )
    progress.expect(10_000_000, 3)
    progress.waiting("the engine to export the image")
    for second in range(1, 8):
        clock.now += 1
        progress.read(second * 1_000_000, min(3, second // 2))
    text = log.getvalue()
    assert "Waiting for the engine to export the image" in text
    assert "of 10 MB" in text and "of 3 layers" in text
