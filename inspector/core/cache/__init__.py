"""The on-disk cache of per-image records that makes reopening and rescanning a dataset cheap.

A scan splits its files into those whose stored record is still valid (same file, same size,
same modification time) and those it must decode. Stored records enter the scan's collector
exactly as freshly decoded chunks do, so a cached or incremental scan gives the same result as
a scan without the cache. Newly decoded chunks are stored as they arrive, one transaction each.

A record is trusted only when the file's modification time is clearly older than the moment the
record's scan looked at the file (``MTIME_SLACK_NS``): a file rewritten within the file system's
timestamp resolution of that moment could keep its size and time, so such a record is decoded
again (git's "racily clean" rule).
"""
from __future__ import annotations

import os
import sqlite3
import struct
import sys
import time
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import xxhash

from .codec import Batch, RecordError, decode_chunk, encode_chunk, encode_subset, layout_version, load_codec
from .rows import rebuild_chunk
from .store import RecordStore, StoreUnavailable

CACHE_DIR_ENV = "INSPECTOR_CACHE_DIR"   # overrides the default folder (the test suite sets it)
MTIME_SLACK_NS = 2_000_000_000          # FAT's 2 s timestamps are the coarsest we expect

__all__ = ["ScanCache", "default_cache_dir", "cache_path", "forget_dataset", "encode_chunk",
           "RecordError", "CACHE_DIR_ENV", "cache_summary", "rebuild_chunk", "stored_records", "load_codec"]


def stored_records(chunk: Any, hists: list) -> bytes | None:
    """A worker's chunk as one blob for the cache; None when a column has not one value per row
    (the chunk is then scanned as usual and just not stored)."""
    try:
        return encode_chunk(chunk, hists)
    except RecordError:
        return None


