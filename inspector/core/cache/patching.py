"""How a rescan's ``ScanCache`` patches the stored whole result of the scan before it (the exact
arithmetic of the sums: patch.py).

What the scan's own thread does first is only what decides which files go to the workers: the
listed items whose stored record is still valid (same name, size and modification time, older than
that record's scan) and is the one the stored result holds, in the same split. Those are the
candidates to take from the result; every other file is decoded, so the workers start on them at
once. Everything else runs in a thread while they decode (decompression, numpy and SQLite's reads
release the GIL): each candidate must still be named with its entry and identity by its batch's
own (checksummed) item list (read through a read-only connection of the thread's own: the scan's
connection stays in the scan's thread, and the batches read are ones this scan does not touch until
its end); the stored sums less what the items gone, changed or not vouched for put in (only their
batches' histograms decompressed); the kept rows copied into the collector's columns (rows the
decoded chunks do not touch). The scan's thread then finishes the patch once every file to decode
went to the workers; a candidate its batch's list did not vouch for is handed back and fed from the
records or decoded as without the patch.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .codec import RecordError, decode_chunk, hist_rows
from .patch import code_map, codes_of_runs, old_positions, subtract
from .prefetch import Prefetch, read_only
from .reuse import decode_keys, listed_keys
from .rows import rebuild_chunk
from .snapshot import decode_accumulator, read_header, read_row_map
from .store import read_batches, read_item_lists

READ_TIMEOUT_S = 1.0   # the thread's read-only connection waits this long for a lock at most

# (the listed items the patch took, what the scan's thread does last); the caller keeps them
Finish = Callable[[], np.ndarray]


def start(cache: Any, ahead: Prefetch, collector: Any, slack_ns: int) -> Finish | None:
    """Start patching ``collector`` from the stored result the children (``ahead``) read: marks the
    candidates in ``cache.patched`` (the scan decodes the rest) and starts the thread; returns the
    function that finishes the patch in the scan's thread (it returns the candidates to feed or
    decode after all, and raises when nothing of the patch can be used), or None when there is no
    patch to make."""
    store, files = cache.store, cache.layout.files
    n = len(files)
    if store is None or cache.lazy or not n or not ahead.wait():
        return None
    if (store.snapshot_part(0, ahead.key), store.snapshot_part(1, ahead.key)) != (ahead.head, ahead.row_map):
        return None  # the stored result changed since the child read it
    header, old = read_header(ahead.head), ahead.collector
    m = int(header["items"])
    if len(old.layout.files) != m:
        return None
    old_batch, old_entry = read_row_map(ahead.row_map, m)
    old_split = codes_of_runs(header["split_runs"], m)
    split_names = [str(s) for s in header["split_names"]]
    sums = {int(bid): str(digest) for bid, digest in header["batches"]}
    # the listed items whose stored record is valid and is the one the result holds
    keys = cache._listed = listed_keys(files, 0, n, cache.root)
    size, mtime = files.identities(0, n)
    stored = cache.stored
    pos = stored.find(keys)
    found = np.flatnonzero(pos >= 0)
    p = pos[found]
    valid = (stored.size[p] == size[found]) & (stored.mtime[p] == mtime[found]) & \
        (stored.mtime[p] < stored.seen[p] - slack_ns)
    new_i, p = found[valid], p[valid]
    old_i = old_positions(old_batch, old_entry, stored.batch[p], stored.entry[p])
    same_split = np.array([files.split_names.index(s) if s in files.split_names else -1 for s in split_names]
                          + [-2], np.int64)[np.where(old_i >= 0, old_split[old_i], -1)]
    hit = (old_i >= 0) & (same_split == files.split_codes()[new_i])
    new_i, p, old_i = new_i[hit], p[hit], old_i[hit]
    if len(np.unique(old_i)) != len(old_i) or any(int(bid) not in sums for bid in np.unique(old_batch[old_i])):
        return None
    # what the thread needs of the listing and the stored items, taken here (they are the scan's)
    path = store.path
    batch, entry = stored.batch[p], stored.entry[p]
    item_keys = list(map(keys.__getitem__, new_i.tolist()))
    sizes, mtimes = size[new_i], mtime[new_i]
    layouts = ahead.hist_layouts()

    def prepare() -> tuple:
        """In a thread: the candidates their batches vouch for, the stored sums less what the
        other items of the stored result put in, the kept rows into the collector's columns."""
        db = read_only(path, READ_TIMEOUT_S)
        try:
            vouched, entries = _vouched(db, item_keys, batch, entry, sizes, mtimes)
            kept_new, kept_old = new_i[vouched], old_i[vouched]
            gone = np.ones(m, bool)
            gone[kept_old] = False
            gone_i = np.flatnonzero(gone)
            blobs = read_batches(db, np.unique(old_batch[gone_i]).tolist())
        except sqlite3.OperationalError as exc:  # locked or unreadable just now: the records are fed instead
            raise RecordError(f"the cache could not be read for the patch ({exc})") from exc
        finally:
            db.close()
        base = {split: decode_accumulator(acc) for split, acc in header["splits"].items()}
        for split, count in header["broken"]:
            base[split].failed -= int(count)  # the listing's own unreadable entries are counted anew
        removed = _removed_sums(blobs, sums, layouts, old, header, gone_i, old_batch[gone_i], old_entry[gone_i],
                                [split_names[c] for c in old_split[gone_i].tolist()])
        for split, acc in removed.items():
            subtract(base[split], acc)
        codes = [code_map(column[kept_old[old.ok[kept_old]]], list(header[names]))
                 for column, names in ((old.format, "format_names"), (old.mode, "mode_names"))]
        mine = collector.columns()
        for name, column in old.columns().items():
            mine[name][kept_new] = column[kept_old]
        return base, codes, kept_new, kept_old, entries

    pool = ThreadPoolExecutor(1, thread_name_prefix="cache-patch")
    prepared = pool.submit(prepare)
    pool.shutdown(wait=False)
    cache.patched = np.zeros(n, bool)
    cache.patched[new_i] = True
    cache._listed_pos = pos

    def finish() -> np.ndarray:
        """The rest, in the scan's thread: the kept items' sums, codes, failures and counts
        (whatever can fail is done before the collector is touched); the candidates not kept."""
        base, ((formats, format_names), (modes, mode_names)), kept_new, kept_old, entries = prepared.result()
        kept_ids, used = np.unique(old_batch[kept_old], return_counts=True)
        checksums = [(bid, bytes.fromhex(sums[bid]), entries[bid], count)
                     for bid, count in zip(kept_ids.tolist(), used.tolist())]
        failures = [(int(i), str(reason)) for i, reason in header["failures"]]
        rows = kept_new[collector.ok[kept_new]]
        recode = [np.array([collector._code(names, name) for name in used] or [0], np.int16)
                  for names, used in ((collector.format_names, format_names), (collector.mode_names, mode_names))]
        collector.format[rows], collector.mode[rows] = recode[0][formats], recode[1][modes]
        new_of_old = np.full(m, -1, np.int64)
        new_of_old[kept_old] = kept_new
        for i, reason in failures:
            if 0 <= i < m and new_of_old[i] >= 0:
                collector.failures[int(new_of_old[i])] = reason
        for split, acc in base.items():
            if acc.images or acc.failed or split in collector.acc:
                collector._split(split).merge(acc)
        collector.done += len(kept_new)
        counts = np.bincount(files.split_codes()[kept_new], minlength=len(files.split_names))
        for split, count in zip(files.split_names, counts.tolist()):
            if count:
                collector._split(split)
                collector.done_by_split[split] += count
        # where each item's record is, for the next stored result and the tidy
        cache.row_batch[kept_new], cache.row_entry[kept_new] = old_batch[kept_old], old_entry[kept_old]
        for bid, checksum, stored_entries, count in checksums:
            cache.sums[bid] = checksum
            cache.use[bid] = [stored_entries, count]
        cache.used += len(kept_new)
        return np.setdiff1d(new_i, kept_new, assume_unique=True)

    return finish


