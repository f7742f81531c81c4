"""Comparing thumbnails: area resampling of crops, the fine detail that copies share and
look-alikes do not, and unit vectors for correlations."""
from __future__ import annotations

import numpy as np

CMP = 24                                       # comparison side (area-resampled from THUMB_SIZE)
SG5 = np.array([-3.0, 12.0, 17.0, 12.0, -3.0]) / 35.0      # Savitzky-Golay 5-point, cubic-exact


def area_matrix(n_out: int, n_in: int, lo: float, hi: float) -> np.ndarray:
    """(n_out, n_in) box-filter resampling of the interval [lo, hi) (pixel units) onto n_out cells."""
    edges = lo + np.arange(n_out + 1) * (hi - lo) / n_out
    j = np.arange(n_in)
    ov = np.minimum(edges[1:, None], j[None, :] + 1.0) - np.maximum(edges[:-1, None], j[None, :])
    ov = np.clip(ov, 0.0, None)
    return ov / ov.sum(axis=1, keepdims=True)


def sandwich(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """m @ x @ m.T for every (n, n) image of x (..., n, n), as two large matrix products."""
    lead = x.shape[:-2]
    k = int(np.prod(lead)) if lead else 1
    n, r = x.shape[-1], m.shape[0]
    y = x.reshape(k * n, n) @ m.T                               # (k*n, r): columns
    y = y.reshape(k, n, r).transpose(1, 0, 2).reshape(n, k * r)
    z = (m @ y).reshape(r, k, r).transpose(1, 0, 2)             # (k, r, r): rows
    return z.reshape(*lead, r, r)


def fine_matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(C E, C S): E crops the valid (n-4) region, S is the 5-point Savitzky-Golay smoothing on
    it, C removes the mean; fine(x) = CE x (CE).T - CS x (CS).T."""
    sg = np.zeros((n - 4, n))
    for r in range(n - 4):
        sg[r, r:r + 5] = SG5
    eye = np.eye(n)[2:n - 2]
    centre = np.eye(n - 4) - 1.0 / (n - 4)
    return (centre @ eye).astype(np.float32), (centre @ sg).astype(np.float32)


FINE_E, FINE_S = fine_matrices(CMP)


def fine(x: np.ndarray) -> np.ndarray:
    """Fine detail of (..., CMP, CMP) images: x minus its separable 5-point Savitzky-Golay (cubic)
    smoothing on the valid region, then double-centred (row and column means removed).

    Smooth shading (gradients, vignetting, the soft curves of skies) up to cubic order cancels,
    and so do stripes constant along a row or a column (the banding of 8-bit sky gradients, which
    look-alike skies share), so what remains is texture and noise: copies share it, look-alikes
    do not. Mirroring commutes with it (the filter is symmetric).
    """
    return sandwich(FINE_E, x) - sandwich(FINE_S, x)


def unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (..., h, w) with its mean removed and scaled to unit norm (shape kept), and its std."""
    c = x - x.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((c * c).sum(axis=(-2, -1), keepdims=True))
    std = norm[..., 0, 0] / np.sqrt(x.shape[-2] * x.shape[-1])
    return c / np.maximum(norm, 1e-9), std




def ranked(thumbs: np.ndarray) -> np.ndarray:
    """(P, h, w) float32: each thumbnail's values replaced by their rank among its own values
    (ties share their average rank), scaled to 0..255. Any increasing tone curve (gamma,
    contrast, levels) leaves the ranks as they were, so a copy in another tone ranks like its
    original; equal values stay equal, so flat areas gain no detail."""
    p = len(thumbs)
    flat = thumbs.reshape(p, -1)
    out = np.empty(flat.shape, np.float32)
    scale = 255.0 / max(flat.shape[1] - 1, 1)
    for i in range(p):
        s = np.sort(flat[i])
        lo = np.searchsorted(s, flat[i], "left")
        hi = np.searchsorted(s, flat[i], "right")
        out[i] = (lo + hi - 1) * (0.5 * scale)
    return out.reshape(thumbs.shape)


# A pair's chance level of fine-detail agreement: its fine-detail maps correlated at these shifts
# (rows, columns; circular) of one against the other, where a copy's shared detail no longer lines up.
NULL_SHIFTS = tuple((dy, dx) for dy in (-6, -3, 0, 3, 6) for dx in (-6, -3, 0, 3, 6) if (dy, dx) != (0, 0))


def fine_significance(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(P,) the fine-detail correlation of aligned images xa, xb (P, CMP, CMP) over its rms at the
    shifted alignments (NULL_SHIFTS): how many times the pair's own chance level the fine detail
    they share is. Smooth pictures keep little fine detail through a re-encoding, so their copies
    correlate there far less than detailed ones, but still far above what the same two maps give
    shifted; look-alikes of them (skies, other crops of a smooth photo) do not rise above it."""
    fa, fb = fine(xa.astype(np.float32)), fine(xb.astype(np.float32))
    norm = np.sqrt((fa * fa).sum(axis=(1, 2)) * (fb * fb).sum(axis=(1, 2))) + 1e-12
    aligned = (fa * fb).sum(axis=(1, 2)) / norm
    shifted = np.stack([(fa * np.roll(fb, sh, axis=(1, 2))).sum(axis=(1, 2)) / norm for sh in NULL_SHIFTS], axis=1)
    return aligned / np.maximum(np.sqrt((shifted ** 2).mean(axis=1)), 1e-6)
