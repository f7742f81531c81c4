"""Confirmation of candidate pairs on the scan's thumbnails.

The thumbnails are compared over the same crop alignments (0 to 6% border removed from either
image in 0.75% steps, mirrored or not, compared at 24x24 after an area resampling): a copy
correlates almost perfectly after removing the mean (`CONFIRM_CORR`), and so does its fine detail
(`CONFIRM_FINE`): what is left after removing a locally cubic fit and the row and column means, so
that neither the smooth shading of look-alike skies nor the 8-bit banding of their gradients
(stripes along a row or column) counts as shared detail. There must be some fine detail to compare
(`CONFIRM_TEXTURE`). The thumbnails are grey and contrast-stretched, so colour grading, greyscale,
gamma and contrast changes do not stop a copy (the table's per-image std is not compared first:
padding and caption bands change it while the trimmed thumbnail keeps the picture). Pairs that come
close at a centred alignment (`WIDE_FLOOR`) are tried at off-centre windows too (alignment.py).

In crowds of look-alikes a cheap 16x16 comparison passes only each image's `CONFIRM_NEIGHBOURS`
best-looking candidates (pairs across splits first) to the confirmation. Images under 64 px a side
(digits, CIFAR, icons) must match almost pixel for pixel (`TINY_CONFIRM_CORR`): their look-alikes
correlate as well as re-encoded copies of photos.
"""
from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

import numpy as np

from ..table import FLAG_PADDED, ImageTable
from .alignment import crop_keep, crop_scores, cut_and_whole, wide_scores
from .overlay import (KEEP_FINE, agreement_band, aligned, band_index, band_scores, kept_significance,
                      overlay_strength, realigned_band_scores, rows_detail)
from .differences import is_grey
from .residual import misfit
from .rotation import big_crop, own_scale_scores, own_window_pairs, turned_pair, turned_scores
from .looks import TINY_LOOK_FLOOR, TINY_SIDE, looks
from .thumbs import fine as _fine, fine_significance, ranked
from .progress import Steps, drain, scaled
from .pair_scores import AREA, PairScores, row_scores
from .tone import brightness_ratio, colour_difference, contrast_ratio, grey_mean
from .thresholds import *  # noqa: F401,F403  (the bars, re-exported: confirmation.X stays valid)

# CPU cost per pair of each part of the confirmation, relative to the centred alignments (measured
# on the benchmark's photos): the progress reported follows the work done, not the passes made.
PASS_COST = {"looks": 0.05, "centred": 1.0, "band": 0.35, "wide": 4.0, "crop": 2.0, "turned": 4.0, "own turn": 1.5, "ranked": 1.3}


# Crowds of look-alikes (60,000 handwritten digits, product shots on white) put hundreds of images
# within NEAR_THRESHOLD bits of each other. The work stays bounded: only the CONFIRM_NEIGHBOURS of
# an image's hash candidates whose thumbnails correlate best (a cheap 16x16 comparison) go on to
# the full confirmation. A copy is its original's closest look-alike by far, so it is not crowded out.
CONFIRM_NEIGHBOURS = 5
# Candidate pairs of the centred pass confirmed at a time (bounds memory and the time between
# progress reports: about 0.2 s of CPU here); the costlier passes take fewer (PASS_COST).
CONFIRM_BLOCK = 256

Confirmed = tuple[np.ndarray, np.ndarray, "PairScores"]   # (is_copy, is_mirror, scores) per pair



def confirm_pairs(table: ImageTable, a: np.ndarray, b: np.ndarray, mirrors: bool = True,
                  per_image: int | None = CONFIRM_NEIGHBOURS) -> Confirmed:
    """(is_copy, is_mirror, scores) for candidate pairs (row arrays a, b)."""
    return drain(iter_confirm_pairs(table, a, b, mirrors, per_image))


