"""Provides :func:`explain_waste`: why bytes are wasted, which build steps did it, and a fix.

Two kinds of waste are explained, each as a :class:`WasteExplanation` naming the bytes its
hint would save:

* bytes a layer stores but the final image does not show (divepy's reclaimable bytes): a
  file written by one step and deleted or overwritten by a later one. The layer that wrote
  it keeps the bytes whatever later steps do, so the fix is in the step that wrote them:
  delete in the same ``RUN`` step (``deleted-later``), set the mode or owner while copying
  (``metadata-copy-up``: a later ``chmod``/``chown`` copies the whole file up into a new
  layer), copy once (``copied-twice``), write only the final version (``overwritten``);
* bytes the final image shows that no program needs at run time: package manager lists and
  caches (apt, apk, dnf/yum), language caches (pip, npm, yarn, cargo, go),
  ``__pycache__``/``.pyc``, ``.git`` directories.

A known cache's path wins over the generic patterns (a pip cache deleted in a later step is
``pip-cache``, with pip's own fix). Files are grouped by (pattern, the step that wrote them,
the step that hid them, the cache or deleted directory); a group's path is that directory,
else the files' common path. Saving: the group's bytes (sum of the files' sizes, as layer
sizes count them: tar headers and directories are 0), which is what a rebuilt image with the
hint applied saves.

Sources of the rules: overlay2's copy-up (Docker docs "Use the OverlayFS storage driver"),
Docker's "Best practices for writing Dockerfiles" (apt lists, ``--no-cache``), pip's
``--no-cache-dir``, ``--no-compile``, ``PYTHONDONTWRITEBYTECODE``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.container_analysis import image_part
from dive_py.domain.dockerfile_steps import DockerfileInstruction, match_steps
from dive_py.domain.entry import EntryType
from dive_py.domain.layer_tar import LayerContents
from dive_py.domain.whiteout import deleted_path


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A cache pattern. ``prefixes`` and ``needles`` only let a path skip the regex when it
    cannot match: every match starts with one of ``prefixes`` (empty: anywhere) and holds one
    of ``needles`` (empty: none needed)."""

    name: str
    regex: re.Pattern[str]
    what: str
    fix: str
    prefixes: tuple[str, ...] = ()
    needles: tuple[str, ...] = ()


_HOME = r"(?:root|home/[^/]+)"
CACHE_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern(
        "apt-lists",
        re.compile(r"^(var/lib/apt/lists|var/cache/apt)(?:/|$)"),
        "apt's package lists and cache",
        "end the RUN step that runs apt-get install with "
        "'&& apt-get clean && rm -rf /var/lib/apt/lists/*'",
        ("var/lib/apt/lists", "var/cache/apt"),
    ),
    _Pattern(
        "apk-cache",
        re.compile(r"^(var/cache/apk)(?:/|$)"),
        "apk's cache",
        "use 'apk add --no-cache'",
        ("var/cache/apk",),
    ),
    _Pattern(
        "dnf-cache",
        re.compile(r"^(var/cache/(?:dnf|yum))(?:/|$)"),
        "dnf/yum's cache",
        "end the RUN step with '&& dnf clean all' (or 'yum clean all')",
        ("var/cache/dnf", "var/cache/yum"),
    ),
    _Pattern(
        "pip-cache",
        re.compile(rf"^({_HOME}/\.cache/pip)(?:/|$)"),
        "pip's cache",
        "use 'pip install --no-cache-dir' (or ENV PIP_NO_CACHE_DIR=1)",
        ("root/.cache/pip", "home/"),
    ),
    _Pattern(
        "npm-cache",
        re.compile(rf"^({_HOME}/\.npm)(?:/|$)"),
        "npm's cache",
        "end the RUN step with '&& npm cache clean --force'",
        ("root/.npm", "home/"),
    ),
    _Pattern(
        "yarn-cache",
        re.compile(rf"^(usr/local/share/\.cache/yarn|{_HOME}/\.cache/yarn)(?:/|$)"),
        "yarn's cache",
        "end the RUN step with '&& yarn cache clean'",
        ("usr/local/share/.cache/yarn", "root/.cache/yarn", "home/"),
    ),
    _Pattern(
        "cargo-cache",
        re.compile(rf"^((?:{_HOME}/\.cargo|usr/local/cargo)/registry)(?:/|$)"),
        "cargo's registry cache",
        "remove the registry in the same RUN step, or build in a separate stage",
        ("root/.cargo/registry", "usr/local/cargo/registry", "home/"),
    ),
    _Pattern(
        "go-cache",
        re.compile(rf"^({_HOME}/\.cache/go-build|{_HOME}/go/pkg/mod|go/pkg/mod)(?:/|$)"),
        "go's build and module caches",
        "end the RUN step with '&& go clean -cache -modcache', or build in a separate stage",
        ("root/.cache/go-build", "root/go/pkg/mod", "go/pkg/mod", "home/"),
    ),
    _Pattern(
        "pycache",
        re.compile(r"^((?:.*/)?__pycache__)(?:/|$)|\.pyc$"),
        "Python bytecode (__pycache__, .pyc)",
        "set ENV PYTHONDONTWRITEBYTECODE=1 and use 'pip install --no-compile'",
        needles=("__pycache__", ".pyc"),
    ),
    _Pattern(
        "git-dir",
        re.compile(r"^((?:.*/)?\.git)(?:/|$)"),
        "a .git directory",
        "add .git to .dockerignore",
        needles=(".git",),
    ),
)
"""Paths no program needs at run time, with what they are and how not to keep them (the first
pattern that matches a path wins)."""

