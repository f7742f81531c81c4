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


def cache_note(result: ScanResult) -> str:
    """What the scan made of the on-disk cache, from the result's own cache summary: "from cache,
    N changed items rescanned" when stored records were used, else why the cache was not."""
    cache = result.extra.get("cache") or {}
    if not cache.get("enabled"):
        return f"cache not used ({cache['message']})" if cache.get("message") else "cache off"
    rescanned = int(cache["rescanned"])
    why = f" ({cache['message']})" if cache.get("message") else ""  # e.g. a damaged cache rebuilt
    if not cache.get("used"):
        return f"cold scan, {rescanned:,} item{'s' if rescanned != 1 else ''} cached{why}"
    return f"from cache, {rescanned:,} changed item{'s' if rescanned != 1 else ''} rescanned{why}"
