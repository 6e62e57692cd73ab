"""The ``divepy`` command: JSON export, one-line errors and exit codes (no engine needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dive_py.cli import main
from tests.domain.dive_examples import SPEC_A, spec_a
from tests.image_builder import ImageSpec, docker_archive, f

REPO = Path(__file__).resolve().parents[2]


def run_divepy(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dive_py.cli ARGS`` in a subprocess (CI unset unless given)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("CI", "DOCKER_HOST")}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dive_py.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=120,
    )


PAUSE_LINE = "divepy: test pause at {}"


def start_paused(
    args: list[str], phase: str, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m dive_py.cli ARGS`` with ``DIVEPY_TEST_PAUSE_AT=phase``; return once it
    waits there for a signal (its pause line read from stderr).

    Returns:
        (the running child, the stderr it printed before the pause line).
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "dive_py.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "DIVEPY_TEST_PAUSE_AT": phase},
    )
    assert child.stderr is not None
    before = []
    for line in child.stderr:
        if line.rstrip("\n") == PAUSE_LINE.format(phase):
            return child, "".join(before)
        before.append(line)
    child.wait(timeout=60)
    pytest.fail(f"the run never paused at {phase} (exit {child.returncode}): {''.join(before)}")


@pytest.fixture
def spec_a_archive(tmp_path: Path) -> Path:
    path = tmp_path / "spec-a.tar"
    path.write_bytes(docker_archive(ImageSpec(layers=spec_a())))
    return path


def test_json_export_has_dive_schema_and_figures(tmp_path: Path, spec_a_archive: Path) -> None:
    out = tmp_path / "out.json"
    result = run_divepy("--json", str(out), f"docker-archive://{spec_a_archive}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    image = doc["image"]
    assert image["sizeBytes"] == SPEC_A["sizeBytes"]
    assert image["inefficientBytes"] == SPEC_A["wastedBytes"]
    assert image["efficiencyScore"] == SPEC_A["efficiency"]
    assert [(r["file"], r["count"], r["sizeBytes"]) for r in image["fileReference"]] == SPEC_A[
        "inefficient"
    ]
    assert image["userWastedPercent"] == SPEC_A["userWastedPercent"]
    assert image["reclaimableBytes"] == 1000 + 1500 + 2000 + 3  # f1 twice + sub/f2 + keep.txt
    layer = doc["layer"][5]
    assert set(layer) >= {"index", "id", "digestId", "sizeBytes", "command", "fileList"}
    rows = {row["path"]: row for row in layer["fileList"]}
    assert rows["data/h2"]["typeFlag"] == 49 and rows["data/h2"]["linkName"] == "data/h1"
    assert rows["data/link"]["fileMode"] == 134218239  # Go os.ModeSymlink | 0777
    assert rows["data"]["fileMode"] == 2147484141 and rows["data"]["isDir"] is True
    # children before their directory, by name
    assert [row["path"] for row in layer["fileList"]] == [
        "data/h1",
        "data/h2",
        "data/link",
        "data",
        "empty1",
    ]
    assert [row["path"] for row in doc["layer"][3]["fileList"]] == ["data/.wh.sub", "data"]


def test_json_replaces_a_longer_file_whole(tmp_path: Path, spec_a_archive: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("x" * 5_000_000)
    assert (
        run_divepy("--json", str(out), "--source", "docker-archive", str(spec_a_archive)).returncode
        == 0
    )
    json.loads(out.read_text())  # dive leaves the old tail behind; this would not parse


def test_non_utf8_names_are_recoverable_from_json(tmp_path: Path) -> None:
    raw = b"caf\xe9-\x1b[31m"
    name = raw.decode("utf-8", "surrogateescape")
    archive = tmp_path / "weird.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=[[f(name, "x")]])))
    out = tmp_path / "out.json"
    assert (
        run_divepy("--json", str(out), "--source", "docker-archive", str(archive)).returncode == 0
    )
    path = json.loads(out.read_text())["layer"][0]["fileList"][0]["path"]
    assert os.fsencode(path) == raw


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--source", "nope", "x"], 2, "unknown image source 'nope'"),
        (
            ["--source", "docker-archive", "/definitely/missing.tar"],
            3,
            "/definitely/missing.tar does not exist",
        ),
        (["--platform", "linux", "--source", "docker-archive", "x.tar"], 2, "bad --platform value"),
        (["--bogus-flag", "x"], 2, "unknown flag --bogus-flag"),
        ([], 2, "no image named"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code(args: list[str], code: int, message: str) -> None:
    result = run_divepy(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_archive_exit_3_and_no_output_file(tmp_path: Path, spec_a_archive: Path) -> None:
    data = spec_a_archive.read_bytes()
    broken = tmp_path / "broken.tar"
    broken.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.json"
    result = run_divepy("--json", str(out), "--source", "docker-archive", str(broken))
    assert result.returncode == 3
    assert "truncated" in result.stderr and str(broken) in result.stderr
    assert not out.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"spec-a.tar", "broken.tar"}  # no temp file left


def test_output_in_a_missing_directory_exit_4(tmp_path: Path, spec_a_archive: Path) -> None:
    result = run_divepy(
        "--json",
        str(tmp_path / "no" / "out.json"),
        "--source",
        "docker-archive",
        str(spec_a_archive),
    )
    assert result.returncode == 4
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "host, shown",
    [
        ("unix:///nonexistent/docker.sock", "unix:///nonexistent/docker.sock"),
        ("localhost:1", "tcp://localhost:1"),
        ("tcp://127.0.0.1:1", "tcp://127.0.0.1:1"),
    ],
)
def test_unreachable_engine_names_the_endpoint(tmp_path: Path, host: str, shown: str) -> None:
    result = run_divepy("--json", str(tmp_path / "o.json"), "some-image", env={"DOCKER_HOST": host})
    assert result.returncode == 3, result.stderr
    assert f"cannot reach the Docker engine at {shown} (from DOCKER_HOST)" in result.stderr
    assert "not found" not in result.stderr.lower()
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.json").exists()


def test_demo_writes_a_sample_archive_and_exports_it(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    result = run_divepy(
        "--demo", "--json", str(out), env={"XDG_CACHE_HOME": str(tmp_path / "cache")}
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    commands = [step["command"] for step in doc["history"]]
    assert commands[-2:] == ['CMD ["python" "app.py"]', "COPY app.py ."]
    assert any("pip install" in c for c in commands)
    assert doc["image"]["reclaimableBytes"] > 1_000_000  # the deleted pip cache
    assert doc["image"]["fileReference"]  # and some waste dive can see
    assert (tmp_path / "cache" / "divepy" / "python-hello-world-demo.tar").exists()


def test_version() -> None:
    result = run_divepy("--version")
    assert result.returncode == 0 and result.stdout.startswith("divepy ")


def test_json_path_does_not_import_textual(tmp_path: Path, spec_a_archive: Path) -> None:
    code = (
        "import sys; from dive_py.cli import main; rc = main(['--json', sys.argv[1], "
        "'--source', 'docker-archive', sys.argv[2]]); "
        "assert 'textual' not in sys.modules, 'textual imported'; sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "o.json"), str(spec_a_archive)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**{k: v for k, v in os.environ.items() if k != "CI"}, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr


def test_main_in_process_returns_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--source",
                "docker-archive",
                str(tmp_path / "missing.tar"),
                "--json",
                str(tmp_path / "o.json"),
            ]
        )
        == 3
    )
    assert "does not exist" in capsys.readouterr().err


def test_endpoint_resolution_order(tmp_path: Path) -> None:
    import hashlib

    from dive_py.domain.sources.engine_endpoint import parse_host, resolve_endpoint

    assert parse_host("localhost:2375") == "tcp://localhost:2375"
    assert parse_host("tcp://example") == "tcp://example:2375"
    assert parse_host("tcp://example", tls=True) == "tcp://example:2376"
    assert parse_host("unix://") == "unix:///var/run/docker.sock"
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"ctx").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps({"Name": "ctx", "Endpoints": {"docker": {"Host": "tcp://10.1.2.3:2375"}}})
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert resolve_endpoint(env).host == "unix:///var/run/docker.sock"
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "ctx"}))
    assert resolve_endpoint(env).host == "tcp://10.1.2.3:2375"
    assert (
        resolve_endpoint({**env, "DOCKER_CONTEXT": "default"}).host == "unix:///var/run/docker.sock"
    )
    assert resolve_endpoint({**env, "DOCKER_HOST": "h:1"}).host == "tcp://h:1"  # DOCKER_HOST wins


def test_empty_output_names_are_usage_errors(spec_a_archive: Path) -> None:
    # found by adversarial testing: --json "" opened the TUI
    for flag in ("--json", "--junit", "--ci-config"):
        result = run_divepy(flag, "", "--source", "docker-archive", str(spec_a_archive))
        assert result.returncode == 2, (flag, result.stderr)
        assert f"{flag} needs a file name" in result.stderr


def test_json_follows_symlinks_and_writes_into_devices(
    tmp_path: Path, spec_a_archive: Path
) -> None:
    # found by adversarial testing: the temp-file rename replaced symlinks and /dev/null
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert (
        run_divepy(
            "--json", str(link), "--source", "docker-archive", str(spec_a_archive)
        ).returncode
        == 0
    )
    assert (
        link.is_symlink()
        and json.loads(real.read_text())["image"]["sizeBytes"] == SPEC_A["sizeBytes"]
    )
    before = os.stat("/dev/null")
    assert (
        run_divepy(
            "--json", "/dev/null", "--source", "docker-archive", str(spec_a_archive)
        ).returncode
        == 0
    )
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev) == (before.st_mode, before.st_rdev)


def test_paths_in_progress_lines_are_escaped(tmp_path: Path) -> None:
    # found by adversarial testing: "Reading PATH" printed ESC and newlines raw
    archive = tmp_path / "a\x1b[31mred\n.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=[[f("a", "1")]])))
    out = tmp_path / "o\x1b[2J.json"
    result = run_divepy("--json", str(out), "--source", "docker-archive", str(archive))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and len(result.stderr.strip().splitlines()) == 2
    assert "\\x1b[31mred\\n.tar" in result.stderr


@pytest.mark.parametrize("phase", ["reading", "analysed"])
def test_sigterm_exits_143_and_leaves_no_temp_file(tmp_path: Path, phase: str) -> None:
    import signal

    archive = tmp_path / "big.tar"
    layers = [[f(f"d{i // 500}/f{i}", b"x" * 64) for i in range(2_000)] for _ in range(3)]
    archive.write_bytes(docker_archive(ImageSpec(layers=layers)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO)
    env["DIVEPY_CACHE_DIR"] = str(tmp_path / "cache")
    args = ["--json", str(out_dir / "o.json"), "--source", "docker-archive", str(archive)]
    child, _ = start_paused(args, phase, env)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_sigterm_after_the_outputs_commits_no_cache_entry(tmp_path: Path) -> None:
    import signal

    archive = tmp_path / "a.tar"
    archive.write_bytes(docker_archive(ImageSpec(layers=spec_a())))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(REPO), DIVEPY_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "o.json"
    child, _ = start_paused(
        ["--json", str(out), f"docker-archive://{archive}"], "outputs-written", env
    )
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert json.loads(out.read_text())["image"]["sizeBytes"] == SPEC_A["sizeBytes"]  # written
    cache = tmp_path / "cache"
    assert not cache.exists() or [p for p in cache.rglob("*") if p.is_file()] == []
    # the same run, not interrupted, commits its entry
    done = run_divepy("--json", str(out), f"docker-archive://{archive}", env=env)
    assert done.returncode == 0, done.stderr
    assert len(list(cache.glob("*.analysis"))) == 1


def test_an_unknown_pause_phase_is_a_usage_error(spec_a_archive: Path, tmp_path: Path) -> None:
    result = run_divepy(
        "--json",
        str(tmp_path / "o.json"),
        f"docker-archive://{spec_a_archive}",
        env={"DIVEPY_TEST_PAUSE_AT": "nowhere"},
    )
    assert result.returncode == 2
    assert "DIVEPY_TEST_PAUSE_AT='nowhere' names no phase" in result.stderr


def test_unreachable_default_engine_with_a_file_name_suggests_the_archive_source(
    spec_a_archive: Path, tmp_path: Path
) -> None:
    # found by a new user: `divepy image.tar` printed a raw exception tuple. (A path that
    # exists is now read as a file without --source: tests/hostile/test_silent_engine.py.)
    result = run_divepy(
        "--source",
        "docker",
        "--json",
        str(tmp_path / "o.json"),
        str(spec_a_archive),
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert result.returncode == 3
    assert "no socket at /nonexistent/docker.sock" in result.stderr
    assert f"read it with docker-archive://{spec_a_archive}" in result.stderr
    assert "Connection aborted" not in result.stderr and "FileNotFoundError" not in result.stderr


def test_explorer_without_a_terminal_is_refused(spec_a_archive: Path) -> None:
    result = run_divepy("--source", "docker-archive", str(spec_a_archive))
    assert result.returncode == 2
    assert "the explorer needs a terminal" in result.stderr and result.stdout == ""


def test_collector_is_paused_while_reading_then_restored_and_frozen(
    tmp_path: Path, spec_a_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import dive_py.domain.analysis as analysis_module

    seen: list[bool] = []
    real_analyse = analysis_module.analyse

    def spying_analyse(image: object, **options: bool) -> object:
        seen.append(gc.isenabled())
        return real_analyse(image, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis_module, "analyse", spying_analyse)
    monkeypatch.delenv("CI", raising=False)  # the suite runs under CI=true: not CI mode here
    frozen_before = gc.get_freeze_count()
    try:
        code = main(
            ["--no-cache", "--json", str(tmp_path / "o.json"), f"docker-archive://{spec_a_archive}"]
        )
        assert code == 0
        assert seen == [False]  # no collections while the entries are allocated
        assert gc.isenabled()  # and the collector is back afterwards
        assert (
            gc.get_freeze_count() > frozen_before
        )  # the analysis sits in the permanent generation
    finally:
        gc.unfreeze()


def test_only_the_explorer_keeps_the_stacked_states(
    tmp_path: Path, spec_a_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the explorer's analysis comes with every layer's state stacked (a layer
    switch then costs only a comparison); the JSON export and the CI report, which need only
    the figures, do not pay for them."""
    import dive_py.domain.analysis as analysis_module
    import dive_py.ui.launch as launch
    from dive_py.domain.progress import ProgressListener

    built: list[tuple[int, int]] = []
    real_analyse = analysis_module.analyse

    def spying_analyse(image: object, **options: bool) -> object:
        analysis = real_analyse(image, **options)  # type: ignore[arg-type]
        built.append((analysis.states_built, len(analysis.image.layers)))
        return analysis

    def fake_explorer(load: object, *_args: object, **_kwargs: object) -> int:
        load(ProgressListener())  # type: ignore[operator]
        return 0

    monkeypatch.setattr(analysis_module, "analyse", spying_analyse)
    monkeypatch.setattr(launch, "run_explorer", fake_explorer)
    monkeypatch.delenv("CI", raising=False)
    try:
        archive = f"docker-archive://{spec_a_archive}"
        assert main(["--no-cache", "--json", str(tmp_path / "o.json"), archive]) == 0
        assert main(["--no-cache", archive]) == 0
    finally:
        import gc

        gc.unfreeze()
    (json_states, layers), (explorer_states, also_layers) = built
    assert json_states == 0
    assert explorer_states == layers == also_layers > 1


