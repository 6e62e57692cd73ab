"""divepy's final tree against the file system the engine makes of the same layers (issue 12).

Each crafted archive is loaded into the engine; ``docker export`` of a container created from
it shows the final file system the engine (overlay2, or containerd's snapshotter) applied,
which divepy's stacked state of the same archive must equal: hardlinks to symlinks, whiteouts
and opaque markers under a path a lower layer made a symlink, a whiteout whose parents do
not exist. (Layers the engine refuses, such as the same path twice or a hardlink to a lower
layer's file, are covered by ``tests/domain/test_tar_semantics.py`` only.)
"""

from __future__ import annotations

import io
import tarfile

import pytest

from dive_py.domain.entry import EntryType
from tests.conftest import Engine
from tests.hostile.helpers import pipeline
from tests.image_builder import E, ImageSpec, d, docker_archive, f, hard, opaque, sym, wh
from tests.stacking_oracle import final_state

_BASE = [
    d("usr"),
    d("usr/lib"),
    f("usr/lib/libold.so", "old"),
    f("usr/lib/libkeep.so", "keep"),
    sym("lib", "usr/lib"),
    d("a"),
    d("a/c"),
    f("a/c/f", "ff"),
    sym("b", "a"),
    f("t", "tt"),
    sym("s", "t"),
    hard("h", "s"),
    hard("h2", "h"),
]
CASES = {
    "hardlinks": [_BASE],
    "whiteout-under-symlink": [_BASE, [wh("lib/libold.so")]],
    "opaque-under-symlink": [_BASE, [opaque("lib")]],
    "opaque-below-symlinked-parent": [_BASE, [opaque("b/c")]],
    "whiteout-without-parents": [_BASE, [wh("q/y/z")]],
}
_ENGINE_MADE = {"dev", "etc", "proc", "sys", ".dockerenv"}
"""Top-level paths the engine adds to every container (absent from these images)."""

Listing = dict[str, tuple[str, int, str]]


def _engine_listing(export: bytes) -> Listing:
    """Path -> (kind, bytes, symlink target) of an exported container (hardlinks resolved)."""
    with tarfile.open(fileobj=io.BytesIO(export)) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
    out: Listing = {}
    for name, member in members.items():
        if not name or name.split("/", 1)[0] in _ENGINE_MADE:
            continue
        while member.islnk():  # a second name of an inode the export wrote first
            member = members[member.linkname.rstrip("/")]
        kind = "dir" if member.isdir() else "symlink" if member.issym() else "file"
        out[name] = (kind, member.size if kind == "file" else 0, member.linkname)
    return out


def _divepy_listing(archive: bytes) -> Listing:
    analysis, _text = pipeline(archive)
    out: Listing = {}
    for node in final_state(analysis).root.walk():
        entry = node.entry
        if node.parent is None or entry is None:
            continue
        if entry.type is EntryType.DIR:
            out[node.path.lstrip("/")] = ("dir", 0, "")
        elif entry.type is EntryType.SYMLINK:
            out[node.path.lstrip("/")] = ("symlink", 0, entry.linkname)
        else:
            data = entry.data
            out[node.path.lstrip("/")] = ("file", data.size if data is not None else -1, "")
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_final_tree_is_what_the_engine_makes(engine: Engine, case: str) -> None:
    tag = f"divepy-test/tar-semantics-{case}:{engine.name}"
    layers: list[list[E]] = CASES[case]
    archive = docker_archive(ImageSpec(layers=layers, tags=[tag]))
    client = engine.client(timeout=300)
    container = None
    try:
        client.images.load(archive)
        container = client.containers.create(tag)
        export = b"".join(container.export())
        assert _divepy_listing(archive) == _engine_listing(export)
    finally:
        if container is not None:
            container.remove(force=True)
        client.images.remove(tag, force=True)
        client.close()
