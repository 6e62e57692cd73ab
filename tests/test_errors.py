"""Every expected failure prints as one line, with control characters escaped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

from dive_py.display_text import escape_text
from dive_py.errors import ArchiveError, DivepyError, ImageNotFoundError, UsageError

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "evil\x1b[2J\nname\r\x07.tar"


def test_one_line_escapes_the_message_and_the_hint() -> None:
    error = ArchiveError(f"cannot read {HOSTILE}", "hint\nwith\x1b[31m escapes")
    line = error.one_line()
    assert line == escape_text(f"cannot read {HOSTILE} - hint\nwith\x1b[31m escapes")
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x07" not in line
    assert "evil\\x1b[2J\\nname\\r\\x07.tar" in line


def test_an_error_keeps_its_raw_text() -> None:
    error = UsageError(f"bad {HOSTILE}")
    assert error.message == f"bad {HOSTILE}"  # raw: escaping happens when it is printed


def test_a_hostile_image_name_prints_escaped_on_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DOCKER_HOST")}
    env["PYTHONPATH"] = str(REPO)
    missing = str(tmp_path / HOSTILE)
    result = subprocess.run(
        [sys.executable, "-m", "dive_py.cli", "--source", "docker-archive", "--ci", missing],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == ImageNotFoundError.exit_code
    lines = result.stderr.splitlines()
    # the progress line ("Reading PATH"), then the failure: one line, the name escaped in both
    assert len(lines) == 2 and lines[0].startswith("Reading "), repr(result.stderr)
    failure = lines[-1]
    assert failure.startswith("divepy: ")
    assert "evil\\x1b[2J\\nname\\r\\x07.tar does not exist" in failure
    for raw in ("\x1b", "\r", "\x07"):
        assert raw not in result.stderr


def test_errors_do_not_reach_into_the_domain() -> None:
    graph = grimp.build_graph("dive_py", include_external_packages=False, cache_dir=None)
    for module in ("dive_py.errors", "dive_py.display_text"):
        imported = graph.find_modules_directly_imported_by(module)
        assert not {name for name in imported if name.startswith("dive_py.domain")}, module
    assert issubclass(ImageNotFoundError, DivepyError)
