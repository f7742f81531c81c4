"""Stored rows back into a scan chunk result: the columns as stored, and the per-split sums the
worker would have added up for them (``SplitAccumulator.add`` with the worker's arguments)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..stats import SplitAccumulator
from ..table import FLAG_NAMES


def rebuild_chunk(chunk_type: type, columns: dict, hists: list[np.ndarray], index: list[int],
                  failures: list[tuple[int, str]], splits: list[str], failure_splits: list[str]) -> Any:
    accumulators: dict[str, SplitAccumulator] = {}
    numbers, names, moments = columns["numbers"], columns["names"], columns["moments"]
    for j, (hist, split) in enumerate(zip(hists, splits)):
        fmt, mode = names[j]
        channels, flags = int(numbers[j, 3]), int(numbers[j, 4])
        accumulators.setdefault(split, SplitAccumulator()).add(
            hist, moments[j, 1, :channels], mode, fmt, [name for bit, name in FLAG_NAMES.items() if flags & bit])
    for split in failure_splits:
        accumulators.setdefault(split, SplitAccumulator()).failed += 1
    return chunk_type(index=np.array(index, np.int64), failures=failures, accumulators=accumulators,
                      **columns)
