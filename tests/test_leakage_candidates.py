"""The candidate search's views: copies whose whole-image hash an edit moved far (a caption band, a
watermark) still become candidates through a region view, and crowds stay bounded."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inspector.core import hashing, leakage
from inspector.core.table_from_images import table_from_images
from test_leakage import texture

R = hashing.FIRST_REGION_VIEW


def captioned(im: Image.Image, band: float, text: str) -> Image.Image:
    """A black caption band along the bottom (`band` of the height) with white text on it."""
    out = im.copy()
    w, h = out.size
    top = h - round(band * h)
    d = ImageDraw.Draw(out)
    d.rectangle((0, top, w, h), fill=(0, 0, 0))
    d.text((round(0.03 * w), top + 2), text, fill=(255, 255, 255), font_size=max(8, round(0.7 * band * h)))
    return out


def bannered(im: Image.Image, y: float, text: str) -> Image.Image:
    """A half-transparent white banner 15% of the height, its top at `y`, with dark text on it."""
    w, h = im.size
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.rectangle((0, round(y * h), w, round((y + 0.15) * h)), fill=(255, 255, 255, 170))
    d.text((round(0.05 * w), round(y * h) + 2), text, fill=(20, 20, 20, 230), font_size=round(0.1 * h))
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def whole_image_distance(phash: np.ndarray, i: int, j: int) -> int:
    """The pair distance without the region views (the whole image against the other's views)."""
    a, b = phash[i], phash[j]
    return int(min(np.bitwise_count(a[0] ^ b[:R]).min(), np.bitwise_count(b[0] ^ a[:R]).min()))


EDITS = {
    "caption 12%": lambda im: captioned(im, 0.12, "www.example.com"),
    "caption 18%": lambda im: captioned(im, 0.18, "Holiday 2019"),
    "banner high": lambda im: bannered(im, 0.08, "SAMPLE"),
    "banner low": lambda im: bannered(im, 0.70, "(c) stock photo"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_captioned_and_watermarked_copies_become_candidates(edit):
    items = []
    for s in range(6):
        im = texture(300 + s, (240, 180))
        items.append((f"test/x/{s}.png", "test", "x", im))
        items.append((f"train/x/copy{s}.png", "train", "x", EDITS[edit](im)))
    table = table_from_images(items, split_names=["train", "val", "test"])
    a, b, d = leakage.near_candidates(table.phash, leakage.NEAR_THRESHOLD, groups=np.asarray(table.split),
                                      cross_only=True)
    got = set(zip(a.tolist(), b.tolist()))
    copies = [(int(np.flatnonzero(np.array(table.paths) == f"train/x/copy{s}.png")[0]),
               int(np.flatnonzero(np.array(table.paths) == f"test/x/{s}.png")[0])) for s in range(6)]
    far = [whole_image_distance(table.phash, i, j) > leakage.NEAR_THRESHOLD for i, j in copies]
    assert sum(far) >= 2, "the edit should move some whole-image hashes beyond the threshold"
    assert all((min(i, j), max(i, j)) in got for i, j in copies)


def test_region_views_are_compared_only_with_the_same_region():
    rng = np.random.default_rng(5)
    h = rng.integers(0, 2 ** 63, size=(4, hashing.N_VIEWS), dtype=np.int64).astype(np.uint64)
    h[1, R] = h[0, R]          # rows 0 and 1: the same top region
    h[3, R + 1] = h[2, R]      # row 3's bottom region equals row 2's top region: not a match
    d = leakage.view_distance(h, np.array([0, 2]), np.array([1, 3]))
    assert d[0] == 0 and d[1] > leakage.NEAR_THRESHOLD
    a, b, _ = leakage.near_candidates(h, leakage.NEAR_THRESHOLD)
    assert set(zip(a.tolist(), b.tolist())) == {(0, 1)}


def test_same_region_pairs_agree_with_brute_force():
    rng = np.random.default_rng(17)
    n = 1200
    h = rng.integers(0, 2 ** 63, size=(n, hashing.N_VIEWS), dtype=np.int64).astype(np.uint64)
    for k in range(0, 400, 2):   # row k+1 shares one region view of row k, up to 12 bits flipped
        flips = rng.choice(64, int(rng.integers(0, 13)), replace=False)
        v = R + int(rng.integers(0, hashing.N_VIEWS - R))
        h[k + 1, v] = h[k, v] ^ np.uint64(sum(1 << int(f) for f in flips))
    groups = rng.integers(0, 3, n)
    for t in (leakage.GUARANTEED_RADIUS, leakage.NEAR_THRESHOLD):
        a, b, d = leakage.near_candidates(h, t, groups=groups, cross_only=True)
        A, B, D = leakage.brute_force_pairs(h, t, groups=groups, cross_only=True)
        fast = dict(zip(zip(a.tolist(), b.tolist()), d.tolist()))
        ref = dict(zip(zip(A.tolist(), B.tolist()), D.tolist()))
        assert set(fast) <= set(ref) and all(fast[p] == ref[p] for p in fast)
        assert len(ref) > 20
        if t == leakage.GUARANTEED_RADIUS:
            assert fast == ref
        else:
            assert len(fast) >= 0.5 * len(ref)


def test_a_crowd_sharing_one_region_stays_bounded():
    """Thousands of images with the same top region (a banner, a studio wall) and distinct pictures
    below: each keeps at most HASH_NEIGHBOURS region candidates per chunk and block, not n^2 / 2."""
    rng = np.random.default_rng(8)
    n, k = 4000, leakage.HASH_NEIGHBOURS
    h = rng.integers(0, 2 ** 63, size=(n, hashing.N_VIEWS), dtype=np.int64).astype(np.uint64)
    # region hashes 4 bits from a common one, so mostly 6-8 bits from one another: beyond the
    # radius (where every pair is kept), within the threshold
    flips = np.argsort(rng.random((n, 64)), axis=1) < 4
    h[:, R] = h[0, R] ^ np.packbits(flips, axis=1, bitorder="little").view("<u8")[:, 0]
    groups = np.arange(n) % 3
    a, b, d = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, per_image=k)
    A, _, _ = leakage.brute_force_pairs(h, leakage.NEAR_THRESHOLD)
    close, _, _ = leakage.brute_force_pairs(h, leakage.GUARANTEED_RADIUS)   # always all kept
    assert len(A) > n * (n - 1) // 4                  # the crowd: most pairs within the threshold
    assert 0 < len(a) <= len(close) + 2 * n * leakage.N_CHUNKS * k < len(A) // 10
    assert (d <= leakage.NEAR_THRESHOLD).all()


def test_tiny_images_take_no_part_in_region_joins():
    """The top of one handwritten digit looks like the top of thousands of others: images under
    GRID px a side are searched on their whole-image views only, so a crowd of them gets no more
    candidates than without region views."""
    from dataclasses import replace

    from inspector.core.leakage import checks
    from inspector.core.leakage.progress import drain
    from test_leakage import stroke

    items = [(f"{('train', 'val', 'test')[s % 3]}/1/{s}.png", ("train", "val", "test")[s % 3], "1", stroke(s))
             for s in range(400)]
    table = table_from_images(items, split_names=["train", "val", "test"])
    ph = leakage.search_hashes(table.phash, table.width, table.height)
    assert ph.shape[1] == R and (ph == table.phash[:, :R]).all() and np.shares_memory(ph, table.phash)
    mixed = table_from_images(items[:5] + [("train/x/a.png", "train", "x", texture(1))])
    ph_mixed = leakage.search_hashes(mixed.phash, mixed.width, mixed.height)
    assert (ph_mixed[:5, R:] == 0).all() and (ph_mixed[5] == mixed.phash[5]).all() and (ph_mixed[5, R:] != 0).any()
    assert (ph_mixed[:, :R] == mixed.phash[:, :R]).all()
    blank_region = leakage.view_distance(ph, np.array([0]), np.array([1]))
    assert blank_region[0] == leakage.view_distance(table.phash[:, :R], np.array([0]), np.array([1]))[0]
    rep = np.arange(len(table))
    with_regions = drain(checks._near_candidates(table, rep, leakage.NEAR_THRESHOLD, True, True))
    without = drain(checks._near_candidates(replace(table, phash=table.phash[:, :R]), rep,
                                            leakage.NEAR_THRESHOLD, True, True))
    assert len(with_regions[0]) == len(without[0]) > 0
    photos = table_from_images([("train/x/a.png", "train", "x", texture(1))])
    assert leakage.search_hashes(photos.phash, photos.width, photos.height) is photos.phash


def turned(im: Image.Image, degrees: float) -> Image.Image:
    """`im` turned and cropped so that no empty corner shows (as a data set's rotation augmentation)."""
    w, h = im.size
    m = np.sin(np.radians(abs(degrees))) * 1.05
    dx, dy = round(m * h), round(m * w)
    return im.rotate(degrees, Image.BICUBIC).crop((dx, dy, w - dx, h - dy))


def test_copies_turned_four_degrees_become_candidates_through_the_turned_views():
    from PIL import ImageFilter
    items, pairs = [], []
    for s in range(8):
        im = texture(400 + s, (240, 180)).filter(ImageFilter.GaussianBlur(1.5))
        items.append((f"test/x/{s}.png", "test", "x", im))
        for deg in (4.0, -4.5):
            items.append((f"train/x/{s}_{deg}.png", "train", "x", turned(im, deg)))
            pairs.append((len(items) - 2 if deg == 4.0 else len(items) - 3, len(items) - 1))
    table = table_from_images(items, split_names=["train", "val", "test"])
    a, b, _ = leakage.near_candidates(table.phash, leakage.NEAR_THRESHOLD, groups=np.asarray(table.split),
                                      cross_only=True)
    got = set(zip(a.tolist(), b.tolist()))
    t0 = R - len(hashing.TURNED)
    before = table.phash[:, :t0]                      # the views before the turned ones
    far = [int(min(np.bitwise_count(before[j, 0] ^ before[i]).min(),
                   np.bitwise_count(before[i, 0] ^ before[j]).min())) > leakage.NEAR_THRESHOLD
           for i, j in pairs]
    assert sum(far) >= 4, "the turns should move some copies beyond the threshold of the other views"
    assert sum((min(p), max(p)) in got for p in pairs) >= 12     # 6 of 16 with the views before


def test_off_centre_crops_become_candidates_through_the_edge_views():
    """Copies with most of a 10-14% cut on one side (and a little across) are often beyond the
    whole, centred and corner views; the edge views bring more of them to the comparison."""
    import io

    rng = np.random.default_rng(5)
    items, pairs = [], []
    for s in range(16):
        im = texture(500 + s, (240, 180))
        items.append((f"test/x/{s}.png", "test", "x", im))
        w, h = im.size
        big, small, across = rng.uniform(0.10, 0.14), rng.uniform(0.0, 0.02), rng.uniform(0.03, 0.06)
        side = s % 4                      # which side loses most: left, right, top, bottom
        cut = [[big, small], [across / 2, across / 2]] if side < 2 else [[across / 2, across / 2], [big, small]]
        (l, r), (t, b) = cut if side % 2 == 0 else [cut[0][::-1], cut[1][::-1]]
        buf = io.BytesIO()
        im.crop((round(w * l), round(h * t), w - round(w * r), h - round(h * b))).save(buf, "JPEG", quality=90)
        items.append((f"train/x/{s}.jpg", "train", "x", Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
        pairs.append((len(items) - 1, len(items) - 2))
    table = table_from_images(items, split_names=["train", "val", "test"])
    edge = [k for k, name in enumerate(hashing.VIEW_NAMES) if name.startswith("without the")]
    assert len(edge) == 4 and max(edge) < R

    def found(phash: np.ndarray) -> int:
        a, b, _ = leakage.near_candidates(phash, leakage.NEAR_THRESHOLD, groups=np.asarray(table.split),
                                          cross_only=True)
        got = set(zip(a.tolist(), b.tolist()))
        return sum((min(p), max(p)) in got for p in pairs)

    without = table.phash.copy()
    without[:, edge] = without[:, :1]        # the edge views as the whole view: as if not there
    assert found(table.phash) >= found(without) + 3     # 11 and 6 of 16


@pytest.mark.parametrize("cross_only", [False, True])
@pytest.mark.parametrize("crowd", [250, 1500])
def test_the_search_made_by_two_threads_gives_the_one_thread_blocks(cross_only, crowd, monkeypatch):
    """The plain join's passes and the probes' made by two threads (shared_passes.in_order): the
    same blocks in the same order as one thread gives, on a crowd of near-equal hashes (crowded
    buckets, their longer-key passes; 1500 of 3000 rows: an index sorted as values, 250: the radix
    bucket order) among spread ones with near pairs."""
    from inspector.core.leakage import candidates, shared_passes
    rng = np.random.default_rng(21)
    n = 3000
    h = rng.integers(0, 2 ** 63, (n, 16), dtype=np.int64).astype(np.uint64)
    h[:crowd] = rng.integers(0, 2 ** 63, dtype=np.int64).astype(np.uint64)   # one crowd...
    h[:crowd] ^= np.uint64(1) << rng.integers(0, 64, (crowd, 16)).astype(np.uint64)   # ...a bit off each view
    h[crowd + 1::7] = h[crowd:n - 1:7] ^ np.uint64(1 << 40)   # near pairs among the spread ones
    groups = rng.integers(0, 3, n).astype(np.int16)
    probes = h[:, :2] ^ (np.uint64(1) << rng.integers(0, 16, (n, 2)).astype(np.uint64))

    def blocks() -> tuple[list, list]:
        plain = [(done, a.tolist(), b.tolist(), d.tolist()) for done, a, b, d in
                 leakage.candidate_blocks(h, leakage.NEAR_THRESHOLD, groups, cross_only, block=4096)]
        probed = [(done, a.tolist(), b.tolist(), d.tolist()) for done, a, b, d in
                  leakage.probe_blocks(h, probes, leakage.NEAR_THRESHOLD, groups, cross_only, block=4096)]
        return plain, probed

    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    # two threads even for the crowded index, which the search gives one (test below)
    monkeypatch.setattr(candidates, "_workers", lambda *_: shared_passes.threads())
    monkeypatch.setenv(shared_passes.THREADS_ENV, "1")
    one = blocks()
    monkeypatch.delenv(shared_passes.THREADS_ENV)
    assert blocks() == one
    for stream in one:
        assert sum(len(a) for _, a, _, _ in stream) > 100 and len(stream) > 20
        dones = [done for done, *_ in stream]
        assert dones == sorted(dones) and dones[-1] == pytest.approx(1.0)


def test_a_search_mostly_in_crowded_buckets_is_made_by_one_thread(monkeypatch):
    """Two passes of crowds at once would double the search's peak: an index whose crowded buckets
    (in any chunk) hold over 1 / CROWD_SHARE of its entries gets one thread, judged on a sample."""
    from inspector.core.leakage import candidates, shared_passes
    monkeypatch.setattr(shared_passes, "_cores", lambda: 2)
    monkeypatch.delenv(shared_passes.THREADS_ENV, raising=False)
    monkeypatch.setattr(candidates, "SAMPLE_ROWS", 500)     # the bucket sizes scaled up from a sample
    rng = np.random.default_rng(4)
    n = 4000
    h = rng.integers(0, 2 ** 63, (n, 14), dtype=np.int64).astype(np.uint64)
    rows = np.arange(n)
    assert candidates._workers(h, rows, 14) == 2
    crowd = rng.choice(n, n // 5, replace=False)     # a fifth of the images share chunk 3...
    h[crowd] = (h[crowd] & np.uint64(0x0000FFFFFFFFFFFF)) | np.uint64(0x1234 << 48)
    assert candidates._workers(h, rows, 14) == 1
    assert candidates._workers(h, np.setdiff1d(rows, crowd), 14) == 2   # ...not among these rows
    monkeypatch.setenv(shared_passes.THREADS_ENV, "1")     # one asked for: one, crowds or not
    assert candidates._workers(h, np.setdiff1d(rows, crowd), 14) == 1
