"""A container's read/write layer: built from ``changes`` and the archive API, stacked like any
layer, with copy-on-write figures; the JSON's ``container`` object and the CI report's block."""

from __future__ import annotations

import io
import json

from dive_py.ci.report import render_report
from dive_py.ci.result import compute_result
from dive_py.ci.rules import load_rules
from dive_py.domain.analysis import Analysis
from dive_py.domain.compare import CompareMode
from dive_py.domain.container_analysis import with_container
from dive_py.domain.container_layer import (
    ContainerInfo,
    PathStat,
    build_container_layer,
)
from dive_py.domain.export_json import render_json
from dive_py.domain.tar_stream import Readable
from tests.ci.helpers import ci_args
from tests.hostile.helpers import pipeline
from tests.image_builder import E, ImageSpec, d, docker_archive, f, sym

INFO = ContainerInfo("c" * 64, "web", "test/image:latest", "sha256:" + "1" * 64, "running")


class FakeArchive:
    """The archive API of a container: path -> the tar the engine would send (names relative
    to the path's parent, as ``GET /containers/{id}/archive`` writes them)."""

    def __init__(self, trees: dict[str, list[E]], stats: dict[str, PathStat]) -> None:
        self.trees = trees
        self.stats = stats
        self.fetched: list[str] = []
        self.statted: list[str] = []

    def archive(self, path: str) -> Readable | None:
        from tests.image_builder import layer_tar

        self.fetched.append(path)
        entries = self.trees.get(path)
        return None if entries is None else io.BytesIO(layer_tar(entries))

    def stat(self, path: str) -> PathStat | None:
        self.statted.append(path)
        return self.stats.get(path)


def _image() -> Analysis:
    spec = ImageSpec(
        layers=[
            [d("etc"), f("etc/passwd", b"root:x:0:0\n"), f("etc/group", b"g" * 100)],
            [d("data"), f("data/big", b"B" * 1000), d("data/sub"), f("data/sub/x", b"x" * 50)],
        ]
    )
    analysis, _ = pipeline(docker_archive(spec))
    return analysis


# docker diff of: echo >> /etc/passwd; rm /etc/group; rm -rf /data/sub;
# mkdir -p /new/deep; echo hi > /new/deep/f; ln -s /x /new/l; echo hello > /top
CHANGES = [
    ("/etc", 0),
    ("/etc/passwd", 0),
    ("/etc/group", 2),
    ("/data", 0),
    ("/data/sub", 2),
    ("/new", 1),
    ("/new/deep", 1),
    ("/new/deep/f", 1),
    ("/new/l", 1),
    ("/top", 1),
]


def _archive() -> FakeArchive:
    return FakeArchive(
        {
            "/etc/passwd": [f("passwd", b"root:x:0:0\nappended\n", uid=0)],
            "/new": [
                d("new"),
                d("new/deep"),
                f("new/deep/f", b"hi\n", uid=1000, gid=1000),
                sym("new/l", "/x"),
            ],
            "/top": [f("top", b"hello\n", mode=0o600)],
        },
        {
            "/etc": PathStat("etc", 4096, (1 << 31) | 0o755),
            "/data": PathStat("data", 4096, (1 << 31) | 0o700),  # chmod'ed
        },
    )


def test_layer_entries_and_copy_on_write_figures() -> None:
    image = _image()
    archive = _archive()
    layer = build_container_layer(CHANGES, archive, image.final_state())
    # an added directory is fetched once, with everything in it; modified directories only stat'ed
    assert sorted(archive.fetched) == ["/etc/passwd", "/new", "/top"]
    assert sorted(archive.statted) == ["/data", "/etc"]
    entries = layer.contents.entries
    assert set(entries) == {"etc/passwd", "new", "new/deep", "new/deep/f", "new/l", "top", "data"}
    assert (entries["new/deep/f"].uid, entries["new/deep/f"].size) == (1000, 3)
    assert entries["new/l"].linkname == "/x"
    assert entries["data"].mode & 0o777 == 0o700  # its mode changed: an entry of its own
    assert "etc" in layer.contents.implicit_dirs  # only something inside changed: no entry
    assert [w.path for w in layer.contents.whiteouts] == ["data/.wh.sub", "etc/.wh.group"]
    assert layer.added_bytes == 3 + 6
    assert layer.copied_up_bytes == len(b"root:x:0:0\nappended\n")  # the whole file
    assert layer.hidden_bytes == 100 + 50
    sizes = {change.path: (change.change, change.size_bytes) for change in layer.changes}
    assert sizes["/etc/group"] == ("deleted", 100)
    assert sizes["/data/sub"] == ("deleted", 50)
    assert sizes["/etc"] == ("modified", 0)
    assert sizes["/top"] == ("added", 6)


