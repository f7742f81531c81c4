"""A pass's neighbourhoods for a rescan, found from the bucket sizes and the segment marks alone.

join.neighbourhoods sorts a chunk's whole index and traces the places it needs back to entries
(value_order.py): about a fifth of a rescan's patched search, over every entry, where a rescan
needs, per unchanged query, only the two entries that delimit its neighbourhood (to compare them
with the stored ones), the added entries inside it, and the whole neighbourhoods of the few
queries searched again. All of these follow from the marks: in a crowded bucket a query meets
the entries from the second mark before its place to the second mark after it (join.py), where
entries are ordered by their hash rotated to put the chunk on top, ties by entry number, and a
query's place is before the entries equal to it. So only the marked entries (one in SEGMENT of
the crowded buckets') are sorted, and an entry lies in a query's neighbourhood when the number of
marks up to it (itself included) is within one of the number of marks before the query
(`tests/test_leakage_rescan.py` checks the delimiters against join.neighbourhoods').
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .join import (CHUNK_BITS, FULL_BUCKET, MIH_BLOCK, SEGMENT, _blocks, _chunk_keys, _chunk_on_top, _compare_runs,
                   _padded_take, segment_marks)

_BUCKETS = 1 << CHUNK_BITS
_TOP = np.uint64(64 - CHUNK_BITS)


class MarkRuns:
    """One chunk's neighbourhoods (query uint64 (Q,), index `flat` of rows of `n_views` entries
    with stable row `ids`): per query the bucket size (`sizes`), whether it is crowded, the
    delimiting entries (`first`, `stop`: entry numbers, -1 a bucket edge, as join.neighbourhoods
    gives them), and the number of marks before its place (`g`, crowded queries)."""

    def __init__(self, query: np.ndarray, flat: np.ndarray, ids: np.ndarray, n_views: int, c: int,
                 full: int = FULL_BUCKET, segment: int = SEGMENT) -> None:
        self.query, self.flat, self.c = query, flat, c
        self.ekey = _chunk_keys(flat, c)
        qkey = _chunk_keys(query, c)
        self.qkey = qkey.astype(np.int64)
        counts = np.bincount(self.ekey, minlength=_BUCKETS)
        self.bucket_crowded = counts > full
        self.sizes = counts[self.qkey]
        self.crowded = self.bucket_crowded[self.qkey]
        crowd = np.flatnonzero(self.bucket_crowded[self.ekey])          # entries of crowded buckets
        marked = crowd[segment_marks(ids, n_views, segment, crowd)]
        rot = _chunk_on_top(flat[marked], c)
        order = np.lexsort((marked, rot))
        self.mark_rot, self.mark_entry = rot[order], marked[order].astype(np.int64)
        n = len(query)
        self.first = np.full(n, -1, np.int64)
        self.stop = np.full(n, -1, np.int64)
        self.g = np.zeros(n, np.int64)
        cq = np.flatnonzero(self.crowded)
        m = len(self.mark_rot)
        if len(cq) == 0 or m == 0:
            return
        g = np.searchsorted(self.mark_rot, _chunk_on_top(query[cq], c), side="left")
        self.g[cq] = g
        mark_bucket = (self.mark_rot >> _TOP).astype(np.int64)
        head = self._bucket_heads(crowd)
        j = g - 2                     # the mark two before the query's place starts its run...
        ok = j >= 0
        jj = np.where(ok, j, 0)
        ok &= (mark_bucket[jj] == self.qkey[cq]) & ~head[jj]    # ...unless that is the bucket's edge
        self.first[cq[ok]] = self.mark_entry[jj[ok]]
        k = g + 1                     # and the mark two after it ends the run
        ok = k < m
        kk = np.where(ok, k, 0)
        ok &= mark_bucket[kk] == self.qkey[cq]
        self.stop[cq[ok]] = self.mark_entry[kk[ok]]

    def _bucket_heads(self, crowd: np.ndarray) -> np.ndarray:
        """Per sorted mark, whether it is the first entry of its bucket's order."""
        rot = _chunk_on_top(self.flat[crowd], self.c)
        bucket = (rot >> _TOP).astype(np.int64)
        least = np.full(_BUCKETS, np.iinfo(np.uint64).max, np.uint64)
        np.minimum.at(least, bucket, rot)
        mark_bucket = (self.mark_rot >> _TOP).astype(np.int64)
        head = self.mark_rot == least[mark_bucket]
        if head.any():   # the least value may be held by several entries: the lowest-numbered first
            tied = rot == least[bucket]
            lowest = np.full(_BUCKETS, np.iinfo(np.int64).max, np.int64)
            np.minimum.at(lowest, bucket[tied], crowd[tied].astype(np.int64))
            head &= self.mark_entry == lowest[mark_bucket]
        return head

    def marks_up_to(self, entries: np.ndarray) -> np.ndarray:
        """Per entry (of a crowded bucket), the number of marks at or before its place."""
        rot = _chunk_on_top(self.flat[entries], self.c)
        lo = np.searchsorted(self.mark_rot, rot, side="left")
        hi = np.searchsorted(self.mark_rot, rot, side="right")
        tie = np.flatnonzero(hi > lo)
        if len(tie):   # marks of the same value: those numbered up to the entry's (sorted by number)
            a, b = lo[tie].copy(), hi[tie].copy()
            e = np.asarray(entries, np.int64)[tie]
            while True:
                open_ = a < b
                if not open_.any():
                    break
                mid = (a + b) // 2
                up_to = open_ & (self.mark_entry[np.minimum(mid, len(self.mark_entry) - 1)] <= e)
                a = np.where(up_to, mid + 1, a)
                b = np.where(open_ & ~up_to, mid, b)
            lo[tie] = a
        return lo

    def _entry_groups(self, entries: np.ndarray) -> np.ndarray:
        """Per entry, its group: the bucket, and in a crowded bucket the marks up to it."""
        group = np.zeros(len(entries), np.int64)
        crowded = self.bucket_crowded[self.ekey[entries]]
        group[crowded] = self.marks_up_to(entries[crowded])
        return group

    def added_pairs(self, queries: np.ndarray, added: np.ndarray, threshold: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(q, entry, d): the `queries` with the `added` entries in their neighbourhoods, within
        `threshold` bits."""
        none = np.zeros(0, np.int64)
        if len(queries) == 0 or len(added) == 0:
            return none, none, none.astype(np.uint8)
        g = np.where(self.crowded[queries], self.g[queries], 0)
        shift = np.int64(max(int(g.max(initial=0)), len(self.mark_rot)).bit_length() + 1)
        qk = (self.qkey[queries] << shift) | g
        order = np.argsort(qk, kind="stable")
        qs, qk = queries[order], qk[order]
        bucket = self.ekey[added].astype(np.int64)
        h = self._entry_groups(added)
        crowded = self.bucket_crowded[bucket]
        lo = np.searchsorted(qk, (bucket << shift) | np.where(crowded, np.maximum(h - 1, 0), 0), side="left")
        hi = np.searchsorted(qk, (bucket << shift) | np.where(crowded, h + 1, 0), side="right")
        count = hi - lo
        which = np.repeat(np.arange(len(added)), count)
        q = qs[np.repeat(lo - np.cumsum(count) + count, count) + np.arange(int(count.sum()))]
        entry = added[which]
        d = np.bitwise_count(self.query[q] ^ self.flat[entry])
        ok = d <= threshold
        return q[ok], entry[ok].astype(np.int64), d[ok]

    def met(self, queries: np.ndarray, threshold: int, block: int = MIH_BLOCK
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(q, entry, d) blocks of whole queries: the `queries` against their whole neighbourhoods,
        within `threshold` bits (the entries of their buckets grouped by bucket and marks up to
        them: a crowded query's neighbourhood is three groups, an uncrowded one's its bucket)."""
        if len(queries) == 0:
            return
        wanted = np.zeros(_BUCKETS, bool)
        wanted[self.qkey[queries]] = True
        entries = np.flatnonzero(wanted[self.ekey])
        group = self._entry_groups(entries)
        g_bits = max(int(group.max(initial=0)), int(self.g.max(initial=0))).bit_length() + 2
        e_bits = max(len(self.flat) - 1, 1).bit_length()
        if CHUNK_BITS + g_bits + e_bits > 63:
            raise ValueError("index too large for a rescan's grouped runs")
        key = (((self.ekey[entries].astype(np.int64) << g_bits) | group) << e_bits) | entries
        key.sort()
        order = key & ((1 << e_bits) - 1)
        runs = key >> e_bits
        del key
        svals = _padded_take(self.flat, order)
        b = self.qkey[queries] << g_bits
        crowded = self.crowded[queries]
        g = self.g[queries]
        lo = np.searchsorted(runs, np.where(crowded, b | np.maximum(g - 1, 0), b), side="left")
        hi = np.searchsorted(runs, np.where(crowded, b | (g + 2), b + (1 << g_bits)), side="left")
        start = np.zeros(len(self.query), np.int64)
        cnt = np.zeros(len(self.query), np.int64)
        start[queries], cnt[queries] = lo, hi - lo
        for _, qs in _blocks(cnt, block, start):
            q, at, d = _compare_runs(self.query, qs, start, cnt, svals, threshold)
            yield q, order[at], d


def _drained(blocks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blocks of `MarkRuns.met` end to end (for tests)."""
    parts = list(blocks) or [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8))]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
