"""Full-resolution structure along rows and columns: the blur score's second term.

The 64x64 grid (properties.grid_detail) judges blur at the scale of the picture, but a blur whose
kernel has hard edges (a box, a defocus disc, a motion streak, a bilinear upscale) leaves the grid
one-step differences that read as detail, and a photo squashed by blur to a nearly flat picture
keeps only its noise there. At full resolution both are plain: structure at 1-4 px is gone.

Eight rows and eight columns, evenly spaced across the whole image, are kept at full resolution
(properties.sample copies them, ~16 x the side in pixels). Along them, e(k) is the mean square of
the differences at lag k px. Noise of variance v adds the same 2v to every e(k), so differences of
e(k) are free of it:

    structure = (e(2) - e(1)) / (e(4) - e(2))

is 1/4 for a signal that is smooth over 4 px (e(k) grows as k^2: a blur), about 1/2 for a natural
photo's detail (e(k) grows about as k), and is taken as 1 (no sign of smoothness) where e(4) does
not exceed e(2) (noise or a fine periodic texture). Lags are in units of one pixel per 512 px of
the short side, so a large photo is judged at the same share of its size as a small one. Rows and
columns are measured apart and the weaker direction counts: a motion blur smooths one direction.
"""
from __future__ import annotations

import numpy as np

LINES = 8             # full-resolution rows and columns (each) kept per image
UNIT_SIDE = 512       # lag unit: one pixel per this many pixels of the short side
LAGS = (1, 2, 4)      # in lag units
MAX_INT32_LINE = 33_000  # 255^2 x this fits an int32 sum
GROUP = 32            # line sets measured together: their differences stay in the CPU's cache


def line_positions(n: int) -> slice:
    """LINES positions evenly spaced over a side of n pixels (fewer on a side shorter than that),
    as a slice: a basic slice copies several times faster than a list of positions."""
    count = min(LINES, n)
    step = n // count
    return slice(step // 2, step // 2 + step * (count - 1) + 1, step)


def lag_unit(short_side: int) -> int:
    return max(1, int(round(short_side / UNIT_SIDE)))


def lag_energies(lines: list[np.ndarray], unit: int) -> np.ndarray:
    """float64 (k, len(LAGS)) mean squares of the differences at lags LAGS x unit along the lines
    of k images ((m, n) integer arrays, n the same within an image and more than 4 x unit), all
    at once: the lines are laid end to end and summed one line at a time, then the few
    differences at the end of each line that reach into the next one are taken out again.

    The sums are exact integers (8-bit lines: int16 differences, int32 squares and sums, which
    hold a line of up to 33,000 px; otherwise int64), so a value never depends on the images
    measured with it, and they cost less than float sums."""
    m = np.array([a.shape[0] for a in lines])
    n = np.array([a.shape[1] for a in lines])
    small = all(a.dtype == np.uint8 for a in lines) and int(n.max()) <= MAX_INT32_LINE
    x = np.concatenate([a.ravel() for a in lines]).astype(np.int16 if small else np.int64)
    ends = np.cumsum(np.repeat(n, m))
    starts = ends - np.repeat(n, m)
    first_line = np.cumsum(m) - m
    out = np.empty((len(lines), len(LAGS)))
    for j, lag in enumerate(LAGS):
        k = lag * unit
        d = (x[k:] - x[:-k]).astype(np.int32) if small else x[k:] - x[:-k]
        d *= d
        per_line = np.add.reduceat(d, starts, dtype=d.dtype).astype(np.int64)  # the last line stops at its end
        across = (ends[:-1] - k)[:, None] + np.arange(k)         # reaching into the next line
        per_line[:-1] -= d[across].sum(axis=1, dtype=np.int64)
        out[:, j] = np.add.reduceat(per_line, first_line) / (m * (n - k))
    return out


def structure_ratio(e: np.ndarray) -> np.ndarray:
    """(k,) (e(2) - e(1)) / (e(4) - e(2)) of (k, 3) lag energies, in 0..1 (1 where e(4) <= e(2))."""
    rise, further = e[:, 1] - e[:, 0], e[:, 2] - e[:, 1]
    r = np.maximum(rise, 0.0) / np.where(further > 0, further, 1.0)
    return np.where(further > 0, np.minimum(r, 1.0), 1.0)


def line_structure(rows: list[np.ndarray], cols: list[np.ndarray]) -> np.ndarray:
    """(k,) the lower of the rows' and the columns' structure_ratio of k images (one direction's
    where the other's lines are too short, NaN where both are); both directions of all images
    with one lag unit are measured in one pass."""
    k = len(rows)
    lines = rows + cols
    units = np.array([lag_unit(min(r.shape[1], c.shape[1])) for r, c in zip(rows, cols)] * 2)
    flat = np.full(2 * k, np.nan)
    for unit in np.unique(units):
        idx = [i for i, a in enumerate(lines) if units[i] == unit and a.shape[1] > LAGS[-1] * unit]
        for g in range(0, len(idx), GROUP):
            part = idx[g:g + GROUP]
            flat[part] = structure_ratio(lag_energies([lines[i] for i in part], int(unit)))
    with np.errstate(invalid="ignore"):
        return np.fmin(flat[:k], flat[k:])  # fmin: NaN only where both are NaN
