"""inspector.core.normalize: every scheme against a float64 numpy reference, amplification of a
blank sky, exact fractions below zero from histograms, and the recommendation text."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector.core import normalize as nz

RGB_MEAN = (0.4850, 0.4560, 0.4060)
RGB_STD = (0.2290, 0.2240, 0.2250)


def _rgb(seed: int = 0, shape: tuple[int, int] = (24, 32)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(*shape, 3), dtype=np.uint8)


def _sky(seed: int = 0) -> np.ndarray:
    """128x128 blank blue sky (135, 206, 235) with sensor noise of std ~1 and a 6x6 white-ish cloud."""
    rng = np.random.default_rng(seed)
    sky = np.array([135.0, 206.0, 235.0]) + rng.normal(0.0, 1.0, size=(128, 128, 3))
    sky[60:66, 40:46] = (245.0, 245.0, 248.0)
    return np.clip(np.rint(sky), 0, 255).astype(np.uint8)


def _textured(seed: int = 0) -> np.ndarray:
    """A natural-like 128x128 image: smooth shading, edges, and fine texture over the whole range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    base = 0.5 + 0.25 * np.sin(2 * np.pi * (xx * rng.uniform(1, 3) + yy * rng.uniform(1, 3)))
    edges = 0.2 * (xx + 0.3 * yy > rng.uniform(0.3, 0.9))
    chans = [base + edges + rng.normal(0, 0.12, size=base.shape) + rng.uniform(-0.1, 0.1) for _ in range(3)]
    return np.clip(np.rint(np.stack(chans, axis=-1) * 200), 0, 255).astype(np.uint8)


# --- schemes vs a float64 reference ------------------------------------------------------------


def _reference(img: np.ndarray, scheme: str, mean=None, std=None, max_value=255.0) -> np.ndarray:
    x = img.astype(np.float64)
    axes = (0, 1)
    if scheme == "unit":
        return x / max_value
    if scheme == "symmetric":
        return x / (max_value / 2) - 1
    if scheme == "dataset":
        return (x / max_value - np.array(mean)) / np.array(std)
    if scheme == "per_image":
        x = x / max_value
        return (x - x.mean(axis=axes)) / np.maximum(x.std(axis=axes), nz.STD_FLOOR)
    lo, hi = x.min(axis=axes), x.max(axis=axes)
    return (x - lo) / (hi - lo)


@pytest.mark.parametrize("scheme", nz.SCHEMES)
def test_every_scheme_matches_numpy_reference_rgb(scheme):
    img = _rgb(1)
    got = nz.normalize(img, scheme, mean=RGB_MEAN, std=RGB_STD)
    assert got.dtype == np.float32 and got.shape == img.shape
    np.testing.assert_allclose(got, _reference(img, scheme, RGB_MEAN, RGB_STD), rtol=0, atol=1e-6)


@pytest.mark.parametrize("scheme", nz.SCHEMES)
def test_every_scheme_matches_numpy_reference_grey(scheme):
    img = _rgb(2)[:, :, 0]
    got = nz.normalize(img, scheme, mean=[0.45], std=[0.25])
    assert got.shape == img.shape
    ref = _reference(img[:, :, None], scheme, [0.45], [0.25])[:, :, 0]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("scheme", nz.SCHEMES)
