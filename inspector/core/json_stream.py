"""JSON documents with long lists written row by row.

A million per-image records as Python dicts would take about a gigabyte before the first byte is
written. A document value that is a `StreamedRows` (a sequence that makes its rows on demand, in
blocks) is written by `dump` one block of rows at a time instead, so memory stays at one block;
everything else is written as `json.dump` writes it.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

ROWS_PER_WRITE = 1024


class StreamedRows(Sequence):
    """A read-only sequence of JSON-ready rows made on demand; subclasses give `__len__` and
    `rows(lo, hi)` (the rows lo..hi-1 as a list). Equal to any sequence of the same rows."""

    block = ROWS_PER_WRITE

    def __len__(self) -> int:
        raise NotImplementedError

    def rows(self, lo: int, hi: int) -> list:
        raise NotImplementedError

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        return self.rows(i, i + 1)[0]

    def __iter__(self) -> Iterator:
        for lo in range(0, len(self), self.block):
            yield from self.rows(lo, min(lo + self.block, len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)) or len(other) != len(self):
            return False
        return all(x == y for x, y in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


def _encode(value: Any, indent: int | None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False)


def dump(doc: dict, fh: TextIO, indent: int = 1) -> None:
    """Write `doc` as JSON (as json.dump with ensure_ascii=False, allow_nan=False); its top-level
    StreamedRows values are written a block of rows at a time, one row per line."""
    streamed = {k: v for k, v in doc.items() if isinstance(v, StreamedRows)}
    if not streamed:
        json.dump(doc, fh, indent=indent, ensure_ascii=False, allow_nan=False)
        return
    token = uuid.uuid4().hex
    marks = {k: f"streamed-rows:{token}:{n}" for n, k in enumerate(streamed)}
    text = _encode({k: (marks[k] if k in streamed else v) for k, v in doc.items()}, indent)
    for key, rows in streamed.items():
        head, text = text.split(_encode(marks[key], None), 1)
        fh.write(head)
        fh.write("[")
        for lo in range(0, len(rows), rows.block):
            part = rows.rows(lo, min(lo + rows.block, len(rows)))
            fh.write(("," if lo else "") + "\n" + ",\n".join(_encode(r, None) for r in part))
        fh.write("\n]" if len(rows) else "]")
    fh.write(text)
