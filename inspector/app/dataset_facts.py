"""Facts about a scanned dataset that several views show, worked out once."""
from __future__ import annotations

from ..core.scan import ScanResult
from ..core.validation.balance import decoded_class_counts as decoded_class_counts_of


def decoded_class_counts(result: ScanResult) -> dict[str, dict[str, int]]:
    """Decoded images per class in every split of the scan (a split without classes: {}), as
    the export's balance and label drift count them; ``result.classes`` counts every listed file."""
    return decoded_class_counts_of(result.images, result.classes, result.splits)


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