_ANY_PREFIX = tuple(prefix for p in CACHE_PATTERNS for prefix in p.prefixes)
_ANY_NEEDLE = tuple(needle for p in CACHE_PATTERNS if not p.prefixes for needle in p.needles)
if any(not p.prefixes and not p.needles for p in CACHE_PATTERNS):  # pragma: no cover
    raise AssertionError("a cache pattern without prefixes needs needles")


@dataclass(frozen=True, slots=True)
class LayerTouch:
    """What one layer did to an explained path.

    Attributes:
        index: the layer.
        action: ``wrote``, ``rewrote`` (the same bytes again), ``overwrote`` (other bytes),
            ``changed mode/owner of``, ``deleted``.
        command: the history step's readable command.
        dockerfile: the Dockerfile instruction that made the step, when the Dockerfile is known.
    """

    index: int
    action: str
    command: str
    dockerfile: DockerfileInstruction | None = None


@dataclass(slots=True)
class WasteExplanation:
    """One explained waste: a path, the layers that made it, the pattern, and the fix.

    Attributes:
        path: the explained path (``"/root/.cache/pip"``), a directory for a group of files.
        layers: what each involved layer did, bottom to top.
        pattern: ``deleted-later``, ``metadata-copy-up``, ``copied-twice``, ``overwritten``,
            or a cache pattern's name (:data:`CACHE_PATTERNS`: ``apt-lists``, ``pip-cache``…).
        hint: the fix, naming the bytes it saves (and the Dockerfile line when known).
        reclaimable_bytes: bytes the fix saves.
        files: how many files the explanation covers.
    """

    path: str
    layers: list[LayerTouch]
    pattern: str
    hint: str
    reclaimable_bytes: int
    files: int = 0
    _paths: list[str] = field(default_factory=list, repr=False)


def _cache_pattern(path: str) -> tuple[_Pattern, str | None] | None:
    """The first of :data:`CACHE_PATTERNS` matching ``path`` and its group 1, or None.

    A pattern whose ``prefixes`` or ``needles`` rule the path out is not tried (the regexes were
    1.7 million searches for a 200,000-entry image); the answer is the same as trying them all.
    """
    if not path.startswith(_ANY_PREFIX):
        for needle in _ANY_NEEDLE:
            if needle in path:
                break
        else:
            return None  # no pattern can match: most paths end here
    for pattern in CACHE_PATTERNS:
        if pattern.prefixes and not path.startswith(pattern.prefixes):
            continue
        needles = pattern.needles
        if needles and not any(needle in path for needle in needles):
            continue
        found = pattern.regex.search(path)
        if found:
            return pattern, found.group(1)
    return None


