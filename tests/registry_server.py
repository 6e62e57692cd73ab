"""A small OCI distribution server on 127.0.0.1 for tests: manifests, blobs, auth and failures.

Speaks the parts of the distribution spec divepy reads (``GET /v2/``, manifests, blobs), with
optional basic or bearer-token auth (the token server is on the same port, ``/token``) and
knobs for failures: missing blobs, blobs served with other bytes, a blob that stalls, a
redirect loop, a 401 whatever the credentials. Also pushes images into a real registry
(:func:`push_image`), the monolithic upload of the spec, without an engine, and starts a real
one (Debian's ``docker-registry``) that wants htpasswd credentials
(:func:`htpasswd_registry`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.image_builder import ImageSpec, image_blobs

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeRegistry:
    """What the server holds and how it misbehaves (change the fields while it runs)."""

    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # "repo:ref" -> …
    blobs: dict[str, bytes] = field(default_factory=dict)
    auth: str = ""  # "", "basic" or "bearer"
    user: str = "someone"
    password: str = "secret"
    missing: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)
    redirect_loop: bool = False
    refuse_all: bool = False  # 401 even with valid credentials
    blob_gets: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add_image(
        self, repo: str, tag: str, spec: ImageSpec, compression: str = "gzip"
    ) -> dict[str, Any]:
        """Store ``spec`` as ``repo:tag``; return its manifest descriptor."""
        config, _tars, stored = image_blobs(spec, compression)
        media = GZIP_LAYER if compression == "gzip" else "application/vnd.oci.image.layer.v1.tar"
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha(config),
                    "size": len(config),
                },
                "layers": [{"mediaType": media, "digest": sha(b), "size": len(b)} for b in stored],
            }
        ).encode()
        for blob in (config, *stored):
            self.blobs[sha(blob)] = blob
        self.manifests[f"{repo}:{tag}"] = (OCI_MANIFEST, manifest)
        self.manifests[f"{repo}:{sha(manifest)}"] = (OCI_MANIFEST, manifest)
        return {
            "mediaType": OCI_MANIFEST,
            "digest": sha(manifest),
            "size": len(manifest),
            "platform": {
                "os": spec.os,
                "architecture": spec.architecture,
                **({"variant": spec.variant} if spec.variant else {}),
            },
        }

    def add_index(self, repo: str, tag: str, descriptors: Sequence[dict[str, Any]]) -> None:
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(descriptors)}
        ).encode()
        self.manifests[f"{repo}:{tag}"] = (OCI_INDEX, index)


def _handler(state: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(
            self, code: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            good_basic = (
                "Basic " + base64.b64encode(f"{state.user}:{state.password}".encode()).decode()
            )
            if state.refuse_all:
                ok = False
            elif state.auth == "basic":
                ok = header == good_basic
            elif state.auth == "bearer":
                ok = header == "Bearer good-token"
            else:
                ok = True
            if ok:
                return True
            challenge = (
                'Basic realm="fake"'
                if state.auth == "basic"
                else f'Bearer realm="http://{state.host}/token",service="fake"'
            )
            self._send(401, b'{"errors":[]}', {"WWW-Authenticate": challenge})
            return False

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path, _, query = self.path.partition("?")
            if path == "/token":
                good = (
                    "Basic " + base64.b64encode(f"{state.user}:{state.password}".encode()).decode()
                )
                if self.headers.get("Authorization") != good or "scope=repository" not in query:
                    self._send(401, b"{}")
                    return
                self._send(200, json.dumps({"token": "good-token"}).encode())
                return
            if not self._authorised():
                return
            if path == "/v2/":
                self._send(200, b"{}")
                return
            if path.startswith("/redirect/"):
                self._send(307, b"", {"Location": path})
                return
            rest = path[len("/v2/") :]
            if "/manifests/" in rest:
                repo, _, ref = rest.partition("/manifests/")
                found = state.manifests.get(f"{repo}:{ref}")
                if found is None:
                    self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                    return
                media, body = found
                self._send(200, body, {"Content-Type": media, "Docker-Content-Digest": sha(body)})
                return
            if "/blobs/" in rest:
                digest = rest.partition("/blobs/")[2]
                state.blob_gets.append(digest)
                if state.redirect_loop:
                    self._send(307, b"", {"Location": f"/redirect/{digest}"})
                    return
                blob = state.blobs.get(digest)
                if blob is None or digest in state.missing:
                    self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
                    return
                if digest in state.corrupt:
                    blob = blob[:-1] + bytes([blob[-1] ^ 1])
                if digest in state.stall:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(blob)))
                    self.end_headers()
                    self.wfile.write(blob[: len(blob) // 2])
                    self.wfile.flush()
                    state.release.wait(30)  # silent until the test ends
                    return
                self._send(200, blob, {"Content-Type": "application/octet-stream"})
                return
            self._send(404, b"{}")

    return Handler


@contextmanager
def fake_registry(state: FakeRegistry | None = None) -> Iterator[FakeRegistry]:
    """Serve ``state`` on 127.0.0.1 (a free port) for the ``with`` block."""
    state = state or FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def push_image(
    host: str,
    repo: str,
    tag: str,
    spec: ImageSpec,
    auth: tuple[str, str] | None = None,
    compression: str = "gzip",
) -> dict[str, Any]:
    """Push ``spec`` to a real registry at ``host`` over plain HTTP (monolithic uploads);
    return its manifest descriptor (with platform)."""
    fake = FakeRegistry()
    descriptor = fake.add_image(repo, tag, spec, compression)
    session = requests.Session()
    session.auth = auth
    base = f"http://{host}/v2/{repo}"
    for digest, blob in fake.blobs.items():
        started = session.post(f"{base}/blobs/uploads/", timeout=30)
        started.raise_for_status()
        location = started.headers["Location"]
        joiner = "&" if "?" in location else "?"
        url = location if location.startswith("http") else f"http://{host}{location}"
        done = session.put(
            f"{url}{joiner}digest={digest}",
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        done.raise_for_status()
    media, manifest = fake.manifests[f"{repo}:{tag}"]
    session.put(
        f"{base}/manifests/{tag}", data=manifest, headers={"Content-Type": media}, timeout=30
    ).raise_for_status()
    return descriptor


def push_index(host: str, repo: str, tag: str, descriptors: Sequence[dict[str, Any]]) -> None:
    """Push an OCI image index listing ``descriptors`` as ``repo:tag``."""
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(descriptors)}
    ).encode()
    requests.put(
        f"http://{host}/v2/{repo}/manifests/{tag}",
        data=index,
        headers={"Content-Type": OCI_INDEX},
        timeout=30,
    ).raise_for_status()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def htpasswd_registry(work: Path, user: str = "someone", password: str = "secret") -> Iterator[str]:
    """Run Debian's ``docker-registry`` on 127.0.0.1 (a free port) wanting htpasswd (basic)
    auth for ``user``/``password``, its storage, config and log under ``work``; yield its
    ``HOST:PORT`` and stop it after the ``with`` block.

    Skips the test when ``docker-registry`` or ``htpasswd`` (apache2-utils) is missing; fails
    it when the registry does not answer ``/v2/`` with a 401 within 20 s.
    """
    registry_bin = shutil.which("docker-registry")
    htpasswd = shutil.which("htpasswd")
    if not registry_bin or not htpasswd:
        pytest.skip(
            f"!!! NOT TESTED: needs docker-registry and htpasswd (apache2-utils); "
            f"found {registry_bin}, {htpasswd}"
        )
    users = subprocess.run(
        [htpasswd, "-Bbn", user, password], capture_output=True, text=True, check=True
    ).stdout
    (work / "htpasswd").write_text(users)
    port = free_port()
    (work / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {work / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n  htpasswd:\n    realm: r\n    path: {work / 'htpasswd'}\n"
    )
    with open(work / "log", "wb") as log:
        child = subprocess.Popen(
            [registry_bin, "serve", str(work / "config.yml")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                    pytest.fail("the auth registry answered /v2/ without credentials")
                except urllib.error.HTTPError as exc:
                    if exc.code == 401:
                        break
                except OSError:
                    pass
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"auth registry did not come up: {(work / 'log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
