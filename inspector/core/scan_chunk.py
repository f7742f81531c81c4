"""The scan's worker side: measure one chunk of files (in a worker process, or a Dask worker).

``_scan_chunk`` decodes each item once and takes what the scan needs of its pixels (exact
histogram, grey grid, content hash, property samples); the chunk then finishes its rows together
(moments, split sums, view hashes, thumbnails, properties: per image these small numpy steps would
cost more than the sums) and returns them as a few columns, which pickle far faster than many
small objects. The parent side (scan.py) merges the chunks in order.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import fastdecode, hashing, sources
from .cache import load_codec, stored_records
from .cache.codec import HistGroup, group_hists
from .decode import DecodeError, decode
from .layout import ImageFile
from .pixelbuffer import pixel_view
from .pool import CRASH_REASON, NO_ITEM, Mark, no_mark
from .stats import SplitAccumulator, exact_fixed, image_histogram, moments_of
from .table import FLAG_BAD_NAME, FLAG_NAMES, FLAG_PADDED
from .validation import properties

PILLOW_BLOCKS = 8          # freed pixel blocks Pillow keeps for reuse while a chunk is measured


@dataclass
class _Row:
    """One decoded image's measures, before the chunk finishes them together (moments, hashes,
    thumbnails, properties: per image their small numpy steps would cost more than the sums)."""
    index: int
    width: int
    height: int
    nbytes: int
    format: str
    mode: str
    channels: int
    hist: np.ndarray     # int64 (C, bins): the image's exact histogram
    content_hash: tuple[int, int]
    grid: np.ndarray     # float32 (GRID, GRID) grey grid: the view hashes and thumbnail come from it
    flags: int
    properties: properties.Sample  # measured for the whole chunk at once (validation/properties.py)


@dataclass
class _ChunkResult:
    """One chunk's rows as columns: a few arrays pickle far faster than many small objects."""

    index: np.ndarray         # int64 (k,) positions in layout.files
    numbers: np.ndarray       # int64 (k, 5): width, height, nbytes, channels, flags
    names: list[tuple[str, str]]  # (format, mode) per row
    moments: np.ndarray       # float64 (k, 4, 3): mean, std, min, max (grey repeated to 3)
    content: np.ndarray       # uint64 (k, 2)
    phash: np.ndarray         # uint64 (k, N_VIEWS)
    thumb: np.ndarray         # uint8 (k, T, T)
    failures: list[tuple[int, str]]
    accumulators: dict[str, SplitAccumulator]
    cpu_seconds: float = 0.0  # worker CPU time spent on this chunk (benchmarks compare it)
    # float64 (k, N_PROPERTIES): brightness, contrast, sharpness, ... (validation/properties.py)
    properties: np.ndarray = field(default_factory=lambda: np.zeros((0, properties.N_PROPERTIES)))
    records: bytes | None = None  # the rows for the cache: every per-row field above (cache/codec.py)


def measure_file(index: int, f: ImageFile, payload: sources.Payload | None = None) -> _Row:
    """Decode one item (its path or bytes, as read by the sources) and take what the chunk needs
    of its pixels; raises DecodeError with the reason."""
    dec = decode(f.abspath if payload is None else payload, f.path)
    im = dec.image
    hist = image_histogram(im)
    grid, padded = hashing.grey_grid_bars(im)
    flags = dec.flags | (FLAG_BAD_NAME if f.name_note else 0) | (FLAG_PADDED if padded else 0)
    view = pixel_view(im)  # one export of the pixel memory for the hash and the property samples
    content = hashing.content_hash(im, view, dec.pad_filled)
    # the moments are filled in with the chunk's (_chunk_moments)
    props = properties.sample(im, hist, _NO_MOMENTS, _NO_MOMENTS, grid, view)
    return _Row(index, dec.width, dec.height, dec.nbytes, dec.format, dec.mode, dec.channels,
                hist, content, grid, flags, props)


_NO_MOMENTS = np.zeros(0)


def _flag_names(flags: int) -> list[str]:
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]


def _scan_chunk(items: list[tuple[int, ImageFile]], storage_options: dict | None = None,
                keep_records: bool = True, mark: Mark = no_mark) -> _ChunkResult:
    """Measure a chunk of items (in a worker process). ``keep_records``: also encode the rows for
    the cache (cache/codec.py); a scan without a cache skips that work."""
    crash_on = os.environ.get("INSPECTOR_TEST_CRASH_ON")  # fault injection for the crash-isolation test
    if crash_on and multiprocessing.parent_process() is not None:
        if any(crash_on in f.path for _, f in items):
            os._exit(3)
    with _reused_image_memory():
        return _measure_chunk(items, storage_options, keep_records, mark)


@contextmanager
def _reused_image_memory() -> Iterator[None]:
    """Pillow by default frees every image's pixel memory and maps it afresh for the next image:
    each photo's decoded image and its float grey copy then cost ~50 page faults (about 0.1 ms of
    a ~2 ms decode). Kept for reuse, a few freed blocks serve the next images with none; they are
    given back when the chunk ends, so a chunk of huge images leaves no memory behind."""
    before = Image.core.get_blocks_max()
    Image.core.set_blocks_max(max(before, PILLOW_BLOCKS))
    try:
        yield
    finally:
        Image.core.set_blocks_max(before)  # the cache beyond it is freed
        Image.core.clear_cache(before)


