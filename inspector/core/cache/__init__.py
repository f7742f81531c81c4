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
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import xxhash

from .codec import (Batch, RecordError, decode_chunk, encode_chunk, encode_subset, layout_version, load_codec,
                    restore_grids)
from ..file_list import FileList
from .reuse import (ChunkBuilder, ItemList, Part, StoredItems, chunk_from_batches, decode_keys, encode_keys,
                    feed_groups, listed_keys)
from .rows import rebuild_chunk
from . import patching, prefetch
from .snapshot import adopt_snapshot, encode_snapshot, read_header, restore_snapshot, snapshot_key
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


def forget_dataset(cache_dir: str, root: str) -> bool:
    """Drop every stored record of one dataset; False when it had none."""
    path = cache_path(cache_dir, os.path.abspath(root) if "://" not in root else root)
    if not os.path.exists(path):
        return False
    RecordStore.forget(path)
    return True


# Stored entries fed to the collector as one chunk: whole batches, about this many items and at
# most this many batches (each a blob to decode) between two chances to report progress.
FEED_ROWS = 4096
FEED_BATCHES = 64
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
        self._stored: StoredItems | None = None  # read when first needed: a restored result never does
        self.restored = False                    # the whole result came from the stored snapshot
        self.lazy = layout.pending is not None   # listed as the scan goes: never restored, so not stored
        self.unstored = 0                        # items decoded without records to store
        self.keys: dict[int, bytes] = {}   # of the items to decode: what their records are stored under
        self.identity: dict[int, tuple[int, int]] = {}
        self.use: dict[int, list[int]] = {}  # batch -> [entries in it, entries used by this scan]
        self.used = 0
        self.rescanned = 0
        self.write_seconds = 0.0
        self.read_only = False
        self.tidied = False
        # where each listed item's record is stored (batch id, entry), for the stored whole result
        n = 0 if self.lazy else len(layout.files)
        self.row_batch = np.full(n, -1, np.int64)
        self.row_entry = np.full(n, -1, np.int64)
        self.sums: dict[int, bytes] = {}  # batch id -> its record blob's checksum (the stored result names them)
        self._ahead: prefetch.Prefetch | None = None  # the child's read of the last result, to patch it
        self.patched: np.ndarray | None = None  # per listed item: taken from the patched result
        self._listed: list[bytes] | None = None  # every listed item's key, once made
        self._listed_pos: np.ndarray | None = None  # and their positions in the stored items
        self._rest_of_patch: Callable[[], np.ndarray] | None = None
        self._rejected = np.zeros(0, np.int64)  # candidates of the patch not kept, to feed or decode

    @classmethod
    def open(cls, cache_dir: str, layout: Any, empty_chunk: Any) -> "ScanCache | str":
        """The cache for this dataset, or the reason it cannot be used for this scan."""
        try:
            store = RecordStore(cache_path(cache_dir, layout.root), layout_version(empty_chunk), layout.root)
        except StoreUnavailable as exc:
            return f"{exc}; this scan does not use it"
        load_codec()  # here, before any worker starts: a scan without a cache never imports it
        return cls(store, layout)

    @property
    def stored(self) -> StoredItems:
        if self._stored is None:
            self._stored = StoredItems([])
            if self.store is not None:
                try:
                    self._stored = StoredItems(self.store.items())
                except sqlite3.DatabaseError as exc:
                    self._damaged(str(exc))
        return self._stored

    def restore(self, collector: Any, chunk_type: type) -> Iterator[None]:
        """Put the stored result of the last whole scan into ``collector`` when it was made from
        exactly this listing (cache/snapshot.py), yielding between its parts; returns whether it
        did. A damaged one is dropped with a message, and the reopen goes on from the records."""
        layout, store = self.layout, self.store
        if store is None or layout.pending is not None or not len(layout.files):
            return False
        key = snapshot_key(layout, store.layout)
        ahead = prefetch.take(store.path)  # read by a child process while the files were listed
        try:
            if store.snapshot_key() != key:
                self._ahead, ahead = ahead, None  # another listing: a rescan patches that result
                return False
            _, mtimes = layout.files.identities(0, len(layout.files))
            head, row_map = store.snapshot_part(0, key), store.snapshot_part(1, key)
            header = read_header(head)
            if int(mtimes.max()) >= int(header["seen_ns"]) - MTIME_SLACK_NS:
                self._ahead, ahead = ahead, None
                return False  # a file modified within the timestamp resolution of that scan
            if ahead is not None and (ahead.key, ahead.head, ahead.row_map) == (key, head, row_map) and \
                    len(ahead.collector.layout.files) == len(layout.files) and ahead.wait():
                adopt_snapshot(header, collector, ahead.collector)  # the child read this very result
            else:
                yield from restore_snapshot(header, row_map, store.batches, collector, chunk_type, layout.files)
        except sqlite3.DatabaseError as exc:
            self._damaged(str(exc))
            return False
        except RecordError as exc:
            self.message = f"the stored result of the last scan was not used ({exc}); read from the records instead"
            self._drop_snapshot(key)
            return False
        finally:
            if ahead is not None:
                ahead.stop()
        self.restored = True
        self.used = len(layout.files)
        return True

    def patch(self, collector: Any) -> bool:
        """Find which listed items can be taken from the last whole scan's result, when a child
        read it while the files were listed (cache/patching.py): those whose stored record is still
        valid and is the one that result holds. ``filter`` leaves them out and hands the files to
        decode to the workers at once, while a thread checks the candidates and prepares the rows
        and sums; it finishes the patch (``_finish_patch``) once every file to decode went to the
        workers. Whether there is a patch to finish."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return False
        try:
            self._rest_of_patch = patching.start(self, ahead, collector, MTIME_SLACK_NS)
        except sqlite3.DatabaseError as exc:
            self._damaged(str(exc))
        except (RecordError, KeyError, TypeError, ValueError, IndexError):
            pass  # the records are fed instead
        finally:
            ahead.stop()
        if self._rest_of_patch is None:
            self.patched = None
        return self._rest_of_patch is not None

    def _finish_patch(self) -> bool:
        """Finish the patch ``patch`` started (the kept items into the collector); False when it
        could not be (its items are then fed from their records: nothing of it was put in). The
        candidates it did not keep (their batch's own list did not vouch for them) are in
        ``self._rejected``, to be fed or decoded."""
        finish, self._rest_of_patch = self._rest_of_patch, None
        self._rejected = np.zeros(0, np.int64)
        if finish is None:
            return False
        try:
            self._rejected = finish()
            return True
        except sqlite3.DatabaseError as exc:
            self._damaged(str(exc))
        except (RecordError, KeyError, TypeError, ValueError, IndexError):
            pass
        return False

    def save(self, collector: Any) -> None:
        """Store the scan's merged result for the next reopen of this very listing: only when
        every listed item is in it and was stored or reused (a chunk lost with a worker is
        decoded again next time, so it is not kept as failed), and not after a restore."""
        layout, n = self.layout, len(self.layout.files)
        if (self.store is None or self.read_only or self.restored or self.lazy or self.unstored or not n
                or collector.done != n or layout.pending is not None):
            return
        self._tidy()  # first: compacting a batch moves its entries
        if self.read_only or self.store is None or bool((self.row_batch < 0).any()):
            return
        t0 = time.perf_counter()
        try:
            self.store.snapshot_put(snapshot_key(layout, self.store.layout),
                                    encode_snapshot(collector, n, self.seen_ns, self.row_batch, self.row_entry,
                                                    self.sums))
        except sqlite3.Error as exc:
            self._stop_writing(f"the cache could not be written ({exc}); the rest of this scan is not stored")
        except RecordError:
            pass  # a column that cannot be stored this way: reopens read the records
        self.write_seconds += time.perf_counter() - t0

    def _drop_snapshot(self, key: str) -> None:
        try:
            if self.store is not None and not self.read_only:
                self.store.snapshot_drop(key)
        except sqlite3.Error:
            pass

    def filter(self, files: FileList, more: Callable[[], bool], collector: Any, build: ChunkBuilder,
               size: int = 64, pause: float = 0.1) -> Iterator[list[tuple[int, Any]]]:
        """Feed the validly stored items of the listing into the collector, many batches at a
        time; yield the rest to decode in chunks of ``size`` in listing order (a few changed files
        spread over the dataset are decoded, and stored, together rather than one or two at a
        time), one between feeds so the decoding starts early, and an empty list after each
        ``pause`` seconds of feeding alone, so the scan reports progress and honours a cancel.
        ``more()`` discovers more of a lazy source (False: the listing is complete). Items
        ``patch`` took from the last result are left out, and that patch is finished last, while
        the workers decode."""
        left = _Pending(files)
        clock = [time.perf_counter()]  # the last yield
        start = 0
        decoder = ThreadPoolExecutor(1, thread_name_prefix="cache-decode")
        try:
            while start < len(files) or more():
                stop = len(files)
                groups, rest = self._match(files, start, stop)
                left.extend(rest.tolist())
                yield from self._feed_groups(groups, left, decoder, files, collector, build, size, pause, clock)
                start = stop
                left.sort()
                while len(left) >= size:
                    yield left.take(size)
            if len(left):
                yield left.take(len(left))
            if self.patched is not None:  # finished once every file to decode went to the workers
                kept, self.patched = self.patched, None
                # the items it was for are fed instead, or those of them it did not keep
                todo = self._rejected if self._finish_patch() else np.flatnonzero(kept)
                if len(todo):
                    groups, rest = self._match(files, 0, len(files), todo)
                    left.extend(rest.tolist())
                    yield from self._feed_groups(groups, left, decoder, files, collector, build, size, pause, clock)
                    left.sort()
                    while len(left):
                        yield left.take(size)
        finally:
            decoder.shutdown(wait=False, cancel_futures=True)

    def _feed_groups(self, groups: list[tuple], left: "_Pending", decoder: ThreadPoolExecutor, files: FileList,
                     collector: Any, build: ChunkBuilder, size: int, pause: float, clock: list[float]
                     ) -> Iterator[list[tuple[int, Any]]]:
        """``filter``'s feeding of stored groups, yielding the items to decode between them."""
        # the next group's blobs are decoded in a thread (decompression and numpy release the
        # GIL) while this one is added to the collector
        ahead = self._decode_ahead(decoder, groups[0]) if groups else None
        for k, group in enumerate(groups):
            if len(left) >= size:
                yield left.take(size)
                clock[0] = time.perf_counter()
            found = self._decoded(ahead)
            ahead = self._decode_ahead(decoder, groups[k + 1]) if k + 1 < len(groups) else None
            left.extend(self._feed(group, found, files, collector, build))
            if time.perf_counter() - clock[0] >= pause:
                yield []
                clock[0] = time.perf_counter()

    def _match(self, files: FileList, start: int, stop: int, todo: np.ndarray | None = None
               ) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray]:
        """Listed items start..stop-1 (of them, those at ``todo`` from start, by default all but
        the patched ones) split into groups to reuse (their index, stored batch and entry, key and
        identity) and the indices of the rest, whose key and identity are kept for storing their
        records once decoded."""
        whole = self._listed is not None and (start, stop) == (0, len(self._listed))
        keys = self._listed if whole else listed_keys(files, start, stop, self.root)
        size, mtime = files.identities(start, stop)
        stored = self.stored
        pos = self._listed_pos if whole and self._listed_pos is not None else stored.find(keys)
        if todo is None:
            todo = np.arange(stop - start) if self.patched is None else np.flatnonzero(~self.patched[start:stop])
        found = todo[pos[todo] >= 0]  # the patched items are in the collector already
        p = pos[found]
        valid = (stored.size[p] == size[found]) & (stored.mtime[p] == mtime[found]) & \
            (stored.mtime[p] < stored.seen[p] - MTIME_SLACK_NS)
        reuse, p = found[valid], p[valid]
        rest = np.setdiff1d(todo, reuse, assume_unique=True)
        left = rest.tolist()  # a cold scan's every item: kept without a Python loop of its own
        at = (rest + start).tolist()
        self.keys.update(zip(at, map(keys.__getitem__, left)))
        self.identity.update(zip(at, zip(size[rest].tolist(), mtime[rest].tolist())))
        groups = []
        for g in feed_groups(stored.batch[p], FEED_ROWS, FEED_BATCHES):
            r = reuse[g]
            groups.append((r + start, stored.batch[p[g]], stored.entry[p[g]], [keys[k] for k in r.tolist()],
                           size[r], mtime[r]))
        return groups, rest + start

    def _feed(self, group: tuple, found: dict[int, tuple[Batch, ItemList]], files: FileList, collector: Any,
              build: ChunkBuilder) -> list[int]:
        """Add one group of stored entries (whole batches, sorted by batch; ``found``: those of
        its batches decoded) to the collector as one chunk; return the listed items it could not
        vouch for, to be decoded."""
        index, batch_ids, entries, keys, sizes, mtimes = group
        ids, firsts, counts = np.unique(batch_ids, return_index=True, return_counts=True)
        parts: list[Part] = []
        bad: list[int] = []
        for bid, first, count in zip(ids.tolist(), firsts.tolist(), counts.tolist()):
            batch = found.get(bid)
            span = slice(first, first + count)
            # the batch's own (checksummed) list must name each item with this identity
            vouched = np.zeros(count, bool) if batch is None else \
                batch[1].vouches(keys[span], entries[span], sizes[span], mtimes[span])
            good = (np.flatnonzero(vouched) + first).tolist()
            for j in (np.flatnonzero(~vouched) + first).tolist():
                i = int(index[j])
                self.keys[i], self.identity[i] = keys[j], (int(sizes[j]), int(mtimes[j]))
                bad.append(i)
            if good:
                self.use[bid][1] += len(good)
                parts.append((batch[0], entries[good], index[good]))
                if not self.lazy:
                    self.row_batch[index[good]], self.row_entry[index[good]] = bid, entries[good]
        if parts:
            chunk = chunk_from_batches(parts, files.splits_of, build)
            reused = np.concatenate([p[2] for p in parts])
            collector.merge(chunk, files.splits_of(reused))
            self.used += len(reused)
        return bad

    def _decode_ahead(self, decoder: ThreadPoolExecutor, group: tuple) -> Future | None:
        """Start decoding the blobs of a group's batches that are still stored (another process
        may have replaced all of a batch's items meanwhile); read here, decoded in the thread."""
        if self.store is None:
            return None
        try:
            blobs = self.store.batches(np.unique(group[1]).tolist())
        except sqlite3.DatabaseError as exc:
            self._damaged(str(exc))
            return None
        self.sums.update((bid, data[4:12]) for bid, (data, _) in blobs.items())
        return decoder.submit(_decode_batches, blobs)

    def _decoded(self, ahead: Future | None) -> dict[int, tuple[Batch, ItemList]]:
        """The decoded batches of ``_decode_ahead``; none when one is damaged (the store is then
        rebuilt empty, so the later groups find none of theirs either)."""
        if ahead is None:
            return {}
        try:
            found = ahead.result()
        except RecordError as exc:
            self._damaged(str(exc))
            return {}
        for bid, (_, items) in found.items():
            self.use.setdefault(bid, [len(items), 0])
        return found

    def _damaged(self, reason: str) -> None:
        """A damaged store is rebuilt empty; records already used had passed their checksums."""
        self._stored = StoredItems([])
        self._listed_pos = None
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
        if blob is None:
            self.unstored += len(items)
        if blob is None or self.store is None or self.read_only:
            return
        t0 = time.perf_counter()
        order = chunk.index.tolist() + [i for i, _ in chunk.failures]
        keys, identity, seen = self.keys, self.identity, self.seen_ns
        rows = [(keys[index], *identity[index], seen, entry) for entry, index in enumerate(order) if index in identity]
        try:
            batch_id = self.store.put_batch(blob, encode_keys(rows), rows)
            self.sums[batch_id] = blob[4:12]
            if not self.lazy:
                at = np.array(order, np.int64)
                self.row_batch[at], self.row_entry[at] = batch_id, np.arange(len(order))
        except sqlite3.Error as exc:  # a full disk or a lock held too long: keep scanning without it
            self._stop_writing(f"the cache could not be written ({exc}); the rest of this scan is not stored")
        self.write_seconds += time.perf_counter() - t0

    def finish(self) -> dict:
        """Tidy the store (unless done before saving the whole result); return what the export
        says about the cache."""
        self._tidy()
        return {"used": self.used, "rescanned": self.rescanned}

    def _tidy(self) -> None:
        """Forget items that are gone, compact batches mostly made stale (their items' records
        then live in a new batch, at new entries: the map of the listing follows them)."""
        if self.tidied:
            return
        self.tidied = True
        gone = [] if self.restored else self.stored.unmatched()
        if self.store is not None and not self.read_only and (gone or self.rescanned):
            t0 = time.perf_counter()
            try:
                self.store.drop_items(gone)  # also frees the batches no item points at any more
                sparse = [b for b, (entries, used) in self.use.items() if 0 < used <= COMPACT_BELOW * entries]
                if sparse:
                    for old, new, moved in self.store.compact(sparse, _rewrite_live):
                        self._moved(old, new, moved)
            except sqlite3.Error as exc:
                self._stop_writing(f"the cache could not be tidied ({exc})")
            self.write_seconds += time.perf_counter() - t0

    def _moved(self, old: int, new: int, moved: dict[int, int]) -> None:
        """Batch ``old`` was rewritten as ``new``, its entry e now at ``moved[e]`` (-1: dropped)."""
        blob = self.store.batch(new) if self.store is not None else None
        if blob is not None:
            self.sums[new] = blob[0][4:12]
        rows = np.flatnonzero(self.row_batch == old)
        if len(rows):
            entries = np.array([moved.get(e, -1) for e in self.row_entry[rows].tolist()], np.int64)
            self.row_batch[rows] = np.where(entries >= 0, new, -1)
            self.row_entry[rows] = entries

    def _give_up(self, message: str) -> None:
        self._stop_writing(message)
        self.close()

    def _stop_writing(self, message: str) -> None:
        """Keep reading (what is stored stays valid) but write nothing more in this scan."""
        print(f"warning: {message}", file=sys.stderr)
        self.message = message
        self.read_only = True

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.stop()
            self._ahead = None
        if self.store is not None:
            self.store.close()
            self.store = None