def test_uint16_with_max_value_65535(scheme):
    img = np.random.default_rng(3).integers(0, 65536, size=(16, 20, 3), dtype=np.uint16)
    got = nz.normalize(img, scheme, mean=RGB_MEAN, std=RGB_STD, max_value=65535.0)
    ref = _reference(img, scheme, RGB_MEAN, RGB_STD, max_value=65535.0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


def test_scheme_ranges_and_known_values():
    img = np.array([[0, 255], [51, 128]], dtype=np.uint8)
    np.testing.assert_array_equal(nz.normalize(img, "unit"), np.float32([[0, 1], [0.2, 128 / 255]]))
    sym = nz.normalize(img, "symmetric")
    assert sym[0, 0] == -1 and sym[0, 1] == 1 and sym[1, 1] > 0  # 128/127.5 - 1 > 0
    np.testing.assert_array_equal(nz.normalize(img, "minmax"), np.float32([[0, 1], [0.2, 128 / 255]]))


def test_per_image_std_floor_keeps_uniform_image_finite():
    flat = np.full((8, 8, 3), 77, dtype=np.uint8)
    out = nz.normalize(flat, "per_image")
    assert np.all(np.isfinite(out)) and np.all(out == 0)
    # One grey level of difference in one pixel: the std is tiny but above the floor, so it is used as is.
    nearly = flat.copy()
    nearly[0, 0, 0] = 78
    x = nearly[:, :, 0] / 255.0
    expected = (x - x.mean()) / x.std()
    np.testing.assert_allclose(nz.normalize(nearly, "per_image")[:, :, 0], expected, atol=1e-5)
    assert x.std() > nz.STD_FLOOR


def test_minmax_constant_channel_is_zero():
    img = _rgb(4)
    img[:, :, 1] = 200
    out = nz.normalize(img, "minmax")
    assert np.all(out[:, :, 1] == 0)
    assert out[:, :, 0].min() == 0 and out[:, :, 0].max() == 1


def test_dataset_scheme_validates_parameters():
    img = _rgb(5)
    with pytest.raises(ValueError, match="mean and std"):
        nz.normalize(img, "dataset")
    with pytest.raises(ValueError, match="std must be positive"):
        nz.normalize(img, "dataset", mean=RGB_MEAN, std=(0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="3 finite"):
        nz.normalize(img, "dataset", mean=(0.5, 0.5), std=RGB_STD)
    with pytest.raises(ValueError, match="unknown scheme"):
        nz.normalize(img, "zscore")
    with pytest.raises(ValueError, match="max_value"):
        nz.normalize(np.full((2, 2), 1000, dtype=np.uint16), "unit")  # 16-bit data, 8-bit scale
    # A single mean/std broadcasts over the channels.
    np.testing.assert_array_equal(nz.normalize(img, "dataset", mean=[0.5], std=[0.25]),
                                  nz.normalize(img, "dataset", mean=[0.5] * 3, std=[0.25] * 3))


def test_labels_and_display_ranges():
    assert set(nz.SCHEME_LABELS) == set(nz.SCHEMES)
    assert nz.display_range("dataset") == nz.display_range("per_image") == nz.STANDARDIZED_RANGE
    assert nz.display_range("unit") == (0.0, 1.0) and nz.display_range("symmetric") == (-1.0, 1.0)


# --- luminance ---------------------------------------------------------------------------------


def test_luminance_matches_pillow_convert_L():
    img = _rgb(6, (64, 80))
    ours = nz.luminance(img)
    pil = np.asarray(Image.fromarray(img).convert("L"), dtype=np.float64)
    assert ours.shape == pil.shape and ours.dtype == np.float32
    # Pillow rounds to an integer (0.5) with fixed-point weights (a few thousandths more).
    assert np.abs(ours - pil).max() <= 0.5 + 5e-3
    exact = img.astype(np.float64) @ np.array([299, 587, 114]) / 1000
    np.testing.assert_allclose(ours, exact, atol=1e-4)


def test_luminance_of_grey_and_normalized_values():
    grey = _rgb(7)[:, :, 0]
    np.testing.assert_array_equal(nz.luminance(grey), grey.astype(np.float32))
    np.testing.assert_array_equal(nz.luminance(grey[:, :, None]), grey.astype(np.float32))
    img = _rgb(8)
    # Linear: luminance of [-1, 1] values == [-1, 1] of luminance.
    np.testing.assert_allclose(nz.luminance(nz.normalize(img, "symmetric")),
                               nz.normalize(nz.luminance(img), "symmetric"), atol=1e-6)
    with pytest.raises(ValueError):
        nz.luminance(np.zeros((4, 4, 4)))


# --- panel summary -----------------------------------------------------------------------------


def test_normalized_summary_per_channel_and_overall():
    values = nz.normalize(_rgb(9), "dataset", mean=RGB_MEAN, std=RGB_STD)
    values[0, 0, 0] = -9.0  # out of range: must land in the first bin
    values[0, 1, 2] = 7.0   # and in the last
    s = nz.normalized_summary(values, bins=80)
    v = values.astype(np.float64)
    flat = v.reshape(-1, 3)
    assert s.n_channels == 3 and s.n_values == v.size
    assert s.mean == pytest.approx(v.mean()) and s.std == pytest.approx(v.std())
    assert s.fraction_below_zero == pytest.approx(np.mean(v < 0))
    assert (s.min, s.max) == (-9.0, 7.0)
    np.testing.assert_allclose(s.channel_mean, flat.mean(axis=0))
    np.testing.assert_allclose(s.channel_std, flat.std(axis=0))
    np.testing.assert_allclose(s.channel_fraction_below_zero, (flat < 0).mean(axis=0))
    np.testing.assert_array_equal(s.channel_min, flat.min(axis=0))
    np.testing.assert_array_equal(s.channel_max, flat.max(axis=0))
    assert s.edges.shape == (81,) and s.edges[0] == -4 and s.edges[-1] == 4
    for c in range(3):
        ref, _ = np.histogram(np.clip(flat[:, c], -4, 4), bins=80, range=(-4, 4))
        np.testing.assert_array_equal(s.channel_counts[c], ref)
    np.testing.assert_array_equal(s.counts, s.channel_counts.sum(axis=0))
    assert s.counts.sum() == v.size and s.below_range == 1 and s.above_range == 1
    assert s.counts[0] >= 1 and s.counts[-1] >= 1


def test_normalized_summary_grey_and_zero_is_not_below_zero():
    values = np.array([[-0.5, 0.0], [0.0, 0.5]], dtype=np.float32)
    s = nz.normalized_summary(values)
    assert s.n_channels == 1 and s.fraction_below_zero == 0.25  # strictly < 0
    assert s.counts.shape == (nz.HISTOGRAM_BINS,)


# --- amplification -----------------------------------------------------------------------------


def test_blank_sky_is_amplified_more_than_10x_textured_about_1x():
    textured = [_textured(s) for s in range(4)]
    pixels = np.concatenate([t.reshape(-1, 3) for t in textured]) / 255.0
    dataset_std = pixels.std(axis=0)
    _, sky_std = nz.channel_mean_std(_sky())
    _, tex_std = nz.channel_mean_std(_textured(10))
    # The sort key (max over channels) is far above 10; even red, where the white cloud adds
    # the most contrast to the blue sky, is stretched more than 5x.
    assert nz.max_amplification(sky_std, dataset_std) > 10
    assert nz.amplification(sky_std, dataset_std).min() > 5
    tex_amp = nz.amplification(tex_std, dataset_std)
    assert np.all((tex_amp > 0.7) & (tex_amp < 1.5))


def test_amplification_of_uniform_image_is_large_and_finite():
    dataset_std = np.array([0.25, 0.25, 0.25])
    amp = nz.amplification(np.zeros(3), dataset_std)
    assert np.all(np.isfinite(amp)) and np.all(amp == 0.25 / nz.STD_FLOOR) and amp.min() > 1e5
    batch = nz.amplification(np.array([[0.25, 0.125, 0.0], [0.5, 0.5, 0.5]]), dataset_std)
    np.testing.assert_allclose(batch[:, :2], [[1.0, 2.0], [0.5, 0.5]])
    with pytest.raises(ValueError):
        nz.amplification(np.ones(3), np.array([0.2, 0.0, 0.2]))


def test_summarize_amplification_counts():
    dataset_std = np.array([0.2, 0.2, 0.2])
    # Max-over-channel amplification: 1, 2.5, ~6.67, 20, huge (uniform), and 4 (one low channel).
    image_std = np.array([
        [0.2, 0.2, 0.2],
        [0.08, 0.08, 0.08],
        [0.2, 0.03, 0.2],
        [0.01, 0.01, 0.01],
        [0.0, 0.0, 0.0],
        [0.2, 0.2, 0.05],
    ])
    image_mean = np.array([[0.1, 0.1, 0.1], [0.3, 0.3, 0.3], [0.5, 0.5, 0.5],
                           [0.7, 0.7, 0.7], [0.9, 0.9, 0.9], [0.2, 0.4, 0.6]])
    s = nz.summarize_amplification(image_mean, image_std, dataset_std)
    assert s.n_images == 6
    assert s.count_over == {2.0: 5, 5.0: 3, 10.0: 2}
    assert s.fraction_over[5.0] == pytest.approx(0.5)
    assert s.median == pytest.approx((4.0 + 0.2 / 0.03) / 2)
    assert s.max == pytest.approx(0.2 / nz.STD_FLOOR) and s.most_amplified_index == 4
    luma = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6])
    assert s.brightness_mean == pytest.approx(luma.mean())
    assert s.brightness_std == pytest.approx(luma.std())
    assert s.brightness_cv == pytest.approx(luma.std() / luma.mean())
    share = np.clip(image_mean.var(axis=0) / 0.04, 0, 1).mean()
    assert s.between_image_share == pytest.approx(share)


