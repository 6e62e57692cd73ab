"""An engine that accepts the connection and never answers (found by a new user's trial: the
run waited four minutes, twice the SDK's timeout, then printed the HTTP library's words)."""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import pytest

from dive_py.cli import run
from dive_py.domain.sources import docker_engine
from dive_py.errors import EngineUnreachableError


def test_a_silent_engine_is_unreachable_after_one_short_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setattr(docker_engine, "ENGINE_FIRST_ANSWER_S", 1)
    env = {"DOCKER_HOST": f"unix://{path}", "DIVEPY_CACHE_DIR": str(tmp_path / "cache")}
    try:
        with pytest.raises(EngineUnreachableError) as caught:
            run(["--ci", "some/image"], env, io.StringIO(), io.StringIO())
    finally:
        server.close()
        for connection in accepted:
            connection.close()
    assert "no answer within 1 seconds" in caught.value.one_line()
    assert "Read timed out" not in caught.value.one_line()
    assert len(accepted) == 1  # waited for once, not once per question


def test_a_plain_path_is_read_as_a_file_whatever_engine_there_is(tmp_path: Path) -> None:
    # found by a new user's trial: with an engine running, `divepy image.tar` was pulled
    from tests.hostile.helpers import run_cli
    from tests.image_builder import ImageSpec, docker_archive, f

    archive = tmp_path / "image.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=[[f("a", "1")]])))
    out = tmp_path / "o.json"
    # an engine address that would answer "refused" at once if it were asked
    env = {"DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    result = run_cli(tmp_path, "--json", str(out), str(archive), env=env)
    assert result.returncode == 0, result.stderr
    # --source docker keeps the engine's meaning
    result = run_cli(tmp_path, "--source", "docker", "--ci", str(archive), env=env)
    assert result.returncode == 3 and "engine" in result.stderr
