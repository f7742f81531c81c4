"""The parallel scan: files -> per-image records + per-split accumulators, with progress and cancel.

``iter_scan`` is a generator (the superqt worker pattern): it yields ``ScanProgress`` records and
returns the ``ScanResult``. The CLI prints the progress records; the window's worker thread
forwards them as Qt signals. Cancelling is closing the generator (``gen.close()``): the work in
flight is dropped at once (busy worker processes are killed, not waited for).

Work is cut into chunks of files (``_scan_chunk``, core/scan_chunk.py: the worker side) run by a ``ChunkExecutor`` (core/pool.py: the
local worker processes, with a per-file time limit; core/dispatch.py recovers lost chunks and
keeps the merge in chunk order). At most a few chunks are in flight, and per-image columns are
preallocated, so memory is bounded by the number of images times a fixed row size, never by
pixel data.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import xxhash

from . import hashing
from .memory import release_free_memory
from .validation import properties
from .cache import ScanCache, cache_summary, rebuild_chunk
from . import sources
from .dispatch import run_chunks
from .sources.lazy import pull as discover_more
from .file_list import FileList
from .index_runs import as_slice
from .layout import DatasetLayout, ImageFile, Skipped
from .pool import DEFAULT_TIME_LIMIT, ChunkExecutor, pool_for_scan, started_workers
from .pool import shutdown_pool  # noqa: F401  (re-exported: the pool is stopped through the scan)
from .scan_chunk import _ChunkResult, _failed_result, _scan_chunk
from .scan_chunk import PILLOW_BLOCKS, _crash_result, measure_file  # noqa: F401  (re-exported)
from .stats import SplitAccumulator, SplitStats, size_summary
from .strings import StringColumn
from .table import ImageTable

PROGRESS_INTERVAL = 0.1    # seconds between progress records
SNAPSHOT_INTERVAL = 0.5    # seconds between partial per-split statistics for live display
PREFETCH_PER_WORKER = 16 * 64  # items a lazy source lists before the scan starts (16 full chunks)
HEARTBEAT = 0.25           # longest wait for a chunk before a progress record (so cancel is prompt)
CHUNK_FILES = 64           # most files in a chunk
# ... unless the files are small (median size under SMALL_FILE_BYTES: tiny PNGs, MNIST, CIFAR):
# then a chunk holds up to SMALL_CHUNK_FILES of them, still well under a second of decoding, and
# each chunk's fixed costs (sending it, merging it, encoding and committing its cache records)
# are paid a quarter as often
SMALL_CHUNK_FILES = 256
SMALL_FILE_BYTES = 16 * 1024
FILES_PER_WORKER = 1024    # files to decode per worker process started for a rescan


@dataclass(frozen=True)
class Failure:
    path: str
    split: str | None
    reason: str


@dataclass(frozen=True)
class ScanProgress:
    done: int
    total: int
    failed: int
    elapsed: float
    eta: float | None               # seconds left, None until the rate is known
    per_split: dict[str, tuple[int, int]]  # split -> (done, total)
    current: str | None             # a path just finished, for display
    partial: dict[str, SplitStats] | None = None  # live statistics, every SNAPSHOT_INTERVAL
    discovering: bool = False       # the source is still being listed: totals are so far, not final
    per_worker: dict[str, int] | None = None  # images done per cluster worker (Dask scans only)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class ScanResult:
    root: str
    layout_kind: str               # "splits", "yolo" or "flat"
    splits: list[str]
    classes: dict[str, dict[str, int]]
    mode: str                      # "RGB" or "L": what every image is converted to
    split_stats: dict[str, SplitStats]
    images: ImageTable
    failures: list[Failure]
    skipped: list[Skipped]
    elapsed: float
    workers: int
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)
    source_kind: str = "folder"    # DESIGN section 7: folder, manifest, parquet, webdataset, yolo
    source_uri: str = ""
    # The items behind the table's rows (same order): how to read an image again for display.
    items: FileList = field(default_factory=FileList)
    storage_options: dict | None = None

    @property
    def channels(self) -> int:
        return 3 if self.mode == "RGB" else 1

    @property
    def total_images(self) -> int:
        return len(self.images)


# ----------------------------------------------------------------------------- parent side

def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


_COMPACT_BLOCK = 1 << 16  # rows moved at a time when the decoded rows are compacted


def _plain_column(shape: Any, dtype: Any, fill: Any = 0) -> np.ndarray:
    return np.zeros(shape, dtype) if fill == 0 else np.full(shape, fill, dtype)


def prefetch_reopen(source: str, cache_dir: str | None) -> None:
    """Start reading the stored result of a local folder's cache while the caller lists the
    folder (cache/prefetch.py); the scan of that folder then uses it if it was made from the
    very same listing. A call the scan does not follow costs a stopped child process
    (``cache.prefetch.stop_all``)."""
    if not cache_dir or "://" in source or not os.path.isdir(source):
        return
    from .cache import cache_path, prefetch
    prefetch.start(cache_path(cache_dir, os.path.abspath(source)), _Collector, _ChunkResult)


class _Collector:
    """Merges chunk results into preallocated columns and per-split accumulators."""

    def __init__(self, layout: DatasetLayout, alloc: Callable[..., np.ndarray] | None = None) -> None:
        """``alloc(shape, dtype, fill)`` makes the per-item columns (memory shared with a process
        that fills them: cache/prefetch.py); by default plain arrays."""
        self.layout = layout
        self.sink: Callable[[_ChunkResult, list[tuple[int, ImageFile]]], None] | None = None
        n = self.capacity = max(len(layout.files), 1)  # grows while a lazy source is discovered
        new = alloc or _plain_column
        self.ok = new(n, bool)
        self.width = new(n, np.int32)
        self.height = new(n, np.int32)
        self.nbytes = new(n, np.int64)
        self.format = new(n, np.int16)
        self.mode = new(n, np.int16)
        self.channels = new(n, np.int8)
        self.stats = new((n, 4, 3), np.float64)  # mean, std, min, max in native channels (grey -> 3 copies)
        self.content = new((n, 2), np.uint64)
        self.phash = new((n, hashing.N_VIEWS), np.uint64)
        self.thumb = new((n, hashing.THUMB_SIZE, hashing.THUMB_SIZE), np.uint8)
        self.flags = new(n, np.uint16)
        self.properties = new((n, properties.N_PROPERTIES), np.float64, np.nan)
        self.format_names: list[str] = []
        self.mode_names: list[str] = []
        self.failures: dict[int, str] = {}
        self.acc = {s: SplitAccumulator() for s in layout.splits}
        self.broken_counted = 0
        self.done = 0
        self.cpu_seconds = 0.0
        self.done_by_split = {s: 0 for s in layout.splits}
        self.done_by_worker: dict[str, int] = {}  # filled by cluster scans
        self.count_broken()

    def count_broken(self) -> None:
        """Broken links, unreadable folders and missing manifest files count as failed files
        of their split (a lazy source lists more of them as it goes)."""
        broken = self.layout.broken
        for b in broken[self.broken_counted:]:
            if b.split is not None:
                self._split(b.split).failed += 1
        self.broken_counted = len(broken)

    def _split(self, split: str) -> SplitAccumulator:
        if split not in self.acc:
            self.acc[split] = SplitAccumulator()
            self.done_by_split[split] = 0
        return self.acc[split]

    def _grow(self, needed: int) -> None:
        """Enlarge every per-item column (first axis) to hold ``needed`` items."""
        if needed <= self.capacity:
            return
        new = max(needed, 2 * self.capacity)
        for name, value in self.columns().items():
            grown = np.zeros((new, *value.shape[1:]), value.dtype)
            grown[:self.capacity] = value
            setattr(self, name, grown)
        self.capacity = new

    def columns(self) -> dict[str, np.ndarray]:
        """The per-item columns (first axis: the items), by attribute name."""
        return {name: value for name, value in vars(self).items()
                if isinstance(value, np.ndarray) and value.shape[:1] == (self.capacity,)}

    def _code(self, names: list[str], value: str) -> int:
        if value not in names:
            names.append(value)
        return names.index(value)

    def add(self, chunk: _ChunkResult, items: list[tuple[int, ImageFile]]) -> None:
        self.merge(chunk, [f.split for _, f in items])
        if self.sink is not None:  # the cache stores freshly decoded chunks
            self.sink(chunk, items)

    def merge(self, chunk: _ChunkResult, splits: list[str]) -> None:
        """Take a chunk's rows and sums in (``splits``: of its items, decoded or failed)."""
        self._grow(len(self.layout.files))
        i: np.ndarray | slice = as_slice(chunk.index)  # a reopen's stored chunks are runs
        self.ok[i] = True
        self.width[i], self.height[i], self.nbytes[i] = chunk.numbers[:, 0], chunk.numbers[:, 1], chunk.numbers[:, 2]
        self.channels[i], self.flags[i] = chunk.numbers[:, 3], chunk.numbers[:, 4]
        # (format, mode) pairs repeat on nearly every row: coded in first-seen order, without a
        # Python step per row (dict.fromkeys and map run in C)
        distinct = {n: k for k, n in enumerate(dict.fromkeys(chunk.names))}
        pair = np.fromiter(map(distinct.__getitem__, chunk.names), np.int64, len(chunk.names))
        self.format[i] = np.array([self._code(self.format_names, fmt) for fmt, _ in distinct], np.int16)[pair]
        self.mode[i] = np.array([self._code(self.mode_names, mode) for _, mode in distinct], np.int16)[pair]
        self.stats[i] = chunk.moments
        self.content[i] = chunk.content
        self.phash[i] = chunk.phash
        self.thumb[i] = chunk.thumb
        self.properties[i] = chunk.properties
        for i, reason in chunk.failures:
            self.failures[i] = reason
        for split, acc in chunk.accumulators.items():
            self._split(split).merge(acc)
        self.cpu_seconds += chunk.cpu_seconds
        self.done += len(splits)
        for split, n in Counter(splits).items():
            self.done_by_split[split] += n
        self.count_broken()

    @property
    def mode_name(self) -> str:
        """L when every decoded image is single-channel (MNIST-like), else RGB."""
        decoded = self.channels[self.ok]
        return "L" if decoded.size and bool((decoded == 1).all()) else "RGB"

    def snapshot(self) -> dict[str, SplitStats]:
        mode = self.mode_name
        return {s: a.finalize(s, mode) for s, a in self.acc.items()}

    def _compact(self, keep: np.ndarray) -> None:
        """Move the decoded rows (`keep`, increasing) to the front of every per-item column, in
        place and in blocks, then trim spare capacity: at a million images a fancy-indexed copy
        of every column would double the scan's peak memory for a moment. The collector is done
        after this; its columns belong to the result."""
        k = len(keep)
        columns = list(self.columns().items())
        if k and keep[-1] != k - 1:  # some rows failed (keep is increasing: else it is 0..k-1)
            for _, value in columns:
                for lo in range(0, k, _COMPACT_BLOCK):  # keep[i] >= i: a block only reads rows not yet overwritten
                    hi = min(lo + _COMPACT_BLOCK, k)
                    value[lo:hi] = value[keep[lo:hi]]
        if self.capacity > k + k // 8 + 1024:  # a lazy source's doubled columns: give the rest back
            for name, value in columns:
                setattr(self, name, value[:k].copy())
                del value
            self.capacity = k

    def result(self, elapsed: float, workers: int) -> ScanResult:
        self._grow(len(self.layout.files))
        self.count_broken()
        layout, mode = self.layout, self.mode_name
        keep = np.flatnonzero(self.ok[:len(layout.files)])
        self._compact(keep)  # the table takes these columns over: no second copy of them
        k = len(keep)
        c = 3 if mode == "RGB" else 1
        split_names = list(layout.splits)
        files = layout.files.take(keep)  # columns: no ImageFile per image is made here
        label_names = sorted(layout.files.label_names)  # of every file, decoded or not
        split_code = np.array([split_names.index(s) for s in files.split_names] or [0], np.int16)
        label_code = np.array([label_names.index(c) for c in files.label_names] + [-1],
                              np.int32)  # the last entry maps "no class" (-1) to -1
        table = ImageTable(
            paths=files.paths, split_names=split_names,
            split=split_code[files.split_codes()],
            label_names=label_names,
            label=label_code[files.label_codes()],
            width=self.width[:k], height=self.height[:k], nbytes=self.nbytes[:k],
            format_names=self.format_names, format=self.format[:k],
            mode_names=self.mode_names, mode=self.mode[:k],
            mean=self.stats[:k, 0, :c], std=self.stats[:k, 1, :c],
            min=self.stats[:k, 2, :c], max=self.stats[:k, 3, :c],
            content_hash=self.content[:k], phash=self.phash[:k], thumb=self.thumb[:k],
            flags=self.flags[:k], properties=self.properties[:k],
        )
        split_stats = {}
        for s in split_names:
            acc = self._split(s)
            rows = table.rows_in(s)
            st = acc.finalize(s, mode, size_summary(table.width[rows], table.height[rows],
                                                    nbytes=table.nbytes[rows]))
            if rows.size:  # summed in file order, so cached and fresh scans agree to the last bit
                st = replace(st, mean_of_image_std=table.std[rows].mean(axis=0))
            split_stats[s] = st
        failures = [Failure(b.path, b.split, b.reason) for b in layout.broken]
        failures += [Failure(layout.files[i].path, layout.files[i].split, reason)
                     for i, reason in sorted(self.failures.items())]
        failures.sort(key=lambda f: f.path)
        return ScanResult(
            root=layout.root, layout_kind=layout.kind, splits=split_names, classes=layout.classes,
            mode=mode, split_stats=split_stats, images=table, failures=failures,
            skipped=list(layout.skipped), elapsed=elapsed, workers=workers,
            fingerprint=_fingerprint(table, failures),
            extra={"worker_cpu_seconds": self.cpu_seconds,
                   **({"objects": layout.objects} if layout.objects is not None else {})},
            source_kind=layout.source_kind, source_uri=layout.uri, items=files,
            storage_options=layout.storage_options,
        )


