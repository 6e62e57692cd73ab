"""Provides a layer's version of a file: :func:`locate_version` finds it, :class:`ContentReader` reads it.

A *version* of a path at layer N is what the image shows at that path after layers ``0..N``
are stacked (:class:`~dive_py.domain.file_tree.StackedStates`, the one stacking engine): the
entry of the highest layer ``<= N`` that wrote it. Symlinks (also symlinked parents) resolve
to the target's version visible at that layer; a hardlink gives its data (the entry that holds
its bytes, see :attr:`~dive_py.domain.entry.FileEntry.data`).

Where the bytes come from, without ever extracting an image to disk:

- archive and OCI sources: the layer blob is a byte range of a file
  (:attr:`~dive_py.domain.layer_tar.LayerContents.blob`) and each regular file's data offset
  in the uncompressed layer tar was recorded while reading
  (:attr:`~dive_py.domain.layer_tar.LayerContents.data_offsets`): an uncompressed layer is
  read by seeking straight there; a compressed one is decompressed from the layer's start;
- the ``docker`` source kept no bytes: a path visible in the final image is read through the
  Engine API from a container that is created, never started, and removed at once
  (:mod:`dive_py.domain.sources.engine_file`); any other version streams the image again up to
  that layer (so does an archive compressed as a whole);
- the ``podman`` source kept no bytes either: ``podman image save`` is streamed again up to the
  layer that holds the version (:func:`dive_py.domain.sources.podman.podman_save_stream`).

Every long read calls ``progress(bytes done, bytes in all or None)`` and checks ``cancel``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from dive_py.domain.analysis import Analysis
from dive_py.domain.compare import CompareMode
from dive_py.domain.compression import Compression, CorruptStreamError, read_decompressed
from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import FileNode, find_node
from dive_py.domain.image import Image, Layer
from dive_py.domain.layer_tar import normalise_path
from dive_py.domain.tar_stream import HARDLINK, SYMLINK, Readable, TarFormatError, TarReader
from dive_py.errors import ImageError

VIEW_LIMIT = 1 << 20
"""Bytes of a file read for viewing (1 MiB); the rest is never read into memory."""
MAX_SYMLINK_HOPS = 40
"""Symlinks followed while resolving one path (Linux's limit, ELOOP)."""
_CHUNK = 1 << 20

#: called with (bytes done, bytes in all, or None when unknown) while a read goes on.
ContentProgress = Callable[[int, int | None], None]
#: called now and then; True stops the read (:class:`ContentCancelled`).
CancelCheck = Callable[[], bool]
#: receives each version with a stream of exactly its bytes (read as much as needed).
ContentSink = Callable[["FileVersion", Readable], None]


class ContentError(ImageError):
    """A file version cannot be found or read (exit 3): missing path, symlink loop, a source
    that cannot give the bytes."""


class _NotInEngineArchive(ContentError):
    """The engine's archive of a final-image path held no such file (Docker cannot tar a name
    that is not UTF-8: it sends an empty archive)."""


class ContentCancelled(Exception):
    """A read was stopped by its ``cancel`` check."""


@dataclass(frozen=True, slots=True)
class FileVersion:
    """One layer's version of a path.

    Attributes:
        path: the path asked for, without a leading ``/``.
        index: the layer the version was asked at (0 = the base layer).
        resolved: ``path`` with every symlink followed (equal to ``path`` when none was).
        entry: the entry at ``resolved`` at layer ``index`` (a hardlink stays a hardlink).
        data: the entry holding the bytes: ``entry`` for a file, a hardlink's data entry;
            None for directories, devices, FIFOs and links whose data is unknown.
        layer: the index of the layer whose tar holds ``data``'s bytes (``entry``'s layer
            when there is no data).
        symlinks: the symlink paths followed, in order.
        final: True when the final image shows this very entry at ``resolved`` (the engine
            can then give the bytes from a container).
    """

    path: str
    index: int
    resolved: str
    entry: FileEntry
    data: FileEntry | None
    layer: int
    symlinks: tuple[str, ...]
    final: bool

    @property
    def size(self) -> int:
        """Bytes of content (0 without data)."""
        return self.data.size if self.data is not None else 0


@dataclass(frozen=True, slots=True)
class FileContent:
    """The first bytes of a version, as read for viewing.

    Attributes:
        version: the :class:`FileVersion` read.
        data: at most the limit's bytes from the start of the file.
        size: the file's whole size in bytes.
        truncated: True when ``data`` stops before the file's end (the limit was reached).
    """

    version: FileVersion
    data: bytes
    size: int
    truncated: bool


def state_root(analysis: Analysis, index: int) -> FileNode:
    """The root of what the image shows after layer ``index`` (a compared tree's present nodes).

    Raises:
        ContentError: ``index`` is not a layer of the image.
    """
    if not 0 <= index < len(analysis.image.layers):
        raise ContentError(
            f"the image has no layer {index}",
            f"use a layer index from 0 to {len(analysis.image.layers) - 1}",
        )
    return analysis.compared_tree(index, CompareMode.LAYER).root


def _lookup(root: FileNode, path: str) -> FileEntry | None:
    node = find_node(root, path)
    return node.entry if node is not None else None


def resolve_path(
    root: FileNode, path: str, *, follow_last: bool = True
) -> tuple[str, tuple[str, ...]]:
    """Resolve ``path`` in a state: follow symlinks (targets relative to their directory, or
    absolute from the image's root; ``..`` stops at the root), as the kernel would inside a
    container.

    Args:
        root: a state's (or compared tree's) root.
        path: the path, with or without a leading ``/``.
        follow_last: also follow a symlink in the last component.

    Returns:
        (the resolved path without a leading ``/``, the symlink paths followed).

    Raises:
        ContentError: a component is missing or not a directory, or more than
            :data:`MAX_SYMLINK_HOPS` symlinks.
    """
    pending = [part for part in path.split("/") if part]
    pending.reverse()
    done: list[str] = []
    followed: list[str] = []
    while pending:
        part = pending.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = "/".join([*done, part])
        entry = _lookup(root, candidate)
        if entry is None:
            raise ContentError(f"/{candidate} does not exist at that layer", "check the path")
        if entry.type is EntryType.SYMLINK and (pending or follow_last):
            if len(followed) >= MAX_SYMLINK_HOPS:
                raise ContentError(
                    f"/{path.lstrip('/')}: too many levels of symbolic links",
                    "the image's symlinks form a loop",
                )
            followed.append(candidate)
            if entry.linkname.startswith("/"):
                done = []
            pending.extend(reversed([p for p in entry.linkname.split("/") if p]))
            continue
        if pending and not entry.is_dir:
            raise ContentError(f"/{candidate} is not a directory", "check the path")
        done.append(part)
    return "/".join(done), tuple(followed)


def layer_of(layers: Sequence[Layer], index: int, entry: FileEntry) -> int:
    """Return the highest layer ``<= index`` whose tar holds ``entry`` (by identity, else an
    equal entry at the same path).

    Raises:
        ContentError: no such layer (an entry synthesised for a directory no layer spelled out).
    """
    for k in range(min(index, len(layers) - 1), -1, -1):
        if layers[k].contents.entries.get(entry.path) is entry:
            return k
    for k in range(min(index, len(layers) - 1), -1, -1):
        found = layers[k].contents.entries.get(entry.path)
        if found is not None and found.same_as(entry):
            return k
    raise ContentError(f"no layer up to {index} holds /{entry.path}", "check the path")


def locate_version(
    analysis: Analysis, index: int, path: str, *, follow_last: bool = True
) -> FileVersion:
    """Find layer ``index``'s version of ``path`` (see the module's description).

    Args:
        analysis: the analysed image.
        index: the layer (0 = the base layer).
        path: the path, with or without a leading ``/``.
        follow_last: follow a symlink in the last component (False: the symlink itself).

    Raises:
        ContentError: the path does not exist at that layer, or cannot be resolved.
    """
    root = state_root(analysis, index)
    resolved, followed = resolve_path(root, path, follow_last=follow_last)
    entry = _lookup(root, resolved)
    if entry is None:
        raise ContentError(f"/{resolved} does not exist at layer {index}", "check the path")
    layers = analysis.image.layers
    data = (
        entry.data if entry.type in (EntryType.FILE, EntryType.OTHER, EntryType.HARDLINK) else None
    )
    if entry.type is EntryType.OTHER:
        data = entry
    layer = (
        layer_of(layers, index, data) if data is not None else _entry_layer(layers, index, entry)
    )
    final_root = state_root(analysis, len(layers) - 1)
    final = _lookup(final_root, resolved) is entry
    return FileVersion(path.strip("/"), index, resolved, entry, data, layer, followed, final)


def _entry_layer(layers: Sequence[Layer], index: int, entry: FileEntry) -> int:
    try:
        return layer_of(layers, index, entry)
    except ContentError:
        return index  # a directory no layer spelled out


class _Limited:
    """At most ``size`` bytes of ``raw`` (a member's data), with cancel checks."""

    __slots__ = ("_raw", "left", "_cancel")

    def __init__(self, raw: Readable, size: int, cancel: CancelCheck | None) -> None:
        self._raw = raw
        self.left = size
        self._cancel = cancel

    def read(self, n: int = -1) -> bytes:
        if self._cancel is not None and self._cancel():
            raise ContentCancelled
        if self.left <= 0:
            return b""
        want = self.left if n < 0 else min(n, self.left)
        data = self._raw.read(want)
        if not data:
            raise ContentError("the layer ended inside a file", "the image is damaged")
        self.left -= len(data)
        return data


class _Forward:
    """Reads an uncompressed layer tar forward: skips to an offset by seeking (a file) or by
    reading and dropping bytes (a decompressed or streamed layer)."""

    def __init__(
        self,
        raw: Readable,
        seekable: BinaryIO | None,
        base: int,
        cancel: CancelCheck | None,
        progress: ContentProgress | None,
        total: int | None,
    ) -> None:
        self._raw = raw
        self._file = seekable
        self._base = base
        self.position = 0
        self._cancel = cancel
        self._progress = progress
        self._total = total

    def skip_to(self, offset: int) -> None:
        if self._file is not None:
            self._file.seek(self._base + offset)
            self.position = offset
            return
        while self.position < offset:
            if self._cancel is not None and self._cancel():
                raise ContentCancelled
            data = self._raw.read(min(_CHUNK, offset - self.position))
            if not data:
                raise ContentError("the layer ended before the file", "the image is damaged")
            self.position += len(data)
            if self._progress is not None:
                self._progress(self.position, self._total)

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.position += len(data)
        return data


class _Window:
    """``size`` bytes of a file from its current position (a layer blob inside an archive)."""

    __slots__ = ("_file", "_left")

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._file.read(self._left if n < 0 else min(n, self._left))
        self._left -= len(data)
        return data


def _member_names(layer: Layer) -> set[str]:
    """The names a layer's blob may have in an image archive (legacy and OCI layouts)."""
    names = {f"{layer.id}/layer.tar", f"blobs/sha256/{layer.id}"}
    if layer.id.endswith(".tar"):
        names.add(layer.id)  # podman's docker-archive: the blob is "<diff ID hex>.tar"
    if ":" in layer.digest:
        algorithm, _, hex_digest = layer.digest.partition(":")
        names.add(f"blobs/{algorithm}/{hex_digest}")
    return names


class ContentReader:
    """Reads file versions of one analysed image from wherever its source keeps the bytes.

    Args:
        analysis: the analysed image.
        engine: returns a connected ``docker.APIClient`` for the ``docker`` source (called at
            most once, only when the engine is needed); None: made from ``env`` as the source
            makes it.
        env: the environment the engine endpoint is chosen from (``os.environ`` when None).
        podman: the ``podman`` command, for the ``podman`` source.
    """

    def __init__(
        self,
        analysis: Analysis,
        *,
        engine: Callable[[], Any] | None = None,
        env: dict[str, str] | None = None,
        podman: str = "podman",
    ) -> None:
        self.analysis = analysis
        self._podman = podman
        self._engine_factory = engine
        self._env = env
        self._api: Any = None

    @property
    def image(self) -> Image:
        """The image read from."""
        return self.analysis.image

    @property
    def env(self) -> dict[str, str] | None:
        """The environment registry and engine reads use (None: ``os.environ``)."""
        return self._env

    def _engine(self) -> Any:
        if self._api is None:
            if self._engine_factory is not None:
                self._api = self._engine_factory()
            else:
                from dive_py.domain.sources.docker_engine import DockerEngineSource

                self._api = DockerEngineSource(env=self._env).client()
        return self._api

    def read(
        self,
        version: FileVersion,
        limit: int = VIEW_LIMIT,
        *,
        cancel: CancelCheck | None = None,
        progress: ContentProgress | None = None,
    ) -> FileContent:
        """Read the first ``limit`` bytes of ``version`` (never more into memory).

        Raises:
            ContentError: the version has no bytes (a directory, a device) or they cannot be read.
            ContentCancelled: ``cancel`` returned True.
        """
        if version.data is None:
            raise ContentError(
                f"/{version.resolved} is a {version.entry.type.name.lower()}, not a file",
                "choose a file",
            )
        got: list[bytes] = []

        def take(_version: FileVersion, stream: Readable) -> None:
            left = min(limit, _version.size)
            while left > 0:
                data = stream.read(left)
                if not data:
                    break
                got.append(data)
                left -= len(data)

        if version.final and self.image.source == "docker" and version.size:
            try:
                self._from_container(version, take, cancel)
            except _NotInEngineArchive:
                # read it from the image's own layer, as the versions below are
                self.stream_versions([version], take, cancel=cancel, progress=progress)
        else:
            self.stream_versions([version], take, cancel=cancel, progress=progress)
        data = b"".join(got)
        return FileContent(version, data, version.size, len(data) < version.size)

    def _from_container(
        self, version: FileVersion, sink: ContentSink, cancel: CancelCheck | None
    ) -> None:
        from dive_py.domain.sources.engine_file import container_archive

        with (
            _source_errors(),
            container_archive(
                self._engine(), self.image.image_id, version.resolved, self.image.reference
            ) as raw,
        ):
            reader = TarReader(raw, strict_end=False)
            for member in reader:
                if member.typeflag == b"0" and member.size == version.size:
                    sink(version, _Limited(reader.data_stream(), member.size, cancel))
                    return
        raise _NotInEngineArchive(
            f"the engine gave no file for /{version.resolved}", "check the path in the final image"
        )

    def stream_versions(
        self,
        versions: Sequence[FileVersion],
        sink: ContentSink,
        *,
        cancel: CancelCheck | None = None,
        progress: ContentProgress | None = None,
    ) -> None:
        """Call ``sink`` with each version that has data and a stream of exactly its bytes.

        Versions that share one data entry (hardlinks to one file, a path asked twice) are
        served once, with the first of them: the caller links or copies the others.

        Versions are served layer by layer in the order their bytes lie (one pass per layer,
        or one pass over the image when the image must be streamed again); the sink may read
        less than all.

        Raises:
            ContentError: the bytes cannot be read (missing blob, damaged layer, no engine).
            ContentCancelled: ``cancel`` returned True.
        """
        by_layer: dict[int, list[FileVersion]] = {}
        served: set[int] = set()
        for version in versions:
            if version.data is not None and id(version.data) not in served:
                served.add(id(version.data))
                by_layer.setdefault(version.layer, []).append(version)
        if not by_layer:
            return
        layers = self.image.layers
        on_disk = {k for k in by_layer if layers[k].contents.blob is not None}
        for k in sorted(on_disk):
            with self._open_blob(layers[k], cancel, progress) as forward:
                self._serve(layers[k], forward, by_layer[k], sink, cancel)
        rest = {k: by_layer[k] for k in by_layer if k not in on_disk}
        if rest and self.image.source == "registry":
            self._from_registry(rest, sink, cancel, progress)
        elif rest:
            self._stream_image(rest, sink, cancel, progress)

    def _from_registry(
        self,
        by_layer: dict[int, list[FileVersion]],
        sink: ContentSink,
        cancel: CancelCheck | None,
        progress: ContentProgress | None,
    ) -> None:
        """Serve versions of a registry image: each layer's blob is downloaded again (by its
        digest, decompressed as it arrives) up to the versions it holds."""
        from dive_py.domain.sources.registry_client import RegistryClient
        from dive_py.domain.sources.registry_reference import parse_registry_reference

        layers = self.image.layers
        env = self._env if self._env is not None else dict(os.environ)
        with _source_errors():
            client = RegistryClient(parse_registry_reference(self.image.reference), env)
        try:
            for k in sorted(by_layer):
                layer = layers[k]
                with _source_errors():
                    blob = client.open_blob(layer.digest, layer.compressed_size_bytes or 0)
                    stream, _ = read_decompressed(blob)
                forward = _Forward(stream, None, 0, cancel, progress, None)
                self._serve(layer, forward, by_layer[k], sink, cancel)
        finally:
            client.close()

    @contextlib.contextmanager
    def _open_blob(
        self, layer: Layer, cancel: CancelCheck | None, progress: ContentProgress | None
    ) -> Iterator[_Forward]:
        blob = layer.contents.blob
        assert blob is not None
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(open(blob.path, "rb"))
            except OSError as exc:
                raise ContentError(
                    f"cannot open {blob.path}: {exc.strerror or exc}",
                    "the archive was moved or removed since it was read: open it again",
                ) from None
            handle.seek(blob.offset)
            if layer.contents.compression is Compression.NONE:
                yield _Forward(handle, handle, blob.offset, cancel, progress, None)
                return
            stream, _ = read_decompressed(_Window(handle, blob.size))
            yield _Forward(stream, None, 0, cancel, progress, None)

    def _serve(
        self,
        layer: Layer,
        forward: _Forward,
        versions: list[FileVersion],
        sink: ContentSink,
        cancel: CancelCheck | None,
    ) -> None:
        offsets = layer.contents.data_offsets
        located = [v for v in versions if v.data is not None and v.data.path in offsets]
        missing = [v for v in versions if v not in located]
        try:
            if missing:
                self._scan_layer(forward, missing + located, sink, cancel)
                return
            located.sort(key=lambda v: offsets[v.data.path] if v.data is not None else 0)
            for version in located:
                assert version.data is not None
                forward.skip_to(offsets[version.data.path])
                sink(version, _Limited(forward, version.size, cancel))
        except (TarFormatError, CorruptStreamError) as exc:
            raise ContentError(
                f"layer {layer.index} cannot be read: {exc}", "the image is damaged"
            ) from None

    @staticmethod
    def _scan_layer(
        forward: _Forward,
        versions: list[FileVersion],
        sink: ContentSink,
        cancel: CancelCheck | None,
    ) -> None:
        wanted: dict[str, list[FileVersion]] = {}
        for version in versions:
            assert version.data is not None
            wanted.setdefault(version.data.path, []).append(version)
        forward.skip_to(0)
        reader = TarReader(forward, strict_end=False)
        for member in reader:
            if cancel is not None and cancel():
                raise ContentCancelled
            path, _ = normalise_path(member.name)
            waiting = wanted.get(path)
            if not waiting or member.typeflag not in (b"0", b"7") or waiting[0].size != member.size:
                continue
            for version in wanted.pop(path):
                sink(version, _Limited(reader.data_stream(), member.size, cancel))
                break
            if not wanted:
                return
        if wanted:
            raise ContentError(
                f"/{next(iter(wanted))} was not found in its layer", "the image is damaged"
            )

    def _stream_image(
        self,
        wanted: dict[int, list[FileVersion]],
        sink: ContentSink,
        cancel: CancelCheck | None,
        progress: ContentProgress | None,
    ) -> None:
        """Stream the whole image again (the engine's save stream, or an archive compressed as a
        whole) and serve the wanted layers as their members go by."""
        layers = self.image.layers
        for _pass in range(2):
            names: dict[str, list[int]] = {}
            for k in wanted:
                for name in _member_names(layers[k]):
                    names.setdefault(name, []).append(k)
            seen: set[str] = set()
            again: dict[int, list[FileVersion]] = {}
            with self._image_stream() as raw:
                total = self.image.size_bytes or None
                reader = TarReader(_Counting(raw, cancel, progress, total))
                try:
                    for member in reader:
                        name, _ = normalise_path(member.name)
                        seen.add(name)
                        indices = names.pop(name, None)
                        if indices is None:
                            continue
                        indices = [k for k in indices if k in wanted]
                        if member.typeflag in (SYMLINK, HARDLINK):
                            target = member.linkname
                            if member.typeflag == SYMLINK and not target.startswith("/"):
                                target = posixpath.join(posixpath.dirname(name), target)
                            target = normalise_path(target)[0]
                            if target in seen:
                                for k in indices:
                                    again[k] = wanted.pop(k)
                            else:
                                names.setdefault(target, []).extend(indices)
                            continue
                        if not indices:
                            continue
                        # layers that share one blob are served from the same bytes
                        serving = [v for k in indices for v in wanted.pop(k)]
                        stream, _ = read_decompressed(reader.data_stream())
                        forward = _Forward(stream, None, 0, cancel, None, None)
                        self._serve(layers[indices[0]], forward, serving, sink, cancel)
                        if not wanted:
                            break
                except (TarFormatError, CorruptStreamError) as exc:
                    raise ContentError(f"the image stream cannot be read: {exc}", "retry") from None
            if not again:
                break
            wanted = {**wanted, **again}  # aliases of members already passed: one more pass
        if wanted:
            raise ContentError(
                f"layer {min(wanted)}'s blob was not found in the image stream",
                "the image changed since it was read: open it again",
            )

    @contextlib.contextmanager
    def _image_stream(self) -> Iterator[Readable]:
        image = self.image
        if image.source == "docker":
            from dive_py.domain.sources.engine_file import image_save_stream

            with _source_errors():
                stream = image_save_stream(
                    self._engine(), image.image_id or image.reference, image.reference
                )
            yield stream
            return
        if image.source == "podman":
            from dive_py.domain.sources.podman import podman_save_stream

            with (
                _source_errors(),
                podman_save_stream(image.image_id, image.reference, self._podman) as saved,
            ):
                yield saved
            return
        if image.source in ("docker-archive", "oci"):
            from dive_py.domain.sources.archive_reference import parse_archive_reference

            path = parse_archive_reference(image.reference, image.source).path
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    raw, _ = read_decompressed(handle)
                    yield raw
                return
        raise ContentError(
            f"divepy cannot read file contents from the {image.source} source",
            "save the image to an archive and open that (docker-archive or oci)",
        )


@contextlib.contextmanager
def _source_errors() -> Iterator[None]:
    """Turn a source's failure (no engine, no podman, a refused save) into :class:`ContentError`,
    which readers of contents catch."""
    try:
        yield
    except ContentError:
        raise
    except ImageError as exc:
        raise ContentError(exc.message, exc.hint) from None


class _Counting:
    """Passes reads through, reporting progress and checking ``cancel`` per read."""

    __slots__ = ("_raw", "_done", "_cancel", "_progress", "_total")

    def __init__(
        self,
        raw: Readable,
        cancel: CancelCheck | None,
        progress: ContentProgress | None,
        total: int | None,
    ) -> None:
        self._raw = raw
        self._done = 0
        self._cancel = cancel
        self._progress = progress
        self._total = total

    def read(self, n: int = -1) -> bytes:
        if self._cancel is not None and self._cancel():
            raise ContentCancelled
        data = self._raw.read(n)
        self._done += len(data)
        if self._progress is not None:
            self._progress(self._done, self._total)
        return data
