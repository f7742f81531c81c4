"""Per-image tone compared between the two images of a pair, from the table's per-image moments:
contrast, brightness and colour cast (the confirmation's pre-checks for smooth pictures)."""
from __future__ import annotations

import numpy as np

def grey_mean(v: np.ndarray) -> np.ndarray:
    """Per-image values averaged over channels (a grey table's own column as it is)."""
    v = np.asarray(v, dtype=np.float64)
    return v.mean(axis=1) if v.ndim == 2 else v


def contrast_ratio(std: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio (>= 1) of two images' contrast: per-image std averaged over channels (1 if both flat)."""
    s = grey_mean(std)
    hi, lo = np.maximum(s[a], s[b]), np.minimum(s[a], s[b])
    return np.where(hi <= 1e-9, 1.0, hi / np.maximum(lo, 1e-9))


def brightness_ratio(mean: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio (>= 1) of two images' mean brightness, on mean + 0.02 (0-1 scale) so black stays stable."""
    g = grey_mean(mean) + 0.02
    return np.maximum(g[a], g[b]) / np.minimum(g[a], g[b])


def colour_difference(mean: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest difference of the colour cast (channel mean - grey) / (grey + 0.05); 0 for one channel."""
    m = np.asarray(mean, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        return np.zeros(len(a))
    g = m.mean(axis=1, keepdims=True)
    cast = (m - g) / (g + 0.05)
    return np.abs(cast[a] - cast[b]).max(axis=1)