def default_cache_dir() -> str:
    """$INSPECTOR_CACHE_DIR, else $XDG_CACHE_HOME/dataset-inspector, else ~/.cache/dataset-inspector."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dataset-inspector")


def cache_path(cache_dir: str, root: str) -> str:
    """One SQLite file per dataset, named after its root (readable prefix + digest)."""
    base = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(root.rstrip("/")))
    digest = xxhash.xxh3_64(os.fsencode(root)).hexdigest()
    return os.path.join(cache_dir, f"{base[:40] or 'root'}-{digest}.sqlite")


def item_identity(f: Any) -> tuple[int, int] | None:
    """(size, mtime_ns) of an item's bytes: the item's own when its source recorded them (for a
    tar or Parquet member, its container's), else a stat of the file; None when it is gone."""
    size, mtime = getattr(f, "size", None), getattr(f, "mtime_ns", None)
    if size is not None and mtime is not None:
        return int(size), int(mtime)
    try:
        st = os.stat(f.abspath)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def item_key(f: Any, root: bytes) -> bytes:
    """The item's exact name (bytes, so undecodable names stay distinct), relative to the root."""
    key = os.fsencode(f.abspath)
    if key.startswith(root):
        key = key[len(root):]
    locator = getattr(f, "locator", None)
    return key if locator is None else key + b"\0" + repr(locator).encode()


def forget_dataset(cache_dir: str, root: str) -> bool:
    """Drop every stored record of one dataset; False when it had none."""
    path = cache_path(cache_dir, os.path.abspath(root) if "://" not in root else root)
    if not os.path.exists(path):
        return False
    RecordStore.forget(path)
    return True


# A function from scan.py that turns stored rows back into a chunk result:
# (columns, hists, index, failures, splits of the rows, splits of the failures) -> chunk
ChunkBuilder = Callable[..., Any]
DECODED_BATCHES_KEPT = 8  # consecutive chunks of a rescan mostly share the previous scan's batches
COMPACT_BELOW = 0.5       # a batch whose items mostly changed or went is rewritten with the rest


class ScanCache:
    """The cache as one scan uses it: reuse what is valid, store what gets decoded."""

    def __init__(self, store: RecordStore, layout: Any) -> None:
        self.store: RecordStore | None = store
        self.layout = layout
        self.message = store.message
        root = os.fsencode(layout.root)
        self.root = root if root.endswith(b"/") else root + b"/"
        self.seen_ns = time.time_ns()  # taken before any item is looked at
        try:
            self.stored = store.items()
        except sqlite3.DatabaseError as exc:
            self.stored = {}
            self._damaged(str(exc))
        self.present: set[bytes] = set()
        self.keys: dict[int, bytes] = {}
        self.identity: dict[int, tuple[int, int]] = {}
        self.decoded: OrderedDict[int, tuple[Batch, dict[bytes, tuple[int, int, int]]] | None] = OrderedDict()
        self.use: dict[int, list[int]] = {}  # batch -> [entries in it, entries used by this scan]
        self.used = 0
        self.rescanned = 0
        self.write_seconds = 0.0
        self.read_only = False

    @classmethod
    def open(cls, cache_dir: str, layout: Any, empty_chunk: Any) -> "ScanCache | str":
        """The cache for this dataset, or the reason it cannot be used for this scan."""
        try:
            store = RecordStore(cache_path(cache_dir, layout.root), layout_version(empty_chunk), layout.root)
        except StoreUnavailable as exc:
            return f"{exc}; this scan does not use it"
        load_codec()  # here, before any worker starts: a scan without a cache never imports it
        return cls(store, layout)

    def filter(self, chunks: Iterable[list[tuple[int, Any]]], collector: Any, build: ChunkBuilder,
               size: int = 64, pause: float = 0.1) -> Iterator[list[tuple[int, Any]]]:
        """Feed each chunk's validly stored items into the collector; yield the rest to decode in
        chunks of ``size`` (a few changed files spread over the dataset are decoded, and stored,
        together rather than one or two at a time), and an empty list after each ``pause``
        seconds of feeding alone, so the scan reports progress and honours a cancel meanwhile."""
        stored, keys, identity, present, root = self.stored, self.keys, self.identity, self.present, self.root
        left: list[tuple[int, Any]] = []
        last = time.perf_counter()
        for items in chunks:
            by_batch: dict[int, list[tuple[int, int]]] = defaultdict(list)
            listed = dict(items)  # the items as listed: a columnar file list makes a new object per lookup
            for index, f in items:
                key = item_key(f, root)
                keys[index] = key
                present.add(key)
                ident = item_identity(f)
                if ident is None:
                    left.append((index, f))
                    continue
                identity[index] = ident
                row = stored.get(key)
                if row is not None and row[0] == ident[0] and row[1] == ident[1] and row[1] < row[2] - MTIME_SLACK_NS:
                    by_batch[row[3]].append((index, row[4]))
                else:
                    left.append((index, f))
            for batch_id, wanted in by_batch.items():
                left += self._feed(batch_id, wanted, collector, build, listed)
            if len(left) >= size:
                left.sort(key=lambda item: item[0])
                while len(left) >= size:
                    yield left[:size]
                    left = left[size:]
                last = time.perf_counter()
            elif time.perf_counter() - last >= pause:
                yield []
                last = time.perf_counter()
        if left:
            yield sorted(left, key=lambda item: item[0])

    def _feed(self, batch_id: int, wanted: list[tuple[int, int]], collector: Any, build: ChunkBuilder,
              files: dict[int, Any]):
        """Add the wanted entries of one stored batch (``files``: their listed items by index);
        return the items it could not vouch for."""
        batch = self._batch(batch_id)
        good, bad = [], []
        for index, entry in wanted:
            # the batch's own (checksummed) list must name this item with this identity
            if batch is not None and batch[1].get(self.keys[index]) == (entry, *self.identity[index]):
                good.append((index, entry))
            else:
                bad.append((index, files[index]))
        if good:
            self.use[batch_id][1] += len(good)
            chunk, items = _chunk_from_batch(batch[0], good, files, build)
            sink, collector.sink = collector.sink, None  # stored already: not stored again
            collector.add(chunk, items)
            collector.sink = sink
            self.used += len(items)
        return bad

    def _batch(self, batch_id: int):
        if batch_id in self.decoded:
            self.decoded.move_to_end(batch_id)
            return self.decoded[batch_id]
        found = None
        if self.store is not None:
            try:
                row = self.store.batch(batch_id)
                if row is not None:  # gone: another process replaced all of its items meanwhile
                    found = decode_chunk(row[0]), decode_keys(row[1])
                    self.use.setdefault(batch_id, [len(found[1]), 0])
            except RecordError as exc:
                self._damaged(str(exc))
            except sqlite3.DatabaseError as exc:
                self._damaged(str(exc))
        self.decoded[batch_id] = found
        if len(self.decoded) > DECODED_BATCHES_KEPT:
            self.decoded.popitem(last=False)
        return found

    def _damaged(self, reason: str) -> None:
        """A damaged store is rebuilt empty; records already used had passed their checksums."""
        self.stored = {}
        if self.store is not None:
            try:
                self.store.rebuild(reason)
                self.message = self.store.message
            except (sqlite3.DatabaseError, StoreUnavailable) as exc:
                self._give_up(f"the cache was damaged and could not be rebuilt ({exc})")

    def store_chunk(self, chunk: Any, items: list[tuple[int, Any]]) -> None:
        """The collector's sink: store a freshly decoded chunk's records (one transaction)."""
        self.rescanned += len(items)
        blob = getattr(chunk, "records", None)
        if blob is None or self.store is None or self.read_only:
            return
        t0 = time.perf_counter()
        order = [int(i) for i in chunk.index] + [i for i, _ in chunk.failures]
        rows = []
        for entry, index in enumerate(order):
            ident = self.identity.get(index)
            if ident is not None:
                rows.append((self.keys[index], ident[0], ident[1], self.seen_ns, entry))
        try:
            self.store.put_batch(blob, encode_keys(rows), rows)
        except sqlite3.Error as exc:  # a full disk or a lock held too long: keep scanning without it
            self._stop_writing(f"the cache could not be written ({exc}); the rest of this scan is not stored")
        self.write_seconds += time.perf_counter() - t0

    def finish(self) -> dict:
        """Forget items that are gone, compact batches mostly made stale; return what the export
        says about the cache."""
        gone = [k for k in self.stored if k not in self.present]
        if self.store is not None and not self.read_only and (gone or self.rescanned):
            t0 = time.perf_counter()
            try:
                self.store.drop_items(gone)  # also frees the batches no item points at any more
                sparse = [b for b, (entries, used) in self.use.items() if 0 < used <= COMPACT_BELOW * entries]
                if sparse:
                    self.store.compact(sparse, _rewrite_live)
            except sqlite3.Error as exc:
                self._stop_writing(f"the cache could not be tidied ({exc})")
            self.write_seconds += time.perf_counter() - t0
        return {"used": self.used, "rescanned": self.rescanned}

    def _give_up(self, message: str) -> None:
        self._stop_writing(message)
        self.close()

    def _stop_writing(self, message: str) -> None:
        """Keep reading (what is stored stays valid) but write nothing more in this scan."""
        print(f"warning: {message}", file=sys.stderr)
        self.message = message
        self.read_only = True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def cache_summary(cache: "ScanCache | str | None", decoded: int) -> dict:
    """What a scan's result says about the cache: items reused, items decoded, why not used."""
    if not isinstance(cache, ScanCache):
        return {"used": 0, "rescanned": decoded, "enabled": False, "message": cache}
    summary = {**cache.finish(), "enabled": True, "write_seconds": cache.write_seconds}
    cache.close()
    return {**summary, "message": cache.message}


def encode_keys(rows: list[tuple[bytes, int, int, int, int]]) -> bytes:
    """The batch's own list of (key, entry, size, mtime_ns), checksummed: a reused record must be
    named there, so a damaged or stale index row can never hand one item another's record."""
    body = zlib.compress(b"".join(struct.pack("<IIqq", len(k), e, size, mtime) + k
                                  for k, size, mtime, _, e in rows), 1)
    return xxhash.xxh3_64(body).digest() + body


def decode_keys(blob: bytes) -> dict[bytes, tuple[int, int, int]]:
    if xxhash.xxh3_64(blob[8:]).digest() != blob[:8]:
        raise RecordError("checksum mismatch in a batch's item list")
    try:
        raw = zlib.decompress(blob[8:])
    except zlib.error as exc:
        raise RecordError(f"damaged item list: {exc}") from exc
    out, pos = {}, 0
    while pos < len(raw):
        n, entry, size, mtime = struct.unpack_from("<IIqq", raw, pos)
        pos += 24
        out[raw[pos:pos + n]] = (entry, size, mtime)
        pos += n
    return out


def _rewrite_live(blob: bytes, keys: bytes, live: list[tuple[bytes, int, int, int, int]]):
    """A partly stale batch's replacement with just its live items (the ones its own item list
    vouches for; the others are dropped), or None to keep it: not sparse enough, or damaged
    (then a later read finds that out and rebuilds the cache)."""
    try:
        batch, named = decode_chunk(blob), decode_keys(keys)
    except RecordError:
        return None
    live = [item for item in live if named.get(item[0]) == (item[4], item[1], item[2])]
    if not live or len(live) > COMPACT_BELOW * len(named):
        return None
    new_blob, where = encode_subset(batch, [entry for *_, entry in live])
    rows = [(key, size, mtime, seen, where[entry]) for key, size, mtime, seen, entry in live]
    return new_blob, encode_keys(rows), rows


def _chunk_from_batch(batch: Batch, wanted: list[tuple[int, int]], files, build: ChunkBuilder):
    """A chunk result holding the wanted entries of one stored batch, for the layout's items."""
    rows = [(index, entry) for index, entry in wanted if entry < batch.rows]
    fails = [(index, entry - batch.rows) for index, entry in wanted if entry >= batch.rows]
    if any(e >= len(batch.failures) for _, e in fails):
        raise RecordError("an item points past the end of its batch")
    pick = np.array([entry for _, entry in rows], np.int64)
    columns = {name: (value[pick] if hasattr(value, "shape") else [value[j] for j in pick.tolist()])
               for name, value in batch.columns.items()}
    codes, slots = batch.codes[pick], batch.slots[pick]
    hist_groups = []
    for code, stack in enumerate(batch.groups):
        positions = np.flatnonzero(codes == code)
        if positions.size:
            hist_groups.append((positions, stack, slots[positions]))
    index = [i for i, _ in rows]
    failures = [(i, batch.failures[e]) for i, e in fails]
    chunk = build(columns, hist_groups, index, failures,
                  [files[i].split for i in index], [files[i].split for i, _ in failures])
    return chunk, [(i, files[i]) for i in index + [i for i, _ in failures]]