class _Pending:
    """The listed items left to decode, taken from the front a chunk at a time as (index, item):
    an item is made only when its chunk is (a cold scan holding all of them at once held 100,000
    objects), and the rest is not copied at every chunk (that was quadratic in the items)."""

    def __init__(self, files: FileList) -> None:
        self.files = files
        self.items: list[int] = []
        self.at = 0

    def __len__(self) -> int:
        return len(self.items) - self.at

    def extend(self, items: list[int]) -> None:
        self.items.extend(items)

    def take(self, size: int) -> list[tuple[int, Any]]:
        taken = self.items[self.at:self.at + size]
        self.at += len(taken)
        if self.at >= 4096 and self.at * 2 >= len(self.items):  # drop the taken front now and then
            del self.items[:self.at]
            self.at = 0
        return [(i, self.files[i]) for i in taken]

    def sort(self) -> None:
        """The items not yet taken, in listing order."""
        self.items, self.at = sorted(self.items[self.at:]), 0


def cache_summary(cache: "ScanCache | str | None", decoded: int) -> dict:
    """What a scan's result says about the cache: items reused, items decoded, why not used."""
    if not isinstance(cache, ScanCache):
        return {"used": 0, "rescanned": decoded, "enabled": False, "message": cache}
    summary = {**cache.finish(), "enabled": True, "write_seconds": cache.write_seconds}
    cache.close()
    return {**summary, "message": cache.message}


def _decode_batches(blobs: dict[int, tuple[bytes, bytes]]) -> dict[int, tuple[Batch, ItemList]]:
    """Each blob's records and item list. The image columns are restored from their residuals
    here, in the decoding thread, a batch at a time (restore_grids' adds release the GIL), not
    in the feeding thread, which merges the group before meanwhile and was the slower of the two."""
    out = {}
    for bid, (data, keys) in blobs.items():
        batch = decode_chunk(data, grids=False)
        for name in batch.residual:
            batch.columns[name] = restore_grids(np.array(batch.columns[name]))  # a copy: the residual is read-only
        batch.residual = set()
        out[bid] = (batch, decode_keys(keys))
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
