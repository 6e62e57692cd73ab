"""A test image with long and deep paths, long link targets and many history steps.

Used by the explorer's readability and visibility tests and by ``scripts/screenshots.py``.
"""

from __future__ import annotations

from pathlib import Path

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.sources import open_image
from tests.image_builder import ImageSpec, Step, d, docker_archive, f, hard, sym

DEEP_DIRS = [f"level{depth:02d}" for depth in range(1, 12)]
"""Eleven directories: the file inside them is at depth 12 (row depth 11)."""
DEEP_FILE = "/" + "/".join([*DEEP_DIRS, "the-file-at-depth-twelve.conf"])
LONG_NAME = "a-remarkably-long-file-name-that-no-pane-can-show-in-full-" + "x" * 60 + ".txt"
LONG_FILE = f"/srv/{LONG_NAME}"
LINK = "/srv/link-to-the-long-file"
LINK_TARGET = "/srv/" + LONG_NAME
HARDLINK = "/srv/hardlink-to-the-long-file"


def long_path_spec() -> ImageSpec:
    """The image: a base layer with many files (so trees scroll), deep and long paths and
    links to them, then a layer changing a few of them, then one adding more."""
    base = [d("etc"), *[f(f"etc/conf-{i:03d}.conf", "x" * (i + 1)) for i in range(60)]]
    base += [d("/".join(DEEP_DIRS[: n + 1])) for n in range(len(DEEP_DIRS))]
    base += [f(DEEP_FILE.lstrip("/"), "deep"), d("srv"), f(LONG_FILE.lstrip("/"), "long")]
    base += [sym(LINK.lstrip("/"), LINK_TARGET), hard(HARDLINK.lstrip("/"), LONG_FILE.lstrip("/"))]
    base += [d("usr"), *[f(f"usr/file-{i:03d}", "y" * i) for i in range(60)]]
    second = [d("etc"), f("etc/conf-059.conf", "changed"), f(DEEP_FILE.lstrip("/"), "deeper")]
    third = [d("opt"), *[f(f"opt/extra-{i:02d}", "z") for i in range(30)]]
    history = [
        Step("/bin/sh -c #(nop) ADD file:base in /"),
        Step("/bin/sh -c #(nop)  ENV A=1", empty_layer=True),
        Step("/bin/sh -c echo changed > /etc/conf-059.conf"),
        Step("/bin/sh -c #(nop)  ENV B=2", empty_layer=True),
        Step("/bin/sh -c #(nop)  ENV C=3", empty_layer=True),
        Step("/bin/sh -c #(nop)  ENV D=4", empty_layer=True),
        Step("/bin/sh -c #(nop)  ENV E=5", empty_layer=True),
        Step("/bin/sh -c #(nop)  ENV F=6", empty_layer=True),
        Step("/bin/sh -c mkdir /opt && touch /opt/extra-*"),
    ]
    return ImageSpec(layers=[base, second, third], history=history, tags=["long/paths:latest"])


def long_path_analysis(tmp_dir: Path) -> Analysis:
    """Write the long-path image into ``tmp_dir`` and analyse it."""
    path = tmp_dir / "long-paths.tar"
    path.write_bytes(docker_archive(long_path_spec()))
    return analyse(open_image(str(path), source="docker-archive"))