def _fingerprint(table: ImageTable, failures: list[Failure]) -> str:
    """Identifies the dataset's content: paths, splits and decoded pixels (not timestamps): the
    digest of "split/path\0" of every row, then the content hashes, then "!path\0" per failure."""
    h = xxhash.xxh3_64()
    for piece in _split_paths(table):
        h.update(piece)
    h.update(np.ascontiguousarray(table.content_hash).tobytes())
    for f in failures:
        h.update(f"!{f.path}\0".encode())
    return h.hexdigest()


def iter_scan(source: str | DatasetLayout, *, workers: int | None = None,
              chunk_size: int | None = None, decode_timeout: float | None = DEFAULT_TIME_LIMIT,
              executor: ChunkExecutor | None = None, in_process: bool = False, cluster=None,
              cache_dir: str | None = None) -> Generator[ScanProgress, None, ScanResult]:
    """Scan a dataset source (a path any kind of ``sources.open_source``, or an opened layout);
    yield progress, return the result. A lazy source is discovered as the scan goes.

    Files are decoded in worker processes (``executor``, by default this machine's pool), never
    in the caller's, however few: there a file that takes longer than ``decode_timeout`` seconds
    (None or 0: no limit) is stopped and listed as a failure, and a cancel does not wait for a
    decode in flight. ``in_process`` decodes in the calling process instead, without those
    guarantees (for tests that patch the decoder). ``cluster`` (a ``core.cluster.DaskCluster``)
    runs the chunks on its workers instead of the local process pool. With ``cache_dir``, items
    whose stored record is valid are not decoded (cache/)."""
    t0 = time.perf_counter()
    layout = sources.open_source(source) if isinstance(source, str) else source
    workers = cluster.threads() if cluster is not None else (workers or default_workers())
    # Enough chunks to keep every worker busy and report progress (about 16 per worker; one file
    # each for a few files, so 20 huge photos still spread over the cores), few enough to be
    # cheap; a lazy source is discovered only as far as this decision needs.
    sources.prefetch(layout, workers * PREFETCH_PER_WORKER)
    known = len(layout.files)
    if chunk_size is None:
        chunk_size = int(min(chunk_files(layout.files), max(1, math.ceil(known / (workers * 16)))))
    if cluster is None:  # no more processes than chunks: a few files need one worker
        workers = 1 if in_process else min(workers, max(1, math.ceil(known / chunk_size)))
    collector = _Collector(layout)
    totals = _Totals(layout)
    pacer = _Pacer(t0)

    def progress(current: str | None, force: bool = False) -> ScanProgress | None:
        return pacer.progress(collector, totals, current, force)

    first = progress(None, force=True)
    assert first is not None
    yield first
    chunks = sources.iter_chunks(layout, chunk_size)
    options = layout.storage_options
    cache = ScanCache.open(cache_dir, layout, _scan_chunk([])) if cache_dir else None
    keep_records = isinstance(cache, ScanCache)  # records are encoded in the workers only for a cache
    if keep_records and (yield from _with_progress(cache.restore(collector, _ChunkResult), progress)):
        chunks = iter(())  # the listing is the last scan's: its whole result was stored
    elif keep_records:  # stored records enter the collector; the rest is decoded
        cache.patch(collector)  # the last whole result less what changed, when a child read it
        chunks = cache.filter(layout.files, partial(discover_more, layout), collector,
                              partial(rebuild_chunk, _ChunkResult), chunk_size, PROGRESS_INTERVAL)
        chunks = yield from _read_cached(chunks, workers, progress)
        if cluster is None and not in_process and layout.pending is None and len(cache.stored):
            # a rescan knows the files it decodes now (those that changed): a worker process per
            # FILES_PER_WORKER of them (starting one costs the CPU of decoding hundreds of small
            # files), or those the shared pool has running already (they cost nothing more)
            workers = min(workers, max(1, math.ceil(len(cache.keys) / FILES_PER_WORKER), started_workers()))
    if keep_records:
        collector.sink = cache.store_chunk
    if cluster is not None:
        yield from cluster.run_chunks(chunks, options, collector, progress, keep_records)
        pieces: Iterable[tuple[_ChunkResult, list] | None] = ()
    elif in_process:
        pieces = ((_scan_chunk(c, options, keep_records), c) for c in chunks)
    with ExitStack() as stack:
        if cluster is None and not in_process:
            executor = executor or stack.enter_context(pool_for_scan(workers, decode_timeout or None))
            pieces = run_chunks(executor, _scan_chunk, (options, keep_records), chunks, _failed_result, HEARTBEAT)
            stack.callback(pieces.close)  # its work in flight is cancelled before the pool is let go
        current = None
        for piece in pieces:
            if piece is not None:
                collector.add(*piece)
                current = piece[1][-1][1].path
            p = progress(current)
            if p:
                yield p
    if keep_records:
        cache.save(collector)  # before the result takes the collector's columns over
    result = collector.result(time.perf_counter() - t0, workers)
    result.extra["cache"] = cache_summary(cache, collector.done)  # closes it (a cancelled scan's: when freed)
    release_free_memory()  # chunk buffers of the merge: the window lives on after the scan
    last = progress(None, force=True)
    if last:
        yield last
    return result