def test_summarize_amplification_empty():
    s = nz.summarize_amplification(np.zeros((0, 3)), np.zeros((0, 3)), np.array([0.2, 0.2, 0.2]))
    assert s.n_images == 0 and s.most_amplified_index is None and s.count_over[5.0] == 0


def test_between_image_share_is_law_of_total_variance():
    # Equal-size images: dataset variance = mean within-image variance + variance of image means.
    rng = np.random.default_rng(11)
    imgs = [np.clip(rng.normal(loc, 20, size=(32, 32, 3)), 0, 255).astype(np.uint8)
            for loc in (40, 90, 160, 220)]
    stats = [nz.channel_mean_std(i) for i in imgs]
    means, stds = np.array([m for m, _ in stats]), np.array([s for _, s in stats])
    pixels = np.concatenate([i.reshape(-1, 3) for i in imgs]) / 255.0
    s = nz.summarize_amplification(means, stds, pixels.std(axis=0))
    expected = (means.var(axis=0) / pixels.var(axis=0)).mean()
    assert s.between_image_share == pytest.approx(expected) and s.between_image_share > 0.8


# --- exact fraction below zero from histograms -------------------------------------------------


def _hist(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.bincount(np.concatenate([i[:, :, c].ravel() for i in images]), minlength=256)
                     for c in range(images[0].shape[2])])


