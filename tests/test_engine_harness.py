"""Proves the test harness from scripts/test works: every engine answers,
has all fixture images, and saves in the layout its version is known for;
the fixtures have the properties the real tests rely on."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import urllib.request
from collections import Counter

import pytest

try:
    from tests.conftest import BASE_IMAGE, FIXTURE_REPO, fixture_image_names, fixture_image_tags
except ImportError:  # tests/ not a package
    from conftest import BASE_IMAGE, FIXTURE_REPO, fixture_image_names, fixture_image_tags

pytestmark = pytest.mark.engine


def save_image(engine_client, ref: str, tmp_path) -> tarfile.TarFile:
    path = tmp_path / (ref.replace("/", "_").replace(":", "_") + ".tar")
    with open(path, "wb") as fh:
        for chunk in engine_client.images.get(ref).save(named=True):
            fh.write(chunk)
    return tarfile.open(path)


def layer_members(saved: tarfile.TarFile, index: int) -> list[tarfile.TarInfo]:
    """Members of layer `index` of the single image in a `docker save` tar."""
    manifest = json.load(saved.extractfile("manifest.json"))
    layer_path = manifest[0]["Layers"][index]
    raw = saved.extractfile(layer_path)  # follows legacy layer.tar symlinks
    assert raw is not None, layer_path
    with tarfile.open(fileobj=io.BytesIO(raw.read()), mode="r:*") as layer:
        return layer.getmembers()


def test_engine_answers(engine, engine_client):
    assert engine_client.ping()
    info = engine_client.version()
    assert info["Version"] == engine.server_version
    if engine.containerd_store:
        assert "io.containerd.snapshotter" in json.dumps(engine_client.info().get("DriverStatus"))


def test_engine_versions_are_the_expected_ones(engines):
    by_name = {e.name: e for e in engines}
    for name, eng in by_name.items():
        assert name.startswith(f"docker{eng.major}"), (name, eng.server_version)
    assert any(e.major >= 25 for e in engines), "no engine with the OCI `docker save` layout"


def test_engines_cover_both_save_layouts(engines):
    # scripts/test runs the other Debian's dockerd next to the distro's (issue 10).
    assert any(e.legacy_save for e in engines), "no engine with the legacy `docker save` layout"
    assert any(not e.legacy_save for e in engines), "no engine with the OCI `docker save` layout"
    assert any(e.containerd_store for e in engines), "no engine with the containerd image store"


def test_fixture_images_present(engine_client):
    names = fixture_image_names()
    assert {
        "testimg",
        "spec-a",
        "spec-ties",
        "opaque",
        "python-hello-world",
        "passes-defaults",
    } <= set(names)
    engine_client.images.get(BASE_IMAGE)
    for name in names:
        for tag in fixture_image_tags(name):
            image = engine_client.images.get(tag)
            assert tag in image.tags
    assert "python-hello-world:latest" in fixture_image_tags("python-hello-world")


def test_base_layer_is_one_busybox_layer(engine_client, tmp_path):
    image = engine_client.images.get(BASE_IMAGE)
    assert len(image.attrs["RootFS"]["Layers"]) == 1
    with save_image(engine_client, BASE_IMAGE, tmp_path) as saved:
        names = {m.name.removeprefix("./") for m in layer_members(saved, 0)}
    assert {"bin/busybox", "bin/sh", "tmp"} <= names


def test_base_layer_identical_across_engines(engines):
    diff_ids = {}
    for eng in engines:
        client = eng.client()
        try:
            diff_ids[eng.name] = client.images.get(BASE_IMAGE).attrs["RootFS"]["Layers"][0]
        finally:
            client.close()
    assert len(set(diff_ids.values())) <= 1, diff_ids


def test_save_layout(engine, engine_client, tmp_path):
    with save_image(engine_client, f"{FIXTURE_REPO}/testimg:latest", tmp_path) as saved:
        names = set(saved.getnames())
    assert "manifest.json" in names
    if engine.legacy_save:
        assert "index.json" not in names and "oci-layout" not in names
        assert any(n.endswith("/layer.tar") for n in names)
    else:
        assert {"index.json", "oci-layout"} <= names
        assert any(n.startswith("blobs/sha256/") for n in names)


def test_opaque_whiteout_in_saved_layer(engine, engine_client, tmp_path):
    with save_image(engine_client, f"{FIXTURE_REPO}/opaque:latest", tmp_path) as saved:
        names = {m.name.removeprefix("./") for m in layer_members(saved, -1)}
    assert "d/c" in names, sorted(names)
    if engine.containerd_store:
        # containerd's walking differ never writes opaque markers: it
        # whites out each removed child instead.
        assert {"d/.wh.a", "d/.wh.b"} <= names, sorted(names)
    else:
        # overlay2 graph driver: the re-created /d is an opaque directory.
        assert "d/.wh..wh..opq" in names, sorted(names)


def test_spec_ties_has_duplicate_diff_id(engine, engine_client, tmp_path):
    ref = f"{FIXTURE_REPO}/spec-ties:latest"
    layers = engine_client.images.get(ref).attrs["RootFS"]["Layers"]
    dups = [d for d, n in Counter(layers).items() if n > 1]
    assert dups, layers
    assert layers[-1] == layers[-3], "L2 and L4 of spec-ties should be the same layer"
    if engine.legacy_save:
        with save_image(engine_client, ref, tmp_path) as saved:
            manifest = json.load(saved.extractfile("manifest.json"))
            last = saved.getmember(manifest[0]["Layers"][-1])
            assert last.issym(), "legacy save should symlink the duplicate layer.tar"


def test_registry_answers(registry):
    with urllib.request.urlopen(f"http://{registry}/v2/", timeout=10) as resp:
        assert resp.status == 200


def test_dive_bin_runs(dive_bin):
    out = subprocess.run(
        [dive_bin, "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "dive" in out.stdout.lower()


def test_spec_a_metadata_only_layer(engine, engine_client, tmp_path):
    """spec-a L4 = `chmod 600 /data/keep.txt && touch /e`.  The mode change is
    in the layer on every engine; the mtime-only change of directory /e is
    NOT on the containerd image store (its differ ignores directory mtimes)."""
    with save_image(engine_client, f"{FIXTURE_REPO}/spec-a:latest", tmp_path) as saved:
        members = {m.name.removeprefix("./"): m for m in layer_members(saved, 4)}
    assert members["data/keep.txt"].mode & 0o777 == 0o600
    assert members["data/keep.txt"].size == 3
    assert ("e" in members) == (not engine.containerd_store), sorted(members)


def test_podman_store_has_the_fixtures(podman_bin, tmp_path):
    for name in fixture_image_names():
        for tag in fixture_image_tags(name):
            assert (
                subprocess.run([podman_bin, "image", "exists", tag], timeout=60).returncode == 0
            ), tag
    out = tmp_path / "saved.tar"
    with open(out, "wb") as fh:
        subprocess.run(
            [
                podman_bin,
                "image",
                "save",
                "--format",
                "docker-archive",
                f"{FIXTURE_REPO}/spec-ties:latest",
            ],
            stdout=fh,
            timeout=120,
            check=True,
        )
    with tarfile.open(out) as saved:
        assert "manifest.json" in saved.getnames()


def test_podman_wrapper_prints_no_warnings(podman_bin):
    # podman 5 warns about cgroups v1 on every call unless the wrapper silences it.
    done = subprocess.run(
        [podman_bin, "image", "exists", BASE_IMAGE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr == ""
