"""``render_json``: the records written by hand (not by ``json.dumps``) are valid, exact JSON."""

from __future__ import annotations

import json
import os

from tests.hostile.helpers import pipeline
from tests.image_builder import E, ImageSpec, d, docker_archive, f, sym, wh

# Names that need escaping: quotes, backslashes, control characters, non-ASCII, and a byte
# that is not UTF-8 (kept as a lone surrogate, written as \udcff).
AWKWARD = [
    'a"quote',
    "back\\slash",
    "tab\there",
    "new\nline",
    "caf\u00e9",
    "\u2603 snow",
    os.fsdecode(b"bad\xffbyte"),
    "\x7fdel",
    "</script>",
]


def _spec() -> ImageSpec:
    base = [
        d("etc"),
        *(f(f"etc/{name}", name.encode("utf-8", "surrogateescape")) for name in AWKWARD),
        sym("etc/link", 'to "x"'),
        E("etc/fifo", "fifo", mode=0o644),
    ]
    upper = [f("etc/" + AWKWARD[0], "rewritten"), wh("etc/" + AWKWARD[1])]
    return ImageSpec(layers=[base, upper, []])


def test_records_round_trip_with_every_field() -> None:
    analysis, text = pipeline(docker_archive(_spec()))
    doc = json.loads(text)
    layer0 = {r["path"]: r for r in doc["layer"][0]["fileList"]}
    for name in AWKWARD:
        record = layer0["etc/" + name]
        assert record == {
            "path": "etc/" + name,
            "typeFlag": ord("0"),
            "linkName": "",
            "size": len(name.encode("utf-8", "surrogateescape")),
            "fileMode": 0o644,
            "uid": 0,
            "gid": 0,
            "isDir": False,
            "change": "added",
        }
    assert layer0["etc/link"]["linkName"] == 'to "x"'
    assert layer0["etc/link"]["fileMode"] == 0o777 | (1 << 27)  # Go's os.ModeSymlink
    assert layer0["etc/fifo"]["fileMode"] == 0o644 | (1 << 25)  # Go's os.ModeNamedPipe
    assert layer0["etc"]["isDir"] is True and layer0["etc"]["fileMode"] == 0o755 | (1 << 31)
    assert doc["layer"][2]["fileList"] == []
    references = doc["image"]["fileReference"]
    assert references == [
        {"count": item.count, "sizeBytes": item.wasted_bytes, "file": item.path}
        for item in analysis.efficiency.inefficient
    ]
    assert {r["file"] for r in references} == {"/etc/" + AWKWARD[0], "/etc/" + AWKWARD[1]}


def test_each_record_stands_on_its_own_line_and_text_is_ascii() -> None:
    _, text = pipeline(docker_archive(_spec()))
    assert text.isascii() and text.endswith("}\n")
    lines = text.splitlines()
    records = [line.strip().rstrip(",") for line in lines if line.lstrip().startswith('{"')]
    doc = json.loads(text)
    assert len(records) == (
        sum(len(layer["fileList"]) for layer in doc["layer"]) + len(doc["image"]["fileReference"])
    )
    for record in records:
        json.loads(record)  # a whole object per line
    file_list_line = next(i for i, line in enumerate(lines) if '"fileList": [' in line)
    key_indent = len(lines[file_list_line]) - len(lines[file_list_line].lstrip())
    assert lines[file_list_line + 1].startswith(" " * (key_indent + 2) + '{"path": ')


def test_an_image_without_waste_has_empty_lists() -> None:
    _, text = pipeline(docker_archive(ImageSpec(layers=[[f("a", "x")]])))
    doc = json.loads(text)
    assert doc["image"]["fileReference"] == []
    assert '"fileReference": []' in text