@pytest.mark.parametrize("scheme", ["unit", "symmetric", "dataset", "minmax"])
def test_fraction_below_zero_from_histogram_is_exact(scheme):
    rng = np.random.default_rng(12)
    images = [_rgb(20 + k) for k in range(3)] + [rng.integers(100, 160, (24, 32, 3)).astype(np.uint8)]
    # A mean that is exactly a pixel value (100/255) tests "strictly below".
    mean, std = (100 / 255, 128 / 255, 0.4060), RGB_STD
    got = nz.fraction_below_zero_from_histogram(_hist(images), scheme, mean=mean, std=std)
    direct = np.concatenate([nz.normalize(i, scheme, mean=mean, std=std).reshape(-1, 3) for i in images])
    np.testing.assert_array_equal(got, (direct < 0).mean(axis=0))


def test_fraction_below_zero_symmetric_boundary_and_errors():
    hist = np.zeros((1, 256), dtype=np.int64)
    hist[0, 127] = 3
    hist[0, 128] = 1
    assert nz.fraction_below_zero_from_histogram(hist, "symmetric")[0] == 0.75
    assert nz.fraction_below_zero_from_histogram(np.zeros((2, 256), int), "symmetric").tolist() == [0, 0]
    with pytest.raises(ValueError, match="per_image"):
        nz.fraction_below_zero_from_histogram(hist, "per_image")
    with pytest.raises(ValueError, match="mean and std"):
        nz.fraction_below_zero_from_histogram(hist, "dataset")


