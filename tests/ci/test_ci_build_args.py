"""``divepy build``: argument parsing and the build stream, without an engine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from dive_py.commands.build import parse_build_args, run_build
from dive_py.domain.sources.image_build import BuildRequest, build_image
from dive_py.errors import EngineUnreachableError, ImageError, UsageError


@pytest.fixture
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    return ctx


def test_docker_build_args(context: Path, tmp_path: Path) -> None:
    (tmp_path / "other.Dockerfile").write_text("FROM scratch\n")
    req = parse_build_args(
        [
            "-t",
            "app:1",
            "--tag=app:latest",
            "-f",
            "other.Dockerfile",
            "--build-arg",
            "A=1",
            "--build-arg=B=x=y",
            "--build-arg",
            "HOME",
            "--build-arg",
            "UNSET_VAR",
            "--target",
            "final",
            "--platform",
            "linux/amd64",
            "--no-cache",
            "--pull",
            "--label",
            "k=v",
            "-q",
            "--progress",
            "plain",
            "--network=none",
            "ctx",
        ],
        {"HOME": "/root"},
        cwd=str(tmp_path),
    )
    assert req.context == str(context)
    assert req.tags == ["app:1", "app:latest"]
    assert req.dockerfile == str(tmp_path / "other.Dockerfile")
    assert req.build_args == {"A": "1", "B": "x=y", "HOME": "/root"}
    assert (req.target, req.platform, req.no_cache, req.pull, req.quiet) == (
        "final",
        "linux/amd64",
        True,
        True,
        True,
    )
    assert req.labels == {"k": "v"} and req.network == "none"
    assert req.divepy_argv == ["--platform", "linux/amd64", "--no-cache"]


def test_short_options_glued(context: Path, tmp_path: Path) -> None:
    req = parse_build_args(["-tapp:2", "ctx"], {}, cwd=str(tmp_path))
    assert req.tags == ["app:2"]


def test_divepy_options_are_passed_on(context: Path, tmp_path: Path) -> None:
    req = parse_build_args(
        [
            "--ci",
            "-t",
            "x",
            "--lowestEfficiency=0.5",
            "--junit",
            "j.xml",
            "--ci-config",
            "c.yaml",
            "--highest-wasted-bytes",
            "2MB",
            "--ci-all-files",
            "-j",
            "o.json",
            "ctx",
        ],
        {},
        cwd=str(tmp_path),
    )
    assert req.divepy_argv == [
        "--ci",
        "--lowestEfficiency",
        "0.5",
        "--junit",
        "j.xml",
        "--ci-config",
        "c.yaml",
        "--highest-wasted-bytes",
        "2MB",
        "--ci-all-files",
        "-j",
        "o.json",
    ]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--squash", "ctx"], "unknown or unsupported option '--squash'"),
        (["--secret=id=x", "ctx"], "unknown or unsupported option '--secret'"),
        (["-t"], "-t needs a value"),
        (["-t", "x"], "no build context given"),
        (["ctx", "ctx"], "one build context expected, got 2"),
        (["missing"], "is not a directory"),
        (["-", "-t", "x"], "only a local directory"),
        (["https://github.com/x/y.git"], "only a local directory"),
        (["-f", "nope", "ctx"], "the Dockerfile 'nope' does not exist"),
        (["-f", "-", "ctx"], "stdin"),
        (["-t", "Bad Tag", "ctx"], "invalid tag 'Bad Tag'"),
        (["--pull=yes", "ctx"], "--pull takes no value"),
        (["--ci=1", "ctx"], "--ci takes no value"),
    ],
)
def test_bad_build_args(context: Path, tmp_path: Path, argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=None) as info:
        parse_build_args(argv, {}, cwd=str(tmp_path))
    assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_misconfigured_rules_fail_before_building(
    context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "dive_py.commands.build.build_image", lambda *a: pytest.fail("the build must not start")
    )
    with pytest.raises(UsageError, match="misconfigured CI rules"):
        run_build(
            ["--ci", "--lowestEfficiency", "2", "-t", "x", "ctx"], {}, io.StringIO(), io.StringIO()
        )


class FakeApi:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks
        self.kwargs: dict[str, Any] = {}

    def ping(self) -> bool:
        return True

    def build(self, **kwargs: Any):
        self.kwargs = kwargs
        yield from self.chunks


class FakeSource:
    def __init__(self, api: FakeApi) -> None:
        self.api = api

    def client(self) -> FakeApi:
        return self.api

    def _unreachable(self, exc: BaseException) -> EngineUnreachableError:
        return EngineUnreachableError(f"cannot reach: {exc}")


def test_build_streams_the_log_and_passes_options(context: Path) -> None:
    api = FakeApi(
        [
            {"stream": "Step 1/1 : FROM scratch\n"},
            {"stream": " ---> \x1b[31mabc\tdef\n"},
            {"status": "Pulling", "id": "l1"},
            {"aux": {"ID": "sha256:abc"}},
            {"stream": "Successfully built abc\n"},
        ]
    )
    err = io.StringIO()
    req = BuildRequest(
        context=str(context), tags=["t:1"], build_args={"A": "1"}, target="x", no_cache=True
    )
    assert build_image(req, FakeSource(api), err) == "t:1"
    assert err.getvalue() == (
        # colour sequences dropped (tests/cli/test_command_parser.py), tabs kept
        "Step 1/1 : FROM scratch\n ---> abc\tdef\nl1: Pulling\nSuccessfully built abc\n"
    )
    assert api.kwargs["path"] == str(context) and api.kwargs["tag"] == "t:1"
    assert api.kwargs["buildargs"] == {"A": "1"} and api.kwargs["decode"] is True
    assert (
        api.kwargs["target"] == "x" and api.kwargs["nocache"] is True and api.kwargs["rm"] is True
    )


def test_build_without_tag_analyses_the_image_id(context: Path) -> None:
    api = FakeApi([{"stream": "ok\n"}, {"aux": {"ID": "sha256:abc"}}])
    assert (
        build_image(BuildRequest(context=str(context)), FakeSource(api), io.StringIO())
        == "sha256:abc"
    )


def test_quiet_build_prints_nothing(context: Path) -> None:
    api = FakeApi([{"stream": "Step 1/1\n"}])
    err = io.StringIO()
    build_image(BuildRequest(context=str(context), tags=["t"], quiet=True), FakeSource(api), err)
    assert err.getvalue() == ""


def test_error_in_the_stream_is_one_line_exit_3(context: Path) -> None:
    api = FakeApi(
        [
            {"stream": "Step 2/2 : RUN false\n"},
            {
                "errorDetail": {
                    "code": 1,
                    "message": "The command '/bin/sh -c false'\nreturned a non-zero code: 1",
                },
                "error": "The command '/bin/sh -c false'\nreturned a non-zero code: 1",
            },
        ]
    )
    with pytest.raises(ImageError) as info:
        build_image(BuildRequest(context=str(context), tags=["t"]), FakeSource(api), io.StringIO())
    assert info.value.exit_code == 3
    assert "returned a non-zero code: 1" in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_build_help(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert run_build(["--help"], {}, out, io.StringIO()) == 0
    assert "-t, --tag NAME[:TAG]" in out.getvalue() and "exit codes" in out.getvalue()
