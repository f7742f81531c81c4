"""The candidate search's inner steps against plain references written from their definitions:
the row comparisons of the join, the bucket join with its neighbourhoods in crowded buckets, the pair
hash distance and the per-query cap. The fast versions work on padded rows, packed sort keys and
pieces of a few thousand pairs; the references work pair by pair, so that a fast path that loses,
repeats or invents a pair (a run cut at a piece's edge, a padded entry taken for a real one, a
neighbourhood in the wrong place) fails here on random and clustered hashes.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from inspector.core.hashing import FIRST_REGION_VIEW
from inspector.core.leakage import candidates, join


def _popcount(x: int) -> int:
    return bin(x).count("1")


def _clustered(rng: np.random.Generator, n: int, views: int, centres: int, flips: int) -> np.ndarray:
    """(n, views) hashes near a few centres (crowded buckets), a few random bits flipped each."""
    c = rng.integers(0, 2 ** 63, centres, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    h = np.repeat(c[rng.integers(0, centres, n)][:, None], views, axis=1)
    for _ in range(flips):
        bit = rng.integers(0, 64, (n, views)).astype(np.uint64)
        h ^= np.where(rng.random((n, views)) < 0.5, np.uint64(1) << bit, np.uint64(0))
    return h


@pytest.mark.parametrize("seed", range(4))
def test_row_comparisons_find_every_value_within_the_threshold_once(seed, monkeypatch):
    monkeypatch.setattr(join, "PIECE", 64)          # groups of rows span several pieces
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2 ** 63, 3000, dtype=np.int64).astype(np.uint64)
    values[rng.random(3000) < 0.3] = values[0]      # many equal values: many hits
    svals = join._padded_take(values, np.arange(len(values)))
    nq = 200
    qvals = np.where(rng.random(nq) < 0.5, values[0], rng.integers(0, 2 ** 63, nq, dtype=np.int64).astype(np.uint64))
    cnt = rng.integers(0, 90, nq)
    cnt[::7] = 64                                   # rows of exactly ROW_STEP multiples: no padding
    start = rng.integers(0, len(values) - cnt)
    qs = np.flatnonzero(rng.random(nq) < 0.8)
    threshold = 12
    q, pos, d = join._compare_runs(qvals, qs, start, cnt, svals, threshold)
    got = Counter(zip(q.tolist(), pos.tolist(), d.tolist()))
    want = Counter()
    for k in qs.tolist():
        for p in range(int(start[k]), int(start[k] + cnt[k])):
            dist = _popcount(int(qvals[k]) ^ int(values[p]))
            if dist <= threshold:
                want[(k, p, dist)] += 1
    assert got == want and len(want) > 100


def _reference_sorted_join(query, flat, marks, c, full, threshold):
    """The bucket join from its definition: a query meets every entry whose chunk c equals its own,
    or in a bucket of more than `full` entries its neighbourhood: the bucket in the order of the
    hashes rotated to put chunk c on top (ties: entry order), cut into segments at the marked
    entries, and the segment the query falls in and one each side."""
    rot = lambda x: join._chunk_on_top(np.asarray(x, dtype=np.uint64), c)  # noqa: E731
    key_e = (rot(flat) >> np.uint64(48)).astype(np.int64)
    key_q = (rot(query) >> np.uint64(48)).astype(np.int64)
    met = set()
    for qi in range(len(query)):
        bucket = np.flatnonzero(key_e == key_q[qi])
        if len(bucket) > full:
            bucket = bucket[np.argsort(rot(flat[bucket]), kind="stable")]
            place = int(np.searchsorted(rot(flat[bucket]), rot(query[qi:qi + 1]))[0])
            seg = np.cumsum(marks[bucket])          # an entry's segment: the marks up to it
            g = int(seg[place - 1]) if place else 0  # the query's: that of the entry before it
            bucket = bucket[(seg >= g - 1) & (seg <= g + 1)]
        for e in bucket.tolist():
            d = _popcount(int(query[qi]) ^ int(flat[e]))
            if d <= threshold:
                met.add((qi, e, d))
    return met


@pytest.mark.parametrize("seed", range(8))
def test_the_bucket_join_meets_what_its_definition_says_block_by_block(seed, monkeypatch):
    if seed % 4 < 2:   # the crowded entries' segments worked out over several pieces
        monkeypatch.setattr(join._Crowd, "PIECE", 7)
    rng = np.random.default_rng(100 + seed)
    n, views = int(rng.integers(150, 400)), int(rng.choice([1, 3]))
    index = _clustered(rng, n, views, int(rng.integers(1, 6)), int(rng.integers(2, 6)))
    flat = index.reshape(-1)
    if seed % 2:                                    # equal hashes too: ties, entries of one value
        flat = np.concatenate([flat, flat[rng.integers(0, len(flat), len(flat) // 2)]])
    else:
        flat = np.unique(flat)
    rng.shuffle(flat)
    query = np.concatenate([flat[rng.integers(0, len(flat), 60)], _clustered(rng, 60, 1, 3, 3)[:, 0]])
    full, threshold, block = 12, 9, int(rng.choice([5, 50, 1 << 20]))
    ids = np.arange(len(flat))
    marks = join.segment_marks(ids, 1, segment=4)   # segments of about 4 entries
    for c in range(join.N_CHUNKS):
        blocks = list(join._sorted_join(query, flat, ids, 1, c, full, block, threshold, segment=4))
        got = [(q, e, d) for _, qs, es, ds, _ in blocks
               for q, e, d in zip(qs.tolist(), es.tolist(), ds.tolist())]
        assert len(got) == len(set(got))           # nothing met twice
        assert set(got) == _reference_sorted_join(query, flat, marks, c, full, threshold)
        queries_per_block = [set(qs.tolist()) for _, qs, _, _, _ in blocks]
        assert all(not (a & b) for i, a in enumerate(queries_per_block) for b in queries_per_block[i + 1:])
        sizes = blocks[0][4]
        assert (sizes > full).any() and (sizes <= full).any()   # both kinds of bucket were joined


@pytest.mark.parametrize("within", [False, True])
@pytest.mark.parametrize("mask", [0xFFFF000000000000, 0x00000000FFFF0000, 0xFFFF, 0x0FFF00000000FFFF,
                                  0x00FFFF0000000000 | 1 << 62])
def test_the_entries_holding_a_key_are_those_np_isin_finds_piece_by_piece(within, mask):
    # a chunk's run of bits (a table lookup), a shorter run, and longer keys (a binary search)
    rng = np.random.default_rng(21)
    flat = _clustered(rng, 700, 3, 4, 3).reshape(-1)
    mask = np.uint64(mask)
    keys = np.unique((flat & mask)[rng.integers(0, len(flat), 40)])
    rows = np.sort(rng.choice(len(flat), 900, replace=False)) if within else None
    want = (np.flatnonzero(np.isin(flat & mask, keys)) if rows is None
            else rows[np.isin(flat[rows] & mask, keys)])
    assert len(want) > 100 if mask >> np.uint64(48) else len(want) >= 40
    assert np.array_equal(join._holding(flat, mask, keys, rows, piece=37), want)
    assert (join._key_table(mask, keys) is not None) == (int(mask) in (0xFFFF000000000000, 0xFFFF0000, 0xFFFF))


def test_a_padded_take_through_an_order_is_the_plain_gather():
    rng = np.random.default_rng(22)
    values = rng.integers(0, 2 ** 63, 500, dtype=np.int64).astype(np.uint64)
    through = rng.permutation(500)[:300]
    order = rng.permutation(300)
    out = join._padded_take(values, order, through, piece=41)
    assert np.array_equal(out[:300], values[through[order]]) and not out[300:].any()
    assert len(out) == 300 + join.ROW_STEP


def test_pair_distances_agree_with_a_pair_by_pair_reference(monkeypatch):
    monkeypatch.setattr(candidates, "DISTANCE_PIECE", 37)   # several pieces and a short last one
    rng = np.random.default_rng(5)
    n, views = 300, FIRST_REGION_VIEW + 2
    phash = _clustered(rng, n, views, 4, 6)
    phash[rng.random(n) < 0.3, FIRST_REGION_VIEW:] = candidates.NO_HASH   # blanked region views
    i, j = rng.integers(0, n, 1000), rng.integers(0, n, 1000)
    got = candidates.view_distance(phash, i, j)
    for k in range(len(i)):
        a, b = phash[i[k]].tolist(), phash[j[k]].tolist()
        d = min(_popcount(a[0] ^ v) for v in b[:FIRST_REGION_VIEW])
        d = min(d, min(_popcount(b[0] ^ v) for v in a[:FIRST_REGION_VIEW]))
        for v in range(FIRST_REGION_VIEW, views):
            if a[v] != 0 and b[v] != 0:
                d = min(d, _popcount(a[v] ^ b[v]))
        assert got[k] == d
    assert got.dtype == np.uint8 and len(candidates.view_distance(phash, i[:0], j[:0])) == 0


@pytest.mark.parametrize("with_groups", [False, True])
def test_the_cap_keeps_the_pairs_within_the_radius_and_each_querys_closest_others(with_groups):
    rng = np.random.default_rng(9)
    n, k = 80, 3
    a, b = rng.integers(0, n, 4000), rng.integers(0, n, 4000)
    a, b, d = candidates._unique_pairs(a, b, rng.integers(0, 11, 4000).astype(np.uint8), n)
    groups = rng.integers(0, 3, n) if with_groups else None
    got = list(zip(*(x.tolist() for x in candidates._capped(a, b, d, n, k, groups))))
    runs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for x, y, dist in zip(a.tolist(), b.tolist(), d.tolist()):
        kind = 0 if dist <= join.GUARANTEED_RADIUS else 1 + int(groups is not None and groups[x] == groups[y])
        runs.setdefault((x, kind), []).append((dist, y))
    want = sorted((x, y) for (x, kind), run in runs.items()
                  for _, y in (sorted(run) if kind == 0 else sorted(run)[:k]))
    assert sorted(got) == want and len(got) < len(a)


@pytest.mark.parametrize("low_bits", [None, 58, 61])
def test_a_value_order_lists_the_entries_of_each_value_in_entry_order(low_bits):
    """The k-th occurrence of a value is its k-th entry, also where the mixes of several values
    share a key (forced here by giving the entry numbers most of the key's bits)."""
    from inspector.core.leakage.value_order import ValueOrder
    rng = np.random.default_rng(7)
    shared = 0
    for _ in range(12):
        n = int(rng.integers(1, 2500))
        base = rng.integers(0, 2 ** 63, int(rng.integers(1, 40)), dtype=np.int64).astype(np.uint64)
        flat = base[rng.integers(0, len(base), n)]
        flat ^= np.where(rng.random(n) < 0.4, rng.integers(0, 1 << 20, n), 0).astype(np.uint64)
        order = ValueOrder(flat, low_bits)
        shared += len(order.shared_values)
        values, counts = np.unique(flat, return_counts=True)
        occurrence = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
        want = np.concatenate([np.flatnonzero(flat == v) for v in values])
        assert np.array_equal(order.entries(np.repeat(values, counts), occurrence), want)
    assert (shared > 0) == (low_bits is not None)


@pytest.mark.parametrize("as_values", [False, True])
def test_the_bucket_order_holds_every_entry_once_crowded_buckets_by_rotated_value_then_entry(as_values,
                                                                                              monkeypatch):
    """Both ways of putting an index in bucket order (join.neighbourhoods): a radix sort of the chunk
    (a bucket that is not crowded in entry order) and, for an index mostly crowded, a sort of the
    rotated hashes (every bucket by rotated value); crowded buckets by rotated value then entry in
    both, and the same neighbourhoods."""
    # a crowd of 57-62% of the entries: sorted as values when CROWD_SHARE is over 2
    share = {False: 1, True: 1 << 30}
    monkeypatch.setattr(join, "CROWD_SHARE", share[as_values])
    rng = np.random.default_rng(11)
    flat = _clustered(rng, 500, 3, 3, 4).reshape(-1)
    flat = np.concatenate([flat, flat[rng.integers(0, len(flat), 399)]])   # 633 rows of 3
    entry = np.arange(len(flat))
    ids = np.arange(len(flat) // 3, dtype=np.uint64)
    for c in range(join.N_CHUNKS):
        nb = join.neighbourhoods(flat[:50], flat, ids, 3, c, 40)
        rot = join._chunk_on_top(flat, c)
        bucket = join._chunk_keys(flat, c)
        crowded = np.bincount(bucket, minlength=1 << 16)[bucket] > 40
        assert 0 < crowded.sum() < len(flat)
        if as_values:                 # every bucket by rotated value
            want = np.lexsort((entry, rot))
        else:                         # the buckets by chunk, only the crowded ones by rotated value
            want = np.lexsort((entry, np.where(crowded, rot, 0), bucket))
        assert np.array_equal(nb.order, want)
        assert np.array_equal(nb.svals[:len(flat)], flat[nb.order])
        assert np.array_equal(nb.entries_at(np.arange(len(flat))[::-1]), nb.order[::-1])
        monkeypatch.setattr(join, "CROWD_SHARE", share[not as_values])
        other = join.neighbourhoods(flat[:50], flat, ids, 3, c, 40)
        monkeypatch.setattr(join, "CROWD_SHARE", share[as_values])
        for name in ("start", "cnt", "sizes", "crowded", "first", "stop"):
            assert np.array_equal(getattr(nb, name), getattr(other, name)), name
        runs = [sorted(nb.order[s:s + k].tolist()) for s, k in zip(nb.start, nb.cnt)]
        assert runs == [sorted(other.order[s:s + k].tolist()) for s, k in zip(other.start, other.cnt)]


def test_a_crowded_bucket_whose_entries_agree_on_one_piece_loses_no_pair_within_the_radius():
    """A crowd of hashes equal on chunk 0 and on the first 12-bit piece of the other bits: that
    piece does not shrink the bucket, and pairs 3 bits apart with one differing bit in each other
    piece agree on it alone. They are found by cutting the other bits afresh (the search once
    skipped such a piece and lost them)."""
    rng = np.random.default_rng(5)
    n = 1500
    h = (np.uint64(0x0ABC) | (np.uint64(0x5A5) << np.uint64(16))
         | (rng.integers(0, 1 << 36, n, dtype=np.uint64) << np.uint64(28)))
    for k in range(0, 200, 2):
        bits = (int(rng.integers(28, 40)), int(rng.integers(40, 52)), int(rng.integers(52, 64)))
        h[k + 1] = h[k] ^ np.uint64(sum(1 << b for b in bits))
    assert n > join.FULL_BUCKET          # chunk 0's bucket is crowded: neighbourhoods, then longer keys
    a, b, _ = candidates.near_candidates(h[:, None], candidates.NEAR_THRESHOLD)
    want, want_b, _ = candidates.brute_force_pairs(h[:, None], join.GUARANTEED_RADIUS)
    assert len(want) >= 100
    assert set(zip(want.tolist(), want_b.tolist())) <= set(zip(a.tolist(), b.tolist()))