# --- recommendation ----------------------------------------------------------------------------


def _summary(n_amplified: int, n: int = 100, spread: float = 0.0) -> nz.AmplificationSummary:
    stds = np.full((n, 3), 0.2)
    stds[:n_amplified] = 0.01  # 20x
    means = np.full((n, 3), 0.45) + spread * np.linspace(-1, 1, n)[:, None]
    return nz.summarize_amplification(means, stds, np.array(RGB_STD))


def test_recommend_quotes_numbers_and_warns_against_per_image():
    fractions = {"unit": np.zeros(3), "symmetric": np.array([0.5, 0.5, 0.5]),
                 "dataset": np.array([0.48, 0.47, 0.49])}
    rec = nz.recommend(_summary(4), RGB_MEAN, RGB_STD, fractions, ["train"])
    assert "dataset standardization with the train mean (0.4850, 0.4560, 0.4060)" in rec.text
    assert "std (0.2290, 0.2240, 0.2250)" in rec.text
    assert "4.0% of images (4 of 100) would be amplified more than 5x" in rec.text
    assert "Avoid per-image" in rec.text and any("Avoid per-image" in w for w in rec.warnings)
    assert "48.0% of input values are below zero" in rec.text and "(50.0% with [-1, 1])" in rec.text
    assert "leak" not in rec.text
    assert rec.facts["Amplified > 5x"] == "4.0% (4 of 100)"
    assert rec.facts["Mean (0-1)"] == "0.4850, 0.4560, 0.4060"
    assert rec.facts["Below zero, [0, 1]"] == "0.0%"
    assert rec.facts["Max amplification"].endswith("x")  # a row number would not match a sorted list


def test_recommend_flags_val_test_sources_as_leakage():
    rec = nz.recommend(_summary(0), RGB_MEAN, RGB_STD, {}, ["train", "val", "test"])
    assert rec.text.startswith("Warning:") and "val, test" in rec.text and "leaks" in rec.text
    assert rec.warnings and "train only" in rec.warnings[0]
    assert rec.facts["Statistics from"] == "train, val, test"
    # the advice never tells the user to use the leaking numbers
    assert "mean and std of train alone" in rec.text and "Use dataset standardization with the train + val" not in rec.text


def test_recommend_brightness_rule_and_determinism():
    calm = nz.recommend(_summary(0, spread=0.01), RGB_MEAN, RGB_STD, None, ["train"])
    assert "Brightness varies" not in calm.text and "Avoid" not in calm.text
    assert "0.0% of images (0 of 100)" in calm.text and calm.warnings == ()
    bright = _summary(0, spread=0.3)
    assert bright.between_image_share >= nz.BRIGHTNESS_SHARE_HIGH
    rec = nz.recommend(bright, RGB_MEAN, RGB_STD, None, ["train"])
    assert "Brightness varies strongly" in rec.text and "per-image standardization is an option." in rec.text
    assert f"{bright.brightness_std:.4f}" in rec.text
    assert nz.recommend(bright, RGB_MEAN, RGB_STD, None, ["train"]) == rec
    empty = nz.summarize_amplification(np.zeros((0, 3)), np.zeros((0, 3)), np.array(RGB_STD))
    assert nz.recommend(empty, RGB_MEAN, RGB_STD).text.startswith("No images")


def test_core_module_has_no_qt_imports():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(nz))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in names if "Qt" in m or "pyqtgraph" in m]
