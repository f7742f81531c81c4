"""Reading a dataset's stored whole result while the dataset is being listed.

A reopen of an unchanged dataset does two things of about the same cost one after the other:
listing and stat-ing every file, then reading the stored result (cache/snapshot.py). They do not
depend on each other until the end: the stored result is trusted only for the very listing it
was made from, but reading it needs only the store. Threads cannot share that work (the listing
makes a system call per file and gives the GIL up each time; a second Python thread then holds
it for milliseconds, and listing 100,000 files took twice as long), so a forked child process
reads the stored result into shared memory while the parent lists the files; on a two-core
machine they run side by side.

Nothing is trusted more than before: the parent uses what the child read only when the stored
header and map are still byte for byte those the child read and the child finished without error
(it checked every part and every batch's checksum as a restore in the parent does); as the whole
result only when its own listing gives the key the stored result was made under, else for a
rescan's patch (cache/patch.py), item by item, where the item's stored record is still valid and
its batch's own list names it. Otherwise the child is stopped and the scan goes on as without
this. It is tried on Linux (``fork``), for a folder whose cache has a stored result.
"""
from __future__ import annotations

import functools
import json
import mmap
import os
import signal
import sqlite3
import struct
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import numpy as np

from ..memory import keep_freed_memory
from .codec import RecordError, load_codec
from .snapshot import read_header, restore_snapshot
from .store import read_batches

_PENDING: dict[str, "Prefetch"] = {}   # store path -> the child reading it
_ENABLED = sys.platform.startswith("linux") and hasattr(os, "fork")
# Children sharing the batches: with the listing, two of them keep two cores busy, and once the
# listing is done the rest of the reading takes half the time it takes one.
CHILDREN = 2
NOTE_BYTES_PER_BATCH = 4096  # room for one batch's histogram layout (256 rows: about 1.2 KB)
WAIT_LIMIT = 60.0   # seconds a reopen waits for them at most (they take about one for 100,000 images)


class _Listing:
    """What a restore asks of a listing, for ``n`` items whose splits are not known yet."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def splits_of(self, rows: np.ndarray) -> list[str]:
        return ["*"] * len(rows)

    def split_counts(self, start: int = 0) -> dict[str, int]:
        return {}


class _Layout:
    """A stand-in layout of ``n`` items for a collector filled before the listing is known."""

    def __init__(self, n: int) -> None:
        self.files = _Listing(n)
        self.splits = ["*"]
        self.broken: list = []
        self.root = ""


def _shared(shape: tuple[int, ...], dtype: Any, fill: Any = 0) -> np.ndarray:
    """An array in memory shared with a forked child (anonymous shared mapping: zeros)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = mmap.mmap(-1, max(size, 1))
    out = np.frombuffer(buf, dtype, int(np.prod(shape, dtype=np.int64))).reshape(shape)
    if fill != 0:
        out.fill(fill)
    return out


