"""The DIVEPY_TEST_PAUSE_AT hook (dive_py/commands/pause_hook.py), in process."""

from __future__ import annotations

import io

import pytest

from dive_py.commands import pause_hook
from dive_py.commands.pause_hook import PauseHook
from dive_py.domain.progress import ProgressListener
from dive_py.errors import UsageError


class Recorder(ProgressListener):
    def __init__(self) -> None:
        self.events: list[str] = []

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        self.events.append(f"pull {layer}")

    def read(self, bytes_read: int, layers_read: int) -> None:
        self.events.append(f"read {layers_read}")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []
    monkeypatch.setattr(pause_hook.time, "sleep", seen.append)
    return seen


@pytest.mark.parametrize(
    "phase, events, delivered_before_the_pause",
    [
        ("pull", ["pull", "pull"], 0),  # before the first pull event is passed on
        ("reading", ["read0", "read1", "read2"], 2),  # once the first layer is read
    ],
)
def test_progress_phases_pause_once(
    monkeypatch: pytest.MonkeyPatch, phase: str, events: list[str], delivered_before_the_pause: int
) -> None:
    err = io.StringIO()
    inner = Recorder()
    pauses: list[int] = []  # events delivered when each pause began
    monkeypatch.setattr(pause_hook.time, "sleep", lambda _s: pauses.append(len(inner.events)))
    hook = PauseHook({"DIVEPY_TEST_PAUSE_AT": phase}, err)
    progress = hook.wrap(inner)
    for event in events:
        if event == "pull":
            progress.pull("l1", "Downloading", 1, 2)
        else:
            progress.read(10, int(event[-1]))
    assert pauses == [delivered_before_the_pause]  # once
    assert err.getvalue() == f"divepy: test pause at {phase}\n"
    assert len(inner.events) == len(events)  # every event still reaches the listener


def test_run_phases_pause_only_at_the_named_one(sleeps: list[float]) -> None:
    err = io.StringIO()
    hook = PauseHook({"DIVEPY_TEST_PAUSE_AT": "outputs-written"}, err)
    inner = Recorder()
    assert hook.wrap(inner) is inner  # no progress pause: nothing wrapped
    hook.at("analysed")
    assert sleeps == []
    hook.at("outputs-written")
    assert sleeps == [pause_hook.PAUSE_LIMIT_S]


def test_unset_does_nothing(sleeps: list[float]) -> None:
    hook = PauseHook({}, io.StringIO())
    for phase in pause_hook.PHASES:
        hook.at(phase)
    assert sleeps == []


def test_unknown_phase_is_refused() -> None:
    with pytest.raises(UsageError, match="names no phase"):
        PauseHook({"DIVEPY_TEST_PAUSE_AT": "later"}, io.StringIO())