class _Hiding:
    """Finds the first layer above a layer that replaced or deleted a path
    (:meth:`hidden_by`); what happened to each directory above is worked out once per
    (directory, layer) and kept, not again for every file below it.

    Args:
        layers: the image's layers.
        deleted: per layer, the paths its whiteouts delete.
    """

    __slots__ = ("_layers", "_deleted", "_above")

    def __init__(self, layers: Sequence[LayerContents], deleted: list[set[str]]) -> None:
        self._layers = layers
        self._deleted = deleted
        self._above: dict[tuple[str, int], tuple[int, str] | None] = {}

    def _directory_gone(self, directory: str, start: int) -> tuple[int, str] | None:
        """The first layer above ``start`` that deleted ``directory`` or a directory above it,
        or put a non-directory in its place: (layer, the deleted path), the nearest path first
        within one layer. Worked out from the root down, each directory once (no recursion:
        paths may be deep)."""
        above = self._above
        pending: list[str] = []
        current = directory
        while (current, start) not in above:
            pending.append(current)
            if not current:
                break
            current = current.rpartition("/")[0]
        layers = self._layers
        deleted = self._deleted
        for current in reversed(pending):
            found: tuple[int, str] | None = None
            for index in range(start + 1, len(layers)):
                if current in deleted[index]:
                    found = (index, current)
                    break
                entry = layers[index].entries.get(current)
                if entry is not None and not entry.is_dir:
                    found = (index, current)  # a file or link replaced the directory
                    break
            if current:
                higher = above[current.rpartition("/")[0], start]
                if higher is not None and (found is None or higher[0] < found[0]):
                    found = higher
            above[current, start] = found
        return above[directory, start]

    def hidden_by(self, path: str, start: int) -> tuple[int, str, str] | None:
        """The first layer above ``start`` that replaced or deleted ``path``: (layer, ``write``
        or ``delete``, the path it wrote or deleted). Within one layer the path itself comes
        first, then its directories, the nearest first."""
        own: tuple[int, str] | None = None
        layers = self._layers
        for index in range(start + 1, len(layers)):
            if path in layers[index].entries:
                own = (index, "write")
                break
            if path in self._deleted[index]:
                own = (index, "delete")
                break
        above = self._directory_gone(path.rpartition("/")[0], start) if path else None
        if above is not None and (own is None or above[0] < own[0]):
            return above[0], "delete", above[1]
        if own is not None:
            return own[0], own[1], path
        return None


def _visible_data(analysis: Analysis) -> set[int]:
    """ids of the entries whose bytes the final image shows (through any name): the entries of
    the last layer's stacked state (what its compared tree shows present)."""
    root = analysis.final_state()
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:  # in no order (FileNode.walk sorts every directory's children)
        node = stack.pop()
        entry = node.entry
        if entry is not None:
            # (a file's data is itself: no property call for most entries)
            data = entry if entry.type is EntryType.FILE else entry.data
            if data is not None:
                seen.add(id(data))
        children = node.children
        if children:
            stack.extend(children.values())
    return seen


