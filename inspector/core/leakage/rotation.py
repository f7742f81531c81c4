"""Rotated alignment: copies turned by a few degrees and cropped to hide the empty corners, for the
pairs that neither the centred nor the off-centre windows confirm.

One image's thumbnail is resampled (bilinear) on a grid turned by a few angles (coarse to fine), over the
largest centred window of the picture's own aspect ratio that stays inside it when turned (what
photo editors keep when they straighten a picture); the result is compared with the other image
by `pair_scores.row_scores`, whose centred crop alignments (0 to 6% more per side, on either
image) absorb a crop wider than that least one. Thumbnails are squashed to a square, so the turn
is done in the picture's own proportions (a turn of a wide picture is a shear of its square
thumbnail). Both directions are tried (a turned to match b, and b turned to match a).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import THUMB_SIZE
from ..table import ImageTable
from .alignment import MAX_CUT, cut_and_whole, window_search, windowed
from .thumbs import CMP as _CMP, area_matrix as _area_matrix, fine as _fine, sandwich, unit as _unit

# Degrees, both ways: a coarse search over COARSE_ANGLES (at most 1.5 degrees from any turn up to
# 6), then, for the pairs whose best coarse turn correlates at least TURN_GATE, refinement steps
# of 1, 0.5 and 0.25 degrees around it (at most 0.25 degrees of error in the end: 0.07 of a
# comparison cell at the corners of the 24-cell grid). On the benchmark's turned copies the coarse
# turn correlated 0.905 or more; 26% of the hard negatives that reach the turned pass get past it.
COARSE_ANGLES = (-4.5, -1.5, 1.5, 4.5)
REFINE_STEPS = (1.0, 0.5, 0.25)
MAX_TURN = 6.5
TURN_GATE = 0.88
# A best turn at the edge of the turns searched is no peak when the correlation rises further
# PAST_EDGE beyond it, where copies are not made (turned copies, up to 6 degrees, peak inside):
# the turn then stands in for another transform (a fundus rim turned about the middle moves as
# it does zoomed: two overlapping crops of one fundus, one a zoom of the other, peaked past 6.5
# degrees), and the pair scores -1.
PAST_EDGE = 0.5
TURN_EDGE = min(MAX_TURN, max(abs(d) for d in COARSE_ANGLES) + sum(REFINE_STEPS))


@dataclass(frozen=True)
class RotatedThumbs:
    thumbs: np.ndarray     # (P * n_angles, T, T) float32: each pair's turned thumbnail, per angle
    keep: np.ndarray       # (P * n_angles,) fraction of the side the turned window keeps


def inner_window(aspect: np.ndarray, angle_deg: float) -> np.ndarray:
    """Side fraction s of the largest centred window of the picture's aspect ratio (w / h) that
    stays inside the picture when turned by angle_deg."""
    t = np.radians(np.abs(angle_deg))
    c, s = np.cos(t), np.sin(t)
    return np.minimum(aspect / (aspect * c + s), 1.0 / (aspect * s + c))


def turned(thumbs: np.ndarray, aspect: np.ndarray, angle_deg: float | np.ndarray,
           frame: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(P, T, T) float32 thumbnails resampled on a grid turned by angle_deg (one angle, or one per
    thumbnail; counter-clockwise, as Pillow's rotate) over a centred window of the turned picture,
    and that window's fractions of the width and height (P, 2): the largest inner window (see
    inner_window), or `frame` (P, 2) when given. `aspect` is each picture's width / height."""
    p = len(thumbs)
    angle_deg = np.broadcast_to(np.asarray(angle_deg, np.float64), (p,))
    n = THUMB_SIZE
    if frame is None:
        frame = np.repeat(inner_window(aspect, angle_deg)[:, None], 2, axis=1)
    frame = np.asarray(frame, np.float64)
    g = ((np.arange(n, dtype=np.float32) + 0.5) / n - 0.5)
    r = aspect.astype(np.float32)[:, None, None]
    dx = g[None, None, :] * frame[:, 0].astype(np.float32)[:, None, None] * r   # (P, 1, T): columns
    dy = g[None, :, None] * frame[:, 1].astype(np.float32)[:, None, None]       # (P, T, 1): rows, in heights
    t = np.radians(angle_deg)
    c = np.cos(t).astype(np.float32)[:, None, None]
    s = np.sin(t).astype(np.float32)[:, None, None]
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
    return out.astype(np.float32, copy=False), frame


