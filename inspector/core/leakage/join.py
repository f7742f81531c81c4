"""The multi-index join of 64-bit hashes, block by block, with bounded work per query.

Plain multi-index hashing compares a query with every index entry that has one of its four 16-bit
chunks: on hashes whose chunks are not uniform that is quadratic (tiny smooth pictures share their
high-frequency chunks: at 100,000 of them a query met 4,800 entries in one chunk, 48,000 at a
million). Here the entries of a chunk's bucket are sorted by the rest of the hash (the next
chunks), and a query is compared with the whole bucket when it holds at most `FULL_BUCKET`
entries, else with its neighbourhood in that order: the bucket is cut into segments at entries
marked pseudo-randomly (one in `SEGMENT`, by a stable id of the entry's image and view), and a
query meets the segment it falls in and the two beside it (about as many entries as the window
of the 256 nearest entries this replaced, with the same recall, measured on 100,000 tiny
pictures and on 20,000 photos and digits against brute force). Unlike a window of a fixed count,
a neighbourhood does not shift when an entry elsewhere in the bucket comes or goes, so a rescan
can patch the search where the dataset changed (rescan.py). So that no pair within
`GUARANTEED_RADIUS` bits is lost to a neighbourhood, a query in a crowded bucket is also joined on
longer keys among that bucket's entries: the chunk and one of four 12-bit pieces of the other 48
bits (a pair within 3 bits that shares the chunk agrees on one of the pieces too), and so on
while buckets stay crowded, keeping only pairs within the radius. Work and memory are then about
queries x (FULL_BUCKET or 4 x SEGMENT) x passes, whatever the data (only hashes equal on nearly
all bits, in crowds over FULL_BUCKET, end in windows), and a block never holds more than `block`
comparisons. Each chunk's bucket order is a radix sort of the chunk's 16-bit values (crowded
buckets then sorted by the rest of the hash), the hashes gathered through it, and the queries go
through it in that order, so that the comparisons read the hashes as one sequential stretch; an
index mostly in crowded buckets is sorted as values instead (no index-sized temporaries), the
entries of the few values within the threshold found after (value_order.py).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..sorted_lookup import search_sorted_both
from .value_order import ValueOrder

CHUNK_BITS = 16
N_CHUNKS = 64 // CHUNK_BITS  # 4 chunks: every pair within N_CHUNKS - 1 = 3 bits shares a chunk
GUARANTEED_RADIUS = N_CHUNKS - 1
MAX_DEPTH = 3                # crowded buckets are cut into longer keys at most this many times
FULL_BUCKET = 1024           # a query meets every entry of a bucket up to this size...
SEGMENT = 96                 # ...else about 3 segments of the bucket's order, SEGMENT entries each on average
WINDOW = 256                 # a bucket still crowded after MAX_DEPTH longer keys: the WINDOW entries at its start
# Hash comparisons per block (the unit of progress, cancel and the per-query caps of the search).
MIH_BLOCK = 1 << 20
# A block's comparisons are made as rows: each query against its run of sorted values, the runs
# padded to a multiple of ROW_STEP and read as rows of a sliding window over the values (no index
# per comparison), PIECE comparisons at a time (1 MB of hashes, held in the core's cache: at 1M x 1M
# 0.85x the CPU time of half as many with each window view made by sliding_window_view).
# Measured on a block of 1M comparisons at a million images: 3.5 ms, against 14 ms for the
# positions-per-comparison arrays this replaced.
ROW_STEP = 32
PIECE = 1 << 17
# An index whose crowded buckets hold more than 1 / CROWD_SHARE of its entries (a million tiny
# pictures) is put in bucket order as values (join.neighbourhoods): no index-sized temporaries.
CROWD_SHARE = 8
_U = np.uint64
_EMPTY = np.zeros(0, np.int64)


def _rotl(x: np.ndarray, k: int) -> np.ndarray:
    k %= 64
    return x if k == 0 else (x << _U(k)) | (x >> _U(64 - k))


def _chunk_on_top(x: np.ndarray, c: int) -> np.ndarray:
    """x rotated so that chunk c is its top 16 bits (then chunks c-1, ..., wrapping round)."""
    return _rotl(x, 64 - CHUNK_BITS * (c + 1))


def mih_entries(query: np.ndarray, index: np.ndarray, threshold: int, block: int = MIH_BLOCK,
                full: int = FULL_BUCKET, window: int = WINDOW, ids: np.ndarray | None = None,
                chunks: tuple[int, ...] = tuple(range(N_CHUNKS)), radius_passes: bool = True,
                values: ValueOrder | None = None) -> Iterator[tuple[float, int, np.ndarray, np.ndarray, np.ndarray]]:
    """The join of query (uint64 (Q,)) against index (uint64 (M, V), all views), block by block:
    (fraction done, chunk c, q, entry, d) with entry = m * V + v, for the views met whose 16-bit
    chunk c equals chunk c of query[q] and whose distance d to it is <= threshold (see the module
    docstring for which are met). A block may be empty: one is yielded every `block` comparisons,
    so a consumer can report progress and stop. A pair may come more than once. `ids` (one per
    index row, stable from one search to the next, e.g. from the image's content) place the
    segments of crowded buckets (default: the row numbers). `chunks`: the chunks joined on (default
    all four); without `radius_passes` crowded buckets give their neighbourhoods only (a probe's
    join, candidates.py: its pairs within the radius are the plain join's); `values`: the index's
    ValueOrder when the caller made it already (joins of other queries on the same index)."""
    join = Join(query, index, ids, values)
    buffer = join.buffer()     # one for the chunks' sorted hashes
    for step, c in enumerate(chunks):
        for done, q, entry, d in join.chunk(c, threshold, block, full, window, radius_passes, buffer):
            yield (step + done) / len(chunks), c, q, entry, d


@dataclass
class PassBuffers:
    """What a join's pass sorts into, reused from pass to pass (a fresh array of 14 million entries
    is 14,000 page faults of the kernel's time, each pass): the hashes in bucket order, padded
    (`neighbourhoods`' `out`), and the entry numbers of that order (its `order_out`)."""
    svals: np.ndarray
    order: np.ndarray

    def fits(self, join: "Join") -> bool:
        return len(self.svals) >= len(join.flat) + ROW_STEP and len(self.order) >= len(join.flat)


class Join:
    """The inputs of one join (query against an index of rows of views, see `mih_entries`), which
    its chunks' passes share and may make in several threads (`chunk`): the contiguous hashes,
    the rows' ids and, made by the first pass that sorts a crowded index as values, its ValueOrder."""

    def __init__(self, query: np.ndarray, index: np.ndarray, ids: np.ndarray | None = None,
                 values: ValueOrder | None = None) -> None:
        self.query = np.ascontiguousarray(query, dtype=np.uint64).reshape(-1)
        self.flat = np.ascontiguousarray(index, dtype=np.uint64).reshape(-1)
        if len(self.flat) >= 1 << 31:
            raise ValueError("index too large for one join (2^31 views)")
        self.n_views = np.shape(index)[1] if np.ndim(index) == 2 else 1
        self.ids = np.arange(len(self.flat) // self.n_views, dtype=np.uint64) if ids is None else ids
        self._values = values
        self._lock = threading.Lock()

    def buffer(self) -> PassBuffers:
        """Buffers for one pass (`chunk`'s `out`)."""
        return PassBuffers(np.empty(len(self.flat) + ROW_STEP, np.uint64), np.empty(len(self.flat), np.int32))

    def values(self) -> ValueOrder:
        """The index's ValueOrder, made once whichever pass asks first."""
        with self._lock:
            if self._values is None:
                self._values = ValueOrder(self.flat)
            return self._values

    def chunk(self, c: int, threshold: int, block: int = MIH_BLOCK, full: int = FULL_BUCKET, window: int = WINDOW,
              radius_passes: bool = True, out: PassBuffers | None = None
              ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
        """Chunk c's pass of the join: (fraction of the pass done, q, entry, d), as `mih_entries`
        gives them; `out`: buffers at least this join's `buffer()` (one pass at a time)."""
        query, flat = self.query, self.flat
        if len(query) == 0 or len(flat) == 0:
            return
        window = min(window, full)   # a window wider than a bucket it may be used in would read others
        nb = neighbourhoods(query, flat, self.ids, self.n_views, c, full, SEGMENT, self.values,
                            None if out is None else out.svals, None if out is None else out.order)
        crowd_size, crowded = nb.sizes, nb.crowded
        for hi, q, entry, d in compare_runs(query, nb, None, block, threshold):
            yield 0.5 * hi, q, entry, d
        del nb
        rows = np.flatnonzero(crowded) if radius_passes else _EMPTY
        if len(rows):
            for hi, q, entry, d in crowded_passes(query, flat, rows, crowd_size[rows], c, threshold, full, window,
                                                  block):
                yield 0.5 + 0.5 * hi, q, entry, d
        yield 1.0, _EMPTY, _EMPTY, _EMPTY.astype(np.uint8)


def crowded_passes(query: np.ndarray, flat: np.ndarray, rows: np.ndarray, sizes: np.ndarray, c: int, threshold: int,
                   full: int = FULL_BUCKET, window: int = WINDOW, block: int = MIH_BLOCK
                   ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """The longer-key passes of chunk c for the queries `rows`, whose buckets (of `sizes` entries)
    were crowded: every pair within min(threshold, GUARANTEED_RADIUS) among the entries that share
    the chunk (see `_radius_passes`). The one rule of the cold search and of a rescan (rescan.py).
    Yields (fraction done, q, entry, d)."""
    in_chunk = np.arange(CHUNK_BITS) + CHUNK_BITS * c
    yield from _radius_passes(query, flat, rows, sizes, _mask(in_chunk), np.setdiff1d(np.arange(64), in_chunk),
                              min(threshold, GUARANTEED_RADIUS), full, window, block, 1)


def _mask(bits: np.ndarray) -> np.uint64:
    return _U(sum(1 << int(b) for b in bits))


def _radius_passes(query: np.ndarray, flat: np.ndarray, q_rows: np.ndarray, parent: np.ndarray, mask: np.uint64,
                   free: np.ndarray, radius: int, full: int, window: int, block: int, depth: int,
                   within: np.ndarray | None = None) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Join entries within `radius` of the queries q_rows, among the entries that agree with them
    on `mask` (their buckets were crowded; `within`: the entries to look among, default all): the
    `free` bits are cut into radius + 1 pieces, one of which a pair within the radius agrees on
    too (pigeonhole), and each piece is joined as a longer key; a bucket still crowded is cut
    again, up to MAX_DEPTH times, then windowed. A piece that does not shrink a query's bucket
    (its `parent` size) is one every entry there agrees on with the query: the query's pairs
    within the radius differ in the other free bits alone, so those are cut afresh instead (at the
    same depth; the query leaves this cut), until too few bits are left to cut: then the bucket's
    hashes are equal on all but `radius` bits and met each other in the chunk's neighbourhood.
    Skipping such a piece outright lost pairs whose differing bits sat one in each other piece.
    Yields (fraction done, q, entry, d)."""
    qkey = query[q_rows] & mask
    keys = np.unique(qkey)
    entries = _holding(flat, mask, keys, within)
    pieces = np.array_split(free, radius + 1)
    live = np.ones(len(q_rows), bool)      # the queries this cut still serves
    for j, piece in enumerate(pieces):
        pm = mask | _mask(piece)
        ekey = flat[entries]
        ekey &= pm
        order = np.argsort(ekey)
        ekey.sort()          # = ekey[order], in place: no second key array (and cheaper than the gather)
        qk = query[q_rows] & pm
        lo, hi = search_sorted_both(ekey, qk)
        cnt = (hi - lo).astype(np.int64)
        del ekey
        crowded = cnt > full
        same = cnt >= parent
        rest = np.setdiff1d(free, piece)
        cuttable = live & crowded & (len(rest) > radius)
        deeper = cuttable & ~same & (depth < MAX_DEPTH)
        recut = cuttable & same
        sizes = cnt
        # crowded at the last depth: a window
        cnt = np.where(~live | deeper | (crowded & same), 0, np.minimum(cnt, window))
        svals = _padded_take(flat, order, entries) if cnt.any() else flat[:0]
        qvals = query[q_rows]
        for hi, qs in _blocks(cnt, block, lo):
            qi, at, d = _compare_runs(qvals, qs, lo, cnt, svals, radius)
            yield (j + 0.5 * hi) / len(pieces), q_rows[qi], entries[order[at]].astype(np.int64), d
        del svals
        for cut, next_depth in ((deeper, depth + 1), (recut, depth)):
            if cut.any():
                for hi, q, entry, d in _radius_passes(query, flat, q_rows[cut], sizes[cut], pm, rest, radius, full,
                                                      window, block, next_depth, entries):
                    yield (j + 0.5 + 0.5 * hi) / len(pieces), q, entry, d
        live &= ~recut


def _holding(flat: np.ndarray, mask: np.uint64, keys: np.ndarray, within: np.ndarray | None,
             piece: int = 1 << 20) -> np.ndarray:
    """The entries (of `within`, default all; in their order) whose hash & mask is one of the sorted
    unique `keys`, looked up a piece at a time: np.isin on a whole index sorted a copy of it and
    its order (at a million images ~0.5 GB of temporaries). int32 when the index allows (half
    the memory of the longer keys' entry lists)."""
    n = len(flat) if within is None else len(within)
    hit = np.zeros(n, bool)
    table = _key_table(mask, keys)
    for lo in range(0, n, piece):
        part = flat[lo:lo + piece] if within is None else flat[within[lo:lo + piece]]
        if table is not None:   # a chunk's key: a table lookup of its bits (no binary search)
            shift, width, held = table
            part = part >> _U(shift)
            part &= _U((1 << width) - 1)
            hit[lo:lo + len(part)] = held[part]
            continue
        part = part & mask
        at = np.minimum(np.searchsorted(keys, part), len(keys) - 1)
        hit[lo:lo + len(part)] = keys[at] == part
    return np.flatnonzero(hit).astype(np.int32 if len(flat) < 1 << 31 else np.int64) if within is None else within[hit]


def _key_table(mask: np.uint64, keys: np.ndarray, widest: int = CHUNK_BITS) -> tuple[int, int, np.ndarray] | None:
    """(shift, width, held) when `mask` is one run of at most `widest` bits (a chunk's, as the
    first longer-key cut looks up): held[(x >> shift) & (2**width - 1)] is whether x & mask is one
    of `keys`. A binary search of every index entry among the keys was a third of the rescan's
    longer-key passes. Else None."""
    m = int(mask)
    if m == 0:
        return None
    shift = (m & -m).bit_length() - 1
    width = (m >> shift).bit_length()
    if width > widest or (m >> shift) != (1 << width) - 1:
        return None
    held = np.zeros(1 << width, bool)
    held[(keys >> _U(shift)).astype(np.int64)] = True
    return shift, width, held


def _blocks(cnt: np.ndarray, block: int, start: np.ndarray | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(fraction done, queries): the queries with comparisons to make (cnt[q] > 0), in turn, about
    `block` comparisons at a time (whole queries; at least one block, maybe empty). With `start`
    (where each query's run begins) they go in that order, so that a block reads one stretch of
    the sorted values (a few hundred buckets that stay in the core's cache) instead of runs all
    over them; which queries share a block changes nothing else (each is whole in one)."""
    live = np.flatnonzero(cnt)
    if len(live) == 0:
        yield 1.0, np.zeros(0, np.int64)
        return
    if start is not None:
        live = live[_coarse_order(start[live])]
    cum = np.cumsum(cnt[live])
    done = 0
    while done < len(live):
        base = cum[done - 1] if done else 0
        stop = max(int(np.searchsorted(cum, base + block, side="right")), done + 1)
        qs = live[done:stop]
        done = stop
        yield done / len(live), qs


def _coarse_order(start: np.ndarray) -> np.ndarray:
    """An order of the non-negative `start` by their top 16 bits (ties: the order given): a
    stable sort of 16-bit keys is numpy's radix sort, 4x faster than an argsort of the int64
    places (0.7 s of the 1M x 1M search), and a block still reads one stretch of the values."""
    shift = max(int(start.max()).bit_length() - 16, 0) if len(start) else 0
    return np.argsort((start >> shift).astype(np.uint16), kind="stable")


def _padded_take(values: np.ndarray, order: np.ndarray, through: np.ndarray | None = None,
                 piece: int = 1 << 20) -> np.ndarray:
    """values[order] (values[through[order]] with `through`) with ROW_STEP spare entries after it,
    so that every padded row of `_compare_runs` lies inside the array; a piece at a time, so no
    index-sized temporary is made."""
    out = np.zeros(len(order) + ROW_STEP, values.dtype)
    for lo in range(0, len(order), piece):
        at = order[lo:lo + piece] if through is None else through[order[lo:lo + piece]]
        np.take(values, at, out=out[lo:lo + len(at)])
    return out


def _windows(values: np.ndarray, w: int) -> np.ndarray:
    """The (len - w + 1, w) view of every w consecutive values of the contiguous array (what
    sliding_window_view gives, made directly: that one's checks cost more than a piece's work)."""
    return np.ndarray((len(values) - w + 1, w), values.dtype, values, 0, (values.itemsize, values.itemsize))


def _compare_runs(qvals: np.ndarray, qs: np.ndarray, start: np.ndarray, cnt: np.ndarray,
                  svals: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q, position, d) for each query q of qs and each position start[q] .. start[q] + cnt[q] - 1
    whose value svals[position] is within `threshold` bits of qvals[q] (d the distance). The
    queries go in groups of equal padded run length w, each group as rows of a (queries, w) window
    view of svals: one row copy, XOR, popcount and comparison per PIECE comparisons; the padding's
    hits are dropped after."""
    n = cnt[qs]
    by_len = np.argsort(n, kind="stable")
    qs, n = qs[by_len], n[by_len]
    empty = int(np.searchsorted(n, 0, side="right"))    # queries without comparisons come first
    qs, n = qs[empty:], n[empty:]
    if len(qs) == 0:
        return _EMPTY, _EMPTY, _EMPTY.astype(np.uint8)
    width = -(-n // ROW_STEP) * ROW_STEP
    edges = np.flatnonzero(np.r_[True, width[1:] != width[:-1], True])
    out_q, out_p, out_d = [], [], []
    for g0, g1 in zip(edges[:-1].tolist(), edges[1:].tolist()):
        w = int(width[g0])
        rows = _windows(svals, w)
        step = max(1, PIECE // w)
        for r0 in range(g0, g1, step):
            r1 = min(r0 + step, g1)
            q = qs[r0:r1]
            st = start[q]
            x = rows[st]
            np.bitwise_xor(x, qvals[q][:, None], out=x)
            dist = np.bitwise_count(x).reshape(-1)
            hits = np.flatnonzero(dist <= threshold)
            if len(hits) == 0:
                continue
            r, col = np.divmod(hits, w)
            if n[r0] != w:      # a padded row (the rows go by length: else none is)
                real = col < n[r0:r1][r]
                r, col, hits = r[real], col[real], hits[real]
            out_q.append(q[r])
            out_p.append(st[r] + col)
            out_d.append(dist[hits])
    if not out_q:
        return _EMPTY, _EMPTY, _EMPTY.astype(np.uint8)
    return np.concatenate(out_q), np.concatenate(out_p), np.concatenate(out_d)


def _chunk_keys(x: np.ndarray, c: int) -> np.ndarray:
    """Chunk c (bits 16c .. 16c + 15) of each hash of the contiguous uint64 array x, as uint16."""
    if sys.byteorder == "little":     # the chunk is one uint16 of every four: a strided copy
        return x.view(np.uint16).reshape(-1, 4)[:, c].copy()
    return ((x >> _U(CHUNK_BITS * c)) & _U(0xFFFF)).astype(np.uint16)


class Neighbourhoods:
    """Which index entries each query meets in one chunk's join (see `neighbourhoods`): the index's
    hashes in bucket order (`svals`, padded for `_compare_runs`; `entries_at` maps places in it to
    entry numbers, `order` is all of them), and per query the run start .. start + cnt of that
    order it is compared with, its bucket's size, whether the bucket is crowded, and the entries
    that delimit the run (`first`, `stop`: entry numbers, -1 for the edge of the bucket), which a
    rescan compares with the last search's to know whether the run's unchanged entries are still
    the same (rescan.py). `trace` is the bucket order as entry numbers, or the index's ValueOrder
    when the hashes were sorted as values (a crowded index: places traced when asked)."""

    def __init__(self, svals: np.ndarray, trace: np.ndarray | ValueOrder, start: np.ndarray, cnt: np.ndarray,
                 sizes: np.ndarray, crowded: np.ndarray) -> None:
        self.svals, self.trace = svals, trace
        self.start, self.cnt, self.sizes, self.crowded = start, cnt, sizes, crowded
        self._order: np.ndarray | None = trace if isinstance(trace, np.ndarray) else None
        self.first = self.stop = _EMPTY

    def entries_at(self, places: np.ndarray) -> np.ndarray:
        """The entry numbers (int64) at these places of the bucket order."""
        places = np.asarray(places, np.int64)
        if self._order is not None:
            return self._order[places].astype(np.int64)
        return self.trace.entries(self.svals[places], _ranks(self.svals, places))

    @property
    def order(self) -> np.ndarray:
        """Every place's entry number: the bucket order as entries."""
        if self._order is None:
            self._order = self.entries_at(np.arange(len(self.svals) - ROW_STEP))
        return self._order


def _ranks(svals: np.ndarray, places: np.ndarray) -> np.ndarray:
    """Per place, how many places just before it hold its value (equal values lie side by side):
    its occurrence among its equals. Found for the places asked alone, by doubling then halving
    the step back to the run's head (a table of every repeat was ~200 MB of fresh temporaries a
    chunk at a million images, for the few places a join traces)."""
    value = svals[places]
    good = np.zeros(len(places), np.int64)     # steps back known to hold the value...
    bad = places + 1                           # ...and known not to (before the array: none)
    act, k = np.arange(len(places)), 1
    while len(act):
        act = act[k < bad[act]]
        eq = svals[places[act] - k] == value[act]
        good[act[eq]] = k
        bad[act[~eq]] = k
        act, k = act[eq], 2 * k
    act = np.flatnonzero(bad - good > 1)
    while len(act):
        mid = (good[act] + bad[act]) // 2
        eq = svals[places[act] - mid] == value[act]
        good[act[eq]] = mid[eq]
        bad[act[~eq]] = mid[~eq]
        act = act[bad[act] - good[act] > 1]
    return good


def segment_marks(ids: np.ndarray, n_views: int, segment: int = SEGMENT,
                  entries: np.ndarray | None = None) -> np.ndarray:
    """Per index entry (row m, view v: entry m * n_views + v; all, or those of `entries`) whether it
    starts a segment of a crowded bucket: a pseudo-random one in `segment`, from a stable id of its
    row and the view alone, so that adding or removing one entry moves no other entry's mark."""
    ids = np.asarray(ids, np.uint64)
    if entries is None:
        entries = np.arange(len(ids) * n_views)
    row, view = np.divmod(np.asarray(entries, np.int64), n_views)
    x = ids[row] * _U(0x9E3779B97F4A7C15) + view.astype(np.uint64) * _U(0xBF58476D1CE4E5B9)
    x ^= x >> _U(31)
    x *= _U(0x94D049BB133111EB)
    x ^= x >> _U(29)
    return x % _U(segment) == 0


def _rotate_in_place(x: np.ndarray, k: int, piece: int = 1 << 20) -> None:
    """x rotated left by k bits, in place, a piece at a time (one small temporary)."""
    k %= 64
    if k == 0:
        return
    for lo in range(0, len(x), piece):
        part = x[lo:lo + piece]
        spill = part >> _U(64 - k)
        part <<= _U(k)
        part |= spill


class _Crowd:
    """The entries of one chunk's crowded buckets (over `full`), end to end in bucket order, without
    a table of their places: crowded entry k's place in the bucket order, and the segment numbers,
    worked out a piece at a time (at a million images 14 million entries: per-entry temporaries of
    the whole crowd were ~1 GB at once)."""

    PIECE = 1 << 20

    def __init__(self, starts: np.ndarray, counts: np.ndarray, full: int) -> None:
        buckets = np.flatnonzero(counts > full)
        self.starts = starts[buckets]
        self.before = np.zeros(len(buckets) + 1, np.int64)    # crowded entries before each such bucket
        np.cumsum(counts[buckets], out=self.before[1:])
        self.of_bucket = np.full(len(counts), -1, np.int64)
        self.of_bucket[buckets] = np.arange(len(buckets))
        self.size = int(self.before[-1])

    def rank(self, places: np.ndarray, buckets: np.ndarray) -> np.ndarray:
        """Crowded entry numbers of these places (each one in, or at the end of, its crowded bucket)."""
        j = self.of_bucket[buckets]
        return self.before[j] + (places - self.starts[j])

    def place(self, k: np.ndarray) -> np.ndarray:
        """Places in the bucket order of crowded entries k."""
        j = np.searchsorted(self.before, k, side="right") - 1
        return self.starts[j] + (k - self.before[j])

    def segments(self, nb: "Neighbourhoods", ids: np.ndarray, n_views: int, segment: int) -> np.ndarray:
        """Per crowded entry, its segment: the number of segment marks up to it (int32: an index has
        under 2^31 entries)."""
        seg = np.empty(self.size, np.int32)
        carry = 0
        for lo in range(0, self.size, self.PIECE):
            k = np.arange(lo, min(lo + self.PIECE, self.size))
            marks = segment_marks(ids, n_views, segment, nb.entries_at(self.place(k)))
            np.cumsum(marks, dtype=np.int32, out=seg[lo:lo + len(k)])
            seg[lo:lo + len(k)] += carry
            carry = int(seg[lo + len(k) - 1])
        return seg


def neighbourhoods(query: np.ndarray, flat: np.ndarray, ids: np.ndarray, n_views: int, c: int, full: int,
                   segment: int = SEGMENT, values: ValueOrder | Callable[[], ValueOrder] | None = None,
                   out: np.ndarray | None = None, order_out: np.ndarray | None = None) -> Neighbourhoods:
    """The entries each query meets in chunk c's join: every entry of its bucket (the entries whose
    chunk c equals the query's) when the bucket holds at most `full`, else its neighbourhood: the
    bucket's entries in the order of their hashes rotated so that chunk c is on top (ties: entry
    order) are cut into segments at the entries `segment_marks` flags (from `ids`, one per index
    row of `n_views` entries), and a query meets the segment its
    hash falls in and the one on each side (about 3 x SEGMENT entries, a little more as a query
    more often falls in a long segment). A segment depends only on the entries in it, so an entry
    added or removed changes the neighbourhoods that hold it and no others, unless it is a mark.
    The buckets are put in order by a radix sort of the chunk (`_radix_order`: a bucket that is not
    crowded stays in entry order, which no comparison depends on), or, when crowded buckets hold
    much of the index, by one sort of the rotated hashes themselves (`_value_order`, through
    `values`, the index's ValueOrder or what makes it when asked, made here when None). `out` (uint64)
    and `order_out` (int32), of at least len(flat) + ROW_STEP and len(flat): buffers to sort into."""
    m = len(flat)
    if out is not None and len(out) >= m + ROW_STEP:   # the index's buffer, reused by its four chunks
        svals = out[:m + ROW_STEP]
        svals[m:] = 0
    else:
        svals = np.zeros(m + ROW_STEP, np.uint64)
    keys = _chunk_keys(flat, c)
    counts = np.bincount(keys, minlength=1 << CHUNK_BITS)
    starts = np.zeros(len(counts), np.int64)     # bucket b holds the places starts[b] .. + counts[b]
    np.cumsum(counts[:-1], out=starts[1:])
    crowd = _Crowd(starts, counts, full)
    qkey = _chunk_keys(query, c).astype(np.int64)
    lo, sizes = starts[qkey], counts[qkey]
    hi = lo + sizes
    crowded = sizes > full
    start, stop = lo.copy(), hi.copy()
    cq = np.flatnonzero(crowded)
    qrot = _chunk_on_top(query[cq], c)
    if crowd.size * CROWD_SHARE <= m:
        order = None if order_out is None or len(order_out) < m else order_out[:m]
        trace, at = _radix_order(flat, keys, starts, c, crowd, svals[:m], qrot, order)
    else:
        del keys
        trace, at = _value_order(flat, c, crowd, svals[:m], qrot, qkey[cq], values)
    nb = Neighbourhoods(svals, trace, start, sizes, sizes, crowded)
    if len(cq):
        seg = crowd.segments(nb, ids, n_views, segment)      # each crowded entry's segment
        g = np.where(at > 0, seg[np.maximum(at - 1, 0)], 0)
        last = len(seg) - 1
        start[cq] = np.maximum(crowd.place(np.minimum(np.searchsorted(seg, g - 1, side="left"), last)), lo[cq])
        end = np.searchsorted(seg, g + 1, side="right")
        stop[cq] = np.minimum(np.where(end <= last, crowd.place(np.minimum(end, last)), hi[cq]), hi[cq])
        del seg
    first = np.full(len(query), -1, np.int64)
    after = first.copy()
    inner = np.flatnonzero(start > lo)
    first[inner] = nb.entries_at(start[inner])
    inner = np.flatnonzero(stop < hi)
    after[inner] = nb.entries_at(stop[inner])
    stop -= start
    nb.start, nb.cnt, nb.first, nb.stop = start.astype(np.int64, copy=False), stop.astype(np.int64, copy=False), first, after
    return nb


def _radix_order(flat: np.ndarray, keys: np.ndarray, starts: np.ndarray, c: int, crowd: _Crowd, out: np.ndarray,
                 qrot: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The bucket order as entry numbers (int32; `keys` the chunk's values, bucket b from
    starts[b]), with the hashes gathered through it into `out`, and the crowded queries' places
    among the crowded entries (their rotated hashes `qrot`). A stable sort of 16-bit keys is
    numpy's radix sort: with the gather 0.6 s for 14 million hashes, against 1.0 s for a sort of
    the hashes as values and 1.3 s for the ValueOrder that traced them back; only the crowded
    buckets are then put in the order of their rotated hashes. `order`: int32 to put it in."""
    order = _stable_order(keys, starts, order)
    at = _EMPTY
    if crowd.size:
        places = crowd.place(np.arange(crowd.size))
        entries = order[places]
        rot = _chunk_on_top(flat[entries], c)
        by = np.argsort(rot, kind="stable")              # ties (equal hashes) stay in entry order
        order[places] = entries[by]
        at = np.searchsorted(rot[by], qrot) if len(qrot) else _EMPTY
    np.take(flat, order, out=out, mode="clip")
    return order, at


def _stable_order(keys: np.ndarray, starts: np.ndarray, order: np.ndarray | None = None,
                  piece: int = 1 << 20) -> np.ndarray:
    """np.argsort(keys, kind="stable") as int32 (keys uint16, key k's first place starts[k]), a
    piece of the keys at a time: each piece's radix sort is placed after the earlier pieces'
    entries of each key. One argsort of the whole made two int64 arrays of its size (224 MB at 14
    million entries, twice with two passes at a time), for 0.08 s less. `order`: int32 to put it in."""
    order = np.empty(len(keys), np.int32) if order is None else order
    free = starts.astype(np.int64)                  # each key's next place
    for lo in range(0, len(keys), piece):
        part = keys[lo:lo + piece]
        local = np.argsort(part, kind="stable")
        ranked = part[local]
        counts = np.bincount(part, minlength=len(starts))
        # the piece's i-th in order goes to its key's next place plus its rank among the piece's
        # equal keys (i less the piece's entries of lower keys)
        place = (free - (np.cumsum(counts) - counts))[ranked]
        place += np.arange(len(part))
        order[place] = local + lo
        free += counts
    return order


def _value_order(flat: np.ndarray, c: int, crowd: _Crowd, out: np.ndarray, qrot: np.ndarray, qkey: np.ndarray,
                 values: ValueOrder | Callable[[], ValueOrder] | None) -> tuple[ValueOrder, np.ndarray]:
    """The bucket order of a crowded index: its hashes rotated so that chunk c is on top, sorted as
    values in `out` and rotated back (no index-sized table of entry numbers: the places a join
    needs are traced through the index's ValueOrder, made here when None), and the crowded
    queries' places among the crowded entries (their rotated hashes `qrot`, buckets `qkey`)."""
    values = ValueOrder(flat) if values is None else values if isinstance(values, ValueOrder) else values()
    out[:] = flat
    top = 64 - CHUNK_BITS * (c + 1)        # the rotation that puts chunk c on top (_chunk_on_top)
    _rotate_in_place(out, top)
    out.sort()
    at = crowd.rank(np.searchsorted(out, qrot), qkey) if len(qrot) else _EMPTY
    _rotate_in_place(out, -top)            # back to the plain hashes, compared as they are
    return values, at


def compare_runs(query: np.ndarray, nb: Neighbourhoods, queries: np.ndarray | None, block: int, threshold: int
                 ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """(fraction done, q, entry, d): the `queries` (numbers into query; None: all) against their
    runs of `nb`, about `block` comparisons at a time, the pairs within `threshold` bits."""
    cnt = nb.cnt
    if queries is not None:
        cnt = np.zeros_like(nb.cnt)
        cnt[queries] = nb.cnt[queries]
    for done, qs in _blocks(cnt, block, nb.start):
        # the distance does not depend on the bucket's order: the same hashes, compared unrotated
        q, at, d = _compare_runs(query, qs, nb.start, cnt, nb.svals, threshold)
        yield done, q, nb.entries_at(at), d


def _sorted_join(query: np.ndarray, flat: np.ndarray, ids: np.ndarray, n_views: int, c: int, full: int,
                 block: int, threshold: int, segment: int = SEGMENT, values: ValueOrder | None = None,
                 out: np.ndarray | None = None
                 ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Pairs (q, entry) of queries and index entries whose chunk c agrees (every such entry for a
    bucket of at most `full` entries, else the query's neighbourhood: see `neighbourhoods`) and
    whose values are within `threshold` bits, compared in blocks of about `block` pairs:
    (fraction done, q, entry, d, sizes), `sizes` (each query's bucket size) with the first block
    only. The values are compared in their bucket order (a bucket's entries lie side by side), and
    only the few pairs within the threshold are mapped back to entries."""
    nb = neighbourhoods(query, flat, ids, n_views, c, full, segment, values, out)
    first = nb.sizes
    for done, q, entry, d in compare_runs(query, nb, None, block, threshold):
        yield done, q, entry, d, first
        first = None
