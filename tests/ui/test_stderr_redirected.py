"""``divepy --demo 2>log`` in a terminal: the explorer is drawn on the terminal, not in the log."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_explorer_is_drawn_on_the_terminal_when_stderr_is_redirected(tmp_path: Path) -> None:
    # found by a new user: with 2>log the whole UI went into the log, the screen stayed blank
    primary, secondary = pty.openpty()
    log = tmp_path / "log"
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
        "TEXTUAL_PRESS": "wait:2500,q",  # Textual's autopilot: quit once drawn
    }
    env.pop("CI", None)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dive_py.cli", "--demo"],
            stdin=secondary,
            stdout=secondary,
            stderr=err,
            env=env,
            cwd=REPO,
        )
        os.close(secondary)
        drawn = b""
        while True:
            ready, _, _ = select.select([primary], [], [], 60)
            if not ready:
                proc.kill()
                break
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        proc.wait(60)
    os.close(primary)
    logged = log.read_bytes()
    assert b"\x1b[" not in logged, logged[:200]
    assert b"Layers" in drawn or b"Opening" in drawn, drawn[-500:]
    assert proc.returncode in (0, 130), (proc.returncode, logged[-500:])
