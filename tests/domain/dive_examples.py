"""The images of dive-reference.md §6 as layer entry lists, with the figures dive 0.13.1 printed.

The layer contents mirror what Docker's classic builder writes for each RUN step (every
changed path's parent directories are spelled out), on a busybox base of a 1,982,256-byte
``/bin/busybox`` and 11 symlinks.
"""

from __future__ import annotations

from tests.image_builder import E, Step, d, f, hard, sym, wh

BUSYBOX_BYTES = 1_982_256
APPLETS = ["cat", "chmod", "cp", "dd", "echo", "ls", "mkdir", "mv", "rm", "sh", "touch"]


def busybox_base() -> list[E]:
    return [
        d("bin"),
        f("bin/busybox", b"\0" * BUSYBOX_BYTES, 0o755),
        *[sym(f"bin/{a}", "busybox") for a in APPLETS],
    ]


def spec_a() -> list[list[E]]:
    return [
        busybox_base(),
        [
            d("data"),
            f("data/f1", b"\0" * 1000),
            f("data/keep.txt", "hi\n"),
            d("data/sub"),
            f("data/sub/f2", b"\0" * 2000),
            d("e"),
        ],
        [d("data"), f("data/f1", b"\1" * 1500)],
        [d("data"), wh("data/sub")],
        [d("data"), f("data/keep.txt", "hi\n", mode=0o600), d("e")],
        [
            d("data"),
            f("data/h1", "content\n"),
            hard("data/h2", "data/h1"),
            sym("data/link", "/data/keep.txt"),
            d("empty1"),
        ],
        [d("data"), wh("data/f1")],
    ]


SPEC_A = {
    "sizeBytes": 1_986_770 - 1_982_256 + BUSYBOX_BYTES,
    "wastedBytes": 2506,
    "efficiency": 0.998741433147121,
    "userWastedPercent": 0.5551617190961453,
    "inefficient": [("/data/f1", 3, 2500), ("/data/keep.txt", 2, 6), ("/e", 2, 0)],
}


def layers_of_testimg(dockerfile_bytes: int = 192) -> list[list[E]]:
    return [
        busybox_base(),
        [d("app"), f("app/a.txt", "hello\n")],
        [d("app"), f("app/big", b"\0" * 512_000)],
        [d("app"), wh("app/big")],
        [f("Dockerfile", b"#" * dockerfile_bytes)],
        [d("app"), f("app/a.txt", "changed\n")],
    ]


TESTIMG = {
    "sizeBytes": 2_494_462,
    "wastedBytes": 512_014,
    "efficiency": 0.7947421127281153,
    "userWastedPercent": 0.9996251508182254,
    "inefficient": [("/app/big", 2, 512_000), ("/app/a.txt", 2, 14)],
}

TESTIMG_HISTORY = [
    Step("/bin/sh -c #(nop) ADD file:abc in / "),
    Step('/bin/sh -c #(nop)  CMD ["sh"]', empty_layer=True),
    Step("/bin/sh -c mkdir /app && echo hello > /app/a.txt"),
    Step("/bin/sh -c dd if=/dev/zero of=/app/big bs=1024 count=500"),
    Step("/bin/sh -c rm /app/big"),
    Step("/bin/sh -c #(nop) COPY file:93935952280e in /Dockerfile "),
    Step("/bin/sh -c echo changed > /app/a.txt"),
]
