"""Provides :func:`write_demo_archive`: a small, deterministic sample image for ``divepy --demo``.

It mirrors the classic python-hello-world Dockerfile so that the explorer has something real
to show without a Docker engine::

    FROM python:3-alpine            # layer 0: a small base file system
    WORKDIR /app                    # layer 1
    COPY requirements.txt .         # layer 2
    RUN pip install -r requirements.txt   # layer 3: packages, a pip cache, a rewritten file
    RUN rm -rf /root/.cache         # layer 4: deletes the cache (its bytes stay in layer 3)
    CMD ["python", "app.py"]        # no layer
    COPY app.py .                   # layer 5

The archive uses the legacy ``docker save`` layout and is written atomically to divepy's
cache directory (platformdirs); the same bytes every time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable

from dive_py.atomic_file import write_atomically

DEMO_NAME = "python-hello-world-demo.tar"
_MTIME = 1_700_000_000

DemoEntry = tuple[str, str, bytes | int | str | None]
"""One member of a demo layer: (path, kind, value). Kinds: ``dir`` (value None), ``link``
(value: the target), ``file`` and ``exe`` (value: the bytes, or a size in bytes of
deterministic filler)."""


def _payload(name: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes (sha256 stream of ``name``)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _layer(entries: Iterable[DemoEntry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, value in entries:
            info = tarfile.TarInfo(path)
            info.mtime = _MTIME
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "link":
                info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, str(value)
                tar.addfile(info)
            else:
                if isinstance(value, bytes):
                    data = value
                elif isinstance(value, int):
                    data = _payload(path, value)
                else:
                    raise TypeError(f"demo file {path}: give its bytes or its size, not {value!r}")
                info.mode = 0o755 if kind == "exe" else 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _base() -> list[DemoEntry]:
    entries: list[DemoEntry] = [("bin", "dir", None), ("bin/busybox", "exe", 820_000)]
    for applet in ("sh", "ls", "cat", "cp", "mv", "rm", "mkdir", "echo", "grep", "sed", "tar"):
        entries.append((f"bin/{applet}", "link", "/bin/busybox"))
    entries += [
        ("etc", "dir", None),
        ("etc/os-release", "file", b'NAME="Alpine Linux"\nID=alpine\n'),
        ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
        ("lib", "dir", None),
        ("lib/ld-musl-x86_64.so.1", "exe", 600_000),
        ("root", "dir", None),
        ("tmp", "dir", None),
        ("usr", "dir", None),
        ("usr/local", "dir", None),
        ("usr/local/bin", "dir", None),
        ("usr/local/bin/python3", "exe", 14_000),
        ("usr/local/bin/python", "link", "python3"),
        ("usr/local/bin/pip", "exe", 230),
        ("usr/local/lib", "dir", None),
        ("usr/local/lib/libpython3.12.so.1.0", "exe", 4_200_000),
        ("usr/local/lib/python3.12", "dir", None),
    ]
    for module in ("os", "re", "json", "typing", "pathlib", "asyncio", "email", "http", "logging"):
        entries.append(
            (f"usr/local/lib/python3.12/{module}.py", "file", 30_000 + 997 * len(module))
        )
    entries += [
        ("usr/local/lib/python3.12/site-packages", "dir", None),
        (
            "usr/local/lib/python3.12/site-packages/README.txt",
            "file",
            b"This directory exists so that 3rd party packages can be installed here.\n",
        ),
    ]
    return entries


def _pip_install() -> list[DemoEntry]:
    site = "usr/local/lib/python3.12/site-packages"
    entries: list[DemoEntry] = [
        ("usr", "dir", None),
        ("usr/local", "dir", None),
        ("usr/local/bin", "dir", None),
        ("usr/local/bin/flask", "exe", 220),
        ("usr/local/bin/pip", "exe", 231),  # pip rewrites itself
        ("usr/local/lib", "dir", None),
        ("usr/local/lib/python3.12", "dir", None),
        (site, "dir", None),
    ]
    packages = {
        "flask": 12,
        "werkzeug": 20,
        "jinja2": 14,
        "markupsafe": 4,
        "itsdangerous": 5,
        "click": 10,
        "blinker": 3,
    }
    for package, count in packages.items():
        entries.append((f"{site}/{package}", "dir", None))
        for n in range(count):
            entries.append((f"{site}/{package}/module{n}.py", "file", 4_000 + 1_531 * n))
        entries.append((f"{site}/{package}/__pycache__", "dir", None))
        for n in range(count):
            entries.append(
                (
                    f"{site}/{package}/__pycache__/module{n}.cpython-312.pyc",
                    "file",
                    3_000 + 1_201 * n,
                )
            )
    entries += [
        ("root", "dir", None),
        ("root/.cache", "dir", None),
        ("root/.cache/pip", "dir", None),
        ("root/.cache/pip/http", "dir", None),
    ]
    for n in range(6):
        entries.append((f"root/.cache/pip/http/wheel-{n}.whl", "file", 150_000 + 40_000 * n))
    return entries


def demo_archive_bytes() -> bytes:
    """Return the demo image as ``docker save`` (legacy layout) bytes; identical on every call."""
    layers = [
        ("FROM python:3-alpine", _layer(_base())),
        ("WORKDIR /app", _layer([("app", "dir", None)])),
        (
            "COPY requirements.txt .",
            _layer([("app", "dir", None), ("app/requirements.txt", "file", b"flask==3.0.3\n")]),
        ),
        ("RUN pip install -r requirements.txt", _layer(_pip_install())),
        (
            "RUN rm -rf /root/.cache",
            _layer([("root", "dir", None), ("root/.wh..cache", "file", b"")]),
        ),
        (
            "COPY app.py .",
            _layer(
                [
                    ("app", "dir", None),
                    (
                        "app/app.py",
                        "file",
                        b"from flask import Flask\napp = Flask(__name__)\n\n"
                        b"@app.route('/')\ndef hello():\n    return 'Hello, World!'\n\n"
                        b"if __name__ == '__main__':\n    app.run(host='0.0.0.0')\n",
                    ),
                ]
            ),
        ),
    ]
    history: list[dict[str, str | bool]] = []
    for command, _blob in layers:
        if command.startswith("RUN "):
            created_by = "/bin/sh -c " + command[4:]
        elif command.startswith("FROM "):
            created_by = "/bin/sh -c #(nop) ADD file:4b2e9d0e1c3a in / "
        else:
            created_by = "/bin/sh -c #(nop) " + command
        history.append({"created": "2024-05-01T12:00:00Z", "created_by": created_by})
        if command.startswith("RUN rm"):
            history.append(
                {
                    "created": "2024-05-01T12:00:00Z",
                    "created_by": '/bin/sh -c #(nop)  CMD ["python" "app.py"]',
                    "empty_layer": True,
                }
            )
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["python", "app.py"], "WorkingDir": "/app"},
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(b).hexdigest() for _c, b in layers],
        },
        "history": history,
    }
    config_bytes = json.dumps(config, indent=None, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        names = []
        for index, (_command, blob) in enumerate(layers):
            layer_id = hashlib.sha256(f"demo-{index}".encode() + blob).hexdigest()
            name = f"{layer_id}/layer.tar"
            names.append(name)
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(blob), _MTIME
            tar.addfile(info, io.BytesIO(blob))
        for name, data in (
            (config_name, config_bytes),
            (
                "manifest.json",
                json.dumps(
                    [
                        {
                            "Config": config_name,
                            "RepoTags": ["python-hello-world:demo"],
                            "Layers": names,
                        }
                    ]
                ).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), _MTIME
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_demo_archive(directory: str | None = None) -> str:
    """Write the demo archive (once; reused when already there) and return its path.

    Args:
        directory: where to write it; default divepy's user cache directory.

    Raises:
        OutputError: the directory cannot be created or written.
    """
    import platformdirs

    from dive_py.errors import OutputError

    directory = directory or platformdirs.user_cache_dir("divepy")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create {directory}: {exc.strerror}",
            "set XDG_CACHE_HOME to a writable directory",
        ) from None
    path = os.path.join(directory, DEMO_NAME)
    data = demo_archive_bytes()
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return path
    except OSError:
        pass
    write_atomically(path, data)
    return path
