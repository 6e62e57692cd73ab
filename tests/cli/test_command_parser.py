"""Subcommands' argument errors in divepy's words (found by a new user's trial: `divepy diff
--jsn` was argparse's "unrecognized arguments: --jsn el:2", `divepy cache inf` printed
"divepy: divepy cache: argument action: invalid choice")."""

from __future__ import annotations

import io

import pytest

from dive_py.cli import run
from dive_py.errors import UsageError


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["diff", "--jsn", "x", "a", "b"],
            "unknown flag --jsn for 'divepy diff' (did you mean --json?)",
        ),
        (["cache", "inf"], "unknown action 'inf' for 'divepy cache' (did you mean 'info'?)"),
        (["cache"], "'divepy cache' needs action"),
        (
            ["extract", "--forse", "img", "/p"],
            "unknown flag --forse for 'divepy extract' (did you mean --force?)",
        ),
        (
            ["ls", "--layr", "1", "img"],
            "unknown flag --layr for 'divepy ls' (did you mean --layer?)",
        ),
    ],
)
def test_subcommand_errors_name_the_mistake_and_the_closest_word(
    argv: list[str], expected: str
) -> None:
    with pytest.raises(UsageError) as caught:
        run(argv, {}, io.StringIO(), io.StringIO())
    line = caught.value.one_line()
    assert line.startswith(expected), line
    assert "divepy: divepy" not in f"divepy: {line}"
    assert "unrecognized arguments" not in line and "el:2" not in line


def test_json_dash_writes_to_stdout_and_refuses_ci_mode(tmp_path: object) -> None:
    # found by a new user's trial: `--json -` wrote a file named "-"
    import json
    from pathlib import Path

    from tests.hostile.helpers import run_cli
    from tests.image_builder import ImageSpec, docker_archive, f

    where = Path(str(tmp_path))
    archive = where / "image.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=[[f("a", "1")]])))
    result = run_cli(where, "--json", "-", f"docker-archive://{archive}", env={"CI": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["image"]["sizeBytes"] == 1
    assert not (where / "-").exists()
    result = run_cli(where, "--ci", "--json", "-", f"docker-archive://{archive}")
    assert result.returncode == 2 and "stdout" in result.stderr


def test_the_build_log_drops_colour_and_escapes_other_control_sequences() -> None:
    # found by a new user's trial: the engine's red RUN output showed as \x1b[91m…
    from dive_py.domain.sources.image_build import _stream_text

    assert _stream_text("\x1b[91mno such file\x1b[0m\n") == "no such file\n"
    assert _stream_text("title \x1b]0;pwned\x07 end") == "title \\x1b]0;pwned\\x07 end"
