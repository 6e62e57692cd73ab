"""Provides :func:`describe_artifact`: tell an OCI artifact (chart, signature, SBOM…) from an image.

OCI image spec (manifest.md, "Guidelines for Artifact Usage"): an image manifest whose
``artifactType`` is set, or whose ``config.mediaType`` is not an image config, is an artifact,
not a container image. Image configs are ``application/vnd.oci.image.config.v1+json`` and
Docker's ``application/vnd.docker.container.image.v1+json``. Layers of an image are tars
(``application/vnd.oci.image.layer.*``, ``application/vnd.docker.image.rootfs.*``); a layer of
another media type (cosign's ``application/vnd.dev.cosign.simplesigning.v1+json`` under an
image config) marks an artifact too. A missing media type is taken as the image's (lenient,
as engines are).
"""

from __future__ import annotations

from typing import Any

IMAGE_CONFIG_TYPES = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)
"""Config media types of container images."""

IMAGE_LAYER_PREFIXES = (
    "application/vnd.oci.image.layer.",
    "application/vnd.docker.image.rootfs.",
)
"""Media type prefixes of image layers (tar, compressed or not; nondistributable included)."""

_KINDS: tuple[tuple[str, str], ...] = (
    # (media type prefix, what it is); the first that matches names the artifact
    ("application/vnd.cncf.helm.", "a Helm chart"),
    ("application/vnd.dev.cosign.simplesigning", "a cosign signature"),
    ("application/vnd.dev.cosign.artifact.sig", "a cosign signature"),
    ("application/vnd.dev.cosign.artifact.sbom", "an SBOM"),
    ("application/vnd.dev.sigstore.bundle", "a Sigstore bundle (signature or attestation)"),
    ("application/vnd.cncf.notary.", "a Notary signature"),
    ("application/spdx", "an SBOM"),
    ("text/spdx", "an SBOM"),
    ("application/vnd.cyclonedx", "an SBOM"),
    ("application/vnd.syft", "an SBOM"),
    ("application/vnd.in-toto", "an in-toto attestation"),
    ("application/vnd.wasm.", "a WebAssembly module"),
    ("application/vnd.module.wasm.", "a WebAssembly module"),
    ("application/wasm", "a WebAssembly module"),
    ("application/vnd.sylabs.sif.", "a Singularity/Apptainer image (SIF)"),
    ("application/vnd.cncf.flux.", "a Flux artifact"),
    ("application/vnd.cncf.openpolicyagent.", "an Open Policy Agent bundle"),
    ("application/vnd.buildkit.cacheconfig", "a BuildKit build cache"),
    ("application/vnd.oci.empty.", "an OCI artifact"),
)


def _kind(media_type: str) -> str:
    for prefix, kind in _KINDS:
        if media_type.startswith(prefix):
            return kind
    return "an OCI artifact"


def _media_type(descriptor: Any) -> str:
    if isinstance(descriptor, dict):
        value = descriptor.get("mediaType")
        if isinstance(value, str):
            return value
    return ""


def describe_artifact(
    manifest: dict[str, Any], descriptor: dict[str, Any] | None = None
) -> str | None:
    """Say what a manifest is when it is not a container image, else return None.

    Args:
        manifest: the parsed image manifest (``config``, ``layers``, maybe ``artifactType``;
            an OCI artifact manifest has ``blobs`` instead of ``layers``).
        descriptor: the index descriptor that pointed at it (its ``artifactType`` counts too).

    Returns:
        ``"a Helm chart (application/vnd.cncf.helm.config.v1+json)"``: what it is and the
        media type that says so (the artifact type, else the config's, else the first
        non-image layer's); None for a container image.
    """
    artifact_type = manifest.get("artifactType")
    if not isinstance(artifact_type, str) and descriptor is not None:
        artifact_type = descriptor.get("artifactType")
    config_type = _media_type(manifest.get("config"))
    telling = ""
    if isinstance(artifact_type, str) and artifact_type and artifact_type not in IMAGE_CONFIG_TYPES:
        telling = artifact_type
    elif config_type and config_type not in IMAGE_CONFIG_TYPES:
        telling = config_type
    else:
        layers = manifest.get("layers")
        if not isinstance(layers, list):
            layers = manifest.get("blobs")
        for layer in layers if isinstance(layers, list) else []:
            layer_type = _media_type(layer)
            if layer_type and not layer_type.startswith(IMAGE_LAYER_PREFIXES):
                telling = layer_type
                break
    if not telling:
        return None
    kind = _kind(telling)
    if kind == "an OCI artifact" and telling != config_type and config_type:
        kind = _kind(config_type)  # a generic artifact type, but a telling config
    return f"{kind} ({telling})"
