#!/usr/bin/env python3
"""Does parsing the layers of an archive on disk in parallel processes pay on 2 cores? (issue 5)

For each image archive (a ``docker save`` tar: legacy ``<id>/layer.tar`` layout or the OCI-style
``blobs/sha256/…`` layout Docker >= 25 writes) this runs, each in its own child process under
``/usr/bin/time -f %M`` and interleaved round by round so that load changes hit every variant
alike:

``stream``
    the product's read path in-process: ``read_archive_stream(open(FILE, "rb"))`` +
    ``assemble_image`` (one sequential pass over the whole file).
``serial``
    index the outer tar (headers only, seeking past the data with :mod:`tarfile`), then
    ``read_layer`` over a bounded window of the file per layer, one after the other; after the
    timed part the child also measures ``pickle.dumps``/``loads`` of every layer (the cost the
    parallel variants pay to move results between processes), for the break-even figures.
``pool<N>-<method>``
    the same index, then every layer parsed by a ``ProcessPoolExecutor(max_workers=N)`` with
    the ``fork`` or ``forkserver`` start method, largest layer first; a worker pickles its
    :class:`LayerContents` itself (timed) and the parent unpickles it (timed), then
    ``assemble_image``.
``threads<N>``
    the same index, then the layers parsed by N threads of one process (no pickling): gains
    only where the GIL is released (reads, sha256, xxh64 on large buffers).
``spool<N>``
    what the Engine's ``docker save`` stream would need: the archive is read as a
    non-seekable stream (a pipe fed by ``cat``), every layer member is copied to a temporary
    file as it streams by and handed to the pool as soon as it is complete, while the parent
    reads on.
``cli``
    the whole product, ``python -m dive_py.cli --no-cache --source docker-archive --json
    /dev/null FILE`` (reading + efficiency + JSON), for scale.

The in-child figures (``read s``) run from opening the file to an assembled
:class:`~dive_py.domain.image.Image` and exclude interpreter start-up; every variant's image is
checked against ``stream``'s (same diff IDs, same entry counts). The cyclic garbage collector
is paused while reading, as the CLI does.

Usage::

    .venv/bin/python bench/parallel_layers.py --out bench/results-parallel          # default set
    .venv/bin/python bench/parallel_layers.py --images /tmp/bw/big.tar --runs 5 --out /tmp/p
    .venv/bin/python bench/parallel_layers.py --make-uneven /tmp/bw/uneven.tar       # write only

Peak RSS: ``/usr/bin/time -f %M`` reports the largest single process of the tree (the parent or
one worker: Linux's ``ru_maxrss`` of waited-for children is a maximum, not a sum), so the pool
variants also report the sum of the parent's and every worker's own peak (``getrusage``),
an upper bound of what the tree held at once.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import multiprocessing
import os
import pickle
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dive_py.domain.layer_tar import LayerContents, LayerFormatError, normalise_path, read_layer  # noqa: E402
from dive_py.domain.sources.archive_stream import (ArchiveParts, _looks_like_json,  # noqa: E402
                                                   read_archive_stream)
from dive_py.domain.sources.image_layout import assemble_image  # noqa: E402
from dive_py.domain.tar_stream import HARDLINK, REGULAR, SYMLINK, TarReader  # noqa: E402

TIME_BIN = "/usr/bin/time"
DEFAULT_IMAGES = ("/tmp/bw/e20000-l10-r0.2-d0.1-o1-p64-s1.tar",
                  "/tmp/bw/e200000-l10-r0.2-d0.1-o1-p64-s1.tar",
                  "/tmp/bw/uneven-oci-e200k.tar",
                  "/tmp/bw/big.tar")
DEFAULT_VARIANTS = ("stream", "serial", "pool2-fork", "pool2-forkserver", "pool3-fork",
                    "pool4-fork", "threads2", "spool2", "cli")
MTIME = 1_700_000_000


# --------------------------------------------------------------------------------------------
# indexing the outer tar and reading a byte range
# --------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Blob:
    """One regular member of the outer tar that holds a layer.

    Attributes:
        name: normalised member path (``"<id>/layer.tar"`` or ``"blobs/sha256/<hex>"``).
        offset: byte offset of its data in the archive file.
        size: bytes of data.
        head: its first bytes (up to 512), for compression detection.
    """

    name: str
    offset: int
    size: int
    head: bytes


def index_archive(path: str) -> tuple[ArchiveParts, list[Blob]]:
    """Walk the outer tar's headers (seeking past member data) and sort its members.

    Mirrors :func:`read_archive_stream`'s classification: symlinks/hardlinks become aliases,
    JSON-looking members are read into ``documents`` (they are small), the rest are layer
    blobs, returned with their byte range instead of being parsed.
    """
    parts = ArchiveParts()
    blobs: list[Blob] = []
    with open(path, "rb") as handle, tarfile.open(fileobj=handle, mode="r:") as tar:
        fd = handle.fileno()
        while True:
            info = tar.next()  # seeks to the next header; member data is never read here
            if info is None:
                break
            name, _ = normalise_path(info.name)
            if info.issym() or info.islnk():
                target = info.linkname
                if info.issym() and not target.startswith("/"):
                    target = os.path.join(os.path.dirname(name), target)
                parts.aliases[name] = normalise_path(target)[0]
                continue
            if not info.isreg():
                continue
            base = name.rsplit("/", 1)[-1]
            if base.endswith(".json") or base in ("json", "repositories", "oci-layout"):
                parts.documents[name] = os.pread(fd, info.size, info.offset_data)
                continue
            if base == "VERSION":
                continue
            head = os.pread(fd, min(512, info.size), info.offset_data)
            if not head:
                parts.broken[name] = "empty blob"
                continue
            if _looks_like_json(head):
                parts.documents[name] = os.pread(fd, info.size, info.offset_data)
                continue
            blobs.append(Blob(name, info.offset_data, info.size, head))
        tar.members.clear()
    return parts, blobs


class Window:
    """A read-only stream over ``size`` bytes of an open raw file from ``offset`` on."""

    __slots__ = ("_file", "_left")

    def __init__(self, file: io.RawIOBase, offset: int, size: int) -> None:
        file.seek(offset)
        self._file = file
        self._left = size

    def read(self, n: int = -1) -> bytes:
        """Return up to ``n`` bytes (all that is left when ``n < 0``); ``b""`` at the end."""
        if n < 0 or n > self._left:
            n = self._left
        if n == 0:
            return b""
        data = self._file.read(n)
        if not data:
            raise EOFError("archive ended inside a layer")
        self._left -= len(data)
        return data


def parse_range(path: str, offset: int, size: int, head: bytes) -> LayerContents:
    """``read_layer`` over bytes ``[offset, offset + size)`` of the file at ``path``."""
    with open(path, "rb", buffering=0) as raw:
        return read_layer(Window(raw, offset, size), head)


# --------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------

def _release(contents: "LayerContents | str") -> None:
    """Break the ``data is self`` cycle of file entries so that refcounting frees the layer
    (a full ``gc.collect()`` in a forked worker would also walk, and copy-on-write-touch,
    every object inherited from the parent)."""
    if isinstance(contents, str):
        return
    for group in (contents.entries.values(), contents.whiteouts, contents.implicit_dirs.values()):
        for entry in group:
            entry.data = None


def _worker_parse(path: str, offset: int, size: int, head: bytes) -> tuple[bytes, dict[str, Any]]:
    """Parse one layer in a worker; return it pickled plus the worker's own timings.

    The pickling is done here rather than left to the executor so that it can be timed; the
    executor then only copies a ``bytes`` object. After pickling, the layer's objects are freed
    (see :func:`_release`; the collector stays paused, as in the CLI).
    """
    gc.disable()
    start = time.perf_counter()
    cpu0 = time.process_time()
    try:
        contents: LayerContents | str = parse_range(path, offset, size, head)
    except LayerFormatError as exc:
        contents = str(exc)
    parsed = time.perf_counter()
    blob = pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL)
    dumped = time.perf_counter()
    _release(contents)
    del contents
    done = time.perf_counter()
    return blob, {"pid": os.getpid(), "parse_s": parsed - start, "dumps_s": dumped - parsed,
                  "gc_s": done - dumped, "cpu_s": time.process_time() - cpu0,
                  "pickle_bytes": len(blob), "bytes": size,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _noop() -> int:
    return os.getpid()


# --------------------------------------------------------------------------------------------
# variants (run inside a child process)
# --------------------------------------------------------------------------------------------

def _summary(image: Any) -> dict[str, Any]:
    layers = image.layers
    return {"layers": len(layers),
            "entries": sum(len(l.contents.entries) + len(l.contents.whiteouts) for l in layers),
            "members": sum(l.contents.member_count for l in layers),
            "layer_members": [l.contents.member_count for l in layers],
            "diff_ids": [l.contents.diff_id for l in layers]}


def run_stream(path: str) -> dict[str, Any]:
    """The product's read path: one sequential pass, then assembly."""
    start = time.perf_counter()
    cpu0 = time.process_time()
    with open(path, "rb") as handle:
        parts = read_archive_stream(handle)
    image = assemble_image(parts, reference=path, source="docker-archive")
    return {"read_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu0,
            **_summary(image)}


