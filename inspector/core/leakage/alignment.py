"""Wide alignment: off-centre crops and shifts of up to ~15% of a side, for the pairs the centred
alignments of `pair_scores.row_scores` leave unconfirmed.

One image is compared whole against windows of the other: on each axis a window keeps [lo, hi)
with lo and 1 - hi in 2.5% steps and at most 16% cut in all, so 28 windows per axis (784 in
two dimensions), and the best one is then refined in steps of a quarter of that. Windows are separable (rows and columns are resampled apart), so the search
goes one axis at a time: the best horizontal window with all rows, then the best vertical window
with it, then the horizontal one again; each step is one matrix product per pair for all 28
windows. The fine detail of a window is linear in the thumbnail too, so both the correlation
and the fine-detail correlation come from the same products. Both directions are tried (a crop
of b, or b uncropped and a crop of it), and with `mirrored` the windowed image is mirrored first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import THUMB_SIZE
from .thumbs import CMP as _CMP, area_matrix as _area_matrix, fine as _fine, unit as _unit

STEP = 0.025
MAX_CUT = 0.16
INTERVALS = tuple((lo, 1.0 - r) for lo in np.arange(0.0, MAX_CUT, STEP)
                  for r in np.arange(0.0, MAX_CUT, STEP) if lo + r <= MAX_CUT + 1e-9)
_WIN = np.stack([_area_matrix(_CMP, THUMB_SIZE, lo * THUMB_SIZE, hi * THUMB_SIZE)
                 for lo, hi in INTERVALS]).astype(np.float32)               # (n_win, CMP, T)
_WIN_T = np.ascontiguousarray(_WIN.transpose(2, 0, 1).reshape(THUMB_SIZE, -1))  # (T, n_win*CMP)
_WIN_ROWS = np.ascontiguousarray(_WIN.reshape(-1, THUMB_SIZE))                # (n_win*CMP, T)
_FULL = 0                                                                     # index of (0, 1)
# The coarse search's best window is then refined on a grid a quarter of its step (0.2 thumbnail
# pixels), each end moved by up to half a coarse step: texture-rich copies lose fine-detail
# correlation fast when their windows are misaligned by a fraction of a comparison cell.
FINE = 4                                          # fine steps per coarse step
_N_FINE = int(round(MAX_CUT / STEP)) * FINE + 1   # fine positions of one end, 0 .. MAX_CUT
_REFINE = np.array([(dl, dr) for dl in range(-FINE // 2, FINE // 2 + 1)
                    for dr in range(-FINE // 2, FINE // 2 + 1)])              # (n_moves, 2)
_FINE_WIN = np.stack([[_area_matrix(_CMP, THUMB_SIZE, i * STEP / FINE * THUMB_SIZE,
                                    (1 - j * STEP / FINE) * THUMB_SIZE) for j in range(_N_FINE)]
                      for i in range(_N_FINE)]).astype(np.float32)            # (lo, r, CMP, T)
_COARSE_ENDS = np.round(np.asarray(INTERVALS) / STEP * FINE).astype(np.int64)
_COARSE_ENDS[:, 1] = int(round(1 / STEP * FINE)) - _COARSE_ENDS[:, 1]         # (n_win, 2): lo, r in fine steps


@dataclass(frozen=True)
class WideScores:
    corr: np.ndarray       # (P,) correlation at the best window
    fine: np.ndarray       # (P,) fine-detail correlation there
    texture: np.ndarray    # (P,) least fine-detail std of the two compared images
    cut: np.ndarray        # (P, 4) left, right, top, bottom fractions cut from the windowed image
    a_cut: np.ndarray      # (P,) bool: the window is on a (else on b)


def _features(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors of (..., CMP, CMP) windows and of their fine detail, and the fine std."""
    unit, _ = _unit(windows)
    fine, fine_std = _unit(_fine(windows))
    lead = windows.shape[:-2]
    return unit.reshape(*lead, -1), fine.reshape(*lead, -1), fine_std


def _scores(windows, whole_unit, whole_fine, whole_fstd):
    u, f, fs = _features(windows)                                   # (P, n_win, ...)
    corr = np.einsum("pwd,pd->pw", u, whole_unit)
    fine = np.einsum("pwd,pd->pw", f, whole_fine)
    return corr, fine, np.minimum(fs, whole_fstd[:, None])


