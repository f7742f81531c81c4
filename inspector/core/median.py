"""The median numpy gives, without numpy.ma."""
from __future__ import annotations

import numpy as np


def median(a: np.ndarray) -> float:
    """``float(np.median(a))`` of any array (flattened), to the bit, without importing numpy.ma
    (np.median's NaN check does: ~50 ms of every process that reports a median)."""
    a = np.asarray(a).ravel()
    n = a.size
    if n == 0 or (a.dtype.kind in "fc" and np.isnan(a).any()):
        return float("nan")
    k = n // 2
    if n % 2:
        return float(np.mean(np.partition(a, k)[k:k + 1]))
    return float(np.mean(np.partition(a, (k - 1, k))[k - 1:k + 1]))
