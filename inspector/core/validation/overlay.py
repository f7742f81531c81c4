"""What the window draws for a per-image property: each split's counts on common bins (or per
category for format and mode), and the same statistic against train that the property_drift
findings use (Kolmogorov-Smirnov D; total variation distance for categories).

Binning is done here, not in the window, so the window only draws numbers and tests can check
them against numpy without a display.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..table import ImageTable
from .drift import CATEGORICAL, NUMERIC, categorical_column, numeric_column
from .findings import drift_severity
from .statistics import chi_square_homogeneity, ks_2samp, tvd

BINS = 40
MIN_BINS, MAX_BINS = 10, 60
REFERENCE = "train"
# Properties that are positive by nature and may span orders of magnitude: a log axis is offered
# for them, and is the default for the two that are usually skewed (a few huge files or images).
LOG_ALLOWED = ("width", "height", "aspect_ratio", "area", "file_size")
LOG_BY_DEFAULT = ("area", "file_size")


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


def _edges(values: np.ndarray, bins: int, integral: bool, log: bool = False) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if log and lo > 0 and hi > lo and not (integral and hi - lo + 1 <= bins):
        return np.geomspace(lo, hi, bins + 1)  # equal widths on a log axis
    if integral and hi - lo + 1 <= bins:  # few distinct whole numbers: one bin per value
        return np.arange(lo - 0.5, hi + 1.0, 1.0)
    if hi <= lo:  # one value: a single bin around it
        return np.array([lo - 0.5, lo + 0.5]) if integral else np.array([lo - 1e-3, lo + 1e-3])
    return np.linspace(lo, hi, bins + 1)


def property_distribution(table: ImageTable, name: str, bins: int = BINS,
                          reference: str = REFERENCE, log: bool = False) -> PropertyDistribution | None:
    """None when the table has no such property or no image with a finite value of it. With
    `log` (positive properties, LOG_ALLOWED) the bins are equally wide on a log axis."""
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
    edges = _edges(np.concatenate(values), bins, name in ("width", "height", "area", "file_size"),
                   log and name in LOG_ALLOWED)
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


@dataclass(frozen=True)
class CategoryDistribution:
    name: str
    categories: list[str]             # most common first (over all splits)
    counts: dict[str, np.ndarray]     # split -> int64 (len(categories),) images per category
    tvd: dict[str, tuple[float, float]]  # split -> (total variation distance, chi-square p) vs train
    severity: dict[str, str | None]   # split -> the property_drift severity reached (None: none)

    def shares(self, split: str) -> np.ndarray:
        c = self.counts[split]
        total = int(c.sum())
        return c / total if total else np.zeros(c.size)


def category_distribution(table: ImageTable, name: str,
                          reference: str = REFERENCE) -> CategoryDistribution | None:
    """Images per category (format or mode) and split, with the statistics property_findings
    uses; None for an empty table."""
    if name not in CATEGORICAL:
        raise ValueError(f"not a categorical property: {name}")
    if len(table) == 0:
        return None
    codes, names = categorical_column(table, name)
    k = len(names)
    per_split = {s: np.bincount(codes[table.rows_in(s)], minlength=k).astype(np.int64)
                 for s in table.split_names}
    total = np.sum(list(per_split.values()), axis=0)
    order = np.argsort(-total, kind="stable")
    order = order[total[order] > 0]
    counts = {s: c[order] for s, c in per_split.items()}
    stats, severity = {}, {}
    ref = per_split.get(reference)
    for split, c in per_split.items():
        if split == reference or ref is None or not ref.sum() or not c.sum():
            continue
        _, _, p = chi_square_homogeneity(np.stack([ref, c]))
        stats[split] = (tvd(c, ref), p)  # the order property_findings uses
        severity[split] = drift_severity(*stats[split])
    return CategoryDistribution(name, [names[i] for i in order], counts, stats, severity)