# Bilinear resampling blurs the turned thumbnail, by an amount that changes with each cell's
# sub-pixel phase (none where the grid falls on a pixel, most halfway between two); the other
# image is blurred to match, on average, by a 3-tap kernel [w, 1 - 2w, w] per axis, so that the
# resampling's blur does not count as a difference. The average variance of the bilinear kernel,
# E[phase (1 - phase)] = 1/6 of a pixel squared, is that of w = 1/12; on the benchmark's turned
# copies the unturned side so blurred correlated 0.005-0.025 better (detailed pictures most).
TURN_BLUR = 1.0 / 12.0


def blurred(thumbs: np.ndarray) -> np.ndarray:
    """(P, T, T) float32 thumbnails blurred by [w, 1 - 2w, w] along each axis (w = TURN_BLUR,
    edges repeated)."""
    w = TURN_BLUR
    x = np.pad(thumbs.astype(np.float32), ((0, 0), (1, 1), (1, 1)), mode="edge")
    k = np.float32(w), np.float32(1.0 - 2.0 * w)
    y = k[0] * (x[:, :-2] + x[:, 2:]) + k[1] * x[:, 1:-1]
    return k[0] * (y[:, :, :-2] + y[:, :, 2:]) + k[1] * y[:, :, 1:-1]


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
    frame: np.ndarray | None = None   # (P, 2) the turned window's fractions of the width and height
                                      # (None: the inner window, see inner_window)
    other: np.ndarray | None = None   # (P, 2) the centred window of the other image compared
                                      # (None: all of it)


def _frame4(frame: np.ndarray) -> np.ndarray:
    """(P, 4): a (P, 2) frame's fractions per side, as cut is (left, right, top, bottom)."""
    return frame[:, [0, 0, 1, 1]]


# Extra centred crops (per side, on each axis apart) tried with every turn when choosing it: the
# crop that hides the empty corners need not keep the picture's aspect ratio.
_TURN_CROPS = (0.0, 0.03, 0.06)
_TURN_AREA = [[np.asarray(_area_matrix(_CMP, THUMB_SIZE, c * THUMB_SIZE, (1 - c) * THUMB_SIZE), np.float32)
               for c in _TURN_CROPS]]


def _turn_corr(table: ImageTable, x: np.ndarray, other: np.ndarray, aspect: np.ndarray,
               deg: np.ndarray) -> np.ndarray:
    """Plain correlation of thumbnails x turned by deg (per pair) with the unit vectors `other`,
    the best over a few extra centred crops per axis."""
    area = _TURN_AREA[0]
    rot = turned(table.thumb[x], aspect[x], deg)[0]
    best = np.full(len(x), -np.inf)
    for ry in area:
        left = np.matmul(ry, rot)                                           # (P, CMP, T)
        for rx in area:
            u = _unit(np.matmul(left, rx.T))[0].reshape(len(x), -1)
            best = np.maximum(best, np.einsum("pd,pd->p", u, other))
    return best


