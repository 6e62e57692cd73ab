"""Provides :func:`parse_registry_reference`: ``HOST[:PORT]/REPO[:TAG][@DIGEST]`` taken apart.

The grammar is the docker CLI's (distribution's ``reference`` package): the first ``/``-part
is a registry host when it holds a ``.`` or a ``:`` or is ``localhost``; otherwise the host is
Docker Hub (``docker.io``), whose API lives at ``registry-1.docker.io`` and whose single-word
repositories sit under ``library/``. Without a tag or digest the tag is ``latest``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from dive_py.errors import UsageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
"""The key ``docker login`` stores Docker Hub credentials under in ``config.json``."""

_REPO_PART = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


@dataclass(frozen=True, slots=True)
class RegistryReference:
    """One image in a registry.

    Attributes:
        host: the registry as named (``"127.0.0.1:5000"``, ``"docker.io"``).
        repository: the repository path (``"library/alpine"``).
        tag: the tag, ``""`` when only a digest was given.
        digest: ``"sha256:…"`` when given, else ``""``.
    """

    host: str
    repository: str
    tag: str
    digest: str

    @property
    def api_host(self) -> str:
        """The host the distribution API is reached at (Docker Hub's is not ``docker.io``)."""
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def manifest_reference(self) -> str:
        """What ``GET /v2/NAME/manifests/REF`` takes: the digest when given, else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``), with or
    without a port: the hosts the docker CLI talks plain HTTP to without configuration."""
    name = host
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_registry_reference(text: str) -> RegistryReference:
    """Parse ``HOST[:PORT]/REPO[:TAG][@sha256:HEX]`` (the ``registry://`` prefix already gone).

    Raises:
        UsageError: an empty or malformed reference (bad repository, tag or digest).
    """
    rest = text.strip()
    hint = "write it as registry://HOST[:PORT]/REPOSITORY[:TAG] or …@sha256:DIGEST"
    if not rest:
        raise UsageError("no registry image named", hint)
    digest = ""
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not _DIGEST.match(digest):
            raise UsageError(f"bad digest {digest!r} in registry reference {text!r}", hint)
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, path = first, remainder
    else:
        host, path = DOCKER_HUB, rest
    tag = ""
    last = path.rpartition("/")[2]
    if ":" in last:
        path, _, tag = path.rpartition(":")
        if not _TAG.match(tag):
            raise UsageError(f"bad tag {tag!r} in registry reference {text!r}", hint)
    if not path or not all(_REPO_PART.match(part) for part in path.split("/")):
        raise UsageError(f"bad repository name {path!r} in registry reference {text!r}", hint)
    if host == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not tag and not digest:
        tag = "latest"
    return RegistryReference(host, path, tag, digest)
