"""An ImageTable built from PIL images without the scan engine (tests, benchmarks), measured with
the scan's own hashing code."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from .hashing import (GRID, N_VIEWS, THUMB_SIZE, content_hash, grey_grid_bars, hashes_from_grids,
                      thumbnails_from_grids)
from .table import FLAG_PADDED, ImageTable


def table_from_images(items: Iterable[tuple[str, str, str | None, Image.Image]],
                      split_names: Sequence[str] | None = None) -> ImageTable:
    """An ImageTable from (path, split, class or None, PIL image) items, measured like the scan does.

    The canonical mode is "L" when every image is single-channel 8-bit, else "RGB".
    Rows keep the order given.
    """
    items = list(items)
    single = all(im.mode in ("L", "1") for *_, im in items) and bool(items)
    mode = "L" if single else "RGB"
    splits = list(split_names) if split_names else []
    labels: list[str] = []
    fmts: list[str] = []
    modes: list[str] = []
    n = len(items)
    c = 1 if single else 3
    cols = {k: np.zeros((n, c)) for k in ("mean", "std", "min", "max")}
    content = np.zeros((n, 2), np.uint64)
    phash = np.zeros((n, N_VIEWS), np.uint64)
    thumb = np.zeros((n, THUMB_SIZE, THUMB_SIZE), np.uint8)
    split = np.zeros(n, np.int16)
    label = np.zeros(n, np.int32)
    width = np.zeros(n, np.int32)
    height = np.zeros(n, np.int32)
    fmt = np.zeros(n, np.int16)
    md = np.zeros(n, np.int16)
    flags = np.zeros(n, np.uint16)
    paths = []
    for r, (path, sp, cls, im) in enumerate(items):
        if sp not in splits:
            splits.append(sp)
        split[r] = splits.index(sp)
        if cls is None:
            label[r] = -1
        else:
            if cls not in labels:
                labels.append(cls)
            label[r] = labels.index(cls)
        f = im.format or "PIL"
        if f not in fmts:
            fmts.append(f)
        fmt[r] = fmts.index(f)
        if im.mode not in modes:
            modes.append(im.mode)
        md[r] = modes.index(im.mode)
        canon = im if im.mode == mode else im.convert(mode)
        a = np.asarray(canon, dtype=np.float64).reshape(canon.size[1], canon.size[0], -1) / 255.0
        cols["mean"][r] = a.mean(axis=(0, 1))
        cols["std"][r] = a.std(axis=(0, 1))
        cols["min"][r] = a.min(axis=(0, 1))
        cols["max"][r] = a.max(axis=(0, 1))
        content[r] = content_hash(canon)
        grid, padded = grey_grid_bars(canon, GRID)     # once, as the scan does (scan_chunk.py)
        phash[r], thumb[r] = hashes_from_grids(grid[None])[0], thumbnails_from_grids(grid[None])[0]
        flags[r] = FLAG_PADDED if padded else 0
        width[r], height[r] = canon.size
        paths.append(path)
    return ImageTable(
        paths=paths, split_names=splits, split=split, label_names=labels, label=label,
        width=width, height=height, nbytes=np.zeros(n, np.int64), format_names=fmts, format=fmt,
        mode_names=modes, mode=md, mean=cols["mean"], std=cols["std"], min=cols["min"],
        max=cols["max"], content_hash=content, phash=phash, thumb=thumb,
        flags=flags)