def turned_scores(table: ImageTable, a: np.ndarray, b: np.ndarray) -> TurnedScores:
    """Each pair compared over small turns of either image: the turn and direction whose plain
    correlation is best (a cheap comparison of whole thumbnails, the turned one also with a few
    extra crops per axis), coarse to fine; then, for the pairs that come close (TURN_GATE), that
    turn over the off-centre windows of alignment.py, which also give the fine detail. Pairs that
    do not come close score -1."""
    p = len(a)
    aspect = table.width.astype(np.float64) / np.maximum(table.height.astype(np.float64), 1.0)
    whole = lambda t: _unit(sandwich(_TURN_AREA[0][0], t))[0].reshape(len(t), -1)  # noqa: E731
    ua, ub = whole(blurred(table.thumb[a])), whole(blurred(table.thumb[b]))
    best = np.full(p, -np.inf)
    best_deg, a_turned = np.zeros(p), np.zeros(p, bool)
    for x, other, x_is_a in ((a, ub, True), (b, ua, False)):
        for deg in COARSE_ANGLES:
            c = _turn_corr(table, x, other, aspect, np.full(p, deg))
            upd = c > best
            best[upd], best_deg[upd], a_turned[upd] = c[upd], deg, x_is_a
    go = np.flatnonzero(best >= TURN_GATE)
    corr, fine, tex = np.full(p, -1.0), np.full(p, -1.0), np.zeros(p)
    cut = np.zeros((p, 4))
    frame = np.repeat(inner_window(aspect[np.where(a_turned, a, b)], best_deg)[:, None], 2, axis=1)
    if len(go) == 0:
        return TurnedScores(corr, fine, tex, cut, a_turned, np.where(a_turned, best_deg, -best_deg), frame)
    x = np.where(a_turned[go], a[go], b[go])
    y = np.where(a_turned[go], b[go], a[go])
    other = np.where(a_turned[go, None], ub[go], ua[go])
    g_best, g_deg = best[go], best_deg[go]
    for step in REFINE_STEPS:
        centre = g_deg.copy()
        for sign in (-1.0, 1.0):
            deg = np.clip(centre + sign * step, -MAX_TURN, MAX_TURN)
            c = _turn_corr(table, x, other, aspect, deg)
            upd = c > g_best
            g_best[upd], g_deg[upd] = c[upd], deg[upd]
    best_deg[go] = g_deg
    past = _past_edge(g_deg, g_best, TURN_EDGE, lambda k, d: _turn_corr(table, x[k], other[k], aspect, d))
    rot, keep = turned(table.thumb[x], aspect[x], g_deg)
    c, f, t, w = window_search(rot, blurred(table.thumb[y]))
    c, f = np.where(past, -1.0, c), np.where(past, -1.0, f)
    # the border fractions of the turned image left out: its inner window, then the window in it
    corr[go], fine[go], tex[go] = c, f, t
    cut[go] = (1 - _frame4(keep)) / 2 + _frame4(keep) * w
    frame[go] = keep
    return TurnedScores(corr, fine, tex, cut, a_turned, np.where(a_turned, best_deg, -best_deg), frame)


def _past_edge(deg: np.ndarray, best: np.ndarray, edge: float, corr_at) -> np.ndarray:
    """Which best turns deg (correlating `best`) lie at the searched range's edge and correlate
    more PAST_EDGE beyond it (corr_at(rows, turns): the plain correlation of those rows)."""
    past = np.zeros(len(deg), bool)
    k = np.flatnonzero(np.abs(deg) >= edge - 1e-9)
    if len(k):
        past[k] = corr_at(k, deg[k] + np.sign(deg[k]) * PAST_EDGE) > best[k]
    return past


# Turned copies whose window the picture sizes fix, so that only the turn is free:
# - cropped and not resized (straightened in an editor, the empty corners cut off): the copy's
#   pixel sizes are the part of the turned picture it shows, in any proportions (a wide picture
#   turned by a few degrees loses far more of its height than of its width to the corners);
# - cropped to the inner window of the picture's own proportions (see inner_window) and exported
#   at any size (resized back to the original's, or smaller): the two keep one aspect ratio.
# The free window search above finds such copies at a wrong turn and window when the crop keeps
# more of one side than the inner window does, more than MAX_CUT of the other, or is resized.
OWN_ANGLES = tuple(float(d) for d in np.arange(-6.0, 6.01, 1.5))   # 1.5 degrees apart, then
OWN_REFINE = (0.75, 0.375, 0.1875)                                 # refined to 0.19
OWN_EDGE = min(MAX_TURN, max(abs(d) for d in OWN_ANGLES) + sum(OWN_REFINE))
OWN_MIN_KEEP = 0.5          # least fraction of a side an unscaled crop keeps ...
OWN_MIN_AREA = 0.6          # ... and of the area (a smaller crop shows only part of the picture)
OWN_MIN_TURN = 0.5          # degrees: a smaller turn is a plain crop (the crop and centred passes')
OWN_INSIDE_SLACK = 0.03     # an unscaled window must lie inside the turned picture (no empty corner), to 3%
OWN_ASPECT = 0.03           # "one aspect ratio": within 3%
# The windows of one aspect ratio are refined from one coarse turn (x's inner window against all of
# y) of the pairs whose correlation there reaches OWN_COARSE_GATE (a copy turned with its corners
# filled correlates less there than at its own window); each must still reach TURN_GATE refined.
OWN_COARSE_GATE = 0.80


