"""Findings computed from a whole scan, kept next to its records: reopening an unchanged dataset
skips the leakage search too. The key is everything the findings follow from (the dataset's
content fingerprint, labels, per-split means, the source splits and the code), so any change
recomputes them; only the latest key is kept."""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xxhash

from . import cache_path
from .codec import code_digest
from .store import RecordStore, StoreUnavailable


def findings_key(result: Any, source_splits: Sequence[str], kind: str = "leakage") -> str:
    t = result.images
    h = xxhash.xxh3_64()
    h.update(json.dumps([kind, code_digest(), result.fingerprint, list(source_splits), t.label_names,
                         {s: [float(v) for v in st.mean] for s, st in result.split_stats.items()}]).encode())
    for name in ("label", "split", "flags"):
        h.update(np.ascontiguousarray(getattr(t, name)).tobytes())
    for path in t.paths:
        h.update(path.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()


def _encode(findings: list[Any]) -> bytes:
    return json.dumps([dataclasses.asdict(f) for f in findings], allow_nan=True).encode()


def _decode(data: bytes, finding_type: type) -> list[Any]:
    names = {f.name for f in dataclasses.fields(finding_type)}
    out = []
    for d in json.loads(data):
        if set(d) != names:
            raise ValueError("stored findings have other fields")
        out.append(finding_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}))
    return out


def cached_findings(cache_dir: str | None, result: Any, source_splits: Sequence[str],
                    compute: Callable[[], list[Any]], finding_type: type) -> list[Any]:
    """``compute()``'s findings, reused from the dataset's cache when nothing they depend on changed."""
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
                return _decode(data, finding_type)
            except (ValueError, TypeError):
                pass  # written by other code: recompute and replace
        findings = compute()
        try:
            store.memo_put(key, _encode(findings))
        except sqlite3.DatabaseError:
            pass  # locked or full: the findings are still right, just not kept
        return findings
    finally:
        store.close()
