"""The band pass (leakage/overlay.py) on captions over smooth pictures: it re-aligns the pair with
the caption rows left out, and a picture whose own detail lies in one band of rows is not taken for
two pictures under one caption."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector.core.leakage import find_leakage, overlay
from inspector.core.table_from_images import table_from_images
from test_leakage import means_of
from test_leakage_edits import lettering, reload


def strip_picture(seed: int, size: tuple[int, int] = (240, 240)) -> Image.Image:
    """A dark, smooth picture (a ramp with faint soft detail) whose detail lies in one band of rows
    over the top third (a seed head over a plain ground)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    faint = np.asarray(Image.fromarray(rng.normal(0, 1, (h // 8, w // 8)).astype(np.float32), "F")
                       .resize((w, h), Image.BICUBIC))
    a = 60 + 30 * y + 10 * x + 2.0 * faint
    y0, y1 = round(0.1 * h), round(0.35 * h)
    tex = np.asarray(Image.fromarray(rng.normal(0, 1, ((y1 - y0) // 3, w // 3)).astype(np.float32), "F")
                     .resize((w, y1 - y0), Image.BICUBIC))
    a[y0:y1] += 25 * tex
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert("RGB")


def _near(items):
    table = table_from_images(items, split_names=["train", "val", "test"])
    return [f for f in find_leakage(table, means_of(table)) if f.kind in ("near", "mirror")]


@pytest.mark.parametrize("seed", [0, 2, 4, 9])
def test_a_caption_over_a_picture_whose_detail_lies_in_one_band_is_a_copy(seed):
    """Outside the caption the pair shares the band of detail and the faint rest of the picture:
    the caption rows, where the two differ, are not counted as where they share nothing."""
    im = strip_picture(seed)
    copy = reload(lettering(im, 0.82, 0.18, band=True, seed=seed), "JPEG", quality=90)
    found = _near([("train/a/copy.jpg", "train", "a", copy), ("test/a/orig.png", "test", "a", reload(im, "PNG"))])
    assert len(found) == 1 and any("caption" in d for d in found[0].differences), [f.message for f in found]


@pytest.mark.parametrize("seeds", [(0, 1), (2, 3), (4, 5)])
def test_two_pictures_with_their_detail_in_one_band_under_one_caption_are_not_copies(seeds):
    a, b = (lettering(strip_picture(s), 0.82, 0.18, band=True, seed=7) for s in seeds)
    assert not _near([("train/a/x.jpg", "train", "a", reload(a, "JPEG", quality=90)),
                      ("test/a/y.jpg", "test", "a", reload(b, "JPEG", quality=90))])


def test_the_band_pass_re_aligns_with_the_band_left_out():
    """Handed a centred alignment a caption pulled off (4.5% of a's border removed), the band pass
    comes back towards the uncropped alignment once the caption rows are left out."""
    im = strip_picture(3)
    copy = reload(lettering(im, 0.82, 0.18, band=True, seed=3), "JPEG", quality=90)
    table = table_from_images([("train/a/copy.jpg", "train", "a", copy), ("test/a/orig.png", "test", "a", im)],
                              split_names=["train", "val", "test"])
    ta, tb = table.thumb[[0]], table.thumb[[1]]
    off = np.array([0.045]), np.array([0.0])
    at_off = overlay.band_scores(overlay.aligned(ta, off[0]), overlay.aligned(tb, off[1]))
    sc, crop_a, crop_b = overlay.realigned_band_scores(ta, tb, *off, np.array([False]))
    assert crop_a[0] <= 0.015 and crop_b[0] == 0.0
    assert sc.band[0, 1] == 1.0 and sc.corr[0] > 0.999 and sc.fine[0] > 0.99
    assert sc.corr[0] + sc.fine[0] > at_off.corr[0] + at_off.fine[0] + 0.01


def test_a_caption_holding_most_of_the_variance_is_where_the_pair_disagrees():
    """Two pictures that agree exactly outside a caption band disagree only in it, however much more
    variance the caption has than the faint picture it lies on (a near-white sky): the disagreement
    is measured in units of the kept rows, not of the whole copy, which the caption dominates."""
    from inspector.core.leakage.thumbs import CMP
    rng = np.random.default_rng(11)
    sky = 240 + np.linspace(0, 6, CMP)[:, None] + rng.normal(0, 0.4, (CMP, CMP))
    copy = sky.copy()
    copy[-5:] = np.where(rng.random((5, CMP)) < 0.3, 255.0, 0.0)        # black band, white text
    sc = overlay.band_scores(copy[None].astype(np.float32), sky[None].astype(np.float32))
    assert sc.band[0, 0] <= 19 / CMP and sc.band[0, 1] == 1.0
    assert sc.corr[0] > 0.999 and sc.concentration[0] > 0.99


def look_alike_sunset(rng: np.random.Generator, h: int = 240, w: int = 320) -> Image.Image:
    """An orange-to-purple sky with a soft sun disc low over a dark horizon (the benchmark's
    look-alike sunsets: every one has the same parts in about the same places)."""
    y = np.linspace(0, 1, h)[:, None, None]
    top = np.array([70, 40, 110]) + rng.uniform(-20, 20, 3)
    bottom = np.array([250, 150, 60]) + rng.uniform(-20, 5, 3)
    a = top + (bottom - top) * y ** rng.uniform(0.6, 1.6) + np.zeros((h, w, 3))
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.55, 0.8) * h, rng.uniform(12, 28)
    yy, xx = np.mgrid[0:h, 0:w]
    a += (np.clip(1.2 - np.hypot(xx - cx, yy - cy) / r, 0, 1) * 80)[..., None]
    a[round(rng.uniform(0.8, 0.92) * h):] *= 0.15
    a += rng.normal(0, 1.2, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _sunsets_under_one_line(seed: int, same_sunset: bool = False):
    """Two sunsets (or one, twice) under the same line of text (a watermark for even seeds, a
    caption band for odd ones) at the same rows, both saved as JPEG."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.05, 0.5)
    first = look_alike_sunset(rng)
    second = first if same_sunset else look_alike_sunset(rng)
    return [reload(lettering(im, top, 0.12, band=bool(seed % 2), seed=seed), "JPEG", quality=q)
            for im, q in ((first, 90), (second, 90 if not same_sunset else 75))]


@pytest.mark.parametrize("seed", [57, 83, 103, 105, 178, 210, 236, 251])
def test_two_look_alike_sunsets_under_one_line_of_text_are_not_copies(seed):
    """The text holds most of the detail the two share and makes the whole look detailed; outside
    its rows they share only a sun disc and a horizon in about the same places, which is no
    evidence of one picture (each of these matched centred or at a window before)."""
    x, y = _sunsets_under_one_line(seed)
    assert not _near([("train/a/x.jpg", "train", "a", x), ("val/a/y.jpg", "val", "a", y)])


# Known miss since one-sided bars are trimmed (hashing.content_box): a flat sky along an edge reads
# as a one-sided bar at one JPEG quality and not at another, so the two copies are trimmed apart and
# what is left outside the text is too little evidence for the one-band rule. Strict: it fails once
# the trim agrees across re-encodings and these copies are found again.
@pytest.mark.xfail(strict=True, reason="one-sided trim of a flat sky differs between JPEG q90 and q75")
@pytest.mark.parametrize("seed", [42, 57, 83])
def test_one_sunset_under_one_line_of_text_re_encoded_is_a_copy(seed):
    x, y = _sunsets_under_one_line(seed, same_sunset=True)
    assert len(_near([("train/a/x.jpg", "train", "a", x), ("val/a/y.jpg", "val", "a", y)])) == 1