def iter_confirm_pairs(table: ImageTable, a: np.ndarray, b: np.ndarray, mirrors: bool = True,
                       per_image: int | None = CONFIRM_NEIGHBOURS) -> Steps[Confirmed]:
    """confirm_pairs as a stage: yields its fraction done after each block of pairs."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        z = np.zeros(0)
        return np.zeros(0, bool), np.zeros(0, bool), PairScores(z, z, z, np.zeros(0, bool), z, z)
    same_grey = ((contrast_ratio(table.std, a, b) <= 1.0 + SMOOTH_CONTRAST_TOLERANCE)
                 & (brightness_ratio(table.mean, a, b) <= 1.0 + SMOOTH_BRIGHTNESS_TOLERANCE))
    same_colour = colour_difference(table.mean, a, b) <= SMOOTH_COLOUR_TOLERANCE
    # an image whose bars were trimmed before hashing has its mean and std over the bars too:
    # they tell nothing of its picture's tone, so its pairs are not held to the same tone
    trimmed = (table.flags.astype(np.int64) & FLAG_PADDED) != 0
    either = trimmed[a] | trimmed[b]
    same_grey |= either
    same_colour |= either
    n = len(a)
    corr, fine, tex = np.zeros(n), np.zeros(n), np.zeros(n)
    mir, ca, cb = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    wide = np.zeros(n, bool)
    turn = np.zeros(n)
    ok = np.zeros(n, bool)
    k = np.arange(n)
    look_mirrored = np.zeros(n, bool)
    small = np.minimum(table.width, table.height) < TINY_SIDE
    tiny = small[a] | small[b]
    passes = [("centred", False), ("centred", True), ("band", False), ("wide", False), ("wide", True),
              ("crop", False), ("crop", True), ("turned", False), ("own turn", False), ("ranked", False)]
    if not mirrors:
        passes = [p for p in passes if not p[1]]

    def work_left(first: int, k: np.ndarray) -> float:
        """Upper bound of the work of passes[first:] on the pairs k not confirmed yet."""
        k = k[~ok[k]]
        photo, photo_mirrored = int((~tiny[k]).sum()), int((~tiny[k] & look_mirrored[k]).sum())
        every, mirrored = len(k), int(look_mirrored[k].sum())
        return sum(PASS_COST[how] * ((every if how == "centred" else photo) if not m else
                                     (mirrored if how == "centred" else photo_mirrored))
                   for how, m in passes[first:])

    split = np.asarray(table.split)
    look_share = PASS_COST["looks"] * n / (PASS_COST["looks"] * n + work_left(0, k))
    keep, look_mirrored[k], _ = yield from scaled(
        looks(table.thumb, a[k], b[k], per_image, mirrors, same_group=split[a[k]] == split[b[k]],
               floor=np.where(tiny[k], TINY_LOOK_FLOOR, -1.0)), 0.0, look_share)
    k = k[keep]
    # the work done so far, in PASS_COST units, scaled so that the looks' share stays as reported
    done_work = look_share / (1.0 - look_share) * work_left(0, k) if look_share < 1.0 else 0.0
    yield look_share
    k = k[np.lexsort((b[k], a[k]))]  # pairs of one image together: its features are reused
    # Centred alignments first, unmirrored then mirrored (a mirror only when no unmirrored
    # alignment confirms the pair, so a near copy of a left-right symmetric image stays "near");
    # then the centred alignment with one band of rows left out (captions, watermarks);
    # then off-centre windows for the photo pairs that came close.
    # Last, turned alignments (a few degrees) for the photo pairs still unconfirmed.
    # Then, for pairs in another tone, the thumbnails' ranks (tone curves leave them as they were).
    band_top, band_bottom = np.full(n, -1.0), np.full(n, -1.0)
    flat_corr, flat_fine = np.full(n, -1.0), np.full(n, -1.0)   # the best unturned off-centre window
    turned_fine = np.full(n, -1.0)                               # the free turned search's fine detail
    for n_pass, (how, mirrored) in enumerate(passes):
        todo = k[~ok[k]]
        if mirrored:  # only pairs that look more alike mirrored than not can be mirrored copies
            todo = todo[look_mirrored[todo]]
        if how == "ranked":
            todo = todo[~tiny[todo] & (corr[todo] >= RANK_FLOOR) & (tex[todo] >= IDENTICAL_TONE_TEXTURE)]
        elif how != "centred":
            todo = todo[~tiny[todo]]
            floor = {"wide": WIDE_FLOOR, "crop": WIDE_FLOOR, "turned": TURN_FLOOR, "own turn": WIDE_FLOOR}.get(how)   # band: none
            if floor is not None:   # a trimmed side's window may lie far off centre: tried anyway
                todo = todo[(corr[todo] >= floor) | (either[todo] & (how == "wide"))]
            if how == "crop":   # only pairs whose sizes an unscaled crop can have
                todo = todo[crop_keep(table.width, table.height, a[todo], b[todo])[0]]
            elif how == "own turn":   # ... or a turned crop whose window the sizes fix
                todo = todo[own_window_pairs(table.width, table.height, a[todo], b[todo])]
                # (from WIDE_FLOOR only the crops that keep less than 1 - MAX_CUT of a side)
                # ... and otherwise not the pairs the free turned search aligned sharing little
                # fine detail (OWN_GATE_FINE; those it could not align at all, -1, go on)
                todo = todo[big_crop(table.width, table.height, a[todo], b[todo])
                            | ((corr[todo] >= TURN_FLOOR)
                               & ((turned_fine[todo] >= OWN_GATE_FINE) | (turned_fine[todo] == -1.0)))]
        base_corr, base_fine = ((MIRROR_CONFIRM_CORR, MIRROR_CONFIRM_FINE) if mirrored
                                else (CONFIRM_CORR, TURN_CONFIRM_FINE if how in TURNED else CONFIRM_FINE))
        block = max(1, int(CONFIRM_BLOCK / max(PASS_COST[how], 1.0)))
        for lo in range(0, len(todo), block):
            kk = todo[lo:lo + block]
            done_work += PASS_COST[how] * len(kk)
            left = PASS_COST[how] * (len(todo) - lo - len(kk)) + work_left(n_pass + 1, k)
            if how in ("ranked", "band"):
                # only a near-identical match counts: the tone curve was free (ranks), or a band
                # of the picture was left out (the rest must match as only a copy does)
                if how == "ranked":
                    rows, inv = np.unique(np.concatenate([a[kk], b[kk]]), return_inverse=True)
                    ranks = ranked(table.thumb[rows])
                    sc = row_scores(ranks, inv[:len(kk)], inv[len(kk):], mirrors=False)
                    good = (sc.corr >= NEAR_IDENTICAL_CORR) & (sc.fine >= NEAR_IDENTICAL_FINE)
                    good &= ~_centred_borne(ranks[inv[:len(kk)]], ranks[inv[len(kk):]], sc, good)
                else:
                    sc, band_a, band_b = realigned_band_scores(table.thumb[a[kk]], table.thumb[b[kk]], ca[kk], cb[kk], mir[kk])
                    # and what is kept must have its detail spread or strong (look-alike sunsets
                    # match outside their horizon: a smooth ramp and a sun disc)
                    close = ((sc.corr >= BAND_CORR) & (sc.fine >= BAND_FINE) & (sc.texture >= CONFIRM_TEXTURE)
                             & ((sc.spread >= SPREAD_MIN)
                                | (_detail_levels(table, a[kk], b[kk], sc.texture) >= STRONG_LEVELS)))
                    faint = ((sc.corr >= NEAR_IDENTICAL_CORR) & (sc.significance >= FINE_SIGNIFICANCE)
                             & (sc.spread >= SPREAD_MIN))
                    faint |= ((sc.corr >= SIGNIFICANT_CORR) & (sc.fine >= SIGNIFICANT_FINE)
                              & (sc.texture >= CONFIRM_TEXTURE) & (sc.significance >= SIGNIFICANT_Z)
                              & (sc.spread >= SIGNIFICANT_SPREAD))
                    good = (close | faint) & (sc.concentration >= BAND_CONCENTRATION)
                    # what is kept must not match on one band both carry (a caption on two skies)
                    g = np.flatnonzero(good)
                    xa, xb = aligned(table.thumb[a[kk[g]]], band_a[g]), aligned(table.thumb[b[kk[g]]], band_b[g], mir[kk[g]])
                    left_out = band_index(sc.band[g])
                    good[g] = ~_one_band_borne(xa, xb, left_out) & _kept_backed(xa, xb, left_out, _stretch(table, a[kk[g]], b[kk[g]]))
                    band_top[kk[good]], band_bottom[kk[good]] = sc.band[good, 0], sc.band[good, 1]
                    ca[kk[good]], cb[kk[good]] = band_a[good], band_b[good]
                upd = kk[good]
                ok[upd] = True
                corr[upd], fine[upd], tex[upd] = sc.corr[good], sc.fine[good], sc.texture[good]
                if how == "ranked":
                    ca[upd], cb[upd], mir[upd], wide[upd], turn[upd] = sc.crop_a[good], sc.crop_b[good], False, False, 0.0
                yield done_work / (done_work + left) if done_work + left > 0 else 1.0
                continue
            if how == "turned":
                sc = turned_scores(table, a[kk], b[kk])
            elif how == "own turn":
                sc = own_scale_scores(table, a[kk], b[kk])
            elif how == "wide":
                sc = wide_scores(table.thumb, a[kk], b[kk], mirrored=mirrored)
            elif how == "crop":
                sc = crop_scores(table.thumb, table.width, table.height, a[kk], b[kk], mirrored=mirrored)
            else:
                sc = row_scores(table.thumb, a[kk], b[kk], mirrors=False, mirrored_only=mirrored)
            if how == "centred":
                crop_of_a, crop_of_b = sc.crop_a, sc.crop_b
            else:
                crop_of_a = np.where(sc.a_cut, sc.cut.max(axis=1), 0.0)
                crop_of_b = np.where(sc.a_cut, 0.0, sc.cut.max(axis=1))
            min_corr = np.where(tiny[kk], max(base_corr, TINY_CONFIRM_CORR), base_corr)
            min_fine = np.where(tiny[kk], max(base_fine, TINY_CONFIRM_FINE), base_fine)
            if mirrored:   # a near-identical mirror of a smooth photo keeps less of its fine detail
                min_fine = np.where(~tiny[kk] & (sc.corr >= NEAR_IDENTICAL_CORR), MIRROR_IDENTICAL_FINE, min_fine)
                if how == "centred":   # and a resized one with spread detail agrees less whole
                    detailed = ~tiny[kk] & (sc.fine >= MIRROR_DETAIL_FINE)
                    detailed &= np.minimum(image_spread(table, a[kk]), image_spread(table, b[kk])) >= SPREAD_MIN
                    min_corr = np.where(detailed, CONFIRM_CORR, min_corr)
            good = (sc.corr >= min_corr) & (sc.fine >= min_fine) & (sc.texture >= CONFIRM_TEXTURE)
            # a copy in another tone must match better than one in the same tone, and have detail
            # (or share its fine detail almost entirely: colour mixing moves the grey thumbnail)
            tone_free = (((sc.corr >= TONE_FREE_CORR) & (sc.fine >= TONE_FREE_FINE))
                         | ((sc.corr >= CONFIRM_CORR) & (sc.fine >= TONE_FREE_DETAIL_FINE)))
            tone_free &= _detail_levels(table, a[kk], b[kk], sc.texture) >= DETAIL_LEVELS
            # near-identical thumbnails of photos: a copy in other colours (the grey thumbnail
            # does not see them) and whatever the spread of its detail, but in another grey tone
            # only with detail (a tone change of a smooth ramp looks like another ramp)
            identical = ~tiny[kk] & (sc.corr >= NEAR_IDENTICAL_CORR) & (sc.fine >= NEAR_IDENTICAL_FINE)
            significant = np.zeros(len(kk), bool)
            if how == "centred" and not mirrored:
                identical[:], significant[:] = _significant(table, a[kk], b[kk], sc, tiny[kk], identical)
            elif not mirrored:   # (mirrored alignments keep their own, higher bars)
                significant[:] = _free_significant(table, a[kk], b[kk], sc, how)
            good &= ((same_grey[kk] & (same_colour[kk] | identical)) | tone_free
                     | (identical & (sc.texture >= IDENTICAL_TONE_TEXTURE)))
            # shared detail must be spread over the picture or strong (look-alike sunsets share a
            # sun disc and a horizon, and little else); tiny images have their own, stricter bars
            good &= tiny[kk] | identical | spread_or_strong(table, a[kk], b[kk], sc.texture, sc.corr)
            # ... and so must the detail outside a band that holds most of what they share (the
            # same caption or watermark on two look-alikes is no evidence of one picture)
            # (a greyscale copy made with other luma weights agrees less closely whole, so outside
            # one band too: for it, as for identical pairs, the band's evidence is not asked)
            mixed = (_grey_mixed(table, a[kk], b[kk], sc, tiny[kk]) if how == "centred" and not mirrored
                     else np.zeros(len(kk), bool))
            outside = np.where(tiny[kk] | identical | mixed, np.nan, _stretch(table, a[kk], b[kk]))
            good |= significant | mixed
            if mirrored:
                good &= _mirror_fits(table, a[kk], b[kk], sc.fine)
            if how == "wide":
                good &= (sc.fine >= WINDOW_FINE) | (sc.corr >= NEAR_IDENTICAL_CORR)
            elif how == "crop":
                # the crop's windows are ones the free search may take too, but it finds them
                # wherever a look-alike fits them best: as there, detail in a few places (one
                # curved edge of a lamp globe on a wall matched another's at 0.994 / fine 0.87)
                # must agree almost exactly
                spread_out = np.minimum(image_spread(table, a[kk]), image_spread(table, b[kk])) >= WINDOW_ASPECT_SPREAD
                good &= identical | (spread_out & (sc.fine >= WINDOW_FINE))
            if how == "centred":
                good &= _centred_crop_fits(table, a[kk], b[kk], sc)
            elif how != "own turn":   # (the own turn's windows are fixed by the sizes)
                good &= _crop_fits(table, a[kk], b[kk], sc, same_size=how == "wide")
            # and the match must not rest on one band of rows both carry (a caption, a logo)
            if how == "centred":
                good &= ~_centred_borne(table.thumb[a[kk]], table.thumb[b[kk]], sc, good, outside)
            elif how in ("wide", "crop"):
                good &= ~_window_borne(table.thumb[a[kk]], table.thumb[b[kk]], sc, mirrored, good, outside)
            else:   # turned: with its detail in a few places, the rest must match as a turn does
                g = np.flatnonzero(good)
                few = (np.minimum(image_spread(table, a[kk[g]]), image_spread(table, b[kk[g]])) < SPREAD_MIN
                       if len(g) else np.zeros(0, bool))
                xa, xb = turned_pair(table, a[kk[g]], b[kk[g]], take_rows(sc, g))
                good[g] = (~_one_band_borne(xa, xb, outside_fine=np.where(few, TURN_CONFIRM_FINE, BORNE_FINE),
                                            outside=outside[g])
                           & (misfit(xa, xb) < TURN_MISFIT))
                # and the turn must explain the pair better than an unturned window does
                good &= (sc.corr > flat_corr[kk]) | (sc.fine > flat_fine[kk])
            if how == "wide" and not mirrored:
                flat_corr[kk], flat_fine[kk] = sc.corr, sc.fine
            elif how == "turned":
                turned_fine[kk] = sc.fine
            better = good | (sc.corr + sc.fine > corr[kk] + fine[kk])
            upd = kk[better]
            corr[upd], fine[upd], tex[upd] = sc.corr[better], sc.fine[better], sc.texture[better]
            ca[upd], cb[upd], mir[upd] = crop_of_a[better], crop_of_b[better], mirrored
            wide[upd] = how in ("wide", "crop")
            turn[upd] = sc.angle[better] if how in TURNED else 0.0
            ok[kk[good]] = True
            yield done_work / (done_work + left) if done_work + left > 0 else 1.0
    yield 1.0
    return ok, ok & mir, PairScores(corr, fine, tex, mir, ca, cb, wide, turn, band_top, band_bottom)


def _significant(table: ImageTable, a: np.ndarray, b: np.ndarray, sc: PairScores, tiny: np.ndarray,
                 identical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred pairs (a, b) at the alignments of sc whose fine detail stands far above its chance
    level (thumbs.fine_significance): `identical` extended to the near-identical ones with
    FINE_SIGNIFICANCE, and which pairs are copies by the SIGNIFICANT_* rule."""
    identical = identical.copy()
    significant = np.zeros(len(a), bool)
    weak = np.flatnonzero(~tiny & (sc.fine > 0) & (sc.corr >= min(NEAR_IDENTICAL_CORR, SIGNIFICANT_CORR)))
    if len(weak):
        z = fine_significance(aligned(table.thumb[a[weak]], sc.crop_a[weak]),
                              aligned(table.thumb[b[weak]], sc.crop_b[weak]))
        identical[weak] |= (sc.corr[weak] >= NEAR_IDENTICAL_CORR) & (z >= FINE_SIGNIFICANCE)
        spread_out = np.minimum(image_spread(table, a[weak]), image_spread(table, b[weak])) >= SIGNIFICANT_SPREAD
        significant[weak] = ((sc.corr[weak] >= SIGNIFICANT_CORR) & (sc.fine[weak] >= SIGNIFICANT_FINE)
                             & (sc.texture[weak] >= CONFIRM_TEXTURE) & spread_out & (z >= SIGNIFICANT_Z))
    return identical, significant


