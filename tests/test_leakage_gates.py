"""Gates of the leakage confirmation for alignments with extra free parameters (mirrors of
concentrated detail, off-centre windows): each rule tried with scores just either side of its bar."""
from __future__ import annotations

import numpy as np

from inspector.core.leakage import alignment, confirmation
from inspector.core.table_from_images import table_from_images
from test_leakage import texture
from test_leakage_edits import crop, reload, small_sun, smooth_photo


def test_a_mirror_of_concentrated_detail_must_share_almost_all_of_it():
    """One strong structure (a pier's corner in fog) matches its own mirror image in another shot:
    with the detail in a few places, a mirrored alignment needs nearly all of its fine detail to
    agree; with detail spread over the picture the ordinary mirror bar holds."""
    table = table_from_images([("a", "train", None, small_sun(1)), ("b", "val", None, small_sun(2)),
                               ("c", "train", None, texture(5)), ("d", "val", None, texture(6))])
    sp = confirmation.spread(table.thumb)
    assert sp[:2].max() < confirmation.SPREAD_MIN <= sp[2:].min()

    def fits(a: int, b: int, fine: float) -> bool:
        return bool(confirmation._mirror_fits(table, np.array([a]), np.array([b]), np.array([fine]))[0])

    bar = confirmation.MIRROR_CONCENTRATED_FINE
    assert bar > confirmation.MIRROR_CONFIRM_FINE + 0.05
    assert not fits(0, 1, bar - 0.05) and fits(0, 1, bar + 0.01)
    assert not fits(0, 2, bar - 0.05)                       # one of the two concentrated is enough
    assert fits(2, 3, confirmation.MIRROR_CONFIRM_FINE)     # spread detail: the ordinary bar


def test_an_off_centre_window_needs_shared_fine_detail_unless_it_agrees_almost_exactly(monkeypatch):
    """An off-centre window is the best of hundreds: one that does not agree almost exactly must
    share more fine detail than a centred alignment does."""
    im = texture(93)
    items = [("test/a/orig.png", "test", "a", im), ("train/a/shifted.png", "train", "a", crop(im, 0.12, 0.0, 0.0, 0.1))]
    table = table_from_images(items, split_names=["train", "val", "test"])

    def scored(corr: float, fine: float):
        def fake(thumbs, a, b, mirrored=False):
            one = np.ones(len(a))
            return alignment.WideScores(corr * one, fine * one, 5.0 * one, np.tile([0.12, 0.0, 0.0, 0.1], (len(a), 1)),
                                        np.ones(len(a), bool))   # a windowed: b is the crop
        return fake

    monkeypatch.setattr(confirmation, "row_scores", _centred_misses(confirmation.row_scores))
    monkeypatch.setattr(confirmation, "crop_scores", _no_crop)
    pair = (np.array([0]), np.array([1]))
    bar = confirmation.WINDOW_FINE
    assert confirmation.CONFIRM_FINE < bar - 0.05
    for corr, fine, expected in ((0.99, bar - 0.05, False), (0.99, bar + 0.02, True),
                                 (confirmation.NEAR_IDENTICAL_CORR + 0.001, bar - 0.05, True)):
        monkeypatch.setattr(confirmation, "wide_scores", scored(corr, fine))
        ok, _, sc = confirmation.confirm_pairs(table, *pair, per_image=None)
        assert bool(ok[0]) == expected, (corr, fine)
        assert not expected or sc.off_centre[0]


def _no_crop(thumbs, width, height, a, b, mirrored=False):
    """crop_scores finding no unscaled crop, so that only the (faked) free windows can confirm."""
    return alignment.WideScores(-np.ones(len(a)), -np.ones(len(a)), np.zeros(len(a)), np.zeros((len(a), 4)),
                                np.ones(len(a), bool))


def _centred_misses(real):
    """row_scores with the centred alignments scoring just above the window search's floor, so
    that only the (faked) off-centre windows can confirm the pair."""
    def scores(*args, **kw):
        sc = real(*args, **kw)
        low = np.full(len(sc.corr), confirmation.WIDE_FLOOR + 0.1)
        return confirmation.PairScores(low, 0.0 * low, sc.texture, sc.mirrored, sc.crop_a, sc.crop_b)
    return scores


def test_the_mirror_rule_applies_to_mirrored_alignments_only(monkeypatch):
    from PIL import ImageOps
    im = texture(94)
    table = table_from_images([("test/a/orig.png", "test", "a", im), ("train/a/mirror.png", "train", "a", ImageOps.mirror(im)),
                               ("train/a/same.png", "train", "a", im.resize((200, 150)))])
    a, b = np.array([0, 0]), np.array([1, 2])
    ok, mir, _ = confirmation.confirm_pairs(table, a, b, per_image=None)
    assert ok.all() and mir.tolist() == [True, False]
    monkeypatch.setattr(confirmation, "_mirror_fits", lambda table, a, b, fine: np.zeros(len(a), bool))
    ok, mir, _ = confirmation.confirm_pairs(table, a, b, per_image=None)
    assert ok.tolist() == [False, True]


def test_a_crop_whose_best_free_window_cannot_be_a_crop_is_found_at_its_own_size(monkeypatch):
    """A subject on a plain background correlates about as well at many free windows, and the
    best-scoring one may be a window no crop can be (here: one that would have enlarged the copy);
    the window of the copy's own size still confirms it, as an off-centre crop."""
    from inspector.core.leakage import confirmation, rotation
    im = smooth_photo(5)
    items = [("train/a/copy.jpg", "train", "a", reload(crop(im, 0.02, 0.09, 0.04, 0.03), "PNG")),
             ("test/a/orig.png", "test", "a", im)]
    table = table_from_images(items, split_names=["train", "val", "test"])
    real_wide = confirmation.wide_scores

    def zoomed(*args, **kw):   # the free window's best: 20% cut on b, which shows only 6% less
        sc = real_wide(*args, **kw)
        return alignment.WideScores(sc.corr, sc.fine, sc.texture, np.tile([0.1, 0.1, 0.1, 0.1], (len(sc.corr), 1)),
                                    np.zeros(len(sc.corr), bool))

    monkeypatch.setattr(confirmation, "wide_scores", zoomed)
    monkeypatch.setattr(confirmation, "row_scores", _centred_misses(confirmation.row_scores))
    monkeypatch.setattr(confirmation, "turned_scores", lambda table, a, b: rotation.TurnedScores(
        -np.ones(len(a)), -np.ones(len(a)), np.zeros(len(a)), np.zeros((len(a), 4)), np.ones(len(a), bool), np.zeros(len(a))))
    ok, _, sc = confirmation.confirm_pairs(table, np.array([0]), np.array([1]), per_image=None)
    assert ok[0] and sc.off_centre[0] and not sc.mirrored[0]
    assert 0.06 <= sc.crop_b[0] <= 0.1 and sc.crop_a[0] == 0.0     # b (the original) windowed by 9% + 3%
