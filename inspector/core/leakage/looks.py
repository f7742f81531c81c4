"""The cheap look-alike comparison the confirmation selects on: each image's thumbnail reduced to
a 16x16 unit vector (mean removed), pairs correlated plain and mirrored, and each image's
candidates ranked (pairs across splits first, then the best-looking), so the expensive comparison
only sees an image's closest look-alikes. `LookRanker` does the same for a streamed search, block
by block, keeping each image's vector once made.
"""
from __future__ import annotations

import numpy as np

from ..hashing import GRID, THUMB_SIZE
from ..table import ImageTable
from .candidates import closest_either_side
from .look_bound import LookBound
from .progress import Steps

# Images smaller than the hash grid (GRID px a side) follow the tiny-image rules (see
# confirmation.py); their pairs must also look nearly alike here.
TINY_SIDE = GRID
# Tiny pairs need near pixel identity, which already shows in the cheap 16x16 comparison: copies
# (JPEG q60, brightness) correlate >= 0.998 there, 99.7% of look-alike digit pairs below 0.98.
TINY_LOOK_FLOOR = 0.98

_LOOK = 16  # side of the cheap look-alike comparison
LOOK_MEMORY = 1 << 29  # bytes of look vectors a search keeps (1 KB per image: up to 524,288 images)


def _look_vectors(thumbs: np.ndarray) -> np.ndarray:
    """(P, _LOOK*_LOOK) float32 unit vectors: thumbnails box-reduced to 16x16, mean removed."""
    f = THUMB_SIZE // _LOOK
    # box sums in integers (exact, and many times faster than a float mean): the rows of each box
    # added first, then its columns, in uint16 (f * f * 255 fits), half the memory of int32
    th = np.asarray(thumbs).reshape(len(thumbs), THUMB_SIZE, THUMB_SIZE)
    rows = th[:, 0::f].astype(np.uint16)
    for i in range(1, f):
        rows += th[:, i::f]
    total = rows[:, :, 0::f].copy()
    for j in range(1, f):
        total += rows[:, :, j::f]
    t = total.astype(np.float32) / np.float32(f * f)
    t -= t.mean(axis=(1, 2), keepdims=True)
    v = t.reshape(len(thumbs), -1)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