def _grey_mixed(table: ImageTable, a: np.ndarray, b: np.ndarray, sc, tiny: np.ndarray) -> np.ndarray:
    """Centred pairs of one grey and one colour file whose spread, non-smooth fine detail agrees
    as closely as a greyscale copy's made with other channel weights (GREY_MIX_*)."""
    out = ~tiny & (sc.corr >= GREY_MIX_CORR) & (sc.fine >= GREY_MIX_FINE) & (sc.texture >= CONFIRM_TEXTURE)
    k = np.flatnonzero(out)
    if len(k):
        out[k] = ((np.minimum(image_spread(table, a[k]), image_spread(table, b[k])) >= SPREAD_MIN)
                  & (_detail_levels(table, a[k], b[k], sc.texture[k]) >= DETAIL_LEVELS)
                  & np.array([is_grey(table, i) != is_grey(table, j) for i, j in zip(a[k], b[k])], bool))
    return out


def _free_significant(table: ImageTable, a: np.ndarray, b: np.ndarray, sc, how: str) -> np.ndarray:
    """The SIGNIFICANT_* rule at the unmirrored turned or off-centre alignments of sc
    (rotation.TurnedScores, alignment.WideScores), with FREE_SIGNIFICANT_CORR for its correlation bar."""
    out = np.zeros(len(a), bool)
    k = np.flatnonzero((sc.corr >= FREE_SIGNIFICANT_CORR) & (sc.fine >= SIGNIFICANT_FINE) & (sc.texture >= CONFIRM_TEXTURE))
    if len(k):
        k = k[np.minimum(image_spread(table, a[k]), image_spread(table, b[k])) >= SIGNIFICANT_SPREAD]
    if len(k):
        sk = take_rows(sc, k)
        if how in TURNED:
            xa, xb = turned_pair(table, a[k], b[k], sk)
        else:
            ta, tb = table.thumb[a[k]].astype(np.float32), table.thumb[b[k]].astype(np.float32)
            a_cut = sk.a_cut[:, None, None]
            xa, xb = cut_and_whole(np.where(a_cut, ta, tb), np.where(a_cut, tb, ta), sk.cut, sk.a_cut)
        out[k] = fine_significance(xa, xb) >= SIGNIFICANT_Z
    return out


