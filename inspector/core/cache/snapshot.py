"""The merged result of a whole scan, stored beside the per-image records, so that reopening a
dataset whose listing has not changed reads its stored batches straight into the result instead of
matching every file against the records and summing their rows again.

What is stored is the scan's merged state once every listed item is in (the exact per-split sums
and histograms, format and mode names, the failures) and, per listed item, which stored batch and
entry holds its record (a few bytes per image: the per-image values are not stored twice).
Restoring reads those batches (64 at a time, the next group decompressed in a second thread
meanwhile) and puts their rows into the collector's columns; the sums are the stored ones, so no
histogram is decoded. That gives the same result as merging the records again, since that is
what made it.

It is trusted only for the very listing it was made from: its key is a digest of every listed
item (path, split, class, size, modification time, container member), the unreadable entries,
the splits, the record layout (which includes the measuring code's digest) and this module's own
source; and, as for a record, only when every listed file's modification time is clearly older
than the moment that scan began (``MTIME_SLACK_NS``). Each part and each batch carries a
checksum, a batch id is never reused (a rewritten batch gets a new one), and the header names the
checksum of every batch it points at, so a stored batch is the one the map was made with (not
another one's blob under a damaged id); a damaged part or a batch gone since (another scan
compacted it) is dropped with a message and the reopen goes on from the per-image records.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import xxhash

from .codec import RecordError, _compress, _decompress, _shuffle, _unshuffle, decode_chunk
from .patch import split_runs
from .reuse import chunk_from_batches
from ..stats import SplitAccumulator

SNAPSHOT_VERSION = 4   # 2: the per-item values are read from the record batches, not stored again;
                       # 3: the checksum of each batch it points at; 4: each item's split and each
                       # split's unreadable entries, so a rescan can patch it (cache/patch.py)
MAGIC = b"DIS1"
GROUP_BATCHES = 64     # stored batches read, decoded and merged together (a chance to report progress)


@functools.cache
def _own_digest() -> str:
    with open(__file__, "rb") as fh:
        return xxhash.xxh3_64(fh.read()).hexdigest()


def snapshot_key(layout: Any, record_layout: str) -> str:
    """The digest of everything the stored result follows from besides the files' contents."""
    h = xxhash.xxh3_128()
    h.update(json.dumps([SNAPSHOT_VERSION, _own_digest(), record_layout, layout.root, layout.kind,
                         list(layout.splits), [[b.path, b.split, b.reason] for b in layout.broken]]).encode())
    layout.files.digest(h)
    return h.hexdigest()


# ----------------------------------------------------------------------------- the merged state

def _encode_value(value: Any) -> Any:
    if isinstance(value, Counter):
        return {"counter": dict(value)}
    if isinstance(value, np.ndarray):
        if value.dtype == object:  # exact sums: Python ints (or a float NaN/inf), JSON keeps them exactly
            return {"exact": value.tolist()}
        return {"array": value.dtype.str, "shape": list(value.shape), "values": value.ravel().tolist()}
    if value is None or isinstance(value, int):
        return {"int": value}
    raise RecordError(f"cannot store a {type(value).__name__} of the accumulators")


def _decode_value(stored: dict) -> Any:
    if "counter" in stored:
        return Counter(stored["counter"])
    if "exact" in stored:
        out = np.empty(len(stored["exact"]), object)
        out[:] = stored["exact"]
        return out
    if "array" in stored:
        return np.array(stored["values"], np.dtype(stored["array"])).reshape(stored["shape"])
    return stored["int"]


def _encode_accumulator(acc: SplitAccumulator) -> dict:
    return {f.name: _encode_value(getattr(acc, f.name)) for f in dataclasses.fields(acc)}


def decode_accumulator(stored: dict) -> SplitAccumulator:
    names = {f.name for f in dataclasses.fields(SplitAccumulator)}
    if set(stored) != names:
        raise RecordError("the stored sums do not have the accumulator's fields")
    return SplitAccumulator(**{name: _decode_value(value) for name, value in stored.items()})


# ----------------------------------------------------------------------------- blobs

def _seal(body: bytes) -> bytes:
    return MAGIC + xxhash.xxh3_64(body).digest() + body


def _opened(blob: bytes | None, what: str) -> memoryview:
    if blob is None or len(blob) < 12 or blob[:4] != MAGIC:
        raise RecordError(f"the stored result's {what} is missing")
    body = memoryview(blob)[12:]
    if xxhash.xxh3_64(body).digest() != blob[4:12]:
        raise RecordError(f"checksum mismatch in the stored result's {what}")
    return body


