"""Things that are not images, and images whose platform's content is missing (issue 12).

An OCI manifest whose ``artifactType`` or config media type is not an image config (Helm
chart, signature, SBOM, wasm module, any artifact) is refused with exit 3 naming what it is;
attestations beside an image in its index stay skipped. An archive that lists a platform
without its blobs (Docker >= 25 with the containerd image store saves the whole index but
only the pulled platform's content) names that platform and the complete ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dive_py.domain.sources import image_layout, open_image
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ArchiveError, PlatformMissingError
from tests.cli.test_cli import run_divepy
from tests.image_builder import (
    ImageSpec,
    artifact_manifest,
    f,
    image_manifest,
    layer_tar,
    oci_layout_of,
)

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"

# (config media type, config, layers, artifactType, what divepy must call it)
ARTIFACTS = {
    "helm": (
        "application/vnd.cncf.helm.config.v1+json",
        b'{"name":"mychart","version":"0.1.0","apiVersion":"v2"}',
        [
            (
                "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                layer_tar([f("mychart/Chart.yaml", "x")]),
            )
        ],
        None,
        "this is a Helm chart (application/vnd.cncf.helm.config.v1+json), not a container image",
    ),
    "cosign": (
        "application/vnd.oci.image.config.v1+json",
        b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
        [("application/vnd.dev.cosign.simplesigning.v1+json", b'{"critical":{}}')],
        None,
        "this is a cosign signature (application/vnd.dev.cosign.simplesigning.v1+json)",
    ),
    "sbom": (
        EMPTY,
        b"{}",
        [("application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}')],
        "application/spdx+json",
        "this is an SBOM (application/spdx+json)",
    ),
    "notary": (
        EMPTY,
        b"{}",
        [("application/jose+json", b"{}")],
        "application/vnd.cncf.notary.signature",
        "this is a Notary signature (application/vnd.cncf.notary.signature)",
    ),
    "wasm": (
        "application/vnd.wasm.config.v0+json",
        b"{}",
        [("application/vnd.wasm.content.layer.v1+wasm", b"\0asm\1\0\0\0")],
        None,
        "this is a WebAssembly module (application/vnd.wasm.config.v0+json)",
    ),
    "other": (
        "application/vnd.example.thing.config.v1+json",
        b"{}",
        [("application/octet-stream", b"data")],
        None,
        "this is an OCI artifact (application/vnd.example.thing.config.v1+json)",
    ),
}


def _artifact_layout(kind: str, **annotations: str) -> tuple[dict[str, object], bytes, list[bytes]]:
    config_type, config, layers, artifact_type, _said = ARTIFACTS[kind]
    manifest, blobs = artifact_manifest(config_type, config, layers, artifact_type)
    return {"mediaType": MANIFEST, "annotations": annotations}, manifest, blobs


def _image_entry(spec: ImageSpec, **fields: object) -> tuple[dict[str, object], bytes, list[bytes]]:
    manifest, config, stored = image_manifest(spec)
    return {"mediaType": MANIFEST, **fields}, manifest, [config, *stored]


@pytest.mark.parametrize("kind", sorted(ARTIFACTS))
def test_an_artifact_is_refused_naming_what_it_is(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.tar"
    path.write_bytes(oci_layout_of([_artifact_layout(kind)]))
    with pytest.raises(ArchiveError) as caught:
        open_image(str(path), source="oci")
    assert caught.value.exit_code == 3
    assert ARTIFACTS[kind][4] in caught.value.message


def test_a_helm_chart_fails_ci_with_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "chart.tar"
    path.write_bytes(oci_layout_of([_artifact_layout("helm")]))
    result = run_divepy("--ci", f"oci:{path}")
    assert result.returncode == 3, result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("divepy:")] == [
        line for line in result.stderr.splitlines() if "Helm chart" in line
    ]
    assert ARTIFACTS["helm"][4] in result.stderr


def test_artifacts_and_attestations_beside_an_image_are_skipped(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[f("app", "1")]])
    image_manifest_json, _config, _stored = image_manifest(spec)
    attestation, attestation_blobs = artifact_manifest(
        "application/vnd.oci.image.config.v1+json",
        b'{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}',
        [("application/vnd.in-toto+json", b"{}")],
    )
    signature, signature_blobs = artifact_manifest(
        EMPTY, b"{}", [("application/jose+json", b"{}")], "application/vnd.cncf.notary.signature"
    )
    entries = [
        _image_entry(spec, platform={"os": "linux", "architecture": "amd64"}),
        (
            {
                "mediaType": MANIFEST,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            attestation,
            attestation_blobs,
        ),
        ({"mediaType": MANIFEST}, signature, signature_blobs),
    ]
    path = tmp_path / "image.tar"
    path.write_bytes(oci_layout_of(entries))
    image = open_image(str(path), source="oci")
    assert list(image.layers[0].contents.entries) == ["app"]
    assert image_manifest_json  # the image's own manifest was the one read


def test_a_tag_that_names_a_chart_beside_an_image_is_refused(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[f("app", "1")]])
    path = tmp_path / "both.tar"
    ref = "org.opencontainers.image.ref.name"
    path.write_bytes(
        oci_layout_of(
            [
                _image_entry(spec, annotations={ref: "app"}),
                _artifact_layout("helm", **{ref: "chart"}),
            ]
        )
    )
    assert list(open_image(f"oci:{path}:app").layers[0].contents.entries) == ["app"]
    assert list(open_image(f"oci:{path}").layers[0].contents.entries) == ["app"]
    with pytest.raises(ArchiveError, match="this is a Helm chart"):
        open_image(f"oci:{path}:chart")


# --------------------------------------------- a platform whose content was not saved ----

AMD = ImageSpec(layers=[[f("amd", "1")]], architecture="amd64")
ARM = ImageSpec(layers=[[f("arm", "22")]], architecture="arm64", variant="v8")


def _containerd_store_save(*, with_docker_manifest: bool, drop_arm_manifest: bool) -> bytes:
    """What ``docker save`` writes with the containerd image store for a two-platform image
    of which only linux/amd64 was pulled: the whole index, only amd64's blobs."""
    amd_manifest, amd_config, amd_stored = image_manifest(AMD)
    arm_manifest, arm_config, arm_stored = image_manifest(ARM)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": "sha256:" + _sha(amd_manifest),
                "size": len(amd_manifest),
                "platform": {"os": "linux", "architecture": "amd64"},
            },
            {
                "mediaType": MANIFEST,
                "digest": "sha256:" + _sha(arm_manifest),
                "size": len(arm_manifest),
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
        ],
    }
    index_json = json.dumps(index).encode()
    blobs = [amd_manifest, amd_config, *amd_stored, arm_manifest, arm_config, *arm_stored]
    skip = [arm_config, *arm_stored] + ([arm_manifest] if drop_arm_manifest else [])
    docker_manifest = None
    if with_docker_manifest:
        docker_manifest = [
            {
                "Config": f"blobs/sha256/{_sha(amd_config)}",
                "RepoTags": ["multi:1"],
                "Layers": [f"blobs/sha256/{_sha(b)}" for b in amd_stored],
            }
        ]
    return oci_layout_of(
        [
            (
                {
                    "mediaType": INDEX,
                    "annotations": {"io.containerd.image.name": "docker.io/library/multi:1"},
                },
                index_json,
                blobs,
            )
        ],
        skip_blobs=skip,
        docker_manifest=docker_manifest,
    )


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("with_docker_manifest", [False, True])
@pytest.mark.parametrize("drop_arm_manifest", [False, True])
def test_a_platform_whose_blobs_were_not_saved_is_named(
    tmp_path: Path,
    with_docker_manifest: bool,
    drop_arm_manifest: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "saved.tar"
    path.write_bytes(
        _containerd_store_save(
            with_docker_manifest=with_docker_manifest, drop_arm_manifest=drop_arm_manifest
        )
    )
    with pytest.raises(PlatformMissingError) as caught:
        open_image(str(path), source="docker-archive", platform=Platform.parse("linux/arm64"))
    error = caught.value
    assert error.exit_code == 3
    assert "linux/arm64/v8" in error.message and "not all of its blobs" in error.message
    assert "platforms whose content is complete: linux/amd64" in error.message
    assert "--platform linux/amd64" in error.hint
    assert (error.wanted, error.available) == ("linux/arm64/v8", ["linux/amd64"])
    # the complete platform opens, asked for or not, whatever the host is
    wanted = Platform.parse("linux/amd64")
    assert list(
        open_image(str(path), source="docker-archive", platform=wanted).layers[0].contents.entries
    ) == ["amd"]
    monkeypatch.setattr(image_layout, "host_platform", lambda: Platform("linux", "arm64"))
    assert list(open_image(str(path), source="docker-archive").layers[0].contents.entries) == [
        "amd"
    ]


def test_the_cli_names_the_missing_platform(tmp_path: Path) -> None:
    path = tmp_path / "saved.tar"
    path.write_bytes(_containerd_store_save(with_docker_manifest=False, drop_arm_manifest=False))
    result = run_divepy("--ci", "--platform", "linux/arm64", f"docker-archive:{path}")
    assert result.returncode == 3
    assert "linux/arm64/v8" in result.stderr and "--platform linux/amd64" in result.stderr
    assert "Traceback" not in result.stderr