def explain_waste(
    analysis: Analysis, dockerfile: Sequence[DockerfileInstruction] = ()
) -> list[WasteExplanation]:
    """Explain the image's wasted bytes, most bytes first.

    Args:
        analysis: the analysed image.
        dockerfile: the final stage's instructions (:func:`~dive_py.domain.dockerfile_steps.read_dockerfile`),
            to name the file and line of each step; empty when unknown.

    Returns:
        The explanations, largest saving first (ties by path).
    """
    analysis = image_part(analysis)  # the image's waste: a container's layer is not the image's
    image = analysis.image
    layers = [layer.contents for layer in image.layers]
    if not layers:
        return []
    matched = match_steps(image.history, dockerfile) if dockerfile else {}
    by_layer: dict[int, DockerfileInstruction] = {}
    for position, step in enumerate(image.history):
        if step.layer_index is not None and position in matched:
            by_layer[step.layer_index] = matched[position]

    def touch(index: int, action: str) -> LayerTouch:
        return LayerTouch(index, action, image.layers[index].command, by_layer.get(index))

    deleted = [{deleted_path(w.path) for w in layer.whiteouts} for layer in layers]
    opaque = [set(layer.opaque_dirs) for layer in layers]
    visible = _visible_data(analysis)
    hiding = _Hiding(layers, deleted)
    groups: dict[tuple[str, int, int, str, str], WasteExplanation] = {}

    def add(key: tuple[str, int, int, str, str], path: str, size: int) -> None:
        group = groups[key]  # made by the caller on first use (most files join a group)
        group.reclaimable_bytes += size
        group.files += 1
        group._paths.append(path)

    # a layer whose very contents come again higher up (an image holding one blob twice): its
    # entries are the same objects as the higher copy's, hidden by it
    repeated = {i for i, layer in enumerate(layers) if any(up is layer for up in layers[i + 1 :])}
    for index, layer in enumerate(layers):
        for path, entry in layer.entries.items():
            if entry.type not in (EntryType.FILE, EntryType.OTHER) or not entry.size:
                continue
            cache = _cache_pattern(path)
            if id(entry) in visible and index not in repeated:
                if cache is not None:
                    pattern, root = cache
                    root = "" if pattern.name == "pycache" else root  # one group per step
                    key = (pattern.name, index, -1, root or "", "")
                    if key not in groups:
                        groups[key] = WasteExplanation(
                            "", [touch(index, "wrote")], pattern.name, "", 0
                        )
                    add(key, path, entry.size)
                continue
            hidden = hiding.hidden_by(path, index)
            if hidden is None:
                # hidden by an opaque directory above
                hider = next(
                    (
                        k
                        for k in range(index + 1, len(layers))
                        if any(path.startswith(o + "/") or not o for o in opaque[k])
                    ),
                    None,
                )
                if hider is None:
                    continue
                hidden = (hider, "delete", path.rpartition("/")[0])
            hider, how, where = hidden
            if cache is not None:
                pattern, root = cache
                root = "" if pattern.name == "pycache" else root
                key = (pattern.name, index, hider, root or "", "")
                action = "deleted" if how == "delete" else "overwrote"
                if key not in groups:
                    groups[key] = WasteExplanation(
                        "", [touch(index, "wrote"), touch(hider, action)], pattern.name, "", 0
                    )
                add(key, path, entry.size)
                continue
            if how == "delete":
                key = ("deleted-later", index, hider, where, "")
                if key not in groups:
                    groups[key] = WasteExplanation(
                        "/" + where,
                        [touch(index, "wrote"), touch(hider, "deleted")],
                        "deleted-later",
                        "",
                        0,
                    )
                add(key, path, entry.size)
                continue
            newer = layers[hider].entries[path]
            same_bytes = (
                newer.type is entry.type
                and newer.digest == entry.digest
                and newer.size == entry.size
            )
            if same_bytes and (newer.mode, newer.uid, newer.gid) != (
                entry.mode,
                entry.uid,
                entry.gid,
            ):
                name, action = "metadata-copy-up", "changed mode/owner of"
            elif (
                same_bytes
                and _is_copy(image.layers[index].command)
                and _is_copy(image.layers[hider].command)
            ):
                name, action = "copied-twice", "rewrote"
            else:
                name, action = "overwritten", "rewrote" if same_bytes else "overwrote"
            key = (name, index, hider, "", "")
            if key not in groups:
                groups[key] = WasteExplanation(
                    "", [touch(index, "wrote"), touch(hider, action)], name, "", 0
                )
            add(key, path, entry.size)
    explanations = list(groups.values())
    for (name, _writer, _hider, root, _), group in groups.items():
        if not group.path:
            group.path = "/" + (root or _common_path(group._paths))
        group.hint = _hint(name, group)
        group._paths = []
    explanations.sort(key=lambda e: (-e.reclaimable_bytes, e.path))
    return explanations


