"""The stored whole result of the last scan (cache/snapshot.py): an unchanged listing is restored
from it and exports exactly what a fresh scan does; any change to the listing, a file modified
within the timestamp resolution, a damaged part or a chunk that was not stored keeps it from
being used."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagefactory import write_image
from inspector.core import cache as cache_mod
from inspector.core import scan_chunk
from test_cache import HOUR_NS, age, dataset, export, scan_result, without_cache  # noqa: F401  (fixture)


@pytest.fixture()
def feeds(monkeypatch) -> list[int]:
    """Counts the reopens that went through the per-image records (ScanCache.filter)."""
    calls: list[int] = []
    real = cache_mod.ScanCache.filter

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cache_mod.ScanCache, "filter", counted)
    return calls


def _store(cache_dir: Path, root: Path) -> sqlite3.Connection:
    return sqlite3.connect(cache_mod.cache_path(str(cache_dir), str(root)))


def _parts(cache_dir: Path, root: Path) -> int:
    db = _store(cache_dir, root)
    try:
        return db.execute("SELECT COUNT(*) FROM snapshot").fetchone()[0]
    finally:
        db.close()


def test_an_unchanged_listing_is_restored_and_exports_what_a_fresh_scan_does(dataset, tmp_path, feeds):
    cache_dir = tmp_path / "cache"
    cold = export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    assert feeds == [1] and _parts(cache_dir, dataset) >= 2  # the header and the columns
    warm = export(dataset, tmp_path / "warm.json", "--cache-dir", str(cache_dir))
    n = cold["dataset"]["images"] + cold["dataset"]["failed"]
    assert feeds == [1] and warm["dataset"]["cache"] == {"used": n, "rescanned": 0}  # no record read
    fresh = export(dataset, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(warm) == without_cache(fresh) == without_cache(cold)
    assert warm["dataset"]["failed"] >= 1 and len(warm["images"]) == warm["dataset"]["images"]  # and every image


@pytest.mark.parametrize("change", ["rewritten", "touched", "deleted", "added"])
def test_any_change_to_the_listing_reads_the_records_and_the_next_reopen_is_restored(dataset, tmp_path, feeds, change):
    cache_dir = tmp_path / "cache"
    export(dataset, tmp_path / "cold.json", "--cache-dir", str(cache_dir))
    target = dataset / "train" / "cat" / "img_0001_L.png"
    if change == "rewritten":
        write_image(target, "L", size=(20, 30), seed=77)
    elif change == "touched":  # same bytes, another modification time
        stamp = target.stat().st_mtime_ns - 10**9
        os.utime(target, ns=(stamp, stamp))
    elif change == "deleted":
        target.unlink()
    else:
        write_image(dataset / "val" / "cat" / "new.png", "RGB", size=(17, 9), seed=78)
    written = tuple(p for p in (target, dataset / "val" / "cat" / "new.png") if p.exists())
    if change in ("rewritten", "added"):
        age(dataset, HOUR_NS // 2, only=written)
    changed = export(dataset, tmp_path / "changed.json", "--cache-dir", str(cache_dir))
    assert len(feeds) == 2
    fresh = export(dataset, tmp_path / "fresh.json", "--no-cache")
    assert without_cache(changed) == without_cache(fresh)
    again = export(dataset, tmp_path / "again.json", "--cache-dir", str(cache_dir))
    assert len(feeds) == 2 and again["dataset"]["cache"]["rescanned"] == 0
    assert without_cache(again) == without_cache(fresh)


@pytest.mark.parametrize("part", [0, 1])
def test_a_damaged_stored_result_is_dropped_with_a_message_and_the_records_used(dataset, tmp_path, feeds, part):
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir)
    db = _store(cache_dir, dataset)
    blob = bytearray(db.execute("SELECT data FROM snapshot WHERE part = ?", (part,)).fetchone()[0])
    blob[len(blob) // 2] ^= 0xFF
    db.execute("UPDATE snapshot SET data = ? WHERE part = ?", (bytes(blob), part))
    db.commit()
    db.close()
    reopened = scan_result(dataset, cache_dir)
    info = reopened.extra["cache"]
    assert len(feeds) == 2 and "not used" in info["message"] and "checksum" in info["message"]
    assert info["rescanned"] == 0  # the records were sound
    assert reopened.fingerprint == fresh.fingerprint and np.array_equal(reopened.images.thumb, fresh.images.thumb)
    assert np.array_equal(reopened.split_stats["train"].histogram, fresh.split_stats["train"].histogram)
    after = scan_result(dataset, cache_dir)  # stored again by that reopen
    assert len(feeds) == 2 and after.extra["cache"]["message"] is None
    assert after.fingerprint == fresh.fingerprint


def test_files_modified_around_the_scan_that_stored_it_are_not_restored(tmp_path, feeds):
    root = tmp_path / "ds"
    for k in range(6):
        write_image(root / "train" / f"{k}.png", "L", size=(8, 8), seed=k)  # just written: racy
    cache_dir = tmp_path / "cache"
    scan_result(root, cache_dir)
    again = scan_result(root, cache_dir)
    assert len(feeds) == 2 and again.extra["cache"]["rescanned"] == 6


def test_a_scan_with_a_chunk_not_stored_keeps_no_whole_result(dataset, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    assert _parts(cache_dir, dataset) >= 2
    db = _store(cache_dir, dataset)
    with db:
        db.execute("DELETE FROM snapshot")
        db.execute("DELETE FROM items WHERE key IN (SELECT key FROM items LIMIT 3)")  # these decoded again
    db.close()
    real = scan_chunk.stored_records
    monkeypatch.setattr(scan_chunk, "stored_records", lambda chunk, hists: None)  # as a lost chunk's
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    assert _parts(cache_dir, dataset) == 0
    monkeypatch.setattr(scan_chunk, "stored_records", real)
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    assert _parts(cache_dir, dataset) >= 2


WARM_IMPORTS = """
import sys
from inspector import cli
code = cli.main(["scan", sys.argv[1], "--json", sys.argv[2], "--quiet", "--cache-dir", sys.argv[3]])
print(code, sorted(m for m in ("numpy.ma", "inspector.core.leakage.confirmation", "inspector.core.leakage.candidates")
                   if m in sys.modules))
