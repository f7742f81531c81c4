"""Rotated alignment: copies turned by a few degrees and cropped to hide the empty corners, for the
pairs that neither the centred nor the off-centre windows confirm.

One image's thumbnail is resampled (bilinear) on a grid turned by each of `ANGLES`, over the
largest centred window of the picture's own aspect ratio that stays inside it when turned (what
photo editors keep when they straighten a picture); the result is compared with the other image
by `confirmation.row_scores`, whose centred crop alignments (0 to 6% more per side, on either
image) absorb a crop wider than that least one. Thumbnails are squashed to a square, so the turn
is done in the picture's own proportions (a turn of a wide picture is a shear of its square
thumbnail). Both directions are tried (a turned to match b, and b turned to match a).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import THUMB_SIZE
from ..table import ImageTable
from .alignment import window_search
from .thumbs import CMP as _CMP, area_matrix as _area_matrix, sandwich, unit as _unit

# Degrees, both ways. A 1-degree step leaves at most 0.5 degrees of error: 0.15 of a comparison
# cell at the corners of the 24-cell grid, well inside what the correlation tolerates.
ANGLES = tuple(s * d for d in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0) for s in (-1.0, 1.0))


@dataclass(frozen=True)
class RotatedThumbs:
    thumbs: np.ndarray     # (P * n_angles, T, T) float32: each pair's turned thumbnail, per angle
    keep: np.ndarray       # (P * n_angles,) fraction of the side the turned window keeps


def inner_window(aspect: np.ndarray, angle_deg: float) -> np.ndarray:
    """Side fraction s of the largest centred window of the picture's aspect ratio (w / h) that
    stays inside the picture when turned by angle_deg."""
    t = np.radians(abs(angle_deg))
    c, s = np.cos(t), np.sin(t)
    return np.minimum(aspect / (aspect * c + s), 1.0 / (aspect * s + c))


def turned(thumbs: np.ndarray, aspect: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(P, T, T) float32 thumbnails resampled on a grid turned by angle_deg (counter-clockwise, as
    Pillow's rotate) over the largest inner window (see inner_window), and that window's side
    fraction (P,). `aspect` is each picture's width / height."""
    p = len(thumbs)
    n = THUMB_SIZE
    keep = inner_window(aspect, angle_deg).astype(np.float32)            # (P,)
    g = ((np.arange(n, dtype=np.float32) + 0.5) / n - 0.5)
    r = aspect.astype(np.float32)[:, None, None]
    k = keep[:, None, None]
    dx = g[None, None, :] * k * r                                        # (P, 1, T): columns
    dy = g[None, :, None] * k                                            # (P, T, 1): rows, in heights
    t = np.radians(angle_deg)
    c, s = np.float32(np.cos(t)), np.float32(np.sin(t))
    # the turned copy's pixel (dx, dy) shows the picture at R(angle) (dx, dy); y runs down, so a
    # counter-clockwise turn on screen is clockwise in these coordinates
    x = np.clip(((c * dx - s * dy) / r + 0.5) * n - 0.5, 0.0, n - 1.0)
    y = np.clip((s * dx + c * dy + 0.5) * n - 0.5, 0.0, n - 1.0)
    x0 = np.minimum(x.astype(np.int64), n - 2)          # x >= 0: truncation is the floor
    y0 = np.minimum(y.astype(np.int64), n - 2)
    wx, wy = x - x0, y - y0
    flat = thumbs.astype(np.float32).reshape(-1)
    base = (np.arange(p)[:, None, None] * (n * n) + y0 * n + x0).reshape(-1)
    v00, v01 = flat.take(base).reshape(p, n, n), flat.take(base + 1).reshape(p, n, n)
    v10, v11 = flat.take(base + n).reshape(p, n, n), flat.take(base + n + 1).reshape(p, n, n)
    out = (v00 + (v01 - v00) * wx) * (1 - wy) + (v10 + (v11 - v10) * wx) * wy
    return out.astype(np.float32, copy=False), keep.astype(np.float64)


@dataclass(frozen=True)
class TurnedScores:
    """Best turned alignment of each pair, in the terms of alignment.WideScores (cut: the border
    fraction per side the turned window and the crop alignment leave out of the turned image)."""

    corr: np.ndarray
    fine: np.ndarray
    texture: np.ndarray
    cut: np.ndarray        # (P, 4)
    a_cut: np.ndarray      # (P,) bool: a is the turned image (else b)
    angle: np.ndarray      # (P,) degrees


# Extra centred crops (per side, on each axis apart) tried with every turn when choosing it: the
# crop that hides the empty corners need not keep the picture's aspect ratio.
_TURN_CROPS = (0.0, 0.03, 0.06)
_TURN_AREA = [[np.asarray(_area_matrix(_CMP, THUMB_SIZE, c * THUMB_SIZE, (1 - c) * THUMB_SIZE), np.float32)
               for c in _TURN_CROPS]]


def turned_scores(table: ImageTable, a: np.ndarray, b: np.ndarray) -> TurnedScores:
    """Each pair compared over small turns of either image (rotation.ANGLES): the turn and direction
    whose plain correlation is best (a cheap comparison of whole thumbnails, the turned one also
    with a few extra crops per axis), then that turn over the off-centre windows of alignment.py,
    which also give the fine detail."""
    p = len(a)
    aspect = table.width.astype(np.float64) / np.maximum(table.height.astype(np.float64), 1.0)
    area = _TURN_AREA[0]
    whole = lambda t: _unit(sandwich(area[0], t))[0].reshape(len(t), -1)  # noqa: E731
    ua, ub = whole(table.thumb[a].astype(np.float32)), whole(table.thumb[b].astype(np.float32))
    best = np.full(p, -np.inf)
    best_deg, a_turned = np.zeros(p), np.zeros(p, bool)
    for x, other, x_is_a in ((a, ub, True), (b, ua, False)):
        for deg in ANGLES:
            rot = turned(table.thumb[x], aspect[x], deg)[0]
            for ry in area:
                left = np.matmul(ry, rot)                                   # (P, CMP, T)
                for rx in area:
                    u = _unit(np.matmul(left, rx.T))[0].reshape(p, -1)
                    c = np.einsum("pd,pd->p", u, other)
                    upd = c > best
                    best[upd], best_deg[upd], a_turned[upd] = c[upd], deg, x_is_a
    x = np.where(a_turned, a, b)
    y = np.where(a_turned, b, a)
    rot = np.empty((p, THUMB_SIZE, THUMB_SIZE), np.float32)
    keep = np.ones(p)
    for deg in np.unique(best_deg):
        m = best_deg == deg
        rot[m], keep[m] = turned(table.thumb[x[m]], aspect[x[m]], float(deg))
    corr, fine, tex, cut = window_search(rot, table.thumb[y].astype(np.float32))
    # the border fractions of the turned image left out: its inner window, then the window in it
    outer = (1 - keep[:, None]) / 2
    return TurnedScores(corr, fine, tex, outer + keep[:, None] * cut, a_turned,
                        np.where(a_turned, best_deg, -best_deg))
