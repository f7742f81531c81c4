"""Wide alignment: off-centre crops and shifts of up to ~15% of a side, for the pairs the centred
alignments of `confirmation.row_scores` leave unconfirmed.

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
