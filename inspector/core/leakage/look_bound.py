"""A cheap, exact test that two look vectors cannot correlate at least a floor.

Tiny images (digits, icons) go on to the confirmation only when their 16x16 look vectors correlate
at least TINY_LOOK_FLOOR (0.98), plain or mirrored, and in a crowd of them almost no candidate pair
does. For unit vectors u, v, u.v >= f means |u - v| <= sqrt(2 - 2f) (0.2 at 0.98), and projecting on
orthonormal directions never lengthens a vector, so a pair whose projections on a few directions are
further apart than that cannot reach the floor. The directions are the 8 lowest 2-D cosine
frequencies of the 16x16 grid (where the looks of distinct pictures differ most): 8 numbers per
image instead of 256 per pair, and 99.95% of the candidate pairs of 100,000 tiny distinct PNGs are
settled by them. A cosine of horizontal frequency w is even or odd under a left-right mirror, so the
mirrored vector's projections are the same numbers with the odd ones negated.

`MARGIN` covers the float32 rounding of the vectors, their norms and the correlation (about 1e-5 of
a correlation; the margin is worth about 2e-3), so a pair this test rules out is one whose
correlation, computed in full, would be below the floor.
"""
from __future__ import annotations

import numpy as np

LOWEST = 3          # frequencies 0..2 on each axis, the constant one left out (look vectors have mean 0)
MARGIN = 0.005      # added to the distance bound


def _directions(side: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(side)

    def cosine(u: int) -> np.ndarray:
        c = np.cos(np.pi * (2 * x + 1) * u / (2 * side))
        return c / np.linalg.norm(c)

    freqs = [(u, w) for u in range(LOWEST) for w in range(LOWEST) if (u, w) != (0, 0)]
    basis = np.stack([np.outer(cosine(u), cosine(w)).ravel() for u, w in freqs]).astype(np.float32)
    mirrored = np.array([(-1.0) ** w for _, w in freqs], np.float32)
    return basis, mirrored


class LookBound:
    """Per image a few projections of its look vector; per pair whether it surely stays below."""

    def __init__(self, side: int) -> None:
        self.basis, self.mirror_sign = _directions(side)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self.basis.T

    def below(self, pa: np.ndarray, pb: np.ndarray, floor: float, mirrors: bool) -> np.ndarray:
        """Per pair of projections: True when neither the pair nor (with ``mirrors``) the pair with
        b mirrored can correlate at least ``floor``."""
        radius = np.sqrt(max(2.0 - 2.0 * floor, 0.0)) + MARGIN
        far = np.einsum("pd,pd->p", pa - pb, pa - pb) > radius * radius
        if mirrors:
            mb = pb * self.mirror_sign
            far &= np.einsum("pd,pd->p", pa - mb, pa - mb) > radius * radius
        return far
