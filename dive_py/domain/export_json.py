"""Provides the ``--json`` export: dive 0.13.1's schema plus divepy's extra figures.

dive's keys (runtime/export): ``layer[]`` with ``index, id, digestId, sizeBytes, command,
fileList[]`` (``path, typeFlag, linkName, size, fileMode, uid, gid, isDir``) and ``image`` with
``sizeBytes, inefficientBytes, efficiencyScore, fileReference[]`` (``count, sizeBytes, file``).
divepy adds, under new keys only: ``image.userSizeBytes``, ``image.userWastedPercent`` (null
without user bytes), ``image.reclaimableBytes``, ``image.id``, ``image.name``,
``image.platform``, ``image.warnings``, per layer ``digest``, ``createdAt``,
``opaqueDirectories``, and a top-level ``history[]`` with every step (``createdBy``,
``command``, ``created``, ``emptyLayer``, ``layerIndex``).

Paths are written with ``json``'s ASCII escapes, so a non-UTF-8 byte kept as a lone surrogate
(``\\udcff``) stays recoverable: ``os.fsencode(path)`` gives the original bytes back.
The file is replaced atomically (see :mod:`dive_py.atomic_file`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from dive_py.domain.analysis import Analysis
from dive_py.domain.entry import TYPEFLAG_OF_TYPE, FileEntry
from dive_py.domain.layer_tar import LayerContents


def _file_record(entry: FileEntry) -> dict[str, Any]:
    return {
        "path": entry.path,
        "typeFlag": TYPEFLAG_OF_TYPE[entry.type],
        "linkName": entry.linkname,
        "size": entry.size,
        "fileMode": entry.go_file_mode(),
        "uid": entry.uid,
        "gid": entry.gid,
        "isDir": entry.is_dir,
    }


def layer_file_list(contents: LayerContents) -> list[FileEntry]:
    """Return a layer's own entries in dive's order: depth-first, children (by name) before
    their directory; whiteouts included as ``.wh.name``; implicit directories as real ones."""
    by_path: dict[str, FileEntry] = {}
    by_path.update(contents.implicit_dirs)
    by_path.update(contents.entries)
    for whiteout in contents.whiteouts:
        by_path.setdefault(whiteout.path, whiteout)
    children: dict[str, list[str]] = {}
    for path in by_path:
        parent = path.rpartition("/")[0]
        children.setdefault(parent, []).append(path)
    ordered: list[FileEntry] = []
    stack: list[tuple[str, bool]] = [("", False)]
    while stack:
        path, expanded = stack.pop()
        kids = children.get(path)
        if kids and not expanded:
            stack.append((path, True))
            kids.sort(key=lambda p: p.rpartition("/")[2].encode("utf-8", "surrogateescape"),
                      reverse=True)
            stack.extend((kid, False) for kid in kids)
            continue
        if path:
            ordered.append(by_path[path])
    return ordered


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    """Return the export as a JSON-ready dict (dive's keys first, then divepy's)."""
    image = analysis.image
    eff = analysis.efficiency
    layers = []
    for layer in image.layers:
        layers.append({
            "index": layer.index,
            "id": layer.id,
            "digestId": layer.diff_id,
            "sizeBytes": layer.size_bytes,
            "command": layer.command,
            "fileList": [_file_record(e) for e in layer_file_list(layer.contents)],
            "digest": layer.digest,
            "createdAt": layer.step.created,
            "opaqueDirectories": ["/" + p for p in layer.contents.opaque_dirs],
        })
    return {
        "layer": layers,
        "image": {
            "sizeBytes": eff.size_bytes,
            "inefficientBytes": eff.wasted_bytes,
            "efficiencyScore": eff.score,
            "fileReference": [{"count": item.count, "sizeBytes": item.wasted_bytes,
                               "file": item.path} for item in eff.inefficient],
            "userSizeBytes": eff.user_size_bytes,
            "userWastedPercent": eff.user_wasted_percent,
            "reclaimableBytes": eff.reclaimable_bytes,
            "id": image.image_id,
            "name": image.reference,
            "platform": image.platform,
            "warnings": list(image.warnings),
        },
        "history": [{
            "createdBy": step.created_by,
            "command": step.command,
            "created": step.created,
            "emptyLayer": step.empty_layer,
            "layerIndex": step.layer_index,
        } for step in image.history],
    }


def render_json(analysis: Analysis) -> str:
    """Return the export as JSON text with a trailing newline.

    Layout: two-space indentation like dive's, except that each ``fileList`` record stands on
    one line (the indented encoder is pure Python and several times slower on large images).
    ASCII escapes keep non-UTF-8 names recoverable.
    """
    document = analysis_document(analysis)
    placeholder = f"divepy-file-list-{uuid.uuid4().hex}"  # no file name can collide with it
    file_lists = [layer["fileList"] for layer in document["layer"]]
    for layer in document["layer"]:
        layer["fileList"] = placeholder
    text = json.dumps(document, indent=2, ensure_ascii=True)
    dumps = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode
    parts = text.split(f'"{placeholder}"')
    out = [parts[0]]
    for records, tail in zip(file_lists, parts[1:]):
        if records:
            out.append("[\n        " + ",\n        ".join(dumps(r) for r in records) + "\n      ]")
        else:
            out.append("[]")
        out.append(tail)
    return "".join(out) + "\n"
