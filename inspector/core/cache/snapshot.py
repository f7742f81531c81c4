"""The merged result of a whole scan, stored beside the per-image records, so that reopening a
dataset whose listing has not changed reads a few blobs instead of rebuilding the result from
every stored chunk (decoding 1,600 blobs and summing their rows took most of a reopen of 100,000
images).

What is stored is the scan's collector as it stands once every listed item is in: its per-item
columns (every array whose first axis is the items) and its merged state (the exact per-split
sums and histograms, format and mode names, the failures). Restoring it and letting the collector
build its result gives the same result as merging the records again, since that is what made it.

It is trusted only for the very listing it was made from: its key is a digest of every listed
item (path, split, class, size, modification time, container member), the unreadable entries,
the splits, the record layout (which includes the measuring code's digest) and this module's own
source; and, as for a record, only when every listed file's modification time is clearly older
than the moment that scan began (``MTIME_SLACK_NS``). Each part carries a checksum; a damaged one
is dropped with a message and the reopen goes on from the per-image records.

The per-item columns are stored in parts of ``PART_ROWS`` items (a reopen reports progress and
honours a cancel between parts, and never holds more than one part's blob besides the columns):
numeric columns byte-shuffled, thumbnails as a planar-prediction residual laid out pixel by pixel
across the images (each prediction step is then one vectorised add over all of them), each
section compressed with zstd.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import struct
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import xxhash

from .codec import RecordError, _compress, _decompress, _shuffle
from ..stats import SplitAccumulator

SNAPSHOT_VERSION = 1
MAGIC = b"DIS1"
PART_ROWS = 1 << 14
DECODE_THREADS = 2


@functools.cache
def _own_digest() -> str:
    with open(__file__, "rb") as fh:
        return xxhash.xxh3_64(fh.read()).hexdigest()


def snapshot_key(layout: Any, record_layout: str) -> str:
    """The digest of everything the stored result follows from besides the files' contents."""
    h = xxhash.xxh3_128()
    h.update(json.dumps([SNAPSHOT_VERSION, _own_digest(), record_layout, layout.root, layout.kind,
                         list(layout.splits), [[b.path, b.split, b.reason] for b in layout.broken]]).encode())
    layout.files.digest(h)
    return h.hexdigest()


# ----------------------------------------------------------------------------- the merged state

def _encode_value(value: Any) -> Any:
    if isinstance(value, Counter):
        return {"counter": dict(value)}
    if isinstance(value, np.ndarray):
        if value.dtype == object:  # exact sums: Python ints (or a float NaN/inf), JSON keeps them exactly
            return {"exact": value.tolist()}
        return {"array": value.dtype.str, "shape": list(value.shape), "values": value.ravel().tolist()}
    if value is None or isinstance(value, int):
        return {"int": value}
    raise RecordError(f"cannot store a {type(value).__name__} of the accumulators")


def _decode_value(stored: dict) -> Any:
    if "counter" in stored:
        return Counter(stored["counter"])
    if "exact" in stored:
        out = np.empty(len(stored["exact"]), object)
        out[:] = stored["exact"]
        return out
    if "array" in stored:
        return np.array(stored["values"], np.dtype(stored["array"])).reshape(stored["shape"])
    return stored["int"]


def _encode_accumulator(acc: SplitAccumulator) -> dict:
    return {f.name: _encode_value(getattr(acc, f.name)) for f in dataclasses.fields(acc)}


def _decode_accumulator(stored: dict) -> SplitAccumulator:
    names = {f.name for f in dataclasses.fields(SplitAccumulator)}
    if set(stored) != names:
        raise RecordError("the stored sums do not have the accumulator's fields")
    return SplitAccumulator(**{name: _decode_value(value) for name, value in stored.items()})


# ----------------------------------------------------------------------------- blobs

def _seal(body: bytes) -> bytes:
    return MAGIC + xxhash.xxh3_64(body).digest() + body


def _opened(blob: bytes | None, what: str) -> memoryview:
    if blob is None or len(blob) < 12 or blob[:4] != MAGIC:
        raise RecordError(f"the stored result's {what} is missing")
    body = memoryview(blob)[12:]
    if xxhash.xxh3_64(body).digest() != blob[4:12]:
        raise RecordError(f"checksum mismatch in the stored result's {what}")
    return body


def _is_grid(value: np.ndarray) -> bool:
    return value.dtype == np.uint8 and value.ndim == 3


def _grid_sections(a: np.ndarray) -> bytes:
    """uint8 images (k, H, W) as their planar-prediction residual, pixel-major (H, W, k)."""
    t = np.ascontiguousarray(a.transpose(1, 2, 0))
    d = np.diff(t, axis=0, prepend=np.uint8(0))  # uint8 arithmetic wraps modulo 256
    return np.diff(d, axis=1, prepend=np.uint8(0)).tobytes()


def _grid_restore(buf: bytes, out: np.ndarray) -> None:
    """The images back into ``out`` (k, H, W): every prediction step adds two whole rows of
    pixels across all k images (numpy's cumsum over a short image row is 3x slower), then the
    pixel-major result is transposed into place 16 pixels at a time (3x faster than at once)."""
    k, h, w = out.shape
    if not out.flags.c_contiguous:  # reshaped below as a view, never a copy
        raise ValueError("the thumbnails' column is not contiguous")
    t = np.frombuffer(buf, np.uint8).reshape(h, w, k).copy()
    for i in range(1, h):
        t[i] += t[i - 1]
    for j in range(1, w):
        t[:, j] += t[:, j - 1]
    flat, dest = t.reshape(h * w, k), out.reshape(k, h * w)
    for lo in range(0, h * w, _TRANSPOSE_PIXELS):
        dest[:, lo:lo + _TRANSPOSE_PIXELS] = flat[lo:lo + _TRANSPOSE_PIXELS].T


