"""Provides the ``--json`` export: dive 0.13.1's schema plus divepy's extra figures.

dive's keys (runtime/export): ``layer[]`` with ``index, id, digestId, sizeBytes, command,
fileList[]`` (``path, typeFlag, linkName, size, fileMode, uid, gid, isDir``) and ``image`` with
``sizeBytes, inefficientBytes, efficiencyScore, fileReference[]`` (``count, sizeBytes, file``).
divepy adds, under new keys only: ``image.userSizeBytes``, ``image.userWastedPercent`` (null
without user bytes), ``image.reclaimableBytes``, ``image.id``, ``image.name``,
``image.platform``, ``image.warnings``, per layer ``readableCommand`` (the step as the
explorer shows it; ``command`` is dive's exact string), ``digest``, ``createdAt``,
``opaqueDirectories``, per ``fileList`` record ``change`` (and ``removes`` for a whiteout,
``opaque`` for an opaque directory: see :mod:`dive_py.domain.layer_changes`),
``image.wasteExplanations[]`` (``path``, ``layers[]``, ``pattern``, ``hint``,
``reclaimableBytes``, ``files``: :mod:`dive_py.domain.waste`), ``compressedSizeBytes`` and ``mediaType`` (the blob's stored size
in bytes and media type, null when the source does not know them: the registry source knows
them), ``image.compressedSizeBytes`` (what a pull downloads; null unless every layer's is
known), and a top-level ``history[]`` with every step (``createdBy``,
``command``, ``created``, ``emptyLayer``, ``layerIndex``; ``imageId``, the intermediate image
as ``docker image history`` shows it or ``"<missing>"``, when an engine was asked; ``cached``
when ``divepy build`` made the image: True for a step taken from the layer cache).

Shared layers (engine sources only, :mod:`dive_py.domain.layer_sharing`): ``layer[].sharedWith``
(names of the other images holding the layer's chain) and ``image.sharedBytes``,
``image.uniqueBytes`` (``sharedBytes + uniqueBytes = sizeBytes``); absent for archives and OCI
layouts.

A container (``container://NAME``): ``layer[]`` and ``image`` stay the image's (dive's schema
unchanged); a top-level ``container`` object holds ``id``, ``name``, ``image``, ``state``,
``changes[]`` (``path`` absolute, ``change`` ``added`` | ``modified`` | ``deleted``,
``sizeBytes``: a file's bytes as copied up, 0 for a directory, for a deleted path the bytes the
image still stores below it), ``addedBytes``, ``copiedUpBytes``, ``hiddenBytes``
(:mod:`dive_py.domain.container_layer`).

Paths are written with ``json``'s ASCII escapes, so a non-UTF-8 byte kept as a lone surrogate
(``\\udcff``) stays recoverable: ``os.fsencode(path)`` gives the original bytes back.
The file is replaced atomically (see :mod:`dive_py.atomic_file`).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dive_py.domain.analysis import Analysis
from dive_py.domain.efficiency import InefficientPath
from dive_py.domain.entry import TYPEFLAG_OF_TYPE, EntryType, FileEntry
from dive_py.domain.history import HistoryStep
from dive_py.domain.image import Layer
from dive_py.domain.layer_changes import PathChange, layer_changes
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.waste import WasteExplanation, explain_waste

_escape = json.encoder.encode_basestring_ascii  # C-accelerated; the escaping json.dumps uses


def _file_record_lines(entries: list[FileEntry], changes: list[PathChange]) -> Iterator[str]:
    """Yield one JSON object per entry (dive's ``fileList`` record), keys in dive's order, then
    divepy's ``change`` (``added`` | ``modified`` | ``removed`` | ``unmodified``, as the
    explorer's tree marks the path in that layer), ``removes`` (a whiteout: the path it
    removes) and ``opaque`` (true for a directory the layer marked opaque).

    Written with f-strings around the C escaper rather than ``json.dumps`` per record: a
    200,000-entry image spent most of its ``--json`` time in the encoder's per-call overhead.
    """
    modes: dict[tuple[EntryType, int], int] = {}
    directory = EntryType.DIR
    for entry, change in zip(entries, changes, strict=True):
        extra = f'"change": "{change.change.config_name}"'
        if change.whiteout:
            extra += f', "removes": {_escape(change.path)}'
        if change.opaque:
            extra += ', "opaque": true'
        key = (entry.type, entry.mode)
        mode = modes.get(key)
        if mode is None:
            mode = modes[key] = entry.go_file_mode()
        yield (
            f'{{"path": {_escape(entry.path)}, "typeFlag": {TYPEFLAG_OF_TYPE[entry.type]}, '
            f'"linkName": {_escape(entry.linkname)}, "size": {entry.size}, '
            f'"fileMode": {mode}, "uid": {entry.uid}, "gid": {entry.gid}, '
            f'"isDir": {"true" if entry.type is directory else "false"}, {extra}}}'
        )


def _reference_lines(inefficient: Sequence[InefficientPath]) -> Iterator[str]:
    """Yield one JSON object per inefficient path (dive's ``fileReference`` record)."""
    for item in inefficient:
        yield (
            f'{{"count": {item.count}, "sizeBytes": {item.wasted_bytes}, '
            f'"file": {_escape(item.path)}}}'
        )


def _explanation_records(explanations: Sequence[WasteExplanation], indent: str) -> Iterator[str]:
    """Yield each waste explanation as ``json.dumps(..., indent=2)`` writes it at ``indent`` (the
    indentation of the list's items), without that indentation on its first line.

    Written by hand because the indented encoder is pure Python: a 200,000-entry image with
    14,771 explanations spent about 0.3 s in it. Keys as :func:`_document` names them; the
    export's tests compare this text with the encoder's.
    """
    inner = indent + "  "
    deeper = inner + "  "
    deepest = deeper + "  "
    for item in explanations:
        if item.layers:
            touches = f",\n{deeper}".join(
                f'{{\n{deepest}"index": {touch.index},\n'
                f'{deepest}"action": {_escape(touch.action)},\n'
                f'{deepest}"command": {_escape(touch.command)},\n'
                f'{deepest}"dockerfile": '
                f"{_escape(touch.dockerfile.where) if touch.dockerfile else 'null'}\n{deeper}}}"
                for touch in item.layers
            )
            layers = f"[\n{deeper}{touches}\n{inner}]"
        else:
            layers = "[]"
        yield (
            f'{{\n{inner}"path": {_escape(item.path)},\n'
            f'{inner}"layers": {layers},\n'
            f'{inner}"pattern": {_escape(item.pattern)},\n'
            f'{inner}"hint": {_escape(item.hint)},\n'
            f'{inner}"reclaimableBytes": {item.reclaimable_bytes},\n'
            f'{inner}"files": {item.files}\n{indent}}}'
        )


def explanation_document(item: WasteExplanation) -> dict[str, Any]:
    """One ``image.wasteExplanations[]`` record as a dict: ``path``, ``layers[]`` (``index``,
    ``action``, ``command``, ``dockerfile``: the Dockerfile's ``file:line`` or None),
    ``pattern``, ``hint``, ``reclaimableBytes`` (bytes), ``files``."""
    return {
        "path": item.path,
        "layers": [
            {
                "index": touch.index,
                "action": touch.action,
                "command": touch.command,
                "dockerfile": touch.dockerfile.where if touch.dockerfile else None,
            }
            for touch in item.layers
        ],
        "pattern": item.pattern,
        "hint": item.hint,
        "reclaimableBytes": item.reclaimable_bytes,
        "files": item.files,
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
            kids.sort(
                key=lambda p: p.rpartition("/")[2].encode("utf-8", "surrogateescape"), reverse=True
            )
            stack.extend((kid, False) for kid in kids)
            continue
        if path:
            ordered.append(by_path[path])
    return ordered


def _document(analysis: Analysis, placeholder: str) -> dict[str, Any]:
    """Return the export as a dict in key order (dive's keys first, then divepy's), with the
    string ``placeholder`` standing for every ``fileList``, for ``fileReference`` and for
    ``wasteExplanations`` (records: :func:`explanation_document`)."""
    image = analysis.image
    eff = analysis.efficiency
    sharing = analysis.sharing
    layers: list[dict[str, Any]] = []
    for layer in _image_layers(analysis):
        layers.append(
            {
                "index": layer.index,
                "id": layer.id,
                "digestId": layer.diff_id,
                "sizeBytes": layer.size_bytes,
                "command": layer.step.dive_command,
                "fileList": placeholder,
                "readableCommand": layer.command,
                "digest": layer.digest,
                "createdAt": layer.step.created,
                "opaqueDirectories": ["/" + p for p in layer.contents.opaque_dirs],
                "compressedSizeBytes": layer.compressed_size_bytes,
                "mediaType": layer.media_type or None,
            }
        )
        if sharing is not None and layer.index < len(sharing.shared_with):
            layers[-1]["sharedWith"] = list(sharing.shared_with[layer.index])
    document: dict[str, Any] = {
        "layer": layers,
        "image": {
            "sizeBytes": eff.size_bytes,
            "inefficientBytes": eff.wasted_bytes,
            "efficiencyScore": eff.score,
            "fileReference": placeholder,
            "userSizeBytes": eff.user_size_bytes,
            "userWastedPercent": eff.user_wasted_percent,
            "reclaimableBytes": eff.reclaimable_bytes,
            "id": image.image_id,
            "name": image.reference,
            "platform": image.platform,
            "warnings": list(image.warnings),
            "compressedSizeBytes": image.compressed_size_bytes,
            "wasteExplanations": placeholder,
        },
        "history": [_history_record(step) for step in _image_steps(analysis)],
    }
    if sharing is not None:
        document["image"]["sharedBytes"] = sharing.shared_bytes
        document["image"]["uniqueBytes"] = sharing.unique_bytes
    container = analysis.container
    if container is not None:
        rw = container.layer
        document["container"] = {
            "id": container.info.id,
            "name": container.info.name,
            "image": container.info.image,
            "state": container.info.state,
            "changes": [
                {"path": change.path, "change": change.change, "sizeBytes": change.size_bytes}
                for change in rw.changes
            ],
            "addedBytes": rw.added_bytes,
            "copiedUpBytes": rw.copied_up_bytes,
            "hiddenBytes": rw.hidden_bytes,
        }
    return document


def _image_layers(analysis: Analysis) -> list[Layer]:
    """The image's own layers (a container's read/write layer left out)."""
    layers = analysis.image.layers
    container = analysis.container
    return layers[: container.layer_index] if container is not None else layers


def _image_steps(analysis: Analysis) -> list[HistoryStep]:
    """The image's own history steps (a container's read/write layer's step left out)."""
    container = analysis.container
    return [
        step
        for step in analysis.image.history
        if container is None or step.layer_index != container.layer_index
    ]


def _history_record(step: HistoryStep) -> dict[str, Any]:
    record: dict[str, Any] = {
        "createdBy": step.created_by,
        "command": step.command,
        "created": step.created,
        "emptyLayer": step.empty_layer,
        "layerIndex": step.layer_index,
    }
    if step.image_id:
        record["imageId"] = step.image_id
    if step.cached is not None:
        record["cached"] = step.cached
    return record


def _one_line(records: Iterator[str]) -> Callable[[str], Iterator[str]]:
    """Records written one per line: their text does not depend on the indentation."""

    def at(_indent: str) -> Iterator[str]:
        return records

    return at


def render_json(analysis: Analysis) -> str:
    """Return the export as JSON text with a trailing newline.

    Layout: two-space indentation like dive's, except that each ``fileList`` and
    ``fileReference`` record stands on one line (the indented encoder is pure Python and
    several times slower on large images); the waste explanations are laid out as the
    indented encoder would, but written by hand (:func:`_explanation_records`). ASCII escapes
    keep non-UTF-8 names recoverable.
    """
    placeholder = f"divepy-records-{uuid.uuid4().hex}"  # no file name can collide with it
    text = json.dumps(_document(analysis, placeholder), indent=2, ensure_ascii=True)
    parts = text.split(f'"{placeholder}"')
    # per placeholder, in the document's order: its records, given the items' indentation
    record_lists: list[Callable[[str], Iterator[str]]] = []
    for layer in _image_layers(analysis):
        entries = layer_file_list(layer.contents)
        changes = layer_changes(analysis, layer.index, entries)
        record_lists.append(_one_line(_file_record_lines(entries, changes)))
    record_lists.append(_one_line(_reference_lines(analysis.efficiency.inefficient)))
    explanations = explain_waste(analysis, analysis.dockerfile)
    record_lists.append(functools.partial(_explanation_records, explanations))
    if len(parts) != len(record_lists) + 1:
        raise AssertionError("export skeleton lost a placeholder")  # pragma: no cover
    out = [parts[0]]
    for records, tail in zip(record_lists, parts[1:], strict=False):
        key_line = out[-1].rpartition("\n")[2]  # e.g. '      "fileList": '
        indent = " " * (len(key_line) - len(key_line.lstrip(" ")) + 2)
        body = f",\n{indent}".join(records(indent))
        out.append(f"[\n{indent}{body}\n{indent[:-2]}]" if body else "[]")
        out.append(tail)
    return "".join(out) + "\n"