"""


def test_a_warm_reopen_imports_neither_the_leakage_search_nor_numpy_ma(dataset, tmp_path):
    """Its findings are the stored ones: the search's modules (which build tables at import) and
    numpy.ma (which np.median imports) would be a tenth of a second of every reopen."""
    args = [str(dataset), str(tmp_path / "out.json"), str(tmp_path / "cache")]
    runs = [subprocess.run([sys.executable, "-c", WARM_IMPORTS, *args], cwd=str(Path(__file__).resolve().parents[1]),
                           capture_output=True, text=True) for _ in range(2)]
    cold, warm = (r.stdout.strip() for r in runs)
    assert cold.startswith("0 [") and "inspector.core.leakage.confirmation" in cold, runs[0].stderr  # searched
    assert warm == "0 []", runs[1].stderr


def test_dropping_a_damaged_result_leaves_one_stored_since_by_another_scan(tmp_path):
    from inspector.core.cache.store import RecordStore

    store = RecordStore(str(tmp_path / "c.sqlite"), "layout", str(tmp_path))
    try:
        store.snapshot_put("newer", [b"head", b"part"])
        store.snapshot_drop("older")  # what a reopen that read a part of "older" found damaged
        assert store.snapshot_key() == "newer" and store.snapshot_part(1, "newer") == b"part"
        store.snapshot_drop("newer")
        assert store.snapshot_key() is None
    finally:
        store.close()


def test_the_stored_result_points_at_the_records_instead_of_copying_them(dataset, tmp_path):
    """The per-image values are on disk once: the stored result is the merged sums (its header)
    and a map of where each item's record is, a few bytes per item."""
    cache_dir = tmp_path / "cache"
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    db = _store(cache_dir, dataset)
    try:
        items = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        records = db.execute("SELECT SUM(LENGTH(data)) FROM batches").fetchone()[0]
        parts = [len(blob) for (blob,) in db.execute("SELECT data FROM snapshot WHERE part > 0")]
    finally:
        db.close()
    assert items == 30 and len(parts) == 1 and parts[0] < 16 * items + 100 < records / 10


