"""The command line never misleads (issue 12): flag typos, subcommands, version, help, and
output paths checked before the image is read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dive_py.cli import run
from dive_py.commands import build, explore
from dive_py.commands.subcommands import SUBCOMMANDS
from dive_py.errors import OutputError, UsageError
from tests.cli.test_cli import run_divepy, spec_a_archive  # noqa: F401 - a fixture, used by name

# --- mistyped flags and commands -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--lowestEfficency", "0.9", "myimage:1"],
            "unknown flag --lowestEfficency (did you mean --lowestEfficiency?)",
        ),
        (
            ["--lowestEfficency=0.9", "myimage:1"],
            "unknown flag --lowestEfficency (did you mean --lowestEfficiency?)",
        ),
        (["myimage:1", "--jsn", "out.json"], "unknown flag --jsn (did you mean --json?)"),
        (
            ["--highestwastedbytes", "1MB", "myimage:1"],
            "unknown flag --highestwastedbytes (did you mean --highestWastedBytes?)",
        ),
        (
            ["--ci-conifg", "x.yaml", "myimage:1"],
            "unknown flag --ci-conifg (did you mean --ci-config?)",
        ),
        # abbreviations are not accepted (dive's flags are matched whole): a suggestion instead
        (
            ["--lowest", "0.5", "myimage:1"],
            "unknown flag --lowest (did you mean --lowestEfficiency?)",
        ),
        (["--squash", "myimage:1"], "unknown flag --squash"),
        (["biuld", "-t", "x", "."], "unknown command 'biuld' (did you mean 'divepy build'?)"),
        (["myimage:1", "other:2"], "one image expected, got 2: myimage:1 other:2"),
        (["myimage:1", "--json"], "--json needs a value"),
        (["--ci=yes", "myimage:1"], "--ci takes no value"),
    ],
)
def test_a_mistyped_command_line_names_what_is_wrong(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        run(argv, {}, io.StringIO(), io.StringIO())
    assert info.value.message == message
    assert "unrecognized arguments" not in info.value.one_line()
    assert "myimage" not in info.value.message or "one image expected" in message


def test_the_image_is_not_called_an_unrecognised_argument() -> None:
    result = run_divepy("--lowestEfficency", "0.9", "myimage:1")
    assert result.returncode == 2
    assert result.stderr == (
        "divepy: unknown flag --lowestEfficency (did you mean --lowestEfficiency?)"
        " - see 'divepy --help'\n"
    )


def test_build_suggests_the_closest_option(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    with pytest.raises(UsageError, match=r"unknown option --tga \(did you mean --tag\?\)"):
        build.parse_build_args(["--tga", "x", "ctx"], {}, cwd=str(tmp_path))
    with pytest.raises(UsageError, match=r"did you mean --lowestEfficiency\?"):
        build.parse_build_args(["--lowestEfficency", "0.5", "ctx"], {}, cwd=str(tmp_path))


# --- version and help ----------------------------------------------------------------------------


def test_version_subcommand_and_flag_print_the_same_line() -> None:
    from dive_py import __version__

    outputs = []
    for argv in (["version"], ["--version"], ["-v"]):
        out = io.StringIO()
        assert run(argv, {}, out, io.StringIO()) == 0
        outputs.append(out.getvalue())
    assert outputs == [f"divepy {__version__}\n"] * 3


def test_version_subcommand_in_a_subprocess() -> None:
    result = run_divepy("version")
    assert result.returncode == 0 and result.stdout.startswith("divepy ") and result.stderr == ""


def test_version_takes_no_arguments() -> None:
    with pytest.raises(UsageError, match="'divepy version' takes no arguments"):
        run(["version", "extra"], {}, io.StringIO(), io.StringIO())


def test_help_lists_every_subcommand() -> None:
    text = explore.build_parser().format_help()
    names = [subcommand.name for subcommand in SUBCOMMANDS]
    assert {"build", "version"} <= set(names)
    for subcommand in SUBCOMMANDS:
        assert f"divepy {subcommand.usage}" in text  # in the usage
        assert f"  {subcommand.name}  " in text  # and in the commands section
    result = run_divepy("--help")
    assert result.returncode == 0
    assert "commands" in result.stdout and "divepy version" in result.stdout


# --- output paths are checked before the image is read -------------------------------------------


@pytest.fixture
def no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading any image a test failure: the run must stop before it."""

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("the image was read")

    monkeypatch.setattr(explore, "load_analysis", refuse)
    monkeypatch.setattr(build, "build_image", refuse)


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--json", "{tmp}/missing/out.json"], "directory {tmp}/missing does not exist"),
        (["--ci", "--junit", "{tmp}/missing/report.xml"], "directory {tmp}/missing does not exist"),
        (["--json", "{tmp}/file/out.json"], "{tmp}/file/out.json: Not a directory"),
        (["--json", "{tmp}"], "it is a directory"),
        (["--json", "/proc/divepy-out.json"], "cannot write /proc/divepy-out.json"),  # root too
        (["--ci", "--json", "{tmp}/ok.json", "--junit", "{tmp}/no/r.xml"], "{tmp}/no does not"),
    ],
)
def test_an_output_path_that_cannot_be_written_fails_before_the_read(
    tmp_path: Path, no_read: None, flags: list[str], fragment: str
) -> None:
    (tmp_path / "file").write_text("")
    argv = [flag.format(tmp=tmp_path) for flag in flags]
    env = {"DIVEPY_CACHE_DIR": str(tmp_path / "cache")}
    for command in (
        [*argv, "--source", "docker-archive", str(tmp_path / "image.tar")],
        ["build", *argv, "-t", "x", str(tmp_path)],
    ):
        out = io.StringIO()
        with pytest.raises(OutputError) as info:
            run(command, env, out, io.StringIO())
        assert info.value.exit_code == 4
        assert fragment.format(tmp=tmp_path) in info.value.one_line()
        assert out.getvalue() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no probe file left