def chunk_files(files: FileList) -> int:
    """The most files in a chunk for this listing (as far as it is known): SMALL_CHUNK_FILES when
    most of its files are small, else CHUNK_FILES."""
    if not len(files):
        return CHUNK_FILES
    sizes, _ = files.identities(0, min(len(files), 4096))
    return SMALL_CHUNK_FILES if float(np.median(sizes)) < SMALL_FILE_BYTES else CHUNK_FILES


def _with_progress(steps: Iterator[None], progress: Callable[..., ScanProgress | None]
                   ) -> Generator[ScanProgress, None, Any]:
    """Run ``steps`` to its end, yielding progress between its steps; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
        p = progress(None)
        if p:
            yield p


def _read_cached(chunks: Iterator[list], enough: int, progress: Callable[..., ScanProgress | None]
                 ) -> Generator[ScanProgress, None, Iterator[list]]:
    """Run the cache's feed, yielding progress, until ``enough`` chunks wait to be decoded (an
    unchanged dataset is read whole here: with progress, and a cancel is honoured); the rest of
    the feed goes on as the decoding pulls chunks. Empty chunks are the feed's pauses."""
    waiting = []
    for items in chunks:
        if items:
            waiting.append(items)
            if len(waiting) >= enough:
                break
        p = progress(None)
        if p:
            yield p
    return itertools.chain(waiting, (items for items in chunks if items))


