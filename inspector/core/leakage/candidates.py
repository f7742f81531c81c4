"""Candidate search: which pairs of images are worth confirming as near copies.

A pair's hash distance is the least Hamming distance between one image's whole-image hash (view 0)
and any view before FIRST_REGION_VIEW (whole, 3% / 6% border removed, mirror, corners, turned) of the
other, or between the same region view (top, bottom 40%) of both: a caption band or a watermark
leaves one region alone. Each region view is one more join of one hash per image (an eighth of the
whole-image join's work each). The search is multi-index
hashing on the four 16-bit chunks of the 64-bit hashes: a pair is a candidate when one chunk of the
query's whole-image hash equals the same chunk of some view of the other image exactly, and its
distance is <= `near_threshold` bits. By the pigeonhole principle every pair within 3 bits shares a
chunk, so up to 3 bits nothing can be missed; above that the exact-chunk condition is what keeps
the search sub-quadratic (the cost is about queries x entries x 4 / 65536 hash comparisons, all in
vectorised numpy). Because the chunks are ordered from low to high frequency and copies differ
mostly in high-frequency bits, chunk 0 alone matches for most copies. Measured on real photos, see
`NEAR_THRESHOLD`.

Crowds of look-alikes (60,000 handwritten digits, a million tiny smooth pictures) would make the
search quadratic: the join bounds the work per query (join.py) and, beyond the radius, each image
keeps its `HASH_NEIGHBOURS` closest candidates per chunk; the pairs come in blocks
(`candidate_blocks`), so memory never holds them all.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np

from ..hashing import FIRST_REGION_VIEW, GRID, weak_bits
from ..index_runs import as_slice
from . import shared_passes, short_keys
from .join import (CHUNK_BITS, CROWD_SHARE, FULL_BUCKET, GUARANTEED_RADIUS, MIH_BLOCK, N_CHUNKS, Join,
                   PassBuffers, _chunk_keys, mih_entries)
from .progress import Steps, drain

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
# A blanked view (search_hashes): a hash has 32 ones (hashing.py), except a view with no detail at
# all (every coefficient equal), which has none and nothing to compare either.
NO_HASH = np.uint64(0)
DISTANCE_PIECE = 4096        # pairs whose view distances are worked out at a time (1 MB of hashes)


# Crowds of look-alikes (60,000 handwritten digits, product shots on white) put hundreds of images
# within NEAR_THRESHOLD bits of each other (20,000 digits: 2.6 million pairs). The work stays
# bounded: every pair within GUARANTEED_RADIUS goes on, and of the further ones each image keeps
# its HASH_NEIGHBOURS closest per chunk and block of the join (pairs across splits and within a
# split apart); the stream of pairs then keeps only each image's CONFIRM_NEIGHBOURS best-looking
# (a cheap 16x16 comparison, partners.py) for the full confirmation. A copy is its original's
# closest look-alike by far, so it is not crowded out.
HASH_NEIGHBOURS = 8

# Multi-probe: copies whose hashes differ in every 16-bit chunk (off-centre crops, turns, strong
# re-encodes of smooth pictures: 4-10 bits spread one or more per chunk) share no chunk with their
# original, so the join above never meets them. A bit flips in a copy where its DCT coefficient
# lies near the median (hashing.weak_bits), so each photo is also joined as "probes": its
# whole-image hash with one of its weakest bits flipped, each probe on the chunk that bit lies in
# only (elsewhere it equals the plain query), against the other images' views before
# FIRST_REGION_VIEW, at one bit less (so a pair found is within the threshold). Each probe is a
# quarter of the whole-image join's comparisons. Measured on seeds 101-202 of the edit-family
# benchmark, of the ~20 copies within 10 bits that shared no chunk, the flipped bit was the
# weakest of its chunk on the copy's side for about half, the second weakest for a few more.
# (chunk, rank of the weak bit within it). In datasets up to some 100,000 photos the short-key
# joins (short_keys.py, run with the probes) widen the net further: on seeds 101/202/303 of the
# edit-family benchmark every planted copy within 10 bits then reaches the confirmation (7 of 648
# did not with the probes alone), for 26% more pairs confirmed.
PROBES = ((0, 0), (0, 1))


def view_distance(phash: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pair hash distance: least distance between one row's view 0 and any of the other's views
    before FIRST_REGION_VIEW (both ways), or between the same region view of both. Worked out
    DISTANCE_PIECE pairs at a time with the views as rows (each view of every pair side by side),
    so that the minimum over views is an element-wise one and the temporaries stay in cache:
    measured 3x faster than on whole (pairs, views) arrays, on a million pairs."""
    phash = np.asarray(phash, dtype=np.uint64)
    i, j = np.asarray(i), np.asarray(j)
    r = min(FIRST_REGION_VIEW, phash.shape[1])
    out = np.empty(len(i), np.uint8)
    for lo in range(0, len(i), DISTANCE_PIECE):
        a = phash[i[lo:lo + DISTANCE_PIECE]].T.copy()      # (views, pairs)
        b = phash[j[lo:lo + DISTANCE_PIECE]].T.copy()
        d = np.minimum.reduce(np.bitwise_count(a[:1] ^ b[:r]), axis=0)
        np.minimum(d, np.minimum.reduce(np.bitwise_count(b[:1] ^ a[:r]), axis=0), out=d)
        for v in range(r, phash.shape[1]):
            dr = np.bitwise_count(a[v] ^ b[v])
            dr[(a[v] == NO_HASH) | (b[v] == NO_HASH)] = 64
            np.minimum(d, dr, out=d)
        out[lo:lo + DISTANCE_PIECE] = d
    return out


