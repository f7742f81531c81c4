"""Small helpers the source kinds share: split names from file names, the sorted split list, and
what a worker gets for an item (its payload, or the ReadError saying why there is none)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..layout import SPLIT_ORDER, DatasetLayout, ImageFile, split_name

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
KNOWN_SPLITS = "train, val, test or an alias (training, valid, validation, dev, testing)"


def split_from_name(name: str) -> str | None:
    """The split a shard or Parquet file name starts with: ``train-00000-of-00004.parquet``,
    ``validation_0001.tar``, ``test.tar`` (any case)."""
    stem = name.split(".", 1)[0]
    first = re.split(r"[-_.\s]", stem, maxsplit=1)[0]
    return split_name(first)


def split_rank(split: str) -> tuple[int, str]:
    """Sort key of the canonical split order (train, val, test, all, then others by name)."""
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def order_splits(layout: DatasetLayout) -> None:
    layout.splits.sort(key=split_rank)


def note_split(layout: DatasetLayout, split: str) -> None:
    if split not in layout.splits:
        layout.splits.append(split)
        order_splits(layout)


Payload = str | bytes  # a local path that ``decode`` opens itself, or the encoded bytes


class ReadError(Exception):
    """The item's bytes cannot be read; ``str(exc)`` is the reason listed as its failure."""


def in_batches(items: Iterable[ImageFile | None], size: int) -> Iterator[list[ImageFile]]:
    """The items that are not None, in lists of ``size`` (the last one shorter): lazy discovery
    hands the scan a batch at a time."""
    batch: list[ImageFile] = []
    for item in items:
        if item is not None:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch
