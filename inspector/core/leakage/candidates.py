"""Candidate search: which pairs of images are worth confirming as near copies.

A pair's hash distance is the least Hamming distance between one image's whole-image hash (view 0)
and any view (whole, 3% / 6% border removed, mirrors) of the other. The search is multi-index
hashing on the four 16-bit chunks of the 64-bit hashes: a pair is a candidate when one chunk of the
query's whole-image hash equals the same chunk of some view of the other image exactly, and its
distance is <= `near_threshold` bits. By the pigeonhole principle every pair within 3 bits shares a
chunk, so up to 3 bits nothing can be missed; above that the exact-chunk condition is what keeps
the search sub-quadratic (the cost is about queries x entries x 4 / 65536 hash comparisons, all in
vectorised numpy). Because the chunks are ordered from low to high frequency and copies differ
mostly in high-frequency bits, chunk 0 alone matches for most copies. Measured on real photos, see
`NEAR_THRESHOLD`.

Crowds of look-alikes (60,000 handwritten digits) would make the search quadratic: it keeps each
image's `HASH_NEIGHBOURS` closest candidates.
"""
from __future__ import annotations

import numpy as np

from .progress import Steps, drain, scaled

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]   # (row a, row b, hash distance)
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


# Crowds of look-alikes (60,000 handwritten digits, product shots on white) put hundreds of images
# within NEAR_THRESHOLD bits of each other. The work stays bounded: the hash search keeps each
# image's HASH_NEIGHBOURS closest candidates, and only the CONFIRM_NEIGHBOURS of those whose
# thumbnails correlate best (a cheap 16x16 comparison) go on to the full confirmation. A copy is
# its original's closest look-alike by far, so it is not crowded out.
HASH_NEIGHBOURS = 32
# Hash comparisons per block of the multi-index join: each costs about 60 bytes of temporaries
# (positions, repeated queries, gathered hashes, their XOR), so a block is about 60 MB whatever the
# dataset's size; 4x larger blocks were no faster (numpy's per-call cost is already amortised).
MIH_BLOCK = 1 << 20


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
             block: int = MIH_BLOCK, per_query: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (q, m, d) of query against index: see iter_mih_join."""
    return drain(iter_mih_join(query, index, threshold, block, per_query))


def iter_mih_join(query: np.ndarray, index: np.ndarray, threshold: int,
                  block: int = MIH_BLOCK, per_query: int | None = None) -> Steps[Pairs]:
    """Pairs (q, m, d): query[q] (uint64 (Q,)) against index[m] (uint64 (M, V), all views).

    A pair is returned (possibly more than once) when some view v has a 16-bit chunk equal to the
    same chunk of query[q] and d = hamming(query[q], index[m, v]) <= threshold. Every pair with a
    view within GUARANTEED_RADIUS bits is found. Memory is bounded by `block` candidates at a time
    and, with `per_query`, by that many closest matches per query and chunk. Yields the fraction
    done after each block.
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
            yield (c + lo / len(live)) / N_CHUNKS
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
    return drain(iter_near_candidates(phash, threshold, groups, cross_only, rows, per_image))


def iter_near_candidates(phash: np.ndarray, threshold: int = NEAR_THRESHOLD,
                         groups: np.ndarray | None = None, cross_only: bool = False,
                         rows: np.ndarray | None = None, per_image: int | None = HASH_NEIGHBOURS
                         ) -> Steps[Pairs]:
    """near_candidates as a stage: yields its fraction done, returns the pairs."""
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    if groups is None:
        return (yield from _candidates([(rows, rows)], phash, threshold, per_image, 0.0, 1.0))
    # Pairs across groups and pairs within a group are searched and capped apart, so that a crowd
    # of look-alikes inside one split (a burst of frames) cannot crowd out a copy in another split.
    g = np.asarray(groups)[rows]
    codes = np.unique(g)
    cross_searches = [(rows[g == c], rows[g != c]) for c in codes]
    within_searches = [] if cross_only else [(rows[g == c], rows[g == c]) for c in codes]
    work = [len(q) * len(m) for q, m in cross_searches + within_searches]
    split_at = sum(work[:len(cross_searches)]) / max(sum(work), 1)
    cross = yield from _candidates(cross_searches, phash, threshold, per_image, 0.0, split_at)
    if cross_only:
        return cross
    within = yield from _candidates(within_searches, phash, threshold, per_image, split_at, 1.0)
    return tuple(np.concatenate([x, y]) for x, y in zip(cross, within))  # type: ignore[return-value]


def _candidates(searches: list[tuple[np.ndarray, np.ndarray]], phash: np.ndarray, threshold: int,
                per_image: int | None, lo: float, hi: float) -> Steps[Pairs]:
    """Unique pairs (i < j) found by searching each (query rows, index rows), capped per image;
    the searches' progress is reported on [lo, hi], in proportion to their sizes."""
    parts_a, parts_b, parts_d = [], [], []
    work = np.array([len(q) * len(m) for q, m in searches], np.float64)
    edges = lo + (hi - lo) * np.r_[0.0, np.cumsum(work)] / max(work.sum(), 1.0)
    for (q, m), a0, a1 in zip(searches, edges[:-1], edges[1:]):
        qi, mi, d = yield from scaled(iter_mih_join(phash[q, 0], phash[m], threshold,
                                                    per_query=per_image), a0, a1)
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
