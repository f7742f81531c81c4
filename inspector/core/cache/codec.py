"""Compact, generic serialisation of a scan chunk's per-image records (one blob per chunk).

A record is everything the scan's collector needs to rebuild its result without decoding the
image again: every per-row column of the worker's chunk result (whatever columns it has: the
codec reads them from the dataclass, so a new column is stored without changes here), the
image's exact integer histogram (what the per-split accumulators add up) and, for a file that
could not be read, its reason.

Size: numeric columns are byte-shuffled (the k-th bytes of all values stored together, so the
mostly-zero high bytes compress away), 8-bit image columns (the thumbnails) are stored as their
planar-prediction residual (about half the compressed size of the raw pixels), histograms as
zig-zag differences between neighbouring bins (dense, 256 bins) or as their non-empty bins
(65,536-bin 16-bit ones), each in the narrowest integer type, list columns as their distinct
values and an index per row, and the whole blob is compressed with zstd. A checksum guards the blob: a damaged one is refused, never used.

``layout_version`` names the record layout: the column names, dtypes and row shapes, this
codec's version, the package version and a digest of the measuring code, so records written by
other code are never read back as if they were current.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import struct
import zlib
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import numpy as np
import xxhash

from ... import __version__

CODEC_VERSION = 3  # 2: zstd, thumbnails as planar residuals, narrowest types, stacked histograms;
                   # 3: histograms in a frame of their own, per-shape totals with the columns
MAGIC = b"DIR1"
# zstd level 1 (pyarrow's, a dependency already) makes the same size as zlib level 3 in a sixth of
# the time and reads back ~3x faster; zlib is the fallback where pyarrow lacks zstd.
ZSTD_LEVEL = 1
ZLIB_LEVEL = 3
_ZSTD_CODEC: Any = False  # not looked up yet
# Fields of a chunk result that describe the whole chunk, not one row each.
CHUNK_FIELDS = frozenset({"index", "failures", "accumulators", "cpu_seconds", "records"})


class RecordError(ValueError):
    """A stored blob is damaged or does not fit the current record layout."""


def row_columns(chunk: Any) -> dict[str, Any]:
    """The per-row columns of a chunk result: arrays or lists with one entry per decoded image."""
    out = {}
    for f in dataclasses.fields(chunk):
        value = getattr(chunk, f.name)
        if f.name not in CHUNK_FIELDS and isinstance(value, (np.ndarray, list)):
            out[f.name] = value
    return out


@functools.cache
def code_digest() -> str:
    """Digest of the measuring code's sources (inspector/core minus this cache package): records
    and findings made by different code are not reused, even within one package version."""
    core = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = xxhash.xxh3_64()
    for folder, dirs, files in os.walk(core):
        dirs[:] = sorted(d for d in dirs if d not in ("cache", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                h.update(os.path.relpath(path, core).encode())
                with open(path, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()


def layout_version(empty_chunk: Any) -> str:
    """The record layout of a chunk result (as built for zero files)."""
    parts: list[Any] = [__version__, CODEC_VERSION, code_digest()]
    for name, value in row_columns(empty_chunk).items():
        if isinstance(value, np.ndarray):
            parts.append([name, value.dtype.str, list(value.shape[1:])])
        else:
            parts.append([name, "list"])
    return xxhash.xxh3_64(json.dumps(parts).encode()).hexdigest()


@dataclass
class HistStack:
    """One histogram shape's rows of a batch, as stored: neighbouring-bin differences (dense
    histograms, ``running`` True: a histogram is their running sum) or the counts themselves.
    Sums are taken before the running sum, so a batch's rows add up with two numpy ops."""

    values: np.ndarray   # (m, C, bins)
    running: bool

    def total(self, slots: np.ndarray) -> np.ndarray:
        """The int64 sum of the histograms at ``slots``."""
        every = len(slots) == len(self.values) and np.array_equal(slots, np.arange(len(slots)))
        picked = self.values if every else self.values[slots]
        if picked.dtype in (np.int8, np.uint8, np.int16) and len(picked) < 1 << 16:  # |sum| < 2**31: int32
            summed = picked.sum(axis=0, dtype=np.int32).astype(np.int64)
        else:
            summed = picked.sum(axis=0, dtype=np.int64)
        return np.cumsum(summed, axis=-1) if self.running else summed

    def rows(self, slots: np.ndarray) -> np.ndarray:
        """The int64 histograms at ``slots``, one per row."""
        picked = self.values[slots].astype(np.int64)
        return np.cumsum(picked, axis=-1) if self.running else picked