def _crop_fits(table: ImageTable, a: np.ndarray, b: np.ndarray, sc, same_size: bool = False) -> np.ndarray:
    """An off-centre window is a crop only if the cropped image is no larger than the window of the
    other (6% slack and 2 px): a crop has fewer pixels. Look-alikes of one size (two sunsets with
    the sun in about the same place) align at some window too, but neither is a crop of the other.
    A window that also changes the aspect ratio by more than WINDOW_ASPECT (a crop of a picture
    re-exported in other proportions) needs detail spread over the picture (WINDOW_ASPECT_SPREAD):
    the window's two extra free parameters fit one curved edge onto another (two crops of
    different lamp globes on one wall aligned so at 0.995 / fine 0.89, aspect changed by 8.5%).
    With `same_size` (the free window search), a window between files of one size with somewhat
    spread detail is also taken when it agrees as closely as a crop resized back or a shift does
    (SAME_SIZE_WINDOW_*)."""
    w, h = table.width.astype(np.float64), table.height.astype(np.float64)
    x = np.where(sc.a_cut, a, b)          # the windowed image (the larger picture)
    y = np.where(sc.a_cut, b, a)          # the crop of it
    keep_w = 1.0 - sc.cut[:, 0] - sc.cut[:, 1]
    keep_h = 1.0 - sc.cut[:, 2] - sc.cut[:, 3]
    sx, sy = w[y] / np.maximum(w[x] * keep_w, 1e-9), h[y] / np.maximum(h[x] * keep_h, 1e-9)
    aspect = np.maximum(sx, sy) / np.maximum(np.minimum(sx, sy), 1e-9)
    least_spread = np.minimum(image_spread(table, a), image_spread(table, b))
    spread_out = least_spread >= WINDOW_ASPECT_SPREAD
    fits = ((w[y] <= w[x] * keep_w * 1.06 + 2) & (h[y] <= h[x] * keep_h * 1.06 + 2)
            & ((aspect <= 1.0 + WINDOW_ASPECT) | spread_out))
    # ... or an off-centre crop re-exported at the old size (enlarged, often squashed back to the
    # old proportions), with spread detail that agrees as closely as such copies do
    # (no larger than the whole other picture: two overlapping crops of one photo exported at other
    # scales, 472x456 and 430x430, matched so at 0.970 / fine 0.91)
    resized_back = (w[y] <= w[x] * 1.06 + 2) & (h[y] <= h[x] * 1.06 + 2)
    fits |= resized_back & ((spread_out & (sc.fine >= UPSCALED_WINDOW_FINE))
                            | ((sc.corr >= NEAR_IDENTICAL_CORR) & (sc.fine >= IDENTICAL_WINDOW_FINE)))
    # a crop whose bars or repeated edge lines were trimmed before hashing (a translated picture's
    # filled gap, an off-centre paste) shows fewer pixels than its file has, by an amount the table
    # does not keep, and so does a windowed picture that was trimmed (a padded copy whose window
    # cuts into the picture inside its bars: its file's proportions are the bars'): their sizes
    # say nothing, so the detail must be spread instead, or somewhat spread (SPREAD_MIN) and
    # shared as closely as copies share it (TRIMMED_WINDOW_*)
    trimmed = ((table.flags[x] | table.flags[y]).astype(np.int64) & FLAG_PADDED) != 0
    close = (least_spread >= SPREAD_MIN) & (sc.corr >= TRIMMED_WINDOW_CORR) & (sc.fine >= TRIMMED_WINDOW_FINE)
    fits = np.where(trimmed, spread_out | (sc.corr >= NEAR_IDENTICAL_CORR) | close, fits)
    if same_size:
        one_size = (np.abs(w[x] - w[y]) <= SAME_SIZE) & (np.abs(h[x] - h[y]) <= SAME_SIZE)
        fits |= (one_size & (least_spread >= SPREAD_MIN) & (sc.corr >= SAME_SIZE_WINDOW_CORR)
                 & (sc.fine >= SAME_SIZE_WINDOW_FINE))
    return fits


