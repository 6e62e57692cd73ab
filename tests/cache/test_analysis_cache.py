"""The analysis cache (dive_py/domain/analysis_cache.py) and its use by ``divepy`` (commands.explore)."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

import dive_py.domain.sources as sources
from dive_py.cli import run
from dive_py.domain import analysis_cache
from dive_py.domain.analysis_cache import MAGIC, open_slot
from dive_py.domain.sources.docker_engine import DockerEngineSource
from tests.image_builder import ImageSpec, d, docker_archive, f, wh


def _spec(extra: str = "") -> ImageSpec:
    return ImageSpec(
        layers=[
            [d("app"), f("app/a", "aaaa"), f("app/b", "bbbbbbbb"), f("app/c", "c" * 100)],
            [d("app"), f("app/a", "AAAA" + extra), wh("app/b")],
        ]
    )


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "image.tar"
    path.write_bytes(docker_archive(_spec()))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DIVEPY_CACHE_DIR": str(tmp_path / "cache"), "PATH": os.environ.get("PATH", "")}


def _json(archive: Path, env: dict[str, str], tmp_path: Path, *extra: str) -> tuple[dict, str]:
    out = tmp_path / "out.json"
    stderr = io.StringIO()
    code = run(
        ["--source", "docker-archive", "--json", str(out), *extra, str(archive)],
        env,
        io.StringIO(),
        stderr,
    )
    assert code == 0, stderr.getvalue()
    return json.loads(out.read_text()), stderr.getvalue()


def _entries(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["DIVEPY_CACHE_DIR"]).glob("*.analysis"))


class _NoRead:
    """Stands in for open_image: fails the test if the image is read."""

    calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        _NoRead.calls += 1
        raise AssertionError("the image was read although the cache holds it")


def test_reopen_hits_the_cache_without_reading_the_archive(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, err1 = _json(archive, env, tmp_path)
    assert "cached" not in err1
    assert len(_entries(env)) == 1
    monkeypatch.setattr(sources, "open_image", _NoRead())
    second, err2 = _json(archive, env, tmp_path)
    assert second == first
    assert "Using the cached analysis" in err2


def test_the_explorers_load_from_the_cache_comes_with_every_state(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the explorer's analysis keeps every layer's stacked state, so that no key
    waits for a stacking step; the cache stores none, so they are stacked after a cached
    analysis is loaded (before, the explorer stacked them in the background while keys
    already came: a jump right after the first screen showed a preview first)."""
    import argparse

    from dive_py.commands.explore import load_analysis
    from dive_py.domain.progress import ProgressListener

    _json(archive, env, tmp_path)  # (stores the analysis)
    monkeypatch.setattr(sources, "open_image", _NoRead())
    args = argparse.Namespace(
        image=str(archive), source="docker-archive", platform=None, no_cache=False
    )
    loaded = load_analysis(args, env, ProgressListener(), keep_states=True)
    assert loaded.from_cache and loaded.analysis.states_built == 2
    plain = load_analysis(args, env, ProgressListener())  # (--ci, --json: no states)
    assert plain.from_cache and plain.analysis.states_built == 0


