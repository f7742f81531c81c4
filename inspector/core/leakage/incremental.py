"""A rescan's leakage search confirms only the candidate pairs it has not confirmed before.

Confirming a candidate pair (confirmation.py) reads nothing but the two images' rows of the table
and the code: a pair's verdict and scores are the same whichever other pairs are confirmed with it
(tests/test_leakage_incremental.py checks this on every kind of copy). So a search records the
verdict of each candidate pair under the digests of its two rows (every column of the row, the
file's path included), and the next search of the same dataset takes the verdict of every
candidate whose two rows are still exactly those, confirming only the others: the pairs that
involve a changed or added image. The candidate search's own choices are kept with the verdicts
and patched where the dataset changed (rescan.py).

The recorded verdicts are keyed by `version` (the measuring code's digest, the mirrors setting
and the fields of `PairScores`), so verdicts made by other code are never used. Only the verdicts
of the latest search's candidates are kept: their number is bounded by the candidates (each
image's CONFIRM_NEIGHBOURS best at most).
"""
from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar

import numpy as np
import xxhash

from ..table import ImageTable
from .candidates import Pairs
from .confirmation import Confirmed
from .pair_scores import PairScores
from .progress import Steps

MAGIC = b"DIV4"  # 2: zstd (the candidate search's choices are tens of MB at 100,000 images); 3: raw arrays, no npz;
# 4: the verdicts and the search's choices in two sections (the choices compressed while the verdicts are made)
_ACTIVE: ContextVar["VerdictMemo | None"] = ContextVar("leakage_verdicts", default=None)
ConfirmStage = Callable[[ImageTable, Pairs, bool], Steps[tuple[Pairs, Confirmed]]]
_NAMED = {"split": "split_names", "label": "label_names", "format": "format_names", "mode": "mode_names"}


def version(mirrors: bool) -> str:
    """What the verdicts follow from besides the rows: the code and the search's settings."""
    from ..cache.codec import code_digest  # the cache's digest of the measuring code
    names = [f.name for f in dataclasses.fields(PairScores)]
    return xxhash.xxh3_64(json.dumps([code_digest(), bool(mirrors), names]).encode()).hexdigest()