def _one_band_borne(xa: np.ndarray, xb: np.ndarray, left_out: np.ndarray | None = None,
                    outside_fine: np.ndarray | float = BORNE_FINE,
                    outside: np.ndarray | None = None) -> np.ndarray:
    """Which aligned pairs xa, xb (P, CMP, CMP) share their fine detail in one band of rows and
    hardly anywhere else (BORNE_SHARE, BORNE_FINE): a caption or logo both carry, not one picture.
    `outside_fine` (per pair) replaces BORNE_FINE: two look-alike sunsets under one watermark, their
    sun discs and horizons in about the same place, matched turned at 0.983 / fine 0.91 with 0.92
    of their shared detail in the watermark's rows and 0.54 outside, while turned copies with their
    detail in a few places keep 0.64-0.94 outside (TURN_CONFIRM_FINE).

    With `left_out` (band indices into overlay.BANDS: the rows the band pass left out, where a
    caption differs), a pair found borne is asked again without those rows, and stays borne unless
    outside both bands the two share fine detail (BORNE_FINE) far above its chance level
    (SIGNIFICANT_Z) over at least BORNE_ROWS fine rows, and the rows left out are laid over the
    picture, its strongest detail (OVERLAY_STRONGER). A caption over a picture whose detail lies in
    one band of rows (a seed head above a smooth ground) left its rest looking unshared only because
    the caption rows, where the pair differs, counted as "elsewhere"; two skies under one caption
    band share no more outside it than the banding of their alike gradients (at most 6 times its
    chance level), two look-alike sunsets under one watermark nothing once their differing sun and
    horizon are left out, and two pictures that differ in one band of their own detail under one
    caption keep the caption, their strongest detail, in what is compared.

    With `outside` (per pair the grey levels of one stretched thumbnail unit, _stretch; NaN where
    not asked), a pair that shares most of its detail in one band (OVERLAY_SHARE) is also borne
    unless outside that band it shows one picture: fine detail shared (BORNE_FINE) that is spread
    (OUTSIDE_SPREAD), or strong (STRONG_LEVELS) or somewhat spread (SPREAD_MIN) and correlating as
    copies do (OUTSIDE_CORR); or
    OUTSIDE_FINE of it at that correlation; or almost all of it (OUTSIDE_ALL_FINE: the other's
    watermark may lie outside the band). Two look-alike sunsets under one watermark shared 0.82-0.95
    of their detail in its rows, and outside them only a sun disc and a horizon in about the same
    places (spread 0.02-0.15, correlation 0.96-0.99, fine detail 0.35-0.87), while the text made
    the whole look spread or strong (spread_or_strong)."""
    if len(xa) == 0:
        return np.zeros(0, bool)
    band, share = agreement_band(xa, xb)
    out = band_scores(xa, xb, band)
    borne = (share >= BORNE_SHARE) & (out.fine < outside_fine)
    if outside is not None:
        asked = ~np.isnan(outside)
        close = out.corr >= OUTSIDE_CORR
        strong = out.texture * np.where(asked, outside, 0.0) >= STRONG_LEVELS
        backed = (out.fine >= BORNE_FINE) & ((out.spread >= OUTSIDE_SPREAD) | (close & (strong | (out.spread >= SPREAD_MIN))))
        backed |= (close & (out.fine >= OUTSIDE_FINE)) | (out.fine >= OUTSIDE_ALL_FINE)
        borne |= (share >= OVERLAY_SHARE) & asked & ~backed
    if left_out is None or not borne.any():
        return borne
    k = np.flatnonzero(borne)
    kept = KEEP_FINE[left_out[k]]
    band_k, _ = agreement_band(xa[k], xb[k], kept)
    outside = kept & KEEP_FINE[band_k]
    shared = (outside.sum(axis=1) >= BORNE_ROWS) & (rows_detail(xa[k], xb[k], outside).fine >= BORNE_FINE)
    shared &= kept_significance(xa[k], xb[k], outside) >= SIGNIFICANT_Z
    shared &= overlay_strength(xa[k], xb[k], left_out[k]) >= OVERLAY_STRONGER
    borne[k] = ~shared
    return borne


