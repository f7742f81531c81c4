"""The blur score's full-resolution structure term (validation/structure.py) and the combined
blurry score (issues.blur_score)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inspector.core import hashing
from inspector.core.stats import image_histogram, image_moments
from inspector.core.validation import properties as P
from inspector.core.validation import structure as S
from inspector.core.validation.issues import THRESHOLDS, blur_score

GRID_CUT = 0.028  # the grid detail's own cut at the clean corpus's 1st percentile (the score before)


def _natural_lines(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """(m, n) random walks: detail whose e(k) grows as k, like a photo's."""
    return 128 + np.cumsum(rng.normal(0, 3, (m, n)), axis=1)


def _reference(lines: np.ndarray, k: int) -> float:
    d = lines[:, k:].astype(np.float64) - lines[:, :-k]
    return float((d * d).mean())


def test_lag_energies_match_a_float64_reference_per_image_and_never_cross_lines():
    rng = np.random.default_rng(0)
    images = [np.clip(_natural_lines(rng, m, n), 0, 255).astype(np.uint8)
              for m, n in ((8, 300), (3, 17), (8, 41), (5, 9))]
    # a line that ends far from where the next one starts: a difference across them would be huge
    images[1][:, -1] = 255
    images[1][:, 0] = 0
    got = S.lag_energies(images, 1)
    for a, row in zip(images, got):
        want = [_reference(a, k) for k in S.LAGS]
        np.testing.assert_allclose(row, want, rtol=1e-5)
    # each image's values do not depend on the images measured with it
    alone = np.array([S.lag_energies([a], 1)[0] for a in images])
    np.testing.assert_array_equal(got, alone)
    unit2 = S.lag_energies(images[:1], 2)[0]
    np.testing.assert_allclose(unit2, [_reference(images[0], 2 * k) for k in S.LAGS], rtol=1e-5)


def test_structure_is_a_quarter_when_smooth_a_half_when_natural_and_noise_cancels():
    rng = np.random.default_rng(1)
    natural = _natural_lines(rng, 8, 400)
    smooth = np.stack([np.convolve(r, np.ones(25) / 25, mode="same") for r in natural])[:, 30:-30]
    noisy_smooth = smooth + rng.normal(0, 2.0, smooth.shape)  # noise twice the size of its steps
    r = {name: S.structure_ratio(S.lag_energies([a.astype(np.float32)], 1))[0]
         for name, a in (("natural", natural), ("smooth", smooth), ("noisy", noisy_smooth))}
    assert r["natural"] == pytest.approx(0.5, abs=0.08)
    assert r["smooth"] == pytest.approx(0.25, abs=0.03)
    assert r["noisy"] < 0.35  # the noise adds the same to every lag: the differences drop it
    # no rise from lag 2 to lag 4 (white noise): no sign of smoothness
    white = rng.normal(128, 20, (8, 400))
    assert S.structure_ratio(S.lag_energies([white], 1))[0] > 0.6


def test_the_weaker_direction_counts_and_short_lines_are_left_out():
    rng = np.random.default_rng(2)
    natural = _natural_lines(rng, 8, 300)
    smooth = np.stack([np.convolve(r, np.ones(31) / 31, mode="same") for r in natural])[:, 40:-40]
    got = S.line_structure([smooth, natural[:, :4]], [natural, natural])
    assert got[0] < 0.3  # rows smooth (a motion blur along them), columns sharp
    assert got[1] == pytest.approx(S.line_structure([natural], [natural])[0])  # 4 px rows: columns only
    assert np.isnan(S.line_structure([natural[:, :3]], [natural[:, :4]])[0])
    assert S.lag_unit(300) == 1 and S.lag_unit(1024) == 2 and S.lag_unit(3000) == 6


def test_sample_keeps_evenly_spread_full_resolution_rows_and_columns():
    im = Image.fromarray(np.random.default_rng(3).integers(0, 256, (90, 130, 3), dtype=np.uint8))
    s = P.sample(im, image_histogram(im), np.zeros(3), np.zeros(3), hashing.grey_grid(im))
    green = np.asarray(im)[..., 1]
    ys, xs = range(90)[S.line_positions(90)], range(130)[S.line_positions(130)]
    assert len(ys) == len(xs) == S.LINES and ys[0] > 0 and ys[-1] < 89 and xs[0] > 0 and xs[-1] < 129
    assert list(range(5)[S.line_positions(5)]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(s.rows, green[ys])
    np.testing.assert_array_equal(s.cols, green[:, xs].T)


def _camera(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Sensor-like noise (std 1 level) and JPEG at quality 85, as a camera would save a photo."""
    a = np.asarray(im, np.float64) + rng.normal(0, 1.0, (im.height, im.width, 1))
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8)).save(buf, "JPEG", quality=85)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _photo(seed: int, size=(320, 240)) -> Image.Image:
    """Smooth regions with sharp-edged shapes and fine texture in some of them: a photo's mix."""
    rng = np.random.default_rng(seed)
    w, h = size
    a = np.zeros((h, w, 3)) + rng.uniform(60, 180, 3)
    y, x = np.mgrid[:h, :w]
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 60)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        a[inside] = rng.uniform(20, 235, 3) + rng.normal(0, rng.uniform(0, 12), (int(inside.sum()), 1))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _scores(im: Image.Image) -> tuple[float, float]:
    """(the combined blurry score, the grid's detail alone) of one image."""
    hist = image_histogram(im)
    m = np.array(image_moments(hist))
    p = P.measure(im, hist, m[0], m[1], hashing.grey_grid(im))
    return float(blur_score(p[None])[0]), float(p[P.DETAIL])


def test_hard_edged_blurs_score_far_below_the_sharp_photo_and_the_grid_alone_misses_a_box_blur():
    """Box, motion and disc kernels leave the 64 px grid one-step differences that read as detail;
    with the full-resolution structure a blurred photo scores a small share of the same photo
    unblurred (with the same noise and JPEG), which stays far above the threshold."""
    rng = np.random.default_rng(4)
    cut = THRESHOLDS["blurry"]
    for seed in (1, 2, 3):
        photo = _photo(seed)
        a = np.asarray(photo, np.float64)
        streak = sum(np.roll(a, k, axis=1) for k in range(-18, 19)) / 37  # 15% of the short side
        sharp = _scores(_camera(photo, rng))[0]
        assert sharp > 5 * cut, seed
        blurs = {"box": photo.filter(ImageFilter.BoxBlur(10)), "gaussian": photo.filter(ImageFilter.GaussianBlur(10)),
                 "motion": Image.fromarray(streak.round().astype(np.uint8))}
        for name, blurred in blurs.items():
            # motion: the rows' structure counts, not the sharp columns'; the grid's geometric mean
            # of rows and columns keeps it nearer the cut (motion is the hardest family)
            assert _scores(_camera(blurred, rng))[0] < (0.25 if name == "motion" else 0.1) * sharp, (seed, name)
    # a box blur of 4% of the short side: the grid alone reads it as sharp, the combined score flags it
    combined, grid_only = _scores(_camera(_photo(1).filter(ImageFilter.BoxBlur(10)), rng))
    assert combined < cut and grid_only > GRID_CUT