def _is_copy(command: str) -> bool:
    return command.startswith(("COPY", "ADD"))


def _common_path(paths: list[str]) -> str:
    if len(paths) == 1:
        return paths[0]
    return posixpath.commonpath(paths)


def _step(touch: LayerTouch) -> str:
    if touch.dockerfile is not None:
        return f"{touch.dockerfile.where} ({touch.dockerfile.keyword})"
    command = touch.command if len(touch.command) <= 40 else touch.command[:39] + "…"
    return f"layer {touch.index} ({command})"


def _hint(name: str, group: WasteExplanation) -> str:
    saves = f"saves {group.reclaimable_bytes} bytes, {format_bytes(group.reclaimable_bytes)}"
    writer = group.layers[0]
    hider = group.layers[1] if len(group.layers) > 1 else None
    cache = next((p for p in CACHE_PATTERNS if p.name == name), None)
    if cache is not None:
        if hider is not None and hider.action == "deleted":
            return (
                f"{cache.what} written by {_step(writer)} and deleted by {_step(hider)} stays in "
                f"its layer: {cache.fix} in that step ({saves})"
            )
        return f"{cache.what} left by {_step(writer)}: {cache.fix} ({saves})"
    assert hider is not None
    if name == "deleted-later":
        return (
            f"{group.path} is written by {_step(writer)} and deleted by {_step(hider)}: delete "
            f"it in the same RUN step that writes it, or do not write it ({saves})"
        )
    if name == "metadata-copy-up":
        return (
            f"{_step(hider)} only changes the mode or owner of files from {_step(writer)}, which "
            f"copies them whole into a new layer: set them while copying (COPY --chmod/--chown) "
            f"or in the step that writes them ({saves})"
        )
    if name == "copied-twice":
        return (
            f"{_step(writer)} and {_step(hider)} copy the same bytes to {group.path}: copy them "
            f"once ({saves})"
        )
    return (
        f"{group.path} written by {_step(writer)} is overwritten by {_step(hider)}: write only "
        f"the final version ({saves})"
    )


def path_touches(analysis: Analysis, path: str) -> list[LayerTouch]:
    """What each layer did to ``path`` (``"/usr/bin/x"``): wrote, rewrote, deleted; bottom to top.

    A whiteout of the path or of a directory above it counts as a deletion.
    """
    target = path.strip("/")
    image = analysis.image
    matched = match_steps(image.history, analysis.dockerfile) if analysis.dockerfile else {}
    by_layer = {
        step.layer_index: matched[position]
        for position, step in enumerate(image.history)
        if step.layer_index is not None and position in matched
    }
    out: list[LayerTouch] = []
    for layer in image.layers:
        contents = layer.contents
        if target in contents.entries:
            present = bool(out) and out[-1].action != "deleted"
            action = "rewrote" if present else "wrote"
        elif (
            out
            and out[-1].action != "deleted"
            and any(
                target == gone or target.startswith(gone + "/")
                for gone in (deleted_path(w.path) for w in contents.whiteouts)
            )
        ):
            action = "deleted"
        else:
            continue
        out.append(LayerTouch(layer.index, action, layer.command, by_layer.get(layer.index)))
    return out


def explanation_for(explanations: Sequence[WasteExplanation], path: str) -> WasteExplanation | None:
    """The explanation covering ``path`` (the same path, or a directory above it), or None."""
    for item in explanations:
        if path == item.path or path.startswith(item.path.rstrip("/") + "/"):
            return item
    return None


def detail_line(analysis: Analysis, explanations: Sequence[WasteExplanation], path: str) -> str:
    """One line for the explorer's inefficient-files pane: what each layer did to ``path``,
    then the pattern and hint of the explanation covering it, if any."""
    touches = path_touches(analysis, path)
    steps = ", ".join(f"layer {t.index} {t.action}" for t in touches) or "no layer names it"
    item = explanation_for(explanations, path)
    if item is None:
        return f"{path}: {steps}"
    return f"{path}: {steps} · {item.pattern}: {item.hint}"
