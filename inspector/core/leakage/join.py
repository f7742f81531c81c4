"""The multi-index join of 64-bit hashes, block by block, with bounded work per query.

Plain multi-index hashing compares a query with every index entry that has one of its four 16-bit
chunks: on hashes whose chunks are not uniform that is quadratic (tiny smooth pictures share their
high-frequency chunks: at 100,000 of them a query met 4,800 entries in one chunk, 48,000 at a
million). Here the entries of a chunk's bucket are sorted by the rest of the hash (the next
chunks), and a query is compared with the whole bucket when it holds at most `FULL_BUCKET`
entries, else with the `WINDOW` entries nearest it in that order. So that no pair within
`GUARANTEED_RADIUS` bits is lost to a window, a query in a crowded bucket is also joined on
longer keys among that bucket's entries: the chunk and one of four 12-bit pieces of the other 48
bits (a pair within 3 bits that shares the chunk agrees on one of the pieces too), and so on
while buckets stay crowded, keeping only pairs within the radius. Work and memory are then about
queries x (FULL_BUCKET or WINDOW) x passes, whatever the data (only hashes equal on nearly all
bits, in crowds over FULL_BUCKET, end in windows), and a block never holds more than `block`
comparisons.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

CHUNK_BITS = 16
N_CHUNKS = 64 // CHUNK_BITS  # 4 chunks: every pair within N_CHUNKS - 1 = 3 bits shares a chunk
GUARANTEED_RADIUS = N_CHUNKS - 1
MAX_DEPTH = 3                # crowded buckets are cut into longer keys at most this many times
FULL_BUCKET = 1024           # a query meets every entry of a bucket up to this size...
WINDOW = 256                 # ...else the WINDOW entries nearest it in the bucket's order
# Hash comparisons per block: each costs about 60 bytes of temporaries (positions, repeated
# queries, gathered hashes, their XOR), so a block is about 60 MB whatever the dataset's size.
MIH_BLOCK = 1 << 20

_U = np.uint64
_EMPTY = np.zeros(0, np.int64)


def _rotl(x: np.ndarray, k: int) -> np.ndarray:
    k %= 64
    return x if k == 0 else (x << _U(k)) | (x >> _U(64 - k))


def _chunk_on_top(x: np.ndarray, c: int) -> np.ndarray:
    """x rotated so that chunk c is its top 16 bits (then chunks c-1, ..., wrapping round)."""
    return _rotl(x, 64 - CHUNK_BITS * (c + 1))


def mih_entries(query: np.ndarray, index: np.ndarray, threshold: int, block: int = MIH_BLOCK,
                full: int = FULL_BUCKET, window: int = WINDOW
                ) -> Iterator[tuple[float, int, np.ndarray, np.ndarray, np.ndarray]]:
    """The join of query (uint64 (Q,)) against index (uint64 (M, V), all views), block by block:
    (fraction done, chunk c, q, entry, d) with entry = m * V + v, for the views met whose 16-bit
    chunk c equals chunk c of query[q] and whose distance d to it is <= threshold (see the module
    docstring for which are met). A block may be empty: one is yielded every `block` comparisons,
    so a consumer can report progress and stop. A pair may come more than once."""
    query = np.ascontiguousarray(query, dtype=np.uint64).reshape(-1)
    flat = np.ascontiguousarray(index, dtype=np.uint64).reshape(-1)
    if len(query) == 0 or len(flat) == 0:
        return
    if len(flat) >= 1 << 31:
        raise ValueError("index too large for one join (2^31 views)")
    chunk_bits = np.arange(CHUNK_BITS)
    for c in range(N_CHUNKS):
        top_q = _chunk_on_top(query, c)
        crowded = crowd_size = None
        for hi, q, entry, d, crowd in _sorted_join(top_q, _chunk_on_top(flat, c), CHUNK_BITS, full,
                                                   window, block, threshold):
            if crowd is not None:
                crowd_size = crowd
                crowded = crowd > full
            yield (c + 0.5 * hi) / N_CHUNKS, c, q, entry, d
        rows = np.flatnonzero(crowded) if crowded is not None else np.zeros(0, np.int64)
        if len(rows) == 0:
            yield (c + 1) / N_CHUNKS, c, _EMPTY, _EMPTY, _EMPTY.astype(np.uint8)
            continue
        in_chunk = chunk_bits + CHUNK_BITS * c
        for hi, q, entry, d in _radius_passes(query, flat, rows, crowd_size[rows], _mask(in_chunk),
                                              np.setdiff1d(np.arange(64), in_chunk),
                                              min(threshold, GUARANTEED_RADIUS), full, window, block, 1):
            yield (c + 0.5 + 0.5 * hi) / N_CHUNKS, c, q, entry, d
        yield (c + 1) / N_CHUNKS, c, _EMPTY, _EMPTY, _EMPTY.astype(np.uint8)


def _mask(bits: np.ndarray) -> np.uint64:
    return _U(sum(1 << int(b) for b in bits))


def _radius_passes(query: np.ndarray, flat: np.ndarray, q_rows: np.ndarray, parent: np.ndarray, mask: np.uint64,
                   free: np.ndarray, radius: int, full: int, window: int, block: int, depth: int
                   ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Join entries within `radius` of the queries q_rows, among the entries that agree with them
    on `mask` (their buckets were crowded): the `free` bits are cut into radius + 1 pieces, one of
    which a pair within the radius agrees on too (pigeonhole), and each piece is joined as a longer
    key; a bucket still crowded is cut again, up to MAX_DEPTH times, then windowed. A piece that
    does not shrink a query's bucket (its `parent` size) is skipped: hashes equal there too met
    each other in the window of the chunk already. Yields (fraction done, q, entry, d)."""
    qkey = query[q_rows] & mask
    entries = np.flatnonzero(np.isin(flat & mask, np.unique(qkey)))
    pieces = np.array_split(free, radius + 1)
    for j, piece in enumerate(pieces):
        pm = mask | _mask(piece)
        ekey = flat[entries] & pm
        order = np.argsort(ekey)
        skey = ekey[order]
        del ekey
        qk = query[q_rows] & pm
        lo = np.searchsorted(skey, qk, side="left")
        cnt = (np.searchsorted(skey, qk, side="right") - lo).astype(np.int64)
        del skey
        crowded = cnt > full
        same = cnt >= parent
        rest = np.setdiff1d(free, piece)
        deeper = crowded & ~same & (depth < MAX_DEPTH) & (len(rest) > radius)
        sizes = cnt
        cnt = np.where(deeper | (crowded & same), 0, np.minimum(cnt, window))  # crowded at the last depth: a window
        for hi, qs, n, at in _blocks(lo, cnt, block):
            q, entry = q_rows[np.repeat(qs, n)], entries[order[at]]
            d = np.bitwise_count(query[q] ^ flat[entry])
            ok = np.flatnonzero(d <= radius)
            yield (j + 0.5 * hi) / len(pieces), q[ok], entry[ok], d[ok]
        if deeper.any():
            for hi, q, entry, d in _radius_passes(query, flat, q_rows[deeper], sizes[deeper], pm, rest, radius, full,
                                                  window, block, depth + 1):
                yield (j + 0.5 + 0.5 * hi) / len(pieces), q, entry, d


