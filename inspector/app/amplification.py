"""Per-image amplification of a scan, worked out once per normalization std and shared.

The image list (its Amplification column) and the normalization summary both need every image's
largest amplification, and at a million images each pass costs tens of milliseconds: too much for
the GUI thread when a result is put on screen. The scan job works both out on its own thread for
the source the window will show (``prepare``), the views then find them here; another source's
figures are worked out on first use and kept too (a few per table at most).
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

import numpy as np

from ..core import normalize as nz
from ..core.table import ImageTable

_KEEP = 4  # std values remembered per table (source choices the user went back and forth between)
_memo: dict[int, dict[tuple, object]] = {}
_lock = threading.Lock()


def _slot(table: ImageTable, key: tuple, compute):
    with _lock:
        per = _memo.get(id(table))
        if per is not None and key in per:
            return per[key]
    value = compute()
    with _lock:
        if id(table) not in _memo:
            _memo[id(table)] = {}
            weakref.finalize(table, _memo.pop, id(table), None)  # forgotten with the table
        per = _memo[id(table)]
        while len(per) >= _KEEP:
            per.pop(next(iter(per)))
        per[key] = value
    return value


def _std_key(dataset_std: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(dataset_std, np.float64).ravel())


def max_amplification(table: ImageTable, dataset_std: Sequence[float]) -> np.ndarray:
    """float64 (N,) largest per-channel amplification of every image (core.normalize)."""
    key = ("max", _std_key(dataset_std))
    return _slot(table, key, lambda: nz.max_amplification(table.std, np.asarray(dataset_std, np.float64)))


def summary(table: ImageTable, dataset_std: Sequence[float]) -> nz.AmplificationSummary:
    """core.normalize.summarize_amplification of the table under this dataset std."""
    key = ("summary", _std_key(dataset_std))
    return _slot(table, key, lambda: nz.summarize_amplification(table.mean, table.std,
                                                                  np.asarray(dataset_std, np.float64)))


def prepare(table: ImageTable, dataset_std: Sequence[float] | None) -> None:
    """Work both out now (the scan job's thread), so showing the result does not."""
    std = None if dataset_std is None else np.asarray(dataset_std, np.float64)
    if std is None or not len(table) or std.shape != (table.std.shape[1],) or not np.all(np.isfinite(std)) \
            or not np.all(std > 0):
        return
    max_amplification(table, std)
    summary(table, std)
