"""Stored records matched against a dataset's listing as whole columns, and many stored batches
turned into one chunk result at once.

A reopen of 100,000 unchanged images must cost a small fraction of their scan: per item, Python
does only a dictionary lookup of its name. Identities (size, modification time) are compared as
numpy columns against the stored ones, no ``ImageFile`` is made for an item whose record is reused,
and the reused entries of many batches enter the collector as one chunk (one sum per split and
histogram shape for thousands of rows, not one per 64).
"""
from __future__ import annotations

import itertools
from array import array
from operator import itemgetter
import os
import struct
import sys
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xxhash

from ..file_list import FileList
from ..index_runs import is_all_in_order
from .codec import Batch, RecordError, restore_grids

_FS_IS_UTF8 = sys.getfilesystemencoding().lower() in ("utf-8", "utf8")


def listed_keys(files: FileList, start: int, stop: int, root: bytes) -> list[bytes]:
    """The cache key of each listed item start..stop-1: its absolute path's bytes (as
    ``os.fsencode`` gives them, so undecodable names stay distinct) relative to ``root``, and for
    a container's member its locator. An ASCII path is joined from bytes already at hand; any
    other is encoded from its ``str`` as before."""
    data, offsets, base_codes, names = files.path_buffers()
    bases = [os.fsencode(b) for b in names]
    cut = len(root)
    fast = _one_base_keys(data, offsets, base_codes, bases, root, start, stop)
    if fast is not None:
        return _with_locators(fast, files, start, stop)
    out: list[bytes] = []
    append = out.append
    for i in range(start, stop):
        b = base_codes[i]
        if b < 0:
            key = bases[~b]
        else:
            piece = data[offsets[i]:offsets[i + 1]]
            key = bases[b] + piece if _FS_IS_UTF8 and piece.isascii() else os.fsencode(files.abspath(i))
        append(key[cut:] if key.startswith(root) else key)
    return _with_locators(out, files, start, stop)


def _with_locators(out: list[bytes], files: FileList, start: int, stop: int) -> list[bytes]:
    for i, locator in files.locators().items():
        if start <= i < stop and locator is not None:
            out[i - start] += b"\0" + repr(locator).encode()
    return out


def _one_base_keys(data: bytearray, offsets: Any, base_codes: Any, bases: list[bytes], root: bytes, start: int,
                   stop: int) -> list[bytes] | None:
    """The keys of ``listed_keys`` when items start..stop-1 all join one base that lies under
    ``root`` to ASCII paths (a local folder's listing): that base's part below the root and each
    path, cut from the buffer in one pass; None otherwise (the general loop decides per item)."""
    if stop <= start or not _FS_IS_UTF8:
        return None
    codes = np.frombuffer(base_codes, np.dtype(base_codes.typecode))[start:stop]
    first = int(codes[0])
    if first < 0 or not bases[first].startswith(root) or not bool((codes == first).all()):
        return None
    ends = offsets[start:stop + 1]
    view = bytes(data[ends[0]:ends[-1]])
    if not view.isascii():
        return None
    prefix, at = bases[first][len(root):], ends[0]
    return [prefix + view[a - at:b - at] for a, b in zip(ends[:-1], ends[1:])]


class ItemList:
    """A stored batch's own list of its items (key, entry, size, mtime_ns), as columns."""

    def __init__(self, keys: list[bytes], entry: np.ndarray, size: np.ndarray, mtime: np.ndarray) -> None:
        self.keys, self.entry, self.size, self.mtime = keys, entry, size, mtime
        self.position = dict(zip(keys, range(len(keys))))

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: bytes) -> tuple[int, int, int] | None:
        p = self.position.get(key)
        return None if p is None else (int(self.entry[p]), int(self.size[p]), int(self.mtime[p]))

    def vouches(self, keys: list[bytes], entry: np.ndarray, size: np.ndarray, mtime: np.ndarray) -> np.ndarray:
        """Per item: does the list name this key with this entry, size and mtime?"""
        pos = _positions(self.position, keys)
        at = np.maximum(pos, 0)
        return (pos >= 0) & (self.entry[at] == entry) & (self.size[at] == size) & (self.mtime[at] == mtime) \
            if len(self.keys) else np.zeros(len(keys), bool)


