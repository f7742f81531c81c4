"""Whether an alignment is the pair's own transform, from how its parts agree.

A turn of a few degrees is one more free parameter: it can stand in for another transform over
pictures whose detail is one smooth curve (the rim of a fundus photo: turned about the middle, an
arc moves much as it does zoomed or shifted). Such a stand-in matches the whole closely, but its
parts are displaced by different amounts: moved a cell or two, one quarter of the picture agrees
far better than where the alignment put it. At a pair's own transform every part agrees best
where it is (the resampling's error stays well under a cell).
"""
from __future__ import annotations

import numpy as np

from .thumbs import fine, unit

SHIFT = 2   # cells of the fine-detail grid (CMP - 4 a side) each quarter is moved, each way


def misfit(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Per aligned pair (P, CMP, CMP): the most by which moving one quarter of xb's fine detail up
    to SHIFT cells (each axis) raises the correlation of that quarter with xa's, over the four
    quarters (the quarters' inner parts, SHIFT cells from the border: what every move keeps)."""
    p = len(xa)
    if p == 0:
        return np.zeros(0)
    fa, fb = fine(xa.astype(np.float32)), fine(xb.astype(np.float32))
    n = fa.shape[-1]
    h = n // 2
    worst = np.zeros(p)
    for y0, y1 in ((SHIFT, h), (h, n - SHIFT)):
        for x0, x1 in ((SHIFT, h), (h, n - SHIFT)):
            ua = unit(fa[:, y0:y1, x0:x1])[0]
            here = best = None
            for dy in range(-SHIFT, SHIFT + 1):
                for dx in range(-SHIFT, SHIFT + 1):
                    c = np.einsum("pij,pij->p", ua, unit(fb[:, y0 + dy:y1 + dy, x0 + dx:x1 + dx])[0])
                    best = c if best is None else np.maximum(best, c)
                    if dy == 0 and dx == 0:
                        here = c
            worst = np.maximum(worst, best - here)
    return worst
