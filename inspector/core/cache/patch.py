"""A rescan's result patched from the stored whole result of the scan before it.

After a few files changed (rewritten, deleted, added), nearly every stored record is still valid,
and feeding 99,000 of them into the collector again (decompressing every batch, summing their
histograms, copying their rows) was most of a rescan. The stored whole result (cache/snapshot.py)
already holds those rows' merged sums, and a forked child reads its rows into shared columns while
the folder is listed (cache/prefetch.py). So a rescan takes each still valid item's row from the
child's columns (old position -> new position), and the sums as stored less the records of the
items that are gone or changed; the new and changed files are decoded and merged as usual.

The sums are integers (histograms, image counts, per-image stds in ``exact_fixed`` units, the
counts of modes, formats and flags), so the difference is exact: the same sums a scan adding up the
kept records would make, whatever the order. A stored sum that is not an integer (a NaN std) or a
difference that goes below zero means it cannot be patched; the scan then feeds the records.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..stats import SplitAccumulator
from .codec import RecordError


def split_runs(codes: np.ndarray) -> list[list[int]]:
    """Per-item split codes as [code, run length] pairs (a listing holds each split's items in
    long runs: a few pairs for a whole dataset)."""
    codes = np.asarray(codes, np.int64)
    if not len(codes):
        return []
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    lengths = np.diff(np.r_[starts, len(codes)])
    return [[c, k] for c, k in zip(codes[starts].tolist(), lengths.tolist())]


def codes_of_runs(runs: list, n: int) -> np.ndarray:
    """The per-item codes of ``split_runs``; RecordError when they are not for ``n`` items."""
    try:
        codes = np.array([int(c) for c, _ in runs], np.int64)
        lengths = np.array([int(k) for _, k in runs], np.int64)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"damaged stored result: {exc}") from exc
    if int(lengths.sum()) != n or (len(lengths) and lengths.min() < 1):
        raise RecordError("the stored result's splits are not one per item")
    return np.repeat(codes, lengths)


def _exact(values: np.ndarray) -> bool:
    return all(type(v) is int for v in values.tolist())


def subtract(acc: SplitAccumulator, gone: SplitAccumulator) -> None:
    """``acc`` less the sums of ``gone`` (records it holds), in place; RecordError when ``gone``
    holds what ``acc`` does not or a sum is not exact. A 16-bit histogram left empty is dropped,
    as a scan of the kept images alone has none."""
    if not (_exact(acc.std_sum_rgb) and _exact(acc.std_sum_l) and _exact(gone.std_sum_rgb)
            and _exact(gone.std_sum_l)):
        raise RecordError("a stored sum of image stds is not exact (a NaN or infinite std)")
    acc.hist_rgb = acc.hist_rgb - gone.hist_rgb
    acc.hist_l = acc.hist_l - gone.hist_l
    if gone.hist_l16 is not None:
        if acc.hist_l16 is None:
            raise RecordError("a 16-bit histogram to take from sums without one")
        acc.hist_l16 = acc.hist_l16 - gone.hist_l16
    acc.images_rgb -= gone.images_rgb
    acc.images_l -= gone.images_l
    acc.std_sum_rgb = acc.std_sum_rgb - gone.std_sum_rgb
    acc.std_sum_l = acc.std_sum_l - gone.std_sum_l
    acc.failed -= gone.failed
    for name in ("modes", "formats", "flags"):
        left = Counter(getattr(acc, name))
        left.subtract(getattr(gone, name))
        if any(v < 0 for v in left.values()):
            raise RecordError(f"more {name} to take from the stored sums than they hold")
        setattr(acc, name, Counter({k: v for k, v in left.items() if v}))
    hists = [acc.hist_rgb, acc.hist_l] + ([acc.hist_l16] if acc.hist_l16 is not None else [])
    if min(acc.images_rgb, acc.images_l, acc.failed) < 0 or any(int(h.min()) < 0 for h in hists):
        raise RecordError("more to take from the stored sums than they hold")
    if acc.hist_l16 is not None and not acc.hist_l16.any():
        acc.hist_l16 = None


def old_positions(old_batch: np.ndarray, old_entry: np.ndarray, batch: np.ndarray, entry: np.ndarray
                  ) -> np.ndarray:
    """For each stored (batch, entry), the position the stored result's map gives it, -1 where
    the map has none (a record stored after that result was made)."""
    old = (np.asarray(old_batch, np.int64) << 32) | np.asarray(old_entry, np.int64)
    new = (np.asarray(batch, np.int64) << 32) | np.asarray(entry, np.int64)
    if not len(old):
        return np.full(len(new), -1, np.int64)
    order = np.argsort(old, kind="stable")
    at = np.minimum(np.searchsorted(old[order], new), len(old) - 1)
    return np.where(old[order][at] == new, order[at], -1)


def code_map(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes into ``names`` recoded into the names they use (in their order there): the new
    codes and names. A scan names only the formats and modes of its rows."""
    used = np.unique(codes) if len(codes) else np.zeros(0, np.int64)
    if len(used) and (used[0] < 0 or used[-1] >= len(names)):
        raise RecordError("a stored row's code names no stored format or mode")
    lookup = np.zeros(max(len(names), 1), np.int64)
    lookup[used] = np.arange(len(used))
    return lookup[codes], [names[int(u)] for u in used]
