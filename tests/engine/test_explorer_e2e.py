"""End to end: ``divepy IMAGE`` opens the explorer on a real engine image, in a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.conftest import FIXTURE_REPO, Engine

REPO = Path(__file__).resolve().parents[2]


def _read_until(fd: int, needles: list[bytes], timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if all(n in seen for n in needles):
                return seen
    return seen


def test_divepy_image_opens_the_explorer_and_quits(engine: Engine) -> None:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {
        **os.environ,
        "DOCKER_HOST": engine.host,
        "PYTHONPATH": str(REPO),
        "TERM": "xterm-256color",
        "TEXTUAL_ANIMATIONS": "none",
    }
    env.pop("CI", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "dive_py.cli", f"{FIXTURE_REPO}/testimg:latest"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    try:
        screen = _read_until(master, [b"Layer Contents", b"mkdir /app"], 60)
        assert b"Layer Contents" in screen and b"mkdir /app" in screen, screen[-2000:]
        _read_until(master, [b"\x00never"], 1.0)  # let the first layer's tree settle
        os.write(master, b"q")
        after = _read_until(master, [b"\x00never"], 5)
        if child.poll() is None:  # a key sent while the app was still busy may be dropped once
            os.write(master, b"q")
            after += _read_until(master, [b"\x00never"], 10)
        assert child.wait(timeout=20) == 0, after[-3000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
