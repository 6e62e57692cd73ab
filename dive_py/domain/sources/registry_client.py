"""Provides :class:`RegistryClient`: the few calls of the OCI distribution API divepy needs.

Choice of client: the ``requests`` session the Docker SDK already brings (a dependency
today), not a registry library. oras-py and python-dxf were considered: both wrap the same
``requests`` calls, neither streams a blob into a caller's parser with its digest checked on
the fly (python-dxf downloads into an iterator but handles auth its own way, oras-py writes
blobs to files), and each would add a dependency for three GET requests. ``requests`` gives
what matters: the system CA store (through ``certifi``, or ``REQUESTS_CA_BUNDLE``), proxies
from the environment, redirects (its ``Authorization`` header is dropped when a redirect
leaves the host, as the distribution spec asks for blob storage URLs), connect and read
timeouts.

Calls (OCI distribution spec, spec.md): ``GET /v2/NAME/manifests/REF`` with the ``Accept``
header listing the OCI index, OCI manifest, Docker manifest list and Docker schema 2 types,
and ``GET /v2/NAME/blobs/DIGEST``. Authentication as the docker CLI does it: a ``401`` with
``WWW-Authenticate: Bearer realm=…,service=…`` asks the realm for a token with scope
``repository:NAME:pull`` (stored credentials sent as basic auth, or an identity token as an
OAuth refresh token), ``Basic`` sends the stored credentials. Scheme: HTTPS; plain HTTP only
for loopback hosts and the hosts given as insecure (tried after HTTPS fails, as docker does;
once per host in a process, see :data:`PLAIN_HTTP_HOSTS`).

Failures are one-line :class:`~dive_py.errors.ImageError` (exit 3): a ``401``/``403`` once
credentials were sent, a ``404`` manifest or blob, a redirect loop, a digest that does not
match the bytes, and a registry that does not answer or stalls (read timeout) after
:data:`ATTEMPTS` tries. Nothing here ever waits without a timeout.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
import urllib3.exceptions

from dive_py.domain.sources.registry_auth import Credentials, find_credentials
from dive_py.domain.sources.registry_reference import RegistryReference, is_loopback
from dive_py.errors import ImageError, ImageNotFoundError

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ATTEMPTS = 3
"""Tries per request (connection errors, timeouts, 429 and 5xx answers); then an error."""
DEFAULT_TIMEOUT_SECONDS = 30.0
"""Seconds to wait for a connection and between two reads before the registry counts as
stalled; ``DIVEPY_REGISTRY_TIMEOUT`` overrides it."""
MAX_REDIRECTS = 10
MANIFEST_LIMIT = 4 << 20
"""Largest manifest or config read (bytes), as containerd's limit for manifests."""
_CHUNK = 1 << 20
PLAIN_HTTP_HOSTS: set[str] = set()
"""API hosts (``HOST:PORT``) that answered over plain HTTP after HTTPS failed, in this process.
A later client of such a host (a run asks for the cache key, then reads the image) tries plain
HTTP first instead of failing a TLS handshake again (0.15-0.2 s each on the shared 2-core
machine, bench/README.md); still only where plain HTTP is allowed, and HTTPS is tried after it
if it does not connect."""
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


