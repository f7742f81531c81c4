"""Copies the confirmation's other rules refused although they agree as only copies do (issue 10):
greyscale copies made with other channel weights than the thumbnail's (confirmation.GREY_MIX_*),
and off-centre windows between two files of one size, a crop resized back to the old size or a
shift (confirmation.SAME_SIZE_WINDOW_*); and the look-alikes those rules must still refuse."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inspector.core.leakage import confirmation
from test_leakage import sky, texture
from test_leakage_edits import reload
from test_leakage_shift import _near, patchy

PAIR = frozenset(("train/c/a.png", "test/c/b.png"))


def grey_mix(im: Image.Image, weights) -> Image.Image:
    """Saved as greyscale with these channel weights (tools differ: not always the luma ones)."""
    a = np.asarray(im.convert("RGB"), np.float64)
    return Image.fromarray(np.clip(np.round(a @ np.asarray(weights, np.float64)), 0, 255).astype(np.uint8), "L")


def _grey_copies_found() -> int:
    rng = np.random.default_rng(5)
    found = 0
    for s in range(12):
        im = texture(900 + s)
        copy = reload(grey_mix(im, rng.dirichlet([3, 5, 1.5])), "PNG")
        pairs = _near([("train/c/a.png", "train", "c", im), ("test/c/b.png", "test", "c", copy)])
        if PAIR in pairs:
            found += 1
            assert "greyscale" in pairs[PAIR].differences, pairs[PAIR].differences
    return found


def test_greyscale_copies_with_other_channel_weights_are_found(monkeypatch):
    """A random mix of the channels changes the contrast between colours, not the edges: the
    texture's channels are independent noise, the hardest case (its grey copies correlate 0.90-0.94
    whole, fine detail 0.93-0.95)."""
    found = _grey_copies_found()
    monkeypatch.setattr(confirmation, "GREY_MIX_FINE", 2.0)   # without the rule
    without = _grey_copies_found()
    assert found >= 9 and found >= without + 3, (found, without)


def test_grey_neighbours_and_grey_skies_are_not_copies():
    """The rule asks one grey and one colour file: grey crops of the photo next to a colour crop,
    and grey look-alike skies against colour ones, must not pair."""
    rng = np.random.default_rng(6)
    items = []
    for s in range(6):
        big = texture(950 + s, (480, 180))
        items += [(f"train/n/l{s}.png", "train", "n", big.crop((0, 0, 240, 180))),
                  (f"val/n/r{s}.png", "val", "n", reload(grey_mix(big.crop((240, 0, 480, 180)), rng.dirichlet([3, 5, 1.5])), "PNG")),
                  (f"train/s/a{s}.png", "train", "s", sky(970 + s)),
                  (f"test/s/b{s}.png", "test", "s", reload(grey_mix(sky(990 + s), rng.dirichlet([3, 5, 1.5])), "PNG"))]
    found = _near(items)
    assert not found, [f.message for f in found.values()]


def _resized_back_found(share: float) -> int:
    rng = np.random.default_rng(81)
    found = 0
    for seed in range(20):
        im = patchy(800 + seed, share=share)
        w, h = im.size
        left, top = rng.uniform(0.04, 0.14) * (rng.random() < 0.7), rng.uniform(0.04, 0.14) * (rng.random() < 0.6)
        right, bottom = (0.0, 0.0) if rng.random() < 0.5 else (rng.uniform(0, 0.05), rng.uniform(0, 0.05))
        crop = im.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))
        copy = reload(crop.resize(im.size, Image.BICUBIC), "JPEG", quality=int(rng.integers(80, 96)))
        found += frozenset(("train/c/a.png", "test/c/b.jpg")) in _near(
            [("train/c/a.png", "train", "c", im), ("test/c/b.jpg", "test", "c", copy)])
    return found


def test_off_centre_crops_resized_back_with_detail_in_places_are_found(monkeypatch):
    """Re-exported at the old size, an off-centre crop has more pixels than what it shows, so the
    size rule cannot hold; a subject on a plain ground has its detail somewhat spread only, which
    the resized-back rule (WINDOW_ASPECT_SPREAD) did not take."""
    found = _resized_back_found(0.25)
    monkeypatch.setattr(confirmation, "SAME_SIZE_WINDOW_FINE", 2.0)   # without the rule
    without = _resized_back_found(0.25)
    assert found >= 17 and found >= without + 5, (found, without)


def test_same_size_neighbouring_crops_and_skies_are_not_copies():
    """Crops of one such picture side by side and overlapping by little more than a third, of one
    size, and look-alike skies of one size, must not pair at an off-centre window."""
    items = []
    for seed in range(8):
        big = patchy(900 + seed, (600, 180), share=0.25)
        items += [(f"train/n/a{seed}.png", "train", "n", big.crop((0, 0, 240, 180))),
                  (f"val/n/b{seed}.jpg", "val", "n", reload(big.crop((240, 0, 480, 180)), "JPEG", quality=90)),
                  (f"test/n/c{seed}.jpg", "test", "n", reload(big.crop((150, 0, 390, 180)), "JPEG", quality=90))]
    for k in range(8):
        items += [(f"train/s/s{k}.png", "train", "s", sky(700 + k)),
                  (f"test/s/t{k}.jpg", "test", "s", reload(sky(720 + k), "JPEG", quality=90))]
    found = _near(items)
    assert not found, [f.message for f in found.values()]


@pytest.mark.parametrize("fine", [0.79, 0.81])
def test_the_same_size_window_rule_asks_its_bars(fine):
    """The rule itself: one size, detail somewhat spread, and its correlation and fine detail."""
    from types import SimpleNamespace
    from inspector.core.table_from_images import table_from_images
    im = patchy(810, share=0.25)
    table = table_from_images([("train/c/a.png", "train", "c", im), ("test/c/b.png", "test", "c", im)],
                              split_names=["train", "val", "test"])
    a, b = np.array([0]), np.array([1])
    if min(confirmation.image_spread(table, a)[0], confirmation.image_spread(table, b)[0]) >= confirmation.WINDOW_ASPECT_SPREAD:
        pytest.skip("detail spread: the resized-back rule takes it anyway")
    sc = SimpleNamespace(corr=np.array([confirmation.SAME_SIZE_WINDOW_CORR + 0.001]), fine=np.array([fine]),
                         cut=np.array([[0.10, 0.0, 0.05, 0.0]]), a_cut=np.array([True]))
    fits = confirmation._crop_fits(table, a, b, sc, same_size=True)[0]
    assert fits == (fine >= confirmation.SAME_SIZE_WINDOW_FINE)
    assert not confirmation._crop_fits(table, a, b, sc, same_size=False)[0] or fine >= confirmation.UPSCALED_WINDOW_FINE
