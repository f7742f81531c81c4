"""Findings computed from a whole scan, kept next to its records: reopening an unchanged dataset
skips the leakage search and the validation checks too. The key is everything the findings follow
from (every per-image column, the classes, failures, per-split means, the source splits and the
code), so any change recomputes them; only the latest key is kept."""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xxhash

from . import cache_path
from .codec import code_digest
from ..strings import StringColumn
from .store import RecordStore, StoreUnavailable


def findings_key(result: Any, source_splits: Sequence[str], kind: str = "leakage") -> str:
    """A digest of everything the findings can follow from: every column and name list of the
    image table (sizes, formats and file sizes feed the drift checks, thumbnails and hashes the
    leakage search), the classes, the failures with their reasons, the per-split means, the source
    splits and the measuring code. Hashing it all costs a few milliseconds per 100,000 images."""
    t = result.images
    h = xxhash.xxh3_128()
    h.update(json.dumps([kind, code_digest(), result.fingerprint, list(source_splits), result.classes,
                         [[f.path, f.split, f.reason] for f in result.failures],
                         {s: [float(v) for v in st.mean] for s, st in result.split_stats.items()}]).encode())
    for f in dataclasses.fields(t):
        value = getattr(t, f.name)
        h.update(f.name.encode() + b"\0")
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype.str}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).data)
        elif isinstance(value, StringColumn):  # its buffers: no str per path
            data, offsets = value.buffers
            h.update(b"strings\0" + np.ascontiguousarray(offsets, np.int64).tobytes())
            h.update(data)
        elif value is not None:
            h.update("\0".join(value).encode("utf-8", "surrogateescape") + b"\1")
    return h.hexdigest()


def _encode(findings: list[Any]) -> bytes:
    """The findings as JSON behind a checksum (the store itself is not checked as a whole)."""
    body = json.dumps([[f"{type(f).__module__}:{type(f).__qualname__}", dataclasses.asdict(f)]
                       for f in findings], allow_nan=True).encode()
    return xxhash.xxh3_64(body).digest() + body


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _decode(data: bytes) -> list[Any]:
    """Findings back as their own dataclasses (only the package's own types are looked up);
    ValueError when the checksum does not match."""
    if len(data) < 8 or xxhash.xxh3_64(data[8:]).digest() != data[:8]:
        raise ValueError("checksum mismatch in the stored findings")
    out = []
    for type_name, fields in json.loads(data[8:]):
        module, _, name = type_name.partition(":")
        if not module.startswith("inspector.core."):
            raise ValueError(f"not a finding type of ours: {type_name}")
        cls = getattr(importlib.import_module(module), name)
        out.append(cls(**{k: _tuples(v) for k, v in fields.items()}))
    return out


def _stored_verdicts(store: RecordStore) -> bytes | None:
    try:
        return store.verdicts_get()
    except sqlite3.DatabaseError:  # a store made before verdicts were kept, or damaged: none
        return None


def cached_findings(cache_dir: str | None, result: Any, source_splits: Sequence[str],
                    compute: Callable[[], list[Any]]) -> list[Any]:
    """``compute()``'s findings, reused from the dataset's cache when nothing they depend on changed;
    else computed, its leakage search reusing the verdicts of the pairs the last one confirmed."""
    if not cache_dir or not os.path.exists(cache_path(cache_dir, result.root)):
        return compute()
    key = findings_key(result, source_splits)
    try:
        store = RecordStore.existing(cache_path(cache_dir, result.root))
    except StoreUnavailable:
        return compute()
    try:
        data = store.memo_get(key)
        if data is not None:
            try:
                return _decode(data)
            except (ValueError, TypeError, AttributeError, ImportError):
                pass  # written by other code: recompute and replace
        from ..leakage.incremental import VerdictMemo, reusing  # only to compute: the search's modules

        with reusing(VerdictMemo(_stored_verdicts(store))) as verdicts:
            findings = compute()  # confirms only the candidate pairs no earlier search confirmed
        if findings is None:  # cancelled
            return findings
        try:
            data = _encode(findings)
            if _decode(data) == list(findings):  # kept only when it comes back exactly equal
                store.memo_put(key, data)
            made = verdicts.encoded()
            if made is not None:
                store.verdicts_put(made)
        except (sqlite3.DatabaseError, TypeError, ValueError, AttributeError, ImportError):
            pass  # locked, full or not storable: the findings are still right, just not kept
        return findings
    finally:
        store.close()