def test_a_batch_the_stored_result_points_at_gone_uses_the_records_with_a_message(dataset, tmp_path, feeds):
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    db = _store(cache_dir, dataset)
    with db:  # what another scan compacting a batch leaves: its items point at a new copy of it
        first = db.execute("SELECT MIN(id) FROM batches").fetchone()[0]
        copy = db.execute("INSERT INTO batches(keys, data) SELECT keys, data FROM batches WHERE id = ?",
                          (first,)).lastrowid
        db.execute("UPDATE items SET batch = ? WHERE batch = ?", (copy, first))
        db.execute("DELETE FROM batches WHERE id = ?", (first,))
    db.close()
    reopened = scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    info = reopened.extra["cache"]
    assert len(feeds) == 2 and "not used" in info["message"] and info["rescanned"] == 0
    assert reopened.fingerprint == fresh.fingerprint and np.array_equal(reopened.images.thumb, fresh.images.thumb)
    assert np.array_equal(reopened.split_stats["train"].histogram, fresh.split_stats["train"].histogram)
    after = scan_result(dataset, cache_dir, in_process=True, chunk_size=4)  # stored again by that reopen
    assert len(feeds) == 2 and after.extra["cache"]["message"] is None
    assert after.fingerprint == fresh.fingerprint and np.array_equal(after.images.phash, fresh.images.phash)


def test_another_batchs_blob_under_an_id_the_stored_result_points_at_is_refused(dataset, tmp_path, feeds):
    """No whole-file check runs on open: a damaged id that hands the map another sound batch's blob
    is caught by the checksums the stored result keeps of the blobs it points at."""
    cache_dir = tmp_path / "cache"
    fresh = scan_result(dataset, None)
    scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    db = _store(cache_dir, dataset)
    with db:  # what two damaged ids leave: two batches' rows swapped, each sound on its own
        a, b = [row for row in db.execute("SELECT id, keys, data FROM batches ORDER BY id LIMIT 2")]
        db.execute("UPDATE batches SET keys = ?, data = ? WHERE id = ?", (*b[1:], a[0]))
        db.execute("UPDATE batches SET keys = ?, data = ? WHERE id = ?", (*a[1:], b[0]))
    db.close()
    reopened = scan_result(dataset, cache_dir, in_process=True, chunk_size=4)
    info = reopened.extra["cache"]
    assert len(feeds) == 2 and "not used" in info["message"] and "not the one" in info["message"]
    assert info["rescanned"] >= 8  # the swapped batches' item lists do not name their items
    assert reopened.fingerprint == fresh.fingerprint and np.array_equal(reopened.images.thumb, fresh.images.thumb)
    assert np.array_equal(reopened.images.phash, fresh.images.phash)
    assert np.array_equal(reopened.split_stats["train"].histogram, fresh.split_stats["train"].histogram)


def test_a_rescan_that_compacts_batches_stores_a_result_the_next_reopen_restores(tmp_path, feeds):
    """Compacting a mostly stale batch moves its records to new entries of a new batch: the map
    of the stored result follows them."""
    root = tmp_path / "ds"
    paths = [write_image(root / "train" / f"{k:02d}.png", "L" if k % 2 else "RGB", size=(9 + k, 7), seed=k)
             for k in range(16)]
    age(root)
    cache_dir = tmp_path / "cache"
    scan_result(root, cache_dir, in_process=True, chunk_size=4)
    for k in (4, 5, 6):  # three of the second batch's four rewritten: it is compacted to one entry
        write_image(paths[k], "L", size=(12, 5), seed=100 + k)
    age(root, HOUR_NS // 2, only=tuple(paths[4:7]))
    db = _store(cache_dir, root)
    before = {r[0] for r in db.execute("SELECT id FROM batches")}
    db.close()
    changed = scan_result(root, cache_dir, in_process=True, chunk_size=4)
    db = _store(cache_dir, root)
    after = {r[0] for r in db.execute("SELECT id FROM batches")}
    db.close()
    assert changed.extra["cache"]["rescanned"] == 3 and len(before - after) == 1  # one compacted
    reopened = scan_result(root, cache_dir, in_process=True, chunk_size=4)
    fresh = scan_result(root, None)
    assert len(feeds) == 2 and reopened.extra["cache"]["message"] is None  # restored, not read again
    assert reopened.fingerprint == fresh.fingerprint and np.array_equal(reopened.images.thumb, fresh.images.thumb)
    for split, stats in fresh.split_stats.items():
        assert np.array_equal(reopened.split_stats[split].histogram, stats.histogram)