def _vouched(db: sqlite3.Connection, keys: list[bytes], batch: np.ndarray, entry: np.ndarray, size: np.ndarray,
             mtime: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Which items (``keys``, stored in ``batch`` at ``entry``, with this identity) their batch's
    own (checksummed) list names with this entry and identity; and each batch's number of entries."""
    out = np.zeros(len(keys), bool)
    entries: dict[int, int] = {}
    if not len(keys):
        return out, entries
    order = np.argsort(batch, kind="stable")
    in_order = batch[order]
    starts = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1]])   # sorted: no np.unique's hashing
    ids = in_order[starts].tolist()
    lists = read_item_lists(db, ids)
    for bid, span in zip(ids, np.split(order, starts[1:])):
        blob = lists.get(bid)
        if blob is None:
            continue
        items = decode_keys(blob)
        entries[bid] = len(items)
        out[span] = items.vouches(list(map(keys.__getitem__, span.tolist())), entry[span], size[span], mtime[span])
    return out, entries


def _removed_sums(blobs: dict[int, tuple[bytes, bytes]], sums: dict[int, str], layouts: dict[int, list], old: Any,
                  header: dict, gone: np.ndarray, batch: np.ndarray, entry: np.ndarray, splits: list[str]
                  ) -> dict[str, Any]:
    """Per split, the sums the records at (``batch``, ``entry``) put into a stored result: of the
    stored result's items at ``gone`` (in ``splits``), whose rows ``old`` holds (the child's read);
    each batch's histograms are read with the layout a child noted for it (its other columns stay
    compressed); RecordError when a batch is gone or not the one that result was made from."""
    if not len(batch):
        return {}
    order = np.argsort(batch, kind="stable")
    ids, starts = np.unique(batch[order], return_index=True)
    hist_groups, decoded, failed = [], [], []
    offset = 0
    for bid, span in zip(ids.tolist(), np.split(order, starts[1:])):
        stored = blobs.get(bid)
        if stored is None or stored[0][4:12].hex() != sums.get(bid):
            raise RecordError("a batch of records the stored result points at is not stored as it was")
        layout = layouts.get(bid) or decode_chunk(stored[0], grids=False).hist_layout()  # one no child noted
        codes, slots, total = hist_rows(stored[0], layout)
        entries = entry[span]
        ok = entries < len(codes)  # the entries past a batch's rows are its failures
        failed.append(span[~ok])
        span, entries = span[ok], entries[ok]
        for code in np.unique(codes[entries]).tolist():
            chosen = codes[entries] == code
            hist_groups.append((offset + np.flatnonzero(chosen), _ShapeTotal(total, code), slots[entries[chosen]]))
        decoded.append(span)
        offset += len(span)
    rows = np.concatenate(decoded)
    at = gone[rows]
    formats, modes = header["format_names"], header["mode_names"]
    columns = {"numbers": np.stack([old.width[at], old.height[at], old.nbytes[at], old.channels[at], old.flags[at]],
                                   axis=1).astype(np.int64),
               "names": [(formats[f], modes[m]) for f, m in zip(old.format[at].tolist(), old.mode[at].tolist())],
               "moments": old.stats[at]}
    return rebuild_chunk(_accumulators_only, columns, hist_groups, [], [], list(map(splits.__getitem__, rows.tolist())),
                         list(map(splits.__getitem__, np.concatenate(failed).tolist())))


class _ShapeTotal:
    """One histogram shape of a batch read by ``hist_rows``, as ``rebuild_chunk`` sums it."""

    def __init__(self, total: Callable[[int, np.ndarray], np.ndarray], code: int) -> None:
        self._total, self.code = total, code

    def total(self, slots: np.ndarray) -> np.ndarray:
        return self._total(self.code, slots)


def _accumulators_only(accumulators: dict, **_: Any) -> dict:
    return accumulators
