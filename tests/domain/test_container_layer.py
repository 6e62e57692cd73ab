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
    """The archive API of a container over its whole file system ``fs`` (entries with full
    paths): a path's tar names entries relative to the path's parent, as ``GET
    /containers/{id}/archive`` writes them; ``HEAD`` gives Go file mode bits."""

    def __init__(self, fs: list[E]) -> None:
        self.fs = {entry.path: entry for entry in fs}
        self.fetched: list[str] = []
        self.statted: list[str] = []

    def archive(self, path: str) -> Readable | None:
        import dataclasses

        from tests.image_builder import layer_tar

        self.fetched.append(path)
        rel = path.lstrip("/")
        if rel not in self.fs:
            return None
        parent = rel.rpartition("/")[0]
        cut = len(parent) + 1 if parent else 0
        chosen = [
            dataclasses.replace(entry, path=name[cut:])
            for name, entry in self.fs.items()
            if name == rel or name.startswith(rel + "/")
        ]
        return io.BytesIO(layer_tar(chosen))

    def stat(self, path: str) -> PathStat | None:
        self.statted.append(path)
        entry = self.fs.get(path.lstrip("/"))
        if entry is None:
            return None
        mode = entry.mode if entry.mode is not None else 0o755
        return PathStat(entry.path, 4096, (1 << 31) | mode if entry.kind == "dir" else mode)


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
    """The container's file system after CHANGES."""
    return FakeArchive(
        [
            d("etc"),
            f("etc/passwd", b"root:x:0:0\nappended\n"),
            d("data", mode=0o700),  # chmod'ed
            f("data/big", b"B" * 1000),
            d("new"),
            d("new/deep"),
            f("new/deep/f", b"hi\n", uid=1000, gid=1000),
            sym("new/l", "/x"),
            f("top", b"hello\n", mode=0o600),
        ]
    )


def test_layer_entries_and_copy_on_write_figures() -> None:
    image = _image()
    archive = _archive()
    layer = build_container_layer(CHANGES, archive, image.final_state())
    # an added directory is fetched once, with everything in it; /etc is small: fetched whole
    # for its two reads; /data stores more than a request is worth: only stat'ed
    assert sorted(archive.fetched) == ["/etc", "/new", "/top"]
    assert archive.statted == ["/data"]
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


def test_the_combined_analysis_starts_from_the_image_states() -> None:
    """Issue 11: the image's stacked states (the explorer's load keeps them all) are the
    combined analysis's lower states; only the container's layer is stacked on top."""
    image = _image()
    final = image.final_state()
    layer = build_container_layer(CHANGES, _archive(), final)
    combined = with_container(image, INFO, layer)
    top = len(image.image.layers)
    assert combined.states_built == top
    assert combined.stacked_states is not None
    assert combined.stacked_states.built_state(top - 1) is final
    assert combined.final_state() is not final  # the container's own state on top
    assert image.states_built == top  # the image's analysis is left as it was


def test_a_path_gone_before_it_was_read_is_reported_not_fatal() -> None:
    image = _image()
    archive = _archive()
    del archive.fs["top"]
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
    names = [f"f{i:02}" for i in range(16)]
    files = [f(f"etc/{n}", b"1") for n in names]
    spec = ImageSpec(layers=[[d("etc"), f("etc/keep", b"k" * 7), *files]])
    image, _ = pipeline(docker_archive(spec))
    archive = FakeArchive(
        [d("etc"), f("etc/keep", b"k" * 7), *(f(f"etc/{n}", b"12") for n in names)]
    )
    changes = [("/etc", 0), *((f"/etc/{n}", 0) for n in names)]
    layer = build_container_layer(changes, archive, image.final_state())
    assert archive.fetched == ["/etc"] and archive.statted == []  # not one request per path
    assert set(layer.contents.entries) == {f"etc/{n}" for n in names}  # /etc/keep dropped
    assert layer.copied_up_bytes == 2 * 16


def test_a_big_directory_is_not_fetched_for_a_few_changes() -> None:
    spec = ImageSpec(
        layers=[[d("usr"), f("usr/big", b"B" * 13_000_000), f("usr/a", b"1"), f("usr/b", b"1")]]
    )
    image, _ = pipeline(docker_archive(spec))
    archive = FakeArchive(
        [d("usr"), f("usr/big", b"B" * 13_000_000), f("usr/a", b"22"), f("usr/b", b"22")]
    )
    layer = build_container_layer(
        [("/usr", 0), ("/usr/a", 0), ("/usr/b", 0)], archive, image.final_state()
    )
    assert sorted(archive.fetched) == ["/usr/a", "/usr/b"]
    assert layer.copied_up_bytes == 4