class Batch:
    """A decoded blob: entries 0..rows-1 are decoded images, then the failures. Histograms stay
    stacked by shape (``groups``, decoded from their own section of the blob when first asked
    for), so a batch's rows are summed at once; ``totals`` are each shape's sum over the batch."""

    def __init__(self, columns: dict[str, Any], codes: np.ndarray, slots: np.ndarray,
                 groups: "list[HistStack] | Callable[[], list[HistStack]]", failures: list[str],
                 totals: list[np.ndarray], residual: set[str] = frozenset(),
                 frame: "_HistFrame | None" = None) -> None:
        self.columns, self.codes, self.slots, self.failures = columns, codes, slots, failures
        self._groups = groups
        self.totals = totals
        self.residual = residual  # image columns still as their residuals (restore_grids)
        self._frame = frame       # the histograms' section as stored, for a few rows' sum

    @property
    def groups(self) -> list[HistStack]:
        if callable(self._groups):
            self._groups = self._groups()
        return self._groups

    def total(self, code: int, slots: np.ndarray) -> np.ndarray:
        """The int64 sum of the histograms of shape ``code`` at ``slots`` (distinct): a rescan
        uses most rows of nearly every batch (1% of the files changed touches 92% of the batches
        of 256), so most of a shape's rows are summed as its stored total less the few others,
        and only those are decoded (dense shapes; the others, and a batch whose stack is decoded
        already, as the whole stack)."""
        frame, m = self._frame, len(np.flatnonzero(self.codes == code))
        if frame is None or not callable(self._groups) or not frame.dense(code):
            return self.groups[code].total(slots)
        if 2 * len(slots) <= m:
            return frame.total(code, slots)
        rest = np.ones(m, bool)
        rest[slots] = False
        if m - int(np.count_nonzero(rest)) != len(slots):  # a slot twice: no complement
            return frame.total(code, slots)
        return self.totals[code] - frame.total(code, np.flatnonzero(rest))

    def hist_layout(self) -> list:
        """What ``hist_rows_total`` needs besides the blob to sum some rows' histograms without
        decompressing the rest of it (JSON-able: a child process hands it over, cache/prefetch.py)."""
        if self._frame is None:
            raise RecordError("a batch without its histograms' section")
        return [self._frame.meta, self._frame.sizes]

    @property
    def rows(self) -> int:
        return len(self.codes)

    @property
    def hists(self) -> list[np.ndarray]:
        """Each decoded row's histogram, in row order."""
        return [self.groups[c].rows(np.array([s]))[0] for c, s in zip(self.codes.tolist(), self.slots.tolist())]


# ----------------------------------------------------------------------------- encoding

