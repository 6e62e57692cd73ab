"""The layer cache: known layers are neither downloaded nor parsed again; safe and bounded;
``divepy cache info`` and ``divepy cache clear``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from dive_py.domain.analysis import analyse
from dive_py.domain.export_json import render_json
from dive_py.domain.layer_cache import LayerCache, layer_cache_directory, layer_cache_limit
from dive_py.domain.layer_tar import read_layer
from dive_py.domain.sources import open_image
from tests.ci.helpers import run_cli
from tests.image_builder import ImageSpec, f, layer_tar
from tests.registry_server import fake_registry

BASE = [[f("bin/base", b"b" * 3000)], [f("lib/libc", b"c" * 2000)]]
APP1 = ImageSpec(layers=[*BASE, [f("app/main", "v1")]])
APP2 = ImageSpec(layers=[*BASE, [f("app/main", "v2, longer")]])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "docker").mkdir(exist_ok=True)
    return {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "HOME": str(tmp_path),
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
        "DIVEPY_REGISTRY_TIMEOUT": "2",
        **extra,
    }


def _layer_gets(gets: list[str], layers: list[str]) -> list[str]:
    return [g for g in gets if g in layers]


def test_the_next_tag_downloads_only_its_new_layer(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with fake_registry() as reg:
        reg.add_image("app", "1", APP1)
        reg.add_image("app", "2", APP2)
        layers = [
            layer["digest"]
            for tag in ("1", "2")
            for layer in json.loads(reg.manifests[f"app:{tag}"][1])["layers"]
        ]
        first = open_image(f"registry://{reg.host}/app:1", env=env)
        assert len(_layer_gets(reg.blob_gets, layers)) == 3
        reg.blob_gets.clear()
        second = open_image(f"registry://{reg.host}/app:2", env=env)
        assert _layer_gets(reg.blob_gets, layers) == [second.layers[2].digest]
        reg.blob_gets.clear()
        again = open_image(f"registry://{reg.host}/app:1", env=env)
        assert _layer_gets(reg.blob_gets, layers) == []
        # a cached read gives the same export as a fresh one
        assert render_json(analyse(again)) == render_json(analyse(first))
        # --no-cache reads everything again
        reg.blob_gets.clear()
        code, _out, err = run_cli(["--ci", "--no-cache", f"registry://{reg.host}/app:1"], env=env)
        assert code in (0, 1), err
        assert len(_layer_gets(reg.blob_gets, layers)) == 3


def test_entries_are_private_and_checked(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "layers", 1 << 30)
    contents = read_layer(__import__("io").BytesIO(layer_tar([f("a", "1")])))
    cache.put("sha256:" + "1" * 64, contents)
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    (entry,) = cache.directory.glob("*.layer")  # (and an alias under its diff ID)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    got = cache.get("sha256:" + "1" * 64)
    assert got is not None
    assert (got.diff_id, list(got.entries)) == (contents.diff_id, list(contents.entries))
    assert got.entries["a"].digest == contents.entries["a"].digest
    assert cache.get("sha256:" + "2" * 64) is None
    # a damaged entry is deleted, never unpickled
    data = bytearray(entry.read_bytes())
    data[-1] ^= 1
    entry.write_bytes(bytes(data))
    assert cache.get("sha256:" + "1" * 64) is None
    assert not entry.exists()
    # a directory others may write is not trusted
    cache.put("sha256:" + "1" * 64, contents)
    os.chmod(cache.directory, 0o777)
    assert cache.get("sha256:" + "1" * 64) is None
    os.chmod(cache.directory, 0o700)


def test_least_recently_used_entries_go_beyond_the_limit(tmp_path: Path) -> None:
    big = read_layer(__import__("io").BytesIO(layer_tar([f(f"f{i}", str(i)) for i in range(200)])))
    one = LayerCache(tmp_path / "layers", 1 << 30)
    one.put("sha256:" + "a" * 64, big)
    size = next(one.directory.glob("*.layer")).stat().st_size
    cache = LayerCache(one.directory, size * 2 + size // 2)
    cache.put("sha256:" + "b" * 64, big)
    os.utime(cache._path("sha256:" + "a" * 64), (1, 1))  # the oldest use
    assert cache.get("sha256:" + "b" * 64) is not None
    cache.put("sha256:" + "c" * 64, big)
    assert cache.get("sha256:" + "a" * 64) is None
    assert cache.get("sha256:" + "b" * 64) is not None
    assert cache.get("sha256:" + "c" * 64) is not None


def test_limit_setting() -> None:
    assert layer_cache_limit({}) == 4 << 30
    assert layer_cache_limit({"DIVEPY_LAYER_CACHE_BYTES": "512M"}) == 512 << 20
    assert layer_cache_limit({"DIVEPY_LAYER_CACHE_BYTES": "1000"}) == 1000
    assert layer_cache_limit({"DIVEPY_LAYER_CACHE": "off"}) == 0


def test_cache_info_and_clear(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with fake_registry() as reg:
        reg.add_image("app", "1", APP1)
        open_image(f"registry://{reg.host}/app:1", env=env)
    code, out, _ = run_cli(["cache", "info"], env=env)
    assert code == 0
    assert f"cache directory: {tmp_path / 'cache'}" in out
    assert "layers:   3 (" in out and "limit 4.3 GB" in out
    code, out, _ = run_cli(["cache", "clear"], env=env)
    assert code == 0 and "removed 0 analyses and 3 layers" in out
    assert not any(layer_cache_directory(env).glob("*.layer"))
    code, _out, err = run_cli(["cache", "nonsense"], env=env)
    assert code == 2 and "divepy cache info" in err


def test_a_registry_image_read_before_is_taken_whole_from_the_analysis_cache(
    tmp_path: Path,
) -> None:
    """Keyed by the manifest digest the tag names: nothing but that manifest is fetched again;
    a tag pushed to since is read again."""
    env = _env(tmp_path)
    out = tmp_path / "o.json"

    def export() -> tuple[str, str]:
        code, _out, err = run_cli(["--json", str(out), ref], env=env)
        assert code == 0, err
        return out.read_text(), err

    with fake_registry() as reg:
        reg.add_image("app", "1", APP1)
        ref = f"registry://{reg.host}/app:1"
        first, _ = export()
        reg.blob_gets.clear()
        again, err = export()
        assert "Using the cached analysis" in err
        assert reg.blob_gets == []  # not even the config
        assert again == first
        reg.add_image("app", "1", APP2)  # the tag moves
        moved, err = export()
        assert "Using the cached analysis" not in err
        assert "app/main" in moved and moved != first
