"""Short-key joins: the candidate search's wider net where the 16-bit chunks leave room.

The plain join (join.py) pairs hashes that agree on a whole 16-bit chunk: at a million images
that is what bounds the work (about 200 entries share a chunk value), but in a few thousand
photos a chunk value is shared by a handful of entries, and a copy whose hash drifted by 4-10
bits spread over every chunk (off-centre crops, turns, smooth pictures re-encoded) meets nobody.
Here each query is compared with the entries that agree with it on the lowest-frequency bits of a
chunk only (its most stable ones): as many bits as it takes to bring the query's bucket down to
at most `SHORT_BUCKET` entries, and fewer than 16 (16 is the plain join). The entries are sorted
by their chunk with its bits reversed (the lowest frequency most significant), so every such
bucket is one run of that order, and a table of the counts below each key value gives each
query's shortest fitting key at once. The work is at most SHORT_BUCKET comparisons per query and
chunk, and fewer in large datasets (`bucket_size`): at a million images the joins are not made
and the search is the plain one.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .join import CHUNK_BITS, N_CHUNKS, _blocks, _chunk_keys, _compare_runs, _padded_take

SHORT_BUCKET = 256       # entries a query is compared with at most, per chunk...
SHORT_WORK = 1 << 27     # ...and fewer when the search's short-key joins would make more comparisons

# each 16-bit value with its bits reversed: bit 0 (the chunk's lowest frequency) becomes the top one
_REVERSED = np.zeros(1 << CHUNK_BITS, np.uint16)
for _b in range(CHUNK_BITS):
    _REVERSED |= (((np.arange(1 << CHUNK_BITS) >> _b) & 1) << (CHUNK_BITS - 1 - _b)).astype(np.uint16)


def bucket_size(queries: int, bucket: int = SHORT_BUCKET, work: int = SHORT_WORK) -> int:
    """The bucket cap for a search whose short-key joins have `queries` queries in all: at most
    `work` comparisons in all, so the joins fade out as a dataset grows: searched
    with their own split, 20,000 photos meet up to 256 entries a query and chunk, 100,000 about
    110; beyond about 160,000 photos the whole-image joins are left out, beyond about 600,000
    the region joins too (as the joins' work would pass the plain search's)."""
    return min(bucket, work // max(queries * N_CHUNKS, 1))


def worth_it(n_entries: int, bucket: int = SHORT_BUCKET) -> bool:
    """Whether a join of `n_entries` index entries gains by a short key at that bucket cap: when
    a 15-bit key leaves buckets of at most `bucket` entries on average (twice the 16-bit chunk's)."""
    return bucket > 0 and n_entries <= bucket << (CHUNK_BITS - 1)


def short_key_entries(query: np.ndarray, index: np.ndarray, threshold: int, block: int,
                      bucket: int = SHORT_BUCKET, chunks: tuple[int, ...] = tuple(range(N_CHUNKS))
                      ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """The short-key join of query (uint64 (Q,)) against index (uint64 (M, V), all views), block
    by block: (fraction done, q, entry, d), entry = m * V + v, for the entries within `threshold`
    bits of query[q] that agree with it on the shortest low-frequency part of some chunk that
    holds at most `bucket` entries (see the module docstring). Queries whose 15-bit bucket is
    larger take no part in that chunk (crowds: the plain join's neighbourhoods serve them)."""
    query = np.ascontiguousarray(query, dtype=np.uint64).reshape(-1)
    flat = np.ascontiguousarray(index, dtype=np.uint64).reshape(-1)
    if len(query) == 0 or len(flat) == 0 or not worth_it(len(flat), bucket):
        return
    for step, c in enumerate(chunks):
        keys = _REVERSED[_chunk_keys(flat, c)]
        order = np.argsort(keys, kind="stable")                # 16-bit keys: a radix sort
        below = np.zeros((1 << CHUNK_BITS) + 1, np.int64)      # entries with a key below each value
        np.cumsum(np.bincount(keys, minlength=1 << CHUNK_BITS), out=below[1:])
        del keys
        qkey = _REVERSED[_chunk_keys(query, c)].astype(np.int64)
        start = np.zeros(len(query), np.int64)
        cnt = np.zeros(len(query), np.int64)
        todo = np.ones(len(query), bool)
        for bits in range(CHUNK_BITS):            # the shortest key first: the widest bucket that fits
            free = CHUNK_BITS - bits
            lo = (qkey >> free) << free
            n = below[lo + (1 << free)] - below[lo]
            fit = todo & (n <= bucket)
            start[fit], cnt[fit] = below[lo[fit]], n[fit]
            todo &= ~fit
        svals = _padded_take(flat, order)
        for done, qs in _blocks(cnt, block, start):
            q, at, d = _compare_runs(query, qs, start, cnt, svals, threshold)
            yield (step + done) / len(chunks), q, order[at], d
        del svals