def _shuffle(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    return a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.tobytes()


def _unshuffle(buf: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    if len(buf) != n * dtype.itemsize:
        raise ValueError(f"a section of {len(buf)} bytes for {n} values of {dtype}")
    if dtype.itemsize == 1:
        return np.frombuffer(buf, dtype, n).reshape(shape).copy()
    planes = np.frombuffer(buf, np.uint8).reshape(dtype.itemsize, n)
    return planes.T.copy().view(dtype).reshape(shape)


def _zigzag(d: np.ndarray) -> np.ndarray:
    return ((d << 1) ^ (d >> 63)).view(np.uint64)


def _zigzag_diff(stack: np.ndarray) -> np.ndarray:
    """``_zigzag(np.diff(stack, axis=-1, prepend=0))`` of non-negative counts, worked out in the
    narrowest signed type that holds twice the largest count (int16 for images of up to 16,383
    pixels a bin): the same values in a quarter of the memory traffic of int64."""
    top = int(stack.max()) if stack.size else 0
    for signed, unsigned in ((np.int16, np.uint16), (np.int32, np.uint32)):
        if 2 * top < np.iinfo(signed).max:
            break
    else:
        return _zigzag(np.diff(stack, axis=-1, prepend=0))
    narrow = stack.astype(signed)
    diff = np.empty_like(narrow)
    diff[..., :1] = narrow[..., :1]
    np.subtract(narrow[..., 1:], narrow[..., :-1], out=diff[..., 1:])
    bits = np.dtype(signed).itemsize * 8 - 1
    return ((diff << 1) ^ (diff >> bits)).view(unsigned)


def _unzigzag(z: np.ndarray) -> np.ndarray:
    """Signed values back from zig-zag ones, in the narrowest signed type that holds them."""
    wide = {1: np.int16, 2: np.int32, 4: np.int64}.get(z.dtype.itemsize)
    if wide is not None:
        v = z.astype(wide)
        return (v >> 1) ^ -(v & 1)
    z = z.astype(np.uint64)
    return ((z >> np.uint64(1)).view(np.int64)) ^ -((z & np.uint64(1)).view(np.int64))


def _narrow(z: np.ndarray) -> np.ndarray:
    """Unsigned values in the smallest unsigned type that holds them (less for zlib to chew)."""
    top = int(z.max()) if z.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return z.astype(dtype)
    return z.astype(np.uint64)


def _grid_residual(a: np.ndarray) -> np.ndarray:
    """uint8 images (k, H, W) as their planar-prediction residual (pixel - left - up + up-left,
    modulo 256): thumbnails compress to about half their size this way, and two cumulative sums
    undo it."""
    d = np.diff(a, axis=1, prepend=np.uint8(0))  # uint8 arithmetic wraps modulo 256
    return np.diff(d, axis=2, prepend=np.uint8(0))


def _grid_restore(r: np.ndarray) -> np.ndarray:
    return np.cumsum(np.cumsum(r, axis=2, dtype=np.uint8), axis=1, dtype=np.uint8)


def restore_grids(r: np.ndarray, block: int = 512) -> np.ndarray:
    """``_grid_restore`` of many images at once, in place (``r`` is overwritten and returned):
    one vectorised add per row and per column, over ``block`` images at a time so each block
    stays in the processor's cache (numpy's cumsum runs one short loop per image row: 2x slower;
    this 1.6x faster than the same adds over 4,096 images and a copy)."""
    for lo in range(0, len(r), block):
        part = r[lo:lo + block]
        for i in range(1, part.shape[1]):
            part[:, i] += part[:, i - 1]
        for j in range(1, part.shape[2]):
            part[:, :, j] += part[:, :, j - 1]
    return r


def _is_grid(value: np.ndarray) -> bool:
    return value.dtype == np.uint8 and value.ndim == 3


# One histogram shape's rows of a chunk: (their row positions, their histograms stacked (m, C, bins)
# or as a list of (C, bins) arrays: 16-bit ones, 512 KB each, are never stacked)
HistGroup = tuple[np.ndarray, "np.ndarray | list[np.ndarray]"]


def group_hists(hists: list[np.ndarray]) -> dict[tuple[int, ...], HistGroup]:
    """Histograms (one per row) grouped by shape, as ``encode_chunk`` takes them."""
    members: dict[tuple[int, ...], list[int]] = {}
    for j, h in enumerate(hists):
        members.setdefault(h.shape, []).append(j)
    return {shape: (np.array(rows, np.int64), [hists[j] for j in rows] if shape[-1] > 256
                    else np.stack([hists[j] for j in rows]).astype(np.int64, copy=False))
            for shape, rows in members.items()}


def _encode_hists(groups: dict[tuple[int, ...], HistGroup], k: int,
                  sums: list[np.ndarray] | None = None) -> tuple[dict, list[bytes]]:
    """The sections of ``k`` rows' histograms, grouped by shape; ``sums`` (when given) gets each
    shape's int64 sum over them, in the groups' (sorted shapes') order."""
    shapes = sorted(groups)
    codes = np.zeros(k, np.int64)
    meta, sections = [], []
    for code, shape in enumerate(shapes):
        rows, stack = groups[shape]
        codes[rows] = code
        if shape[-1] <= 256:  # dense: neighbouring bins differ little
            if sums is not None:
                sums.append(stack.sum(axis=0))
            z = _narrow(_zigzag_diff(stack))
            meta.append({"shape": list(shape), "dense": z.dtype.str})
            sections.append(_shuffle(z))
        else:  # 16-bit: only a few thousand of 65,536 bins are ever occupied
            if sums is not None:
                sums.append(np.sum(stack, axis=0, dtype=np.int64))
            flats = [np.asarray(h, np.int64).ravel() for h in stack]
            bins = [np.flatnonzero(f) for f in flats]
            nnz = _narrow(np.array([len(b) for b in bins], np.uint64))
            # each row's first entry is its absolute bin (a gap from bin 0), the rest gaps
            gaps = _narrow(np.concatenate([np.diff(b, prepend=0) for b in bins]).astype(np.uint64))
            counts = _narrow(np.concatenate([f[b] for f, b in zip(flats, bins)]).astype(np.uint64))
            meta.append({"shape": list(shape), "sparse": counts.dtype.str, "nnz": int(len(counts)),
                         "rows": nnz.dtype.str, "gaps": gaps.dtype.str})
            sections += [_shuffle(nnz), _shuffle(gaps), _shuffle(counts)]
    return {"codes": codes.tolist(), "groups": meta}, sections


def encode_chunk(chunk: Any, hists: "dict[tuple[int, ...], HistGroup] | list[np.ndarray]") -> bytes:
    """One blob with the chunk's rows (in chunk order, then its failures in order); ``hists``:
    the rows' histograms, one per row or by shape (``group_hists``: the scan's workers have them
    stacked already)."""
    groups = group_hists(hists) if isinstance(hists, list) else hists
    return _encode(row_columns(chunk), groups, [r for _, r in chunk.failures])


def encode_subset(batch: Batch, entries: list[int]) -> tuple[bytes, dict[int, int]]:
    """A blob with only some entries of a batch (a partly stale one, compacted), and where each
    kept entry is in it."""
    kept = sorted(set(entries))
    rows = [e for e in kept if e < batch.rows]
    fails = [e for e in kept if e >= batch.rows]
    pick = np.array(rows, np.int64)
    columns = {name: value[pick] if isinstance(value, np.ndarray) else [value[j] for j in rows]
               for name, value in batch.columns.items()}
    hists = [batch.groups[c].rows(np.array([s]))[0] for c, s in zip(batch.codes[pick].tolist(), batch.slots[pick].tolist())]
    blob = _encode(columns, group_hists(hists), [batch.failures[e - batch.rows] for e in fails])
    return blob, {old: new for new, old in enumerate(rows + fails)}


def _encode(columns: dict[str, Any], hists: dict[tuple[int, ...], HistGroup], failures: list[str]) -> bytes:
    k = sum(len(rows) for rows, _ in hists.values())
    header: dict[str, Any] = {"rows": k, "columns": [], "failures": failures}
    sections: list[bytes] = []
    for name, value in columns.items():
        if isinstance(value, np.ndarray):
            if value.shape[:1] != (k,):
                raise RecordError(f"column {name} has {value.shape[:1]} rows, not {k}")
            grid = _is_grid(value)
            header["columns"].append([name, value.dtype.str, list(value.shape), "grid" if grid else "shuffle"])
            sections.append(_grid_residual(value).tobytes() if grid else _shuffle(value))
        else:
            if len(value) != k:
                raise RecordError(f"column {name} has {len(value)} rows, not {k}")
            header["columns"].append([name, "json", None, "json"])
            sections.append(_encode_list(value))
    by_shape: list[np.ndarray] = []  # each shape's sum, in the groups' order
    header["hists"], hist_sections = _encode_hists(hists, k, by_shape)
    totals = {shape: (np.array([i]), total[None] if shape[-1] <= 256 else [total])
              for i, (shape, total) in enumerate(zip(sorted(hists), by_shape))}
    header["totals"], total_sections = _encode_hists(totals, len(totals))
    sections += total_sections
    header["sizes"] = [len(s) for s in sections]
    header["hist_sizes"] = [len(s) for s in hist_sections]
    head = json.dumps(header, ensure_ascii=False).encode()
    first = _compress(struct.pack("<I", len(head)) + head + b"".join(sections))
    body = struct.pack("<Q", len(first)) + first + _compress(b"".join(hist_sections))
    return MAGIC + xxhash.xxh3_64(body).digest() + body


def load_codec() -> None:
    """Import the compression codec (pyarrow, ~50 ms and more under load) now: a scan calls it
    when it opens a cache and a worker before its first item, so a scan without a cache never
    pays for it and a worker's first chunk does not pay inside an item's decode time limit."""
    _zstd()


def _zstd() -> Any:
    """pyarrow's zstd codec, or None where this pyarrow lacks it (imported on first use)."""
    global _ZSTD_CODEC
    if _ZSTD_CODEC is False:
        _ZSTD_CODEC = None
        try:
            from pyarrow import Codec as ArrowCodec
        except ImportError:
            return None
        if ArrowCodec.is_available("zstd"):
            _ZSTD_CODEC = ArrowCodec("zstd", compression_level=ZSTD_LEVEL)
    return _ZSTD_CODEC


def _compress(raw: bytes) -> bytes:
    """A method byte, the raw length and the compressed bytes."""
    codec = _zstd()
    if codec is None:
        return b"z" + struct.pack("<Q", len(raw)) + zlib.compress(raw, ZLIB_LEVEL)
    return b"s" + struct.pack("<Q", len(raw)) + codec.compress(raw, asbytes=True)


def _decompress(body: bytes) -> bytes:
    method, (size,) = body[:1], struct.unpack_from("<Q", body, 1)
    if method == b"z":
        raw = zlib.decompress(body[9:])
    elif method == b"s":
        codec = _zstd()
        if codec is None:
            raise ValueError("zstd-compressed records, and this pyarrow cannot read zstd")
        raw = codec.decompress(body[9:], decompressed_size=size, asbytes=True)
    else:
        raise ValueError(f"unknown compression {method!r}")
    if len(raw) != size:
        raise ValueError("records of the wrong length")
    return raw


# ----------------------------------------------------------------------------- decoding

def _encode_list(values: list) -> bytes:
    """A list column as its distinct values (JSON) and one index per row: (format, mode) pairs
    repeat on almost every row, and are rebuilt once each instead of once per row."""
    distinct: dict[Any, int] = {}
    codes = [distinct.setdefault(v, len(distinct)) for v in values]
    return json.dumps([list(distinct), codes], ensure_ascii=False).encode()


def _decode_list(buf: bytes) -> list:
    distinct, codes = json.loads(buf)
    values = [_tuples(v) for v in distinct]
    return [values[c] for c in codes]


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _checked_body(blob: bytes) -> memoryview:
    """A record blob's body after its magic and checksum; RecordError when they do not hold."""
    if len(blob) < 20 or blob[:4] != MAGIC:
        raise RecordError("not a record blob")
    body = memoryview(blob)[12:]
    if xxhash.xxh3_64(body).digest() != blob[4:12]:
        raise RecordError("checksum mismatch")
    return body


def decode_chunk(blob: bytes, grids: bool = True) -> Batch:
    """The rows of a blob; RecordError when it is damaged in any way (the histograms' section, read
    only when they are asked for, is covered by the same checksum). With ``grids`` False, image
    columns stay residuals (``Batch.residual`` names them) for ``restore_grids`` to undo on
    many batches' rows at once."""
    body = _checked_body(blob)
    try:
        (n_first,) = struct.unpack_from("<Q", body)
        payload = _decompress(body[8:8 + n_first])
        hist_frame = body[8 + n_first:]
        (n_head,) = struct.unpack_from("<I", payload)
        header = json.loads(payload[4:4 + n_head])
        sections = _sections(memoryview(payload), 4 + n_head, header["sizes"])
        columns: dict[str, Any] = {}
        for (name, dtype, shape, how), buf in zip(header["columns"], sections):
            if how == "json":
                columns[name] = _decode_list(bytes(buf))
            elif how == "grid":
                residual = np.frombuffer(buf, np.uint8).reshape(shape)
                columns[name] = _grid_restore(residual) if grids else residual
            else:
                columns[name] = _unshuffle(buf, np.dtype(dtype), tuple(shape))
        k, meta = header["rows"], header["hists"]
        codes, slots = _codes_and_slots(meta, k)
        shapes = [g["shape"] for g in meta["groups"]]
        if [g["shape"] for g in header["totals"]["groups"]] != shapes:
            raise ValueError("histogram totals do not match the groups")
        _, _, summed = _decode_hists(header["totals"], sections[len(header["columns"]):], len(shapes))
        totals = [g.rows(np.array([0]))[0] for g in summed]
    except (zlib.error, struct.error, ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise RecordError(f"damaged record blob: {exc}") from exc

    frame = _HistFrame(hist_frame, meta, header["hist_sizes"], codes)

    def groups() -> list[HistStack]:
        return frame.stacks(k)

    residual = set() if grids else {name for name, _, _, how in header["columns"] if how == "grid"}
    return Batch(columns, codes, slots, groups, list(header["failures"]), totals, residual, frame)


_DAMAGE = (zlib.error, struct.error, ValueError, KeyError, TypeError, IndexError, OSError)


class _HistFrame:
    """A blob's histograms' section, decompressed when first needed: every row decoded into
    stacks, or just some rows of a dense shape summed (their bytes picked from the shuffled
    planes: the same values ``_decode_hists`` would give those rows)."""

    def __init__(self, stored: memoryview, meta: dict, sizes: list[int], codes: np.ndarray) -> None:
        self.stored, self.meta, self.sizes, self.codes = stored, meta, sizes, codes
        self._sections: list[memoryview] | None = None

    def sections(self) -> list[memoryview]:
        if self._sections is None:
            try:
                self._sections = _sections(memoryview(_decompress(self.stored)), 0, self.sizes)
            except _DAMAGE as exc:
                raise RecordError(f"damaged record blob: {exc}") from exc
        return self._sections

    def stacks(self, k: int) -> list[HistStack]:
        sections, self._sections = self.sections(), None  # the stacks hold it all from now on
        try:
            return _decode_hists(self.meta, sections, k)[2]
        except _DAMAGE as exc:
            raise RecordError(f"damaged record blob: {exc}") from exc

    def dense(self, code: int) -> bool:
        return "dense" in self.meta["groups"][code]

    def total(self, code: int, slots: np.ndarray) -> np.ndarray:
        """``HistStack.total(slots)`` of dense shape ``code``, decoding only those rows."""
        groups = self.meta["groups"]
        at = sum(1 if "dense" in g else 3 for g in groups[:code])  # the shape's first section
        group = groups[code]
        shape, dtype = tuple(group["shape"]), np.dtype(group["dense"])
        m, width = int(np.count_nonzero(self.codes == code)), int(np.prod(shape))
        buf = self.sections()[at]
        if len(buf) != m * width * dtype.itemsize:
            raise RecordError(f"damaged record blob: a section of {len(buf)} bytes for {m} histograms")
        planes = np.frombuffer(buf, np.uint8).reshape(dtype.itemsize, m, width)[:, slots]
        z = np.ascontiguousarray(planes.transpose(1, 2, 0)).view(dtype).reshape(len(slots), *shape)
        return HistStack(_unzigzag(z), running=True).total(np.arange(len(slots)))


def _sections(view: memoryview, start: int, sizes: list[int]) -> list[memoryview]:
    """The consecutive sections of these sizes from ``start``, which must fill the view."""
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]) + start
    if offsets[-1] != len(view):
        raise ValueError("sections do not fill the blob")
    return [view[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def _codes_and_slots(meta: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its histogram group, and its place in that group's stack."""
    codes = np.array(meta["codes"], np.int64)
    if len(codes) != k or (k and not 0 <= codes.min() <= codes.max() < len(meta["groups"])):
        raise ValueError("histogram groups do not match the rows")
    slots = np.zeros(k, np.int64)
    for code in range(len(meta["groups"])):
        members = np.flatnonzero(codes == code)
        slots[members] = np.arange(len(members))
    return codes, slots


def _decode_hists(meta: dict, sections: list, k: int) -> tuple[np.ndarray, np.ndarray, list[HistStack]]:
    codes, slots = _codes_and_slots(meta, k)
    groups = []
    pos = 0
    for code, group in enumerate(meta["groups"]):
        shape = tuple(group["shape"])
        m = int(np.count_nonzero(codes == code))
        if "dense" in group:
            z = _unshuffle(sections[pos], np.dtype(group["dense"]), (m, *shape))
            pos += 1
            stack = HistStack(_unzigzag(z), running=True)
        else:
            nnz = _unshuffle(sections[pos], np.dtype(group["rows"]), (m,)).astype(np.int64)
            gaps = _unshuffle(sections[pos + 1], np.dtype(group["gaps"]), (group["nnz"],)).astype(np.int64)
            counts = _unshuffle(sections[pos + 2], np.dtype(group["sparse"]), (group["nnz"],))
            pos += 3
            flat = np.zeros((m, int(np.prod(shape))), np.int64)
            full = nnz > 0
            starts = (np.cumsum(nnz) - nnz)[full]
            cum = np.cumsum(gaps)
            # each row's first entry is its absolute bin, the rest are gaps: undo the running sum
            before = np.repeat(cum[starts] - gaps[starts], nnz[full])
            flat[np.repeat(np.arange(m), nnz), cum - before] = counts.astype(np.int64)
            stack = HistStack(flat.reshape(m, *shape), running=False)
        groups.append(stack)
    return codes, slots, groups


def hist_rows(blob: bytes, layout: list) -> "tuple[np.ndarray, np.ndarray, Callable[[int, np.ndarray], np.ndarray]]":
    """A record blob's histograms read with its ``Batch.hist_layout``, leaving its other columns
    compressed: (each row's shape code, its slot among that shape's rows, total(code, slots)
    summing those rows' histograms); RecordError when the blob is damaged or does not fit."""
    body = _checked_body(blob)
    try:
        meta, sizes = layout
        (n_first,) = struct.unpack_from("<Q", body)
        codes, slots = _codes_and_slots(meta, len(meta["codes"]))
    except _DAMAGE as exc:
        raise RecordError(f"damaged record blob: {exc}") from exc
    frame = _HistFrame(body[8 + n_first:], meta, list(sizes), codes)
    stacks: list[list[HistStack]] = []

    def total(code: int, chosen: np.ndarray) -> np.ndarray:
        if frame.dense(code):
            return frame.total(code, chosen)
        if not stacks:
            stacks.append(frame.stacks(len(codes)))
        return stacks[0][code].total(chosen)

    return codes, slots, total
