"""Exactness of the statistics engine against an independent float64 numpy reference."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagefactory import GOOD_MODES, make_good_images, random_image, write_image
from inspector.core import stats
from inspector.core.decode import decode
from inspector.core.scan import scan

SINGLE_CHANNEL = {"L", "1", "LA", "I;16"}


def reference_pixels(path: Path, dataset_mode: str) -> np.ndarray:
    """(pixels, C) float64 on the 0-1 scale, as a training loader sees the file (DESIGN section 3)."""
    with Image.open(path) as im:
        im.load()
        if im.mode in ("I;16", "I"):
            grey = np.asarray(im, dtype=np.float64) / 65535.0
        elif im.mode in SINGLE_CHANNEL:
            grey = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
        else:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
            assert dataset_mode == "RGB"
            return rgb.reshape(-1, 3)
    grey = grey.reshape(-1, 1)
    return np.repeat(grey, 3, axis=1) if dataset_mode == "RGB" else grey


def assert_close(a, b, rel=1e-9):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rel, atol=1e-12)


@pytest.mark.parametrize("modes", [GOOD_MODES, ("L", "1", "LA"), ("L", "I;16"), ("RGB", "P", "CMYK")])
def test_split_statistics_match_numpy_reference(tmp_path, modes):
    train = make_good_images(tmp_path, "train", 24, modes=modes, seed=1, label="a")
    val = make_good_images(tmp_path, "val", 9, modes=modes, seed=2)
    result = scan(str(tmp_path), workers=1)
    dataset_mode = "L" if set(modes) <= SINGLE_CHANNEL else "RGB"
    assert result.mode == dataset_mode
    for split, files in (("train", train), ("val", val)):
        ref = np.concatenate([reference_pixels(p, dataset_mode) for p in files])
        st = result.split_stats[split]
        assert st.images == len(files) and st.failed == 0
        assert st.pixels == ref.shape[0]
        assert_close(st.mean, ref.mean(axis=0))
        assert_close(st.std, ref.std(axis=0))  # population std, ddof=0, pixel-weighted
        assert_close(st.min, ref.min(axis=0))
        assert_close(st.max, ref.max(axis=0))
        for q in stats.PERCENTILES:
            assert_close(st.percentiles[f"p{q:g}"], np.percentile(ref, q, axis=0))
        per_image_std = np.array([reference_pixels(p, dataset_mode).std(axis=0) for p in files])
        assert_close(st.mean_of_image_std, per_image_std.mean(axis=0))
        # Integer histogram: total counts equal pixels per channel.
        assert st.histogram.dtype == np.int64
        assert (st.histogram.sum(axis=1) == st.pixels).all()


def test_per_image_records_match_reference(tmp_path):
    files = make_good_images(tmp_path, "train", 16, seed=3)
    result = scan(str(tmp_path), workers=1)
    t = result.images
    for i, path in enumerate(t.paths):
        ref = reference_pixels(tmp_path / path, result.mode)
        assert_close(t.mean[i], ref.mean(axis=0))
        assert_close(t.std[i], ref.std(axis=0))
        with Image.open(tmp_path / path) as im:
            assert (int(t.width[i]), int(t.height[i])) == im.size
    assert len(t) == len(files)


def test_sixteen_bit_merges_exactly_with_eight_bit():
    h8 = np.zeros((1, 256), np.int64)
    h8[0, [0, 1, 255]] = [3, 2, 1]
    h16 = stats.to_grid16(h8)
    assert h16[0, 257] == 2 and h16[0, 65535] == 1
    m8, s8 = stats.mean_std(h8)
    m16, s16 = stats.mean_std(h16)
    assert_close(m8, m16, rel=1e-15)
    assert_close(s8, s16, rel=1e-12)
    assert (stats.to_256_bins(h16) == h8).all()


def test_accumulators_merge_exactly():
    rng = np.random.default_rng(0)
    a, b, whole = stats.SplitAccumulator(), stats.SplitAccumulator(), stats.SplitAccumulator()
    for i in range(10):
        im = Image.fromarray(rng.integers(0, 256, (7 + i, 5, 3), dtype=np.uint8))
        h = stats.image_histogram(im)
        _, std, _, _ = stats.image_moments(h)
        (a if i % 2 else b).add(h, std, "RGB", "PNG", [])
        whole.add(h, std, "RGB", "PNG", [])
    a.merge(b)
    assert (a.histogram("RGB") == whole.histogram("RGB")).all()
    assert a.images == whole.images == 10


def test_moments_stay_exact_beyond_int64():
    # A histogram whose sum of squares overflows int64 must still give the exact mean and std.
    h = np.zeros((1, 65536), np.int64)
    h[0, 65535] = 3 * 10**12
    h[0, 0] = 10**12
    n, s1, s2 = stats.exact_moments(h)[0]
    assert s2 == 3 * 10**12 * 65535**2
    mean, std = stats.mean_std(h)
    assert mean[0] == pytest.approx(0.75, rel=1e-15)
    assert std[0] == pytest.approx(math.sqrt(0.75 * 0.25), rel=1e-12)


def test_size_summary():
    w = np.array([10, 20, 20, 30])
    h = np.array([10, 10, 10, 60])
    s = stats.size_summary(w, h)
    assert s["count"] == 4
    assert s["most_common"][0] == [20, 10, 2]
    assert s["orientation"] == {"landscape": 2, "portrait": 1, "square": 1}
    assert s["aspect_ratio"]["max"] == 2.0
    assert "file_bytes" not in s
    f = stats.size_summary(w, h, nbytes=np.array([100, 300, 200, 1000]))["file_bytes"]
    assert f == {"min": 100.0, "max": 1000.0, "mean": 400.0, "median": 250.0, "total": 1600}


def test_rgb_dataset_with_grey_image_replicates_channel(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    write_image(tmp_path / "train" / "g.png", grey)
    write_image(tmp_path / "train" / "c.png", np.zeros((4, 4, 3), np.uint8))
    result = scan(str(tmp_path), workers=1)
    st = result.split_stats["train"]
    assert result.mode == "RGB"
    ref = np.concatenate([np.repeat(grey.reshape(-1, 1) / 255.0, 3, axis=1), np.zeros((16, 3))])
    assert_close(st.mean, ref.mean(axis=0))
    assert st.mean[0] == st.mean[1] == st.mean[2]


def test_mean_of_image_std_does_not_depend_on_how_images_are_grouped():
    """Chunks differ with the worker count and the cluster: every grouping must give the same bits."""
    rng = np.random.default_rng(7)
    stds = rng.random((60, 3)) * 0.5
    hist = np.zeros((3, 256), np.int64)
    results = []
    for group in (1, 4, 7, 60):
        total = stats.SplitAccumulator()
        for start in range(0, len(stds), group):
            part = stats.SplitAccumulator()
            for s in stds[start:start + group]:
                part.add(hist, s, "RGB", "PNG", [])
            total.merge(part)
        results.append(total.mean_of_image_std("RGB").tolist())
    assert all(r == results[0] for r in results)
    exact = [math.fsum(stds[:, c]) / 60 for c in range(3)]  # fsum: the correctly rounded sum
    np.testing.assert_allclose(results[0], exact, rtol=1e-15)


def test_median_is_numpys_to_the_bit_without_numpy_ma():
    import subprocess
    import sys

    from inspector.core.median import median

    rng = np.random.default_rng(3)
    for n in range(1, 30):
        for dtype in (np.int32, np.int64, np.uint8, np.float32, np.float64):
            a = (rng.random(n) * 1000 - (0 if dtype == np.uint8 else 500)).astype(dtype)
            assert median(a) == float(np.median(a)), (n, dtype)
    assert median(np.array([2**62, 2**62 + 3], np.int64)) == float(np.median(np.array([2**62, 2**62 + 3])))
    assert math.isnan(median(np.array([1.0, math.nan, 2.0]))) and math.isnan(median(np.zeros(0)))
    probe = ("import sys, numpy as np; from inspector.core.median import median; "
             "median(np.arange(7.0)); print('numpy.ma' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=str(Path(__file__).resolve().parents[1])).stdout.strip() == "False"


def test_size_counts_are_numpys_rows_with_counts():
    rng = np.random.default_rng(8)
    for n in (1, 7, 500):
        width = rng.integers(1, 40, n).astype(np.int32)
        height = rng.choice([1, 5, 2**31 - 1], n).astype(np.int32)
        pairs, counts = stats._size_counts(width, height)
        ref_pairs, ref_counts = np.unique(np.stack([width, height], axis=1), axis=0, return_counts=True)
        assert pairs.tolist() == ref_pairs.tolist() and counts.tolist() == ref_counts.tolist()
        summary = stats.size_summary(width, height)
        order = np.argsort(-ref_counts, kind="stable")[:10]
        assert summary["most_common"] == [[int(ref_pairs[i][0]), int(ref_pairs[i][1]), int(ref_counts[i])] for i in order]


@pytest.mark.parametrize("mode", GOOD_MODES)
def test_image_histogram_is_numpys_count_of_the_decoded_pixels(tmp_path, mode):
    # Pillow's C histogram (8-bit) and numpy's bincount (16-bit) against numpy's count of every
    # canonical pixel, for each file mode the scan reads (converted to RGB, L or I;16 first)
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    random_image(mode, (61, 37), seed=len(mode)).save(path)
    im = decode(str(path)).image
    a = np.asarray(im).astype(np.int64)
    planes = a.reshape(-1, a.shape[2]).T if a.ndim == 3 else a.reshape(1, -1)
    bins = 65536 if im.mode == "I;16" else 256
    expected = np.stack([np.bincount(p, minlength=bins) for p in planes])
    hist = stats.image_histogram(im)
    assert hist.dtype == np.int64 and hist.shape == expected.shape
    np.testing.assert_array_equal(hist, expected)
