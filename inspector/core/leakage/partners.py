"""Each image's few best candidates, kept over a stream of candidate blocks.

The candidate search yields its pairs block by block; holding them all would cost memory in
proportion to the pairs (hundreds of millions in crowds of look-alikes at a million images).
`BestPartners` keeps, per image, only the `k` pairs of lowest rank seen so far (a fixed
(N, k) table), so that after the last block its pairs are exactly those among the k best of
either of their images, as if every pair had been ranked at once.
"""
from __future__ import annotations

import numpy as np

from ..table import ImageTable
from .candidates import closest_per_query
from .looks import LookRanker
from .progress import Steps, scaled


class BestPartners:
    """Per image, its `k` lowest-rank partners (ties: the lower partner row)."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.rank = np.full((n, k), np.inf, np.float32)
        self.partner = np.full((n, k), -1, np.int32)

    def add(self, a: np.ndarray, b: np.ndarray, rank: np.ndarray) -> None:
        """Offer pairs (a, b) of this rank to both of their images (a pair seen again keeps its
        lower rank)."""
        if len(a) == 0:
            return
        owner = np.concatenate([a, b]).astype(np.int64)
        other = np.concatenate([b, a]).astype(np.int64)
        r = np.concatenate([rank, rank]).astype(np.float32)
        touched = np.unique(owner)
        held = self.partner[touched]
        live = held >= 0
        owner = np.concatenate([owner, np.repeat(touched, self.k)[live.ravel()]])
        other = np.concatenate([other, held[live].astype(np.int64)])
        r = np.concatenate([r, self.rank[touched][live]])
        q, m, best = closest_per_query(owner, other, r, self.k)
        self.rank[touched] = np.inf
        self.partner[touched] = -1
        start = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        slot = np.arange(len(q)) - np.repeat(start, np.diff(np.r_[start, len(q)]))
        self.rank[q, slot] = best
        self.partner[q, slot] = m

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept pairs, each once, as rows (a < b), sorted."""
        owner = np.repeat(np.arange(self.n, dtype=np.int64), self.k)
        other = self.partner.reshape(-1).astype(np.int64)
        live = other >= 0
        owner, other = owner[live], other[live]
        key = np.unique(np.minimum(owner, other) * max(self.n, 1) + np.maximum(owner, other))
        return key // max(self.n, 1), key % max(self.n, 1)


class PairRanker:
    """The look ranking of candidate pairs between images (items: positions in `rows`) of different
    content, as the full search offers them to BestPartners: per oriented pair whether it may go
    on and its rank as BestPartners keeps it (float32)."""

    def __init__(self, table: ImageTable, rows: np.ndarray, mirrors: bool, block: int, compact: bool = False) -> None:
        self.rows = rows
        self.content = np.asarray(table.content_hash, np.uint64)[rows]
        self.looks = LookRanker(table, mirrors, compact)   # compact: a rescan's, for a few of the images
        self.block = block

    def rank(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = (self.content[a] != self.content[b]).any(axis=1)
        rank = np.full(len(a), np.inf, np.float32)
        at = np.flatnonzero(ok)
        if len(at):
            fine, r = self.looks(self.rows[a[at]], self.rows[b[at]])
            ok[at] = fine
            rank[at] = r.astype(np.float32)
        return ok, rank

    def best_of(self, a: np.ndarray, b: np.ndarray, k: int) -> Steps[tuple[np.ndarray, np.ndarray]]:
        """(R, k) partners (-1 none) and ranks of every image over the oriented pairs (a, b)."""
        best = BestPartners(len(self.rows), k)
        for lo in range(0, len(a), self.block):
            sa, sb = a[lo:lo + self.block], b[lo:lo + self.block]
            ok, rank = self.rank(sa, sb)
            best.add(sa[ok], sb[ok], rank[ok])
            yield min(1.0, (lo + self.block) / max(len(a), 1))
        return best.partner.astype(np.int64), best.rank


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of `keys` is in `sorted_keys`."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(keys), bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def update_best(ranker: PairRanker, changed: np.ndarray, sides: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                old_of: np.ndarray, last: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
                ) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """`best_of` today's oriented `pairs` (items; repeats allowed), from the last search's result:
    `changed` the pairs (unordered keys min * R + max, sorted) met from another set of sides than
    then, `sides` today's sides of those (oriented keys), `last` = (its partners, the same in today's
    items, -1 deleted, their ranks), `old_of` today's item -> the last search's (-1 added). Only
    the changed pairs are ranked, and the images that lost one of a full set of k partners are
    ranked again in full; the others merge their kept partners with their changed pairs."""
    n = len(old_of)
    side_a, side_b = sides // n, sides % n
    ok, rank = ranker.rank(side_a, side_b)
    yield 0.3
    held_old, held, held_rank = last
    has_old = old_of >= 0
    members = np.full((n, k), -1, np.int64)
    ranks = np.full((n, k), np.inf, np.float32)
    filled = np.zeros((n, k), bool)
    members[has_old] = held[old_of[has_old]]
    ranks[has_old] = held_rank[old_of[has_old]]
    filled[has_old] = held_old[old_of[has_old]] >= 0
    owner = np.repeat(np.arange(n), k).reshape(n, k)
    gone = filled & ((members < 0) | _member(np.minimum(owner, members) * n + np.maximum(owner, members), changed))
    again = gone.any(axis=1) & (filled.sum(axis=1) == k)
    # merged: kept partners that stay, and the changed pairs of today, for both of their images
    stay = filled & ~gone & ~again[:, None]
    q = np.r_[owner[stay], side_a[ok], side_b[ok]]
    m = np.r_[members[stay], side_b[ok], side_a[ok]]
    r = np.r_[ranks[stay], rank[ok], rank[ok]]
    take = ~again[q]
    q, m, r = closest_per_query(q[take], m[take], r[take], k)
    best = np.full((n, k), -1, np.int64)
    best_rank = np.full((n, k), np.inf, np.float32)
    start = np.flatnonzero(np.r_[True, q[1:] != q[:-1]]) if len(q) else np.zeros(0, np.int64)
    slot = np.arange(len(q)) - np.repeat(start, np.diff(np.r_[start, len(q)]))
    best[q, slot] = m
    best_rank[q, slot] = r
    redo = np.flatnonzero(again)
    if len(redo):
        a, b = pairs
        mine = again[a] | again[b]
        key = np.sort(a[mine] * n + b[mine])
        key = key[np.r_[True, key[1:] != key[:-1]]]
        full_best, full_rank = yield from scaled(ranker.best_of(key // n, key % n, k), 0.3, 1.0)
        best[redo], best_rank[redo] = full_best[redo], full_rank[redo]
    return best, best_rank
