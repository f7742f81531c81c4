"""Index arrays that are runs of consecutive rows, told apart from others so that they can be
used as slices: copying through a slice is one block copy, through an index array a gather per row.
"""
from __future__ import annotations

import numpy as np


def as_slice(index: np.ndarray) -> np.ndarray | slice:
    """``index`` as a slice when it is one run of consecutive rows, else as it is."""
    if len(index) and int(index[-1]) - int(index[0]) == len(index) - 1 and bool((np.diff(index) == 1).all()):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def is_all_in_order(index: np.ndarray, n: int) -> bool:
    """Is ``index`` every row 0..n-1, in order?"""
    if len(index) != n:
        return False
    run = as_slice(index)
    return n == 0 or (isinstance(run, slice) and run.start == 0)
