"""Wide alignment: off-centre crops and shifts of up to ~15% of a side, for the pairs the centred
alignments of `confirmation.row_scores` leave unconfirmed.

One image is compared whole against windows of the other: on each axis a window keeps [lo, hi)
with lo and 1 - hi in 2.5% steps and at most 16% cut in all, so 28 windows per axis (784 in
two dimensions). Windows are separable (rows and columns are resampled apart), so the search
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


def window_search(x: np.ndarray, whole: np.ndarray) -> tuple[np.ndarray, ...]:
    """Best window of thumbnails x (P, T, T) against thumbnails `whole` (P, T, T), one axis at a time."""
    p = len(x)
    wu, wf, wfs = _features(np.matmul(np.matmul(_WIN[_FULL], whole), _WIN[_FULL].T))
    r = np.arange(p)
    jx = np.full(p, _FULL)
    iy = np.full(p, _FULL)
    corr = fine = tex = np.zeros(p)
    for axis in ("x", "y", "x"):
        if axis == "x":   # rows by the current vertical window, columns by all 28 windows
            left = np.matmul(_WIN[iy], x)                                            # (P, CMP, T)
            w = np.matmul(left, _WIN_T).reshape(p, _CMP, len(INTERVALS), _CMP).transpose(0, 2, 1, 3)
        else:             # columns by the current horizontal window, rows by all 28 windows
            right = np.matmul(x, _WIN[jx].transpose(0, 2, 1))                         # (P, T, CMP)
            w = np.matmul(_WIN_ROWS, right).reshape(p, len(INTERVALS), _CMP, _CMP)
        c, f, t = _scores(w, wu, wf, wfs)
        best = np.argmax(c + f, axis=1)
        if axis == "x":
            jx = best
        else:
            iy = best
        corr, fine, tex = c[r, best], f[r, best], t[r, best]
    iv = np.asarray(INTERVALS)
    cut = np.stack([iv[jx, 0], 1 - iv[jx, 1], iv[iy, 0], 1 - iv[iy, 1]], axis=1)
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