def run_serial(path: str) -> dict[str, Any]:
    """Index, then parse each layer's byte range in this process; then time pickling."""
    start = time.perf_counter()
    cpu0 = time.process_time()
    parts, blobs = index_archive(path)
    indexed = time.perf_counter()
    per_layer = []
    per_layer_cpu = []
    for blob in blobs:
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            parts.layers[blob.name] = parse_range(path, blob.offset, blob.size, blob.head)
        except LayerFormatError as exc:
            parts.broken[blob.name] = str(exc)
        per_layer_cpu.append(time.process_time() - c0)
        per_layer.append(time.perf_counter() - t0)
    image = assemble_image(parts, reference=path, source="docker-archive")
    read_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Not part of read_s: what moving each layer between processes would cost (CPU seconds,
    # which a busy machine does not inflate).
    dumps_s = loads_s = 0.0
    pickled = 0
    for contents in parts.layers.values():
        t0 = time.process_time()
        blob_bytes = pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL)
        t1 = time.process_time()
        copy = pickle.loads(blob_bytes)
        loads_s += time.process_time() - t1
        dumps_s += t1 - t0
        pickled += len(blob_bytes)
        _release(copy)
        del copy, blob_bytes
    return {"read_s": read_s, "cpu_s": cpu_s, "index_s": indexed - start,
            "parse_s": sum(per_layer), "parse_cpu_s": sum(per_layer_cpu),
            "layer_parse_s": per_layer, "layer_parse_cpu_s": per_layer_cpu,
            "layer_bytes": [b.size for b in blobs],
            "dumps_cpu_s": dumps_s, "loads_cpu_s": loads_s, "pickle_bytes": pickled,
            "rss_at_read_kib": rss_kib, **_summary(image)}


