"""Lazy discovery and container-aware chunks.

A source may hand its items over in batches (``DatasetLayout.pending``) instead of listing them
all first: a million-row manifest then starts scanning after its first batch. ``iter_chunks``
pulls batches only as the scan needs more work, appends them to ``layout.files`` (an item's
index is its position there) and cuts them into chunks that never mix containers: consecutive
members of one tar shard, or rows of one Parquet row group, so a worker opens a container once.
A container read sequentially (a Parquet row group, a compressed shard) is cut into a few chunks
only (``locators.SEQUENTIAL``): a chunk's worker decodes the container from its start.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from ..layout import DatasetLayout, ImageFile
from .common import order_splits
from .locators import SEQUENTIAL, container_key

LOOKAHEAD = 4096  # items discovered ahead of the scan at most (besides a sequential container)


def discovering(layout: DatasetLayout) -> bool:
    return layout.pending is not None


def pull(layout: DatasetLayout) -> bool:
    """Discover one more batch; False when discovery is (now) complete."""
    if layout.pending is None:
        return False
    batch = next(layout.pending, None)
    if batch is None:
        layout.pending = None
        order_splits(layout)
        return False
    layout.files.extend(batch)
    return True


def prefetch(layout: DatasetLayout, count: int) -> None:
    """Discover until at least ``count`` items are known or there are no more."""
    while len(layout.files) < count and pull(layout):
        pass


def complete(layout: DatasetLayout) -> DatasetLayout:
    """Discover everything (for callers that need the whole list before scanning)."""
    while pull(layout):
        pass
    return layout


def iter_chunks(layout: DatasetLayout, size: int) -> Iterator[list[tuple[int, ImageFile]]]:
    """Chunks of (index, item) of at most ``size`` items (a sequential container: at most its
    SEQUENTIAL count of even pieces), discovering lazily as they are consumed."""
    i = 0
    while True:
        while i >= len(layout.files):
            if not pull(layout):
                return
        key = container_key(layout.files.locator(i), layout.files.abspath(i))
        end = _run_end(layout, i, key)
        run = end - i
        pieces = max(1, math.ceil(run / size))
        if key is not None and key[0] in SEQUENTIAL:
            pieces = min(pieces, SEQUENTIAL[key[0]])
        step = math.ceil(run / pieces)
        for start in range(i, end, step):
            yield [(k, layout.files[k]) for k in range(start, min(start + step, end))]
        i = end


def _run_end(layout: DatasetLayout, i: int, key: tuple | None) -> int:
    """End of the run of items from ``i`` sharing one container key (at most LOOKAHEAD items,
    except a sequential container, which is taken whole so its chunks can be cut evenly)."""
    files = layout.files
    j = i + 1
    while True:
        while j < len(files):
            if container_key(files.locator(j), files.abspath(j)) != key:
                return j
            j += 1
            if j - i >= LOOKAHEAD and (key is None or key[0] not in SEQUENTIAL):
                return j  # files and tar members: chunks need no longer runs than this
        if not pull(layout):  # the run may continue in the next batch
            return j