def encode_keys(rows: list[tuple[bytes, int, int, int, int]]) -> bytes:
    """A batch's own list of its items (key, size, mtime_ns, seen_ns, entry as stored) as columns,
    checksummed: a reused record must be named there, so a damaged or stale index row can never
    hand one item another's record."""
    keys = [r[0] for r in rows]
    columns = b"".join(_little_endian(array("q", column)) for column in
                       ([r[4] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [len(k) for k in keys]))
    body = zlib.compress(struct.pack("<Q", len(rows)) + columns + b"".join(keys), 1)
    return xxhash.xxh3_64(body).digest() + body


def _little_endian(values: array) -> bytes:
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def decode_keys(blob: bytes) -> ItemList:
    if xxhash.xxh3_64(blob[8:]).digest() != blob[:8]:
        raise RecordError("checksum mismatch in a batch's item list")
    try:
        raw = zlib.decompress(blob[8:])
        (n,) = struct.unpack_from("<Q", raw)
        entry, size, mtime, length = np.frombuffer(raw, "<i8", 4 * n, 8).astype(np.int64).reshape(4, n)
        ends = (np.cumsum(length) + 8 + 32 * n).tolist()
        if (ends[-1] if n else 8) != len(raw) or (n and length.min() < 0):
            raise ValueError("the item list does not fill its blob")
    except (zlib.error, struct.error, ValueError) as exc:
        raise RecordError(f"damaged item list: {exc}") from exc
    starts = [8 + 32 * n] + ends[:-1]
    return ItemList([raw[a:b] for a, b in zip(starts, ends)], entry, size, mtime)


class StoredItems:
    """The store's item rows as columns: key -> position, and int64 size, mtime_ns, seen_ns, batch
    and entry per position; ``matched`` marks the positions some listed item named."""

    def __init__(self, rows: Sequence[tuple[bytes, int, int, int, int, int]]) -> None:
        self.keys = list(map(itemgetter(0), rows))
        self.position = dict(zip(self.keys, range(len(self.keys))))
        values = np.fromiter(itertools.chain.from_iterable(map(itemgetter(1, 2, 3, 4, 5), rows)), np.int64,
                             5 * len(rows))
        self.size, self.mtime, self.seen, self.batch, self.entry = values.reshape(-1, 5).T.copy()
        self.matched = np.zeros(len(rows), bool)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: list[bytes]) -> np.ndarray:
        """Position of each key, -1 where none is stored; marks the found ones as matched."""
        pos = _positions(self.position, keys)
        self.matched[pos[pos >= 0]] = True
        return pos

    def unmatched(self) -> list[bytes]:
        return [self.keys[p] for p in np.flatnonzero(~self.matched).tolist()]


def _positions(position: dict[bytes, int], keys: list[bytes]) -> np.ndarray:
    """Each key's position, -1 where it has none (map over the dict's get: no Python step per key)."""
    return np.fromiter(map(position.get, keys, itertools.repeat(-1)), np.int64, len(keys))


def feed_groups(batch: np.ndarray, rows: int, batches: int) -> list[np.ndarray]:
    """The positions of ``batch`` (stored batch per reused item) cut into groups of whole batches
    of about ``rows`` items and at most ``batches`` batches each, batches in id order."""
    if not len(batch):
        return []
    order = np.argsort(batch, kind="stable")
    ids, starts = np.unique(batch[order], return_index=True)
    bounds = np.r_[starts, len(order)]
    groups, first = [], 0
    for k in range(1, len(ids) + 1):
        if k == len(ids) or bounds[k] - bounds[first] >= rows or k - first >= batches:
            groups.append(order[bounds[first]:bounds[k]])
            first = k
    return groups