def _measure_chunk(items: list[tuple[int, ImageFile]], storage_options: dict | None,
                   keep_records: bool, mark: Mark) -> _ChunkResult:
    cpu0 = time.process_time()
    rows: list[_Row] = []
    failures: list[tuple[int, str]] = []
    accumulators: dict[str, SplitAccumulator] = {}
    splits: list[str] = []
    if keep_records:
        load_codec()  # imported before the first item's time limit starts, not inside it
    fastdecode.available()  # the decoders' first-use check (0.05-0.2 s, once a process), likewise
    payloads = sources.iter_payloads((f for _, f in items), storage_options)
    for (index, f), (_, payload) in zip(items, payloads):
        acc = accumulators.get(f.split)
        if acc is None:  # made once per split: setdefault would build one (~6 us) for every item
            acc = accumulators[f.split] = SplitAccumulator()
        mark(index)  # the pool's time limit runs from here
        try:
            if isinstance(payload, sources.ReadError):
                raise DecodeError(str(payload))
            rows.append(measure_file(index, f, payload))
            splits.append(f.split)
        except DecodeError as exc:
            failures.append((index, str(exc)))
            acc.failed += 1
        except Exception as exc:  # never lose the scan to one file; keep the reason
            failures.append((index, f"unexpected error: {type(exc).__name__}: {exc}"))
            acc.failed += 1
    mark(NO_ITEM)  # the chunk's batched work below is not the last file's decode time
    k = len(rows)
    hists = group_hists([r.hist for r in rows])  # by shape, stacked once for all that follows
    moments = _chunk_moments(rows, hists)
    _accumulate(rows, splits, moments, hists, accumulators)
    grids = np.empty((k, hashing.GRID, hashing.GRID), np.float32)
    for j, r in enumerate(rows):
        grids[j] = r.grid
    chunk = _ChunkResult(
        index=np.array([r.index for r in rows], np.int64),
        numbers=np.array([(r.width, r.height, r.nbytes, r.channels, r.flags) for r in rows],
                         np.int64).reshape(k, 5),
        names=[(r.format, r.mode) for r in rows],
        moments=moments,
        content=np.array([r.content_hash for r in rows], np.uint64).reshape(k, 2),
        phash=hashing.hashes_from_grids(grids),       # the whole chunk at once: per image these
        thumb=hashing.thumbnails_from_grids(grids),   # are tiny products, mostly call overhead
        properties=properties.measure_all([r.properties for r in rows]),
        failures=failures, accumulators=accumulators,
    )
    if keep_records:
        chunk.records = stored_records(chunk, hists)
    chunk.cpu_seconds = time.process_time() - cpu0
    return chunk


def _chunk_moments(rows: list[_Row], hists: dict[tuple[int, ...], HistGroup]) -> np.ndarray:
    """float64 (k, 4, 3) mean, std, min, max of each row (grey repeated to 3 channels, as
    convert("RGB") would), measured a histogram shape at a time; each sample gets its own."""
    out = np.zeros((len(rows), 4, 3))
    for shape, (members, stack) in hists.items():
        if shape[1] == 256:
            m = moments_of(stack)
        else:  # 16-bit: a 512 KB histogram each, not stacked
            m = np.stack([moments_of(h[None])[0] for h in stack])
        out[members] = m  # (g, 4, 1) broadcasts a grey image to 3 channels
        for j, mj in zip(members.tolist(), m):
            rows[j].properties.mean, rows[j].properties.std = mj[0], mj[1]
    return out


def _accumulate(rows: list[_Row], splits: list[str], moments: np.ndarray,
                hists: dict[tuple[int, ...], HistGroup], accumulators: dict[str, SplitAccumulator]) -> None:
    """Add the rows to their splits' accumulators, a (split, histogram shape) group at a time:
    integer sums and exact std sums, so the totals are those of adding them one by one."""
    for shape, (members, stack) in hists.items():
        c = shape[0]
        by_split: dict[str, list[int]] = {}
        for slot, j in enumerate(members.tolist()):
            by_split.setdefault(splits[j], []).append(slot)
        for split, slots in by_split.items():
            at = members[slots]
            if isinstance(stack, np.ndarray):
                hist = stack[slots].sum(axis=0)
            else:
                hist = stack[slots[0]].copy()
                for s in slots[1:]:
                    hist += stack[s]
            std_sum = exact_fixed(moments[at, 1, :c].ravel()).reshape(len(at), c).sum(axis=0)
            picked = at.tolist()
            accumulators[split].add_sums(
                hist, len(picked), std_sum, [rows[j].mode for j in picked],
                [rows[j].format for j in picked], [n for j in picked for n in _flag_names(rows[j].flags)])


def _crash_result(items: list[tuple[int, ImageFile]]) -> _ChunkResult:
    """A file that kills its worker process (a decoder crash) becomes a listed failure."""
    return _failed_result(items, CRASH_REASON)


def _failed_result(items: list[tuple[int, ImageFile]], reason: str) -> _ChunkResult:
    """A chunk result listing ``items`` as failures (a file past the time limit, a crash)."""
    accumulators: dict[str, SplitAccumulator] = {}
    for _, f in items:
        accumulators.setdefault(f.split, SplitAccumulator()).failed += 1
    empty = np.zeros(0, np.int64)
    return _ChunkResult(empty, np.zeros((0, 5), np.int64), [], np.zeros((0, 4, 3)),
                        np.zeros((0, 2), np.uint64), np.zeros((0, hashing.N_VIEWS), np.uint64),
                        np.zeros((0, hashing.THUMB_SIZE, hashing.THUMB_SIZE), np.uint8),
                        [(i, reason) for i, _ in items], accumulators)
