"""Many short strings in one bytes buffer: a column of paths without a Python object per path.

A list of a million relative paths costs ~85 bytes per path in Python objects (the str header,
its characters and the list's pointer); ``StringColumn`` keeps the UTF-8 bytes end to end plus
one int64 offset per string (~33 bytes per 25-character path) and makes each ``str`` only when
it is asked for. It reads like a sequence of str (index, iterate, ``index()``, ``==``), and hands
the same buffers to pyarrow without a copy, where sorting and substring search run in C++ with
the GIL released (the window sorts and filters a million paths off its GUI thread that way).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from .index_runs import is_all_in_order

# Paths are display-safe UTF-8 already; surrogatepass keeps any lone surrogate a source lets
# through round-tripping instead of failing the whole column.
_ERRORS = "surrogatepass"
_FIXED_BYTES = 256 << 20   # argsort pads every string to the longest: at most this many bytes
_FIXED_BLOCK = 1 << 15     # strings padded at a time (bounds the temporary index arrays)


class StringColumn(Sequence[str]):
    """An immutable sequence of str stored as ``data`` (UTF-8) and ``offsets`` (int64, n + 1)."""

    __slots__ = ("_data", "_offsets")

    def __init__(self, data: bytes = b"", offsets: np.ndarray | None = None) -> None:
        self._data = bytes(data)
        self._offsets = np.zeros(1, np.int64) if offsets is None else np.ascontiguousarray(offsets, np.int64)
        if self._offsets.ndim != 1 or not len(self._offsets) or self._offsets[-1] != len(self._data):
            raise ValueError("offsets must be n + 1 positions ending at the data's length")

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> StringColumn:
        if isinstance(strings, StringColumn):
            return strings
        encoded = [s.encode("utf-8", _ERRORS) for s in strings]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    # ------------------------------------------------------------------ sequence

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> StringColumn: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        n = len(self)
        i = int(i)  # numpy integers too
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("StringColumn index out of range")
        lo, hi = self._offsets[i], self._offsets[i + 1]
        return self._data[lo:hi].decode("utf-8", _ERRORS)

    def __iter__(self) -> Iterator[str]:
        data, bounds = self._data, self._offsets.tolist()
        for lo, hi in zip(bounds, bounds[1:]):
            yield data[lo:hi].decode("utf-8", _ERRORS)

    def index(self, value: str, start: int = 0, stop: int | None = None) -> int:
        """Position of the first string equal to ``value``: a C-level search of the buffer for its
        bytes, accepted only where a match starts and ends on string boundaries."""
        needle = value.encode("utf-8", _ERRORS)
        n = len(self)
        stop = n if stop is None else min(stop, n)
        if not needle:  # an empty string has zero length: its start and end offsets coincide
            hits = np.flatnonzero(np.diff(self._offsets) == 0)
            hits = hits[(hits >= start) & (hits < stop)]
            if hits.size:
                return int(hits[0])
            raise ValueError(f"{value!r} is not in the column")
        data, offsets = self._data, self._offsets
        pos = int(offsets[start]) if start < n else len(data)
        end = int(offsets[stop])
        while True:
            pos = data.find(needle, pos, end)
            if pos < 0:
                raise ValueError(f"{value!r} is not in the column")
            k = int(np.searchsorted(offsets, pos, side="right")) - 1  # the non-empty string from pos
            if k < n and offsets[k] == pos and offsets[k + 1] == pos + len(needle):
                return k
            pos += 1

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringColumn):
            return self._data == other._data and np.array_equal(self._offsets, other._offsets)
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(s) for s in self[:3]) if len(self) else ""
        return f"StringColumn({len(self):,} strings: [{head}{', …' if len(self) > 3 else ''}])"

    def __reduce__(self):
        return (StringColumn, (self._data, self._offsets))

    # ------------------------------------------------------------------ columns

    @property
    def buffers(self) -> tuple[bytes, np.ndarray]:
        """The UTF-8 bytes of every string end to end and the int64 (n + 1) offsets into them,
        for vectorised work over the whole column (not copies: do not modify the offsets)."""
        return self._data, self._offsets

    @property
    def nbytes(self) -> int:
        """Memory held by the column's buffers (the bytes and the offsets)."""
        return len(self._data) + self._offsets.nbytes

    def digests(self, rows: np.ndarray) -> np.ndarray:
        """uint64 xxh3 of the UTF-8 bytes of each string of `rows` (without decoding them)."""
        import xxhash
        rows = np.asarray(rows, np.int64)
        data, digest = memoryview(self._data), xxhash.xxh3_64_intdigest
        # the bounds as Python ints (a numpy scalar per slice bound cost more than the hash)
        bounds = zip(self._offsets[rows].tolist(), self._offsets[rows + 1].tolist())
        return np.fromiter((digest(data[a:b]) for a, b in bounds), np.uint64, len(rows))

    @property
    def byte_lengths(self) -> np.ndarray:
        """int64 (n,) UTF-8 length of every string."""
        return np.diff(self._offsets)

    def argsort(self) -> np.ndarray:
        """int64 positions in sorted order, stable; UTF-8 byte order, which is code-point order
        (as ``str`` compares). numpy sorts the strings padded to one width with NUL bytes, which
        a path never holds, so a prefix sorts first; pyarrow is not needed (nor imported)."""
        n = len(self)
        lengths = self.byte_lengths
        width = int(lengths.max()) if n else 0
        if n < 2 or width == 0:
            return np.arange(n, dtype=np.int64)
        if n * width > _FIXED_BYTES:  # one very long string would pad every other: sort the str
            return np.asarray(sorted(range(n), key=list(self).__getitem__), np.int64)
        fixed = np.zeros((n, width), np.uint8)
        source = np.frombuffer(self._data, np.uint8)
        columns = np.arange(width)
        for lo in range(0, n, _FIXED_BLOCK):
            hi = min(n, lo + _FIXED_BLOCK)
            inside = columns < lengths[lo:hi, None]
            fixed[lo:hi][inside] = source[(self._offsets[lo:hi, None] + columns)[inside]]
        return np.argsort(fixed.view(f"S{width}").ravel(), kind="stable").astype(np.int64)

    def take(self, rows: Sequence[int] | np.ndarray) -> StringColumn:
        """The strings at ``rows``, in that order, as a new column."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return StringColumn()
        if is_all_in_order(rows, len(self)):
            return StringColumn(self._data, self._offsets.copy())  # all of them, in order (a scan's result)
        starts, ends = self._offsets[rows], self._offsets[rows + 1]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        data = self._data  # one small slice per string: no temporary index array per byte
        return StringColumn(b"".join([data[a:b] for a, b in zip(starts.tolist(), ends.tolist())]), offsets)

    def concat(self, more: Iterable[str]) -> StringColumn:
        """This column followed by ``more``."""
        tail = StringColumn.from_strings(more)
        return StringColumn(self._data + tail._data, np.concatenate([self._offsets, tail._offsets[1:] + len(self._data)]))

    def to_arrow(self):
        """The same strings as a pyarrow ``large_string`` array, sharing this column's buffers."""
        import pyarrow as pa

        return pa.Array.from_buffers(pa.large_string(), len(self),
                                     [None, pa.py_buffer(self._offsets), pa.py_buffer(self._data)])
