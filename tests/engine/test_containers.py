"""Containers, shared layers and history on every engine of the harness (issue 13).

* a container of ``divepy-fixture/spec-a`` that adds a file, appends to a file of the image
  (copy-up), deletes a file and a directory of the image and adds a whole directory: the
  view's marks and the JSON's sizes equal what ``docker diff`` and the archive API (``docker
  container cp``) show, running and stopped;
* two images FROM the same base share exactly the base's layers; an unrelated image shares
  nothing;
* a locally built image shows intermediate image IDs; an image loaded from an archive shows
  ``<missing>``;
* a rebuild with a changed late step marks the earlier steps cached.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

from dive_py.commands.explore import load_analysis
from dive_py.domain.compare import CompareMode
from dive_py.domain.progress import ProgressListener
from tests.cli.test_cli import run_divepy
from tests.conftest import BASE_IMAGE, FIXTURE_REPO, Engine
from tests.image_builder import ImageSpec, d, docker_archive, f

SCRIPT = (
    "echo new > /added.txt; echo more >> /data/keep.txt; busybox rm /data/h2; "
    "busybox rm -rf /e; mkdir -p /newdir/sub; echo a > /newdir/a; echo bb > /newdir/sub/b; "
    "echo ok > /ready"
)
KINDS = {0: "modified", 1: "added", 2: "deleted"}
GO_DIR, GO_SYMLINK = 1 << 31, 1 << 27


def _wait_ready(container: Any) -> None:
    for _ in range(200):
        if any(item["Path"] == "/ready" for item in container.diff() or []):
            return
        time.sleep(0.05)
    raise AssertionError(f"the container never finished its script: {container.logs()!r}")


def _check_against_engine(engine: Engine, container: Any, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{container.status}.json"
    result = run_divepy(
        "--json", str(out), "--no-cache", f"container://{container.name}",
        env={"DOCKER_HOST": engine.host},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    box = json.loads(out.read_text())["container"]
    diff = {item["Path"]: KINDS[item["Kind"]] for item in container.diff()}
    assert {change["path"]: change["change"] for change in box["changes"]} == diff
    for change in box["changes"]:
        if change["change"] == "deleted":
            continue
        _bits, stat = container.get_archive(change["path"])  # what docker container cp sees
        if stat["mode"] & (GO_DIR | GO_SYMLINK):
            assert change["sizeBytes"] == 0
        else:
            assert change["sizeBytes"] == stat["size"], change
    _bits, keep = container.get_archive("/data/keep.txt")
    assert box["copiedUpBytes"] == keep["size"] == len("hi\nmore\n")
    assert box["addedBytes"] == len("new\n") + len("a\n") + len("bb\n") + len("ok\n")
    assert box["hiddenBytes"] == sum(
        c["sizeBytes"] for c in box["changes"] if c["change"] == "deleted"
    )
    assert box["name"] == container.name and box["id"] == container.id
    return box


def _marks(engine: Engine, name: str) -> dict[str, str]:
    args = argparse.Namespace(
        image=f"container://{name}", source=None, platform=None, no_cache=True
    )
    loaded = load_analysis(args, {"DOCKER_HOST": engine.host}, ProgressListener())
    analysis = loaded.analysis
    assert analysis.container is not None
    top = analysis.container.layer_index
    assert analysis.image.layers[top].command == f"container {name} (read/write)"
    tree = analysis.compared_tree(top, CompareMode.LAYER)
    return {node.path: node.diff.name for node in tree.root.walk()}


def test_container_read_write_layer_running_and_stopped(engine: Engine, tmp_path: Path) -> None:
    client = engine.client(timeout=300)
    name = f"divepy-test-rw-{uuid.uuid4().hex[:8]}"
    container = client.containers.run(
        f"{FIXTURE_REPO}/spec-a:latest",
        ["sh", "-c", SCRIPT + "; busybox sleep 300"],
        name=name,
        detach=True,
    )
    try:
        _wait_ready(container)
        container.reload()
        assert container.status == "running"
        running = _check_against_engine(engine, container, tmp_path)
        marks = _marks(engine, name)
        assert marks["/added.txt"] == "ADDED"
        assert marks["/newdir/sub/b"] == "ADDED"
        assert marks["/data/keep.txt"] == "MODIFIED"
        assert marks["/data/h2"] == "REMOVED"
        assert marks["/e"] == "REMOVED"
        container.kill()
        container.wait()
        container.reload()
        assert container.status == "exited"
        stopped = _check_against_engine(engine, container, tmp_path)
        assert stopped["changes"] == running["changes"]
        assert stopped["state"] == "exited" and running["state"] == "running"
    finally:
        container.remove(force=True)
        client.close()


def test_removed_container_is_one_line_exit_3(engine: Engine, tmp_path: Path) -> None:
    result = run_divepy(
        "--json", str(tmp_path / "x.json"), f"container://divepy-test-gone-{uuid.uuid4().hex}",
        env={"DOCKER_HOST": engine.host},
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not (tmp_path / "x.json").exists()


def _build(client: Any, tag: str, dockerfile: str) -> Any:
    image, _log = client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True
    )
    return image


def _json(engine: Engine, tmp_path: Path, reference: str) -> dict[str, Any]:
    out = tmp_path / f"{uuid.uuid4().hex}.json"
    result = run_divepy("--json", str(out), reference, env={"DOCKER_HOST": engine.host})
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_images_from_the_same_base_share_exactly_the_base(engine: Engine, tmp_path: Path) -> None:
    client = engine.client(timeout=300)
    run = uuid.uuid4().hex[:8]
    one, two, loaded = f"divepy-test/share-1:{run}", f"divepy-test/share-2:{run}", ""
    try:
        _build(client, one, f"FROM {BASE_IMAGE}\nRUN echo one-{run} > /one\n")
        _build(client, two, f"FROM {BASE_IMAGE}\nRUN echo two-{run} > /two\n")
        (image,) = client.images.load(
            docker_archive(ImageSpec(layers=[[d("u"), f(f"u/{run}", b"unrelated")]]))
        )
        loaded = image.id
        first = _json(engine, tmp_path, one)
        assert two in first["layer"][0]["sharedWith"]
        assert first["layer"][1]["sharedWith"] == []
        assert first["image"]["uniqueBytes"] == first["layer"][1]["sizeBytes"]
        assert first["image"]["sharedBytes"] == first["layer"][0]["sizeBytes"]
        assert (
            first["image"]["sharedBytes"] + first["image"]["uniqueBytes"]
            == first["image"]["sizeBytes"]
        )
        third = _json(engine, tmp_path, loaded)
        assert all(layer["sharedWith"] == [] for layer in third["layer"])
        assert third["image"]["sharedBytes"] == 0
        # an image loaded from an archive has no intermediate images
        assert [step["imageId"] for step in third["history"]][:-1] == ["<missing>"] * (
            len(third["history"]) - 1
        )
        if not engine.containerd_store:
            built = [step["imageId"] for step in first["history"]]
            assert "<missing>" not in built[-1:], built
            assert built[-1] == client.images.get(one).id
    finally:
        for tag in (one, two, loaded):
            if tag:
                client.images.remove(tag, force=True)
        client.close()


def test_rebuild_marks_the_earlier_steps_cached(engine: Engine, tmp_path: Path) -> None:
    client = engine.client(timeout=300)
    run = uuid.uuid4().hex[:8]
    tag = f"divepy-test/cache:{run}"
    context = tmp_path / "ctx"
    context.mkdir()
    built: list[str] = []
    try:
        for last in ("first", "second"):
            (context / "Dockerfile").write_text(
                f"FROM {BASE_IMAGE}\nRUN echo {run} > /a\nENV X=1\nRUN echo {last} > /b\n"
            )
            out = tmp_path / f"{last}.json"
            result = run_divepy(
                "build", "--json", str(out), "-q", "-t", tag, str(context),
                env={"DOCKER_HOST": engine.host},
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            built.append(client.images.get(tag).id)
        steps = json.loads(out.read_text())["history"]
        assert [step.get("cached") for step in steps[-3:]] == [True, True, False]
    finally:
        for image_id in reversed(built):  # the first build is left untagged by the second
            client.images.remove(image_id, force=True)
        client.close()


def test_diff_of_an_image_and_its_container_lists_the_containers_changes(
    engine: Engine, tmp_path: Path
) -> None:
    # found by a new user's trial: diff read only the container's image and said "identical"
    client = engine.client(timeout=300)
    name = f"divepy-test-diff-{uuid.uuid4().hex[:8]}"
    image = f"{FIXTURE_REPO}/spec-a:latest"
    container = client.containers.run(image, ["sh", "-c", SCRIPT], name=name, detach=True)
    try:
        container.wait()
        result = run_divepy(
            "diff", "--json", "-", image, f"container://{name}",
            env={"DOCKER_HOST": engine.host},
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        document = json.loads(result.stdout)
        added = {item["path"] for item in document["added"]}
        removed = {item["path"] for item in document["removed"]}
        modified = {item["path"] for item in document["modified"]}
        assert {"/added.txt", "/newdir"} <= added  # an added directory is listed once
        assert "/data/h2" in removed
        assert "/data/keep.txt" in modified
    finally:
        container.remove(force=True)
        client.close()


def test_the_explorers_container_list_finds_the_images_containers(
    engine: Engine, tmp_path: Path
) -> None:
    # the catalog behind the explorer's `c` key, as the command line builds it; on the
    # containerd image store a container's ImageID is not the export's config digest
    from dive_py.commands.explore import EngineContainers

    client = engine.client(timeout=300)
    name = f"divepy-test-list-{uuid.uuid4().hex[:8]}"
    image = f"{FIXTURE_REPO}/spec-a:latest"
    container = client.containers.run(image, ["sh", "-c", SCRIPT], name=name, detach=True)
    env = {"DOCKER_HOST": engine.host, "DIVEPY_CACHE_DIR": str(tmp_path / "cache")}
    try:
        container.wait()
        for opened in (image, f"container://{name}"):
            args = argparse.Namespace(image=opened, source=None, platform=None, no_cache=True)
            loaded = load_analysis(args, env, ProgressListener())
            catalog = EngineContainers.for_run(args, env, None)
            assert catalog is not None
            listed = catalog.containers(loaded.analysis.image.image_id)
            assert name in [info.name for info in listed], (opened, listed)
            reopened = catalog.loader(name)(ProgressListener())
            assert reopened.container is not None and reopened.container.info.name == name
    finally:
        container.remove(force=True)
        client.close()
