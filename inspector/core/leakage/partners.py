"""Each image's few best candidates, kept over a stream of candidate blocks.

The candidate search yields its pairs block by block; holding them all would cost memory in
proportion to the pairs (hundreds of millions in crowds of look-alikes at a million images).
`BestPartners` keeps, per image, only the `k` pairs of lowest rank seen so far (a fixed
(N, k) table), so that after the last block its pairs are exactly those among the k best of
either of their images, as if every pair had been ranked at once.
"""
from __future__ import annotations

import numpy as np

from .candidates import closest_per_query


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