def test_junit_without_ci_mode_is_not_checked(tmp_path: Path, spec_a_archive: Path) -> None:  # noqa: F811 - the fixture
    """--junit is ignored outside CI mode (as in dive), so its path is not checked either."""
    env = {"DIVEPY_CACHE_DIR": str(tmp_path / "cache")}
    argv = ["--json", str(tmp_path / "o.json"), "--junit", str(tmp_path / "no" / "r.xml")]
    assert (
        run(
            [*argv, "--source", "docker-archive", str(spec_a_archive)],
            env,
            io.StringIO(),
            io.StringIO(),
        )
        == 0
    )
    assert (tmp_path / "o.json").exists()


def test_writable_outputs_pass_the_check(tmp_path: Path, no_read: None) -> None:
    """A writable path passes the check and the run goes on to read the image."""
    (tmp_path / "old.json").write_text("{}")
    with pytest.raises(AssertionError, match="the image was read"):
        run(
            ["--ci", "--json", str(tmp_path / "old.json"), "--junit", "/dev/null", "img"],
            {"DIVEPY_CACHE_DIR": str(tmp_path / "cache")},
            io.StringIO(),
            io.StringIO(),
        )
    assert (tmp_path / "old.json").read_text() == "{}"


def test_a_missing_output_directory_fails_before_the_read_starts(
    tmp_path: Path,
    spec_a_archive: Path,  # noqa: F811 - the fixture
) -> None:
    """With the pause hook at 'reading', a run that started reading would stop there and
    print its pause line: the output check must end the run before that."""
    result = run_divepy(
        "--json",
        str(tmp_path / "missing" / "out.json"),
        "--source",
        "docker-archive",
        str(spec_a_archive),
        env={"DIVEPY_TEST_PAUSE_AT": "reading", "DIVEPY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 4
    assert "test pause" not in result.stderr
    assert result.stderr.startswith("divepy: cannot write ") and "does not exist" in result.stderr
    assert len(result.stderr.splitlines()) == 1