def _row_map(row_batch: np.ndarray, row_entry: np.ndarray) -> bytes:
    """Per listed item its batch id and entry, byte-shuffled (ids run in long equal stretches)."""
    return _seal(_compress(_shuffle(row_batch.astype("<i8")) + _shuffle(row_entry.astype("<i4"))))


def read_row_map(blob: bytes | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The (batch id, entry) of each of ``n`` listed items; RecordError when it does not fit."""
    try:
        raw = _decompress(_opened(blob, "map of the records"))
        if len(raw) != 12 * n:
            raise ValueError(f"a map of {len(raw)} bytes for {n} items")
        batch = _unshuffle(raw[:8 * n], np.dtype("<i8"), (n,)).astype(np.int64)
        entry = _unshuffle(raw[8 * n:], np.dtype("<i4"), (n,)).astype(np.int64)
    except (ValueError, struct.error) as exc:
        raise RecordError(f"damaged stored result: {exc}") from exc
    if n and (batch.min() < 0 or entry.min() < 0):
        raise RecordError("the stored result names an item whose record was not stored")
    return batch, entry


# ----------------------------------------------------------------------------- saving, restoring

def encode_snapshot(collector: Any, n: int, seen_ns: int, row_batch: np.ndarray, row_entry: np.ndarray,
                    sums: dict[int, bytes]) -> list[bytes]:
    """The collector's result of ``n`` listed items as two parts: a header (the merged state and
    the checksum of each record blob it points at, ``sums``: batch id -> the blob's checksum) and
    the map of where each item's record is stored."""
    ids = np.unique(row_batch[:n]).tolist()
    if any(bid not in sums for bid in ids):
        raise RecordError("a batch of records whose checksum is not known")
    header = {"items": n, "seen_ns": seen_ns, "batches": [[bid, sums[bid].hex()] for bid in ids],
              "format_names": collector.format_names, "mode_names": collector.mode_names,
              "failures": sorted(collector.failures.items()),
              # what a rescan patching this result takes out again (cache/patch.py)
              "split_names": list(collector.layout.files.split_names),
              "split_runs": split_runs(collector.layout.files.split_codes()[:n]),
              "broken": sorted(Counter(b.split for b in collector.layout.broken if b.split is not None).items()),
              "splits": {split: _encode_accumulator(acc) for split, acc in collector.acc.items()}}
    head = _seal(_compress(json.dumps(header, ensure_ascii=False).encode()))
    return [head, _row_map(row_batch[:n], row_entry[:n])]


def adopt_snapshot(header: dict, collector: Any, restored: Any) -> None:
    """Give ``collector`` the columns another collector (``restored``, filled by
    ``restore_snapshot`` for the same number of items) holds, and the merged state the stored
    header has: the state a restore into ``collector`` itself would leave."""
    for name, value in restored.columns().items():
        setattr(collector, name, value)
    collector.format_names, collector.mode_names = list(header["format_names"]), list(header["mode_names"])
    collector.failures = {int(i): str(reason) for i, reason in header["failures"]}
    collector.acc = {split: decode_accumulator(acc) for split, acc in header["splits"].items()}
    collector.done = len(collector.layout.files)
    collector.broken_counted = len(collector.layout.broken)
    listed = collector.layout.files.split_counts()
    collector.done_by_split = {split: listed.get(split, 0) for split in collector.acc}


def read_header(blob: bytes | None) -> dict:
    try:
        return json.loads(_decompress(_opened(blob, "header")))
    except (ValueError, struct.error, KeyError) as exc:
        raise RecordError(f"damaged stored result: {exc}") from exc


# reads blobs by batch id (in the calling thread: SQLite connections stay in theirs)
ReadBatches = Callable[[list[int]], dict[int, tuple[bytes, bytes]]]


def _group_chunk(blobs: dict[int, tuple[bytes, bytes]], sums: dict[int, str],
                 wanted: list[tuple[int, np.ndarray, np.ndarray]], build: Callable[..., Any],
                 layouts: dict | None = None) -> Any:
    """One chunk result of a group of stored batches (``wanted``: per batch id its entries and
    the listed items they are for), built in the decoding thread: the blobs are decompressed
    (zstd releases the GIL), their thumbnails restored and their columns put end to end while
    the calling thread merges the group before; RecordError for a batch missing or not the one
    stored under its id when the result was made."""
    parts = []
    for bid, entries, rows in wanted:
        stored = blobs.get(bid)
        if stored is None:
            raise RecordError("a batch of records it points at is no longer stored")
        data = stored[0]
        if data[4:12].hex() != sums.get(bid):
            raise RecordError("a batch of records is not the one the stored result was made from")
        batch = decode_chunk(data, grids=False)  # thumbnails left as residuals
        if layouts is not None:
            layouts[bid] = batch.hist_layout()
        parts.append((batch, entries, rows))
    return chunk_from_batches(parts, _no_splits, build, hists=False)


def restore_snapshot(header: dict, row_map: bytes | None, read: ReadBatches, collector: Any, chunk_type: type,
                     files: Any, share: tuple[int, int] = (0, 1), layouts: dict | None = None) -> Iterator[None]:
    """Put a stored result into a fresh collector for the listed ``files``, yielding after each
    group of batches; RecordError when anything does not fit (the collector's rows are then
    marked not done again, and its merged state was not touched). ``share`` (k, m): only every
    m-th group of batches from the k-th, and only their items are checked (m processes filling
    one set of shared columns, cache/prefetch.py). ``layouts`` gets each batch's histogram
    layout (``Batch.hist_layout``: a rescan's patch sums a few rows without the rest)."""
    n = len(files)
    if header.get("items") != n:
        raise RecordError("the stored result was made for another listing")
    batch, entry = read_row_map(row_map, n)
    order = np.argsort(batch, kind="stable")
    ids, starts = np.unique(batch[order], return_index=True)
    bounds = np.r_[starts, n]
    formats, modes = list(header["format_names"]), list(header["mode_names"])
    collector.format_names, collector.mode_names = list(formats), list(modes)  # the stored codes

    def build(columns, _hists, index, failures, _splits, _failure_splits):  # the sums are stored
        return chunk_type(index=np.asarray(index, np.int64), failures=failures, accumulators={}, **columns)

    def submit(group: range) -> Future:
        """Read a group's blobs here (SQLite stays in its thread), decode them in the pool's."""
        chosen = [int(ids[g]) for g in group]
        wanted = [(bid, entry[rows], rows) for bid, g in zip(chosen, group) for rows in [order[bounds[g]:bounds[g + 1]]]]
        return pool.submit(_group_chunk, read(chosen), sums, wanted, build, layouts)

    try:
        sums = {int(bid): str(digest) for bid, digest in header["batches"]}
        splits = {split: decode_accumulator(acc) for split, acc in header["splits"].items()}
        failures = {int(i): str(reason) for i, reason in header["failures"]}
        groups = [range(k, min(k + GROUP_BATCHES, len(ids))) for k in range(0, len(ids), GROUP_BATCHES)]
        groups = groups[share[0]::share[1]]
        if share != (0, 1):  # the items of these groups' batches, and their failures
            mine = np.zeros(n, bool)
            for group in groups:
                mine[order[bounds[group.start]:bounds[group.stop]]] = True
            expected = int(np.count_nonzero(mine))
            failures = {i: reason for i, reason in failures.items() if 0 <= i < n and mine[i]}
        else:
            expected = n
        with ThreadPoolExecutor(1, thread_name_prefix="snapshot") as pool:
            ahead = submit(groups[0]) if groups else None
            for k in range(len(groups)):
                chunk = ahead.result()
                if k + 1 < len(groups):
                    ahead = submit(groups[k + 1])
                failed = np.array([i for i, _ in chunk.failures], np.int64)
                collector.merge(chunk, files.splits_of(np.concatenate([chunk.index, failed])))
                yield
        if collector.done != expected or collector.failures != failures or \
                (collector.format_names, collector.mode_names) != (formats, modes):
            raise RecordError("the stored records do not make the stored result")
    except (RecordError, KeyError, TypeError, ValueError, IndexError) as exc:  # the pool has finished
        collector.ok[:n] = False
        collector.done = 0
        collector.failures = {}
        collector.format_names, collector.mode_names = [], []
        collector.done_by_split = {split: 0 for split in collector.done_by_split}
        raise exc if isinstance(exc, RecordError) else RecordError(f"damaged stored result: {exc}") from exc
    collector.acc = splits
    listed = collector.layout.files.split_counts()
    collector.done_by_split = {split: listed.get(split, 0) for split in splits}


def _no_splits(index: np.ndarray) -> list[str]:
    return []
