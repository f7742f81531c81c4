"""Facts about a scanned dataset that several views show, worked out once."""
from __future__ import annotations

import numpy as np

from ..core.scan import ScanResult


def decoded_class_counts(result: ScanResult) -> dict[str, dict[str, int]]:
    """Decoded images per class in each split, for the classes the layout found there (a class
    whose files all failed shows 0). A file that failed to decode is in no statistic, so it is
    not counted as a member of its class either; ``result.classes`` counts every listed file."""
    table = result.images
    index = {name: k for k, name in enumerate(table.label_names)}
    counts: dict[str, dict[str, int]] = {}
    for split in result.splits:
        labels = table.label[table.rows_in(split)]
        per = np.bincount(labels[labels >= 0], minlength=len(index))
        counts[split] = {name: int(per[index[name]]) if name in index else 0
                         for name in result.classes.get(split, {})}
    return counts
