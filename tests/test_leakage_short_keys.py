"""The short-key joins of the candidate search (leakage/short_keys.py): each query meets the entries
that share the shortest low-frequency part of a chunk that holds at most the bucket cap, and
nothing when a dataset is large enough for the plain join's buckets to be full."""
from __future__ import annotations

import numpy as np

from inspector.core import hashing, leakage
from inspector.core.leakage import short_keys
from test_leakage_probes import _balanced

CB = leakage.CHUNK_BITS


def _low_bits(x: np.ndarray, c: int, bits: int) -> np.ndarray:
    return (x >> np.uint64(CB * c)) & np.uint64((1 << bits) - 1)


def _reference(query, index, threshold, bucket):
    """Brute force: per query and chunk, the fewest low bits of the chunk (under 16) whose
    bucket holds at most `bucket` entries, and the entries there within the threshold."""
    flat = index.reshape(-1)
    out = set()
    for c in range(4):
        for q, x in enumerate(query):
            for bits in range(CB):
                same = np.flatnonzero(_low_bits(flat, c, bits) == _low_bits(np.array([x]), c, bits)[0])
                if len(same) <= bucket:
                    near = same[np.bitwise_count(flat[same] ^ x) <= threshold]
                    out.update((q, int(e)) for e in near)
                    break
    return out


def _joined(query, index, threshold, bucket, block=1 << 20):
    got = set()
    for _, q, entry, d in short_keys.short_key_entries(query, index, threshold, block, bucket):
        assert (np.bitwise_count(index.reshape(-1)[entry] ^ query[q]) == d).all()
        got.update(zip(q.tolist(), entry.tolist()))
    return got


def test_each_query_meets_the_widest_low_bit_bucket_that_fits():
    rng = np.random.default_rng(5)
    index = _balanced(rng, 3000).reshape(1000, 3)
    # near copies of some entries, with bits flipped in every chunk (no 16-bit chunk equal)
    query = _balanced(rng, 300)
    pick = rng.choice(3000, 100, replace=False)
    for k, e in enumerate(pick):
        flips = [c * CB + int(rng.integers(0, CB)) for c in range(4)] + rng.choice(64, 3, replace=False).tolist()
        query[k] = index.reshape(-1)[e] ^ np.uint64(sum(1 << b for b in set(flips)))
    # a crowd: 400 entries equal on chunk 0 (a query among them meets none there, its 15-bit
    # bucket being over the cap) and the others spread
    index[:400, 0] = (index[:400, 0] & ~np.uint64(0xFFFF)) | np.uint64(0x1234)
    query[299] = index[7, 0] ^ np.uint64(1 << 40)
    for bucket, threshold in ((64, 10), (256, 8), (16, 12)):
        got = _joined(query, index, threshold, bucket)
        assert got == _reference(query, index, threshold, bucket)
    # blocks of any size give the same pairs
    assert _joined(query, index, 10, 64, block=500) == _joined(query, index, 10, 64)
    # most near copies are met, every one of them that shares a chunk's low 6 bits and more
    got = _joined(query, index, 10, 64)
    met = sum((k, int(e)) in got for k, e in enumerate(pick) if np.bitwise_count(query[k] ^ index.reshape(-1)[e]) <= 10)
    assert met >= 60


def test_no_joins_where_the_plain_buckets_are_full():
    # at a million images of 14 views the joins are not made (the search's cost is the plain one's)
    bucket = short_keys.bucket_size(3 * 1_000_000)
    assert not short_keys.worth_it(1_000_000, bucket) and not short_keys.worth_it(14_000_000, bucket)
    assert short_keys.bucket_size(3 * 20_000) == short_keys.SHORT_BUCKET
    assert short_keys.worth_it(14 * 20_000, short_keys.SHORT_BUCKET)
    rng = np.random.default_rng(1)
    assert list(short_keys.short_key_entries(_balanced(rng, 10), _balanced(rng, 40).reshape(20, 2), 10, 1 << 20,
                                             bucket=0)) == []


def test_a_copy_drifted_in_every_chunk_reaches_the_search_through_a_short_key():
    rng = np.random.default_rng(3)
    n = 400
    h = _balanced(rng, n * hashing.N_VIEWS).reshape(n, hashing.N_VIEWS)
    # row 1 is row 0 with one high-frequency bit of each chunk flipped, in every view
    h[1] = h[0] ^ np.uint64(sum(1 << (c * CB + 14) for c in range(4)))
    groups = np.zeros(n, np.int16)
    groups[1] = 1
    probes = np.stack([h[:, 0] ^ np.uint64(1 << 5), h[:, 0] ^ np.uint64(1 << 9)], axis=1)  # no help here
    for short in (False, True):
        a, b, d = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, cross_only=True,
                                          probes=probes, short=short)
        pairs = dict(zip(zip(a.tolist(), b.tolist()), d.tolist()))
        assert pairs.get((0, 1)) == (4 if short else None)
        assert (leakage.view_distance(h, a, b) == d).all() and (d <= leakage.NEAR_THRESHOLD).all()
