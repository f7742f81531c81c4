"""What the window draws for a per-image property: each split's counts on common bins, and the
same Kolmogorov-Smirnov statistic against train that the property_drift findings use.

Binning is done here, not in the window, so the window only draws numbers and tests can check
them against numpy without a display.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..table import ImageTable
from .drift import NUMERIC, numeric_column
from .findings import drift_severity
from .statistics import ks_2samp

BINS = 40
MIN_BINS, MAX_BINS = 10, 60
REFERENCE = "train"


@dataclass(frozen=True)
class PropertyDistribution:
    name: str
    edges: np.ndarray                 # float64 (bins + 1,), common to every split
    counts: dict[str, np.ndarray]     # split -> int64 (bins,) images per bin
    ks: dict[str, tuple[float, float]]  # split -> (D, p) against train; no entry for train itself
    severity: dict[str, str | None]   # split -> the property_drift severity D and p reach (None: none)

    def shares(self, split: str) -> np.ndarray:
        """Share (0-1) of the split's images in each bin, so splits of different sizes compare."""
        c = self.counts[split]
        total = int(c.sum())
        return c / total if total else np.zeros(c.size)


def display_bins(images: int) -> int:
    """About sqrt(N) bins: a few dozen images still fill their bins, 2,000 get about 45."""
    return int(min(MAX_BINS, max(MIN_BINS, round(images ** 0.5))))


def _edges(values: np.ndarray, bins: int, integral: bool) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if integral and hi - lo + 1 <= bins:  # few distinct whole numbers: one bin per value
        return np.arange(lo - 0.5, hi + 1.0, 1.0)
    if hi <= lo:  # one value: a single bin around it
        return np.array([lo - 0.5, lo + 0.5]) if integral else np.array([lo - 1e-3, lo + 1e-3])
    return np.linspace(lo, hi, bins + 1)


def property_distribution(table: ImageTable, name: str, bins: int = BINS,
                          reference: str = REFERENCE) -> PropertyDistribution | None:
    """None when the table has no such property or no image with a finite value of it."""
    if name not in NUMERIC:
        raise ValueError(f"not a numeric property: {name}")
    col = numeric_column(table, name)
    if col is None:
        return None
    per_split = {}
    for split in table.split_names:
        v = col[table.rows_in(split)]
        per_split[split] = v[np.isfinite(v)]
    values = [v for v in per_split.values() if v.size]
    if not values:
        return None
    edges = _edges(np.concatenate(values), bins, name in ("width", "height", "area", "file_size"))
    counts = {s: np.histogram(v, bins=edges)[0].astype(np.int64) for s, v in per_split.items()}
    ks, severity = {}, {}
    ref = per_split.get(reference)
    for split, v in per_split.items():
        if split == reference or ref is None or ref.size == 0 or v.size == 0:
            continue
        d, p = ks_2samp(v, ref)  # the order property_findings uses
        ks[split] = (d, p)
        severity[split] = drift_severity(d, p)
    return PropertyDistribution(name, edges, counts, ks, severity)
