"""Property drift: per-image property distributions of each split against train's.

Numbers (brightness, contrast, sharpness, saturation, width, height, aspect_ratio, area,
file_size) are compared with the two-sample Kolmogorov-Smirnov statistic, categories (format,
mode) with the total variation distance and a chi-square test; severities in findings.py.
"""
from __future__ import annotations

import numpy as np

from ..median import median as stats_median
from ..table import ImageTable
from . import properties as P
from .findings import ERROR_AT, INFO_AT, WARNING_AT, ValidationFinding, drift_severity
from .statistics import chi_square_homogeneity, ks_2samp, tvd

NUMERIC = ("brightness", "contrast", "sharpness", "saturation", "width", "height", "aspect_ratio",
           "area", "file_size")
CATEGORICAL = ("format", "mode")
PROPERTIES = NUMERIC + CATEGORICAL
_FROM_MEASURE = {"brightness": P.BRIGHTNESS, "contrast": P.CONTRAST, "sharpness": P.SHARPNESS,
                 "saturation": P.SATURATION}
_THRESHOLDS = {"info": INFO_AT, "warning": WARNING_AT, "error": ERROR_AT}


def numeric_column(table: ImageTable, name: str) -> np.ndarray | None:
    """float64 (N,) values of a numeric property; None when the table was built without it."""
    if name in _FROM_MEASURE:
        return None if table.properties is None else table.properties[:, _FROM_MEASURE[name]]
    w, h = table.width.astype(np.float64), table.height.astype(np.float64)
    return {"width": w, "height": h, "aspect_ratio": w / np.maximum(h, 1), "area": w * h,
            "file_size": table.nbytes.astype(np.float64)}[name]


def categorical_column(table: ImageTable, name: str) -> tuple[np.ndarray, list[str]]:
    """(codes, names) of a categorical property."""
    return (table.format, table.format_names) if name == "format" else (table.mode, table.mode_names)


def _describe(name: str, a: np.ndarray, b: np.ndarray) -> str:
    def fmt(v: float) -> str:
        return f"{v:,.0f}" if name in ("width", "height", "area", "file_size") else f"{v:.3f}"
    return f"median {fmt(stats_median(a))} vs {fmt(stats_median(b))}"


def property_findings(table: ImageTable, reference: str = "train") -> list[ValidationFinding]:
    ref_rows = table.rows_in(reference)
    if ref_rows.size == 0:
        return []
    findings = []
    for split in table.split_names:
        rows = table.rows_in(split)
        if split == reference or rows.size == 0:
            continue
        for name in NUMERIC:
            col = numeric_column(table, name)
            if col is None:
                continue
            a, b = col[rows], col[ref_rows]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            d, p = ks_2samp(a, b)
            f = _finding(split, reference, name, "ks", d, p, _describe(name, a, b))
            if f:
                findings.append(f)
        for name in CATEGORICAL:
            codes, names = categorical_column(table, name)
            k = len(names)
            ca = np.bincount(codes[rows], minlength=k)
            cb = np.bincount(codes[ref_rows], minlength=k)
            _, _, p = chi_square_homogeneity(np.stack([cb, ca]))
            share = lambda c: ", ".join(f"{names[i]} {c[i] / c.sum():.0%}" for i in np.flatnonzero(c))
            f = _finding(split, reference, name, "tvd", tvd(ca, cb), p, f"{share(ca)} vs {share(cb)}")
            if f:
                findings.append(f)
    return findings


def _finding(split: str, reference: str, name: str, statistic: str, value: float, p: float,
             detail: str) -> ValidationFinding | None:
    severity = drift_severity(value, p)
    if severity is None:
        return None
    threshold = _THRESHOLDS[severity]
    label = "Kolmogorov-Smirnov D" if statistic == "ks" else "total variation distance"
    msg = (f"Property drift: {name.replace('_', ' ')} of {split} differs from {reference} "
           f"({label} {value:.3f} >= {threshold}, p = {p:.2g}; {detail}).")
    return ValidationFinding("property_drift", severity, (split, reference), (), None, msg, (),
                             property=name, statistic=statistic, value=value, threshold=threshold,
                             p_value=p)