class BlobStreamError(Exception):
    """A blob's download broke off (connection reset, stall) after it had started."""


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` -> (``"bearer"``, {realm, service, …})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), params


def _timeout(env: Mapping[str, str]) -> float:
    text = env.get("DIVEPY_REGISTRY_TIMEOUT", "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        value = DEFAULT_TIMEOUT_SECONDS
    return value if value > 0 else DEFAULT_TIMEOUT_SECONDS


def insecure_hosts(env: Mapping[str, str]) -> frozenset[str]:
    """Hosts given as insecure (plain HTTP allowed): ``DIVEPY_INSECURE_REGISTRIES``,
    comma-separated (``--insecure-registry`` fills it)."""
    text = env.get("DIVEPY_INSECURE_REGISTRIES", "")
    return frozenset(part.strip() for part in text.split(",") if part.strip())


class BlobReader:
    """A blob's bytes as they arrive, hashed and counted; ``peek`` for compression detection.

    After the last byte was read, :meth:`verify` checks the digest and size.

    Raises (from ``read``):
        BlobStreamError: the connection broke off or stalled mid-blob.
    """

    def __init__(
        self,
        response: requests.Response,
        digest: str,
        size: int,
        stop: threading.Event | None = None,
    ) -> None:
        self._stop = stop
        self._response = response
        self._raw = response.raw
        self._digest = digest
        self._size = size
        self._sha = hashlib.sha256()
        self._buffer = b""
        self.bytes_read = 0

    def _pull(self, n: int) -> bytes:
        if self._stop is not None and self._stop.is_set():
            raise BlobStreamError("stopped: another download failed")
        try:
            data: bytes = self._raw.read(n, decode_content=True)
        except (
            urllib3.exceptions.HTTPError,
            requests.exceptions.RequestException,
            OSError,
        ) as exc:
            raise BlobStreamError(f"{type(exc).__name__}") from None
        self._sha.update(data)
        self.bytes_read += len(data)
        return data

    def peek(self, n: int = 1) -> bytes:
        """Return up to ``n`` bytes without consuming them."""
        while len(self._buffer) < n:
            data = self._pull(n - len(self._buffer))
            if not data:
                break
            self._buffer += data
        return self._buffer[:n]

    def read(self, n: int = -1, /) -> bytes:
        """Read up to ``n`` bytes (all that is left when ``n`` < 0)."""
        if self._buffer:
            if n < 0 or n >= len(self._buffer):
                out, self._buffer = self._buffer, b""
            else:
                out, self._buffer = self._buffer[:n], self._buffer[n:]
            return out
        if n < 0:
            chunks = []
            while chunk := self._pull(_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        return self._pull(n)

    def drain(self) -> None:
        """Read what is left of the blob (so that the digest covers every byte)."""
        self._buffer = b""
        while self._pull(_CHUNK):
            pass

    def verify(self) -> None:
        """Check the bytes read against the descriptor's digest and size.

        Raises:
            ImageError: the digest or size differs (the registry served other bytes).
        """
        algorithm, _, expected = self._digest.partition(":")
        if algorithm == "sha256" and self._sha.hexdigest() != expected:
            raise ImageError(
                f"blob {self._digest} from the registry does not match its digest "
                f"(got sha256:{self._sha.hexdigest()[:12]}…)",
                "the registry's storage is corrupt: push the image again",
            )
        if self._size and self.bytes_read != self._size:
            raise ImageError(
                f"blob {self._digest} is {self.bytes_read} bytes, the manifest says {self._size}",
                "the registry's storage is corrupt: push the image again",
            )

    def close(self) -> None:
        """Close the response."""
        self._response.close()


class RegistryClient:
    """An authenticated session with one registry repository.

    Args:
        reference: the image (its host and repository are used).
        env: the environment: ``DOCKER_CONFIG``/``HOME`` (credentials),
            ``DIVEPY_INSECURE_REGISTRIES``, ``DIVEPY_REGISTRY_TIMEOUT``; proxies and
            ``REQUESTS_CA_BUNDLE`` as ``requests`` reads them.
    """

    def __init__(self, reference: RegistryReference, env: Mapping[str, str]) -> None:
        self.reference = reference
        self._env = env
        self._timeout = _timeout(env)
        self._session = requests.Session()
        self._session.max_redirects = MAX_REDIRECTS
        self._session.headers["User-Agent"] = "divepy"
        self._base = ""
        self._authorization = ""
        self._credentials: Credentials | None = None
        self._credentials_read = False
        self._plain_http_allowed = is_loopback(reference.host) or reference.host in insecure_hosts(
            env
        )

    # --- plumbing -------------------------------------------------------------------------

    def _where(self) -> str:
        return f"registry {self.reference.host}"

    def _creds(self) -> Credentials | None:
        if not self._credentials_read:
            self._credentials = find_credentials(self.reference.host, self._env)
            self._credentials_read = True
        return self._credentials

    def _send(
        self, url: str, headers: dict[str, str], stream: bool, probing: bool = False
    ) -> requests.Response:
        """One GET with retries on connection errors, timeouts, 429 and 5xx.

        Raises:
            _SchemeError: ``probing`` and TLS failed (the caller may try plain HTTP).
            ImageError: a redirect loop, a TLS failure, or no answer after the tries.
        """
        last = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(0.5 * attempt)
            try:
                response = self._session.get(
                    url, headers=headers, stream=stream, timeout=self._timeout
                )
            except requests.exceptions.TooManyRedirects:
                raise ImageError(
                    f"{self._where()} redirects {url} in a loop (more than {MAX_REDIRECTS} "
                    "redirects)",
                    "the registry or its storage is misconfigured: check its URL",
                ) from None
            except requests.exceptions.SSLError as exc:
                if probing:
                    raise _SchemeError(str(exc)) from None
                raise ImageError(
                    f"{self._where()}: TLS failed for {url.split('?')[0]}",
                    "check the certificate (REQUESTS_CA_BUNDLE names a CA file)",
                ) from None
            except requests.exceptions.Timeout:
                last = f"no answer within {self._timeout:g} s"
                continue
            except requests.exceptions.ConnectionError as exc:
                last = f"cannot connect ({_reason(exc)})"
                continue
            except requests.exceptions.RequestException as exc:
                last = f"{type(exc).__name__}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                response.close()
                continue
            return response
        raise ImageError(
            f"{self._where()}: {last} after {ATTEMPTS} tries",
            "check that the registry is up and reachable (DIVEPY_REGISTRY_TIMEOUT sets the "
            "timeout)",
        )

    def _ensure_base(self) -> None:
        if self._base:
            return
        host = self.reference.api_host
        schemes = ["https", "http"] if self._plain_http_allowed else ["https"]
        if self._plain_http_allowed and host in PLAIN_HTTP_HOSTS:
            schemes = ["http", "https"]
        problem = ""
        for scheme in schemes:
            try:
                response = self._send(f"{scheme}://{host}/v2/", {}, stream=False, probing=True)
            except _SchemeError as exc:
                found = re.search(r"\[SSL[^\]]*\][^'\")]*", exc.args[0])
                problem = f"HTTPS failed ({found.group(0).strip() if found else 'TLS error'})"
                continue
            except ImageError as exc:
                if scheme == schemes[-1]:
                    raise
                problem = exc.message
                continue
            response.close()
            self._base = f"{scheme}://{host}"
            if scheme == "http":
                PLAIN_HTTP_HOSTS.add(host)
            if response.status_code == 401:
                self._authenticate(response)
            return
        hint = (
            "check the registry's certificate (REQUESTS_CA_BUNDLE names a CA file)"
            if self._plain_http_allowed
            else "check the registry's certificate (REQUESTS_CA_BUNDLE names a CA file), or "
            f"allow plain HTTP with --insecure-registry {self.reference.host}"
        )
        raise ImageError(f"{self._where()}: {problem}", hint)

    def _authenticate(self, response: requests.Response) -> None:
        """Answer a 401's challenge: fetch a bearer token, or prepare basic auth.

        Raises:
            ImageError: no usable challenge, the token server refused, or no credentials for
                basic auth.
        """
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = _parse_challenge(header)
        creds = self._creds()
        login = f"run 'docker login {self.reference.host}' (credentials are read from the docker config)"
        if scheme == "basic":
            if creds is None or not creds.username:
                raise ImageError(f"{self._where()} needs credentials (basic auth)", login)
            self._session.auth = (creds.username, creds.password)
            self._authorization = "basic"
            return
        if scheme != "bearer" or "realm" not in params:
            raise ImageError(
                f"{self._where()} answered 401 with an unknown challenge {header[:80]!r}",
                login,
            )
        query: dict[str, str] = {"scope": f"repository:{self.reference.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        auth = None
        if creds is not None and creds.identity_token:
            token_response = self._token_request(
                params["realm"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "client_id": "divepy",
                    **query,
                },
            )
        else:
            if creds is not None and creds.username:
                auth = (creds.username, creds.password)
            token_response = self._token_request(params["realm"], params=query, auth=auth)
        if token_response.status_code in (401, 403):
            raise ImageError(
                f"{self._where()}'s token server refused "
                + ("the stored credentials" if creds else "anonymous access")
                + f" (HTTP {token_response.status_code})",
                login,
            )
        if token_response.status_code != 200:
            raise ImageError(
                f"{self._where()}'s token server answered HTTP {token_response.status_code}",
                "check that the registry is up",
            )
        try:
            body = token_response.json()
        except ValueError:
            body = None
        token = ""
        if isinstance(body, dict):
            token = str(body.get("token") or body.get("access_token") or "")
        if not token:
            raise ImageError(f"{self._where()}'s token server sent no token", "check the registry")
        self._session.auth = None
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._authorization = "bearer"

    def _token_request(
        self,
        realm: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        last = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(0.5 * attempt)
            try:
                if data is not None:
                    return requests.post(realm, data=data, timeout=self._timeout)
                return requests.get(realm, params=params, auth=auth, timeout=self._timeout)
            except requests.exceptions.Timeout:
                last = f"no answer within {self._timeout:g} s"
            except requests.exceptions.RequestException as exc:
                last = f"{type(exc).__name__}"
        raise ImageError(
            f"{self._where()}'s token server {realm}: {last} after {ATTEMPTS} tries",
            "check that the registry is up and reachable",
        )

    def _get(self, path: str, headers: dict[str, str], stream: bool) -> requests.Response:
        """GET ``/v2/NAME/…``, authenticating once on a 401."""
        self._ensure_base()
        url = f"{self._base}/v2/{self.reference.repository}/{path}"
        response = self._send(url, headers, stream)
        if response.status_code == 401:
            if self._authorization:
                response.close()
                raise ImageError(
                    f"{self._where()} refused access to {self.reference.repository} "
                    "(HTTP 401 after authenticating)",
                    f"check your credentials ('docker login {self.reference.host}') and "
                    "that you may pull this repository",
                )
            self._authenticate(response)
            response.close()
            return self._get(path, headers, stream)
        if response.status_code == 403:
            response.close()
            raise ImageError(
                f"{self._where()} denied access to {self.reference.repository} (HTTP 403)",
                f"check that your account may pull it ('docker login {self.reference.host}')",
            )
        return response

    # --- the API ----------------------------------------------------------------------------

    def manifest(self, ref: str) -> tuple[bytes, str, str]:
        """Fetch a manifest or index by tag or digest.

        Returns:
            (its bytes, its media type (``Content-Type`` or its own ``mediaType``), its digest
            ``"sha256:…"``).

        Raises:
            ImageNotFoundError: the registry does not know it (404).
            ImageError: auth, network, or a digest that does not match the bytes.
        """
        response = self._get(f"manifests/{ref}", {"Accept": ", ".join(MANIFEST_TYPES)}, False)
        with response:
            if response.status_code == 404:
                raise ImageNotFoundError(
                    f"{self.reference} is not in {self._where()} (manifest unknown)",
                    "check the repository and tag ('docker push' it first)",
                )
            if response.status_code != 200:
                raise ImageError(
                    f"{self._where()} answered HTTP {response.status_code} for the manifest "
                    f"of {self.reference}",
                    "check the reference and the registry",
                )
            data = response.content
        if len(data) > MANIFEST_LIMIT:
            raise ImageError(
                f"manifest of {self.reference} is larger than 4 MiB", "check the image"
            )
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if ref.startswith("sha256:") and ref != digest:
            raise ImageError(
                f"manifest {ref} from {self._where()} does not match its digest",
                "the registry's storage is corrupt: push the image again",
            )
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        return data, media, digest

    def open_blob(self, digest: str, size: int, stop: threading.Event | None = None) -> BlobReader:
        """Start downloading a blob; read it through the returned :class:`BlobReader`.

        Raises:
            ImageError: the blob is missing (404) or the registry refuses it.
        """
        response = self._get(f"blobs/{digest}", {}, True)
        if response.status_code != 200:
            response.close()
            missing = response.status_code == 404
            raise ImageError(
                f"blob {digest} of {self.reference} is "
                + ("missing from" if missing else f"refused (HTTP {response.status_code}) by")
                + f" {self._where()}",
                "the image in the registry is incomplete: push it again",
            )
        return BlobReader(response, digest, size, stop)

    def blob_bytes(self, digest: str, size: int) -> bytes:
        """Download a small blob (a config) whole and verify it.

        Raises:
            ImageError: missing, too large, stalled, or a digest mismatch.
        """
        if size > MANIFEST_LIMIT:
            raise ImageError(f"config blob {digest} is larger than 4 MiB", "check the image")
        for attempt in range(ATTEMPTS):
            reader = self.open_blob(digest, size)
            try:
                data = reader.read(-1)
                reader.verify()
                return data
            except BlobStreamError as exc:
                last = str(exc)
                if attempt == ATTEMPTS - 1:
                    raise ImageError(
                        f"{self._where()}: download of {digest} broke off ({last}) after "
                        f"{ATTEMPTS} tries",
                        "check that the registry is up and reachable",
                    ) from None
            finally:
                reader.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    @property
    def timeout(self) -> float:
        """Seconds of silence after which the registry counts as stalled."""
        return self._timeout


class _SchemeError(Exception):
    """HTTPS could not be spoken with the host (TLS failed)."""


def _reason(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def describe_media(document: Any) -> str:
    """The ``mediaType`` a parsed manifest states about itself, or ``""``."""
    if isinstance(document, dict) and isinstance(document.get("mediaType"), str):
        return str(document["mediaType"])
    return ""