def row_digests(table: ImageTable, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 2) uint64: a 128-bit digest of each row's values in every column of the table
    (index columns by the name they point at, so a class added elsewhere changes no digest)."""
    rows = np.asarray(rows, np.int64)
    parts: list[np.ndarray] = []
    for f in dataclasses.fields(table):
        value = getattr(table, f.name)
        if f.name in _NAMED:
            names = getattr(table, _NAMED[f.name])
            named = np.array([xxhash.xxh3_64_intdigest(n.encode("utf-8", "surrogateescape")) for n in names]
                             + [0], np.uint64)   # index -1 (no class): the extra last entry
            parts.append(named[np.asarray(value)[rows]].reshape(len(rows), 1).view(np.uint8))
        elif isinstance(value, np.ndarray) and len(value) == len(table):
            picked = np.ascontiguousarray(value[rows])
            parts.append(picked.reshape(len(rows), -1).view(np.uint8).reshape(len(rows), -1))
        elif f.name == "paths":
            parts.append(np.array([xxhash.xxh3_64_intdigest(value[i].encode("utf-8", "surrogateescape"))
                                   for i in rows.tolist()], np.uint64).reshape(len(rows), 1).view(np.uint8))
    raw = np.concatenate(parts, axis=1) if parts else np.zeros((len(rows), 0), np.uint8)
    out = np.empty((len(rows), 2), np.uint64)
    for k in range(len(rows)):
        d = xxhash.xxh3_128_intdigest(raw[k].tobytes())
        out[k] = (d >> 64, d & 0xFFFFFFFFFFFFFFFF)
    return out


def _digests(table: ImageTable, rows: np.ndarray, block: int = 1 << 13) -> np.ndarray:
    """row_digests a block of rows at a time (a row is about 1.3 KB of values)."""
    parts = [row_digests(table, rows[lo:lo + block]) for lo in range(0, len(rows), block)]
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.uint64)


@dataclasses.dataclass
class Verdicts:
    """Confirmed and rejected pairs: (P, 4) uint64 keys (the two rows' digests, in pair order),
    per pair whether it is a copy, whether a mirrored one, and its scores (PairScores fields)."""

    keys: np.ndarray
    ok: np.ndarray
    mirror: np.ndarray
    scores: dict[str, np.ndarray | None]
    search: dict[str, np.ndarray] | None = None  # the candidate search's choices (rescan.SearchState)

    def encode(self, version: str, search_part: bytes | None = None) -> bytes:
        """Two compressed sections, each a header line (the version and each array's name, type
        and shape) then the arrays' bytes one after another (each at a multiple of 8 bytes): the
        verdicts, then the search's choices (``search_part``: that section made already by
        ``encode_section``, e.g. in a thread while the verdicts were being made; the choices are
        tens of MB, the verdicts a few hundred bytes an image at most)."""
        arrays = {"keys": self.keys, "ok": self.ok, "mirror": self.mirror,
                  **{f"s_{k}": v for k, v in self.scores.items() if v is not None}}
        first = encode_section(arrays, version)
        second = search_part if search_part is not None else encode_section(
            {f"q_{k}": v for k, v in (self.search or {}).items()}, version)
        body = struct.pack("<Q", len(first)) + first + second
        return MAGIC + xxhash.xxh3_64(body).digest() + body

    @classmethod
    def decode(cls, blob: bytes | None, version: str) -> "Verdicts | None":
        """The verdicts in ``blob`` when it is sound and was made by this version, else None (its
        arrays are read-only views of the decompressed bytes)."""
        if blob is None or len(blob) < 20 or blob[:4] != MAGIC or xxhash.xxh3_64(blob[12:]).digest() != blob[4:12]:
            return None
        try:
            (size,) = struct.unpack_from("<Q", blob, 12)
            if 20 + size > len(blob):
                return None
            z = _decode_section(blob[20:20 + size], version)
            more = _decode_section(blob[20 + size:], version)
            if z is None or more is None or z.keys() & more.keys():
                return None
            z.update(more)
            names = [f.name for f in dataclasses.fields(PairScores)]
            scores = {k: z.get(f"s_{k}") for k in names}
            search = {k[2:]: v for k, v in z.items() if k.startswith("q_")} or None
            found = cls(z["keys"], z["ok"], z["mirror"], scores, search)
        except (zlib.error, struct.error, ValueError, KeyError, TypeError, OSError):
            return None
        n = len(found.keys)
        if found.keys.shape != (n, 4) or len(found.ok) != n or len(found.mirror) != n or any(
                v is not None and len(v) != n for v in found.scores.values()):
            return None
        return found


def encode_section(arrays: dict[str, np.ndarray], version: str) -> bytes:
    """A header line (the version, each array's name, type and shape), then the arrays' bytes one
    after another (each at a multiple of 8 bytes), compressed: written into one buffer and
    compressed from it (no copy of the search's tens of MB between; an npz archive cost a zip
    member and a CRC-32 pass per array). The compression runs without the GIL."""
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    head = json.dumps([version, [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()]]).encode()
    buf = io.BytesIO()
    buf.write(head + b" " * (-(len(head) + 1) % 8) + b"\n")
    for v in arrays.values():
        buf.write(v.data if v.size else b"")
        buf.write(bytes(-v.nbytes % 8))
    from ..cache.codec import _compress  # the cache's zstd (zlib where pyarrow lacks it)
    with buf.getbuffer() as raw:
        return _compress(raw)


def _decode_section(section: bytes, version: str) -> dict[str, np.ndarray] | None:
    """``encode_section``'s arrays (read-only views of the decompressed bytes); None when made by
    another version or listing more than it holds."""
    from ..cache.codec import _decompress
    raw = _decompress(section)
    end = raw.index(b"\n") + 1
    made_by, listed = json.loads(raw[:end])
    if made_by != version:
        return None
    z, at = {}, end
    for name, dtype, shape in listed:
        dt = np.dtype(dtype)
        if dt.hasobject:
            return None
        count = int(np.prod(shape, dtype=np.int64))
        if at + count * dt.itemsize > len(raw):
            return None
        z[name] = np.frombuffer(raw, dt, count, at).reshape(shape)
        at += -(-count * dt.itemsize // 8) * 8
    return z


class VerdictMemo:
    """The verdicts one search may reuse (an earlier search's, as stored) and those it makes."""

    def __init__(self, stored: bytes | None) -> None:
        self.stored = stored
        self.previous: Verdicts | None = None
        self.version: str | None = None
        self.made: Verdicts | None = None
        self._made_search: dict[str, np.ndarray] | None = None
        self._search_part: tuple[str, Future] | None = None   # its section, compressed in a thread
        self.reused = 0
        self._index: dict[bytes, int] | None = None

    @property
    def made_search(self) -> dict[str, np.ndarray] | None:
        """The candidate search's choices to store (rescan.SearchState's arrays), or None."""
        return self._made_search

    @made_search.setter
    def made_search(self, arrays: dict[str, np.ndarray] | None) -> None:
        """Kept, and their section of the stored blob compressed in a thread meanwhile (the
        confirmation and the other findings go on here; the arrays are not changed after)."""
        self._made_search = arrays
        self._search_part = None
        if arrays is not None and self.version is not None:
            pool = ThreadPoolExecutor(1, thread_name_prefix="verdicts-encode")
            self._search_part = (self.version, pool.submit(encode_section, {f"q_{k}": v for k, v in arrays.items()},
                                                           self.version))
            pool.shutdown(wait=False)

    def load(self, version_key: str) -> None:
        """Read the stored verdicts (those made by another version count as none)."""
        if self.version != version_key:
            self.version = version_key
            self.previous = Verdicts.decode(self.stored, version_key)
            self._index = None

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Per key, its place in the previous verdicts, or -1."""
        if self.previous is None or len(keys) == 0:
            return np.full(len(keys), -1, np.int64)
        if self._index is None:
            self._index = {k.tobytes(): i for i, k in enumerate(self.previous.keys)}
        index = self._index
        return np.array([index.get(k.tobytes(), -1) for k in keys], np.int64)

    def previous_search(self, version_key: str) -> dict[str, np.ndarray] | None:
        """The stored candidate search's choices, when made by this version."""
        self.load(version_key)
        return None if self.previous is None else self.previous.search

    def encoded(self) -> bytes | None:
        """What to store for the next search: this search's verdicts and its candidate search's
        choices (None: it made none)."""
        if self.version is None or (self.made is None and self.made_search is None):
            return None
        made = self.made or Verdicts(np.zeros((0, 4), np.uint64), np.zeros(0, bool), np.zeros(0, bool), {})
        made.search = self.made_search
        part = None
        if self._search_part is not None and self._search_part[0] == self.version:
            part = self._search_part[1].result()
        return made.encode(self.version, part)


def active() -> VerdictMemo | None:
    """The memo of this thread's searches, if any (`reusing`)."""
    return _ACTIVE.get()


@contextmanager
def reusing(memo: VerdictMemo | None) -> Iterator[VerdictMemo | None]:
    """Within this block (this thread's searches), confirmations go through ``memo``."""
    token = _ACTIVE.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)


def confirm(table: ImageTable, pairs: Pairs, mirrors: bool, stage: ConfirmStage
            ) -> Steps[tuple[Pairs, Confirmed]]:
    """``stage(table, pairs, mirrors)`` (the search's confirmation: the confirmed pairs, in their
    order, with their verdicts), confirming only the pairs the active memo has no verdict for."""
    memo = _ACTIVE.get()
    if memo is None:
        return (yield from stage(table, pairs, mirrors))
    a, b, d = pairs
    n = len(a)
    rows, inv = np.unique(np.concatenate([a, b]).astype(np.int64), return_inverse=True)
    digests = _digests(table, rows)
    keys = np.concatenate([digests[inv[:n]], digests[inv[n:]]], axis=1) if n else np.zeros((0, 4), np.uint64)
    memo.load(version(mirrors))
    where = memo.lookup(keys)
    known = where >= 0
    todo = np.flatnonzero(~known)
    # each distinct pair confirmed once (in the order of its rows: the stage sorts them so anyway)
    span = int(max(a.max(initial=0), b.max(initial=0))) + 1
    pair_keys, first, again = np.unique(a[todo].astype(np.int64) * span + b[todo], return_index=True,
                                        return_inverse=True)
    sub = todo[first]
    (ta, tb, _), (_, t_mirror, t_scores) = yield from stage(table, (a[sub], b[sub], d[sub]), mirrors)
    got = np.zeros(len(sub), bool)
    at = np.searchsorted(pair_keys, ta.astype(np.int64) * span + tb)  # the confirmed ones among them
    got[at] = True
    names = [f.name for f in dataclasses.fields(PairScores)]
    ok = np.zeros(n, bool)
    mirror = np.zeros(n, bool)
    scores: dict[str, np.ndarray | None] = {}
    prev = memo.previous
    ok[todo] = got[again]
    sub_mirror = np.zeros(len(sub), bool)
    sub_mirror[at] = t_mirror
    mirror[todo] = sub_mirror[again]
    k_known = np.flatnonzero(known)
    if len(k_known):
        ok[k_known] = prev.ok[where[k_known]]
        mirror[k_known] = prev.mirror[where[k_known]]
    for name in names:
        fresh = getattr(t_scores, name)
        old = prev.scores.get(name) if prev is not None and len(k_known) else None
        if fresh is None and old is None:
            scores[name] = None
            continue
        dtype = fresh.dtype if fresh is not None else old.dtype
        col = np.zeros(n, dtype)
        if fresh is not None:
            sub_col = np.zeros(len(sub), dtype)
            sub_col[at] = fresh
            col[todo] = sub_col[again]
        if old is not None:
            col[k_known] = old[where[k_known]]
        scores[name] = col
    memo.reused += len(k_known)
    memo.made = Verdicts(keys, ok, mirror, scores)
    k = np.flatnonzero(ok)
    picked = PairScores(**{name: (None if scores[name] is None else scores[name][k]) for name in names})
    return (a[k], b[k], d[k]), (np.ones(len(k), bool), mirror[k], picked)
