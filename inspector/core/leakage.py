"""Leakage between splits: duplicate images (exact, near, mirrored), label conflicts, normalization
statistics computed with val/test data, file-name collisions and per-split drift.

Everything here works on the scan's per-image columns (`ImageTable`): content hashes, the
perceptual view hashes and the small contrast-stretched thumbnails of `hashing.perceptual_signature`.
No image is decoded again.

Near duplicates, in two stages:

1. Candidates from the view hashes. A pair's hash distance is the least Hamming distance between
   one image's whole-image hash (view 0) and any view (whole, 3% / 6% border removed, mirrors) of
   the other. The search is multi-index hashing on the four 16-bit chunks of the 64-bit hashes:
   a pair is a candidate when one chunk of the query's whole-image hash equals the same chunk of
   some view of the other image exactly, and its distance is <= `near_threshold` bits. By the
   pigeonhole principle every pair within 3 bits shares a chunk, so up to 3 bits nothing can be
   missed; above that the exact-chunk condition is what keeps the search sub-quadratic (the cost
   is about queries x entries x 4 / 65536 hash comparisons, all in vectorised numpy). Because the
   chunks are ordered from low to high frequency and copies differ mostly in high-frequency bits,
   chunk 0 alone matches for most copies. Measured on real photos, see `NEAR_THRESHOLD`.
2. Confirmation on the thumbnails over the same crop alignments (0 to 6% border removed from
   either image in 0.75% steps, mirrored or not, compared at 24x24 after an area resampling):
   a copy correlates almost perfectly after removing the mean (`CONFIRM_CORR`), and so does its
   fine detail (`CONFIRM_FINE`): what is left after removing a locally cubic fit and the row and
   column means, so that neither the smooth shading of look-alike skies nor the 8-bit banding of
   their gradients (stripes along a row or column) counts as shared detail. There must be some
   fine detail to compare (`CONFIRM_TEXTURE`), and the two images' contrast, brightness and colour
   cast (per-image std and mean from the table) must agree within `CONTRAST_TOLERANCE`,
   `BRIGHTNESS_TOLERANCE` and `COLOUR_TOLERANCE`: the thumbnails are contrast-stretched, so these
   come from the table.

Crowds of look-alikes (60,000 handwritten digits) would make both stages quadratic: the hash
search keeps each image's `HASH_NEIGHBOURS` closest candidates, and a cheap 16x16 comparison
passes only each image's `CONFIRM_NEIGHBOURS` best-looking ones (pairs across splits first) to
the confirmation. Images under 64 px a side (digits, CIFAR, icons) must match almost pixel for
pixel (`TINY_CONFIRM_CORR`): their look-alikes correlate as well as re-encoded copies of photos.

Large groups of exact duplicates are reported against the first file of their group (O(k), not
O(k^2)), and the near search runs on one representative per (content, split).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .hashing import GRID, N_VIEWS, THUMB_SIZE, content_hash, perceptual_signature
from .table import ImageTable

# ---------------------------------------------------------------------------------------------
# Thresholds, measured with scripts/bench_leakage.py on the 2,000 real photo crops of /work/corpus2k
# (many of them non-overlapping crops of the same 49 photographs, in different splits) plus 490
# planted copies of 70 val/test images (JPEG q60, half size, 3% border crop, +10% brightness,
# mirror, PNG re-save, file copy), the non-overlapping quadrants of 40 photos, 40 synthetic
# look-alike skies and 28 flat images: 479 of 490 copies found (339 of the 350 near-type ones;
# the 11 misses are smooth skies and a grey wall whose hashes share no 16-bit chunk or whose fine
# detail JPEG erased), no false pair. The copies sit at <= 10 bits; the threshold does not
# decide precision (the confirmation does), it bounds the work: candidates at 10 bits were
# ~2,000 pairs for 2,673 images.

NEAR_THRESHOLD = 10          # hash bits (of 64): candidate pairs at or under this distance are confirmed
CHUNK_BITS = 16
N_CHUNKS = 64 // CHUNK_BITS  # 4 chunks: every pair within N_CHUNKS - 1 = 3 bits shares a chunk
GUARANTEED_RADIUS = N_CHUNKS - 1

CONFIRM_CORR = 0.96          # thumbnail correlation after removing the mean, best alignment
CONFIRM_FINE = 0.45          # correlation of the fine detail (see _fine)
# Images smaller than the hash grid (GRID = 64 px a side: MNIST digits, CIFAR thumbnails, icons):
# their thumbnail is the whole image upsampled, and distinct look-alikes (two handwritten "1"s)
# correlate up to 0.996 / fine 0.94 there. Measured on 8,000 MNIST digits with 200 planted
# copies: at 0.997 / 0.95 no false pair (and none on all 70,000 digits); JPEG q60 copies 46 of 50,
# +10% brightness 50 of 50, 3% crops 2 of 50, half-size 0 (a 14x14 digit has lost the detail
# that tells it apart).
TINY_SIDE = GRID
TINY_CONFIRM_CORR = 0.997
TINY_CONFIRM_FINE = 0.95
# Mirrored alignments double the look-alikes a pair can match (a pier's planks, a curved wall):
# on the 20,000-photo corpus, two distinct cross-split crops confirmed as mirrors at correlation
# 0.961 / 0.968 and fine detail 0.58 / 0.65, while planted mirrored copies score >= 0.998 / 0.994.
# Mirrors are optional (DESIGN section 4), so they must clear a much higher bar.
MIRROR_CONFIRM_CORR = 0.985
MIRROR_CONFIRM_FINE = 0.80
CONFIRM_TEXTURE = 0.25       # least fine-detail std of the two thumbnails (stretched 0-255 units)
CONTRAST_TOLERANCE = 0.30    # per-image std ratio up to 1.30 (a +10% brightness copy: 1.10)
BRIGHTNESS_TOLERANCE = 0.30  # per-image mean ratio up to 1.30 (on mean + 0.02, 0-1 scale)
COLOUR_TOLERANCE = 0.08      # per-channel colour cast (channel mean - grey) / (grey + 0.05), RGB only

# Crowds of look-alikes (60,000 handwritten digits, product shots on white) put hundreds of images
# within NEAR_THRESHOLD bits of each other. The work stays bounded: the hash search keeps each
# image's HASH_NEIGHBOURS closest candidates, and only the CONFIRM_NEIGHBOURS of those whose
# thumbnails correlate best (a cheap 16x16 comparison) go on to the full confirmation. A copy is
# its original's closest look-alike by far, so it is not crowded out.
HASH_NEIGHBOURS = 32
CONFIRM_NEIGHBOURS = 5
CONFIRM_BLOCK = 4096         # candidate pairs confirmed at a time (bounds memory)
# Tiny pairs need near pixel identity, which already shows in the cheap 16x16 comparison: copies
# (JPEG q60, brightness) correlate >= 0.998 there, 99.7% of look-alike digit pairs below 0.98.
TINY_LOOK_FLOOR = 0.98

DRIFT_THRESHOLD = 0.05       # per-channel mean difference from train, 0-1 scale (about 13 grey levels)

SEVERITIES = ("error", "warning", "info")
KINDS = ("exact", "near", "mirror", "label_conflict", "stats_source", "name_collision", "drift")
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """One leakage finding. `rows` index the ImageTable (empty for dataset-level findings)."""

    kind: str
    severity: str
    splits: tuple[str, ...]
    paths: tuple[str, ...]
    distance: float | None
    message: str
    rows: tuple[int, ...]

    def to_dict(self) -> dict:
        """The export's view of a finding."""
        return {"kind": self.kind, "severity": self.severity, "splits": list(self.splits),
                "paths": list(self.paths), "distance": self.distance, "message": self.message}


def pair_severity(a: str, b: str) -> str:
    """train<->test error; any other two splits warning; within one split info."""
    if a == b:
        return "info"
    if {a, b} == {"train", "test"}:
        return "error"
    return "warning"


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    """{"error": n, "warning": n, "info": n} (all three keys, zeros included)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Severity (error, warning, info), then kind, then paths: deterministic."""
    return sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.severity, 9),
                                           _KIND_RANK.get(f.kind, 99), f.kind, f.paths, f.rows))


# ---------------------------------------------------------------------------------------------
# Candidate search: multi-index hashing on 16-bit chunks

def view_distance(phash: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pair hash distance: least distance between one row's view 0 and any view of the other (both ways)."""
    a = phash[i]
    b = phash[j]
    d1 = np.bitwise_count(a[:, :1] ^ b).min(axis=1)
    d2 = np.bitwise_count(b[:, :1] ^ a).min(axis=1)
    return np.minimum(d1, d2)


def closest_per_query(q: np.ndarray, m: np.ndarray, d: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (q, m) pairs with their least d, at most the k smallest d per q (ties: lower m).

    `d` may be float (a score); it is ranked through its order. Packed into int64 sort keys
    (q, m and d's rank in 21 bits each), two plain sorts do it.
    """
    if len(q) == 0:
        return q, m, d
    q, m = np.asarray(q, np.int64), np.asarray(m, np.int64)
    ranks = np.unique(d, return_inverse=True)[1].astype(np.int64).reshape(-1)
    if max(int(q.max()), int(m.max()), int(ranks.max())) >= 1 << 21:  # beyond packing: plain lexsort
        order = np.lexsort((m, ranks, q))
    else:
        order = np.argsort((q << 42) | (ranks << 21) | m, kind="stable")
    q, m, d = q[order], m[order], d[order]
    # repeated (q, m) (several views of one image): keep the first, the least d
    pair_key = q * (int(m.max()) + 1) + m
    by_pair = np.argsort(pair_key, kind="stable")
    first = np.ones(len(q), bool)
    first[1:] = pair_key[by_pair][1:] != pair_key[by_pair][:-1]
    keep = np.zeros(len(q), bool)
    keep[by_pair[first]] = True
    q, m, d = q[keep], m[keep], d[keep]
    start = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    rank = np.arange(len(q)) - np.repeat(start, np.diff(np.r_[start, len(q)]))
    ok = rank < k
    return q[ok], m[ok], d[ok]


def mih_join(query: np.ndarray, index: np.ndarray, threshold: int,
             block: int = 1 << 22, per_query: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (q, m, d): query[q] (uint64 (Q,)) against index[m] (uint64 (M, V), all views).

    A pair is returned (possibly more than once) when some view v has a 16-bit chunk equal to the
    same chunk of query[q] and d = hamming(query[q], index[m, v]) <= threshold. Every pair with a
    view within GUARANTEED_RADIUS bits is found. Memory is bounded by `block` candidates at a time
    and, with `per_query`, by that many closest matches per query and chunk.
    """
    query = np.ascontiguousarray(query, dtype=np.uint64).reshape(-1)
    index = np.ascontiguousarray(index, dtype=np.uint64)
    if index.ndim == 1:
        index = index[:, None]
    n_views = index.shape[1]
    flat = index.reshape(-1)
    out_q: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    if len(query) == 0 or len(flat) == 0:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    mask = np.uint64((1 << CHUNK_BITS) - 1)
    for c in range(N_CHUNKS):
        shift = np.uint64(CHUNK_BITS * c)
        ikeys = ((flat >> shift) & mask).astype(np.uint16)
        order = np.argsort(ikeys, kind="stable")          # radix sort on uint16
        sorted_h = flat[order]
        counts = np.bincount(ikeys, minlength=1 << CHUNK_BITS).astype(np.int64)
        starts = np.cumsum(counts) - counts
        qkeys = ((query >> shift) & mask).astype(np.int64)
        qcnt = counts[qkeys]
        live = np.flatnonzero(qcnt)
        if len(live) == 0:
            continue
        cum = np.cumsum(qcnt[live])
        lo = 0
        while lo < len(live):
            # as many queries as fit in `block` candidates (at least one)
            base = cum[lo - 1] if lo else 0
            hi = max(int(np.searchsorted(cum, base + block, side="right")), lo + 1)
            qs = live[lo:hi]
            cnt = qcnt[qs]
            tot = int(cnt.sum())
            excl = np.cumsum(cnt) - cnt
            pos = np.repeat(starts[qkeys[qs]] - excl, cnt) + np.arange(tot, dtype=np.int64)
            rep = np.repeat(qs, cnt)
            d = np.bitwise_count(query[rep] ^ sorted_h[pos])
            ok = np.flatnonzero(d <= threshold)
            if len(ok):
                bq, bm, bd = rep[ok], order[pos[ok]] // n_views, d[ok]
                if per_query is not None:
                    bq, bm, bd = closest_per_query(bq, bm, bd, per_query)
                out_q.append(bq)
                out_m.append(bm)
                out_d.append(bd)
            lo = hi
        if per_query is not None and len(out_q) > 1:  # keep at most per_query per query live
            merged = closest_per_query(np.concatenate(out_q), np.concatenate(out_m),
                                       np.concatenate(out_d), per_query)
            out_q, out_m, out_d = [merged[0]], [merged[1]], [merged[2]]
    if not out_q:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    return np.concatenate(out_q), np.concatenate(out_m), np.concatenate(out_d)


def _best_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical (a < b) unique pairs with their least distance; a == b dropped."""
    keep = a != b
    a, b, d = a[keep], b[keep], d[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo.astype(np.int64) * n + hi
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    key, d = key[first], d[first]
    return key // n, key % n, d


def near_candidates(phash: np.ndarray, threshold: int = NEAR_THRESHOLD,
                    groups: np.ndarray | None = None, cross_only: bool = False,
                    rows: np.ndarray | None = None, per_image: int | None = HASH_NEIGHBOURS
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (i < j, row numbers) with their pair hash distance (see module docstring).

    `phash` is uint64 (N, V). With `cross_only`, only pairs whose `groups` (e.g. split codes)
    differ are searched (each group's whole-image hashes against the other groups' views).
    `rows` restricts the search to those rows (e.g. one representative per exact-duplicate group).
    `per_image` bounds the work in crowds of look-alikes: a pair is kept when it is among the
    `per_image` closest candidates of either of its images (None: every pair).
    """
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    if groups is None:
        return _candidates([(rows, rows)], phash, threshold, per_image)
    # Pairs across groups and pairs within a group are searched and capped apart, so that a crowd
    # of look-alikes inside one split (a burst of frames) cannot crowd out a copy in another split.
    g = np.asarray(groups)[rows]
    codes = np.unique(g)
    cross = _candidates([(rows[g == c], rows[g != c]) for c in codes], phash, threshold, per_image)
    if cross_only:
        return cross
    within = _candidates([(rows[g == c], rows[g == c]) for c in codes], phash, threshold, per_image)
    return tuple(np.concatenate([x, y]) for x, y in zip(cross, within))  # type: ignore[return-value]


def _candidates(searches: list[tuple[np.ndarray, np.ndarray]], phash: np.ndarray, threshold: int,
                per_image: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique pairs (i < j) found by searching each (query rows, index rows), capped per image."""
    parts_a, parts_b, parts_d = [], [], []
    for q, m in searches:
        qi, mi, d = mih_join(phash[q, 0], phash[m], threshold, per_query=per_image)
        parts_a.append(q[qi])
        parts_b.append(m[mi])
        parts_d.append(d)
    a = np.concatenate(parts_a) if parts_a else np.zeros(0, np.int64)
    b = np.concatenate(parts_b) if parts_b else np.zeros(0, np.int64)
    d = np.concatenate(parts_d) if parts_d else np.zeros(0, np.uint8)
    a, b, d = _best_pairs(a, b, d, max(len(phash), 1))
    if per_image is not None:
        keep = closest_either_side(a, b, d, per_image)
        a, b, d = a[keep], b[keep], d[keep]
    return a, b, d


def closest_either_side(a: np.ndarray, b: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the pairs (a, b) that are among the k lowest `score` of a or of b."""
    keep = np.zeros(len(a), bool)
    if len(a) == 0:
        return keep
    idx = np.arange(len(a))
    _, pair, _ = closest_per_query(np.concatenate([a, b]), np.concatenate([idx, idx]),
                                   np.concatenate([score, score]), k)
    keep[pair] = True
    return keep


def brute_force_pairs(phash: np.ndarray, threshold: int, groups: np.ndarray | None = None,
                      cross_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) within `threshold` of pair hash distance, O(N^2): a reference for tests."""
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    out_a, out_b, out_d = [], [], []
    for i in range(n - 1):
        j = np.arange(i + 1, n)
        if cross_only and groups is not None:
            j = j[groups[j] != groups[i]]
        if len(j) == 0:
            continue
        d = view_distance(phash, np.full(len(j), i), j)
        ok = d <= threshold
        out_a.append(np.full(int(ok.sum()), i))
        out_b.append(j[ok])
        out_d.append(d[ok])
    if not out_a:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_d).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Confirmation on thumbnails

_CMP = 24                                       # comparison side (area-resampled from THUMB_SIZE)
ALIGN_CROPS = tuple(np.round(np.linspace(0.0, 0.06, 9), 4))  # border fraction removed, per side
_SG5 = np.array([-3.0, 12.0, 17.0, 12.0, -3.0]) / 35.0      # Savitzky-Golay 5-point, cubic-exact


def _area_matrix(n_out: int, n_in: int, lo: float, hi: float) -> np.ndarray:
    """(n_out, n_in) box-filter resampling of the interval [lo, hi) (pixel units) onto n_out cells."""
    edges = lo + np.arange(n_out + 1) * (hi - lo) / n_out
    j = np.arange(n_in)
    ov = np.minimum(edges[1:, None], j[None, :] + 1.0) - np.maximum(edges[:-1, None], j[None, :])
    ov = np.clip(ov, 0.0, None)
    return ov / ov.sum(axis=1, keepdims=True)


_AREA = np.stack([_area_matrix(_CMP, THUMB_SIZE, c * THUMB_SIZE, (1 - c) * THUMB_SIZE)
                  for c in ALIGN_CROPS]).astype(np.float32)    # (n_align, CMP, T)
_AREA_RIGHT = np.ascontiguousarray(_AREA.transpose(2, 0, 1).reshape(THUMB_SIZE, -1))  # (T, n_align*CMP)


def _sandwich(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """m @ x @ m.T for every (n, n) image of x (..., n, n), as two large matrix products."""
    lead = x.shape[:-2]
    k = int(np.prod(lead)) if lead else 1
    n, r = x.shape[-1], m.shape[0]
    y = x.reshape(k * n, n) @ m.T                               # (k*n, r): columns
    y = y.reshape(k, n, r).transpose(1, 0, 2).reshape(n, k * r)
    z = (m @ y).reshape(r, k, r).transpose(1, 0, 2)             # (k, r, r): rows
    return z.reshape(*lead, r, r)


def _fine_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(C E, C S): E crops the valid (n-4) region, S is the 5-point Savitzky-Golay smoothing on
    it, C removes the mean; fine(x) = CE x (CE).T - CS x (CS).T."""
    sg = np.zeros((n - 4, n))
    for r in range(n - 4):
        sg[r, r:r + 5] = _SG5
    eye = np.eye(n)[2:n - 2]
    centre = np.eye(n - 4) - 1.0 / (n - 4)
    return (centre @ eye).astype(np.float32), (centre @ sg).astype(np.float32)


_FINE_E, _FINE_S = _fine_matrices(_CMP)


def _fine(x: np.ndarray) -> np.ndarray:
    """Fine detail of (..., CMP, CMP) images: x minus its separable 5-point Savitzky-Golay (cubic)
    smoothing on the valid region, then double-centred (row and column means removed).

    Smooth shading (gradients, vignetting, the soft curves of skies) up to cubic order cancels,
    and so do stripes constant along a row or a column (the banding of 8-bit sky gradients, which
    look-alike skies share), so what remains is texture and noise: copies share it, look-alikes
    do not. Mirroring commutes with it (the filter is symmetric).
    """
    return _sandwich(_FINE_E, x) - _sandwich(_FINE_S, x)


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (..., h, w) with its mean removed and scaled to unit norm (shape kept), and its std."""
    c = x - x.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((c * c).sum(axis=(-2, -1), keepdims=True))
    std = norm[..., 0, 0] / np.sqrt(x.shape[-2] * x.shape[-1])
    return c / np.maximum(norm, 1e-9), std


def _aligned(thumbs: np.ndarray) -> np.ndarray:
    """(P, n_align, CMP, CMP) float32: each thumbnail with each border fraction removed, resampled."""
    p = len(thumbs)
    n_al = len(ALIGN_CROPS)
    t = thumbs.astype(np.float32).reshape(p * THUMB_SIZE, THUMB_SIZE)
    # right side for all alignments in one product: (P*T, T) @ (T, n_al*CMP)
    y = (t @ _AREA_RIGHT).reshape(p, THUMB_SIZE, n_al, _CMP).transpose(2, 1, 0, 3)
    y = y.reshape(n_al, THUMB_SIZE, p * _CMP)
    out = np.matmul(_AREA, y)                                   # (n_al, CMP, P*CMP)
    return out.reshape(n_al, _CMP, p, _CMP).transpose(2, 0, 1, 3)


@dataclass(frozen=True)
class PairScores:
    """Best-alignment scores of candidate pairs (arrays of length P)."""

    corr: np.ndarray       # correlation after removing the mean
    fine: np.ndarray       # correlation of the fine detail
    texture: np.ndarray    # least fine-detail std of the two thumbnails at that alignment
    mirrored: np.ndarray   # bool: the best alignment is mirrored
    crop_a: np.ndarray     # border fraction removed from a / from b at the best alignment
    crop_b: np.ndarray


def _features(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per thumbnail and crop alignment: unit vectors of the image and of its fine detail
    (P, n_align, CMP, CMP), and the fine detail's std (P, n_align)."""
    aligned = _aligned(thumbs)
    unit, _ = _unit(aligned)
    fine, fine_std = _unit(_fine(aligned))
    return unit, fine, fine_std


def row_scores(thumbs: np.ndarray, a: np.ndarray, b: np.ndarray, mirrors: bool = True,
               block: int = 2048, mirrored_only: bool = False) -> PairScores:
    """Compare thumbnails thumbs[a[i]] and thumbs[b[i]] over the crop alignments (and mirrors) and
    keep the best one.

    Alignments: a whole vs b with c removed, and a with c removed vs b whole, for c in ALIGN_CROPS,
    each also with b mirrored (`mirrors`; only mirrored with `mirrored_only`). The best alignment
    maximises corr + fine. Each image's aligned features are computed once per block of pairs,
    however many pairs of the block it is in (crowds of look-alikes meet often).
    """
    p = len(a)
    n_al = len(ALIGN_CROPS)
    crops = np.asarray(ALIGN_CROPS)
    crop_a = np.concatenate([np.zeros(n_al), crops[1:]])      # per alignment column
    crop_b = np.concatenate([crops, np.zeros(n_al - 1)])
    out = {k: np.zeros(p) for k in ("score", "corr", "fine", "texture", "crop_a", "crop_b")}
    out["score"][:] = -np.inf
    mir = np.zeros(p, bool)
    for lo in range(0, p, block):
        hi = min(p, lo + block)
        r = np.arange(hi - lo)
        rows, inv = np.unique(np.concatenate([a[lo:hi], b[lo:hi]]), return_inverse=True)
        unit, fine, fine_std = _features(thumbs[rows])
        ia, ib = inv[:hi - lo], inv[hi - lo:]
        ua, fa, fsa = unit[ia].reshape(hi - lo, n_al, -1), fine[ia].reshape(hi - lo, n_al, -1), fine_std[ia]
        ub, fb, fsb = unit[ib], fine[ib], fine_std[ib]
        # texture per alignment column: least fine-detail std of the two compared images
        tx = np.concatenate([np.minimum(fsa[:, :1], fsb), np.minimum(fsa[:, 1:], fsb[:, :1])], axis=1)
        for is_m in ((True,) if mirrored_only else (False, True) if mirrors else (False,)):
            ubv = (ub[..., ::-1] if is_m else ub).reshape(hi - lo, n_al, -1)
            fbv = (fb[..., ::-1] if is_m else fb).reshape(hi - lo, n_al, -1)
            c1 = np.concatenate([np.einsum("pd,pad->pa", ua[:, 0], ubv),
                                 np.einsum("pad,pd->pa", ua[:, 1:], ubv[:, 0])], axis=1)
            c2 = np.concatenate([np.einsum("pd,pad->pa", fa[:, 0], fbv),
                                 np.einsum("pad,pd->pa", fa[:, 1:], fbv[:, 0])], axis=1)
            score = c1 + c2
            k = np.argmax(score, axis=1)
            better = score[r, k] > out["score"][lo:hi]
            sl = np.flatnonzero(better) + lo
            kb = k[better]
            rb = r[better]
            out["score"][sl] = score[rb, kb]
            out["corr"][sl] = c1[rb, kb]
            out["fine"][sl] = c2[rb, kb]
            out["texture"][sl] = tx[rb, kb]
            out["crop_a"][sl] = crop_a[kb]
            out["crop_b"][sl] = crop_b[kb]
            mir[sl] = is_m
    return PairScores(out["corr"], out["fine"], out["texture"], mir, out["crop_a"], out["crop_b"])


def _grey(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v.mean(axis=1) if v.ndim == 2 else v


def contrast_ratio(std: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio (>= 1) of two images' contrast: per-image std averaged over channels (1 if both flat)."""
    s = _grey(std)
    hi, lo = np.maximum(s[a], s[b]), np.minimum(s[a], s[b])
    return np.where(hi <= 1e-9, 1.0, hi / np.maximum(lo, 1e-9))


def brightness_ratio(mean: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio (>= 1) of two images' mean brightness, on mean + 0.02 (0-1 scale) so black stays stable."""
    g = _grey(mean) + 0.02
    return np.maximum(g[a], g[b]) / np.minimum(g[a], g[b])


def colour_difference(mean: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest difference of the colour cast (channel mean - grey) / (grey + 0.05); 0 for one channel."""
    m = np.asarray(mean, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        return np.zeros(len(a))
    g = m.mean(axis=1, keepdims=True)
    cast = (m - g) / (g + 0.05)
    return np.abs(cast[a] - cast[b]).max(axis=1)


def confirm_pairs(table: ImageTable, a: np.ndarray, b: np.ndarray, mirrors: bool = True,
                  per_image: int | None = CONFIRM_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray, PairScores]:
    """(is_copy, is_mirror, scores) for candidate pairs (row arrays a, b)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        z = np.zeros(0)
        return np.zeros(0, bool), np.zeros(0, bool), PairScores(z, z, z, np.zeros(0, bool), z, z)
    # cheap table checks first: only pairs that pass them are compared on thumbnails
    pre = ((contrast_ratio(table.std, a, b) <= 1.0 + CONTRAST_TOLERANCE)
           & (brightness_ratio(table.mean, a, b) <= 1.0 + BRIGHTNESS_TOLERANCE)
           & (colour_difference(table.mean, a, b) <= COLOUR_TOLERANCE))
    n = len(a)
    corr, fine, tex = np.zeros(n), np.zeros(n), np.zeros(n)
    mir, ca, cb = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    ok = np.zeros(n, bool)
    k = np.flatnonzero(pre)
    look_mirrored = np.zeros(n, bool)
    small = np.minimum(table.width, table.height) < TINY_SIDE
    tiny = small[a] | small[b]
    if len(k):
        split = np.asarray(table.split)
        keep, look_mirrored[k], _ = _looks(table.thumb, a[k], b[k], per_image, mirrors,
                                              same_group=split[a[k]] == split[b[k]],
                                              floor=np.where(tiny[k], TINY_LOOK_FLOOR, -1.0))
        k = k[keep]
    k = k[np.lexsort((b[k], a[k]))]  # pairs of one image together: its features are reused
    # unmirrored alignments first; a mirror only when no unmirrored alignment confirms the pair
    # (so a near copy of a left-right symmetric image stays "near")
    for mirrored in ((False, True) if mirrors else (False,)):
        if mirrored:  # only pairs that look more alike mirrored than not can be mirrored copies
            k = k[look_mirrored[k]]
        if len(k) == 0:
            break
        base_corr, base_fine = ((MIRROR_CONFIRM_CORR, MIRROR_CONFIRM_FINE) if mirrored
                                else (CONFIRM_CORR, CONFIRM_FINE))
        confirmed = []
        for lo in range(0, len(k), CONFIRM_BLOCK):
            kk = k[lo:lo + CONFIRM_BLOCK]
            sc = row_scores(table.thumb, a[kk], b[kk], mirrors=False, mirrored_only=mirrored)
            min_corr = np.where(tiny[kk], max(base_corr, TINY_CONFIRM_CORR), base_corr)
            min_fine = np.where(tiny[kk], max(base_fine, TINY_CONFIRM_FINE), base_fine)
            good = (sc.corr >= min_corr) & (sc.fine >= min_fine) & (sc.texture >= CONFIRM_TEXTURE)
            better = good | (sc.corr + sc.fine > corr[kk] + fine[kk])
            upd = kk[better]
            corr[upd], fine[upd], tex[upd] = sc.corr[better], sc.fine[better], sc.texture[better]
            ca[upd], cb[upd], mir[upd] = sc.crop_a[better], sc.crop_b[better], mirrored
            ok[kk[good]] = True
            confirmed.append(good)
        k = k[~np.concatenate(confirmed)]
    return ok, ok & mir, PairScores(corr, fine, tex, mir, ca, cb)


_LOOK = 16  # side of the cheap look-alike comparison


def _look_vectors(thumbs: np.ndarray) -> np.ndarray:
    """(P, _LOOK*_LOOK) float32 unit vectors: thumbnails box-reduced to 16x16, mean removed."""
    f = THUMB_SIZE // _LOOK
    t = thumbs.astype(np.float32).reshape(len(thumbs), _LOOK, f, _LOOK, f).mean(axis=(2, 4))
    t -= t.mean(axis=(1, 2), keepdims=True)
    v = t.reshape(len(thumbs), -1)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


def _looks(thumb: np.ndarray, a: np.ndarray, b: np.ndarray, k: int | None, mirrors: bool,
           same_group: np.ndarray | None = None, floor: np.ndarray | float = -1.0
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cheap look-alike comparison of candidate pairs (16x16, whole images): the indices of the
    pairs among the k best-correlating candidates of a or of b (all with k None), so the expensive
    confirmation only sees an image's closest look-alikes, pairs across splits first (they are the
    leaks; `same_group` marks the others) and none correlating below `floor`; per pair whether it
    correlates better mirrored; and the correlations."""
    rows, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    v = _look_vectors(thumb[rows])
    ia, ib = inv[:len(a)], inv[len(a):]
    score = np.empty(len(a), np.float32)
    mirrored = np.zeros(len(a), bool)
    for lo in range(0, len(a), 1 << 16):
        sl = slice(lo, lo + (1 << 16))
        va, vb = v[ia[sl]], v[ib[sl]]
        s = np.einsum("pd,pd->p", va, vb)
        if mirrors:
            vbm = vb.reshape(-1, _LOOK, _LOOK)[:, :, ::-1].reshape(len(vb), -1)
            sm = np.einsum("pd,pd->p", va, vbm)
            mirrored[sl] = sm > s
            s = np.maximum(s, sm)
        score[sl] = s
    above = score >= floor
    rank = -score + (2.0 * same_group if same_group is not None else 0.0)  # correlations are <= 1
    keep = np.flatnonzero(above)
    if k is not None:
        keep = keep[closest_either_side(a[keep], b[keep], rank[keep], k)]
    return keep, mirrored, score


# ---------------------------------------------------------------------------------------------
# Findings

def _label(table: ImageTable, i: int) -> str | None:
    k = int(table.label[i])
    return None if k < 0 else table.label_names[k]


def _describe(table: ImageTable, i: int) -> str:
    return f"{table.paths[i]} ({table.split_names[int(table.split[i])]})"


def _pair_finding(table: ImageTable, kind: str, i: int, j: int, distance: float | None,
                  message: str, severity: str | None = None) -> Finding:
    si, sj = table.split_names[int(table.split[i])], table.split_names[int(table.split[j])]
    return Finding(kind, severity or pair_severity(si, sj), (si, sj), (table.paths[i], table.paths[j]),
                   distance, message, (int(i), int(j)))


def _label_conflict(table: ImageTable, i: int, j: int, dup_kind: str, distance: float | None) -> Finding | None:
    li, lj = _label(table, i), _label(table, j)
    if li is None or lj is None or li == lj:
        return None
    what = {"exact": "identical images", "near": "near-duplicate images",
            "mirror": "mirrored copies of one image"}[dup_kind]
    msg = (f"Label conflict: {_describe(table, i)} and {_describe(table, j)} are {what} "
           f"but are labelled '{li}' and '{lj}'.")
    return _pair_finding(table, "label_conflict", i, j, distance, msg)


def _exact_findings(table: ImageTable, include_within_split: bool) -> tuple[list[Finding], np.ndarray]:
    """Exact-duplicate findings, and for each row the first row with the same content in the same split."""
    n = len(table)
    ch = np.ascontiguousarray(table.content_hash, dtype=np.uint64).reshape(n, 2)
    findings: list[Finding] = []
    rep = np.arange(n)
    if n == 0:
        return findings, rep
    order = np.lexsort((np.arange(n), ch[:, 1], ch[:, 0]))   # by content, then table order
    sc = ch[order]
    new = np.ones(n, bool)
    new[1:] = (sc[1:] != sc[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = order[s:e]                      # table order within the group
        first = int(members[0])
        first_in_split: dict[int, int] = {}
        for m in members:
            m = int(m)
            sp = int(table.split[m])
            if sp in first_in_split:
                rep[m] = first_in_split[sp]
            else:
                first_in_split[sp] = m
        for m in members[1:]:
            # every file against the first file of its group (table order: train first)
            m = int(m)
            if int(table.split[m]) == int(table.split[first]) and not include_within_split:
                continue
            msg = (f"Exact duplicate: {_describe(table, m)} has the same decoded pixels as "
                   f"{_describe(table, first)} (distance 0).")
            findings.append(_pair_finding(table, "exact", first, m, 0.0, msg))
            lc = _label_conflict(table, first, m, "exact", 0.0)
            if lc is not None:
                findings.append(lc)
    return findings, rep


def _near_findings(table: ImageTable, rep: np.ndarray, near_threshold: int,
                   include_within_split: bool, mirrors: bool = True) -> list[Finding]:
    rows = np.flatnonzero(rep == np.arange(len(table)))
    if len(rows) < 2:
        return []
    a, b, d = near_candidates(table.phash, near_threshold, groups=np.asarray(table.split),
                              cross_only=not include_within_split, rows=rows)
    if len(a) == 0:
        return []
    # exact duplicates (same content, different splits) are already reported as exact
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    differ = (ch[a] != ch[b]).any(axis=1)
    a, b, d = a[differ], b[differ], d[differ]
    ok, is_mirror, sc = confirm_pairs(table, a, b, mirrors=mirrors)
    findings: list[Finding] = []
    for k in np.flatnonzero(ok):
        i, j, dist = int(a[k]), int(b[k]), float(d[k])
        kind = "mirror" if is_mirror[k] else "near"
        if kind == "mirror":
            head = f"Mirrored copy: {_describe(table, j)} is a horizontally flipped copy of {_describe(table, i)}"
        else:
            head = f"Near duplicate: {_describe(table, j)} is a near copy of {_describe(table, i)}"
        crop = max(sc.crop_a[k], sc.crop_b[k])
        crop_txt = f", about {crop:.1%} border cropped" if crop >= 0.01 else ""
        msg = (f"{head} (perceptual-hash distance {int(dist)} of 64 bits, threshold {near_threshold}; "
               f"thumbnail correlation {sc.corr[k]:.3f}, fine detail {sc.fine[k]:.2f}{crop_txt}).")
        findings.append(_pair_finding(table, kind, i, j, dist, msg))
        lc = _label_conflict(table, i, j, kind, dist)
        if lc is not None:
            findings.append(lc)
    return findings


def stats_source_findings(source_splits: Sequence[str]) -> list[Finding]:
    """The exported normalization uses val or test data: error with test, warning with val only."""
    held_out = [s for s in ("val", "test") if s in source_splits]
    if not held_out:
        return []
    severity = "error" if "test" in held_out else "warning"
    which = " and ".join(held_out)
    msg = (f"Normalization statistics are computed from {', '.join(source_splits)}: they include "
           f"held-out {which} data, so information from {which} leaks into training. "
           f"Compute mean and std on train only.")
    # splits: the held-out splits that leaked (at most val and test: the export allows two)
    return [Finding("stats_source", severity, tuple(held_out), (), None, msg, ())]


def _name_collisions(table: ImageTable, max_tries: int = 8) -> list[Finding]:
    """Same basename in two splits with different content (info): one finding per name and pair
    of splits, naming the first files (table order) whose contents differ."""
    by_name: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(table.paths):
        by_name[p.rsplit("/", 1)[-1]][int(table.split[i])].append(i)
    ch = np.asarray(table.content_hash, dtype=np.uint64)
    findings = []
    for name in sorted(by_name):
        per_split = by_name[name]
        if len(per_split) < 2:
            continue
        codes = sorted(per_split)
        for x, cx in enumerate(codes):
            for cy in codes[x + 1:]:
                pair = next(((i, j) for i in per_split[cx][:max_tries] for j in per_split[cy][:max_tries]
                             if (ch[i] != ch[j]).any()), None)
                if pair is None:      # same content: an exact duplicate, reported as such
                    continue
                i, j = pair
                msg = (f"Name collision: {_describe(table, i)} and {_describe(table, j)} share the file "
                       f"name '{name}' but have different content (worth knowing if files are matched "
                       f"by name, e.g. to labels or masks).")
                findings.append(_pair_finding(table, "name_collision", i, j, None, msg, severity="info"))
    return findings


def _drift_findings(split_means: Mapping[str, Sequence[float]], reference: str = "train",
                    threshold: float = DRIFT_THRESHOLD) -> list[Finding]:
    if reference not in split_means:
        return []
    ref = np.asarray(split_means[reference], dtype=np.float64)
    names = ["grey"] if len(ref) == 1 else (["R", "G", "B"] if len(ref) == 3 else [str(c) for c in range(len(ref))])
    findings = []
    for split, means in split_means.items():
        if split == reference:
            continue
        m = np.asarray(means, dtype=np.float64)
        if m.shape != ref.shape or not np.all(np.isfinite(m)) or not np.all(np.isfinite(ref)):
            continue
        diff = np.abs(m - ref)
        c = int(np.argmax(diff))
        if diff[c] <= threshold:
            continue
        detail = ", ".join(f"{names[k]} {m[k]:.3f} vs {ref[k]:.3f}" for k in range(len(ref)))
        msg = (f"Drift: the mean of split {split} differs from {reference} by up to {diff[c]:.3f} "
               f"(channel {names[c]}; {detail}; 0-1 scale), more than the threshold {threshold}. "
               f"The splits may not come from the same distribution.")
        findings.append(Finding("drift", "info", (split, reference), (), float(diff[c]), msg, ()))
    return findings


def find_leakage(table: ImageTable, split_means: Mapping[str, Sequence[float]],
                 source_splits: Sequence[str] = ("train",), near_threshold: int = NEAR_THRESHOLD,
                 include_within_split: bool = True, mirrors: bool = True) -> list[Finding]:
    """All leakage findings of a scanned dataset, sorted by severity, kind and paths.

    `split_means` maps a split to its per-channel mean (0-1 scale), for drift against train.
    `source_splits` are the splits the exported normalization statistics come from.
    """
    findings: list[Finding] = []
    exact, rep = _exact_findings(table, include_within_split)
    findings += exact
    findings += _near_findings(table, rep, int(near_threshold), include_within_split, mirrors=mirrors)
    findings += stats_source_findings(list(source_splits))
    findings += _name_collisions(table)
    findings += _drift_findings(split_means)
    return sort_findings(findings)


# ---------------------------------------------------------------------------------------------
# Building a table without the scan engine (tests, benchmarks)

def table_from_images(items: Iterable[tuple[str, str, str | None, Image.Image]],
                      split_names: Sequence[str] | None = None) -> ImageTable:
    """An ImageTable from (path, split, class or None, PIL image) items, measured like the scan does.

    The canonical mode is "L" when every image is single-channel 8-bit, else "RGB".
    Rows keep the order given.
    """
    items = list(items)
    single = all(im.mode in ("L", "1") for *_, im in items) and bool(items)
    mode = "L" if single else "RGB"
    splits = list(split_names) if split_names else []
    labels: list[str] = []
    fmts: list[str] = []
    modes: list[str] = []
    n = len(items)
    c = 1 if single else 3
    cols = {k: np.zeros((n, c)) for k in ("mean", "std", "min", "max")}
    content = np.zeros((n, 2), np.uint64)
    phash = np.zeros((n, N_VIEWS), np.uint64)
    thumb = np.zeros((n, THUMB_SIZE, THUMB_SIZE), np.uint8)
    split = np.zeros(n, np.int16)
    label = np.zeros(n, np.int32)
    width = np.zeros(n, np.int32)
    height = np.zeros(n, np.int32)
    fmt = np.zeros(n, np.int16)
    md = np.zeros(n, np.int16)
    paths = []
    for r, (path, sp, cls, im) in enumerate(items):
        if sp not in splits:
            splits.append(sp)
        split[r] = splits.index(sp)
        if cls is None:
            label[r] = -1
        else:
            if cls not in labels:
                labels.append(cls)
            label[r] = labels.index(cls)
        f = im.format or "PIL"
        if f not in fmts:
            fmts.append(f)
        fmt[r] = fmts.index(f)
        if im.mode not in modes:
            modes.append(im.mode)
        md[r] = modes.index(im.mode)
        canon = im if im.mode == mode else im.convert(mode)
        a = np.asarray(canon, dtype=np.float64).reshape(canon.size[1], canon.size[0], -1) / 255.0
        cols["mean"][r] = a.mean(axis=(0, 1))
        cols["std"][r] = a.std(axis=(0, 1))
        cols["min"][r] = a.min(axis=(0, 1))
        cols["max"][r] = a.max(axis=(0, 1))
        content[r] = content_hash(canon)
        phash[r], thumb[r] = perceptual_signature(canon)
        width[r], height[r] = canon.size
        paths.append(path)
    return ImageTable(
        paths=paths, split_names=splits, split=split, label_names=labels, label=label,
        width=width, height=height, nbytes=np.zeros(n, np.int64), format_names=fmts, format=fmt,
        mode_names=modes, mode=md, mean=cols["mean"], std=cols["std"], min=cols["min"],
        max=cols["max"], content_hash=content, phash=phash, thumb=thumb,
        flags=np.zeros(n, np.uint16))


def scan_leakage(result, source_splits: Sequence[str] = ("train",)) -> list[Finding]:
    """find_leakage for a ScanResult: drift is measured on each non-empty split's exact,
    pixel-weighted mean (the split statistics), not on an average of per-image means."""
    split_means = {name: [float(v) for v in st.mean] for name, st in result.split_stats.items()
                   if st.images}
    return find_leakage(result.images, split_means, source_splits=source_splits)