def search_hashes(phash: np.ndarray, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """The hashes the search works on: the region views of images under GRID px a side blanked
    (NO_HASH). A caption on a digit or an icon is implausible, their confirmation needs near pixel
    identity anyway, and the top of one handwritten digit looks like the top of thousands of others:
    on 20,000 MNIST digits the region joins doubled the leakage phase's time. Without such images
    the table's own array is returned, and when every image is one, its views before the region
    views (no copy either: a blank region view takes part in no join and in no pair distance, and
    a million tiny images' copy was 128 MB of the search's peak)."""
    phash = np.asarray(phash, dtype=np.uint64)
    if phash.ndim != 2 or phash.shape[1] <= FIRST_REGION_VIEW:
        return phash
    small = np.minimum(np.asarray(width), np.asarray(height)) < GRID
    if not small.any():
        return phash
    if small.all():
        return phash[:, :FIRST_REGION_VIEW]
    out = phash.copy()
    out[small, FIRST_REGION_VIEW:] = NO_HASH
    return out


def probe_hashes(phash: np.ndarray, thumb: np.ndarray, width: np.ndarray, height: np.ndarray,
                 probes: tuple[tuple[int, int], ...] = PROBES) -> np.ndarray:
    """uint64 (N, len(probes)): each image's whole-image hash with the probe's weak bit flipped
    (see PROBES); NO_HASH for images under GRID px a side (crowds of tiny look-alikes, whose
    copies must match nearly pixel for pixel anyway) and for blank hashes."""
    phash = np.asarray(phash, dtype=np.uint64)
    n = len(phash)
    out = np.full((n, len(probes)), NO_HASH, np.uint64)
    live = np.flatnonzero((np.minimum(np.asarray(width), np.asarray(height)) >= GRID) & (phash[:, 0] != NO_HASH))
    if len(live) == 0 or not probes:
        return out
    per_chunk = max(rank for _, rank in probes) + 1
    weak = weak_bits(np.asarray(thumb)[live], per_chunk, CHUNK_BITS)
    for k, (c, rank) in enumerate(probes):
        out[live, k] = phash[live, 0] ^ (np.uint64(1) << weak[:, c, rank].astype(np.uint64))
    return out


def probe_blocks(phash: np.ndarray, probes: np.ndarray, threshold: int = NEAR_THRESHOLD,
                 groups: np.ndarray | None = None, cross_only: bool = False, rows: np.ndarray | None = None,
                 per_image: int = HASH_NEIGHBOURS, block: int = MIH_BLOCK, ids: np.ndarray | None = None,
                 chunks: tuple[int, ...] | None = None, short: bool = True
                 ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """The probes' candidate pairs block by block, as candidate_blocks gives the plain join's:
    (fraction done, a, b, d), d the pair hash distance (<= threshold). `probes` (N, P) from
    probe_hashes, probe k joined on chunk `chunks[k]` (default PROBES') alone, at threshold - 1,
    without the longer-key passes of crowded buckets (pairs within the radius are the plain
    join's). With `short`, also the short-key joins (short_keys.py) of the same images: the
    whole-image hash against the views before the regions, each region against the same region,
    at the threshold. Only images with probes (NO_HASH: none) take part, on both sides (tiny
    pictures' crowds stay with the plain join). Each image keeps its `per_image` closest pairs per
    block, none exempt (a probe's distance is not the pair's)."""
    phash = np.asarray(phash, dtype=np.uint64)     # (a view of the table's columns: gathered from, never copied)
    probes = np.asarray(probes, np.uint64).reshape(len(phash), -1)
    chunks = tuple(c for c, _ in PROBES) if chunks is None else chunks
    n = len(phash)
    r = min(FIRST_REGION_VIEW, phash.shape[1])
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    rows = rows[(probes[rows] != NO_HASH).all(axis=1)] if probes.shape[1] else rows[:0]
    g = None if groups is None else np.asarray(groups)
    if cross_only and g is not None:
        searches = [(rows[g[rows] == c], rows[g[rows] != c]) for c in np.unique(g[rows])]
    else:
        searches = [(rows, rows)]
    by_chunk = [(c, [k for k in range(len(chunks)) if chunks[k] == c]) for c in sorted(set(chunks))]
    joins = [(q, m, c, ks) for q, m in searches for c, ks in by_chunk if len(q) and len(m)]
    # the short-key joins (short_keys.py): the whole-image hash against the views before the
    # regions, then each region view against the same region view
    shorts = [(q, m, None, cols) for q, m in searches for _, cols in view_joins(phash.shape[1])
              if short and len(q) and len(m)]
    bucket = short_keys.bucket_size(sum(len(q) for q, _, _, _ in shorts))
    shorts = [j for j in shorts if short_keys.worth_it(len(j[1]) * (j[3].stop - j[3].start), bucket)]
    # work: a probe meets about a 65536th of the index's entries, a short key up to SHORT_BUCKET
    work = np.array([len(q) * len(m) * r * len(ks) / 65536 for q, m, _, ks in joins]
                    + [len(q) * bucket * N_CHUNKS / 4 for q, _, _, _ in shorts], np.float64)
    edges = np.r_[0.0, np.cumsum(work)] / max(work.sum(), 1.0)
    passes = joins + shorts

    def one_pass(k: int) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
        """Pass k: a probe's join or a short-key join, its blocks capped."""
        (q_rows, m_rows, c, ks), lo, hi = passes[k], edges[k], edges[k + 1]
        if c is None:      # a short-key join: ks holds the index's views
            if ks.start:   # a region join: blanked regions take no part
                q_rows, m_rows = q_rows[phash[q_rows, ks.start] != NO_HASH], m_rows[phash[m_rows, ks.start] != NO_HASH]
            found = short_keys.short_key_entries(phash[q_rows, ks.start], phash[as_slice(m_rows), ks], threshold, block,
                                                   bucket)
            views = ks.stop - ks.start
        else:
            index, views = phash[as_slice(m_rows), :r], r
            query = probes[q_rows][:, ks].T.reshape(-1)          # probe-major: query i is row i % Q
            row_ids = None if ids is None else np.asarray(ids, np.uint64)[m_rows]
            found = ((done, qi, entry, d) for done, _, qi, entry, d in
                     mih_entries(query, index, threshold - 1, block, ids=row_ids, chunks=(c,),
                                 radius_passes=False))
        for done, qi, entry, d in found:
            a, b = q_rows[qi % len(q_rows)], m_rows[entry // views]
            a, b, d = _unique_pairs(a, b, d, n)
            if len(a):
                a, b = _capped(a, b, np.maximum(d, GUARANTEED_RADIUS + 1), n, per_image, None if cross_only else g)
            yield lo + (hi - lo) * done, a, b, view_distance(phash, a, b).astype(np.uint8)

    # made by two threads, read in order (one in crowds)
    yield from shared_passes.in_order(one_pass, len(passes), _workers(phash, rows, r))


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


def mih_join(query: np.ndarray, index: np.ndarray, threshold: int, block: int = MIH_BLOCK
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (q, m, d) of query against index: see iter_mih_join."""
    return drain(iter_mih_join(query, index, threshold, block))


def iter_mih_join(query: np.ndarray, index: np.ndarray, threshold: int,
                  block: int = MIH_BLOCK) -> Steps[Pairs]:
    """Pairs (q, m, d): query[q] (uint64 (Q,)) against index[m] (uint64 (M, V), all views), every
    join entry of `mih_entries` collected (a pair may come more than once, from several views or
    chunks). Every pair with a view within GUARANTEED_RADIUS bits is found. Yields the fraction
    done after each block."""
    index = np.ascontiguousarray(index, dtype=np.uint64)
    n_views = index.shape[1] if index.ndim == 2 else 1
    parts = []
    for done, _, q, entry, d in mih_entries(query, index, threshold, block):
        parts.append((q, entry // n_views, d))
        yield done
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    q, m, d = (np.concatenate(x) for x in zip(*parts))
    return q, m, d


def near_candidates(phash: np.ndarray, threshold: int = NEAR_THRESHOLD,
                    groups: np.ndarray | None = None, cross_only: bool = False,
                    rows: np.ndarray | None = None, per_image: int | None = HASH_NEIGHBOURS,
                    probes: np.ndarray | None = None, short: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (i < j, row numbers, unique) with their pair hash distance: every pair of
    `candidate_blocks` and, with `probes` (probe_hashes), of `probe_blocks` (its short-key joins
    with `short`), collected (for tests and benchmarks; the checks consume the blocks)."""
    parts = [(a, b, d) for _, a, b, d in candidate_blocks(phash, threshold, groups, cross_only, rows, per_image)]
    if probes is not None:
        parts += [(a, b, d) for _, a, b, d in probe_blocks(phash, probes, threshold, groups, cross_only, rows,
                                                           HASH_NEIGHBOURS if per_image is None else per_image,
                                                           short=short)]
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0, np.uint8)
    a, b, d = (np.concatenate(x) for x in zip(*parts))
    return _best_pairs(a, b, d, max(len(phash), 1))


def candidate_blocks(phash: np.ndarray, threshold: int = NEAR_THRESHOLD,
                     groups: np.ndarray | None = None, cross_only: bool = False,
                     rows: np.ndarray | None = None, per_image: int | None = HASH_NEIGHBOURS,
                     block: int = MIH_BLOCK, ids: np.ndarray | None = None
                     ) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Candidate pairs block by block: (fraction done, a, b, d), d the pair hash distance (see the
    module docstring), so that memory stays bounded by the block, whatever the number of pairs.

    `phash` is uint64 (N, V). With `groups` (e.g. split codes) and `cross_only`, only pairs whose
    groups differ are searched. `rows` restricts the search to those rows (e.g. one representative
    per exact-duplicate group). A pair may come more than once (from both of its images, from
    several chunks), a being the side it came from; blocks may be empty. Every pair the join meets
    within GUARANTEED_RADIUS comes; beyond it `per_image` bounds the work in crowds of look-alikes:
    each image keeps its `per_image` closest further candidates per block of the join, pairs across
    groups and within a group apart, so that a crowd inside one split (a burst of frames) cannot
    crowd out a copy in another split (None: every pair). `ids` (uint64, one per row, the same for
    an image from one search to the next: `stable_ids`) place the segments of crowded buckets.
    """
    phash = np.asarray(phash, dtype=np.uint64)     # (a view of the table's columns: gathered from, never copied)
    if phash.ndim == 1:
        phash = phash[:, None]
    n = len(phash)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    g = None if groups is None else np.asarray(groups)
    if cross_only and g is not None:
        codes = np.unique(g[rows])
        searches = [(rows[g[rows] == c], rows[g[rows] != c]) for c in codes]
    else:
        searches = [(rows, rows)]
    joins = [(q, m, v, cols) for q, m in searches for v, cols in view_joins(phash.shape[1])]
    work = np.array([len(q) * len(m) * (cols.stop - cols.start) for q, m, _, cols in joins], np.float64)
    edges = np.r_[0.0, np.cumsum(work)] / max(work.sum(), 1.0)
    ids = None if ids is None else np.asarray(ids, np.uint64)

    def inputs(j: int) -> tuple[np.ndarray, np.ndarray, Join]:
        q_rows, m_rows, v, cols = joins[j]
        if v:   # a region join: blanked regions take no part
            q_rows, m_rows = q_rows[phash[q_rows, v] != NO_HASH], m_rows[phash[m_rows, v] != NO_HASH]
        return q_rows, m_rows, Join(phash[q_rows, v], phash[as_slice(m_rows), cols], None if ids is None else ids[m_rows])

    shared = _SharedJoins(inputs, [N_CHUNKS] * len(joins))

    def one_pass(k: int) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
        """Pass k: chunk k % N_CHUNKS of join k // N_CHUNKS, its blocks capped."""
        j, c = divmod(k, N_CHUNKS)
        lo, hi = edges[j], edges[j + 1]
        (q_rows, m_rows, join), buffers = shared.take(j)
        try:
            for done, qi, entry, d in join.chunk(c, threshold, block, out=buffers):
                a, b = q_rows[qi], m_rows[entry // join.n_views]
                a, b, d = _unique_pairs(a, b, d, n)
                if per_image is not None and len(a):
                    a, b = _capped(a, b, d, n, per_image, None if cross_only else g)
                yield lo + (hi - lo) * ((c + done) / N_CHUNKS), a, b, view_distance(phash, a, b).astype(np.uint8)
        finally:
            shared.give_back(j, buffers)

    # the passes read the same inputs and none of each other's results: two threads make them, and
    # their blocks come in the order one thread gives (shared_passes.in_order)
    yield from shared_passes.in_order(one_pass, len(joins) * N_CHUNKS, _workers(phash, rows, FIRST_REGION_VIEW))


SAMPLE_ROWS = 1 << 16    # the rows `_workers` judges a search's crowds on


def _workers(phash: np.ndarray, rows: np.ndarray, r: int) -> int:
    """The threads a search's passes are made by (shared_passes.threads()): one when the index of
    `rows` (views before r) is mostly in crowded buckets of some chunk (a million tiny look-alikes,
    the share join.neighbourhoods sorts as values): such passes hold their crowds' work (segments,
    longer keys), and two at once would double the search's peak (0.60 GB above the table at a
    million tiny images, 2.2 GB in all, against 2.5 GB aimed at). Judged on a sample of the rows,
    its bucket sizes scaled up; it decides nothing but the threads."""
    workers = shared_passes.threads()
    if workers < 2 or len(rows) == 0:
        return workers
    step = max(1, len(rows) // SAMPLE_ROWS)
    flat = np.ascontiguousarray(phash[rows[::step], :r]).reshape(-1)
    for c in range(N_CHUNKS):
        keys = _chunk_keys(flat, c)
        crowded = (np.bincount(keys, minlength=1 << CHUNK_BITS) * step)[keys] > FULL_BUCKET
        if crowded.sum() * CROWD_SHARE > len(keys):
            return 1
    return workers


class _SharedJoins:
    """What a search's passes share, perhaps made in two threads: each join's inputs (`make(j)`,
    the last item a join.Join), made by its first pass and let go after its last (`passes[j]` of
    them), and the sort buffers (join.PassBuffers), one per pass at a time, reused from pass to pass."""

    def __init__(self, make: Callable[[int], tuple], passes: list[int]) -> None:
        self._make, self._left = make, list(passes)
        self._made: dict[int, tuple] = {}
        self._buffers: list[PassBuffers] = []
        self._lock = threading.Lock()

    def take(self, j: int) -> tuple[tuple, PassBuffers]:
        """Join j's inputs and buffers for one of its passes (the smallest that fit)."""
        with self._lock:
            if j not in self._made:
                self._made[j] = self._make(j)
            got = self._made[j]
            fits = [k for k, buf in enumerate(self._buffers) if buf.fits(got[-1])]
            buffers = self._buffers.pop(min(fits, key=lambda k: len(self._buffers[k].svals))) if fits else None
        return got, got[-1].buffer() if buffers is None else buffers

    def give_back(self, j: int, buffers: PassBuffers) -> None:
        """A pass of join j is done with its inputs and its buffers."""
        with self._lock:
            self._left[j] -= 1
            if self._left[j] == 0:
                self._made.pop(j, None)
            self._buffers.append(buffers)
            if len(self._buffers) > shared_passes.THREADS:   # the smallest let go
                self._buffers.pop(min(range(len(self._buffers)), key=lambda k: len(self._buffers[k].svals)))


def view_joins(n_views: int) -> list[tuple[int, slice]]:
    """The joins of a search, (query view, index views): the whole-image hash against the views
    before FIRST_REGION_VIEW, then each region view against the same region view (the one rule of
    the cold search and of a rescan, rescan.py)."""
    r = min(FIRST_REGION_VIEW, n_views)
    return [(0, slice(0, r))] + [(v, slice(v, v + 1)) for v in range(r, n_views)]


def stable_ids(content_hash: np.ndarray) -> np.ndarray:
    """uint64 per image from its 128-bit content hash: what places it in the join's segments, so an
    unchanged image sits where it sat in the last search of the dataset."""
    ch = np.asarray(content_hash, np.uint64).reshape(-1, 2)
    return ch[:, 0] ^ (ch[:, 1] * np.uint64(0xD6E8FEB86659FD93))


def _unique_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int) -> Pairs:
    """(a, b) pairs without repeats (and a != b), with their least d, sorted by a then b; one
    sort of packed keys (numpy's unique hashes, several times slower here)."""
    return unique_pairs_of([(a, b, d)], n)


def unique_pairs_of(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]], n: int) -> Pairs:
    """`_unique_pairs` of the parts (a, b, d) end to end (d None: 0), keyed part by part into one
    int64 array sorted in place: a cold search meets a few million pairs, and no concatenated copy
    of them is made besides the key."""
    key = np.empty(sum(len(a) for a, _, _ in parts), np.int64)
    at = 0
    for a, b, d in parts:
        piece = key[at:at + len(a)]
        np.multiply(a, n, out=piece, dtype=np.int64)
        piece += b
        piece *= 64
        if d is not None:
            piece += d
        at += len(a)
    key.sort()
    pair = key >> 6
    first = np.r_[True, pair[1:] != pair[:-1]] & (pair // n != pair % n)
    return pair[first] // n, pair[first] % n, (key[first] & 63).astype(np.uint8)


def _capped(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int, k: int, groups: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Every pair within GUARANTEED_RADIUS, and each query a's k closest further ones (ties: the
    lower b; pairs across groups and within a group apart). The pairs (a, b) are unique."""
    a, b, _ = capped_pairs(a, b, d, n, k, groups)
    return a, b


def capped_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int, k: int, groups: np.ndarray | None
                 ) -> Pairs:
    """The pairs `_capped` keeps, with their d, sorted by a (then kind, d, b)."""
    run, b, d, rank = ranked_pairs(a, b, d, n, groups)
    keep = (run % 3 == 0) | (rank < k)
    return run[keep] // 3, b[keep], d[keep]


def ranked_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int, groups: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The unique pairs (a, b, d) sorted by (a, kind, d, b), as (a * 3 + kind, b, d, rank): kind 0
    within GUARANTEED_RADIUS, 1 further across groups, 2 further within a group, and the rank of
    the pair in its (a, kind) run, what a query's quota of each kind is cut from."""
    far = d > GUARANTEED_RADIUS
    kind = far.astype(np.int64)          # 0 within the radius, 1 further across groups, 2 within
    if groups is not None:
        kind += far & (groups[a] == groups[b])
    # sorted by (a, kind, d, b), packed in one int64 key (unique, as the pairs are): the rank
    # inside each (a, kind) run is its place; a plain sort, and the key read back, is 2.5x
    # faster than ordering the arrays through an argsort
    key = ((a.astype(np.int64) * 3 + kind) * 64 + d) * n + b
    key.sort()
    run, b_s = np.divmod(key, n)
    d_s = (run & 63).astype(np.uint8)
    run >>= 6                            # a * 3 + kind
    head = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    rank = np.arange(len(key)) - np.repeat(head, np.diff(np.r_[head, len(key)]))
    return run, b_s, d_s, rank


def _best_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int) -> Pairs:
    """Canonical (a < b) unique pairs with their least distance; a == b dropped."""
    return _unique_pairs(np.minimum(a, b), np.maximum(a, b), d, n)


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
