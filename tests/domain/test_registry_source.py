"""The registry source against a fake distribution server on 127.0.0.1 (tests/registry_server.py).

Covers reading, platform choice in an index, bearer and basic auth from the docker config, and
the failures that must be one line with exit 3 (missing blob, wrong digest, 401 after auth,
redirect loop, stalled registry), never a hang.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.export_json import render_json
from dive_py.domain.image import Image
from dive_py.domain.read_ahead import ReadAhead
from dive_py.domain.sources import open_image
from dive_py.domain.sources import registry as registry_module
from dive_py.domain.sources.platform import Platform
from dive_py.domain.sources.registry_reference import parse_registry_reference
from dive_py.domain.tar_stream import Readable
from dive_py.errors import ImageError, ImageNotFoundError, PlatformMissingError, UsageError
from tests.ci.helpers import run_cli
from tests.image_builder import ImageSpec, d, f, oci_layout_of, wh
from tests.registry_server import FakeRegistry, fake_registry, sha

SPEC = ImageSpec(
    layers=[
        [d("etc"), f("etc/os-release", "ID=test\n"), f("bin/sh", b"x" * 5000, 0o755)],
        [f("app/main.py", "print('hi')\n"), f("etc/os-release", "ID=changed\n")],
        [wh("app/main.py"), f("app/other.py", b"y" * 300)],
    ]
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir(exist_ok=True)
    return {
        "DOCKER_CONFIG": str(config_dir),
        "HOME": str(tmp_path),
        "DIVEPY_CACHE_DIR": str(tmp_path / "cache"),
        "DIVEPY_REGISTRY_TIMEOUT": "1",
        **extra,
    }


def _login(env: dict[str, str], host: str, user: str = "someone", password: str = "secret") -> None:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))


def _without_source_keys(text: str) -> dict[str, object]:
    document = json.loads(text)
    for layer in document["layer"]:
        for key in ("compressedSizeBytes", "mediaType"):
            layer.pop(key)
    document["image"].pop("name")
    document["image"].pop("compressedSizeBytes")
    return document


def test_reads_an_image_with_the_figures_of_its_oci_layout(tmp_path: Path) -> None:
    with fake_registry() as reg:
        descriptor = reg.add_image("team/app", "1", SPEC, compression="none")
        image = open_image(f"registry://{reg.host}/team/app:1", env=_env(tmp_path))
    assert image.source == "registry"
    assert [layer.media_type for layer in image.layers] == [
        "application/vnd.oci.image.layer.v1.tar"
    ] * 3
    sizes = [layer.compressed_size_bytes for layer in image.layers]
    assert all(isinstance(size, int) and size > 0 for size in sizes)
    assert image.compressed_size_bytes == sum(s for s in sizes if s is not None)
    # the same image as an OCI layout tar
    manifest_bytes = reg.manifests[f"team/app:{descriptor['digest']}"][1]
    manifest = json.loads(manifest_bytes)
    blobs = [reg.blobs[manifest["config"]["digest"]]] + [
        reg.blobs[layer["digest"]] for layer in manifest["layers"]
    ]
    layout = tmp_path / "layout.tar"
    layout.write_bytes(
        oci_layout_of([({"mediaType": manifest["mediaType"]}, manifest_bytes, blobs)])
    )
    from_layout = open_image(f"oci://{layout}", env=_env(tmp_path))
    exported = json.loads(render_json(analyse(image)))
    assert exported["layer"][0]["compressedSizeBytes"] == sizes[0]
    assert exported["layer"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert exported["image"]["compressedSizeBytes"] == image.compressed_size_bytes
    assert _without_source_keys(render_json(analyse(image))) == _without_source_keys(
        render_json(analyse(from_layout))
    )


def test_gzip_layers_are_decompressed_as_they_stream(tmp_path: Path) -> None:
    with fake_registry() as reg:
        reg.add_image("app", "gz", SPEC, compression="gzip")
        image = open_image(f"registry://{reg.host}/app:gz", env=_env(tmp_path))
    assert [layer.contents.compression.value for layer in image.layers] == ["gzip"] * 3
    assert "etc/os-release" in image.layers[1].contents.entries


def test_compressed_layers_are_inflated_by_a_read_ahead_thread_that_ends_with_the_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[ReadAhead] = []

    class Counted(ReadAhead):
        def __init__(self, raw: Readable) -> None:
            super().__init__(raw)
            started.append(self)

    monkeypatch.setattr(registry_module, "ReadAhead", Counted)
    with fake_registry() as reg:
        reg.add_image("app", "gz", SPEC, compression="gzip")
        reg.add_image("app", "zst", SPEC, compression="zstd")
        gz = open_image(f"registry://{reg.host}/app:gz", env=_env(tmp_path))
        assert len(started) == 3
        zst = open_image(
            f"registry://{reg.host}/app:zst",
            env=_env(tmp_path, DIVEPY_CACHE_DIR=str(tmp_path / "z")),
        )
        assert len(started) == 6
        # a failed read (a blob with other bytes) stops its threads too
        layer = json.loads(reg.manifests["app:gz"][1])["layers"][2]["digest"]
        reg.corrupt.add(layer)
        with pytest.raises(ImageError, match="does not match its digest"):
            open_image(
                f"registry://{reg.host}/app:gz",
                env=_env(tmp_path, DIVEPY_CACHE_DIR=str(tmp_path / "c")),
            )
    assert len(started) > 6
    assert not [t for t in threading.enumerate() if t.name == "divepy-read-ahead"]
    # the same tar through either decompressor and the thread: the same layers
    assert [layer.contents.diff_id for layer in gz.layers] == [
        layer.contents.diff_id for layer in zst.layers
    ]

    def files(image: Image) -> list[dict[str, tuple[str, int]]]:
        return [
            {path: (repr(e), e.digest) for path, e in layer.contents.entries.items()}
            for layer in image.layers
        ]

    assert files(gz) == files(zst)
    assert files(gz)[0]["bin/sh"][1] != 0  # the file's xxh64 was taken


def test_a_digest_reference_is_read_and_checked(tmp_path: Path) -> None:
    with fake_registry() as reg:
        descriptor = reg.add_image("app", "1", SPEC)
        image = open_image(f"registry://{reg.host}/app@{descriptor['digest']}", env=_env(tmp_path))
        assert len(image.layers) == 3
        # the registry answers a digest with other bytes: refused
        other = reg.add_image("app", "2", ImageSpec(layers=[[f("x", "1")]]))
        reg.manifests[f"app:{descriptor['digest']}"] = reg.manifests[f"app:{other['digest']}"]
        with pytest.raises(ImageError, match="does not match its digest"):
            open_image(f"registry://{reg.host}/app@{descriptor['digest']}", env=_env(tmp_path))


def _multi(reg: FakeRegistry) -> None:
    amd = reg.add_image("multi", "amd", ImageSpec(layers=[[f("amd", "1")]]))
    arm = reg.add_image(
        "multi", "arm", ImageSpec(layers=[[f("arm", "1")]], architecture="arm64", variant="v8")
    )
    attestation = reg.add_image(
        "multi", "att", ImageSpec(layers=[[f("sbom.json", "{}")]], os="unknown")
    )
    attestation["platform"] = {"os": "unknown", "architecture": "unknown"}
    attestation["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
    reg.add_index("multi", "latest", [amd, arm, attestation])


def test_an_index_gives_the_platform_asked_for(tmp_path: Path) -> None:
    with fake_registry() as reg:
        _multi(reg)
        arm = open_image(
            f"registry://{reg.host}/multi",
            platform=Platform.parse("linux/arm64"),
            env=_env(tmp_path),
        )
        assert list(arm.layers[0].contents.entries) == ["arm"]
        assert arm.platform == "linux/arm64/v8"
        with pytest.raises(
            PlatformMissingError, match=r"linux/s390x .*linux/amd64, linux/arm64/v8"
        ):
            open_image(
                f"registry://{reg.host}/multi:latest",
                platform=Platform.parse("linux/s390x"),
                env=_env(tmp_path),
            )


def test_an_index_defaults_to_the_host_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dive_py.domain.sources.registry as registry_module

    monkeypatch.setattr(registry_module, "host_platform", lambda: Platform("linux", "amd64"))
    with fake_registry() as reg:
        _multi(reg)
        image = open_image(f"registry://{reg.host}/multi:latest", env=_env(tmp_path))
    assert list(image.layers[0].contents.entries) == ["amd"]
    assert len(reg.blob_gets) == 2  # only the chosen platform's config and layer


def test_bearer_token_auth_with_the_docker_config_credentials(tmp_path: Path) -> None:
    with fake_registry(FakeRegistry(auth="bearer")) as reg:
        reg.add_image("private/app", "1", SPEC)
        env = _env(tmp_path)
        with pytest.raises(ImageError, match="token server refused anonymous access"):
            open_image(f"registry://{reg.host}/private/app:1", env=env)
        _login(env, reg.host)
        image = open_image(f"registry://{reg.host}/private/app:1", env=env)
        assert len(image.layers) == 3
        _login(env, reg.host, password="wrong")
        code, _out, err = run_cli(["--ci", f"registry://{reg.host}/private/app:1"], env=env)
        assert code == 3
        assert "token server refused the stored credentials" in err
        assert "docker login" in err
        assert "wrong" not in err  # never the secret


def test_basic_auth_and_a_401_after_authenticating(tmp_path: Path) -> None:
    with fake_registry(FakeRegistry(auth="basic")) as reg:
        reg.add_image("private/app", "1", SPEC)
        env = _env(tmp_path)
        with pytest.raises(ImageError, match="needs credentials"):
            open_image(f"registry://{reg.host}/private/app:1", env=env)
        _login(env, reg.host)
        assert len(open_image(f"registry://{reg.host}/private/app:1", env=env).layers) == 3
        reg.refuse_all = True
        code, _out, err = run_cli(["--ci", f"registry://{reg.host}/private/app:1"], env=env)
    assert code == 3
    last = err.splitlines()[-1]
    assert last.startswith("divepy: ") and "HTTP 401 after authenticating" in last


def test_a_credential_helper_is_run(tmp_path: Path) -> None:
    helper = tmp_path / "bin" / "docker-credential-fake"
    helper.parent.mkdir()
    helper.write_text(
        '#!/bin/sh\nread server\necho "{\\"Username\\": \\"someone\\", \\"Secret\\": \\"secret\\"}"\n'
    )
    helper.chmod(0o755)
    with fake_registry(FakeRegistry(auth="basic")) as reg:
        reg.add_image("private/app", "1", SPEC)
        env = _env(tmp_path, PATH=f"{helper.parent}:/usr/bin:/bin")
        (Path(env["DOCKER_CONFIG"]) / "config.json").write_text(
            json.dumps({"credHelpers": {reg.host: "fake"}})
        )
        assert len(open_image(f"registry://{reg.host}/private/app:1", env=env).layers) == 3


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("missing", "is missing from registry"),
        ("corrupt", "does not match its digest"),
        ("stall", "broke off"),
        ("redirect_loop", "redirects"),
    ],
)
def test_failures_are_one_line_with_exit_3(tmp_path: Path, breakage: str, message: str) -> None:
    with fake_registry() as reg:
        reg.add_image("app", "1", SPEC)
        manifest = json.loads(reg.manifests["app:1"][1])
        layer = manifest["layers"][1]["digest"]
        if breakage == "redirect_loop":
            reg.redirect_loop = True
        else:
            getattr(reg, breakage).add(layer)
        code, out, err = run_cli(
            ["--json", str(tmp_path / "out.json"), f"registry://{reg.host}/app:1"],
            env=_env(tmp_path),
        )
    assert code == 3, err
    assert message in err
    assert err.splitlines()[-1].startswith("divepy: ")
    assert "Traceback" not in err
    assert not (tmp_path / "out.json").exists()  # never a half-written output


def test_unknown_tag_and_unreachable_registry(tmp_path: Path) -> None:
    with fake_registry() as reg:
        with pytest.raises(ImageNotFoundError, match="manifest unknown"):
            open_image(f"registry://{reg.host}/app:nope", env=_env(tmp_path))
        port = reg.port
    with pytest.raises(ImageError, match="after 3 tries"):
        open_image(f"registry://127.0.0.1:{port}/app:1", env=_env(tmp_path))


def test_plain_http_only_for_loopback_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dive_py.domain.sources.registry_client as client_module

    monkeypatch.setattr(client_module, "is_loopback", lambda host: False)
    with fake_registry() as reg:
        reg.add_image("app", "1", SPEC)
        with pytest.raises(ImageError, match="HTTPS failed") as raised:
            open_image(f"registry://{reg.host}/app:1", env=_env(tmp_path))
        assert f"--insecure-registry {reg.host}" in raised.value.hint
        code, _out, err = run_cli(
            ["--ci", "--insecure-registry", reg.host, f"registry://{reg.host}/app:1"],
            env=_env(tmp_path),
        )
    assert code in (0, 1), err


def test_a_host_that_answered_plain_http_is_not_asked_for_tls_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dive_py.domain.sources.registry_client as client_module

    tried: list[str] = []
    send = client_module.RegistryClient._send

    def spy(self: client_module.RegistryClient, url: str, *args: object, **kw: object) -> object:
        tried.append(url.split("://")[0])
        return send(self, url, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(client_module.RegistryClient, "_send", spy)
    with fake_registry() as reg:
        reg.add_image("app", "1", SPEC)
        ref = parse_registry_reference(f"{reg.host}/app:1")
        for _ in range(2):
            client = client_module.RegistryClient(ref, _env(tmp_path))
            client.manifest("1")
            client.close()
        # first client: HTTPS fails, HTTP probe, manifest; second: HTTP probe, manifest
        assert tried == ["https", "http", "http", "http", "http"]
        # where plain HTTP is not allowed, what this process learnt changes nothing
        monkeypatch.setattr(client_module, "is_loopback", lambda host: False)
        with pytest.raises(ImageError, match="HTTPS failed"):
            client_module.RegistryClient(ref, _env(tmp_path)).manifest("1")


@pytest.mark.parametrize(
    ("text", "host", "repository", "tag", "digest"),
    [
        ("127.0.0.1:5000/app:1", "127.0.0.1:5000", "app", "1", ""),
        ("localhost/a/b", "localhost", "a/b", "latest", ""),
        ("alpine", "docker.io", "library/alpine", "latest", ""),
        ("docker.io/user/app:2", "docker.io", "user/app", "2", ""),
        ("ghcr.io/o/app@sha256:" + "a" * 64, "ghcr.io", "o/app", "", "sha256:" + "a" * 64),
    ],
)
def test_references(text: str, host: str, repository: str, tag: str, digest: str) -> None:
    ref = parse_registry_reference(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (host, repository, tag, digest)


@pytest.mark.parametrize("text", ["", "host:5000/UPPER:1", "host/app:bad tag", "a/b@sha256:xyz"])
def test_bad_references(text: str) -> None:
    with pytest.raises(UsageError):
        parse_registry_reference(text)


def test_the_blob_digest_is_what_the_cache_would_key(tmp_path: Path) -> None:
    with fake_registry() as reg:
        reg.add_image("app", "1", SPEC)
        image = open_image(f"registry://{reg.host}/app:1", env=_env(tmp_path))
    assert [layer.digest for layer in image.layers] == [
        sha(reg.blobs[layer.digest]) for layer in image.layers
    ]


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_file_contents_are_read_from_the_registry(tmp_path: Path, compression: str) -> None:
    """Trial of this release: Enter on a file of a registry image (the explorer, and either
    side of ``divepy diff app:1 registry://host/app:2``) said "divepy cannot read file
    contents from the registry source"; the layer's blob is downloaded again."""
    from dive_py.domain.analysis import analyse
    from dive_py.domain.file_content import ContentReader, locate_version
    from tests.image_builder import ImageSpec, d, f

    spec = ImageSpec(layers=[[d("etc"), f("etc/a", "one\n")], [d("etc"), f("etc/a", "two\n")]])
    env = _env(tmp_path)
    with fake_registry() as reg:
        reg.add_image("app", "1", spec, compression=compression)
        analysis = analyse(open_image(f"registry://{reg.host}/app:1", env=env))
        reader = ContentReader(analysis, env=env)
        assert reader.read(locate_version(analysis, 1, "/etc/a")).data == b"two\n"
        assert reader.read(locate_version(analysis, 0, "/etc/a")).data == b"one\n"