# A function from scan.py that turns stored rows back into a chunk result:
# (columns, hist groups, index, failures, splits of the rows, splits of the failures) -> chunk
ChunkBuilder = Callable[..., Any]
# one stored batch's part of a chunk: the batch, its wanted entries, the listed items they are for
Part = tuple[Batch, np.ndarray, np.ndarray]


def chunk_from_batches(parts: list[Part], split_of: Callable[[np.ndarray], list[str]],
                       build: ChunkBuilder, hists: bool = True) -> Any:
    """One chunk result holding the wanted entries of several stored batches (entries past a
    batch's rows are its failures); ``split_of(index)`` gives the listed items' splits. Without
    ``hists`` the builder gets no histograms (a stored whole result has their sums)."""
    picks, row_index, fail_index, reasons = [], [], [], []
    for batch, entries, index in parts:
        entries, index = np.asarray(entries, np.int64), np.asarray(index, np.int64)
        decoded = entries < batch.rows
        failed = entries[~decoded] - batch.rows
        if len(failed) and failed.max() >= len(batch.failures):
            raise RecordError("an item points past the end of its batch")
        picks.append((batch, entries[decoded]))
        row_index.append(index[decoded])
        fail_index.append(index[~decoded])
        reasons += [batch.failures[e] for e in failed.tolist()]
    whole = [is_all_in_order(p, batch.rows) for batch, p in picks]
    columns: dict[str, Any] = {}
    for name, first in parts[0][0].columns.items():
        if isinstance(first, np.ndarray):
            # a batch used whole, in order, is concatenated as it is (no copy picked first)
            picked = np.concatenate([b.columns[name] if w else b.columns[name][p] for (b, p), w in zip(picks, whole)])
            columns[name] = restore_grids(picked) if name in parts[0][0].residual else picked
        else:
            columns[name] = _picked_values([(b.columns[name], p) for b, p in picks])
    index = np.concatenate(row_index)
    failed_items = np.concatenate(fail_index)
    return build(columns, _merged_hists(picks) if hists else [], index, list(zip(failed_items.tolist(), reasons)),
                 split_of(index), split_of(failed_items))


def _picked_values(picks: list[tuple[list, np.ndarray]]) -> list:
    """The picked entries of several lists, end to end; a list picked whole, in order (most
    batches of a rescan), is copied as it is."""
    out: list = []
    for values, pick in picks:
        if is_all_in_order(pick, len(values)):
            out.extend(values)
        else:
            out.extend(map(values.__getitem__, pick.tolist()))
    return out


def _merged_hists(picks: list[tuple[Batch, np.ndarray]]) -> list[tuple[np.ndarray, Any, np.ndarray]]:
    """The picked rows' histograms as (positions in the chunk, stack, slots in it) per batch and
    shape; a batch used whole is summed from its stored totals, its histograms never decoded."""
    out = []
    offset = 0
    for batch, pick in picks:
        codes = batch.codes[pick]
        whole = len(pick) == batch.rows and np.array_equal(np.sort(pick), np.arange(batch.rows))
        for code in range(len(batch.totals)):
            positions = np.flatnonzero(codes == code)
            if positions.size:
                out.append((positions + offset, _BatchGroup(batch, code, whole), batch.slots[pick[positions]]))
        offset += len(pick)
    return out


class _BatchGroup:
    """One histogram shape's rows of a stored batch: the sum of all of them is stored, any other
    is summed from the decoded stack."""

    def __init__(self, batch: Batch, code: int, whole: bool) -> None:
        self.batch, self.code, self.whole = batch, code, whole

    def total(self, slots: np.ndarray) -> np.ndarray:
        if self.whole and len(slots) == int(np.count_nonzero(self.batch.codes == self.code)):
            return self.batch.totals[self.code]   # every row of the shape: slots are all of them
        return self.batch.total(self.code, slots)
