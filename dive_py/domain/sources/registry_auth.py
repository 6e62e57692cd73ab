"""Provides :func:`find_credentials`: a registry's user name and secret, found as the docker CLI does.

Docker CLI (``cli/config/configfile``): ``$DOCKER_CONFIG/config.json``, else
``~/.docker/config.json``. For a registry host, ``credHelpers[host]`` names a helper program
``docker-credential-NAME``; else ``credsStore`` names one for every registry; else
``auths[host].auth`` holds base64 ``user:password`` (or ``username``/``password`` fields;
``identitytoken`` is an OAuth refresh token, sent to the token server). A helper is run as
``docker-credential-NAME get`` with the server URL on stdin and prints
``{"Username", "Secret"}`` (docker-credential-helpers' protocol); a ``Username`` of
``<token>`` means the secret is an identity token. Docker Hub's credentials are stored under
``https://index.docker.io/v1/``.

Nothing here ever prints or logs a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dive_py.domain.sources.registry_reference import DOCKER_HUB, DOCKER_HUB_AUTH_KEY
from dive_py.errors import ImageError

_HELPER_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and secret for one registry (``identity_token`` for OAuth refresh tokens)."""

    username: str
    password: str = field(repr=False)
    identity_token: str = field(default="", repr=False)


def docker_config_path(env: Mapping[str, str]) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (``HOME`` from ``env``)."""
    directory = env.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker" / "config.json"


def _auth_keys(host: str) -> list[str]:
    if host == DOCKER_HUB:
        return [DOCKER_HUB_AUTH_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"{host}/v1/"]


def _from_helper(helper: str, server: str, env: Mapping[str, str]) -> Credentials | None:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=_HELPER_TIMEOUT_SECONDS,
            env=dict(env),
            check=False,
        )
    except FileNotFoundError:
        raise ImageError(
            f"credential helper {program} named in the docker config is not installed",
            "install it, or remove it from the docker config (credHelpers/credsStore)",
        ) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ImageError(
            f"credential helper {program} failed: {type(exc).__name__}",
            "run 'docker login' again, or check the helper",
        ) from None
    if done.returncode != 0:
        return None  # "credentials not found in native keychain": anonymous access
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise ImageError(
            f"credential helper {program} printed something that is not JSON",
            "check the helper",
        ) from None
    if not isinstance(answer, dict):
        return None
    username = str(answer.get("Username") or "")
    secret = str(answer.get("Secret") or "")  # never printed
    if not secret:
        return None
    if username == "<token>":
        return Credentials("", "", identity_token=secret)
    return Credentials(username, secret)


def _from_auths(entry: Any) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(str(entry.get("username") or ""), "", identity_token=token)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return Credentials(user, password) if sep else None
    name = entry.get("username")
    secret = entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None


def find_credentials(host: str, env: Mapping[str, str]) -> Credentials | None:
    """Return the stored credentials for registry ``host`` (as named: ``docker.io`` for Hub).

    Args:
        host: the registry host, with port when it has one.
        env: the environment (``DOCKER_CONFIG``, ``HOME``, ``PATH`` for helpers).

    Returns:
        The credentials, or None when none are stored (anonymous access).

    Raises:
        ImageError: the config names a credential helper that is missing or fails.
    """
    path = docker_config_path(env)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    keys = _auth_keys(host)
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        for key in keys:
            helper = helpers.get(key)
            if isinstance(helper, str) and helper:
                return _from_helper(helper, keys[0], env)
    auths = config.get("auths")
    auths = auths if isinstance(auths, dict) else {}
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, keys[0], env)
        if found is not None:
            return found
    for key in keys:
        found = _from_auths(auths.get(key))
        if found is not None:
            return found
    return None