def test_terminal_read_line_is_redrawn_at_most_ten_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from dive_py.commands import stderr_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = [100.0]
    monkeypatch.setattr(stderr_progress.time, "monotonic", lambda: clock[0])
    out = Terminal()
    progress = stderr_progress.StderrProgress(out)
    for chunk in range(1, 1001):  # 1,000 chunks within 50 ms: one redraw
        clock[0] += 0.00005
        progress.read(chunk * 32768, 0)
    assert out.getvalue().count("read ") == 1
    progress.read(10 << 20, 1)  # a new layer redraws at once
    clock[0] += 0.2
    progress.read(11 << 20, 1)  # and so does the next chunk after 0.1 s
    assert out.getvalue().count("read ") == 3
    assert out.getvalue().endswith("read 12 MB, 1 layer")  # 11 MiB in go-humanize SI units


def test_the_injected_environment_picks_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run()'s env reaches the engine connection: os.environ's DOCKER_HOST is not used."""
    import io

    from dive_py.cli import run
    from dive_py.errors import EngineUnreachableError

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/from-the-process.sock")
    env = {
        "DOCKER_HOST": "unix:///nonexistent/injected.sock",
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
    }
    with pytest.raises(EngineUnreachableError) as info:
        run(["--json", str(tmp_path / "o.json"), "some/image:1"], env, io.StringIO(), io.StringIO())
    assert "/nonexistent/injected.sock" in info.value.one_line()
    assert "from-the-process" not in info.value.one_line()


def test_terminal_summary_line_counts_and_duration_in_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from dive_py.commands import stderr_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = [100.0]
    monkeypatch.setattr(stderr_progress.time, "monotonic", lambda: clock[0])
    out = Terminal()
    progress = stderr_progress.StderrProgress(out)
    progress.read(1_000, 0)
    clock[0] += 75.25
    progress.read(5_000_000, 1_234)
    assert out.getvalue().endswith("read 5.0 MB, 1,234 layers")
    progress.done()
    assert out.getvalue().endswith("read 5.0 MB, 1,234 layers in 1 minute and 15.2 seconds\n")
