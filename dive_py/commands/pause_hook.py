"""Provides :class:`PauseHook`: the test hook ``DIVEPY_TEST_PAUSE_AT=<phase>``.

Tests of interruption (Ctrl+C, SIGTERM) must signal a run at a known point, not after a sleep
that a fast or slow machine turns into another point. With ``DIVEPY_TEST_PAUSE_AT`` set to a
phase, a CI or JSON run (``--ci``, ``--json``; not the explorer) stops there once, prints

    divepy: test pause at <phase>

on stderr, and waits up to :data:`PAUSE_LIMIT_S` seconds for a signal (then carries on). The
test waits for that line, then sends the signal. Phases, in run order:

* ``pull``: at the first pull progress event (the engine is pulling the image);
* ``reading``: once the first layer of the image has been read (the read is under way);
* ``analysed``: the analysis is built, no output written yet;
* ``outputs-written``: the JSON, JUnit and CI report are written, the analysis cache entry
  is not committed yet.

Unset (or empty), the hook does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TextIO

from dive_py.domain.progress import ProgressListener
from dive_py.errors import UsageError

PAUSE_ENV = "DIVEPY_TEST_PAUSE_AT"
PHASES = ("pull", "reading", "analysed", "outputs-written")
PAUSE_LIMIT_S = 60.0
"""Seconds a pause waits for a signal before the run carries on."""


class PauseHook:
    """Pauses a run at the phase named by ``DIVEPY_TEST_PAUSE_AT`` (see the module docstring).

    Args:
        env: the run's environment.
        stderr: receives the pause line.

    Raises:
        UsageError: ``DIVEPY_TEST_PAUSE_AT`` names no known phase.
    """

    def __init__(self, env: Mapping[str, str], stderr: TextIO) -> None:
        phase = env.get(PAUSE_ENV, "").strip()
        if phase and phase not in PHASES:
            raise UsageError(
                f"{PAUSE_ENV}={phase!r} names no phase", f"use one of: {', '.join(PHASES)}"
            )
        self._phase = phase or None
        self._stderr = stderr

    def at(self, phase: str) -> None:
        """Pause here when ``phase`` is the named one (once per run)."""
        if phase != self._phase:
            return
        self._phase = None
        print(f"divepy: test pause at {phase}", file=self._stderr, flush=True)
        time.sleep(PAUSE_LIMIT_S)  # a signal's handler raises out of the sleep

    def wrap(self, progress: ProgressListener) -> ProgressListener:
        """Return ``progress`` with the ``pull`` and ``reading`` pauses added."""
        if self._phase not in ("pull", "reading"):
            return progress
        return _PausingProgress(progress, self)


class _PausingProgress(ProgressListener):
    def __init__(self, inner: ProgressListener, hook: PauseHook) -> None:
        self._inner = inner
        self._hook = hook

    def message(self, text: str) -> None:
        self._inner.message(text)

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        self._hook.at("pull")
        self._inner.pull(layer, status, current, total)

    def read(self, bytes_read: int, layers_read: int) -> None:
        self._inner.read(bytes_read, layers_read)
        if layers_read >= 1:
            self._hook.at("reading")

    def expect(self, total_bytes: int, total_layers: int) -> None:
        self._inner.expect(total_bytes, total_layers)

    def waiting(self, what: str) -> None:
        self._inner.waiting(what)

    def done(self) -> None:
        self._inner.done()