class Prefetch:
    """Forked children restoring a stored result into a collector whose columns are shared,
    each a share of its batches."""

    def __init__(self, pids: list[int], collector: Any, key: str, head: bytes, row_map: bytes,
                 notes: list[mmap.mmap] | None = None) -> None:
        self.pids, self.collector, self.key, self.head, self.row_map = pids, collector, key, head, row_map
        self.statuses: dict[int, int] = {}
        self.notes = notes or []  # per child, shared: the histogram layouts of the batches it read

    def hist_layouts(self) -> dict[int, list]:
        """Batch id -> its histogram layout (``Batch.hist_layout``), of the batches the children
        read and could note (one that did not fit its note is simply not named); after ``wait``."""
        out: dict[int, list] = {}
        for note in self.notes:
            (size,) = struct.unpack_from("<Q", note)
            if 0 < size <= len(note) - 8:
                try:
                    out.update((int(bid), layout) for bid, layout in json.loads(note[8:8 + size]))
                except (ValueError, TypeError):
                    continue
        return out

    @property
    def status(self) -> int | None:
        """0 when every child restored its share without error, None while one runs."""
        if len(self.statuses) < len(self.pids):
            return None
        return max(self.statuses.values(), key=abs)

    def wait(self, limit: float | None = None) -> bool:
        """True when the children restored everything without error; a child still running after
        ``limit`` seconds (by default WAIT_LIMIT) is stopped and counts as failed: a reopen never
        hangs on one, it reads the stored result itself instead."""
        deadline = time.monotonic() + (WAIT_LIMIT if limit is None else limit)
        for pid in self.pids:
            while pid not in self.statuses:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self.statuses[pid] = os.waitstatus_to_exitcode(status)
                elif time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    self.statuses[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                else:
                    time.sleep(0.0005)
        return self.status == 0

    def stop(self) -> None:
        for pid in self.pids:
            if pid not in self.statuses:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.wait(0)


def start(store_path: str, make_collector: Callable[..., Any], chunk_type: type) -> None:
    """Fork a child that reads the stored result at ``store_path`` into shared columns, when
    there is one worth reading (see the module docstring). ``make_collector(layout, alloc)``
    makes the scan's collector with columns from ``alloc(shape, dtype, fill)``."""
    if not _ENABLED or store_path in _PENDING or not os.path.exists(store_path):
        return
    try:
        db = read_only(store_path, 0.2)
        try:
            rows = dict(db.execute("SELECT part, data FROM snapshot WHERE part IN (0, 1)").fetchall())
            key = db.execute("SELECT key FROM snapshot WHERE part = 0").fetchone()
        finally:
            db.close()
        if key is None or 0 not in rows or 1 not in rows:
            return
        load_codec()  # imported once, before the fork: both processes use it
        header = read_header(rows[0])
        n = int(header["items"])
        collector = make_collector(_Layout(n), _shared)
    except (sqlite3.Error, RecordError, KeyError, TypeError, ValueError, OSError):
        return
    pids = []
    notes = [mmap.mmap(-1, NOTE_BYTES_PER_BATCH * len(header.get("batches", ())) + 65536) for _ in range(CHILDREN)]
    for k in range(CHILDREN):
        pid = os.fork()
        if pid == 0:  # a child: restore its share, say whether it worked, leave without any cleanup
            code = 1
            try:
                # the parent's handlers (the CLI's raise its stop) are not this child's to run
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                # each group's decompressed blobs, thumbnails and columns (4-5 MB arrays) are
                # freed before the next group's: kept in the heap, not faulted in afresh
                keep_freed_memory()
                code = _restore_in_child(store_path, rows[0], rows[1], collector, chunk_type, (k, CHILDREN), notes[k])
            finally:
                os._exit(code)
        pids.append(pid)
    _PENDING[store_path] = Prefetch(pids, collector, key[0], bytes(rows[0]), bytes(rows[1]), notes)


def _restore_in_child(store_path: str, head: bytes, row_map: bytes, collector: Any, chunk_type: type,
                      share: tuple[int, int], note: mmap.mmap | None = None) -> int:
    db = read_only(store_path, 1.0)
    layouts: dict[int, list] = {}
    try:
        for _ in restore_snapshot(read_header(head), row_map, functools.partial(read_batches, db), collector,
                                  chunk_type, collector.layout.files, share, layouts):
            pass
    except (RecordError, sqlite3.Error):
        return 1
    if note is not None:  # for a rescan's patch (cache/patch.py); left empty when it does not fit
        data = json.dumps(list(layouts.items())).encode()
        if len(data) <= len(note) - 8:
            note[8:8 + len(data)] = data
            note[:8] = struct.pack("<Q", len(data))
    return 0


def read_only(path: str, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write (whatever the path holds: it is quoted into the URI)."""
    return sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True, timeout=timeout)


def take(store_path: str) -> Prefetch | None:
    """The child started for this store, if any (the caller waits for it or stops it)."""
    return _PENDING.pop(store_path, None)


def stop_all() -> None:
    """Stop every child not taken (a scan that ended before it restored)."""
    while _PENDING:
        _, prefetch = _PENDING.popitem()
        prefetch.stop()
