"""A seeded random-key soak of the explorer (issue 11: "survives a user who presses anything").

Keys are drawn from the explorer's own bindings (:data:`~dive_py.ui.key_table.DEFAULT_KEYS`)
plus Escape, ``/``, letters, Enter, the command palette and its page keys, with terminal resizes
among 60x20, 80x24, 140x40 and 200x50 in between. After every key the app must still run (or
have quit cleanly through a quit command, after which a new one starts), raise nothing, and
show a whole screen of the terminal's size.

A few hundred keys run in the test suite; more by hand::

    DIVEPY_SOAK_KEYS=5000 DIVEPY_SOAK_SEED=7 pytest tests/ui/test_soak.py
"""

from __future__ import annotations

import os
import random

import pytest

from dive_py.domain.analysis import Analysis
from dive_py.ui.app import DiveApp, make_app
from dive_py.ui.key_table import DEFAULT_KEYS
from tests.ui.conftest import screen_text, settle

SIZES = [(60, 20), (80, 24), (140, 40), (200, 50)]
QUIT_KEYS = {"q", "ctrl+c", "ctrl+q", "ctrl+z"}
"""Left out of the draw: they end the run (quitting through the palette stays possible)."""
EXTRA_KEYS = [
    "escape", "slash", "enter", "backspace", "tab", "shift+tab", "ctrl+p", "ctrl+p",
    "pageup", "pagedown", "pageup", "pagedown", "up", "down", "home", "end",
    "a", "e", "l", "s", "t", "x", "question_mark", "ctrl+end", "ctrl+home",
]  # fmt: skip
KEYS = sorted({k for keys in DEFAULT_KEYS.values() for k in keys.split(",")} - QUIT_KEYS)
KEY_COUNT = int(os.environ.get("DIVEPY_SOAK_KEYS", "200"))
SEED = int(os.environ.get("DIVEPY_SOAK_SEED", "11"))


def _sane(app: DiveApp, size: tuple[int, int], history: list[str]) -> None:
    assert app._exception is None, history[-12:]
    assert app.size == size, history[-12:]
    lines = screen_text(app).splitlines()
    assert len(lines) == size[1], (len(lines), history[-12:])
    assert all(len(line) <= size[0] for line in lines), history[-12:]


async def test_random_keys_never_crash_the_explorer(
    demo: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by a soak: PageUp/PageDown in the loading palette ended the app with a traceback
    monkeypatch.setattr(DiveApp, "deliver_screenshot", lambda self, *a, **kw: None)
    monkeypatch.setattr(DiveApp, "action_suspend_process", lambda self: None)
    rng = random.Random(SEED)
    keys = KEYS + EXTRA_KEYS
    history: list[str] = []
    done = 0
    size = SIZES[1]
    while done < KEY_COUNT:
        app = make_app(demo)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            while done < KEY_COUNT and app.is_running:
                done += 1
                if rng.random() < 0.06:
                    size = rng.choice(SIZES)
                    history.append(f"resize {size[0]}x{size[1]}")
                    await pilot.resize_terminal(*size)
                    await pilot.pause()
                else:
                    key = rng.choice(keys)
                    history.append(key)
                    await pilot.press(key)
                if app.is_running:
                    _sane(app, size, history)
        assert app._exception is None, history[-12:]
        assert app.return_code in (None, 0), history[-12:]  # a quit from the palette is fine