def test_stacked_on_the_image_it_marks_like_any_layer() -> None:
    image = _image()
    layer = build_container_layer(CHANGES, _archive(), image.final_state())
    combined = with_container(image, INFO, layer)
    assert len(combined.image.layers) == len(image.image.layers) + 1  # image's list untouched
    assert combined.image.layers[-1].command == "container web (read/write)"
    tree = combined.compared_tree(len(combined.image.layers) - 1, CompareMode.LAYER)
    marks = {node.path: node.diff.name for node in tree.root.walk()}
    assert marks["/etc/passwd"] == "MODIFIED"
    assert marks["/etc/group"] == "REMOVED"
    assert marks["/data/sub"] == "REMOVED"
    assert marks["/new/deep/f"] == "ADDED"
    assert marks["/top"] == "ADDED"
    assert marks["/data/big"] == "UNMODIFIED"


def test_a_path_gone_before_it_was_read_is_reported_not_fatal() -> None:
    image = _image()
    archive = _archive()
    del archive.trees["/top"]
    layer = build_container_layer(CHANGES, archive, image.final_state())
    assert layer.vanished == ["/top"]
    assert "top" not in layer.contents.entries


def test_json_keeps_the_image_schema_and_adds_the_container() -> None:
    image = _image()
    plain = json.loads(render_json(image))
    layer = build_container_layer(CHANGES, _archive(), image.final_state())
    doc = json.loads(render_json(with_container(image, INFO, layer)))
    assert doc["layer"] == plain["layer"]
    assert doc["image"] == plain["image"]
    assert doc["history"] == plain["history"]
    box = doc["container"]
    assert (box["id"], box["name"], box["image"], box["state"]) == (
        INFO.id,
        "web",
        "test/image:latest",
        "running",
    )
    assert box["addedBytes"] == 9
    assert box["copiedUpBytes"] == 20
    assert box["hiddenBytes"] == 150
    assert {"path": "/etc/group", "change": "deleted", "sizeBytes": 100} in box["changes"]
    assert "container" not in plain


def test_ci_report_gives_the_container_figures_and_keeps_the_rules_on_the_image() -> None:
    image = _image()
    layer = build_container_layer(CHANGES, _archive(), image.final_state())
    combined = with_container(image, INFO, layer)
    rules = load_rules(ci_args())
    text = render_report(compute_result(combined, rules))
    assert "Image Source: container://web (image test/image:latest)" in text
    assert "  copiedUpBytes: 20 bytes" in text
    assert "  hiddenBytes: 150 bytes" in text
    plain = render_report(compute_result(image, rules))
    assert plain.split("Results:")[1] == text.split("Results:")[1]


def test_many_changes_in_one_directory_fetch_it_once_and_keep_only_the_changes() -> None:
    from dive_py.domain.container_layer import GROUP_FETCH

    names = [f"f{i:02}" for i in range(GROUP_FETCH)]
    spec = ImageSpec(
        layers=[[d("etc"), f("etc/keep", b"k" * 7), *(f(f"etc/{n}", b"1") for n in names)]]
    )
    image, _ = pipeline(docker_archive(spec))
    archive = FakeArchive(
        {"/etc": [d("etc"), f("etc/keep", b"k" * 7), *(f(f"etc/{n}", b"12") for n in names)]}, {}
    )
    changes = [("/etc", 0), *((f"/etc/{n}", 0) for n in names)]
    layer = build_container_layer(changes, archive, image.final_state())
    assert archive.fetched == ["/etc"]  # not one request per file
    assert set(layer.contents.entries) == {f"etc/{n}" for n in names}  # /etc/keep dropped
    assert layer.copied_up_bytes == 2 * GROUP_FETCH
