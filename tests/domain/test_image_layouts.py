"""Reading archives: layouts, compression, linked duplicate layers, platforms, history, bad input."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from dive_py.domain.analysis import analyse
from dive_py.domain.history import parse_history, readable_command
from dive_py.domain.layer_tar import normalise_path, read_layer
from dive_py.domain.sources import open_image, split_scheme
from dive_py.domain.sources.platform import Platform
from dive_py.errors import ArchiveError, ImageNotFoundError, PlatformError, UsageError
from tests.hostile.helpers import pipeline
from tests.image_builder import (
    ImageSpec,
    Step,
    compress,
    d,
    docker_archive,
    f,
    layer_tar,
    multi_platform_layout,
    wh,
)
from tests.stacking_oracle import final_state


def write(tmp_path: Path, data: bytes, name: str = "image.tar") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_linked_duplicate_layer_resolves_to_its_target(tmp_path: Path) -> None:
    # Docker < 25 writes the second of two identical layers as a symlink to the first;
    # dive 0.13.1 reads it as an empty layer.
    same = [f("touched", "x")]
    spec = ImageSpec(layers=[[f("base", "b")], same, [f("other", "o")], same])
    data = docker_archive(spec, layout="legacy")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert any(m.issym() for m in tar.getmembers())
    image = open_image(write(tmp_path, data), source="docker-archive")
    assert [len(layer.contents.entries) for layer in image.layers] == [1, 1, 1, 1]
    assert image.layers[3].diff_id == image.layers[1].diff_id
    assert image.layers[3].size_bytes == 1


def test_compression_is_detected_by_magic_bytes_not_names() -> None:
    tar = layer_tar([f("a", "hello")])
    for how in ("none", "gzip", "zstd"):
        contents = read_layer(io.BytesIO(compress(tar, how)), compress(tar, how)[:8])
        assert contents.compression.value == how
        assert list(contents.entries) == ["a"]
        assert contents.diff_id.startswith("sha256:")


def test_diff_id_is_the_sha256_of_the_uncompressed_tar() -> None:
    import hashlib

    tar = layer_tar([f("a", "hello"), d("b")])
    blob = compress(tar, "gzip")
    assert (
        read_layer(io.BytesIO(blob), blob[:8]).diff_id
        == "sha256:" + hashlib.sha256(tar).hexdigest()
    )


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_truncated_compressed_layer_is_an_error(how: str) -> None:
    from dive_py.domain.layer_tar import LayerFormatError

    blob = compress(layer_tar([f("a", b"x" * 100_000)]), how)
    with pytest.raises(LayerFormatError):
        read_layer(io.BytesIO(blob[: len(blob) // 2]), blob[:8])


def test_normalise_path() -> None:
    assert normalise_path("./a//b/") == ("a/b", False)
    assert normalise_path("/etc/x") == ("etc/x", False)
    assert normalise_path("../../etc/passwd") == ("etc/passwd", True)
    assert normalise_path("a/../../b") == ("b", True)
    assert normalise_path("a/./b/../c") == ("a/c", False)
    assert normalise_path("./") == ("", False)


def test_dot_slash_prefixed_and_absolute_entries_land_in_the_same_place(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[f("./a", "1"), f("/b", "2"), f("../../c", "3")]])
    image = open_image(write(tmp_path, docker_archive(spec)), source="docker-archive")
    contents = image.layers[0].contents
    assert list(contents.entries) == ["a", "b", "c"]
    assert contents.escaped_paths == ["../../c"]


def test_multi_platform_index_picks_the_requested_platform(tmp_path: Path) -> None:
    amd = ImageSpec(layers=[[f("amd", "1")]], architecture="amd64")
    arm = ImageSpec(layers=[[f("arm", "22")]], architecture="arm64", variant="v8")
    path = write(tmp_path, multi_platform_layout([amd, arm]))
    image = open_image(path, source="oci", platform=Platform.parse("linux/arm64"))
    assert list(image.layers[0].contents.entries) == ["arm"]
    assert image.platform == "linux/arm64/v8"
    with pytest.raises(PlatformError, match="linux/amd64, linux/arm64/v8"):
        open_image(path, source="oci", platform=Platform.parse("linux/s390x"))


def test_multi_platform_index_defaults_to_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dive_py.domain.sources import image_layout

    amd = ImageSpec(layers=[[f("amd", "1")]], architecture="amd64")
    arm = ImageSpec(layers=[[f("arm", "22")]], architecture="arm64")
    ppc = ImageSpec(layers=[[f("ppc", "3")]], architecture="ppc64le")
    path = write(tmp_path, multi_platform_layout([amd, arm]))
    monkeypatch.setattr(image_layout, "host_platform", lambda: Platform("linux", "arm64"))
    assert list(open_image(path, source="oci").layers[0].contents.entries) == ["arm"]
    monkeypatch.setattr(image_layout, "host_platform", lambda: Platform("linux", "riscv64"))
    with pytest.raises(PlatformError, match="2 platforms: linux/amd64, linux/ppc64le"):
        open_image(write(tmp_path, multi_platform_layout([amd, ppc]), "two.tar"), source="oci")


def test_oci_layout_directory(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(
        fileobj=io.BytesIO(
            docker_archive(ImageSpec(layers=[[f("a", "1")], [wh("a")]]), layout="oci-only")
        )
    ) as tar:
        tar.extractall(layout, filter="data")
    image = open_image(str(layout), source="oci")
    assert [len(layer.contents.whiteouts) for layer in image.layers] == [0, 1]
    # oci:// prefix and docker-archive on a directory both read it too
    assert len(open_image(f"oci://{layout}").layers) == 2
    assert len(open_image(str(layout), source="docker-archive").layers) == 2


def test_pure_oci_layout_keeps_manifest_order(tmp_path: Path) -> None:
    # dive 0.13.1 takes the layers of a layout without manifest.json in random (map) order.
    layers = [[f(f"layer{i}", str(i))] for i in range(8)]
    image = open_image(
        write(tmp_path, docker_archive(ImageSpec(layers=layers), layout="oci-only")),
        source="docker-archive",
    )
    assert [list(layer.contents.entries) for layer in image.layers] == [
        [f"layer{i}"] for i in range(8)
    ]


def test_history_with_empty_layers_maps_steps_to_layers(tmp_path: Path) -> None:
    spec = ImageSpec(
        layers=[[f("a", "1")], [f("b", "2")]],
        history=[
            Step("/bin/sh -c #(nop) ADD file:x in /"),
            Step('/bin/sh -c #(nop)  CMD ["sh"]', empty_layer=True),
            Step("/bin/sh -c echo 2 > /b"),
        ],
    )
    image = open_image(write(tmp_path, docker_archive(spec)), source="docker-archive")
    assert [(s.command, s.layer_index) for s in image.history] == [
        ("ADD file:x in /", 0),
        ('CMD ["sh"]', None),
        ("echo 2 > /b", 1),
    ]


def test_history_shorter_or_longer_than_layers() -> None:
    config = {"history": [{"created_by": "one"}]}
    steps = parse_history(config, 3)
    assert [(s.command, s.layer_index) for s in steps] == [
        ("one", 0),
        ("(missing history)", 1),
        ("(missing history)", 2),
    ]
    config = {"history": [{"created_by": "a"}, {"created_by": "b"}, {"created_by": "c"}]}
    assert [s.layer_index for s in parse_history(config, 2)] == [0, 1, None]
    assert parse_history({"history": "junk"}, 1)[0].command == "(missing history)"


def test_readable_commands() -> None:
    assert (
        readable_command('/bin/sh -c #(nop)  CMD ["python" "app.py"]') == 'CMD ["python" "app.py"]'
    )
    assert readable_command("/bin/sh -c apt-get update") == "apt-get update"
    assert (
        readable_command("RUN /bin/sh -c pip install flask # buildkit") == "RUN pip install flask"
    )
    assert readable_command("RUN |1 X=1 /bin/sh -c make # buildkit") == "RUN make"
    assert readable_command("COPY app.py . # buildkit") == "COPY app.py ."
    assert readable_command("WORKDIR /app") == "WORKDIR /app"


def test_scheme_prefixes() -> None:
    assert split_scheme("docker-archive:///x.tar", "docker") == ("docker-archive", "/x.tar")
    assert split_scheme("docker-tar://x.tar", "docker") == ("docker-archive", "x.tar")
    assert split_scheme("podman://img", "docker") == ("podman", "img")
    assert split_scheme("oci://dir", "docker") == ("oci", "dir")
    assert split_scheme("weird://x", "docker") == ("docker", "weird://x")
    with pytest.raises(UsageError, match="unknown image source 'nope'"):
        split_scheme("img", "nope")


def _archive_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(
    "members, message",
    [
        ({"foo.txt": b"hi"}, "neither manifest.json nor index.json"),
        ({"manifest.json": b"{not json"}, "manifest.json is not valid JSON"),
        ({"manifest.json": b"[]"}, "lists no image"),
        (
            {"manifest.json": b'[{"Config": "c.json", "Layers": ["l/layer.tar"]}]'},
            "config c.json is missing",
        ),
        (
            {
                "c.json": b"{}",
                "manifest.json": b'[{"Config": "c.json", "Layers": ["l/layer.tar"]}]',
            },
            "layer l/layer.tar named by the manifest is missing",
        ),
        (
            {
                "c.json": b"{}",
                "l/layer.tar": b"\x1f\x8b garbage that is not gzip" * 20,
                "manifest.json": b'[{"Config": "c.json", "Layers": ["l/layer.tar"]}]',
            },
            "layer l/layer.tar is unreadable",
        ),
        ({"index.json": b'{"manifests": []}'}, "no image manifest"),
        ({"index.json": b""}, "index index.json is not valid JSON"),
    ],
)
def test_broken_archives_give_clear_errors(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    with pytest.raises(ArchiveError, match=message):
        open_image(write(tmp_path, _archive_with(members)), source="docker-archive")


def test_truncated_archive_is_an_error_at_every_cut(tmp_path: Path) -> None:
    data = docker_archive(ImageSpec(layers=[[f("a", b"x" * 3000)], [f("b", b"y" * 3000)]]))
    for cut in range(0, len(data) - 10240, 509):
        with pytest.raises(ArchiveError):
            open_image(write(tmp_path, data[:cut]), source="docker-archive")


def test_missing_archive_file(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFoundError, match="does not exist"):
        open_image(str(tmp_path / "nope.tar"), source="docker-archive")


def test_config_diff_id_mismatch_is_a_warning(tmp_path: Path) -> None:
    data = docker_archive(ImageSpec(layers=[[f("a", "1")]]))
    # rewrite the config's diff_ids
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for member in src.getmembers():
            payload = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith(".json") and member.name != "manifest.json":
                config = json.loads(payload)
                config["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
                payload = json.dumps(config).encode()
                member.size = len(payload)
            dst.addfile(member, io.BytesIO(payload) if payload is not None else None)
    image = open_image(write(tmp_path, buf.getvalue()), source="docker-archive")
    assert any("does not match" in w for w in image.warnings)
    assert analyse(image).efficiency.size_bytes == 1


def test_layer_whose_first_entry_starts_with_a_bracket_is_a_layer(tmp_path: Path) -> None:
    # found by adversarial testing: it was taken for a JSON document
    for layout in ("legacy", "oci"):
        spec = ImageSpec(layers=[[d("{app}"), f("{app}/x", "1")], [f("[", "22")]])
        image = open_image(
            write(tmp_path, docker_archive(spec, layout=layout)), source="docker-archive"
        )
        assert [list(layer.contents.entries) for layer in image.layers] == [
            ["{app}", "{app}/x"],
            ["["],
        ]


def test_whiteout_with_an_empty_name_is_ignored(tmp_path: Path) -> None:
    from tests.image_builder import E

    spec = ImageSpec(layers=[[f("a", "1")], [E(".wh.", "file", b""), E("d/.wh.", "file", b"")]])
    analysis = analyse(open_image(write(tmp_path, docker_archive(spec)), source="docker-archive"))
    assert final_state(analysis).lookup("a") is not None


def _oci_archive(index: object, blobs: dict[str, object]) -> bytes:

    members = {"index.json": json.dumps(index).encode()}
    for digest_hex, doc in blobs.items():
        members[f"blobs/sha256/{digest_hex}"] = json.dumps(doc).encode()
    return _archive_with(members)


def test_nested_index_fan_out_does_not_hang(tmp_path: Path) -> None:
    # found by adversarial testing: 8 levels x 10 references = 10^8 walks
    blobs = {}
    child = "0" * 64
    blobs[child] = {"schemaVersion": 2, "manifests": []}
    for level in range(1, 7):
        digest = f"{level:064x}"
        blobs[digest] = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": f"sha256:{child}",
                }
            ]
            * 10,
        }
        child = digest
    index = {
        "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": f"sha256:{child}"}
        ]
        * 10
    }
    import time

    start = time.monotonic()
    with pytest.raises(ArchiveError, match="no image manifest|nests too deeply"):
        open_image(write(tmp_path, _oci_archive(index, blobs)), source="oci")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    "index, blobs, message",
    [
        (
            {"manifests": [{"digest": "sha256:" + "a" * 64}]},
            {"a" * 64: [1, 2]},
            "is not a JSON object",
        ),
    ],
)
def test_oci_documents_of_the_wrong_type(
    tmp_path: Path, index: object, blobs: dict, message: str
) -> None:
    with pytest.raises(ArchiveError, match=message):
        open_image(write(tmp_path, _oci_archive(index, blobs)), source="oci")


def test_repotags_of_the_wrong_type_are_ignored(tmp_path: Path) -> None:
    data = docker_archive(ImageSpec(layers=[[f("a", "1")]]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for member in src.getmembers():
            payload = src.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json":
                manifest = json.loads(payload)
                manifest[0]["RepoTags"] = 5
                payload = json.dumps(manifest).encode()
                member.size = len(payload)
            dst.addfile(member, io.BytesIO(payload) if payload is not None else None)
    image = open_image(write(tmp_path, buf.getvalue()), source="docker-archive")
    assert image.repo_tags == []


@pytest.mark.parametrize(
    ("created_by", "dive"),
    [
        # classic builder: only the exact "/bin/sh -c " prefix goes
        ("/bin/sh -c #(nop) COPY dir:0a1b in /data ", "#(nop) COPY dir:0a1b in /data "),
        ('/bin/sh -c #(nop)  CMD ["sh"]', '#(nop)  CMD ["sh"]'),
        ("/bin/sh -c #(nop) WORKDIR /app", "#(nop) WORKDIR /app"),
        ("/bin/sh -c apt-get update && rm -rf /x", "apt-get update && rm -rf /x"),
        # BuildKit steps keep their form
        ("RUN /bin/sh -c make # buildkit", "RUN /bin/sh -c make # buildkit"),
        ("COPY app.py /app # buildkit", "COPY app.py /app # buildkit"),
        ("|1 X=1 /bin/sh -c echo", "|1 X=1 /bin/sh -c echo"),
        ("  /bin/sh -c x", "  /bin/sh -c x"),
        ("", ""),
    ],
)
def test_layer_command_in_json_is_dives_string(created_by: str, dive: str) -> None:
    spec = ImageSpec(layers=[[f("a", "1")]], history=[Step(created_by)])
    _, text = pipeline(docker_archive(spec))
    layer = json.loads(text)["layer"][0]
    assert layer["command"] == dive
    assert layer["readableCommand"] == readable_command(created_by)