def _kept_backed(xa: np.ndarray, xb: np.ndarray, left_out: np.ndarray, stretch: np.ndarray) -> np.ndarray:
    """Which band-pass pairs (aligned xa, xb; `left_out` indices into overlay.BANDS) have evidence
    of one picture in the rows kept beyond a band of them that holds most of their shared detail
    (BORNE_SHARE): at least BORNE_ROWS fine rows sharing BORNE_FINE, spread (SPREAD_MIN) or strong
    (STRONG_LEVELS, `stretch` as _stretch), unless the rows left out are laid over the picture, its
    strongest detail (OVERLAY_STRONGER, as a caption or watermark in one of them is): the band pass
    is for a copy with something laid over it. Two look-alike sunsets under one watermark matched
    with their sun disc and horizon left out (0.27-0.77 times as strong as the rest) at 0.998 / fine
    0.999, 0.99 of it in the watermark's rows."""
    if len(xa) == 0:
        return np.zeros(0, bool)
    kept = KEEP_FINE[left_out]
    band, share = agreement_band(xa, xb, kept)
    outside = kept & KEEP_FINE[band]
    rest = rows_detail(xa, xb, outside)
    backed = (outside.sum(axis=1) >= BORNE_ROWS) & (((rest.fine >= BORNE_FINE)
              & ((rest.spread >= SPREAD_MIN) | (rest.texture * stretch >= STRONG_LEVELS))) | (rest.fine >= BAND_FINE))
    return (share < OVERLAY_SHARE) | backed | (overlay_strength(xa, xb, left_out) >= OVERLAY_STRONGER)


