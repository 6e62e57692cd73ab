"""Two releases of a small app on one base layer, for the diff explorer's tests and screenshot.

A (``app:1``): the base, the app, and a cache layer. B (``app:2``): the same base layer
(shared), then the app changed: ``main.py`` edited (a text diff), ``settings.ini`` only
chmodded (metadata), ``logo.png`` replaced (binary), ``data.bin`` gone, ``README.txt`` new,
and no cache layer (its directory removed).
"""

from __future__ import annotations

from pathlib import Path

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.sources import open_image
from tests.image_builder import E, ImageSpec, Step, d, docker_archive, f, sym, wh

PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0\0\0\x10\0\0\0\x10" + b"\x08\x06\0\0\0"

BASE = [
    d("etc"),
    f("etc/os-release", "ID=alpine\nVERSION_ID=3.20.0\n"),
    d("bin"),
    f("bin/busybox", b"\x7fELF" + b"b" * 8000, 0o755),
    sym("bin/sh", "/bin/busybox"),
    d("usr/lib"),
    f("usr/lib/libc.so", b"\x7fELF" + b"c" * 12000, 0o755),
]
MAIN_1 = (
    "import sys\n\n\ndef main() -> int:\n    print('hello')\n    return 0\n\n\nsys.exit(main())\n"
)
MAIN_2 = (
    "import sys\n\n\ndef main() -> int:\n    name = sys.argv[1] if len(sys.argv) > 1 else 'world'\n"
    "    print(f'hello, {name}')\n    return 0\n\n\nsys.exit(main())\n"
)
APP_1 = [
    f("app/main.py", MAIN_1),
    f("app/settings.ini", "[server]\nport = 8080\n"),
    f("app/logo.png", PNG + b"1" * 300),
    f("app/data.bin", b"\0" * 2048),
    sym("app/current", "main.py"),
]
APP_2 = [
    f("app/main.py", MAIN_2),
    f("app/settings.ini", "[server]\nport = 8080\n", 0o600),
    f("app/logo.png", PNG + b"2" * 420),
    f("app/README.txt", "Run: python main.py NAME\n"),
    sym("app/current", "main.py"),
]
CACHE = [f("root/.cache/pip/wheel.whl", b"w" * 5000)]

A_NAME, B_NAME = "app:1", "app:2"
STEPS = {
    id(BASE): "/bin/sh -c #(nop) ADD file:5b1e0c2ad9e3 in / ",
    id(APP_1): "/bin/sh -c #(nop) COPY dir:3f09a1c7 in /app ",
    id(APP_2): "/bin/sh -c #(nop) COPY dir:8d4e2b61 in /app ",
    id(CACHE): "/bin/sh -c pip install --user wheel",
}


def _analysis(tmp_path: Path, name: str, layers: list[list[E]]) -> Analysis:
    path = tmp_path / f"{name}.tar"
    steps = [Step(STEPS.get(id(layer), "/bin/sh -c true")) for layer in layers]
    path.write_bytes(docker_archive(ImageSpec(layers=layers, history=steps)))
    return analyse(open_image(str(path), source="docker-archive"))


def diff_pair(tmp_path: Path) -> tuple[Analysis, Analysis]:
    """Images A and B (see the module's description), analysed from archives in ``tmp_path``."""
    return (
        _analysis(tmp_path, "app-1", [BASE, APP_1, CACHE]),
        _analysis(tmp_path, "app-2", [BASE, APP_2]),
    )


def same_pair(tmp_path: Path) -> tuple[Analysis, Analysis]:
    """Two images with identical final file systems (B deletes what it added on top)."""
    return (
        _analysis(tmp_path, "same-1", [BASE, APP_1]),
        _analysis(tmp_path, "same-2", [BASE, [*APP_1, f("tmp/x", "x")], [wh("tmp")]]),
    )
