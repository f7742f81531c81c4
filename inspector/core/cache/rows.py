"""Stored rows back into a scan chunk result: the columns as stored, and the per-split sums the
worker would have added up for them (``SplitAccumulator.add`` with the worker's arguments), one
numpy sum per split and histogram shape instead of one ``add`` per row: same integers, exactly."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from operator import itemgetter
from typing import Any

import numpy as np

from ..stats import _FIXED_BITS, SplitAccumulator
from ..table import FLAG_NAMES
from .codec import HistStack

# (positions of the rows in the chunk, their histograms' stack, their slots in it), per shape
HistGroup = tuple[np.ndarray, HistStack, np.ndarray]
_MANTISSA_BITS = 53


def rebuild_chunk(chunk_type: type, columns: dict, hist_groups: list[HistGroup], index: list[int],
                  failures: list[tuple[int, str]], splits: list[str], failure_splits: list[str]) -> Any:
    """A chunk result of stored rows: ``hist_groups`` hold each row's histogram (a stack and its
    slot in it); the rows of one split, channel count and histogram shape are summed together,
    whichever groups they come from (the sums are exact integers: the order does not matter)."""
    accumulators: dict[str, SplitAccumulator] = {}
    numbers, names, moments = columns["numbers"], columns["names"], columns["moments"]
    sums: dict[tuple, list] = {}  # (split, channels, shape) -> [summed histogram, row positions...]
    for rows, stack, slots in hist_groups:
        channels = numbers[rows, 3]
        group_splits = list(map(splits.__getitem__, rows.tolist()))
        if len(set(group_splits)) == 1 and (channels == channels[0]).all():  # the usual batch
            same = {(group_splits[0], int(channels[0])): np.arange(len(rows))}
        else:
            same = defaultdict(list)  # (split, channels) -> positions in the group
            for k, key in enumerate(zip(group_splits, channels.tolist())):
                same[key].append(k)
        for (split, c), members in same.items():
            hist = stack.total(slots[members])
            entry = sums.get((split, c, hist.shape))
            if entry is None:
                sums[(split, c, hist.shape)] = [hist, rows[members]]
            else:
                entry[0] = entry[0] + hist
                entry.append(rows[members])
    for (split, c, _), (hist, *parts) in sums.items():
        picked = np.concatenate(parts) if len(parts) > 1 else parts[0]
        acc = accumulators.setdefault(split, SplitAccumulator())
        _add_rows(acc, hist, moments[picked, 1, :c], list(map(names.__getitem__, picked.tolist())), numbers[picked, 4])
    for split in failure_splits:
        accumulators.setdefault(split, SplitAccumulator()).failed += 1
    return chunk_type(index=np.array(index, np.int64), failures=failures, accumulators=accumulators,
                      **columns)


def _add_rows(acc: SplitAccumulator, hist: np.ndarray, stds: np.ndarray,
              names: list[tuple[str, str]], flags: np.ndarray) -> None:
    """``acc.add`` for several rows at once: ``hist`` is their summed histogram (one shape)."""
    flag_counts = {name: int(np.count_nonzero(flags & bit)) for bit, name in FLAG_NAMES.items()}
    acc.add_sums(hist, len(names), exact_sum(stds), Counter(map(itemgetter(1), names)),
                 Counter(map(itemgetter(0), names)), {name: n for name, n in flag_counts.items() if n})


def exact_sum(values: np.ndarray) -> np.ndarray:
    """Per column, the sum of ``exact_fixed`` of its values (an object array of Python ints),
    computed from the float64 mantissas grouped by exponent instead of one Python int per value.
    A column holding NaN or inf sums to NaN (``mean_of_image_std`` reports NaN for it)."""
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values).all(axis=0)
    values = np.where(finite, values, 0.0)
    mantissa, exponent = np.frexp(values)  # values = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    ints = (mantissa * (1 << _MANTISSA_BITS)).astype(np.int64)  # exact: 53 significant bits
    nonzero = ints != 0
    out = np.array([0] * values.shape[1], object)
    if nonzero.any():
        low, high = int(exponent[nonzero].min()), int(exponent[nonzero].max())
        if high - low + _MANTISSA_BITS + len(values).bit_length() <= 62:
            # the usual case (image stds within a few powers of two): one int64 sum per column
            sums = (ints << np.where(nonzero, exponent - low, 0)).sum(axis=0).tolist()
            out = np.array([_scaled(s, low) for s in sums], object)
        else:
            for c in range(values.shape[1]):
                total = 0
                for e in np.unique(exponent[nonzero[:, c], c]).tolist():
                    # at most 2**8 values of < 2**53 per int64 sum, so none overflows
                    picked = ints[(exponent[:, c] == e) & nonzero[:, c], c]
                    total += sum(_scaled(int(picked[i:i + 256].sum()), e) for i in range(0, len(picked), 256))
                out[c] = total
    out[~finite] = math.nan  # a float sum with NaN or inf in it: NaN
    return out


def _scaled(mantissa_sum: int, exponent: int) -> int:
    """mantissa_sum * 2**(exponent - 53) on the 2**-1074 grid (a subnormal's low bits are zeros)."""
    shift = exponent - _MANTISSA_BITS + _FIXED_BITS
    return mantissa_sum << shift if shift >= 0 else mantissa_sum >> -shift