def own_scale_keep(width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: whether one picture can be an unscaled turned crop of the other (no larger on
    either axis, keeping at least OWN_MIN_KEEP of each side and of the area, and less than all of
    one side), whether a is the larger (the one turned), and the fractions (P, 2) of its width and
    height kept."""
    w, h = np.asarray(width, np.float64), np.asarray(height, np.float64)
    a_big = (w[a] >= w[b]) & (h[a] >= h[b])
    big, small = np.where(a_big, a, b), np.where(a_big, b, a)
    keep = np.stack([w[small] / np.maximum(w[big], 1.0), h[small] / np.maximum(h[big], 1.0)], axis=1)
    ok = ((keep <= 1.0).all(axis=1) & (keep >= OWN_MIN_KEEP).all(axis=1) & (keep.min(axis=1) < 1.0)
          & (keep.prod(axis=1) >= OWN_MIN_AREA))
    return ok, a_big, keep


def big_crop(width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: an unscaled crop (own_scale_keep) keeping less than 1 - MAX_CUT of a side."""
    ok, _, keep = own_scale_keep(width, height, a, b)
    return ok & (keep.min(axis=1) < 1.0 - MAX_CUT)


def same_aspect(width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: whether the two pictures have one aspect ratio (OWN_ASPECT)."""
    r = np.asarray(width, np.float64) / np.maximum(np.asarray(height, np.float64), 1.0)
    return same_aspect_ratio(r[a], r[b])


def own_window_pairs(width: np.ndarray, height: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which pairs own_scale_scores can compare (an unscaled crop, one aspect ratio, or one a
    turned picture's expanded canvas)."""
    r = np.asarray(width, np.float64) / np.maximum(np.asarray(height, np.float64), 1.0)
    return (own_scale_keep(width, height, a, b)[0] | same_aspect(width, height, a, b)
            | _may_be_expanded(r[a], r[b]) | _may_be_expanded(r[b], r[a]))


def _inside(aspect: np.ndarray, keep: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """Whether centred windows keeping `keep` (P, 2) of a picture's width and height lie inside
    the picture turned by angle_deg (P,) about its centre, to OWN_INSIDE_SLACK: where a turned
    copy cropped so that no empty corner shows can be."""
    t = np.radians(np.abs(angle_deg))
    c, s = np.cos(t), np.sin(t)
    x, y = keep[:, 0] * aspect, keep[:, 1]          # the window's sides, in picture heights
    lim = 1.0 + OWN_INSIDE_SLACK
    return (x * c + y * s <= aspect * lim) & (x * s + y * c <= lim)


def _filled_window(aspect: np.ndarray, angle_deg: np.ndarray, expand: bool) -> np.ndarray:
    """(P, 2): the fractions of a turned copy's width and height that show its original's inner
    window (inner_window), when the copy was turned without a crop, its corners filled: on the
    original's canvas (`expand` False), or on the larger one holding the whole turned picture."""
    k = inner_window(aspect, angle_deg)
    if not expand:
        return np.stack([k, k], axis=1)
    t = np.radians(np.abs(angle_deg))
    c, s = np.cos(t), np.sin(t)
    return np.stack([k / (c + s / aspect), k / (aspect * s + c)], axis=1)


def expanded_aspect(aspect: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """The aspect ratio of a picture turned by angle_deg on a canvas holding all of it."""
    t = np.radians(np.abs(angle_deg))
    c, s = np.cos(t), np.sin(t)
    return (aspect * c + s) / (aspect * s + c)


def _fixed_window_turn(table: ImageTable, x: np.ndarray, y: np.ndarray, frame: np.ndarray | None,
                       filled: bool | None = None, start: np.ndarray | None = None,
                       coarse_only: bool = False) -> tuple[np.ndarray, ...]:
    """Thumbnails x turned over the fixed windows `frame` (P, 2; None: the inner window of each
    turn) against the whole thumbnails y, or with `filled` (True: on an expanded canvas) against
    the window of y that shows that inner window (_filled_window: y is x turned without a crop,
    its corners filled): every turn of OWN_ANGLES, then refined by OWN_REFINE, on
    the plain correlation (on the benchmark's turned copies the fine detail peaked up to 2 degrees
    off the turn made, the plain correlation within 0.5). Returns corr, fine, texture and the turn
    (P,); pairs whose best coarse turn is under TURN_GATE, or whose unscaled window would show an
    empty corner, score -1."""
    p = len(x)
    aspect = table.width.astype(np.float64) / np.maximum(table.height.astype(np.float64), 1.0)
    yb = blurred(table.thumb[y])
    whole_y = sandwich(_TURN_AREA[0][0], yb)

    def at(d: np.ndarray, rows: np.ndarray, full: bool = False) -> tuple[np.ndarray, ...]:
        """The plain correlation at turns d of the pairs `rows` (with `full`, also the fine
        detail's correlation and the texture: the search needs only the first)."""
        wx = sandwich(_TURN_AREA[0][0], turned(table.thumb[x[rows]], aspect[x[rows]], d,
                                               None if frame is None else frame[rows])[0])
        if filled is None:
            wy = whole_y[rows]
        else:
            wy = windowed(yb[rows], (1 - _frame4(_filled_window(aspect[x[rows]], d, filled))) / 2)
        c = np.einsum("pij,pij->p", _unit(wx)[0], _unit(wy)[0])
        if not full:
            return (c,)
        (fx, sx), (fy, sy) = _unit(_fine(wx)), _unit(_fine(wy))
        return c, np.einsum("pij,pij->p", fx, fy), np.minimum(sx, sy)

    if start is None:   # the coarse search, then only the pairs that come close go on
        best, deg = np.full(p, -np.inf), np.zeros(p)
        for d in OWN_ANGLES:
            c = at(np.full(p, d), np.arange(p))[0]
            upd = c > best
            best[upd], deg[upd] = c[upd], d
        if coarse_only:
            return best, deg
        close = np.flatnonzero(best >= TURN_GATE)
    else:               # from a coarse turn found already
        deg, close = np.asarray(start, np.float64).copy(), np.arange(p)
        best = at(deg, close)[0]
    best, g_deg = best[close], deg[close]
    for step in OWN_REFINE if len(close) else ():
        centre = g_deg.copy()
        for sign in (-1.0, 1.0):
            d = np.clip(centre + sign * step, -MAX_TURN, MAX_TURN)
            c = at(d, close)[0]
            upd = c > best
            best[upd], g_deg[upd] = c[upd], d[upd]
    fits = (np.abs(g_deg) >= OWN_MIN_TURN) & (best >= TURN_GATE)
    fits &= ~_past_edge(g_deg, best, OWN_EDGE, lambda k, d: at(d, close[k])[0])
    if frame is not None:
        fits &= _inside(aspect[x[close]], frame[close], g_deg)
    if filled:   # the canvas must have the proportions of the whole turned picture
        fits &= np.abs(np.log(aspect[y[close]] / expanded_aspect(aspect[x[close]], g_deg))) <= np.log1p(OWN_ASPECT)
    close, g_deg = close[fits], g_deg[fits]
    corr, fine, tex = np.full(p, -1.0), np.full(p, -1.0), np.zeros(p)
    if len(close):
        corr[close], fine[close], tex[close] = at(g_deg, close, full=True)
        deg[close] = g_deg
    return corr, fine, tex, deg


def own_scale_scores(table: ImageTable, a: np.ndarray, b: np.ndarray) -> TurnedScores:
    """Each pair compared with one picture turned over a window its sizes fix (see above): the
    larger turned over the smaller one's own size (own_scale_keep), and, for pictures of one aspect
    ratio, either turned over its inner window; the best of these by the plain correlation. Pairs
    that can be neither, or whose best turn does not come close (TURN_GATE), score -1."""
    p = len(a)
    aspect = table.width.astype(np.float64) / np.maximum(table.height.astype(np.float64), 1.0)
    ok, a_big, keep = own_scale_keep(table.width, table.height, a, b)
    one_aspect = same_aspect(table.width, table.height, a, b)
    corr, fine, tex, deg = np.full(p, -1.0), np.full(p, -1.0), np.zeros(p), np.zeros(p)
    a_turned, frame = a_big.copy(), keep.copy()
    other = np.ones((p, 2))
    larger = lambda x, y: (table.width[y] > table.width[x]) & (table.height[y] > table.height[x])  # noqa: E731
    hypotheses = [(ok, np.where(a_big, a, b), np.where(a_big, b, a), keep, a_big, None, None)]
    for x, y, x_is_a in ((a, b, True), (b, a, False)):
        # the windows of one aspect ratio share one coarse search of the turn (x's inner window
        # against all of y): a filled copy's corners lower its correlation, not where it peaks
        expanded = _may_be_expanded(aspect[x], aspect[y])
        start = np.zeros(p)
        near = np.flatnonzero(one_aspect | expanded)
        coarse = np.zeros(p, bool)
        if len(near):
            best, start[near] = _fixed_window_turn(table, x[near], y[near], None, coarse_only=True)
            coarse[near] = best >= OWN_COARSE_GATE
        # an expanded canvas shows the picture smaller, amid its filled corners: a coarse search of
        # its own, for the pictures whose proportions only an expanded canvas explains, or larger
        # on both axes (at small turns one aspect ratio)
        hypotheses += [(one_aspect & coarse, x, y, None, np.full(p, x_is_a), None, start),
                       (one_aspect & coarse, x, y, None, np.full(p, x_is_a), False, start),
                       (expanded & (~one_aspect | larger(x, y)), x, y, None, np.full(p, x_is_a), True, None)]
    for eligible, x, y, fr, x_is_a, filled, start in hypotheses:
        go = np.flatnonzero(eligible)
        if len(go) == 0:
            continue
        c, f, t, d = _fixed_window_turn(table, x[go], y[go], None if fr is None else fr[go], filled,
                                        None if start is None else start[go])
        upd = c > corr[go]
        g = go[upd]
        corr[g], fine[g], tex[g], deg[g], a_turned[g] = c[upd], f[upd], t[upd], d[upd], x_is_a[g]
        frame[g] = (np.repeat(inner_window(aspect[x[g]], d[upd])[:, None], 2, axis=1) if fr is None else fr[g])
        other[g] = 1.0 if filled is None else _filled_window(aspect[x[g]], d[upd], filled)
    return TurnedScores(corr, fine, tex, (1 - _frame4(frame)) / 2, a_turned, np.where(a_turned, deg, -deg),
                        frame, other)


def _may_be_expanded(aspect_x: np.ndarray, aspect_y: np.ndarray) -> np.ndarray:
    """Whether y's proportions can be those of x turned OWN_MIN_TURN to MAX_TURN degrees on a canvas
    holding all of it (to OWN_ASPECT)."""
    lo = expanded_aspect(aspect_x, np.full(len(aspect_x), OWN_MIN_TURN))
    hi = expanded_aspect(aspect_x, np.full(len(aspect_x), MAX_TURN))
    lo, hi = np.minimum(lo, hi) / (1 + OWN_ASPECT), np.maximum(lo, hi) * (1 + OWN_ASPECT)
    return (aspect_y >= lo) & (aspect_y <= hi)


def same_aspect_ratio(aspect_x: np.ndarray, aspect_y: np.ndarray) -> np.ndarray:
    return np.abs(np.log(aspect_x / aspect_y)) <= np.log1p(OWN_ASPECT)


def turned_pair(table: ImageTable, a: np.ndarray, b: np.ndarray, sc: TurnedScores) -> tuple[np.ndarray, np.ndarray]:
    """(xa, xb) (P, CMP, CMP): the two sides of each pair as its turned alignment compared them, the
    turned image over its inner window and the window in it, the other whole."""
    aspect = table.width.astype(np.float64) / np.maximum(table.height.astype(np.float64), 1.0)
    x, y = np.where(sc.a_cut, a, b), np.where(sc.a_cut, b, a)
    rot, keep = turned(table.thumb[x], aspect[x], np.where(sc.a_cut, sc.angle, -sc.angle), sc.frame)
    k4 = _frame4(keep)
    xa, xb = cut_and_whole(rot, blurred(table.thumb[y]), np.clip((sc.cut - (1 - k4) / 2) / k4, 0.0, None), sc.a_cut)
    if sc.other is not None:   # the other image's window (a turned copy with filled corners)
        win = windowed(blurred(table.thumb[y]), (1 - _frame4(sc.other)) / 2)
        xa, xb = np.where(sc.a_cut[:, None, None], xa, win), np.where(sc.a_cut[:, None, None], win, xb)
    return xa, xb