def _split_paths(table: ImageTable, block: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of "split/path\0" for every row, end to end, ``block`` rows at a time, built as
    columns (one str per row made the fingerprint a tenth of a warm reopen)."""
    paths = table.paths if isinstance(table.paths, StringColumn) else StringColumn.from_strings(table.paths)
    names = [(n + "/").encode() for n in table.split_names]
    name_len = np.array([len(n) for n in names] or [0], np.int64)
    data, offsets = np.frombuffer(paths._data, np.uint8), paths._offsets
    for lo in range(0, len(paths), block):
        hi = min(lo + block, len(paths))
        split = np.asarray(table.split[lo:hi], np.int64)
        starts, lengths = offsets[lo:hi], np.diff(offsets[lo:hi + 1])
        sizes = name_len[split] + lengths + 1
        out = np.zeros(int(sizes.sum()), np.uint8)  # the zeros left are the "\0" after each path
        at = np.cumsum(sizes) - sizes
        for code, name in enumerate(names):         # each split's prefix, into its rows' places
            rows = np.flatnonzero(split == code)
            out[(at[rows, None] + np.arange(len(name))).reshape(-1)] = np.tile(np.frombuffer(name, np.uint8), len(rows))
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[np.repeat(at + name_len[split], lengths) + within] = data[np.repeat(starts, lengths) + within]
        yield out.tobytes()


class _Totals:
    """Items per split discovered so far (final once the source is fully listed)."""

    def __init__(self, layout: DatasetLayout) -> None:
        self.layout = layout
        self.counted = 0
        self.per_split: dict[str, int] = {s: 0 for s in layout.splits}

    def update(self) -> dict[str, int]:
        files = self.layout.files
        for split, n in files.split_counts(self.counted).items():
            self.per_split[split] = self.per_split.get(split, 0) + n
        self.counted = len(files)
        for s in self.layout.splits:
            self.per_split.setdefault(s, 0)
        return {s: self.per_split[s] for s in self.layout.splits}


class _Pacer:
    """Throttles progress records and estimates the time left."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.last = 0.0
        self.last_snapshot = 0.0

    def progress(self, collector: _Collector, totals: _Totals, current: str | None,
                 force: bool) -> ScanProgress | None:
        now = time.perf_counter()
        if not force and now - self.last < PROGRESS_INTERVAL:
            return None
        self.last = now
        elapsed = now - self.t0
        done = collector.done
        discovering = sources.discovering(totals.layout)
        total = len(totals.layout.files)
        eta = None
        if 0 < done < total and elapsed > 0.2 and not discovering:
            eta = (total - done) * elapsed / done
        elif done >= total and not discovering:
            eta = 0.0
        partial = None
        if force or now - self.last_snapshot >= SNAPSHOT_INTERVAL:
            self.last_snapshot = now
            partial = collector.snapshot()
        per_split = {s: (collector.done_by_split.get(s, 0), t) for s, t in totals.update().items()}
        return ScanProgress(done, total, len(collector.failures), elapsed, eta, per_split,
                            current, partial, discovering,
                            dict(collector.done_by_worker) or None)


def scan(source: str | DatasetLayout, *, workers: int | None = None,
         on_progress: Callable[[ScanProgress], None] | None = None,
         should_cancel: Callable[[], bool] | None = None,
         decode_timeout: float | None = DEFAULT_TIME_LIMIT, in_process: bool = False,
         executor: ChunkExecutor | None = None, cluster=None, cache_dir: str | None = None) -> ScanResult | None:
    """Run a whole scan; returns None when ``should_cancel`` asked to stop. An exception in a
    callback (Ctrl+C included) closes the scan, dropping its work in flight, before it propagates.
    Progress comes at least every HEARTBEAT seconds, so a cancel is honoured within about that."""
    gen = iter_scan(source, workers=workers, decode_timeout=decode_timeout, in_process=in_process,
                    executor=executor, cluster=cluster, cache_dir=cache_dir)
    try:
        while True:
            p = next(gen)
            if on_progress:
                on_progress(p)
            if should_cancel and should_cancel():
                return None
    except StopIteration as stop:
        return stop.value
    finally:
        gen.close()
