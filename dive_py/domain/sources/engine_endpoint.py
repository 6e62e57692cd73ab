"""Provides :func:`resolve_endpoint`: which Docker Engine API address to use, as the docker CLI picks it.

Order (docker CLI, cli/command/cli.go ``resolveContextName`` and opts/hosts.go ``ParseHost``):
``DOCKER_HOST`` when set; else the context named by ``DOCKER_CONTEXT``; else the
``currentContext`` of ``~/.docker/config.json`` (``DOCKER_CONFIG`` moves it); else
``unix:///var/run/docker.sock``. A host without a scheme is TCP (``localhost:2375`` ->
``tcp://localhost:2375``); a TCP host without a port gets 2375 (2376 with TLS). TLS comes from
``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` or from the context's TLS data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dive_py.errors import UsageError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Docker Engine API endpoint.

    Attributes:
        host: the address (``unix:///run/docker.sock``, ``tcp://10.0.0.2:2376``, ``ssh://u@h``).
        origin: where it came from, for error messages (``"DOCKER_HOST"``, ``"context ci"``,
            ``"default"``).
        tls: a ``docker.tls.TLSConfig`` or True/None, passed to the SDK client as ``tls``.
    """

    host: str
    origin: str
    tls: Any = None


def parse_host(value: str, tls: bool = False) -> str:
    """Normalise a ``DOCKER_HOST`` value the way the docker CLI does.

    Raises:
        UsageError: an unsupported scheme or an unparsable address.
    """
    text = value.strip()
    if not text:
        return DEFAULT_HOST
    if "://" not in text:
        text = "tcp://" + text
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        scheme = "tcp"
    if scheme not in ("tcp", "unix", "ssh", "npipe"):
        raise UsageError(
            f"DOCKER_HOST {value!r} has an unsupported scheme {scheme!r}",
            "use unix://PATH, tcp://HOST:PORT or ssh://USER@HOST",
        )
    if scheme == "tcp":
        parts = urlsplit("tcp://" + rest)
        host = parts.hostname or "localhost"
        try:
            port = parts.port or (2376 if tls else 2375)
        except ValueError:
            raise UsageError(
                f"DOCKER_HOST {value!r} has a bad port", "use tcp://HOST:PORT"
            ) from None
        if ":" in host:
            host = f"[{host}]"
        path = parts.path.rstrip("/")
        return f"tcp://{host}:{port}{path}"
    if scheme == "unix" and not rest:
        return DEFAULT_HOST
    return f"{scheme}://{rest}"


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("0", "false", "f", "no", "")


def resolve_endpoint(env: Mapping[str, str] | None = None) -> Endpoint:
    """Pick the engine endpoint from the environment and the docker CLI's context store.

    Args:
        env: the environment to read (``os.environ`` by default).

    Raises:
        UsageError: a malformed ``DOCKER_HOST`` or an unknown context name.
    """
    env = os.environ if env is None else env
    tls_verify = _truthy(env.get("DOCKER_TLS_VERIFY"))
    host = env.get("DOCKER_HOST", "")
    if host.strip():
        return Endpoint(parse_host(host, tls_verify), "DOCKER_HOST", _env_tls(env, tls_verify))
    context_name = env.get("DOCKER_CONTEXT", "").strip()
    origin = "DOCKER_CONTEXT"
    if not context_name:
        context_name = _current_context(env)
        origin = "docker config currentContext"
    if context_name and context_name != "default":
        host, tls = _read_context(env, context_name, origin)
        return Endpoint(parse_host(host, tls is not None), f"context {context_name}", tls)
    return Endpoint(DEFAULT_HOST, "default", _env_tls(env, tls_verify))


def _config_dir(env: Mapping[str, str]) -> str:
    return env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _read_context(env: Mapping[str, str], name: str, origin: str) -> tuple[str, Any]:
    """Read a context from the docker CLI's store (``contexts/meta/<sha256(name)>/meta.json``).

    Returns:
        (the docker endpoint's host, a ``docker.tls.TLSConfig`` or None).

    Raises:
        UsageError: the context does not exist or its metadata is unreadable.
    """
    import hashlib
    import json

    key = hashlib.sha256(name.encode()).hexdigest()
    base = os.path.join(_config_dir(env), "contexts")
    meta_path = os.path.join(base, "meta", key, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        endpoint = meta["Endpoints"]["docker"]
        host = endpoint.get("Host") or ""
    except FileNotFoundError:
        raise UsageError(
            f"docker context {name!r} (from {origin}) does not exist",
            "check 'docker context ls' or unset DOCKER_CONTEXT",
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"cannot read docker context {name!r}: {exc}",
            "check 'docker context inspect " + name + "'",
        ) from None
    tls_dir = os.path.join(base, "tls", key, "docker")
    tls = None
    if os.path.isdir(tls_dir) or endpoint.get("SkipTLSVerify"):
        from docker.tls import TLSConfig

        def part(file: str) -> str | None:
            path = os.path.join(tls_dir, file)
            return path if os.path.isfile(path) else None

        cert, key_file = part("cert.pem"), part("key.pem")
        tls = TLSConfig(
            client_cert=(cert, key_file) if cert and key_file else None,
            ca_cert=part("ca.pem"),
            verify=not endpoint.get("SkipTLSVerify"),
        )
    return str(host), tls


def _current_context(env: Mapping[str, str]) -> str:
    import json

    config_dir = _config_dir(env)
    try:
        with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as handle:
            value = json.load(handle).get("currentContext", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _env_tls(env: Mapping[str, str], verify: bool) -> Any:
    if not verify and not env.get("DOCKER_CERT_PATH"):
        return None
    from docker.utils import kwargs_from_env

    try:
        return kwargs_from_env(environment=dict(env)).get("tls")
    except Exception as exc:
        raise UsageError(
            f"bad Docker TLS settings: {exc}", "check DOCKER_CERT_PATH and DOCKER_TLS_VERIFY"
        ) from None