def _centred_borne(ta: np.ndarray, tb: np.ndarray, sc: PairScores, which: np.ndarray,
                   outside: np.ndarray | None = None) -> np.ndarray:
    """_one_band_borne of the pairs `which` of thumbnails ta, tb at sc's centred alignments."""
    out = np.zeros(len(ta), bool)
    k = np.flatnonzero(which)
    out[k] = _one_band_borne(aligned(ta[k], sc.crop_a[k]), aligned(tb[k], sc.crop_b[k], sc.mirrored[k]),
                             outside=None if outside is None else outside[k])
    return out


def _window_borne(ta: np.ndarray, tb: np.ndarray, sc, mirrored: bool, which: np.ndarray,
                  outside: np.ndarray | None = None) -> np.ndarray:
    """_one_band_borne of the pairs `which` at sc's off-centre windows (alignment.WideScores: b
    mirrored first with `mirrored`, then the window cut from a where a_cut, else from b)."""
    out = np.zeros(len(ta), bool)
    k = np.flatnonzero(which)
    if len(k):
        xa, xb = ta[k].astype(np.float32), tb[k].astype(np.float32)
        xb = xb[:, :, ::-1] if mirrored else xb
        a_cut = sc.a_cut[k, None, None]
        out[k] = _one_band_borne(*cut_and_whole(np.where(a_cut, xa, xb), np.where(a_cut, xb, xa), sc.cut[k], sc.a_cut[k]),
                                 outside=None if outside is None else outside[k])
    return out


