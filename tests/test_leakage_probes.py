"""The probes of the candidate search (candidates.PROBES): a copy whose whole-image hash differs
from its original's in every 16-bit chunk shares no chunk with it, and only a probe (the hash with
one of its weakest bits flipped) meets it."""
from __future__ import annotations

import numpy as np

from inspector.core import hashing, leakage
from inspector.core.leakage import candidates
from inspector.core.table_from_images import table_from_images
from test_leakage import texture

CB = leakage.CHUNK_BITS


def _balanced(rng: np.random.Generator, n: int) -> np.ndarray:
    bits = np.argsort(rng.random((n, 64)), axis=1) < 32
    return np.ascontiguousarray(np.packbits(bits, axis=1, bitorder="little")).view("<u8")[:, 0].astype(np.uint64)


def test_weak_bits_are_view_zeros_coefficients_nearest_the_median():
    ims = [texture(40 + s, (200, 150)) for s in range(12)]
    grids = np.stack([hashing.grey_grid(im) for im in ims])
    h = hashing.hashes_from_grids(grids)[:, 0]
    thumbs = hashing.thumbnails_from_grids(grids)
    weak = hashing.weak_bits(thumbs, 3)
    assert weak.shape == (12, 4, 3)
    for k in range(12):
        for c in range(4):
            assert len(set(weak[k, c].tolist())) == 3
            assert all(c * CB <= b < (c + 1) * CB for b in weak[k, c])
    # the thumbnail's coefficients give view 0's bits (up to the median pair) ...
    t = thumbs.astype(np.float64)
    co = np.einsum("ux,nxy,vy->nuv", hashing._DCT, t, hashing._DCT).reshape(12, -1)[:, hashing._SEL_FLAT]
    med = np.median(co, axis=1, keepdims=True)
    bits = np.ascontiguousarray(np.packbits(co > med, axis=1, bitorder="little")).view("<u8")[:, 0]
    assert (np.bitwise_count(bits ^ h) <= 2).all()
    # ... and the weakest of a chunk is the coefficient nearest the median there
    margin = np.abs(co - med)
    for k in range(12):
        for c in range(4):
            assert weak[k, c, 0] == c * CB + int(np.argmin(margin[k, c * CB:(c + 1) * CB]))


def test_a_pair_with_no_equal_chunk_is_met_through_a_probe_of_its_weak_bit():
    rng = np.random.default_rng(3)
    n = 400
    h = np.zeros((n, hashing.N_VIEWS), np.uint64)
    h[:] = _balanced(rng, n * hashing.N_VIEWS).reshape(n, hashing.N_VIEWS)
    # row 1 is row 0 with one bit flipped in each chunk (4 bits: no chunk equal), in every view
    flips = [3, CB + 7, 2 * CB + 1, 3 * CB + 12]
    mask = np.uint64(sum(1 << b for b in flips))
    h[1] = h[0] ^ mask
    groups = np.zeros(n, np.int16)
    groups[1] = 1
    a, b, _ = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, cross_only=True)
    assert (0, 1) not in set(zip(a.tolist(), b.tolist()))
    # a probe of row 1 that flips its differing bit of chunk 0 back; the others flip another bit
    probes = np.stack([h[:, 0] ^ np.uint64(1 << 5), h[:, 0] ^ np.uint64(1 << 9)], axis=1)
    probes[1, 0] = h[1, 0] ^ np.uint64(1 << 3)
    a, b, d = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, cross_only=True, probes=probes,
                                      short=False)
    pairs = dict(zip(zip(a.tolist(), b.tolist()), d.tolist()))
    assert pairs.get((0, 1)) == 4
    # every pair a probe brings is within the threshold by its true distance
    assert (leakage.view_distance(h, a, b) == d).all() and (d <= leakage.NEAR_THRESHOLD).all()
    # a probe that flips a bit the pair agrees on does not meet it
    probes[1, 0] = h[1, 0] ^ np.uint64(1 << 4)
    a, b, _ = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, cross_only=True, probes=probes,
                                      short=False)
    assert (0, 1) not in set(zip(a.tolist(), b.tolist()))


def test_probes_of_photos_only():
    items = [(f"train/x/{s}.png", "train", "x", texture(70 + s, (120, 90))) for s in range(3)]
    items += [(f"test/x/t{s}.png", "test", "x", texture(80 + s, (32, 32))) for s in range(3)]
    table = table_from_images(items, split_names=["train", "val", "test"])
    p = candidates.probe_hashes(table.phash, table.thumb, table.width, table.height)
    small = np.minimum(table.width, table.height) < hashing.GRID
    assert (p[small] == candidates.NO_HASH).all()
    big = ~small
    assert (np.bitwise_count(p[big] ^ table.phash[big, :1]) == 1).all()
    weak = hashing.weak_bits(table.thumb[big], 2)
    for k, (c, rank) in enumerate(candidates.PROBES):
        flipped = np.log2((p[big, k] ^ table.phash[big, 0]).astype(np.float64)).astype(int)
        assert (flipped == weak[:, c, rank]).all()
