"""Which index entry holds a value: the entries of a hash index grouped by value, in entry order
within a value, built with one plain sort instead of an argsort.

The join sorts each chunk's hashes as values (numpy's vectorised sort of uint64: 0.22 s for 14
million, against 1.7 s for an argsort and 1 s for the gather of the values through it), and only
the few compared values within the threshold are traced back to their entries. The trace is one
sort of keys made of a mix of the value's 64 bits (its high bits) and the entry number (its low
bits): the entries of one value lie side by side in entry order. A mix, not the value's own high
bits: near-equal hashes (the views of one image) often agree on those. Two values whose mixes agree
(rare: about a hundred of 14 million hashes) are put in (value, entry) order after the sort and
listed apart.
"""
from __future__ import annotations

import numpy as np

from ..sorted_lookup import search_sorted

_U = np.uint64
_PIECE = 1 << 20


def _mix(x: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each value (the splitmix64 finaliser: every bit depends on every bit)."""
    x = x ^ (x >> _U(31))
    x *= _U(0xBF58476D1CE4E5B9)
    x ^= x >> _U(27)
    x *= _U(0x94D049BB133111EB)
    x ^= x >> _U(31)
    return x


class ValueOrder:
    """The entries of `flat` (uint64 hashes, entry = position) grouped by value, in entry order
    within a value: `entries(values, occurrence)` is the occurrence-th entry holding each value."""

    def __init__(self, flat: np.ndarray, low_bits: int | None = None) -> None:
        """`low_bits`: the bits of a key that hold the entry (default: as few as the entries need;
        more make mixes shared by several values more common, for tests)."""
        flat = np.ascontiguousarray(flat, dtype=np.uint64)
        self.bits = max(1, int(len(flat) - 1).bit_length(), low_bits or 0)
        self.low = _U((1 << self.bits) - 1)
        packed = np.empty(len(flat), np.uint64)
        for lo in range(0, len(flat), _PIECE):       # a piece at a time: no index-sized temporaries
            part = packed[lo:lo + _PIECE]
            np.bitwise_and(_mix(flat[lo:lo + _PIECE]), ~self.low, out=part)
            part |= np.arange(lo, lo + len(part), dtype=np.uint64)
        packed.sort()
        self.packed = packed
        self.shared_values, self.shared_first = _sort_shared_mixes(packed, flat, self.low)

    def first_places(self, values: np.ndarray) -> np.ndarray:
        """Per value (each one held by the index), the place in `packed` of its first entry."""
        values = np.asarray(values, np.uint64)
        at = search_sorted(self.packed, _mix(values) & ~self.low)
        if len(self.shared_values):
            k = np.minimum(np.searchsorted(self.shared_values, values), len(self.shared_values) - 1)
            shared = self.shared_values[k] == values
            at[shared] = self.shared_first[k[shared]]
        return at

    def entries(self, values: np.ndarray, occurrence: np.ndarray) -> np.ndarray:
        """The entry (int64) that is the occurrence-th (0: the first) holding each value."""
        return (self.packed[self.first_places(values) + occurrence] & self.low).astype(np.int64)


def _sort_shared_mixes(packed: np.ndarray, flat: np.ndarray, low: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """Put the entries of each mix shared by several values in (value, entry) order, in place;
    returns those values (sorted) and the place of each one's first entry."""
    none = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # places i whose mix is that of i + 1 (their xor has only low bits), and of those the ones
    # whose values differ: only their mixes need sorting by value
    pair = np.flatnonzero((packed[1:] ^ packed[:-1]) <= low)
    if len(pair) == 0:
        return none
    left = flat[(packed[pair] & low).astype(np.int64)]
    right = flat[(packed[pair + 1] & low).astype(np.int64)]
    run = np.cumsum(np.r_[True, pair[1:] != pair[:-1] + 1])      # runs of such places: one mix each
    mixed = np.zeros(int(run[-1]) + 1, bool)
    mixed[run[left != right]] = True
    if not mixed.any():
        return none
    take = mixed[run]
    # a mix held at places p .. q - 1 shows as pair places p .. q - 2: each run's last place + 1 too
    last = np.r_[run[1:] != run[:-1], True] & take
    at = np.sort(np.r_[pair[take], pair[last] + 1])
    mix = packed[at] & ~low
    group = np.cumsum(np.r_[True, mix[1:] != mix[:-1]])
    entry = (packed[at] & low).astype(np.int64)
    value = flat[entry]
    order = np.lexsort((entry, value, group))
    packed[at] = (packed[at] & ~low) | entry[order].astype(np.uint64)
    value = value[order]
    heads = np.r_[True, (value[1:] != value[:-1]) | (group[order][1:] != group[order][:-1])]
    by_value = np.argsort(value[heads], kind="stable")
    return value[heads][by_value], at[heads][by_value]