def _collect(parts: ArchiveParts, name: str, future: Future, stats: list[dict[str, Any]]) -> float:
    """Unpickle one worker result into ``parts``; return the seconds spent unpickling."""
    blob, info = future.result()
    t0 = time.perf_counter()
    contents = pickle.loads(blob)
    spent = time.perf_counter() - t0
    if isinstance(contents, str):
        parts.broken[name] = contents
    else:
        parts.layers[name] = contents
    info["name"] = name
    stats.append(info)
    return spent


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the pool's joined workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pool_report(start: float, cpu0: float, workers_cpu: float, pool_ready: float,
                 stats: list[dict[str, Any]], loads_s: float, image: Any,
                 extra: dict[str, Any]) -> dict[str, Any]:
    workers: dict[int, int] = {}
    for info in stats:
        workers[info["pid"]] = max(workers.get(info["pid"], 0), info["maxrss_kib"])
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parent_cpu = time.process_time() - cpu0
    return {"read_s": time.perf_counter() - start, "pool_start_s": pool_ready - start,
            "parent_cpu_s": parent_cpu, "workers_cpu_s": workers_cpu,
            "cpu_s": parent_cpu + workers_cpu,
            "parse_s": sum(i["parse_s"] for i in stats),
            "dumps_s": sum(i["dumps_s"] for i in stats),
            "worker_gc_s": sum(i["gc_s"] for i in stats),
            "worker_cpu_s": sum(i["cpu_s"] for i in stats),
            "loads_s": loads_s, "pickle_bytes": sum(i["pickle_bytes"] for i in stats),
            "workers_used": len(workers), "parent_rss_kib": parent_kib,
            "rss_sum_kib": parent_kib + sum(workers.values()),
            "max_task_cpu_s": max((i["cpu_s"] for i in stats), default=0.0),
            "tasks": [{k: i[k] for k in ("name", "pid", "parse_s", "dumps_s", "cpu_s", "bytes")}
                      for i in stats], **extra, **_summary(image)}