def looks(thumb: np.ndarray, a: np.ndarray, b: np.ndarray, k: int | None, mirrors: bool,
           same_group: np.ndarray | None = None, floor: np.ndarray | float = -1.0
           ) -> Steps[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A cheap look-alike comparison of candidate pairs (16x16, whole images): the indices of the
    pairs among the k best-correlating candidates of a or of b (all with k None), so the expensive
    confirmation only sees an image's closest look-alikes, pairs across splits first (they are the
    leaks; `same_group` marks the others) and none correlating below `floor`; per pair whether it
    correlates better mirrored; and the correlations. Yields its fraction done."""
    rows, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    v = np.empty((len(rows), _LOOK * _LOOK), np.float32)
    for lo in range(0, len(rows), 1 << 13):
        v[lo:lo + (1 << 13)] = _look_vectors(thumb[rows[lo:lo + (1 << 13)]])
        yield 0.4 * min(1.0, (lo + (1 << 13)) / len(rows))
    ia, ib = inv[:len(a)], inv[len(a):]
    score = np.empty(len(a), np.float32)
    mirrored = np.zeros(len(a), bool)
    for lo in range(0, len(a), 1 << 16):
        sl = slice(lo, lo + (1 << 16))
        score[sl], mirrored[sl] = _pair_looks(v[ia[sl]], v[ib[sl]], mirrors)
        yield 0.4 + 0.4 * min(1.0, (lo + (1 << 16)) / len(a))
    above = score >= floor
    rank = _look_rank(score, same_group)
    keep = np.flatnonzero(above)
    if k is not None:
        keep = keep[closest_either_side(a[keep], b[keep], rank[keep], k)]
    return keep, mirrored, score


def _pair_looks(va: np.ndarray, vb: np.ndarray, mirrors: bool) -> tuple[np.ndarray, np.ndarray]:
    """Look-alike correlation of paired look vectors (the better of plain and mirrored with
    `mirrors`) and whether the mirrored one is better."""
    s = np.einsum("pd,pd->p", va, vb)
    if not mirrors:
        return s, np.zeros(len(s), bool)
    vbm = vb.reshape(-1, _LOOK, _LOOK)[:, :, ::-1].reshape(len(vb), -1)
    sm = np.einsum("pd,pd->p", va, vbm)
    return np.maximum(s, sm), sm > s


def _look_rank(score: np.ndarray, same_group: np.ndarray | None) -> np.ndarray:
    """Order of an image's candidates (lower first): pairs across groups, then the best-looking
    (correlations are <= 1, so the 2 of a same-group pair puts it behind every cross pair)."""
    return -score + (2.0 * same_group if same_group is not None else 0.0)


class LookRanker:
    """For blocks of candidate pairs, what `iter_confirm_pairs` selects on before its full
    comparison: whether each pair may go on (tiny images must correlate at least TINY_LOOK_FLOOR on
    the 16x16 look) and its rank among an image's candidates (lower
    first), so a streamed search can keep each image's best CONFIRM_NEIGHBOURS over all blocks
    and confirm only those. The table's per-image columns are prepared once, not per block."""

    def __init__(self, table: ImageTable, mirrors: bool = True, compact: bool = False) -> None:
        self.thumb = table.thumb
        self.small = np.minimum(table.width, table.height) < TINY_SIDE
        self.split = np.asarray(table.split)
        self.mirrors = mirrors
        # Each image's look vector is made the first time one of its pairs comes (a block's images
        # mostly came in earlier blocks: making them again was most of the search's time) and kept
        # when they fit in LOOK_MEMORY; a vector does not depend on the others made with it. Its
        # projections (look_bound.py, 32 bytes) are always kept: they rule out most tiny pairs.
        # `compact` (a rescan's ranking, which makes the vectors of a fifth of the images): the kept
        # vectors lie in the order they were made (`slot` per row) in an array grown as needed,
        # from memory the process mostly has already; rows spread over a whole-table array touched
        # most of its fresh pages (0.1-0.2 s of page faults at 100,000 images). Else (a search from
        # nothing, which makes nearly all) one whole-table array, with no copy as it grows.
        n = len(self.thumb)
        keep = n * _LOOK * _LOOK * 4 <= LOOK_MEMORY
        self.slot = np.full(n, -1, np.int64) if keep and compact else None
        self.vectors = np.empty((0 if compact else n, _LOOK * _LOOK), np.float32) if keep else None
        self.used = 0
        self.bound = LookBound(_LOOK)
        self.projections = np.empty((n, len(self.bound.basis)), np.float32)
        self.made = np.zeros(n, bool)

    def _make(self, rows: np.ndarray) -> None:
        new = np.unique(rows[~self.made[rows]])
        if self.slot is not None and self.used + len(new) > len(self.vectors):   # grown by doubling
            grown = np.empty((min(len(self.thumb), max(self.used + len(new), 2 * len(self.vectors))), _LOOK * _LOOK),
                             np.float32)
            grown[:self.used] = self.vectors[:self.used]
            self.vectors = grown
        for lo in range(0, len(new), 1 << 13):
            part = new[lo:lo + (1 << 13)]
            v = _look_vectors(self.thumb[part])
            self.projections[part] = self.bound.project(v)
            if self.slot is not None:
                self.slot[part] = np.arange(self.used, self.used + len(part))
                self.vectors[self.used:self.used + len(part)] = v
                self.used += len(part)
            elif self.vectors is not None:
                self.vectors[part] = v
        self.made[new] = True

    def _scores(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.slot is not None:
            return _pair_looks(self.vectors[self.slot[a]], self.vectors[self.slot[b]], self.mirrors)[0]
        if self.vectors is not None:
            return _pair_looks(self.vectors[a], self.vectors[b], self.mirrors)[0]
        rows, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
        v = _look_vectors(self.thumb[rows])
        return _pair_looks(v[inv[:len(a)]], v[inv[len(a):]], self.mirrors)[0]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._make(np.concatenate([a, b]))
        tiny = self.small[a] | self.small[b]
        floor = np.where(tiny, TINY_LOOK_FLOOR, -1.0)
        t = np.flatnonzero(tiny)
        out = np.zeros(len(a), bool)  # tiny pairs that surely correlate below their floor
        out[t] = self.bound.below(self.projections[a[t]], self.projections[b[t]], TINY_LOOK_FLOOR, self.mirrors)
        score = np.full(len(a), -1.0, np.float32)  # below every floor but the -1 of photo pairs
        live = np.flatnonzero(~out)
        if len(live):
            score[live] = self._scores(a[live], b[live])
        ok = (score >= floor) & ~out
        return ok, _look_rank(score, self.split[a] == self.split[b])