def test_no_cache_bypasses_reading_and_writing(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _json(archive, env, tmp_path, "--no-cache")
    assert _entries(env) == []
    _json(archive, env, tmp_path)
    assert len(_entries(env)) == 1
    calls = []
    real = sources.open_image
    monkeypatch.setattr(sources, "open_image", lambda *a, **k: calls.append(1) or real(*a, **k))
    _, err = _json(archive, env, tmp_path, "--no-cache")
    assert calls == [1] and "cached" not in err


def test_a_rewritten_archive_is_read_again(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    first, _ = _json(archive, env, tmp_path)
    archive.write_bytes(docker_archive(_spec(extra="more bytes")))
    second, err = _json(archive, env, tmp_path)
    assert "cached" not in err
    assert second != first


def test_permissions_are_user_only(tmp_path: Path, archive: Path, env: dict[str, str]) -> None:
    old = os.umask(0)  # even with a permissive umask
    try:
        _json(archive, env, tmp_path)
    finally:
        os.umask(old)
    directory = Path(env["DIVEPY_CACHE_DIR"])
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    [entry] = _entries(env)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_a_group_writable_entry_is_not_trusted(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    _json(archive, env, tmp_path)
    [entry] = _entries(env)
    entry.chmod(0o664)
    _, err = _json(archive, env, tmp_path)
    assert "cached" not in err
    [entry] = _entries(env)  # rewritten
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", ["flip-payload", "truncate", "garbage", "empty", "bad-header"])
def test_a_corrupt_entry_is_discarded(
    tmp_path: Path, archive: Path, env: dict[str, str], damage: str
) -> None:
    first, _ = _json(archive, env, tmp_path)
    [entry] = _entries(env)
    data = bytearray(entry.read_bytes())
    if damage == "flip-payload":
        data[-10] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) - 50]
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "empty":
        data = bytearray()
    else:
        data[len(MAGIC) + 6] ^= 0xFF
    entry.write_bytes(bytes(data))
    slot = open_slot(str(archive), "docker-archive", None, env)
    assert slot is not None and slot.load() is None
    assert not entry.exists()  # discarded
    second, err = _json(archive, env, tmp_path)
    assert second == first and "cached" not in err
    assert len(_entries(env)) == 1  # written again


def test_a_pickle_with_a_forged_checksum_of_other_data_is_never_loaded(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    """The checksum covers the payload: a payload swapped without fixing the header is refused."""
    _json(archive, env, tmp_path)
    [entry] = _entries(env)
    data = entry.read_bytes()
    header_len = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    evil = b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR."
    entry.write_bytes(data[: len(MAGIC) + 4 + header_len] + evil)
    _json(archive, env, tmp_path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "field,value", [("format", 999), ("version", "0.0.0-other"), ("code", "0" * 64)]
)
def test_a_version_mismatch_is_discarded(
    tmp_path: Path, archive: Path, env: dict[str, str], field: str, value: object
) -> None:
    _json(archive, env, tmp_path)
    [entry] = _entries(env)
    data = entry.read_bytes()
    start = len(MAGIC) + 4
    header_len = int.from_bytes(data[len(MAGIC) : start], "big")
    header = json.loads(data[start : start + header_len])
    header[field] = value
    raw = json.dumps(header).encode()
    entry.write_bytes(MAGIC + len(raw).to_bytes(4, "big") + raw + data[start + header_len :])
    slot = open_slot(str(archive), "docker-archive", None, env)
    assert slot is not None and slot.load() is None
    assert not entry.exists()


def test_the_key_changes_with_version_platform_and_source(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dive_py.domain.sources.platform import Platform

    base = open_slot(str(archive), "docker-archive", None, env)
    plat = open_slot(str(archive), "docker-archive", Platform.parse("linux/amd64"), env)
    oci = open_slot(str(archive), "oci", None, env)
    monkeypatch.setattr(analysis_cache, "__version__", "9.9.9")
    other = open_slot(str(archive), "docker-archive", None, env)
    keys = {s.key for s in (base, plat, oci, other) if s is not None}
    assert len(keys) == 4


def _writer(args: tuple[str, str, int]) -> int:
    archive, cache, rounds = args
    env = {"DIVEPY_CACHE_DIR": cache}
    codes = 0
    for _ in range(rounds):
        out = os.path.join(cache + "-out", f"{os.getpid()}.json")
        codes |= run(
            ["--source", "docker-archive", "--json", out, archive],
            env,
            io.StringIO(),
            io.StringIO(),
        )
    return codes


def test_concurrent_runs_leave_one_whole_entry(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    cache = env["DIVEPY_CACHE_DIR"]
    os.makedirs(cache + "-out")
    expected, _ = _json(archive, {"DIVEPY_CACHE_DIR": str(tmp_path / "ref")}, tmp_path)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        codes = pool.map(_writer, [(str(archive), cache, 5)] * 4)
    assert codes == [0, 0, 0, 0]
    assert len(_entries(env)) == 1
    assert not list(Path(cache).glob("*.tmp"))
    for out in Path(cache + "-out").iterdir():
        assert json.loads(out.read_text()) == expected
    slot = open_slot(str(archive), "docker-archive", None, env)
    assert slot is not None and slot.load() is not None


def test_concurrent_store_and_load_never_see_a_partial_entry(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    _json(archive, env, tmp_path)
    slot = open_slot(str(archive), "docker-archive", None, env)
    assert slot is not None
    analysis = slot.load()
    assert analysis is not None
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=lambda: [slot.store(analysis) for _ in range(20)]) for _ in range(2)
    ]
    for p in procs:
        p.start()
    misses = 0
    for _ in range(40):
        misses += slot.load() is None
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert slot.load() is not None
    # a load during a store may only miss if it raced the rename of a discarded entry;
    # it must never return a broken analysis (checked by load() itself)
    assert misses <= 40


def test_docker_source_consults_the_cache_before_the_save(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker: keyed on the engine's image ID from inspect; a hit never opens the save stream."""
    engine = {"id": "sha256:" + "1" * 64}
    monkeypatch.setattr(
        DockerEngineSource, "cache_key", lambda self, ref: ("unix:///fake.sock", engine["id"])
    )
    real = sources.open_image

    def from_archive(text: str, **kwargs: object) -> object:  # the "save stream"
        kwargs["source"] = "docker-archive"
        image = real(str(archive), **kwargs)  # type: ignore[arg-type]
        image.reference, image.source = text, "docker"
        return image

    monkeypatch.setattr(sources, "open_image", from_archive)
    out = tmp_path / "d.json"
    assert run(["--json", str(out), "some/image:tag"], env, io.StringIO(), io.StringIO()) == 0
    first = json.loads(out.read_text())
    assert len(_entries(env)) == 1
    monkeypatch.setattr(sources, "open_image", _NoRead())
    err = io.StringIO()
    assert run(["--json", str(out), "some/image:tag"], env, io.StringIO(), err) == 0
    assert json.loads(out.read_text()) == first and "cached" in err.getvalue()
    # the tag now names another image: miss, read again
    engine["id"] = "sha256:" + "2" * 64
    with pytest.raises(AssertionError, match="was read"):
        run(["--json", str(out), "some/image:tag"], env, io.StringIO(), io.StringIO())


def test_docker_entry_not_stored_when_the_name_moved_during_the_read(
    tmp_path: Path, archive: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["sha256:" + "1" * 64, "sha256:" + "3" * 64])
    monkeypatch.setattr(DockerEngineSource, "cache_key", lambda self, ref: ("unix:///x", next(ids)))
    real = sources.open_image
    monkeypatch.setattr(
        sources,
        "open_image",
        lambda text, **kw: real(str(archive), **{**kw, "source": "docker-archive"}),
    )
    assert run(["--json", str(tmp_path / "o.json"), "img"], env, io.StringIO(), io.StringIO()) == 0
    assert _entries(env) == []  # inspect ID != config digest and the recheck saw another ID


def test_unreachable_engine_means_no_cache_not_an_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine = DockerEngineSource(env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert open_slot("busybox", "docker", None, env, engine.cache_key) is None


def test_a_directory_owned_by_someone_else_or_open_to_others_is_not_used(
    tmp_path: Path, archive: Path, env: dict[str, str]
) -> None:
    _json(archive, env, tmp_path)
    directory = Path(env["DIVEPY_CACHE_DIR"])
    directory.chmod(0o777)
    slot = open_slot(str(archive), "docker-archive", None, env)
    assert slot is not None and slot.load() is None
    _json(archive, env, tmp_path)  # storing makes it private again
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_prune_keeps_the_most_recent_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis_cache, "MAX_ENTRIES", 2)
    directory = tmp_path / "c"
    directory.mkdir(mode=0o700)
    for i in range(4):
        p = directory / f"{i}.analysis"
        p.write_bytes(b"x")
        os.utime(p, (1000 + i, 1000 + i))
    stale = directory / ".x.tmp"
    stale.write_bytes(b"")
    os.utime(stale, (1, 1))
    analysis_cache._prune(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["2.analysis", "3.analysis"]


def test_each_image_named_in_one_archive_has_its_own_entry(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from tests.image_builder import docker_archive_of

    two = tmp_path / "two.tar"
    two.write_bytes(docker_archive_of([ImageSpec([[f("a", "1")]], tags=["a:1"]), _spec()]))
    whole = open_slot(str(two), "docker-archive", None, env)
    first = open_slot(f"{two}:a:1", "docker-archive", None, env)
    second = open_slot(f"docker-archive:{two}:test/image:latest", "docker", None, env)
    by_position = open_slot(f"{two}:@1", "docker-archive", None, env)
    assert whole is not None and first is not None and second is not None
    assert by_position is not None
    assert len({whole.key, first.key, second.key, by_position.key}) == 4
    one, _ = _json(Path(f"{two}:a:1"), env, tmp_path)
    assert len(one["layer"]) == 1
    again, stderr = _json(Path(f"{two}:a:1"), env, tmp_path)
    assert again == one and "Using the cached analysis" in stderr
    other, _ = _json(Path(f"{two}:@1"), env, tmp_path)
    assert len(other["layer"]) == 2