def run_pool(path: str, workers: int, method: str) -> dict[str, Any]:
    """Index in the parent, parse the layers in ``workers`` processes (largest first)."""
    start = time.perf_counter()
    cpu0 = time.process_time()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["dive_py.domain.layer_tar"])
    stats: list[dict[str, Any]] = []
    loads_s = 0.0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Start the workers while the parent indexes (the product would do the same).
        warm = [pool.submit(_noop) for _ in range(workers)]
        parts, blobs = index_archive(path)
        indexed = time.perf_counter()
        for w in warm:
            w.result()
        pool_ready = time.perf_counter()
        blobs.sort(key=lambda b: b.size, reverse=True)
        pending = {pool.submit(_worker_parse, path, b.offset, b.size, b.head): b.name
                   for b in blobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                loads_s += _collect(parts, pending.pop(future), future, stats)
    workers_cpu = _children_cpu()  # the workers were joined when the pool shut down
    image = assemble_image(parts, reference=path, source="docker-archive")
    return _pool_report(start, cpu0, workers_cpu, pool_ready, stats, loads_s, image,
                        {"index_s": indexed - start, "method": method, "max_workers": workers})


def run_threads(path: str, workers: int) -> dict[str, Any]:
    """Index, then parse the layers in ``workers`` threads of this process (largest first).

    No pickling and no second copy of anything; it can only gain where the work runs without
    the GIL: file reads, ``hashlib.sha256`` (diff IDs) and ``xxhash`` (file contents; the
    package releases the GIL since 3.0) on large buffers. The header loop holds the GIL.
    """
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    cpu0 = time.process_time()
    parts, blobs = index_archive(path)
    blobs.sort(key=lambda b: b.size, reverse=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(parse_range, path, b.offset, b.size, b.head): b.name
                   for b in blobs}
        for future, name in futures.items():
            try:
                parts.layers[name] = future.result()
            except LayerFormatError as exc:
                parts.broken[name] = str(exc)
    image = assemble_image(parts, reference=path, source="docker-archive")
    return {"read_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu0,
            "max_workers": workers, **_summary(image)}


class _Spooler:
    """Copy the current member's data from a :class:`TarReader` to a file, counting bytes."""

    def __init__(self, handle: io.BufferedWriter) -> None:
        self.handle = handle
        self.size = 0

    def update(self, view: memoryview) -> None:
        self.handle.write(view)
        self.size += len(view)


def run_spool(path: str, workers: int, spool_dir: str) -> dict[str, Any]:
    """A save stream: read the archive from a pipe, spool each layer to a temp file, hand it on.

    The parent is the only reader of the (non-seekable) stream; a layer can be parsed only
    once its last byte has been spooled, and the parent keeps reading the next one meanwhile.
    """
    start = time.perf_counter()
    cpu0 = time.process_time()
    context = multiprocessing.get_context("fork")
    stats: list[dict[str, Any]] = []
    loads_s = 0.0
    spooled = 0
    spool_s = 0.0
    cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE, bufsize=0)
    temp = tempfile.mkdtemp(prefix="divepy-spool-", dir=spool_dir)
    parts = ArchiveParts()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            warm = [pool.submit(_noop) for _ in range(workers)]
            pending: dict[Future, str] = {}
            reader = TarReader(cat.stdout)  # type: ignore[arg-type]
            for member in reader:
                # collect whatever finished meanwhile, without waiting
                for future in [f for f in pending if f.done()]:
                    loads_s += _collect(parts, pending.pop(future), future, stats)
                name, _ = normalise_path(member.name)
                if member.typeflag in (SYMLINK, HARDLINK):
                    target = member.linkname
                    if member.typeflag == SYMLINK and not target.startswith("/"):
                        target = os.path.join(os.path.dirname(name), target)
                    parts.aliases[name] = normalise_path(target)[0]
                    continue
                if member.typeflag != REGULAR:
                    continue
                base = name.rsplit("/", 1)[-1]
                if base.endswith(".json") or base in ("json", "repositories", "oci-layout"):
                    parts.documents[name] = reader.read()
                    continue
                if base == "VERSION":
                    continue
                stream = reader.data_stream()
                head = stream.peek(512)
                if not head:
                    parts.broken[name] = "empty blob"
                    continue
                if _looks_like_json(head):
                    parts.documents[name] = stream.read()
                    continue
                file_path = os.path.join(temp, f"{len(pending) + len(stats)}.tar")
                t0 = time.perf_counter()
                with open(file_path, "wb") as out:
                    out.write(head)
                    spooler = _Spooler(out)
                    stream.read(len(head))  # consume the peeked bytes
                    reader.feed_data(spooler.update)
                spool_s += time.perf_counter() - t0
                size = len(head) + spooler.size
                spooled += size
                pending[pool.submit(_worker_parse, file_path, 0, size, head)] = name
            for w in warm:
                w.result()
            pool_ready = time.perf_counter()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    loads_s += _collect(parts, pending.pop(future), future, stats)
        workers_cpu = _children_cpu()  # before ``cat`` is waited for: workers only
    finally:
        cat.wait()
        shutil.rmtree(temp, ignore_errors=True)
    image = assemble_image(parts, reference=path, source="docker-archive")
    return _pool_report(start, cpu0, workers_cpu, pool_ready, stats, loads_s, image,
                        {"spool_s": spool_s, "spooled_bytes": spooled, "method": "fork",
                         "max_workers": workers})


def child_main(variant: str, path: str, spool_dir: str) -> dict[str, Any]:
    """Run one variant on one archive (in a fresh process); return its figures."""
    gc.disable()  # as the CLI does while an analysis is built
    if variant == "stream":
        result = run_stream(path)
    elif variant == "serial":
        result = run_serial(path)
    elif variant.startswith("pool"):
        count, _, method = variant[4:].partition("-")
        result = run_pool(path, int(count), method or "fork")
    elif variant.startswith("threads"):
        result = run_threads(path, int(variant[7:]))
    elif variant.startswith("spool"):
        result = run_spool(path, int(variant[5:]), spool_dir)
    else:
        raise SystemExit(f"unknown variant {variant}")
    result["variant"] = variant
    return result


# --------------------------------------------------------------------------------------------
# synthetic uneven image (one big base layer, as real images have)
# --------------------------------------------------------------------------------------------