def _blocks(start: np.ndarray, cnt: np.ndarray, block: int
            ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """(fraction done, queries, their counts, positions): positions start[q] .. start[q] + cnt[q] - 1
    of every query q in turn, about `block` at a time (whole queries; at least one block, maybe
    empty); np.repeat(queries, counts) is the query of each position."""
    live = np.flatnonzero(cnt)
    if len(live) == 0:
        yield 1.0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return
    cum = np.cumsum(cnt[live])
    done = 0
    while done < len(live):
        base = cum[done - 1] if done else 0
        stop = max(int(np.searchsorted(cum, base + block, side="right")), done + 1)
        qs = live[done:stop]
        n = cnt[qs]
        excl = np.cumsum(n) - n
        at = np.repeat(start[qs] - excl, n) + np.arange(int(n.sum()), dtype=np.int64)
        done = stop
        yield done / len(live), qs, n, at


def _sorted_join(qsort: np.ndarray, isort: np.ndarray, key_bits: int, full: int, window: int,
                 block: int, threshold: int
                 ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Pairs (q, entry) of queries and index entries whose top `key_bits` (<= 16) of their sort values
    agree (every such entry for a bucket of at most `full` entries, else the `window` nearest the
    query in sort order) and whose values are within `threshold` bits, compared in blocks of about
    `block` pairs: (fraction done, q, entry, d, sizes), `sizes` (each query's bucket size) with the
    first block only. The values are compared in their sorted order (the bucket's entries lie side
    by side), and only the few pairs within the threshold are mapped back to entries: gathering
    every compared entry from the unsorted index was most of the join's time."""
    shift = _U(64 - key_bits)
    ikey = (isort >> shift).astype(np.uint16)
    order = np.argsort(ikey, kind="stable")              # radix sort on the 16-bit bucket key
    counts = np.bincount(ikey, minlength=1 << key_bits)
    del ikey
    starts = np.cumsum(counts) - counts
    # only crowded buckets need their entries in the order of the rest of the hash (for windows)
    in_crowd = np.flatnonzero(np.repeat(counts > full, counts))
    if len(in_crowd):
        sub = order[in_crowd]
        order[in_crowd] = sub[np.argsort(isort[sub])]
    svals = isort[order]
    order = order.astype(np.int32)
    key = (qsort >> shift).astype(np.int64)
    lo, cnt = starts[key], counts[key]
    hi = lo + cnt
    crowded = cnt > full
    sizes = cnt
    pos = lo.copy()
    pos[crowded] = np.searchsorted(svals, qsort[crowded])   # only windows need the place in the bucket
    start = np.where(crowded, np.clip(pos - window // 2, lo, hi - window), lo).astype(np.int64)
    cnt = np.where(crowded, window, cnt)
    first = sizes
    for done, qs, n, at in _blocks(start, cnt, block):
        # rotating both sides alike keeps the distance: popcount(rot(a) ^ rot(b)) = popcount(a ^ b)
        d = np.bitwise_count(np.repeat(qsort[qs], n) ^ svals[at])
        ok = np.flatnonzero(d <= threshold)
        q = qs[np.searchsorted(np.cumsum(n), ok, side="right")]
        yield done, q, order[at[ok]].astype(np.int64), d[ok], first
        first = None
