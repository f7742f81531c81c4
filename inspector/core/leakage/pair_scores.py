"""Centred comparison of two thumbnails: each pair's best crop alignment (0 to 6% border removed
from either image, mirrored or not, compared at 24x24 after an area resampling) and its scores,
the correlation of the images and of their fine detail. The confirmation (confirmation.py) judges
these scores; the off-centre, turned and band passes refine them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import THUMB_SIZE
from .thumbs import CMP as _CMP, area_matrix as _area_matrix, fine as _fine, unit as _unit

ALIGN_CROPS = tuple(np.round(np.linspace(0.0, 0.06, 9), 4))  # border fraction removed, per side
AREA = np.stack([_area_matrix(_CMP, THUMB_SIZE, c * THUMB_SIZE, (1 - c) * THUMB_SIZE)
                  for c in ALIGN_CROPS]).astype(np.float32)    # (n_align, CMP, T)
_AREA_RIGHT = np.ascontiguousarray(AREA.transpose(2, 0, 1).reshape(THUMB_SIZE, -1))  # (T, n_align*CMP)


def _aligned(thumbs: np.ndarray) -> np.ndarray:
    """(P, n_align, CMP, CMP) float32: each thumbnail with each border fraction removed, resampled."""
    p = len(thumbs)
    n_al = len(ALIGN_CROPS)
    t = thumbs.astype(np.float32).reshape(p * THUMB_SIZE, THUMB_SIZE)
    # right side for all alignments in one product: (P*T, T) @ (T, n_al*CMP)
    y = (t @ _AREA_RIGHT).reshape(p, THUMB_SIZE, n_al, _CMP).transpose(2, 1, 0, 3)
    y = y.reshape(n_al, THUMB_SIZE, p * _CMP)
    out = np.matmul(AREA, y)                                   # (n_al, CMP, P*CMP)
    return out.reshape(n_al, _CMP, p, _CMP).transpose(2, 0, 1, 3)


@dataclass(frozen=True)
class PairScores:
    """Best-alignment scores of candidate pairs (arrays of length P)."""

    corr: np.ndarray       # correlation after removing the mean
    fine: np.ndarray       # correlation of the fine detail
    texture: np.ndarray    # least fine-detail std of the two thumbnails at that alignment
    mirrored: np.ndarray   # bool: the best alignment is mirrored
    crop_a: np.ndarray     # border fraction removed from a / from b at the best alignment
    crop_b: np.ndarray     # (the largest side's, for an off-centre window)
    off_centre: np.ndarray | None = None   # bool: the best alignment is an off-centre window
    angle: np.ndarray | None = None        # degrees one image is turned at the best alignment (0: none)
    band_top: np.ndarray | None = None     # rows left out (overlay.py) from / to, as fractions of
    band_bottom: np.ndarray | None = None  # the height (-1: none)


def _features(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per thumbnail and crop alignment: unit vectors of the image and of its fine detail
    (P, n_align, CMP, CMP), and the fine detail's std (P, n_align)."""
    aligned = _aligned(thumbs)
    unit, _ = _unit(aligned)
    fine, fine_std = _unit(_fine(aligned))
    return unit, fine, fine_std


def row_scores(thumbs: np.ndarray, a: np.ndarray, b: np.ndarray, mirrors: bool = True,
               block: int = 2048, mirrored_only: bool = False) -> PairScores:
    """Compare thumbnails thumbs[a[i]] and thumbs[b[i]] over the crop alignments (and mirrors) and
    keep the best one.

    Alignments: a whole vs b with c removed, and a with c removed vs b whole, for c in ALIGN_CROPS,
    each also with b mirrored (`mirrors`; only mirrored with `mirrored_only`). The best alignment
    maximises corr + fine. Each image's aligned features are computed once per block of pairs,
    however many pairs of the block it is in (crowds of look-alikes meet often).
    """
    p = len(a)
    n_al = len(ALIGN_CROPS)
    crops = np.asarray(ALIGN_CROPS)
    crop_a = np.concatenate([np.zeros(n_al), crops[1:]])      # per alignment column
    crop_b = np.concatenate([crops, np.zeros(n_al - 1)])
    out = {k: np.zeros(p) for k in ("score", "corr", "fine", "texture", "crop_a", "crop_b")}
    out["score"][:] = -np.inf
    mir = np.zeros(p, bool)
    for lo in range(0, p, block):
        hi = min(p, lo + block)
        r = np.arange(hi - lo)
        rows, inv = np.unique(np.concatenate([a[lo:hi], b[lo:hi]]), return_inverse=True)
        unit, fine, fine_std = _features(thumbs[rows])
        ia, ib = inv[:hi - lo], inv[hi - lo:]
        ua, fa, fsa = unit[ia].reshape(hi - lo, n_al, -1), fine[ia].reshape(hi - lo, n_al, -1), fine_std[ia]
        ub, fb, fsb = unit[ib], fine[ib], fine_std[ib]
        # texture per alignment column: least fine-detail std of the two compared images
        tx = np.concatenate([np.minimum(fsa[:, :1], fsb), np.minimum(fsa[:, 1:], fsb[:, :1])], axis=1)
        for is_m in ((True,) if mirrored_only else (False, True) if mirrors else (False,)):
            ubv = (ub[..., ::-1] if is_m else ub).reshape(hi - lo, n_al, -1)
            fbv = (fb[..., ::-1] if is_m else fb).reshape(hi - lo, n_al, -1)
            c1 = np.concatenate([np.einsum("pd,pad->pa", ua[:, 0], ubv),
                                 np.einsum("pad,pd->pa", ua[:, 1:], ubv[:, 0])], axis=1)
            c2 = np.concatenate([np.einsum("pd,pad->pa", fa[:, 0], fbv),
                                 np.einsum("pad,pd->pa", fa[:, 1:], fbv[:, 0])], axis=1)
            score = c1 + c2
            k = np.argmax(score, axis=1)
            better = score[r, k] > out["score"][lo:hi]
            sl = np.flatnonzero(better) + lo
            kb = k[better]
            rb = r[better]
            out["score"][sl] = score[rb, kb]
            out["corr"][sl] = c1[rb, kb]
            out["fine"][sl] = c2[rb, kb]
            out["texture"][sl] = tx[rb, kb]
            out["crop_a"][sl] = crop_a[kb]
            out["crop_b"][sl] = crop_b[kb]
            mir[sl] = is_m
    return PairScores(out["corr"], out["fine"], out["texture"], mir, out["crop_a"], out["crop_b"])