_TRANSPOSE_PIXELS = 16


def _unshuffle_into(buf: bytes, out: np.ndarray) -> None:
    """Byte-shuffled values (``codec._shuffle``) straight into ``out``'s memory (no array between)."""
    if not out.flags.c_contiguous or len(buf) != out.nbytes:
        raise ValueError(f"a section of {len(buf)} bytes for {out.nbytes}")
    size = out.dtype.itemsize
    out.reshape(-1).view(np.uint8).reshape(-1, size)[:] = np.frombuffer(buf, np.uint8).reshape(size, -1).T


def _encode_part(columns: dict[str, np.ndarray], lo: int, hi: int) -> bytes:
    sections = [_compress(_grid_sections(v[lo:hi]) if _is_grid(v) else _shuffle(v[lo:hi]))
                for v in columns.values()]
    return _seal(struct.pack(f"<I{len(sections)}Q", len(sections), *map(len, sections)) + b"".join(sections))


def _decode_part(blob: bytes | None, header: dict, lo: int, hi: int, columns: dict[str, np.ndarray]) -> None:
    """Fill rows lo..hi-1 of ``columns`` from one stored part."""
    body = _opened(blob, "part")
    try:
        (count,) = struct.unpack_from("<I", body)
        sizes = struct.unpack_from(f"<{count}Q", body, 4)
        if count != len(header["columns"]) or 4 + 8 * count + sum(sizes) != len(body):
            raise ValueError("the sections do not fill the part")
        at = 4 + 8 * count
        for (name, dtype, row_shape, how), size in zip(header["columns"], sizes):
            raw = _decompress(body[at:at + size])
            at += size
            if how == "grid":
                _grid_restore(raw, columns[name][lo:hi])
            else:
                _unshuffle_into(raw, columns[name][lo:hi])
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"damaged stored result: {exc}") from exc


def _column_layout(columns: dict[str, np.ndarray]) -> list:
    return [[name, value.dtype.str, list(value.shape[1:]), "grid" if _is_grid(value) else "shuffle"]
            for name, value in columns.items()]


# ----------------------------------------------------------------------------- saving, restoring

def encode_snapshot(collector: Any, n: int, seen_ns: int) -> list[bytes]:
    """The collector's result of ``n`` listed items as parts: a header (the merged state), then
    the per-item columns ``PART_ROWS`` items at a time."""
    columns = collector.columns()
    header = {"items": n, "seen_ns": seen_ns, "part_rows": PART_ROWS, "columns": _column_layout(columns),
              "format_names": collector.format_names, "mode_names": collector.mode_names,
              "failures": sorted(collector.failures.items()),
              "splits": {split: _encode_accumulator(acc) for split, acc in collector.acc.items()}}
    head = _seal(_compress(json.dumps(header, ensure_ascii=False).encode()))
    with ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="snapshot") as pool:  # zstd releases the GIL
        return [head, *pool.map(lambda lo: _encode_part(columns, lo, min(lo + PART_ROWS, n)), range(0, n, PART_ROWS))]


def read_header(blob: bytes | None) -> dict:
    try:
        return json.loads(_decompress(_opened(blob, "header")))
    except (ValueError, struct.error, KeyError) as exc:
        raise RecordError(f"damaged stored result: {exc}") from exc


def restore_snapshot(header: dict, parts: Iterator[bytes | None], collector: Any, n: int) -> Iterator[None]:
    """Put a stored result into a fresh collector for ``n`` listed items, yielding as its parts
    come in (decoded ``DECODE_THREADS`` at a time: decompression and numpy's copies release the
    GIL); RecordError when anything does not fit (the collector's rows are then marked not done
    again, and its merged state was not touched)."""
    columns = collector.columns()
    if header.get("items") != n or header.get("part_rows") != PART_ROWS or header.get("columns") != _column_layout(columns):
        raise RecordError("the stored result was made for other columns")
    try:
        splits = {split: _decode_accumulator(acc) for split, acc in header["splits"].items()}
        failures = {int(i): str(reason) for i, reason in header["failures"]}
        restored = 0
        with ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="snapshot") as pool:
            pending: deque[tuple[int, Future]] = deque()
            for lo, blob in zip(range(0, n, PART_ROWS), parts):
                hi = min(lo + PART_ROWS, n)
                pending.append((hi - lo, pool.submit(_decode_part, blob, header, lo, hi, columns)))
                while pending and (len(pending) >= DECODE_THREADS or hi == n):
                    rows, part = pending.popleft()
                    part.result()
                    restored += rows
                    collector.done = restored  # progress shows the parts coming in
                    yield
        if restored != n:
            raise RecordError("the stored result lacks parts")
    except (RecordError, KeyError, TypeError, ValueError) as exc:  # the pool has finished: nothing writes now
        collector.ok[:n] = False
        collector.done = 0
        raise exc if isinstance(exc, RecordError) else RecordError(f"damaged stored result: {exc}") from exc
    collector.format_names, collector.mode_names = list(header["format_names"]), list(header["mode_names"])
    collector.failures = failures
    collector.acc = splits
    listed = collector.layout.files.split_counts()
    collector.done_by_split = {split: listed.get(split, 0) for split in splits}
