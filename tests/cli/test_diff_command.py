"""``divepy diff A B``: shared layers (chain IDs), file differences, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dive_py.domain.image_diff import chain_ids
from tests.ci.helpers import run_cli
from tests.image_builder import E, ImageSpec, d, f, sym, wh
from tests.image_builder import docker_archive as archive_bytes
from tests.registry_server import fake_registry

BASE1 = [d("etc"), f("etc/os-release", "ID=base\nVERSION=1\n"), f("bin/sh", b"s" * 4000, 0o755)]
BASE2 = [d("etc"), f("etc/os-release", "ID=base\nVERSION=2\n"), f("bin/sh", b"S" * 4100, 0o755)]
APP = [f("app/main.py", "print(1)\n"), sym("app/current", "main.py"), f("app/data", b"x" * 100)]


def _archive(tmp_path: Path, name: str, layers: list[list[E]]) -> str:
    path = tmp_path / f"{name}.tar"
    path.write_bytes(archive_bytes(ImageSpec(layers=layers)))
    return f"docker-archive://{path}"


def _diff(tmp_path: Path, a: str, b: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "diff.json"
    code, stdout, err = run_cli(["diff", "--json", str(out), a, b], env={})
    return code, json.loads(out.read_text()) if out.exists() else {}, stdout + err


def test_identical_images_built_twice_exit_0(tmp_path: Path) -> None:
    a = _archive(tmp_path, "a", [BASE1, APP])
    b = _archive(tmp_path, "b", [BASE1, APP])
    code, doc, text = _diff(tmp_path, a, b)
    assert code == 0, text
    assert doc["identical"] is True
    assert doc["shared"]["layers"] == 2
    assert doc["added"] == doc["modified"] == doc["removed"] == []
    assert "shares its first 2 layers" in text and "identical" in text


def test_one_file_differs(tmp_path: Path) -> None:
    changed = [*APP[:2], f("app/data", b"y" * 150)]
    code, doc, text = _diff(
        tmp_path, _archive(tmp_path, "a", [BASE1, APP]), _archive(tmp_path, "b", [BASE1, changed])
    )
    assert code == 1
    assert doc["shared"]["layers"] == 1
    assert doc["modified"] == [
        {"path": "/app/data", "sizeBytes": 150, "beforeSizeBytes": 100, "changed": ["content"]}
    ]
    assert doc["added"] == doc["removed"] == []
    assert doc["sizeBytes"]["difference"] == 50
    assert "0 added, 1 modified, 0 removed; +50 B in total" in text


def test_metadata_only(tmp_path: Path) -> None:
    moved = [
        f("app/main.py", "print(1)\n", 0o755),
        sym("app/current", "other.py"),
        f("app/data", b"x" * 100, uid=1000),
    ]
    code, doc, _ = _diff(
        tmp_path, _archive(tmp_path, "a", [BASE1, APP]), _archive(tmp_path, "b", [BASE1, moved])
    )
    assert code == 1
    changed = {m["path"]: m["changed"] for m in doc["modified"]}
    assert changed == {
        "/app/current": ["linkTarget"],
        "/app/data": ["owner"],
        "/app/main.py": ["mode"],
    }


def test_a_whiteout_removes_a_file(tmp_path: Path) -> None:
    code, doc, _ = _diff(
        tmp_path,
        _archive(tmp_path, "a", [BASE1, APP]),
        _archive(tmp_path, "b", [BASE1, APP, [wh("app/data")]]),
    )
    assert code == 1
    assert doc["shared"]["layers"] == 2  # B is A plus one layer
    assert doc["removed"] == [{"path": "/app/data", "sizeBytes": 100}]
    assert doc["added"] == doc["modified"] == []


def test_a_base_image_bump(tmp_path: Path) -> None:
    code, doc, text = _diff(
        tmp_path,
        _archive(tmp_path, "a", [BASE1, APP]),
        _archive(tmp_path, "b", [BASE2, APP, [f("app/new", "n")]]),
    )
    assert code == 1
    assert doc["shared"]["layers"] == 0 and doc["shared"]["chainId"] is None
    assert [m["path"] for m in doc["modified"]] == ["/bin/sh", "/etc/os-release"]
    assert doc["added"] == [{"path": "/app/new", "sizeBytes": 1}]
    assert "shares no layer" in text


def test_across_sources_and_without_a_terminal(tmp_path: Path) -> None:
    a = _archive(tmp_path, "a", [BASE1, APP])
    with fake_registry() as reg:
        reg.add_image("app", "2", ImageSpec(layers=[BASE1, APP, [f("app/new", "new")]]))
        env = {"DIVEPY_CACHE_DIR": str(tmp_path / "c"), "DOCKER_CONFIG": str(tmp_path)}
        code, stdout, err = run_cli(["diff", a, f"registry://{reg.host}/app:2"], env=env)
    assert code == 1
    doc = json.loads(stdout)  # not a terminal: JSON on stdout, summary on stderr
    assert doc["added"] == [{"path": "/app/new", "sizeBytes": 3}]
    assert doc["shared"]["layers"] == 2
    assert "1 added, 0 modified, 0 removed; +3 B in total" in err


def test_report_is_the_text_report_even_when_piped(tmp_path: Path) -> None:
    """Trial of this release: ``divepy diff --report A B | less`` printed the JSON."""
    a = _archive(tmp_path, "a", [BASE1, APP])
    b = _archive(tmp_path, "b", [BASE1, APP, [f("app/new", "new")]])
    env = {"DIVEPY_CACHE_DIR": str(tmp_path / "c")}
    code, stdout, _err = run_cli(["diff", "--report", a, b], env=env)
    assert code == 1
    assert not stdout.lstrip().startswith("{"), stdout
    assert "/app/new" in stdout and "1 added, 0 modified, 0 removed" in stdout
    # beside --json FILE: the JSON in the file, the report (not only the summary) on stdout
    target = tmp_path / "d.json"
    code, stdout, _err = run_cli(["diff", "--report", "--json", str(target), a, b], env=env)
    assert code == 1 and json.loads(target.read_text())["added"][0]["path"] == "/app/new"
    assert "/app/new" in stdout
    # --json - still writes the JSON to stdout
    code, stdout, _err = run_cli(["diff", "--report", "--json", "-", a, b], env=env)
    assert json.loads(stdout)["identical"] is False


def test_errors(tmp_path: Path) -> None:
    a = _archive(tmp_path, "a", [BASE1])
    code, _out, err = run_cli(["diff", a, f"docker-archive://{tmp_path / 'missing.tar'}"], env={})
    assert code == 3 and "missing.tar" in err
    code, _out, err = run_cli(["diff", a], env={})
    assert code == 2
    code, _out, err = run_cli(["diff", "--json", str(tmp_path / "no/dir/x.json"), a, a], env={})
    assert code == 4


def test_a_missing_path_is_named_before_either_image_is_read(tmp_path: Path) -> None:
    """Trial of this release: ``divepy diff img:a /tmp/missing.tar`` said "invalid reference
    format" (the engine's answer for a path); a path-looking argument that does not exist is
    named as missing, exit 3, before the engine is asked for the other image."""
    missing = str(tmp_path / "missing.tar")
    env = {"DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    for argv in (["diff", "img:a", missing], ["diff", missing, "img:a"]):
        code, _out, err = run_cli(argv, env=env)
        assert code == 3, err
        assert err.strip().splitlines() == [
            f"divepy: {missing}: no such file or directory - check the path (an engine image "
            "is named NAME[:TAG])"
        ], err
    code, _out, err = run_cli([f"./{tmp_path.name}-missing.tar"], env=env)  # and the main command
    assert code == 3 and "no such file or directory" in err and "engine" not in err.split("-")[0]


def test_chain_ids_follow_the_spec() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    import hashlib

    assert chain_ids([a, b]) == [a, "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()]