def write_layers_archive(layers: list[bytes], path: Path, tag: str, oci: bool) -> dict[str, Any]:
    """Write ``layers`` (uncompressed layer tars, bottom first) as a ``docker save`` archive.

    ``oci=False``: legacy layout (``<id>/layer.tar``, like ``bench/run.py``). ``oci=True``: the
    layout Docker >= 25 writes (``blobs/sha256/<hex>``, ``index.json``, ``oci-layout`` and a
    ``manifest.json`` naming the blobs).
    """
    from run import _add_bytes  # bench/run.py (tar member helper)

    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"/bin/sh -c step {i}"}
                    for i in range(len(layers))],
    }).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    tmp = path.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        if oci:
            names = []
            descriptors = []
            for blob, diff_id in zip(layers, diff_ids):
                hex_ = diff_id.split(":", 1)[1]
                _add_bytes(tar, f"blobs/sha256/{hex_}", blob)
                names.append(f"blobs/sha256/{hex_}")
                descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                    "digest": diff_id, "size": len(blob)})
            _add_bytes(tar, f"blobs/sha256/{config_hex}", config)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": f"sha256:{config_hex}", "size": len(config)},
                "layers": descriptors}).encode()
            manifest_hex = hashlib.sha256(manifest).hexdigest()
            _add_bytes(tar, f"blobs/sha256/{manifest_hex}", manifest)
            _add_bytes(tar, "index.json", json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": f"sha256:{manifest_hex}", "size": len(manifest),
                               "annotations": {"io.containerd.image.name": f"docker.io/{tag}"}}],
            }).encode())
            _add_bytes(tar, "manifest.json", json.dumps(
                [{"Config": f"blobs/sha256/{config_hex}", "RepoTags": [tag],
                  "Layers": names}]).encode())
            _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        else:
            names = []
            parent = ""
            for blob, diff_id in zip(layers, diff_ids):
                layer_id = hashlib.sha256(f"{parent}:{diff_id}".encode()).hexdigest()
                parent = layer_id
                info = tarfile.TarInfo(layer_id)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = MTIME
                tar.addfile(info)
                _add_bytes(tar, f"{layer_id}/VERSION", b"1.0")
                _add_bytes(tar, f"{layer_id}/json", json.dumps({"id": layer_id}).encode())
                _add_bytes(tar, f"{layer_id}/layer.tar", blob)
                names.append(f"{layer_id}/layer.tar")
            _add_bytes(tar, f"{config_hex}.json", config)
            _add_bytes(tar, "manifest.json", json.dumps(
                [{"Config": f"{config_hex}.json", "RepoTags": [tag], "Layers": names}]).encode())
    os.replace(tmp, path)
    return {"bytes": path.stat().st_size, "layer_bytes": [len(t) for t in layers]}


def make_uneven(path: Path, base: int = 150_000, upper: int = 5, per_upper: int = 10_000,
                oci: bool = True) -> dict[str, Any]:
    """Write an image whose base layer holds most entries (``base`` of ``base + upper*per_upper``).

    Built with ``bench/run.py``'s generator: a one-layer shape for the base, and an
    ``upper``-layer shape (another seed, same path scheme, so it rewrites, adds and whites out
    files of the base) on top.
    """
    from run import Shape, build_layers

    layers = build_layers(Shape(entries=base, layers=1, seed=1))
    layers += build_layers(Shape(entries=upper * per_upper, layers=upper, seed=2))
    return write_layers_archive(layers, path, "divepy-bench/uneven:1", oci)


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------

def load1() -> float:
    """The 1-minute load average (what ``uptime`` shows first)."""
    return os.getloadavg()[0]


def busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (``/proc/stat``: all but idle, iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # user nice system idle iowait irq softirq steal (guest times are inside user/nice)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_total() -> float:
    """CPU seconds of this process's waited-for descendants, so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def others_cores(seconds: float = 2.0) -> float:
    """How many cores other processes kept busy over the next ``seconds``."""
    before = busy_seconds()
    time.sleep(seconds)
    return (busy_seconds() - before) / seconds


def wait_quiet(below: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) until other processes use fewer than ``below`` cores."""
    deadline = time.monotonic() + max_wait
    while True:
        used = others_cores()
        if used < below or time.monotonic() >= deadline:
            return used


def measure(variant: str, path: str, spool_dir: str, timeout: float) -> dict[str, Any]:
    """Run one variant in a child process under ``/usr/bin/time``; return its figures."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if variant == "cli":
        cmd = [sys.executable, "-m", "dive_py.cli", "--no-cache", "--source", "docker-archive",
               "--json", "/dev/null", path]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, path,
               "--spool-dir", spool_dir]
    rss_file = tempfile.NamedTemporaryFile(prefix="divepy-rss-", delete=False)
    rss_file.close()
    if os.path.exists(TIME_BIN):
        cmd = [TIME_BIN, "-f", "%M", "-o", rss_file.name] + cmd
    before = load1()
    busy0 = busy_seconds()
    ours0 = children_cpu_total()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - start
    # CPU the rest of the machine used meanwhile, in cores (our child tree's CPU taken out).
    others = max(0.0, (busy_seconds() - busy0) - (children_cpu_total() - ours0)) / wall
    after = load1()
    try:
        rss_kib = int(Path(rss_file.name).read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        rss_kib = 0
    os.unlink(rss_file.name)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} on {path} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = {"variant": variant}
    if variant != "cli":
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update({"process_s": wall, "max_proc_rss_kib": rss_kib, "load_before": before,
                   "load_after": after, "others_cores": others})
    return result


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


def summarise(image: str, runs: list[dict[str, Any]], quiet: float | None = None) -> dict[str, Any]:
    """Medians per variant for one image.

    With ``quiet``, only the runs during which other processes used fewer than ``quiet``
    cores count (variants without such a run are left out).
    """
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        if quiet is not None and r.get("others_cores", 0.0) >= quiet:
            continue
        by.setdefault(r["variant"], []).append(r)
    out: dict[str, Any] = {"image": image, "variants": {}, "paired": {}}
    for other in ("serial", "pool2-fork", "pool3-fork", "pool4-fork", "threads2", "spool2"):
        ratio, pairs = paired_ratio(runs, "stream", other, quiet)
        if pairs:
            out["paired"][other] = (ratio, pairs)
    for variant, rs in by.items():
        key = "process_s" if variant == "cli" else "read_s"
        med: dict[str, Any] = {
            "n": len(rs), "s": _med([r[key] for r in rs]),
            "all_s": [round(r[key], 3) for r in rs],
            "process_s": _med([r["process_s"] for r in rs]),
            "max_proc_rss_mib": _med([r["max_proc_rss_kib"] for r in rs]) / 1024,
            "load": [round(r["load_before"], 2) for r in rs],
            "others_cores": _med([r.get("others_cores", float("nan")) for r in rs]),
        }
        for k in ("parse_s", "dumps_s", "loads_s", "index_s", "pool_start_s", "worker_gc_s",
                  "worker_cpu_s", "spool_s", "cpu_s", "parent_cpu_s", "workers_cpu_s",
                  "max_task_cpu_s", "parse_cpu_s", "dumps_cpu_s", "loads_cpu_s"):
            if k in rs[0]:
                med[k] = _med([r[k] for r in rs])
        if "rss_sum_kib" in rs[0]:
            med["rss_sum_mib"] = _med([r["rss_sum_kib"] for r in rs]) / 1024
        for k in ("entries", "members", "layers", "layer_members", "pickle_bytes", "diff_ids"):
            if k in rs[0]:
                med[k] = rs[0][k]
        if variant == "serial":
            for k in ("layer_parse_s", "layer_parse_cpu_s"):
                med[k] = [_med([r[k][i] for r in rs]) for i in range(len(rs[0][k]))]
            med["layer_bytes"] = rs[0]["layer_bytes"]
        out["variants"][variant] = med
    return out


def paired_ratio(runs: list[dict[str, Any]], base: str, other: str,
                 quiet: float | None = None) -> tuple[float, int]:
    """Median over rounds of ``base`` time / ``other`` time, both from the same round.

    Rounds are consecutive runs of the variants (a new round starts when a variant repeats);
    pairing within a round cancels most of the drift of a shared machine's speed. With
    ``quiet``, only pairs where both runs saw other processes use fewer than ``quiet`` cores.
    Returns (median ratio, number of pairs).
    """
    rounds: list[dict[str, dict[str, Any]]] = [{}]
    for r in runs:
        if r["variant"] in rounds[-1]:
            rounds.append({})
        rounds[-1][r["variant"]] = r
    ratios = []
    for rnd in rounds:
        a, b = rnd.get(base), rnd.get(other)
        if a is None or b is None:
            continue
        if quiet is not None and max(a.get("others_cores", 0.0), b.get("others_cores", 0.0)) >= quiet:
            continue
        key = "process_s" if base == "cli" else "read_s"
        ratios.append(a[key] / b[key])
    return (statistics.median(ratios) if ratios else float("nan")), len(ratios)


def check_consistent(summary: dict[str, Any]) -> list[str]:
    """Every variant must have read the same image as ``stream``."""
    variants = summary["variants"]
    ref = variants.get("stream") or variants.get("serial")
    problems = []
    if ref is None:
        return problems
    for name, v in variants.items():
        if "diff_ids" in v and (v["diff_ids"] != ref["diff_ids"] or v["entries"] != ref["entries"]):
            problems.append(f"{summary['image']}: {name} differs from the stream read")
    return problems


def projected_pool(ser: dict[str, Any], pool: dict[str, Any], cores: int = 2) -> float:
    """Wall time the pool would take on ``cores`` idle cores, from its CPU seconds.

    A lower bound of the usual list-scheduling kind: all its CPU spread evenly over the cores,
    or the longest single task (its layer's parse + pickling), whichever is longer.
    """
    return max(pool["cpu_s"] / cores, pool["max_task_cpu_s"])


def tables(summaries: list[dict[str, Any]]) -> str:
    """The markdown tables: measured wall times and RSS, then CPU seconds and the model."""
    cols = [("stream", "stream s"), ("serial", "serial s"), ("pool2-fork", "pool 2 s"),
            ("pool2-forkserver", "pool 2 fsrv s"), ("pool3-fork", "pool 3 s"),
            ("pool4-fork", "pool 4 s"), ("threads2", "threads 2 s"), ("spool2", "spool 2 s"),
            ("cli", "CLI s")]
    present = [(k, h) for k, h in cols if any(k in s["variants"] for s in summaries)]
    head = ["image", "layers", "entries", "MB"] + [h for _, h in present] + \
        ["speedup vs stream: pool 2 / threads 2 (paired)", "RSS stream MiB", "RSS pool 2 MiB (max proc / sum)", "load",
         "others' cores"]
    lines = ["Measured wall time (median, in-child: open to assembled image; CLI: whole process). "
             "Speedup: median over rounds of stream s / variant s in the same round "
             "(number of pairs).", "", "| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    for s in summaries:
        v = s["variants"]
        ref = v.get("stream") or v.get("serial") or {}
        row = [Path(s["image"]).name, str(ref.get("layers", "")),
               f"{ref.get('entries', 0):,}", f"{s['bytes'] / 1e6:,.0f}"]
        for key, _ in present:
            cell = _fmt(v[key]["s"]) if key in v else "–"
            if key in v and v[key]["n"] != max(var["n"] for var in v.values()):
                cell += f" (n={v[key]['n']})"
            row.append(cell)
        p2 = v.get("pool2-fork")
        base = v.get("stream")
        cells = []
        for other in ("pool2-fork", "threads2"):
            ratio, pairs = s["paired"].get(other, (float("nan"), 0))
            cells.append(f"{ratio:.2f}x ({pairs})" if pairs else "–")
        row.append(" / ".join(cells))
        p2 = p2 if p2 and "rss_sum_mib" in p2 else None
        row.append(f"{base['max_proc_rss_mib']:.0f}" if base else "")
        row.append(f"{p2['max_proc_rss_mib']:.0f} / {p2['rss_sum_mib']:.0f}" if p2 else "")
        loads = [x for var in v.values() for x in var["load"]]
        row.append(f"{min(loads):.1f}–{max(loads):.1f}" if loads else "")
        row.append(_fmt(_med([var["others_cores"] for var in v.values()]), 1))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "CPU seconds (less sensitive to load than wall time, not immune; median) and the "
              "idle-2-core projection "
              "max(pool CPU / 2, longest task):", "",
              "| image | stream CPU s | serial CPU s | pool 2 CPU s (parent + workers) "
              "| longest task CPU s | projected pool 2 s | projected speedup vs stream "
              "| parse µs/entry | dumps µs/entry | loads µs/entry | pickle B/entry "
              "| largest layer share |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summaries:
        v = s["variants"]
        ser, p2, st = v.get("serial"), v.get("pool2-fork"), v.get("stream")
        if not ser:
            continue
        n = max(ser["entries"], 1)
        largest = max(ser["layer_parse_cpu_s"]) / max(ser["parse_cpu_s"], 1e-9)
        proj = projected_pool(ser, p2) if p2 else float("nan")
        lines.append("| " + " | ".join([
            Path(s["image"]).name, _fmt(st["cpu_s"]) if st else "", _fmt(ser["cpu_s"]),
            f"{_fmt(p2['cpu_s'])} ({_fmt(p2['parent_cpu_s'])} + {_fmt(p2['workers_cpu_s'])})"
            if p2 else "", _fmt(p2["max_task_cpu_s"]) if p2 else "", _fmt(proj),
            f"{st['cpu_s'] / proj:.2f}x" if st and p2 else "",
            f"{ser['parse_cpu_s'] / n * 1e6:.1f}", f"{ser['dumps_cpu_s'] / n * 1e6:.1f}",
            f"{ser['loads_cpu_s'] / n * 1e6:.1f}", f"{ser['pickle_bytes'] / n:.0f}",
            f"{largest:.0%}"]) + " |")
    return "\n".join(lines)


def machine() -> str:
    """One line about the machine and its load now."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}; uptime: {up}")


def _warm(path: str) -> None:
    """Read the file once so that every variant finds it in the page cache."""
    with open(path, "rb", buffering=0) as handle:
        while handle.read(8 << 20):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", default=",".join(DEFAULT_IMAGES),
                        help="comma-separated archive paths (the uneven default one is written "
                             "when missing)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help="comma-separated: stream, serial, pool<N>-fork, "
                             "pool<N>-forkserver, threads<N>, spool<N>, cli")
    parser.add_argument("--runs", type=int, default=3, help="rounds per image (median)")
    parser.add_argument("--out", default=None, help="directory for results.md / results.json")
    parser.add_argument("--spool-dir", default=tempfile.gettempdir(),
                        help="where spool<N> writes its temporary layer files")
    parser.add_argument("--timeout", type=float, default=900.0, help="per child, seconds")
    parser.add_argument("--quiet-below", type=float, default=None, metavar="CORES",
                        help="before each round, wait until other processes use fewer than "
                             "CORES cores (sampled over 2 s)")
    parser.add_argument("--quiet-wait", type=float, default=300.0, metavar="S",
                        help="longest wait for --quiet-below, per round (then run anyway)")
    parser.add_argument("--quiet-each", action="store_true",
                        help="apply --quiet-below before every child run, not once per round")
    parser.add_argument("--make-uneven", metavar="PATH", default=None,
                        help="only write the uneven image (OCI layout) to PATH and exit")
    parser.add_argument("--quiet-table", type=float, default=0.5, metavar="CORES",
                        help="also tabulate only the runs during which other processes used "
                             "fewer than CORES cores (default 0.5)")
    parser.add_argument("--from-json", metavar="FILE", default=None,
                        help="re-tabulate the runs of earlier results.json files (comma-"
                             "separated; runs of one image are pooled) instead of running")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = child_main(args.child[0], args.child[1], args.spool_dir)
        print(json.dumps(result))
        return 0
    if args.make_uneven:
        print(json.dumps(make_uneven(Path(args.make_uneven))))
        return 0

    if args.from_json:
        merged: dict[str, list[dict[str, Any]]] = {}
        machines = []
        for name in args.from_json.split(","):
            saved = json.loads(Path(name).read_text())
            machines.append(saved["machine"])
            for image, runs in saved["runs"].items():
                merged.setdefault(image, []).extend(runs)
        return report(" | ".join(machines), merged, args.runs, args.quiet_table, args.out)

    images = [p for p in args.images.split(",") if p]
    variants = [v for v in args.variants.split(",") if v]
    for image in images:
        if not os.path.exists(image) and "uneven" in Path(image).name:
            print(f"writing {image} …", file=sys.stderr)
            make_uneven(Path(image))
        if not os.path.exists(image):
            raise SystemExit(f"{image} does not exist")
    header = machine()
    print(header, file=sys.stderr)
    raw: dict[str, list[dict[str, Any]]] = {}
    for image in images:
        _warm(image)
        runs: list[dict[str, Any]] = []
        for round_ in range(args.runs):
            if args.quiet_below is not None:
                used = wait_quiet(args.quiet_below, args.quiet_wait)
                print(f"round {round_ + 1}: others use {used:.2f} cores", file=sys.stderr)
            for variant in variants:
                if args.quiet_below is not None and args.quiet_each:
                    wait_quiet(args.quiet_below, args.quiet_wait)
                result = measure(variant, image, args.spool_dir, args.timeout)
                runs.append(result)
                key = "process_s" if variant == "cli" else "read_s"
                print(f"{Path(image).name} round {round_ + 1} {variant}: {result[key]:.2f} s, "
                      f"{result['max_proc_rss_kib'] / 1024:.0f} MiB, "
                      f"load {result['load_before']:.2f}, "
                      f"others {result['others_cores']:.2f} cores", file=sys.stderr)
        raw[image] = runs
    return report(header, raw, args.runs, args.quiet_table, args.out)


