"""A small image with three repo tags and a base layer without a command (issue 11), with or
without the ``org.opencontainers.image.base.name`` label: what the Layers pane's base-layer
label and the Image Details' tags are shown on."""

from __future__ import annotations

from pathlib import Path

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.base_image import BASE_NAME_LABEL
from dive_py.domain.sources import open_image
from tests.image_builder import ImageSpec, Step, d, docker_archive, f

TAGS = [
    "registry.example.com/team/web-frontend:1.4.2",
    "registry.example.com/team/web-frontend:latest",
    "web-frontend:dev",
]
BASE_NAME = "docker.io/library/alpine:3.19"


def tagged_analysis(tmp_path: Path, *, labelled: bool) -> Analysis:
    """Analyse the image (written into ``tmp_path``); ``labelled``: with the base-name label."""
    spec = ImageSpec(
        layers=[
            [d("bin"), f("bin/sh", "#!" + "x" * 900), d("etc"), f("etc/os-release", "alpine")],
            [d("app"), f("app/index.html", "<html>" + "y" * 2000)],
            [d("app"), f("app/index.html", "<html>" + "z" * 2400), f("app/app.js", "js")],
        ],
        history=[
            Step(""),
            Step('/bin/sh -c #(nop)  CMD ["sh"]', empty_layer=True),
            Step("COPY site/ /app/ # buildkit"),
            Step("RUN /bin/sh -c build-site # buildkit"),
        ],
        tags=TAGS,
        labels={BASE_NAME_LABEL: BASE_NAME} if labelled else None,
    )
    path = tmp_path / ("labelled.tar" if labelled else "plain.tar")
    path.write_bytes(docker_archive(spec))
    return analyse(open_image(str(path), source="docker-archive"))
