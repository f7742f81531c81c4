"""Leakage: exact / near / mirrored duplicates across splits, the hard negatives (distinct crops of
one photograph, look-alike skies, flat images), label conflicts, the normalization source, name
collisions, drift, and the sub-quadratic candidate search against brute force.

Images are generated here (seeded): natural-looking textures are smoothed noise over several
scales, so JPEG, resizing and cropping behave roughly as on photographs. No corpus is read.
"""
from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from inspector.core import hashing, leakage
from inspector.core.leakage import join
from inspector.core.leakage import Finding, find_leakage
from inspector.core.table_from_images import table_from_images

CORE = Path(__file__).resolve().parents[1] / "inspector" / "core"


# ------------------------------------------------------------------------------------------------
# Image factory

def texture(seed: int, size: tuple[int, int] = (240, 180), colour: bool = True) -> Image.Image:
    """A photo-like texture: noise summed over several scales (about 1/f), with a colour cast."""
    rng = np.random.default_rng(seed)
    w, h = size
    acc = np.zeros((h, w, 3 if colour else 1))
    for s, weight in ((2, 0.35), (4, 0.6), (8, 1.0), (16, 1.2), (32, 1.2)):
        small = rng.normal(0, 1, (max(2, h // s), max(2, w // s), acc.shape[2]))
        layer = np.stack([np.asarray(Image.fromarray(small[..., c].astype(np.float32), "F")
                                     .resize((w, h), Image.BICUBIC)) for c in range(acc.shape[2])], -1)
        acc += weight * layer
    acc = (acc - acc.mean()) / acc.std()
    base = rng.uniform(80, 170, acc.shape[2])
    a = np.clip(base + 38 * acc, 0, 255).astype(np.uint8)
    return Image.fromarray(a if colour else a[..., 0])


def sky(seed: int, size: tuple[int, int] = (240, 180)) -> Image.Image:
    """A look-alike sky: a smooth vertical colour gradient, faint noise and a soft cloud."""
    rng = np.random.default_rng(1000 + seed)
    w, h = size
    top = rng.uniform(60, 200, 3)
    bottom = top + rng.uniform(-40, 60, 3)
    y = np.linspace(0, 1, h)[:, None, None]
    a = top + (bottom - top) * y + np.zeros((h, w, 3)) + rng.normal(0, 1.5, (h, w, 3))
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    blob = np.exp(-(((np.arange(w) - cx) / 60.0) ** 2)[None, :] - (((np.arange(h) - cy) / 30.0) ** 2)[:, None])
    a += (blob * rng.uniform(0, 25))[..., None]
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))


def reload(im: Image.Image, fmt: str, **kw) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert(im.mode)


def crop_border(im: Image.Image, f: float) -> Image.Image:
    w, h = im.size
    dx, dy = round(w * f), round(h * f)
    return im.crop((dx, dy, w - dx, h - dy))


TRANSFORMS = {
    "jpeg60": lambda im: reload(im, "JPEG", quality=60),
    "half": lambda im: im.resize((im.width // 2, im.height // 2), Image.BICUBIC),
    "crop3": lambda im: crop_border(im, 0.03),
    "bright10": lambda im: ImageEnhance.Brightness(im).enhance(1.10),
    "mirror": ImageOps.mirror,
    "png": lambda im: reload(im, "PNG"),
    "exact": lambda im: im.copy(),
}
EXPECTED = {"mirror": "mirror", "png": "exact", "exact": "exact"}   # others: near


def means_of(table) -> dict[str, list[float]]:
    return {s: table.mean[table.rows_in(s)].mean(axis=0).tolist() for s in table.split_names
            if len(table.rows_in(s))}


def pairs_of(findings, kinds=("exact", "near", "mirror")) -> dict[frozenset, Finding]:
    return {frozenset(f.paths): f for f in findings if f.kind in kinds}


# ------------------------------------------------------------------------------------------------
# The planted dataset (built once: about 80 images)

@pytest.fixture(scope="module")
def planted():
    items = []
    # originals in val and test, each with every transform planted in train
    sources = []
    for k in range(4):
        split = ("val", "test")[k % 2]
        im = texture(k)
        path = f"{split}/cls{k % 2}/orig{k}.png"
        items.append((path, split, f"cls{k % 2}", im))
        sources.append((path, split, im))
    for path, split, im in sources:
        stem = Path(path).stem
        cls = path.split("/")[1]
        for name, fn in TRANSFORMS.items():
            items.append((f"train/{cls}/{stem}_{name}.png", "train", cls, fn(im)))
    # a val<->test pair
    vt = texture(50)
    items.append(("val/cls0/vt.png", "val", "cls0", vt))
    items.append(("test/cls0/vt_jpeg.jpg", "test", "cls0", TRANSFORMS["jpeg60"](vt)))
    # unrelated photos in every split
    for k in range(10, 22):
        split = ("train", "val", "test")[k % 3]
        items.append((f"{split}/cls1/other{k}.png", split, "cls1", texture(k)))
    # non-overlapping crops of one photograph in different splits
    big = texture(99, size=(480, 360))
    for q, (box, split) in enumerate(zip(((0, 0, 240, 180), (240, 0, 480, 180), (0, 180, 240, 360),
                                          (240, 180, 480, 360)), ("train", "val", "test", "train"))):
        items.append((f"{split}/crops/q{q}.png", split, "crops", big.crop(box)))
    # look-alike skies
    for k in range(9):
        split = ("train", "val", "test")[k % 3]
        items.append((f"{split}/sky/sky{k}.png", split, "sky", sky(k)))
    order = {"train": 0, "val": 1, "test": 2}
    items.sort(key=lambda t: (order[t[1]], t[0]))
    table = table_from_images(items, split_names=["train", "val", "test"])
    findings = find_leakage(table, means_of(table))
    return table, findings, sources


def test_planted_copies_found_with_kind_and_severity(planted):
    table, findings, sources = planted
    dup = [f for f in findings if f.kind in ("exact", "near", "mirror")]
    for path, split, _ in sources:
        stem = Path(path).stem
        cls = path.split("/")[1]
        for name in TRANSFORMS:
            copy = f"train/{cls}/{stem}_{name}.png"
            linked = [f for f in dup if copy in f.paths and (path in f.paths or
                      any(p != copy and p.startswith(f"train/{cls}/{stem}_") for p in f.paths))]
            assert linked, f"{name} copy of {path} not found"
            if name in ("png", "exact"):
                # one exact group (source + both lossless copies): each file against one of the group
                assert any(f.kind == "exact" for f in linked), name
                continue
            direct = [f for f in dup if set(f.paths) == {path, copy}]
            assert direct, f"{name}: no direct finding between {path} and {copy}"
            f = direct[0]
            assert f.kind == EXPECTED.get(name, "near"), (name, f)
            assert f.severity == ("error" if split == "test" else "warning")
            assert set(f.splits) == {"train", split}
            assert f.distance is not None and 0 <= f.distance <= leakage.NEAR_THRESHOLD
            assert path in f.message and copy in f.message and "train" in f.message


def test_exact_copies_across_splits_are_errors_or_warnings(planted):
    _, findings, sources = planted
    exact = [f for f in findings if f.kind == "exact"]
    for path, split, _ in sources:
        hits = [f for f in exact if path in f.paths]
        assert hits and all(f.distance == 0.0 for f in hits)
        assert hits[0].severity == ("error" if split == "test" else "warning")


def test_val_test_pair_is_a_warning(planted):
    _, findings, _ = planted
    f = pairs_of(findings)[frozenset({"val/cls0/vt.png", "test/cls0/vt_jpeg.jpg"})]
    assert (f.kind, f.severity) == ("near", "warning")


def test_within_split_copies_are_info(planted):
    _, findings, _ = planted
    within = [f for f in findings if f.kind in ("exact", "near", "mirror") and f.splits[0] == f.splits[1]]
    assert within and all(f.severity == "info" for f in within)


def test_no_false_pairs_between_distinct_images(planted):
    """Distinct crops of one photograph, unrelated textures and look-alike skies never pair."""
    _, findings, _ = planted
    for f in findings:
        if f.kind not in ("exact", "near", "mirror", "label_conflict"):
            continue
        a, b = (Path(p).stem for p in f.paths)
        family = {a.split("_")[0], b.split("_")[0]}
        assert len(family) == 1 or family == {"vt"}, f"false pair: {f.message}"


def test_findings_sorted_and_deterministic(planted):
    table, findings, _ = planted
    rank = {"error": 0, "warning": 1, "info": 2}
    keys = [(rank[f.severity], leakage.KINDS.index(f.kind), f.paths) for f in findings]
    assert keys == sorted(keys)
    assert find_leakage(table, means_of(table)) == findings
    counts = leakage.count_by_severity(findings)
    assert set(counts) == {"error", "warning", "info"} and sum(counts.values()) == len(findings)
    d = findings[0].to_dict()
    assert list(d) == ["kind", "severity", "splits", "paths", "distance", "message"]
    for f in findings:     # the export contract: one or two splits, a non-empty message
        assert 1 <= len(f.splits) <= 2 and f.message and f.severity in leakage.SEVERITIES
        assert f.kind in leakage.KINDS and len(f.rows) == len(f.paths)


def test_include_within_split_false_drops_info_pairs(planted):
    table, findings, _ = planted
    cross = find_leakage(table, means_of(table), include_within_split=False)
    assert all(f.splits[0] != f.splits[1] for f in cross if f.kind in ("exact", "near", "mirror"))
    assert {frozenset(f.paths) for f in cross if f.severity == "error"} == \
        {frozenset(f.paths) for f in findings if f.severity == "error"}


# ------------------------------------------------------------------------------------------------
# Flat images, label conflicts, large groups

def test_flat_images_give_no_near_pairs():
    """Uniform images and distinct linear gradients: only identical images (exact) pair up."""
    x = np.linspace(0, 1, 200)[None, :]
    y = np.linspace(0, 1, 150)[:, None]
    ims = [Image.new("RGB", (200, 150), (v, v, v)) for v in (0, 1, 128, 129, 255)]
    ims += [Image.new("RGB", (200, 150), c) for c in ((30, 90, 200), (31, 90, 200))]
    for lo, hi in ((0, 255), (0, 128), (128, 255), (40, 60), (100, 110)):
        for g in (x + 0 * y, y + 0 * x, (x + y) / 2, np.hypot(x - 0.5, y - 0.5) / 0.71):
            ims.append(Image.fromarray((lo + (hi - lo) * g).astype(np.uint8)).convert("RGB"))
    items = [(f"{('train', 'val', 'test')[k % 3]}/flat/f{k:02d}.png", ("train", "val", "test")[k % 3], None, im)
             for k, im in enumerate(ims)]
    items.append(("test/flat/grey128_copy.png", "test", None, ims[2].copy()))
    table = table_from_images(items)
    findings = find_leakage(table, means_of(table))
    dup = [f for f in findings if f.kind in ("near", "mirror")]
    assert dup == [], [f.message for f in dup]
    exact = [f for f in findings if f.kind == "exact"]
    assert [set(f.paths) for f in exact] == [{"test/flat/f02.png", "test/flat/grey128_copy.png"}]


def test_label_conflict_reported_with_both_classes():
    im = texture(7)
    other = texture(8)
    items = [("train/cat/a.png", "train", "cat", im),
             ("test/dog/a_copy.jpg", "test", "dog", TRANSFORMS["jpeg60"](im)),
             ("train/cat/b.png", "train", "cat", other),
             ("val/dog/b.png", "val", "dog", other.copy())]
    table = table_from_images(items)
    findings = find_leakage(table, means_of(table))
    conflicts = [f for f in findings if f.kind == "label_conflict"]
    assert len(conflicts) == 2
    near = next(f for f in conflicts if "a_copy" in f.message)
    assert near.severity == "error" and "'cat'" in near.message and "'dog'" in near.message
    exact = next(f for f in conflicts if "b.png" in f.message)
    assert exact.severity == "warning"
    # the duplicate findings are there too
    assert {f.kind for f in findings} >= {"near", "exact", "label_conflict"}


def test_large_exact_group_is_linear():
    im = texture(3, size=(64, 48))
    items = [(f"train/x/{k:03d}.png", "train", None, im) for k in range(60)]
    items += [(f"test/x/{k:03d}.png", "test", None, im) for k in range(3)]
    table = table_from_images(items)
    findings = find_leakage(table, means_of(table))
    exact = [f for f in findings if f.kind == "exact"]
    assert len(exact) == 62     # every file against one file of its group, not 63*62/2 pairs
    assert sum(f.severity == "error" for f in exact) == 3
    assert not [f for f in findings if f.kind in ("near", "mirror")]


# ------------------------------------------------------------------------------------------------
# Dataset-level findings

def _small_table():
    items = [("train/a/x.png", "train", "a", texture(1, (64, 48))),
             ("val/a/y.png", "val", "a", texture(2, (64, 48))),
             ("test/a/x.png", "test", "a", texture(3, (64, 48)))]
    return table_from_images(items)


@pytest.mark.parametrize("source, severity", [(["train"], None), (["train", "val"], "warning"),
                                              (["train", "test"], "error"),
                                              (["train", "val", "test"], "error")])
def test_stats_source(source, severity):
    table = _small_table()
    found = [f for f in find_leakage(table, means_of(table), source_splits=source) if f.kind == "stats_source"]
    if severity is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].severity == severity
        assert found[0].splits == tuple(s for s in source if s != "train") and found[0].rows == ()
        assert found[0].paths == () and "train" in found[0].message


def test_name_collision():
    table = _small_table()
    found = [f for f in find_leakage(table, means_of(table)) if f.kind == "name_collision"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "info" and set(f.paths) == {"train/a/x.png", "test/a/x.png"}
    assert "x.png" in f.message


def test_same_name_same_content_is_exact_not_collision():
    im = texture(4, (64, 48))
    table = table_from_images([("train/a/x.png", "train", "a", im), ("test/a/x.png", "test", "a", im.copy())])
    kinds = [f.kind for f in find_leakage(table, means_of(table))]
    assert "exact" in kinds and "name_collision" not in kinds


def test_drift():
    table = _small_table()
    t = leakage.DRIFT_THRESHOLD
    means = {"train": [0.5, 0.5, 0.5], "val": [0.5 + 2 * t, 0.5, 0.5], "test": [0.5, 0.5 + t / 2, 0.5]}
    drift = [f for f in find_leakage(table, means) if f.kind == "drift"]
    assert len(drift) == 1
    f = drift[0]
    assert f.severity == "info" and f.splits == ("val", "train")
    assert f.distance == pytest.approx(2 * t)
    assert [f.kind for f in find_leakage(table, {"val": [0.9, 0.9, 0.9]})].count("drift") == 0


def test_pair_severity_rules():
    assert leakage.pair_severity("train", "test") == "error"
    assert leakage.pair_severity("test", "train") == "error"
    assert leakage.pair_severity("train", "val") == "warning"
    assert leakage.pair_severity("val", "test") == "warning"
    assert leakage.pair_severity("val", "val") == "info"


# ------------------------------------------------------------------------------------------------
# Hashing

def test_content_hash_is_pixel_identity():
    im = texture(5, (64, 48))
    assert hashing.content_hash(im) == hashing.content_hash(reload(im, "PNG"))
    assert hashing.content_hash(im) == hashing.content_hash(reload(im, "BMP"))
    assert hashing.content_hash(im) != hashing.content_hash(reload(im, "JPEG", quality=95))
    assert hashing.content_hash(im) != hashing.content_hash(im.convert("L"))
    grey = im.convert("L")  # the same grey pixels stored as L or as RGB: one input to convert("RGB")
    assert hashing.content_hash(grey) == hashing.content_hash(grey.convert("RGB"))
    hi, lo = hashing.content_hash(im)
    assert 0 <= hi < 2 ** 64 and 0 <= lo < 2 ** 64


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16", "I"])
def test_perceptual_signature_shapes(mode):
    base = texture(6, (90, 70), colour=False)
    if mode == "RGB":
        im = base.convert("RGB")
    elif mode == "L":
        im = base
    else:
        im = Image.fromarray(np.asarray(base, dtype=np.uint16) * 257)
        im = im if mode == "I;16" else im.convert("I")
    h, t = hashing.perceptual_signature(im)
    assert h.dtype == np.uint64 and h.shape == (hashing.N_VIEWS,)
    assert t.dtype == np.uint8 and t.shape == (hashing.THUMB_SIZE, hashing.THUMB_SIZE)
    assert t.min() == 0 and t.max() == 255          # contrast-stretched
    # 16-bit data looks like its 8-bit version
    h8, t8 = hashing.perceptual_signature(base)
    assert np.bitwise_count(h[0] ^ h8[0]) <= 2
    assert np.abs(t.astype(int) - t8.astype(int)).max() <= 2


def test_perceptual_signature_of_flat_image():
    h, t = hashing.perceptual_signature(Image.new("RGB", (50, 40), (10, 20, 30)))
    assert not t.any()


def test_memory_per_image_within_budget():
    assert hashing.N_VIEWS * 8 + hashing.THUMB_SIZE ** 2 <= 1200


# ------------------------------------------------------------------------------------------------
# The sub-quadratic search

def _random_hashes(rng, n):
    h = rng.integers(0, 2 ** 63, size=(n, hashing.N_VIEWS), dtype=np.int64).astype(np.uint64)
    return h * np.uint64(2) + rng.integers(0, 2, size=(n, hashing.N_VIEWS)).astype(np.uint64)


@pytest.mark.parametrize("cross_only", [False, True])
def test_candidate_search_agrees_with_brute_force(cross_only):
    rng = np.random.default_rng(11)
    n = 1500
    h = _random_hashes(rng, n)
    # near pairs: row 2k+1 is row 2k with up to 12 bits flipped (all views alike, or one view only)
    for k in range(0, 500, 2):
        flips = rng.choice(64, int(rng.integers(0, 13)), replace=False)
        mask = np.uint64(sum(1 << int(f) for f in flips))
        if k % 4:
            h[k + 1] = h[k] ^ mask
        else:
            h[k + 1, int(rng.integers(0, hashing.N_VIEWS))] = h[k, 0] ^ mask
    groups = rng.integers(0, 3, n)
    for t in (0, 2, leakage.GUARANTEED_RADIUS, leakage.NEAR_THRESHOLD):
        a, b, d = leakage.near_candidates(h, t, groups=groups, cross_only=cross_only)
        A, B, D = leakage.brute_force_pairs(h, t, groups=groups, cross_only=cross_only)
        fast = dict(zip(zip(a.tolist(), b.tolist()), d.tolist()))
        ref = dict(zip(zip(A.tolist(), B.tolist()), D.tolist()))
        assert set(fast) <= set(ref)                            # never a pair above the threshold
        assert all(fast[p] == ref[p] for p in fast)             # and the right distance
        if t <= leakage.GUARANTEED_RADIUS:
            assert fast == ref                                  # pigeonhole: nothing missed
        else:
            # beyond the guarantee a pair needs one equal 16-bit chunk; most planted pairs have one
            assert len(fast) >= 0.5 * len(ref) and len(ref) > 50


def test_mih_join_blocks_give_the_same_answer():
    rng = np.random.default_rng(12)
    q = _random_hashes(rng, 400)[:, 0]
    idx = _random_hashes(rng, 300)
    idx[:100, 2] = q[:100] ^ np.uint64(0b1011)
    full = leakage.mih_join(q, idx, 5)
    small = leakage.mih_join(q, idx, 5, block=7)
    key = lambda r: sorted(zip(r[0].tolist(), r[1].tolist(), r[2].tolist()))  # noqa: E731
    assert key(full) == key(small)
    assert {(int(i), int(i)) for i in range(100)} <= set(zip(full[0].tolist(), full[1].tolist()))


def test_closest_per_query_against_python_reference():
    rng = np.random.default_rng(21)
    q = rng.integers(0, 30, 3000)
    m = rng.integers(0, 200, 3000)
    d = rng.integers(0, 11, 3000)
    k = 4
    got = leakage.closest_per_query(q, m, d, k)
    best: dict = {}
    for qi, mi, di in zip(q.tolist(), m.tolist(), d.tolist()):
        best[(qi, mi)] = min(di, best.get((qi, mi), 99))
    want = set()
    for qi in set(q.tolist()):
        mine = sorted((di, mi) for (qq, mi), di in best.items() if qq == qi)[:k]
        want |= {(qi, mi, di) for di, mi in mine}
    assert set(zip(*(a.tolist() for a in got))) == want


def test_candidates_stay_bounded_in_a_crowd_of_identical_hashes():
    n, k = 5000, 8
    h = np.tile(_random_hashes(np.random.default_rng(22), 1), (n, 1))  # every image hashes alike
    groups = np.arange(n) % 3
    a, b, d = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, cross_only=False, per_image=k)
    # a query meets its neighbourhood (about 3 segments of SEGMENT views of the bucket) per chunk
    # (pieces of a bucket that equal hashes do not shrink are skipped): linear in n, not n^2 / 2 =
    # 12.5 million pairs
    assert 0 < len(a) <= n * leakage.N_CHUNKS * join.SEGMENT < n * n // 4
    assert (groups[a] != groups[b]).any() and (groups[a] == groups[b]).any()
    assert (a < b).all() and (d == 0).all()
    assert np.bincount(np.concatenate([a, b]), minlength=n).min() >= 1  # every image keeps candidates


def test_every_pair_within_the_radius_is_found_in_crowded_buckets():
    """Hashes that share their two high chunks (tiny smooth pictures): every bucket of those
    chunks is crowded, so queries meet windows of them, and the piece passes still find every
    pair within GUARANTEED_RADIUS, while the work stays linear."""
    rng = np.random.default_rng(31)
    n = 4000
    low = rng.integers(0, 1 << 32, n, dtype=np.uint64)
    h = np.repeat((low | (np.uint64(0xBEEF1234) << np.uint64(32)))[:, None], hashing.N_VIEWS, axis=1)
    for k in range(0, 600, 2):  # planted pairs 1-3 bits apart, bits spread over the chunks
        bits = rng.choice(64, int(rng.integers(1, 4)), replace=False)
        h[k + 1] = h[k] ^ np.uint64(sum(1 << int(x) for x in bits))
    groups = rng.integers(0, 3, n)
    a, b, d = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups)
    A, B, _ = leakage.brute_force_pairs(h, leakage.GUARANTEED_RADIUS)
    assert len(A) >= 300
    assert set(zip(A.tolist(), B.tolist())) <= set(zip(a.tolist(), b.tolist()))


def test_bursts_inside_splits_do_not_crowd_out_a_copy_across_splits():
    rng = np.random.default_rng(23)
    base = _random_hashes(rng, 1)[0]
    flip = lambda h, bits: h ^ np.uint64(sum(1 << b for b in bits))  # noqa: E731
    train_burst = np.tile(base, (60, 1))                        # 60 frames, hash A
    test_burst = np.tile(flip(base, (1, 2, 3, 4)), (60, 1))      # 60 frames, 4 bits from A
    copy = flip(base, (1, 2, 3))[None, :]                        # 3 bits from A, 1 from the test burst
    h = np.concatenate([train_burst, test_burst, copy])
    groups = np.array([0] * 60 + [1] * 61)
    a, b, _ = leakage.near_candidates(h, leakage.NEAR_THRESHOLD, groups=groups, per_image=8)
    copy_row = len(h) - 1
    partners = set(b[a == copy_row].tolist()) | set(a[b == copy_row].tolist())
    assert partners & set(range(60)), "the copy lost its train candidates to its own split's burst"


def stroke(seed: int, side: int = 28) -> Image.Image:
    """A handwritten-"1"-like digit: one slightly bent, slanted antialiased stroke on black
    (MNIST-like), so that many distinct images look almost alike."""
    from PIL import ImageDraw
    rng = np.random.default_rng(5000 + seed)
    f = 8  # drawn at 8x, then reduced: sub-pixel variety as in scanned handwriting
    big = Image.new("L", (side * f, side * f), 0)
    ys = np.array([rng.uniform(3, 6), side / 2 + rng.uniform(-2, 2), side - rng.uniform(3, 6)]) * f
    xs = (side / 2 + rng.uniform(-4, 4) + np.array([1, 0, -1]) * rng.uniform(-3, 3)
          + rng.normal(0, 0.7, 3)) * f
    ImageDraw.Draw(big).line(list(zip(xs.tolist(), ys.tolist())), fill=255,
                             width=int(rng.integers(12, 26)), joint="curve")
    return big.resize((side, side), Image.LANCZOS)


def test_crowd_of_tiny_look_alikes_gives_no_false_pairs_but_finds_copies():
    items = [(f"train/1/s{i:04d}.png", "train", "1", stroke(i)) for i in range(600)]
    items += [(f"test/1/t{i:04d}.png", "test", "1", stroke(10_000 + i)) for i in range(200)]
    sources = [0, 1, 2]
    items.append(("test/1/copy_q60.png", "test", "1", reload(items[0][3], "JPEG", quality=60)))
    items.append(("test/1/copy_bright.png", "test", "1", ImageEnhance.Brightness(items[1][3]).enhance(1.1)))
    items.append(("test/1/copy_png.png", "test", "1", reload(items[2][3], "PNG")))
    table = table_from_images(items)
    findings = find_leakage(table, {})
    cross = [f for f in findings if f.kind in ("exact", "near", "mirror") and f.severity != "info"]
    pairs = {frozenset(f.paths) for f in cross}
    copies = [frozenset({items[s][0], items[-3 + j][0]}) for j, s in enumerate(sources)]
    assert all(c in pairs for c in copies), sorted(map(sorted, pairs))
    # No pair of visibly different strokes. Random strokes on a 28x28 grid now and then come out
    # the same to the eye (pixels 1-2 grey levels apart on average): those may be reported.
    pixels = {path: np.asarray(im, dtype=np.float64) for path, _, _, im in items}
    for pair in pairs - set(copies):
        p, q = sorted(pair)
        assert np.abs(pixels[p] - pixels[q]).mean() < 3.0, (p, q)
    assert {f.kind for f in cross if items[2][0] in f.paths} == {"exact"}


# ------------------------------------------------------------------------------------------------

def test_core_leakage_files_import_no_qt():
    files = [CORE / "hashing.py", CORE / "table_from_images.py", *sorted((CORE / "leakage").glob("*.py"))]
    assert len(files) >= 6
    for path in files:
        name = path.name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            assert not any(m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")
                           for m in mods), (name, mods)


def test_empty_and_single_image_tables():
    empty = table_from_images([])
    assert find_leakage(empty, {}) == []
    one = table_from_images([("train/a/x.png", "train", "a", texture(1, (40, 30)))])
    assert find_leakage(one, means_of(one)) == []


def test_grey_file_and_rgb_file_with_the_same_pixels_are_exact_copies(tmp_path):
    from inspector.core.scan import scan
    grey = texture(31, (64, 48), colour=False)
    for split, name, im in (("train", "a.png", grey), ("test", "b.png", grey.convert("RGB")),
                            ("train", "c.png", texture(32, (64, 48)))):
        (tmp_path / split / "x").mkdir(parents=True, exist_ok=True)
        im.save(tmp_path / split / "x" / name)
    result = scan(str(tmp_path), workers=1)
    assert result is not None and result.mode == "RGB"
    found = [f for f in leakage.scan_leakage(result) if f.kind in ("exact", "near")]
    assert [(f.kind, f.severity, f.paths) for f in found] == [("exact", "error", ("train/x/a.png", "test/x/b.png"))]


def test_sequential_names_collide_as_one_finding_per_split_pair():
    """img_000.png .. in every split: one grouped finding per pair of splits (count + examples),
    not one per name; a name whose files are identical is an exact copy, not counted."""
    items, k = [], 0
    for split, n in (("train", 6), ("val", 5), ("test", 2)):
        for i in range(n):
            k += 1
            items.append((f"{split}/a/img_{i:03d}.png", split, "a", texture(100 + k, (40, 30))))
    same = texture(99, (40, 30))
    items += [("train/a/same.png", "train", "a", same), ("val/a/same.png", "val", "a", same.copy())]
    table = table_from_images(items)
    found = [f for f in find_leakage(table, means_of(table)) if f.kind == "name_collision"]
    by_splits = {f.splits: f for f in found}
    assert sorted(by_splits) == [("train", "test"), ("train", "val"), ("val", "test")]
    tv = by_splits[("train", "val")]
    assert tv.message.startswith("Name collision: 5 file names appear in both train and val")
    assert "'img_000.png', 'img_001.png', 'img_002.png' and 2 more" in tv.message
    assert "same.png" not in tv.message
    assert tv.paths == ("train/a/img_000.png", "val/a/img_000.png") and len(tv.rows) == 2
    assert "2 file names appear in both val and test" in by_splits[("val", "test")].message


def test_stats_source_advice_fits_a_dataset_without_train():
    from inspector.core.leakage import stats_source_findings

    with_train = stats_source_findings(["train", "val"], ["train", "val", "test"])[0]
    assert with_train.severity == "warning" and "train only" in with_train.message
    no_train = stats_source_findings(["val", "test"], ["val", "test"])[0]
    assert no_train.severity == "error" and "train only" not in no_train.message
    assert "no train split" in no_train.message


def test_best_partners_over_blocks_keep_what_ranking_all_pairs_at_once_keeps():
    from inspector.core.leakage.partners import BestPartners
    rng = np.random.default_rng(41)
    n, k = 300, 3
    a = rng.integers(0, n, 5000)
    b = rng.integers(0, n, 5000)
    keep = a != b
    a, b = a[keep], b[keep]
    rank = rng.permutation(len(a)).astype(np.float64)     # distinct ranks: one right answer
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    a, b = lo, hi
    _, first = np.unique(a * n + b, return_index=True)    # one rank per pair
    a, b, rank = a[first], b[first], rank[first]
    want = leakage.closest_either_side(a, b, rank, k)
    best = BestPartners(n, k)
    order = rng.permutation(len(a))
    for part in np.array_split(order, 17):                # the blocks arrive in any order
        best.add(a[part], b[part], rank[part])
    got_a, got_b = best.pairs()
    assert set(zip(got_a.tolist(), got_b.tolist())) == set(zip(a[want].tolist(), b[want].tolist()))


def test_the_validation_findings_are_made_in_a_thread_beside_the_search_and_all_returned(tmp_path, monkeypatch):
    import threading
    from inspector.core import validation
    from inspector.core.scan import scan
    for split, name, seed in (("train", "a.png", 41), ("train", "b.png", 42), ("test", "c.png", 43)):
        (tmp_path / split / ("x" if name != "b.png" else "y")).mkdir(parents=True, exist_ok=True)
        texture(seed, (64, 48)).save(tmp_path / split / ("x" if name != "b.png" else "y") / name)
    result = scan(str(tmp_path), workers=1)
    alone = validation.validation_findings(result)
    assert alone   # a class missing from test: something to find
    made_in = []
    real = validation.validation_findings

    def recording(r):
        made_in.append(threading.current_thread().name)
        return real(r)

    monkeypatch.setattr(validation, "validation_findings", recording)
    found = leakage.scan_leakage(result)
    assert made_in and made_in[0].startswith("validation") and made_in[0] != threading.current_thread().name
    assert all(f in found for f in alone)
    assert found == leakage.checks.sort_findings(found)