def report(header: str, raw: dict[str, list[dict[str, Any]]], rounds: int,
           quiet: float | None, out_dir: str | None) -> int:
    """Print (and with ``out_dir`` write) the tables for the runs in ``raw``; 1 if any
    variant read a different image than the stream read."""
    summaries = []
    quiet_summaries = []
    problems: list[str] = []
    for image, runs in raw.items():
        summary = summarise(image, runs)
        summary["bytes"] = os.path.getsize(image) if os.path.exists(image) else \
            runs[0].get("archive_bytes", 0)
        problems += check_consistent(summary)
        summaries.append(summary)
        if quiet is not None:
            calm = summarise(image, runs, quiet)
            calm["bytes"] = summary["bytes"]
            if calm["variants"]:
                quiet_summaries.append(calm)
    parts = [f"Machine: {header}", "", f"{rounds} rounds (per run set), median; variants "
             "interleaved within a round. \"others' cores\": CPU the rest of the machine used during a run "
             "(/proc/stat busy time minus this benchmark's children), median.", "",
             "## All runs", "", tables(summaries)]
    if quiet_summaries:
        parts += ["", f"## Quiet runs only (others used < {quiet} cores during the run)", "",
                  "(n=…: how many runs qualified, where fewer than the most in that row)", "",
                  tables(quiet_summaries)]
    text = "\n".join(parts)
    if problems:
        text += "\n\nINCONSISTENT RESULTS:\n" + "\n".join(problems)
    print(text)
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(text + "\n")
        (out / "results.json").write_text(json.dumps(
            {"machine": header, "summaries": summaries, "quiet_summaries": quiet_summaries,
             "runs": raw}, indent=1, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
