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