def _profile_start(x: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """Per pair, the vertical window whose row profile (the mean of each row) matches the row
    profile of `whole` best: where the search starts, so that a large vertical cut does not
    mislead the first, horizontal step (on the benchmark's off-centre crops: 9 pairs matched
    better from there, 1 worse)."""
    prof = x.mean(axis=2)                                                 # (P, T)
    w = np.einsum("wct,pt->pwc", _WIN, prof)                              # (P, n_win, CMP)
    ref = np.einsum("ct,pt->pc", _WIN[_FULL], whole.mean(axis=2))
    w = w - w.mean(axis=2, keepdims=True)
    ref = ref - ref.mean(axis=1, keepdims=True)
    c = np.einsum("pwc,pc->pw", w, ref) / np.maximum(np.linalg.norm(w, axis=2) * np.linalg.norm(ref, axis=1)[:, None], 1e-9)
    return np.argmax(c, axis=1)


def window_search(x: np.ndarray, whole: np.ndarray) -> tuple[np.ndarray, ...]:
    """Best window of thumbnails x (P, T, T) against thumbnails `whole` (P, T, T), one axis at a
    time: on the coarse grid (x, y, x, starting from the vertical window whose row profile matches
    best), then refined on the fine grid (x, y)."""
    p = len(x)
    wu, wf, wfs = _features(np.matmul(np.matmul(_WIN[_FULL], whole), _WIN[_FULL].T))
    r = np.arange(p)
    jx = np.full(p, _FULL)
    iy = _profile_start(x, whole)
    for axis in ("x", "y", "x"):
        if axis == "x":   # rows by the current vertical window, columns by all 28 windows
            left = np.matmul(_WIN[iy], x)                                            # (P, CMP, T)
            w = np.matmul(left, _WIN_T).reshape(p, _CMP, len(INTERVALS), _CMP).transpose(0, 2, 1, 3)
        else:             # columns by the current horizontal window, rows by all 28 windows
            right = np.matmul(x, _WIN[jx].transpose(0, 2, 1))                         # (P, T, CMP)
            w = np.matmul(_WIN_ROWS, right).reshape(p, len(INTERVALS), _CMP, _CMP)
        # the coarse steps choose on the plain correlation alone (the fine detail's cubic fit
        # costs more than the rest of a step), the refinement on both
        c = np.einsum("pwd,pd->pw", _unit(w)[0].reshape(p, len(INTERVALS), -1), wu)
        best = np.argmax(c, axis=1)
        if axis == "x":
            jx = best
        else:
            iy = best
    ex, ey = _COARSE_ENDS[jx], _COARSE_ENDS[iy]                                       # (P, 2) each
    corr = fine = tex = None
    for axis in ("x", "y"):
        ends = ex if axis == "x" else ey
        moves = np.clip(ends[:, None, :] + _REFINE[None], 0, _N_FINE - 1)            # (P, n_moves, 2)
        bad = moves.sum(axis=2) > _N_FINE - 1           # more than MAX_CUT in all: keep the coarse one
        moves[bad] = ends[np.nonzero(bad)[0]]
        mats = _FINE_WIN[moves[..., 0], moves[..., 1]]                               # (P, n_moves, CMP, T)
        if axis == "x":
            left = np.matmul(_FINE_WIN[ey[:, 0], ey[:, 1]], x)                          # (P, CMP, T)
            w = np.matmul(left[:, None], mats.swapaxes(-1, -2))
        else:
            right = np.matmul(x, _FINE_WIN[ex[:, 0], ex[:, 1]].transpose(0, 2, 1))      # (P, T, CMP)
            w = np.matmul(mats, right[:, None])
        c, f, t = _scores(w, wu, wf, wfs)
        best = np.argmax(c + f, axis=1)
        if axis == "x":
            ex = moves[r, best]
        else:
            ey = moves[r, best]
        corr, fine, tex = c[r, best], f[r, best], t[r, best]
    step = STEP / FINE
    cut = np.stack([ex[:, 0], ex[:, 1], ey[:, 0], ey[:, 1]], axis=1) * step
    return corr, fine, tex, cut


def wide_scores(thumbs: np.ndarray, a: np.ndarray, b: np.ndarray, mirrored: bool = False) -> WideScores:
    """The best off-centre window alignment of each pair (thumbs[a[i]], thumbs[b[i]]), both ways."""
    ta = thumbs[a].astype(np.float32)
    tb = thumbs[b].astype(np.float32)
    if mirrored:
        tb = tb[:, :, ::-1]
    c1, f1, t1, cut1 = window_search(tb, ta)     # b windowed: b is a crop of a's picture... or a of b's
    c2, f2, t2, cut2 = window_search(ta, tb)
    use_a = (c2 + f2) > (c1 + f1)
    pick = lambda x, y: np.where(use_a.reshape(-1, *([1] * (x.ndim - 1))), y, x)  # noqa: E731
    return WideScores(pick(c1, c2), pick(f1, f2), pick(t1, t2), pick(cut1, cut2), use_a)


# ---------------------------------------------------------------------------------------------
# Crops at the picture's own scale: a copy cut out of the other picture and not resized has, on
# each axis, the other's side times the fraction kept, so its pixel sizes fix the window's size
# and only its place is free (two parameters where `window_search` has four). Pictures whose
# borders are flat (a subject on a plain background) correlate about as well at many free
# windows, and the best of those was often one no crop could be (the copy would have been
# enlarged or squashed); the window of the copy's own size matches as closely as a copy does.

CROP_POSITIONS = 9           # coarse places per axis, over the whole free range (<= 2% apart)
CROP_REFINE = (0.5, 0.25)    # then the best place moved by these fractions of the coarse step
CROP_LEAST = 0.01            # a side cut by less than this in all is the centred alignments' work


def area_matrices(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(n, CMP, T) float32: area_matrix(CMP, T, lo * T, hi * T) for each of n intervals at once."""
    lo = np.asarray(lo, np.float64)[:, None] * THUMB_SIZE
    hi = np.asarray(hi, np.float64)[:, None] * THUMB_SIZE
    edges = lo + np.arange(_CMP + 1)[None, :] * (hi - lo) / _CMP                 # (n, CMP + 1)
    j = np.arange(THUMB_SIZE)[None, None, :]
    ov = np.minimum(edges[:, 1:, None], j + 1.0) - np.maximum(edges[:, :-1, None], j)
    ov = np.clip(ov, 0.0, None)
    return (ov / np.maximum(ov.sum(axis=2, keepdims=True), 1e-12)).astype(np.float32)


def windowed(x: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """(P, CMP, CMP) float32: thumbnails x (P, T, T) over the windows `cut` (P, 4: the left, right,
    top and bottom fractions left out), area-resampled: what a WideScores alignment compared."""
    rows = area_matrices(cut[:, 2], 1.0 - cut[:, 3])
    cols = area_matrices(cut[:, 0], 1.0 - cut[:, 1])
    return np.matmul(np.matmul(rows, x.astype(np.float32)), cols.swapaxes(-1, -2))


def cut_and_whole(x_cut: np.ndarray, x_whole: np.ndarray, cut: np.ndarray, a_cut: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(xa, xb) (P, CMP, CMP): each pair's two sides as an off-centre alignment compared them,
    `x_cut` (P, T, T) over its window `cut` (as in `windowed`) and `x_whole` whole; `a_cut` (P,)
    says whether x_cut is the pair's a side (else its b side)."""
    win = windowed(x_cut, cut)
    whole = windowed(x_whole, np.zeros((len(x_whole), 4)))
    pick = a_cut[:, None, None]
    return np.where(pick, win, whole), np.where(pick, whole, win)


def crop_keep(width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: whether it can be an unscaled crop (one picture no larger than the other on both
    axes, by at most MAX_CUT, and smaller by CROP_LEAST on one), whether a is the larger (the one
    windowed), and the fractions of the larger's width and height the crop keeps."""
    w, h = np.asarray(width, np.float64), np.asarray(height, np.float64)
    a_big = (w[a] >= w[b]) & (h[a] >= h[b])
    big, small = np.where(a_big, a, b), np.where(a_big, b, a)
    kw, kh = w[small] / np.maximum(w[big], 1.0), h[small] / np.maximum(h[big], 1.0)
    ok = (kw <= 1.0) & (kh <= 1.0) & (kw >= 1.0 - MAX_CUT) & (kh >= 1.0 - MAX_CUT) & (np.minimum(kw, kh) <= 1.0 - CROP_LEAST)
    return ok, a_big, kw, kh


def _placed(x: np.ndarray, kw: np.ndarray, kh: np.ndarray, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """(P, n, CMP, CMP): the windows of thumbnails x (P, T, T) keeping kw, kh of the width and
    height from the left / top fractions lx, ly (P, n)."""
    p, n = lx.shape
    rx = area_matrices(lx.ravel(), (lx + kw[:, None]).ravel()).reshape(p, n, _CMP, THUMB_SIZE)
    ry = area_matrices(ly.ravel(), (ly + kh[:, None]).ravel()).reshape(p, n, _CMP, THUMB_SIZE)
    return np.matmul(np.matmul(ry, x[:, None]), rx.swapaxes(-1, -2))


def crop_search(x: np.ndarray, whole: np.ndarray, kw: np.ndarray, kh: np.ndarray) -> tuple[np.ndarray, ...]:
    """The best place of a window keeping kw, kh (P,) of thumbnails x (P, T, T) against the whole
    thumbnails `whole`: every coarse place (CROP_POSITIONS per axis) on the plain correlation,
    then refined on correlation plus fine detail. Returns corr, fine, texture, cut (P, 4)."""
    p = len(x)
    wu, wf, wfs = _features(np.matmul(np.matmul(_WIN[_FULL], whole), _WIN[_FULL].T))
    free_x, free_y = 1.0 - kw, 1.0 - kh
    g = np.linspace(0.0, 1.0, CROP_POSITIONS)
    gx, gy = np.meshgrid(g, g)                                                 # (n, n): y rows, x columns
    lx, ly = gx.ravel()[None] * free_x[:, None], gy.ravel()[None] * free_y[:, None]   # (P, n*n)
    u = _unit(_placed(x, kw, kh, lx, ly))[0].reshape(p, lx.shape[1], -1)
    k = np.argmax(np.einsum("pwd,pd->pw", u, wu), axis=1)
    r = np.arange(p)
    bx, by = lx[r, k], ly[r, k]
    step_x, step_y = free_x / (CROP_POSITIONS - 1), free_y / (CROP_POSITIONS - 1)
    moves = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], np.float64)   # (9, 2)
    corr = fine = tex = None
    for f in CROP_REFINE:
        cx = np.clip(bx[:, None] + moves[None, :, 0] * f * step_x[:, None], 0.0, free_x[:, None])
        cy = np.clip(by[:, None] + moves[None, :, 1] * f * step_y[:, None], 0.0, free_y[:, None])
        c, fn, t = _scores(_placed(x, kw, kh, cx, cy), wu, wf, wfs)
        k = np.argmax(c + fn, axis=1)
        bx, by = cx[r, k], cy[r, k]
        corr, fine, tex = c[r, k], fn[r, k], t[r, k]
    cut = np.stack([bx, free_x - bx, by, free_y - by], axis=1)
    return corr, fine, tex, cut


def crop_scores(thumbs: np.ndarray, width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray,
                mirrored: bool = False) -> WideScores:
    """The best unscaled-crop alignment of each pair (the larger picture windowed to the smaller
    one's size); pairs that cannot be one (see crop_keep) score -1."""
    p = len(a)
    ok, a_big, kw, kh = crop_keep(width, height, a, b)
    corr, fine, tex, cut = np.full(p, -1.0), np.full(p, -1.0), np.zeros(p), np.zeros((p, 4))
    go = np.flatnonzero(ok)
    if len(go):
        tb = thumbs[b[go]].astype(np.float32)
        tb = tb[:, :, ::-1] if mirrored else tb
        ta = thumbs[a[go]].astype(np.float32)
        big = np.where(a_big[go, None, None], ta, tb)
        small = np.where(a_big[go, None, None], tb, ta)
        corr[go], fine[go], tex[go], cut[go] = crop_search(big, small, kw[go], kh[go])
    return WideScores(corr, fine, tex, cut, a_big)