Scores = TypeVar("Scores")


def take_rows(scores: Scores, k: np.ndarray) -> Scores:
    """The pairs `k` of a dataclass of per-pair arrays (PairScores, TurnedScores); fields that are
    None stay None."""
    return type(scores)(**{f.name: (None if (v := getattr(scores, f.name)) is None else v[k])
                           for f in fields(scores)})


def _mirror_fits(table: ImageTable, a: np.ndarray, b: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """A mirrored alignment of pictures whose fine detail is spread (SPREAD_MIN in both), or that
    share almost all of it (MIRROR_CONCENTRATED_FINE)."""
    return (np.minimum(image_spread(table, a), image_spread(table, b)) >= SPREAD_MIN) | (fine >= MIRROR_CONCENTRATED_FINE)


def _centred_crop_fits(table: ImageTable, a: np.ndarray, b: np.ndarray, sc: PairScores) -> np.ndarray:
    """The same size rule for a centred crop of UPSCALED_CROP or more a side, unless the fine detail
    agrees as closely as UPSCALED_CROP_FINE: a copy shown cropped has at most the pixels of the part
    it shows, unless it was also enlarged. Two neighbouring crops of one smooth photo, exported at
    their own sizes, align as a 4% crop of the smaller one at correlation 0.989 / fine 0.50."""
    w, h = table.width.astype(np.float64), table.height.astype(np.float64)
    keep = 1.0 - 2.0 * np.maximum(sc.crop_a, sc.crop_b)
    x = np.where(sc.crop_a >= sc.crop_b, a, b)   # the one cropped to match (the larger picture)
    y = np.where(sc.crop_a >= sc.crop_b, b, a)
    fits = (w[y] <= w[x] * keep * 1.06 + 2) & (h[y] <= h[x] * keep * 1.06 + 2)
    return fits | (np.maximum(sc.crop_a, sc.crop_b) < UPSCALED_CROP) | (sc.fine >= UPSCALED_CROP_FINE)


def image_spread(table: ImageTable, idx: np.ndarray) -> np.ndarray:
    """spread of the thumbnails of the images idx, each image's once (a block's pairs of one image
    come together, and an image is in many pairs)."""
    u, inv = np.unique(idx, return_inverse=True)
    return spread(table.thumb[u])[inv.reshape(-1)]


def spread(thumbs: np.ndarray) -> np.ndarray:
    """How evenly the fine detail of each thumbnail is spread over it: the participation ratio of
    its energy, (sum e)^2 / (n sum e^2), 1 when every cell has the same energy, 1/n for one cell."""
    t = thumbs.astype(np.float32)
    x = np.matmul(np.matmul(AREA[0], t), AREA[0].T)
    e = _fine(x).reshape(len(t), -1) ** 2
    return e.sum(axis=1) ** 2 / (e.shape[1] * (e * e).sum(axis=1) + 1e-12)


def spread_or_strong(table: ImageTable, a: np.ndarray, b: np.ndarray, texture: np.ndarray,
                     corr: np.ndarray) -> np.ndarray:
    """Pairs whose fine detail is spread (SPREAD_MIN) in both images, or strong (STRONG_LEVELS)
    in pictures that agree as closely as a pair in different tones must (TONE_FREE_CORR)."""
    sa, sb = image_spread(table, a), image_spread(table, b)
    return ((np.minimum(sa, sb) >= SPREAD_MIN)
            | ((_detail_levels(table, a, b, texture) >= STRONG_LEVELS) & (corr >= TONE_FREE_CORR)))


def _detail_levels(table: ImageTable, a: np.ndarray, b: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """Fine-detail std of a pair (stretched thumbnail units) on the grey-level scale of the image
    that has less of it."""
    return texture * _stretch(table, a, b)


def _stretch(table: ImageTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Grey levels per stretched thumbnail unit of pairs (a, b), the lesser of the two: each image's
    grey std (0-255) over its thumbnail's std."""
    grey_std = grey_mean(table.std) * 255.0
    thumb_std = table.thumb.reshape(len(table.thumb), -1)
    sa = grey_std[a] / np.maximum(thumb_std[a].std(axis=1), 1e-6)
    sb = grey_std[b] / np.maximum(thumb_std[b].std(axis=1), 1e-6)
    return np.minimum(sa, sb)
